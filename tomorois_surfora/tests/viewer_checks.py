"""Opening the plugin's Scipion viewers on a real project's results, as the GUI does, and rendering what they
would show to PNG (napari needs a display: Xvfb in the test command)."""
import os

import numpy as np
from pwem import Domain
from pyworkflow.viewer import DESKTOP_TKINTER, ProtocolViewer

from tomorois_surfora.viewers.views import EngineView, FigureView


def ourViewers(obj):
    """The viewer classes Scipion offers for ``obj`` that this plugin defines."""
    return [v for v in Domain.findViewers(obj, DESKTOP_TKINTER) if v.__module__.startswith("tomorois_surfora.")]


def viewsOf(test, viewerClass, obj, protocol, **choices):
    """The views a viewer returns for ``obj`` (a ProtocolViewer: every button of its form, with ``choices`` set
    on the form's parameters), built the way the project window builds them."""
    viewer = viewerClass(project=test.proj, protocol=protocol)
    if not issubclass(viewerClass, ProtocolViewer):
        return viewer._visualize(obj)
    viewer.setProtocol(obj)
    for name, value in choices.items():
        getattr(viewer, name).set(value)
    views = []
    for name, handler in viewer._getVisualizeDict().items():
        if viewer.hasAttribute(name):
            views += handler(name)
    return views


def renderViews(test, views, folder):
    """Render every view to a PNG in ``folder``; check each is an image with content; return the images."""
    import imageio.v3 as iio

    os.makedirs(folder, exist_ok=True)
    images = []
    for index, view in enumerate(views):
        test.assertIsInstance(view, (EngineView, FigureView), f"view {index} is a message: {getattr(view, '_msg', '')}")
        if isinstance(view, EngineView) and view.args[:2] == ["view", "volume"] and not os.environ.get("DISPLAY"):
            continue  # napari renders only with a display
        path = view.save(os.path.join(folder, f"view{index}.png"))
        image = iio.imread(path)
        test.assertGreater(image[..., :3].std(), 10, f"{path} is not blank")
        images.append(image)
    return images


def colourFraction(image):
    """Fraction of pixels whose channels differ by more than 40 (coloured, not grey)."""
    rgb = image[..., :3].astype(int)
    return float(np.mean((rgb.max(axis=-1) - rgb.min(axis=-1)) > 40))
