"""Progress inside an item: plain lines in logs, a redrawn bar in a terminal; failures always reported."""
import io
import re

from tomorois_surfora.engine.errors import InputError
from tomorois_surfora.engine.progress import Progress, for_each_input


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_at_every_tenth_with_rate_and_time_left():
    log = io.StringIO()
    progress = Progress("roi predict", 1, stream=log)
    progress.advance(0, 300, "sections", "xy: ")
    for done in range(4, 301, 4):
        progress.advance(done, 300, "sections", "xy: ")
    lines = log.getvalue().splitlines()
    assert len(lines) == 10, lines
    assert all(re.fullmatch(r"\[roi predict\] xy: sections \d+/300, [\d.]+ sections/s, about \d+ s left", line)
               for line in lines), lines
    assert lines[-1].startswith("[roi predict] xy: sections 300/300")


def test_a_terminal_gets_one_redrawn_bar_instead_of_lines():
    terminal = Terminal()
    progress = Progress("membrane predict", 1, stream=terminal)
    progress.advance(0, 50, "sections")
    for done in range(5, 51, 5):
        progress.advance(done, 50, "sections")
    text = terminal.getvalue()
    assert "\r" in text and "\n" not in text, "redrawn in place, cleared at the end"
    assert "[membrane predict]" in text and "sections/s" in text and "s left" not in text


def test_failures_are_reported_even_when_quiet(tmp_path):
    log = io.StringIO()

    def work(path):
        if path.name == "bad.mrc":
            raise InputError(f"{path}: not a readable MRC file")
        return f"{path.name}: fine"

    import sys
    saved, sys.stderr = sys.stderr, log
    try:
        code = for_each_input("surface extract", [tmp_path / "good.mrc", tmp_path / "bad.mrc"], True, work)
    finally:
        sys.stderr = saved
    assert code == 1
    lines = log.getvalue().splitlines()
    assert lines[0] == f"[surface extract] (2/2) FAILED {tmp_path / 'bad.mrc'}: not a readable MRC file"
    assert lines[1] == "[surface extract] 1 of 2 inputs failed" and len(lines) == 2
