"""Views the viewers return: the engine's windows in a subprocess, and matplotlib figures in a Tk window.

Both can also render to a PNG (``save``), which the tests and the docs' figure script use.
"""
import subprocess

from pyworkflow.viewer import View

from ..protocols.common import engineCommand


class EngineView(View):
    """A ``tomorois-surfora view|curate ...`` window, started in its own process so that the Scipion GUI stays
    responsive (napari and PyVista run their own event loops)."""

    def __init__(self, args, title=""):
        View.__init__(self)
        self.args = [str(a) for a in args]
        self.title = title
        self.process = None

    def command(self, screenshot=None):
        """The command line (a list), rendering to ``screenshot`` instead of opening a window when given."""
        extra = [] if screenshot is None else ["--screenshot", str(screenshot)]
        return engineCommand(*self.args, *extra)

    def show(self):
        self.process = subprocess.Popen(self.command())
        return self.process

    def save(self, path, timeout=300):
        """Render off-screen to ``path`` (PNG); raises RuntimeError with the engine's message on failure."""
        result = subprocess.run(self.command(path), capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(self.command(path))} failed: {result.stderr.strip()}")
        return path


class FigureView(View):
    """A matplotlib figure (from ``engine.view.plots``) in a Tk window."""

    def __init__(self, figure, title="", tkParent=None):
        View.__init__(self)
        self.figure, self.title, self.tkParent = figure, title, tkParent

    def show(self):
        import tkinter as tk

        from matplotlib.backends.backend_tkagg import FigureCanvasTkAgg, NavigationToolbar2Tk

        window = tk.Toplevel(self.tkParent) if self.tkParent is not None else tk.Tk()
        window.title(self.title)
        canvas = FigureCanvasTkAgg(self.figure, master=window)
        NavigationToolbar2Tk(canvas, window)
        canvas.draw()
        canvas.get_tk_widget().pack(fill=tk.BOTH, expand=True)
        if self.tkParent is None:
            window.mainloop()
        return window

    def save(self, path):
        self.figure.savefig(path, dpi=100)
        return path
