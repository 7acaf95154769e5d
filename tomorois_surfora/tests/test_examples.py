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


def test_whole_chain_example_measures_contacts_with_no_ground_truth_in_between(tmp_path):
    """examples/whole_chain.py: phantoms → fine-tuned ROI model (one project), then examples/workflow.py on a
    new tomogram with that model (a second project: import, predicted ROIs, membranes segmented inside them by
    the shipped model, SurfORA); the closest distance of each predicted ROI that overlaps a true contact is
    within 1 nm of the true gap, and workflow.py's table and CSV agree with the measured meshes."""
    import csv
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "whole_chain.py"
    env = dict(os.environ, SCIPION_USER_DATA=str(tmp_path), SCIPION_HOME=str(tmp_path),
               SCIPION_HOSTS=str(tmp_path / "config" / "hosts.conf"))
    result = subprocess.run([sys.executable, str(script), "chain", "--minutes", "0.1", "--annotated", "1",
                             "--size", "192", "192", "96", "--threads", "1"], capture_output=True,
                            text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    measured = re.findall(r"ROI \d+: closest membrane distance ([\d.]+) nm, true gap ([\d.]+) nm", result.stdout)
    assert measured, result.stdout
    assert all(abs(float(closest) - float(gap)) <= 1.0 for closest, gap in measured), measured
    runs = lambda name: {p.name.split("_", 1)[1] for p in (tmp_path / "projects" / name / "Runs").iterdir()}  # noqa
    assert {"ProtTomoRoisPhantoms", "ProtTomoRoisTrain"} <= runs("chain")
    assert {"ProtImportTomograms", "ProtTomoRoisPredict", "ProtMembraneSegment", "ProtSurfaceMeasure"} <= \
        runs("chain_workflow")
    assert re.search(r"\[workflow\] measure distances: finished in \d+ s", result.stdout), result.stdout
    with open(tmp_path / "projects" / "chain_workflow" / "workflow_summary.csv") as handle:
        (row,) = list(csv.DictReader(handle))
    closest = [float(d) for d in re.findall(r"ROI \d+: closest membrane distance ([\d.]+) nm", result.stdout)]
    assert int(row["measured"]) == len(closest) and int(row["rois"]) >= len(closest)
    assert abs(float(row["closest_nm"]) - min(closest)) < 0.01
