"""The engine and its command line never import Scipion (pwem, pyworkflow, tomo)."""
import subprocess
import sys

CHECK = """
import sys
import tomorois_surfora.engine
from tomorois_surfora.engine import cli, io, synth
code = cli.main(["synth", "contacts", "--out", sys.argv[1], "--shape", "48", "96", "96", "--voxel-size", "20",
                 "--quiet"])
scipion = sorted(m for m in sys.modules if m.split(".")[0] in ("pwem", "pyworkflow", "tomo"))
print("exit", code, "scipion modules:", scipion)
assert code == 0 and not scipion
"""


def test_engine_and_cli_import_nothing_from_scipion(tmp_path):
    result = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scipion modules: []" in result.stdout
    assert (tmp_path / "contacts_000.mrc").is_file()


def test_console_script_runs_without_scipion(tmp_path):
    script = [sys.executable, "-X", "importtime", "-m", "tomorois_surfora.engine", "demo", "--help"]
    result = subprocess.run(script, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert imported and not [m for m in imported if m.split(".")[0] in ("pwem", "pyworkflow", "tomo")]
