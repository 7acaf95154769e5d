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


def for_each_input(task, inputs, quiet, work):
    """Run ``work(path)`` for every input, printing its returned message as progress.

    A failing input (:class:`EngineError`) is reported on its own line and the others go on. Returns the
    exit code: 1 when any input failed, else 0.
    """
    from pathlib import Path

    from .errors import EngineError

    progress = Progress(task, len(inputs), quiet=quiet)
    failed = 0
    for path in inputs:
        try:
            message = work(Path(path))
        except EngineError as exc:
            failed += 1
            progress.step(f"FAILED {path}: {exc}")
            continue
        progress.step(message)
    if failed:
        progress.info(f"{failed} of {len(inputs)} inputs failed")
    return 1 if failed else 0
