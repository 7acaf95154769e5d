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


def test_inputs_whose_outputs_would_overwrite_each_other_are_refused_before_any_work(tmp_path):
    """Two inputs with one file name (the same file twice, or namesakes in two folders) would write the same
    output names: refused, naming both, before the first is processed."""
    import pytest

    done = []
    for inputs in ([tmp_path / "a.mrc", tmp_path / "b.mrc", tmp_path / "a.mrc"],
                   [tmp_path / "one" / "t.mrc", tmp_path / "two" / "t.mrc"]):
        with pytest.raises(InputError, match="share a file name") as raised:
            for_each_input("roi predict", inputs, True, done.append)
        assert f"{inputs[0]} and {inputs[-1]}" in str(raised.value)
    assert done == []
    assert for_each_input("roi predict", [tmp_path / "t.mrc", tmp_path / "t_2.mrc"], True,
                          lambda path: done.append(path) or "ok") == 0 and len(done) == 2


def test_the_engine_leaves_its_exit_code_and_message_for_a_queued_protocol(tmp_path, monkeypatch, capsys):
    """A job sent to SLURM comes back to Scipion without its exit status: the CLI writes it, and its error
    lines, to the files a protocol names in the environment (no file at all: the job was killed)."""
    import pytest

    from tomorois_surfora.engine.cli import main
    from tomorois_surfora.engine.errors import ERROR_FILE_VARIABLE, EXIT_FILE_VARIABLE
    from tomorois_surfora.engine.io import write_mrc
    from tomorois_surfora.protocols.common import readEngineError, readExitCode

    exit_file, error_file = tmp_path / "item.exit", tmp_path / "item.error"
    monkeypatch.setenv(EXIT_FILE_VARIABLE, str(exit_file))
    monkeypatch.setenv(ERROR_FILE_VARIABLE, str(error_file))
    probability = __import__("numpy").zeros((8, 16, 16), dtype="float32")
    write_mrc(tmp_path / "p.mrc", probability, 10.0)
    assert main(["roi", "extract", str(tmp_path / "p.mrc"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert readExitCode(exit_file) == 0 and readEngineError(error_file) is None
    assert (tmp_path / "out" / "p_rois.json").read_text().strip() == "[]"  # the records, for the protocol

    assert main(["roi", "extract", str(tmp_path / "missing.mrc"), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert readExitCode(exit_file) == 1
    assert "missing.mrc" in readEngineError(error_file)
    with pytest.raises(SystemExit):
        main(["roi", "extract", "--no-such-option"])
    assert readExitCode(exit_file) == 2
    capsys.readouterr()


def test_a_slurm_job_uses_the_cores_it_was_given(monkeypatch):
    from tomorois_surfora.engine.cores import available_cores

    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    everything = available_cores()
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    assert available_cores() == 1
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "4096")
    assert available_cores() == everything
