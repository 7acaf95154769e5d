"""Bad input, swept: every CLI stage × every kind of broken file it could be given.

Each stage runs once, on a good input followed by every kind of bad one (a user's folder with several broken
files); each case then checks what a user should see for its file: exit code 1, a one-line message naming
the bad file (no traceback), no output written for it, and the good input's output still written.
"""
import numpy as np
import pytest

from tomorois_surfora.engine.cli import main
from tomorois_surfora.engine.io import Mesh, PointCloud, write_mrc, write_ply, write_vtp
from tomorois_surfora.tests.bad_inputs import cloud_files, mesh_files, shell_labels, volume_files

DEMO_MODELS = __import__("pathlib").Path(__file__).resolve().parent.parent / "engine" / "demo_models"

VOLUME_KINDS = ["missing", "empty", "text", "truncated", "complex", "stack4d", "nan", "float_labels", "flat2d",
                "one_voxel", "all_zero"]
TOMOGRAM_KINDS = ["missing", "empty", "text", "truncated", "complex", "stack4d", "nan"]
CLOUD_KINDS = ["missing", "empty", "text", "three_points", "nan_points"]
MESH_KINDS = ["missing", "empty", "text", "no_arrays", "degenerate", "no_triangles"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    good = root / "good"
    good.mkdir()
    write_mrc(good / "good_labels.mrc", shell_labels(), 10.0)
    tomogram = np.random.default_rng(0).normal(size=(24, 48, 48)).astype(np.float32)
    write_mrc(good / "good_tomogram.mrc", tomogram, 20.0)
    write_mrc(good / "fine_tomogram.mrc", tomogram, 10.0)  # the membrane model's grid
    probability = np.zeros((24, 48, 48), dtype=np.float32)
    probability[8:16, 10:30, 10:30] = 0.9
    write_mrc(good / "good_probability.mrc", probability, 20.0)
    sphere = fibonacci_sphere(800, 10.0)
    write_ply(good / "good_cloud.ply", PointCloud(sphere, sphere / 10.0, {"label": np.ones(len(sphere), np.int32)}))
    write_vtp(good / "good_mesh.vtp", sphere_mesh())
    return {"root": root, "good": good, "volumes": volume_files(root / "volumes"),
            "clouds": cloud_files(root / "clouds"), "meshes": mesh_files(root / "meshes")}


def fibonacci_sphere(n, radius):
    i = np.arange(n) + 0.5
    phi, theta = np.arccos(1 - 2 * i / n), np.pi * (1 + 5 ** 0.5) * i
    return radius * np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])


def sphere_mesh():
    import pyvista

    sphere = pyvista.Sphere(radius=10.0, theta_resolution=24, phi_resolution=24).triangulate().clean()
    points = np.asarray(sphere.points, dtype=np.float64)
    labels = np.where(points[:, 0] > 0, 1, 2).astype(np.int32)
    normals = points / np.linalg.norm(points, axis=1, keepdims=True)
    return Mesh(points, sphere.regular_faces.astype(np.int64), {"Normals": normals, "label": labels})


def run(argv):
    """Run the CLI in this process on ``argv`` (lists expanded); return its exit code and standard error."""
    import contextlib
    import io

    words = [str(w) for a in argv for w in (a if isinstance(a, list) else [a])]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(words)
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def check(code, err, bad, out, good_outputs):
    assert code == 1, f"exit code {code}; stderr:\n{err}"
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if bad.name in line]
    assert lines, f"no message names {bad.name}:\n{err}"
    assert all(len(line) < 600 for line in lines), "one line, not a dump"
    stem = bad.name.split(".")[0]
    assert not [p for p in out.rglob(f"{stem}*")], f"output written for the bad input {bad.name}"
    for pattern in good_outputs:
        assert list(out.rglob(pattern)), f"the good input's {pattern} was not written:\n{err}"


STAGES = {
    # name: (kinds, file group, argv builder (good, bad, out), what the good input writes)
    "surface restrict": (VOLUME_KINDS, "volumes", lambda f, bad, out: [
        "surface", "restrict", f["good"] / "good_labels.mrc", bad, "--out", out, "--quiet"], ["good_labels_roi1.mrc"]),
    "surface extract": (VOLUME_KINDS, "volumes", lambda f, bad, out: [
        "surface", "extract", f["good"] / "good_labels.mrc", bad, "--out", out, "--quiet"], ["good_labels_medial.ply"]),
    "surface orient": (CLOUD_KINDS, "clouds", lambda f, bad, out: [
        "surface", "orient", f["good"] / "good_cloud.ply", bad, "--out", out, "--quiet", "--convention", "outward"],
        ["good_cloud_oriented.ply"]),
    "surface mesh": (CLOUD_KINDS + ["no_normals"], "clouds", lambda f, bad, out: [
        "surface", "mesh", f["good"] / "good_cloud.ply", bad, "--out", out, "--quiet"], ["good_cloud_mesh.vtp"]),
    **{f"measure {name}": (kinds, "meshes", lambda f, bad, out, name=name, extra=extra: [
        "measure", name, f["good"] / "good_mesh.vtp", bad, "--out", out, "--quiet", *extra], ["good_mesh*"])
       for name, kinds, extra in (("distance", MESH_KINDS, ()), ("curvature", MESH_KINDS, ("--radii", "3")),
                                  ("roughness", MESH_KINDS, ()),
                                  ("area", [k for k in MESH_KINDS if k != "no_arrays"], ()))},  # area: geometry only
    "roi predict": (TOMOGRAM_KINDS, "volumes", lambda f, bad, out: [
        "roi", "predict", f["good"] / "good_tomogram.mrc", bad, "--model", DEMO_MODELS / "contacts.pt",
        "--out", out, "--quiet"], ["good_tomogram*"]),
    "roi extract": (TOMOGRAM_KINDS + ["flat2d"], "volumes", lambda f, bad, out: [
        "roi", "extract", f["good"] / "good_probability.mrc", bad, "--out", out, "--quiet"], ["good_probability*"]),
    "membrane predict": (TOMOGRAM_KINDS, "volumes", lambda f, bad, out: [
        "membrane", "predict", f["good"] / "fine_tomogram.mrc", bad, "--model", DEMO_MODELS / "membranes.pt",
        "--out", out, "--quiet"], ["fine_tomogram_membrane_mask.mrc"]),
}

CASES = [pytest.param(stage, kind, id=f"{stage.replace(' ', '-')}-{kind}")
         for stage, (kinds, _, _, _) in STAGES.items() for kind in kinds]


@pytest.fixture(scope="module")
def stage_run(files, tmp_path_factory):
    """``stage_run(stage)``: (exit code, standard error, output folder) of the stage run once on its good input
    and all its bad ones."""
    done = {}

    def run_stage(stage):
        if stage not in done:
            kinds, group, argv, _ = STAGES[stage]
            out = tmp_path_factory.mktemp(stage.replace(" ", "-")) / "out"
            done[stage] = (*run(argv(files, [files[group][kind] for kind in kinds], out)), out)
        return done[stage]
    return run_stage


@pytest.mark.parametrize("stage, kind", CASES)
def test_bad_input_gives_one_line_and_the_good_input_still_runs(files, stage_run, stage, kind):
    kinds, group, argv, good_outputs = STAGES[stage]
    code, err, out = stage_run(stage)
    check(code, err, files[group][kind], out, good_outputs)
