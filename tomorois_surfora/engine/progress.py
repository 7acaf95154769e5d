"""Progress messages for long work, printed to standard error so that standard output stays parseable."""
import sys
import time


class Progress:
    """Report the progress of ``total`` items of work on standard error.

    Parameters
    ----------
    task : str
        Short name shown in brackets before every line, e.g. ``"synth"``.
    total : int
        Number of items expected.
    quiet : bool
        If True, print nothing.
    stream : file-like, optional
        Where to write; standard error by default.
    """

    def __init__(self, task, total, quiet=False, stream=None):
        self.task = task
        self.total = total
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._start = time.perf_counter()

    def step(self, message):
        """Count one finished item and print ``message`` with the count and the elapsed time."""
        self.done += 1
        self.info(f"({self.done}/{self.total}, {time.perf_counter() - self._start:.1f} s) {message}")

    def info(self, message):
        """Print one line, unless quiet."""
        if not self.quiet:
            print(f"[{self.task}] {message}", file=self.stream, flush=True)
