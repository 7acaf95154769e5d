"""The ``tomorois-surfora`` command line, run as a real subprocess."""
import json
import re
import subprocess
import sys

import numpy as np
import pandas
import pytest
import pyvista
import starfile
from scipy.spatial import cKDTree

from tomorois_surfora.engine.cli import leaf_commands
from tomorois_surfora.engine.io import read_mrc

SMALL = ["--shape", "48", "96", "96", "--voxel-size", "20"]


def run_cli(*args, env=None):
    """Run the engine CLI in a subprocess (with ``env`` as its environment when given)."""
    return subprocess.run([sys.executable, "-m", "tomorois_surfora.engine", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_synth_contacts_writes_tomograms_truth_and_manifest(tmp_path):
    result = run_cli("synth", "contacts", "--out", tmp_path / "ds", "--n", 2, "--seed", 1, *SMALL)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "ds") in result.stdout
    assert "[synth contacts] (2/2" in result.stderr, "progress is reported per tomogram"
    manifest = json.loads((tmp_path / "ds" / "dataset.json").read_text())
    assert manifest["n"] == 2 and manifest["voxel_size_A"] == 20
    for item in manifest["items"]:
        volume, voxel_size = read_mrc(tmp_path / "ds" / item["tomogram"])
        assert volume.shape == (48, 96, 96) and voxel_size == pytest.approx(20)
        labels, _ = read_mrc(tmp_path / "ds" / item["membranes"])
        truth = json.loads((tmp_path / "ds" / item["truth"]).read_text())
        assert labels.max() == len(truth["membranes"])
        assert truth["imaging"]["snr"] == 0.5 and truth["imaging"]["tilt_range_deg"] == 60


def test_synth_options_reach_the_phantoms(tmp_path):
    result = run_cli("synth", "invaginations", "--out", tmp_path, "--snr", "2", "--tilt-range", "45", "--quiet", *SMALL)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    truth = json.loads((tmp_path / "invaginations_000.json").read_text())
    assert truth["imaging"]["snr"] == 2 and truth["imaging"]["tilt_range_deg"] == 45


@pytest.mark.parametrize("args, code, message", [
    (["synth", "contacts", "--out", "{tmp}", "--shape", "0", "10", "10"], 1, "shape must be three whole numbers"),
    (["synth", "contacts", "--out", "{tmp}", "--shape", "16", "64", "64"], 1, "phantoms need at least"),
    (["synth", "contacts", "--out", "{tmp}", "--voxel-size", "-3"], 2, "must be a positive number"),
    (["synth", "contacts", "--out", "{tmp}", "--n", "0"], 2, "must be at least 1"),
    (["synth", "contacts", "--out", "{tmp}", "--bogus"], 2, "unrecognized arguments: --bogus"),
    (["synth", "golgi", "--out", "{tmp}"], 2, "invalid choice: 'golgi'"),
    (["synth", "contacts", "--out", "{tmp}/a_file/sub"], 1, "a_file/sub: cannot create output folder"),
])
def test_bad_input_gives_one_clear_line_and_nonzero_exit(tmp_path, args, code, message):
    (tmp_path / "a_file").write_text("x")
    result = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("tomorois-surfora")


LEAVES = [list(words) for words, _ in leaf_commands()]


def test_the_command_line_has_every_stage():
    assert [" ".join(w) for w in LEAVES] == [
        "synth contacts", "synth invaginations", "synth pm_contacts",
        "roi train", "roi predict", "roi extract", "roi calibrate", "roi evaluate",
        "membrane train", "membrane predict", "membrane evaluate", "membrane synthesize", "surface restrict", "surface extract", "surface orient", "surface mesh", "surface split",
        "measure distance", "measure curvature", "measure roughness", "measure area", "view volume", "view surface",
        "curate rois", "curate cloud", "demo"]


@pytest.mark.parametrize("words, parser", leaf_commands(), ids=[" ".join(w) for w in LEAVES])
def test_every_subcommand_describes_itself_and_every_option(words, parser):
    assert parser.description and len(parser.description) > 30, "what the command does"
    undocumented = [a.option_strings or a.dest for a in parser._actions if not a.help]
    assert not undocumented, f"options without help: {undocumented}"


@pytest.mark.parametrize("command", [[], ["roi"], ["surface", "split"], ["measure", "area"]])
def test_help_through_the_installed_entry_point(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and f"usage: tomorois-surfora {' '.join(command)}".strip() in result.stdout


def test_roi_extract_and_evaluate_recover_phantom_rois_and_survive_a_bad_input(tmp_path):
    import numpy as np
    from scipy import ndimage

    from tomorois_surfora.engine.io import read_csv, write_mrc

    assert run_cli("synth", "invaginations", "--out", tmp_path / "ds", *SMALL, "--quiet").returncode == 0
    truth, voxel_size = read_mrc(tmp_path / "ds" / "invaginations_000_rois.mrc")
    probability = np.clip(ndimage.gaussian_filter((truth > 0).astype(np.float32), 1.0), 0, 1)
    write_mrc(tmp_path / "prob.mrc", probability, voxel_size)
    write_mrc(tmp_path / "bad.mrc", np.full((48, 96, 96), 2.0, np.float32), voxel_size)

    result = run_cli("roi", "extract", tmp_path / "bad.mrc", tmp_path / "prob.mrc", "--out", tmp_path / "ex")
    assert result.returncode == 1, "a failed input makes the exit code non-zero"
    assert "bad.mrc: values must be probabilities" in result.stderr and "Traceback" not in result.stderr
    assert "extracted ROIs from 1 of 2 maps" in result.stdout
    table = read_csv(tmp_path / "ex" / "prob_rois.csv")
    assert len(table) == len(np.unique(truth)) - 1 and set(table.columns) >= {"x_nm", "volume_nm3"}

    result = run_cli("roi", "evaluate", "--predicted", tmp_path / "ex" / "prob_rois.mrc",
                     "--truth", tmp_path / "ds" / "invaginations_000_rois.mrc", "--json", tmp_path / "m.json")
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["fp"] == metrics["fn"] == 0 and metrics["dice"] > 0.95
    assert "FP rate 0.000" in result.stdout
    assert "0 of 0 missed and 0 of 0 false ROIs overlap" in result.stdout
    assert metrics["fn_overlapping"] == metrics["fp_overlapping"] == 0
    assert all(abs(p - t) <= 2 for t, p in metrics["depth_spans"]) and "depth: the predicted ROIs span" in result.stdout
    ious = [iou for _, _, iou in metrics["matches"]]  # (predicted, true, IoU) per match
    strictest = (min(ious) + 1) / 2
    result = run_cli("roi", "evaluate", "--predicted", tmp_path / "ex" / "prob_rois.mrc", "--iou", strictest,
                     "--truth", tmp_path / "ds" / "invaginations_000_rois.mrc", "--json", tmp_path / "strict.json")
    strict = json.loads((tmp_path / "strict.json").read_text())
    lost = sum(iou < strictest for iou in ious)
    assert strict["iou_threshold"] == strictest and lost >= 1 and strict["tp"] == metrics["tp"] - lost
    assert strict["fn_overlapping"] == strict["fp_overlapping"] == lost, "found, but in the wrong shape"


def test_roi_train_3d_then_predict(tmp_path):
    from tomorois_surfora.engine.roi.model_file import load_model

    assert run_cli("synth", "contacts", "--out", tmp_path / "ds", *SMALL, "--quiet").returncode == 0
    result = run_cli("roi", "train", "--tomograms", tmp_path / "ds" / "contacts_000.mrc", "--masks",
                     tmp_path / "ds" / "contacts_000_rois.mrc", "--dims", 3, "--depth", 3, "--patch", 24,
                     "--epochs", 1, "--steps-per-epoch", 2, "--batch-size", 1, "--out", tmp_path / "m", "--quiet")
    assert result.returncode == 0, result.stderr
    model = load_model(tmp_path / "m" / "model.pt")
    assert model.net.config["dims"] == 3 and model.context == 0 and model.training["parameters"]["dims"] == 3
    result = run_cli("roi", "predict", tmp_path / "ds" / "contacts_000.mrc", "--model", tmp_path / "m" / "model.pt",
                     "--out", tmp_path / "p")
    assert result.returncode == 0, result.stderr
    probability, _ = read_mrc(tmp_path / "p" / "contacts_000_prob.mrc")
    assert probability.shape == (48, 96, 96) and 0 < probability.min() and probability.max() < 1
    assert re.search(r"sections \d+/48, [\d.]+ sections/s, about \d+ s left", result.stderr), \
        "progress inside the tomogram, with rate and time left"


def test_synth_pm_contacts_has_its_own_imaging_and_takes_the_options(tmp_path):
    result = run_cli("synth", "pm_contacts", "--out", tmp_path, "--quiet", "--shape", 64, 96, 96,
                     "--voxel-size", 20)
    assert result.returncode == 0, result.stderr
    imaging = json.loads((tmp_path / "pm_contacts_000.json").read_text())["imaging"]
    assert imaging["tilt_axis"] == "x" and imaging["tilt_range_deg"] == 50 and imaging["snr"] == 0.4
    result = run_cli("synth", "pm_contacts", "--out", tmp_path / "b", "--quiet", "--shape", 64, 96, 96,
                     "--voxel-size", 20, "--snr", 1, "--tilt-range", 40)
    imaging = json.loads((tmp_path / "b" / "pm_contacts_000.json").read_text())["imaging"]
    assert imaging["snr"] == 1 and imaging["tilt_range_deg"] == 40


def test_a_time_limit_alone_bounds_training_and_the_stop_is_explained(tmp_path):
    from tomorois_surfora.engine.roi.model_file import load_model

    assert run_cli("synth", "contacts", "--out", tmp_path / "ds", *SMALL, "--quiet").returncode == 0
    common = ["roi", "train", "--tomograms", tmp_path / "ds" / "contacts_000.mrc", "--masks",
              tmp_path / "ds" / "contacts_000_rois.mrc", "--depth", 2, "--patch", 24, "--steps-per-epoch", 1,
              "--batch-size", 1]
    result = run_cli(*common, "--time-limit", 0.05, "--out", tmp_path / "timed")
    assert result.returncode == 0, result.stderr
    assert "time limit of 0.05 min reached" in result.stderr
    assert load_model(tmp_path / "timed" / "model.pt").training["parameters"]["epochs"] >= 1_000_000, \
        "no epoch limit when only the time limit is given"
    assert "(1, " in result.stderr and "/1000000" not in result.stderr, "progress counts epochs, no sham total"
    result = run_cli(*common, "--time-limit", 10, "--epochs", 2, "--out", tmp_path / "capped")
    assert result.returncode == 0, result.stderr
    assert "(1/2, " in result.stderr
    assert "stopped at the epoch limit (2)" in result.stderr and "raise the epochs" in result.stderr


def test_roi_calibrate_chooses_stores_and_extract_uses_it(tmp_path):
    """Probability maps that are 0.9 on the true ROIs and 0.65 on decoys: calibration must pick a threshold
    above the decoys, store it in the model, and `roi extract --model` must use it unless told otherwise."""
    from scipy import ndimage

    from tomorois_surfora.engine.io import write_mrc
    from tomorois_surfora.engine.roi.model_file import load_model

    ds = tmp_path / "ds"
    assert run_cli("synth", "contacts", "--out", ds, "--n", 2, *SMALL, "--quiet").returncode == 0
    maps = []
    for name in ("contacts_000", "contacts_001"):
        rois, size = read_mrc(ds / f"{name}_rois.mrc")
        decoys, _ = read_mrc(ds / f"{name}_decoys.mrc")
        values = np.where(rois > 0, 0.9, np.where(decoys > 0, 0.65, 0.02)).astype(np.float32)
        maps.append(tmp_path / f"{name}_prob.mrc")
        write_mrc(maps[-1], ndimage.uniform_filter(values, 3), size)
    assert run_cli("roi", "train", "--tomograms", ds / "contacts_000.mrc", "--masks", ds / "contacts_000_rois.mrc",
                   "--depth", 2, "--patch", 24, "--epochs", 1, "--steps-per-epoch", 1, "--batch-size", 1,
                   "--out", tmp_path / "m", "--quiet").returncode == 0
    model = tmp_path / "m" / "model.pt"
    result = run_cli("roi", "extract", maps[0], "--model", model, "--out", tmp_path / "none")
    assert result.returncode == 1 and "holds no calibrated extraction settings" in result.stderr
    result = run_cli("roi", "calibrate", *maps, "--truth", ds / "contacts_000_rois.mrc", ds / "contacts_001_rois.mrc",
                     "--model", model, "--out", tmp_path / "calibration.json", "--workers", 1)
    assert result.returncode == 0, result.stderr
    assert "(10/10)" in result.stderr, "progress per threshold and closing"
    chosen = json.loads((tmp_path / "calibration.json").read_text())
    assert chosen["parameters"]["threshold"] >= 0.7 and chosen["f1_dice"][0] == 1.0
    assert len(chosen["scores"]) == 5 * 2 * 2 * 2 * 3
    assert load_model(model).training["extraction"]["parameters"] == chosen["parameters"]
    truth_count = len(np.unique(read_mrc(ds / "contacts_001_rois.mrc").data)) - 1
    for extra, expected in (([], truth_count), (["--threshold", 0.5, "--min-confidence", 0], None)):
        out = tmp_path / f"extracted{len(extra)}"
        result = run_cli("roi", "extract", maps[1], "--model", model, "--out", out, *extra)
        assert result.returncode == 0, result.stderr
        labels, _ = read_mrc(out / "contacts_001_prob_rois.mrc")
        if expected is not None:
            assert len(np.unique(labels)) - 1 == expected, "the calibrated settings find exactly the true ROIs"
        else:
            assert len(np.unique(labels)) - 1 > truth_count, "an explicit threshold of 0.5 lets the decoys in"
    result = run_cli("roi", "calibrate", maps[0], "--truth", ds / "contacts_000_rois.mrc", ds / "contacts_001_rois.mrc",
                     "--out", tmp_path / "x.json")
    assert result.returncode == 1 and "one true ROI map per probability map" in result.stderr


def test_demo_runs_phantoms_then_tomorois_end_to_end(tmp_path):
    result = run_cli("demo", "--out", tmp_path / "demo", "--n", 2, "--train-minutes", 0.05, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "TomoROIS after 0.05 min of training" in result.stdout
    for kind in ("contacts", "invaginations"):
        folder = tmp_path / "demo" / kind / "model"
        metrics = json.loads((folder / f"{kind}_001_metrics.json").read_text())
        assert metrics["true"] >= 1 and metrics["tp"] + metrics["fn"] == metrics["true"]
        assert metrics["training"]["epochs"] >= 1 and (folder / "model.pt").is_file()
        assert metrics["training"]["fine_tuned_from"].endswith(f"demo_models/{kind}.pt")
        # one epoch of fine-tuning the shipped model already finds the ROIs (Dice 0.82 and 0.92 when measured)
        assert metrics["tp"] >= 1 and metrics["dice"] > 0.6
        labels, _ = read_mrc(folder / f"{kind}_001_predicted_rois.mrc")
        truth, _ = read_mrc(tmp_path / "demo" / kind / f"{kind}_001_rois.mrc")
        assert labels.shape == truth.shape and labels.max() == metrics["predicted"]
        assert f"{kind:<15} shipped" in result.stdout
    assert "SurfORA on the true contact-site ROIs" in result.stdout
    truth = json.loads((tmp_path / "demo" / "contacts" / "contacts_000.json").read_text())["rois"]
    for roi in truth:
        mesh = pyvista.read(tmp_path / "demo" / "contacts" / "surfaces" / f"contacts_000_roi{roi['label']}_mesh.vtp")
        measured = np.nanmin(mesh.point_data["distance_nm"])
        assert abs(measured - roi["gap_nm"]) < 1.0, "the closest mesh distance is the phantom's true gap"
        H = mesh.point_data["mean_curvature"]
        assert np.isfinite(H).mean() > 0.5 and np.isfinite(mesh.point_data["roughness_nm"]).mean() > 0.5
    assert "|H| 1/nm" in result.stdout and "Rq nm" in result.stdout
    # the whole chain on the held-out contact phantom: membranes segmented inside its predicted ROIs
    assert "The whole chain without ground truth" in result.stdout
    chain = tmp_path / "demo" / "contacts" / "chain"
    labels, _ = read_mrc(chain / "contacts_001_membrane_labels.mrc")
    predicted, _ = read_mrc(tmp_path / "demo" / "contacts" / "model" / "contacts_001_predicted_rois.mrc")
    assert labels.shape == predicted.shape and labels.max() >= 1
    for mesh_file in (chain / "surfaces").glob("*_mesh.vtp"):
        assert np.isfinite(pyvista.read(mesh_file).point_data["distance_nm"]).any()


def test_roi_train_and_predict_from_the_command_line(tmp_path):
    assert run_cli("synth", "contacts", "--out", tmp_path / "ds", "--n", 2, *SMALL, "--quiet").returncode == 0
    tomograms = [tmp_path / "ds" / f"contacts_00{i}.mrc" for i in range(2)]
    masks = [tmp_path / "ds" / f"contacts_00{i}_rois.mrc" for i in range(2)]
    result = run_cli("roi", "train", "--tomograms", *tomograms, "--masks", *masks, "--out", tmp_path / "m",
                     "--depth", 6, "--epochs", 2, "--steps-per-epoch", 2, "--patch", 32, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "trained 2 epochs" in result.stdout
    assert json.loads((tmp_path / "m" / "training.json").read_text())["epochs"] == 2
    (tmp_path / "broken.mrc").write_bytes(b"not an MRC file at all")
    result = run_cli("roi", "predict", tmp_path / "broken.mrc", tomograms[0], "--model", tmp_path / "m" / "model.pt",
                     "--out", tmp_path / "p", "--quiet")
    assert result.returncode == 1 and "broken.mrc: not a readable MRC file" in result.stderr
    assert "predicted 1 of 2 tomograms" in result.stdout and "Traceback" not in result.stderr
    probability, size = read_mrc(tmp_path / "p" / "contacts_000_prob.mrc")
    assert probability.shape == (48, 96, 96) and size == 20.0 and 0 <= probability.min() <= probability.max() <= 1
    assert not (tmp_path / "p" / "broken_prob.mrc").exists()
    result = run_cli("roi", "train", "--tomograms", *tomograms, "--masks", masks[0], "--out", tmp_path / "x")
    assert result.returncode == 1 and "give one ROI mask per tomogram" in result.stderr
    result = run_cli("roi", "train", "--tomograms", *tomograms, "--masks", *masks, "--out", tmp_path / "x",
                     "--planes", "xy,zx")
    assert result.returncode == 1 and "planes must be distinct names among xy, xz, yz, got xy,zx" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x" / "model.pt").exists()


def test_surface_restrict_extract_orient_chain(tmp_path):
    """Two membranes in one ROI map: crops keep the origin, clouds land on the spheres, normals point out;
    an empty mask fails on its own and the good one is still written."""
    from tomorois_surfora.engine.io import read_ply, write_mrc
    from tomorois_surfora.engine.synth import shapes

    mask, origin = shapes.sphere(8.0).mask(1.0)
    membranes = np.zeros((mask.shape[0], mask.shape[1], 2 * mask.shape[2] + 10), dtype=np.int8)
    membranes[:, :, :mask.shape[2]][mask] = 1
    membranes[:, :, -mask.shape[2]:][mask] = 2
    rois = np.ones(membranes.shape, dtype=np.int16)
    write_mrc(tmp_path / "mem.mrc", membranes, 10.0)
    write_mrc(tmp_path / "rois.mrc", rois, 10.0)
    write_mrc(tmp_path / "empty.mrc", np.zeros((8, 8, 8), dtype=np.int8), 10.0)
    result = run_cli("surface", "restrict", tmp_path / "mem.mrc", "--rois", tmp_path / "rois.mrc",
                     "--out", tmp_path / "crops")
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((tmp_path / "crops" / "mem_roi1.json").read_text())
    assert sidecar["labels"] == {"1": int(mask.sum()), "2": int(mask.sum())}
    result = run_cli("surface", "extract", tmp_path / "crops" / "mem_roi1.mrc", tmp_path / "empty.mrc",
                     "--out", tmp_path / "clouds")
    assert result.returncode == 1
    assert "empty.mrc: the mask is empty" in result.stderr and "1 of 2 inputs failed" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("surface", "orient", tmp_path / "clouds" / "mem_roi1_medial.ply", "--out", tmp_path / "or")
    assert result.returncode == 0, result.stderr
    cloud = read_ply(tmp_path / "or" / "mem_roi1_medial_oriented.ply")
    for label, x_offset in ((1, 0.0), (2, mask.shape[2] + 10.0)):
        centre = -origin + np.array([x_offset, 0, 0])   # sphere centre in the tomogram's nm coordinates
        mine = cloud.properties["label"] == label
        radial = cloud.points[mine] - centre
        radius = np.linalg.norm(radial, axis=1)
        assert np.median(np.abs(radius - 8.0)) < 0.25
        assert np.all(np.sum(cloud.normals[mine] * radial, axis=1) > 0), "outward from each membrane"
    assert "facing edges" in result.stderr
    result = run_cli("surface", "orient", tmp_path / "clouds" / "mem_roi1_medial.ply", "--facing-weight", "-1",
                     "--out", tmp_path / "bad_orient")
    assert result.returncode != 0 and "facing_weight must be ≥ 0" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("surface", "mesh", tmp_path / "or" / "mem_roi1_medial_oriented.ply",
                     "--masks", tmp_path / "crops" / "mem_roi1.mrc", "--out", tmp_path / "mesh")
    assert result.returncode == 0, result.stderr
    mesh = pyvista.read(tmp_path / "mesh" / "mem_roi1_medial_oriented_mesh.vtp")
    assert mesh.n_points == len(cloud.points) and mesh.n_cells > len(cloud.points)
    assert set(np.unique(mesh.point_data["label"])) == {1, 2}
    # two 8 nm spheres meshed at 1 nm spacing, small holes closed: only the inscribed mesh's chords are lost
    assert 0.97 < mesh.area / 2 / (4 * np.pi * 8.0 ** 2) < 1.0
    assert "holes closed" in result.stderr
    result = run_cli("surface", "mesh", tmp_path / "or" / "mem_roi1_medial_oriented.ply", "--max-hole-edges", "-1",
                     "--out", tmp_path / "bad")
    assert result.returncode != 0 and "max_hole_edges must be ≥ 0" in result.stderr
    result = run_cli("measure", "distance", tmp_path / "mesh" / "mem_roi1_medial_oriented_mesh.vtp",
                     "--out", tmp_path / "dist")
    assert result.returncode == 0, result.stderr
    summary = pandas.read_csv(tmp_path / "dist" / "mem_roi1_medial_oriented_mesh_distance_summary.csv")
    gap = mask.shape[2] + 10.0 - 2 * 8.0    # sphere centres are this far apart minus two radii
    ones, twos = cloud.points[cloud.properties["label"] == 1], cloud.points[cloud.properties["label"] == 2]
    nearest_vertices = cKDTree(twos).query(ones)[0].min()
    assert list(summary["label"]) == [1, 2]
    # to the partner's triangles, not its vertices: never further than the nearest vertex; the medial
    # surface of an 8 nm vesicle sits about 0.4 nm inside at the poles (see the README), hence the margin
    assert np.all(summary["min"] <= nearest_vertices + 1e-6) and np.all(np.abs(summary["min"] - gap) < 1.0)
    measured = pyvista.read(tmp_path / "dist" / "mem_roi1_medial_oriented_mesh_distance.vtp")
    assert np.isfinite(measured.point_data["distance_nm"]).all()
    result = run_cli("measure", "distance", tmp_path / "mesh" / "mem_roi1_medial_oriented_mesh.vtp",
                     "--pairs", "1:7", "--out", tmp_path / "dist")
    assert result.returncode == 1 and "label 7 does not exist in the mesh" in result.stderr
    # curvature, roughness and area accumulate arrays on the same mesh; sign: outward normals give H = +1/R
    result = run_cli("measure", "curvature", tmp_path / "dist" / "mem_roi1_medial_oriented_mesh_distance.vtp",
                     "--star", "--voxel-size", 10, "--out", tmp_path / "curv")
    assert result.returncode == 0, result.stderr
    curved = pyvista.read(tmp_path / "curv" / "mem_roi1_medial_oriented_mesh_distance_curvature.vtp")
    H = curved.point_data["mean_curvature"]
    assert "distance_nm" in curved.point_data.keys() and np.isfinite(H).mean() > 0.8
    assert abs(np.nanmedian(H) * 8.0 - 1) < 0.05
    assert abs(np.nanmedian(curved.point_data["gaussian_curvature"]) * 64.0 - 1) < 0.1
    assert np.all(curved.point_data["curvature_confidence"][np.isfinite(H)] > 0)
    star = starfile.read(tmp_path / "curv" / "mem_roi1_medial_oriented_mesh_distance_curvature.star")
    assert len(star) == np.isfinite(H).sum() and {"rlnCoordinateX", "rlnAngleTilt"} <= set(star.columns)
    # STAR pixels at 10 Å = nm coordinates
    assert np.allclose(star["rlnCoordinateX"], curved.points[np.isfinite(H), 0], atol=1e-3)
    assert (tmp_path / "curv" / "mem_roi1_medial_oriented_mesh_distance_curvature.png").stat().st_size > 1000
    result = run_cli("measure", "roughness", tmp_path / "curv" / "mem_roi1_medial_oriented_mesh_distance_curvature.vtp",
                     "--scale", 4, "--out", tmp_path / "rough")
    assert result.returncode == 0, result.stderr
    rough = pandas.read_csv(tmp_path / "rough" / "mem_roi1_medial_oriented_mesh_distance_curvature_roughness_summary.csv")
    assert list(rough["label"]) == [1, 2] and np.all(rough["Rq_nm"] < 0.1), "a medial (MLS) sphere is smooth"
    result = run_cli("measure", "area", tmp_path / "mesh" / "mem_roi1_medial_oriented_mesh.vtp",
                     "--out", tmp_path / "area")
    areas = pandas.read_csv(tmp_path / "area" / "mem_roi1_medial_oriented_mesh_area.csv")
    assert np.isclose(areas["area_nm2"].sum(), mesh.area, rtol=1e-6)
    result = run_cli("measure", "curvature", tmp_path / "mesh" / "mem_roi1_medial_oriented_mesh.vtp",
                     "--radii", 0.2, "--out", tmp_path / "curv")
    assert result.returncode == 1 and "below the point spacing" in result.stderr


def test_surface_split_closed_and_open_membranes_into_leaflets(tmp_path):
    """A vesicle's isosurface splits by connectivity, an open cap by a cut along its rim; +1 is the side the
    mid-surface normals (outward) point to, i.e. the outer leaflet."""
    from tomorois_surfora.engine.io import Mesh, write_mrc, write_vtp
    from tomorois_surfora.engine.surface.iso import isosurface
    from tomorois_surfora.engine.surface.pipeline import crop_to_mesh
    from tomorois_surfora.engine.synth import shapes

    isos, mids, truth = [], [], {}
    for shape in (shapes.sphere(12.0), shapes.open_sphere(12.0, 40.0)):
        mask, origin = shape.mask(1.0)
        points, normals, labels, faces, _ = crop_to_mesh(mask.astype(np.int8), 1.0, origin, convention="outward")
        write_vtp(tmp_path / f"{shape.name}_mid.vtp", Mesh(points, faces, {"Normals": normals, "label": labels}))
        _, _, (vertices, triangles) = isosurface(mask, 1.0, origin_nm=origin)
        write_vtp(tmp_path / f"{shape.name}_iso.vtp", Mesh(vertices, triangles,
                                                          {"label": np.ones(len(vertices), dtype=int)}))
        isos.append(tmp_path / f"{shape.name}_iso.vtp")
        mids.append(tmp_path / f"{shape.name}_mid.vtp")
        radius = np.linalg.norm(vertices, axis=1)
        # the open cap's rim face cuts across the membrane (radius ≈ 12): on neither leaflet, not scored
        truth[shape.name] = np.where(np.abs(radius - 12.0) < 0.5, 0, np.where(radius > 12.0, 1, -1))
    write_mrc(tmp_path / "not_a_mesh.vtp", np.zeros((4, 4, 4), np.int8), 10.0)
    result = run_cli("surface", "split", *isos, tmp_path / "not_a_mesh.vtp", "--mids", *mids, mids[0],
                     "--out", tmp_path / "split")
    assert result.returncode == 1 and "not_a_mesh.vtp: not a VTK XML PolyData" in result.stderr
    for name, expected in truth.items():
        split = pyvista.read(tmp_path / "split" / f"{name}_iso_leaflets.vtp")
        scored = expected != 0
        assert np.mean(split.point_data["leaflet"][scored] == expected[scored]) > 0.995
        proxy = pyvista.read(tmp_path / "split" / f"{name}_mid_proxy.vtp")
        assert proxy.n_cells > 0 and "Normals" in proxy.point_data.keys()
    assert "0 triangles cut" in result.stderr, "the closed vesicle needs no cut"
    result = run_cli("surface", "split", isos[0], "--mids", *mids, "--out", tmp_path / "split")
    assert result.returncode != 0 and "one mid-surface mesh per isosurface" in result.stderr


def test_measure_reports_bad_meshes_and_keeps_the_good_ones(tmp_path):
    """A mesh without normals, an empty one and a non-manifold one beside a good sphere: each is named,
    the good sphere is measured, and the non-manifold fin only costs the vertices next to it."""
    import open3d as o3d

    from tomorois_surfora.engine.io import Mesh, write_vtp

    sphere = o3d.geometry.TriangleMesh.create_sphere(radius=15.0, resolution=40)
    points, faces = np.asarray(sphere.vertices), np.asarray(sphere.triangles)
    normals = points / np.linalg.norm(points, axis=1, keepdims=True)
    write_vtp(tmp_path / "good.vtp", Mesh(points, faces, {"Normals": normals, "label": np.ones(len(points), int)}))
    write_vtp(tmp_path / "no_normals.vtp", Mesh(points, faces, {"label": np.ones(len(points), int)}))
    write_vtp(tmp_path / "empty.vtp", Mesh(points, np.zeros((0, 3), int), {"Normals": normals}))
    top = int(np.argmax(points[:, 2]))
    edge = faces[np.any(faces == top, axis=1)][0]
    fin_tip = len(points)
    fin = np.vstack([points, points[edge[:2]].mean(axis=0) + [0, 0, 3.0]])
    write_vtp(tmp_path / "fin.vtp", Mesh(fin, np.vstack([faces, [edge[0], edge[1], fin_tip]]),
                                         {"Normals": np.vstack([normals, [0, 0, 1.0]])}))
    result = run_cli("measure", "curvature", tmp_path / "no_normals.vtp", tmp_path / "empty.vtp",
                     tmp_path / "good.vtp", tmp_path / "fin.vtp", "--out", tmp_path / "out")
    assert result.returncode == 1 and "2 of 4 inputs failed" in result.stderr
    assert "no_normals.vtp: the mesh has no 'Normals' point array" in result.stderr
    assert "empty.vtp: the mesh has no triangles" in result.stderr and "Traceback" not in result.stderr
    assert "1 non-manifold edges (treated as open edges)" in result.stderr
    good = pyvista.read(tmp_path / "out" / "good_curvature.vtp")
    assert np.allclose(good.point_data["mean_curvature"], 1 / 15, rtol=0.05)
    finned = pyvista.read(tmp_path / "out" / "fin_curvature.vtp").point_data["mean_curvature"]
    assert np.isnan(finned[edge[:2]]).all() and np.isfinite(finned).mean() > 0.8


def test_surface_options_of_the_cli_guide(tmp_path):
    """`surface restrict` without ROIs, `extract --adaptive/--upsample`, `orient` of a cloud without normals,
    `--jet`, `--convention partner --partner`, and `mesh --smooth`, on a vesicle of radius 8 nm."""
    from tomorois_surfora.engine.io import PointCloud, read_ply, write_mrc, write_ply
    from tomorois_surfora.engine.synth import shapes

    mask, origin = shapes.sphere(8.0).mask(1.0, grid_offset_nm=(0.3, 0.2, 0.1))
    write_mrc(tmp_path / "mem.mrc", mask.astype(np.int8), 10.0)
    centre = -origin  # the sphere's centre in the file's nm coordinates
    assert run_cli("surface", "restrict", tmp_path / "mem.mrc", "--labels", 1, "--closing", 0, "--out", tmp_path / "crops",
                   "--quiet").returncode == 0
    sidecar = json.loads((tmp_path / "crops" / "mem_roi1.json").read_text())
    assert sidecar["roi"] == 1 and sidecar["labels"] == {"1": int(mask.sum())}, "the whole volume is one ROI"
    crop = tmp_path / "crops" / "mem_roi1.mrc"

    def iso_faces(*options):
        out = tmp_path / "iso" / "_".join(map(str, options))
        result = run_cli("surface", "extract", crop, "--method", "iso", *options, "--out", out, "--quiet")
        assert result.returncode == 0, result.stderr
        radius = np.linalg.norm(read_ply(out / "mem_roi1_iso.ply").points - centre - sidecar["origin_nm"], axis=1)
        inner = radius < 8
        deviation = np.where(inner, np.abs(radius - 6), np.abs(radius - 10))  # the mask's faces: 8 ∓ 2 nm
        density = (inner.sum() / 6 ** 2) / ((~inner).sum() / 10 ** 2)         # points per area, inner / outer
        return np.median(deviation), density

    plain, adaptive, upsampled = iso_faces("--spacing", 2), iso_faces("--spacing", 2, "--adaptive"), iso_faces(
        "--upsample", 2)
    assert plain[0] < 0.25 and abs(plain[1] - 1) < 0.15, "even spacing on both faces"
    assert adaptive[1] > 1.4 * plain[1], "curvature-adaptive: denser on the more curved inner face"
    assert upsampled[0] < 0.9 * iso_faces()[0], "a finer distance grid lands closer to the faces"

    assert run_cli("surface", "extract", crop, "--out", tmp_path / "medial", "--quiet").returncode == 0
    medial = read_ply(tmp_path / "medial" / "mem_roi1_medial.ply")
    radial = medial.points - centre - sidecar["origin_nm"]
    radial /= np.linalg.norm(radial, axis=1, keepdims=True)
    write_ply(tmp_path / "bare.ply", PointCloud(medial.points, None, {"label": medial.properties["label"]}))
    inner = PointCloud(centre + sidecar["origin_nm"] + 0.5 * (medial.points - centre - sidecar["origin_nm"]),
                       medial.normals, {"label": np.full(len(medial.points), 2)})
    write_ply(tmp_path / "inner.ply", inner)
    runs = {"bare": [tmp_path / "bare.ply"], "jet": [tmp_path / "medial" / "mem_roi1_medial.ply", "--jet"],
            "partner": [tmp_path / "medial" / "mem_roi1_medial.ply", "--convention", "partner",
                        "--partner", tmp_path / "inner.ply"]}
    cosine = {}
    for name, args in runs.items():
        result = run_cli("surface", "orient", *args, "--out", tmp_path / name, "--quiet")
        assert result.returncode == 0, result.stderr
        cloud = read_ply(next((tmp_path / name).glob("*_oriented.ply")))
        assert np.allclose(cloud.points, medial.points)
        cosine[name] = np.sum(cloud.normals * radial, axis=1)
    assert np.mean(cosine["bare"] > 0.9) > 0.98, "normals estimated for a bare cloud, then oriented outward"
    assert np.median(cosine["jet"]) > 0.995, "JET normals of a sphere are radial"
    assert np.mean(cosine["partner"] < -0.9) > 0.98, "toward a partner inside: every normal points in"

    jet = read_ply(tmp_path / "jet" / "mem_roi1_medial_oriented.ply")  # roughened by 0.3 nm along the normals
    bumps = np.random.default_rng(0).normal(scale=0.3, size=(len(jet.points), 1)) * jet.normals
    write_ply(tmp_path / "noisy.ply", PointCloud(jet.points + bumps, jet.normals, jet.properties))
    for steps in (0, 5):
        result = run_cli("surface", "mesh", tmp_path / "noisy.ply", "--masks", crop, "--smooth", steps,
                         "--out", tmp_path / f"m{steps}", "--quiet")
        assert result.returncode == 0, result.stderr
    rough, smooth = (pyvista.read(tmp_path / f"m{s}" / "noisy_mesh.vtp") for s in (0, 5))
    assert rough.n_cells == smooth.n_cells > len(jet.points)
    spread = [np.std(np.linalg.norm(m.points - centre - sidecar["origin_nm"], axis=1)) for m in (rough, smooth)]
    assert spread[0] > 0.25 and spread[1] < 0.65 * spread[0], "Laplacian smoothing takes out bumps"
