"""Progress messages for long work, printed to standard error so that standard output stays parseable."""
import os
import sys
import time
from dataclasses import dataclass
from typing import Optional


@dataclass
class _Series:
    """Progress inside one item: its label, when it started, the last tenth printed, the terminal's bar."""

    label: str
    started: float
    last_tenth: int = 0
    bar: Optional[object] = None


class Progress:
    """Report the progress of ``total`` items of work on standard error.

    Parameters
    ----------
    task : str
        Short name shown in brackets before every line, e.g. ``"synth"``.
    total : int or None
        Number of items expected; None when open-ended (epochs until a time limit).
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
        self._series = None  # the work inside the current item, reported by `advance`

    def advance(self, done, total, unit, label=""):
        """Report ``done`` of ``total`` units of work inside one item (sections of a tomogram, say).

        In a terminal, a tqdm bar redrawn in place; elsewhere (Scipion's run logs, a file) a plain line at
        every tenth, with the rate and the time left, because a redrawn bar makes a mess of a log. Call it
        with ``done = 0`` when the work starts, so the rate counts from there.
        """
        if self.quiet:
            return
        series = self._series
        if series is None or series.label != label or done == 0:
            self._close_bar()
            series = self._series = _Series(label, time.perf_counter())
            if getattr(self.stream, "isatty", lambda: False)():
                from tqdm import tqdm

                series.bar = tqdm(total=total, unit=f" {unit}", desc=f"[{self.task}] {label}".rstrip(": "),
                                  file=self.stream, leave=False, dynamic_ncols=True)
        if series.bar is not None:
            series.bar.update(done - series.bar.n)
            if done >= total:
                self._close_bar()
            return
        tenth = 10 * done // max(total, 1)
        if done > 0 and (tenth > series.last_tenth or done >= total):
            series.last_tenth = tenth
            seconds = time.perf_counter() - series.started
            rate = done / seconds if seconds > 0 else float("inf")
            left = (total - done) / rate if rate > 0 else float("inf")
            self.info(f"{label}{unit} {done}/{total}, {rate:.1f} {unit}/s, about {left:.0f} s left")

    def _close_bar(self):
        if self._series is not None and self._series.bar is not None:
            self._series.bar.close()
            self._series.bar = None

    def step(self, message):
        """Count one finished item and print ``message`` with the count and the elapsed time."""
        self.done += 1
        self.info(f"({self._count()}, {time.perf_counter() - self._start:.1f} s) {message}")

    def _count(self):
        """``done/total``, or ``done`` alone when the total is open (None: a training bounded by time)."""
        return f"{self.done}" if self.total is None else f"{self.done}/{self.total}"

    def info(self, message):
        """Print one line, unless quiet."""
        if not self.quiet:
            print(f"[{self.task}] {message}", file=self.stream, flush=True)

    def failed(self, message):
        """Count one failed item and print ``message``, quiet or not: a failure is not progress."""
        self.done += 1
        print(f"[{self.task}] ({self._count()}) FAILED {message}", file=self.stream, flush=True)


def for_each_input(task, inputs, quiet, work, summary=None):
    """Run ``work(path)`` for every input, printing its returned message as progress.

    A failing input (:class:`EngineError`) is reported on its own line, even when ``quiet``, and the others
    go on. ``summary``, if given, is a sentence about ``(done, total)`` printed on standard output at the
    end. Returns the exit code: 1 when any input failed, else 0.
    """
    from pathlib import Path

    from .errors import EngineError, report_error

    refuse_clashing_names(inputs)
    progress = Progress(task, len(inputs), quiet=quiet)
    failed = 0
    for path in inputs:
        try:
            message = work(Path(path))
        except EngineError as exc:
            failed += 1
            message = one_line(exc, path)
            progress.failed(message)
            report_error(message)
            continue
        progress.step(message)
    if summary is not None:
        print(summary(len(inputs) - failed, len(inputs)), flush=True)
    if failed:
        print(f"[{task}] {failed} of {len(inputs)} inputs failed", file=progress.stream, flush=True)
    return 1 if failed else 0


def refuse_clashing_names(inputs):
    """Raise :class:`InputError` when two inputs share a file name: outputs are named after their input's
    name (``<name>_prob.mrc``, ``<name>_mesh.vtp``), so the second would overwrite the first's."""
    from pathlib import Path

    from .errors import InputError

    seen = {}
    for path in inputs:
        seen.setdefault(Path(path).stem, []).append(str(path))
    clashes = [paths for paths in seen.values() if len(paths) > 1]
    if clashes:
        raise InputError("inputs share a file name, so their outputs would overwrite each other: " + "; ".join(
            " and ".join(paths) for paths in clashes) + " (give each input once; rename files that share a name)")


def one_line(error, path):
    """The error's message on one line, naming ``path`` unless it already does."""
    text = " ".join(str(error).split())
    return text if str(path) in text or os.path.basename(str(path)) in text else f"{path}: {text}"
