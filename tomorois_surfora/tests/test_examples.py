"""The scripting examples in examples/ run as the README shows them (pytest only: Scipion's runner collects
test classes, not functions)."""
import os


def test_readme_example_scripts_a_project(tmp_path):
    """The README's scripting example runs as written and prints the outputs it registered."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "phantom_project.py"
    env = dict(os.environ, SCIPION_USER_DATA=str(tmp_path), SCIPION_HOME=str(tmp_path),
               SCIPION_HOSTS=str(tmp_path / "config" / "hosts.conf"))
    result = subprocess.run([sys.executable, str(script), "example"], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("contacts_")]
    assert len(lines) == 2 and "(128, 128, 64)" in lines[0] and "20 Å/px" in lines[0]
    assert (tmp_path / "projects" / "example").is_dir()
