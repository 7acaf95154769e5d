"""Membrane segmentation engine: network, preprocessing, sheet filter, metrics, training, prediction, CLI."""
import json

import numpy as np
import pytest
import torch
from scipy import ndimage

from tomorois_surfora.engine.io import read_mrc, write_mrc
from tomorois_surfora.engine.membrane.eed import edge_enhancing_diffusion
from tomorois_surfora.engine.membrane.metrics import evaluate_membranes, mean_coverage, pooled_scores
from tomorois_surfora.engine.membrane.model_file import save_membrane_model
from tomorois_surfora.engine.membrane.network import MembraneNet
from tomorois_surfora.engine.membrane.predict import membrane_pieces, roi_boxes
from tomorois_surfora.engine.membrane.preprocess import PreprocessParameters, clahe_sections, normalise_volume
from tomorois_surfora.engine.membrane.ridge import calibrate_ridge, extreme_eigenvalues, sheet_response
from tomorois_surfora.engine.membrane.synthesize import deform_mask
from tomorois_surfora.engine.membrane.train import MembraneTrainingParameters, new_membrane_model
from tomorois_surfora.tests.test_cli import run_cli


@pytest.mark.parametrize("architecture", ["hybrid", "unet"])
def test_network_maps_every_section_and_only_the_hybrid_predicts_edges(architecture):
    net = MembraneNet(architecture, base=4).eval()
    with torch.no_grad():
        logits, edges = net(torch.randn(2, 3, 32, 48))
        single, _ = net(torch.randn(1, 1, 32, 32))
    assert logits.shape == (2, 3, 32, 48) and single.shape == (1, 1, 32, 32)
    assert (edges is not None and edges.shape == logits.shape) == (architecture == "hybrid")


def test_recurrent_layer_carries_context_across_sections_both_ways():
    """The hybrid's output on the first section depends on the last one (the backward pass of the ConvLSTM)
    and the other way round; the plain U-Net sees each section alone (no gradient path at all)."""
    torch.manual_seed(0)
    for architecture, linked in (("hybrid", True), ("unet", False)):
        net = MembraneNet(architecture, base=4).eval()
        stack = torch.randn(1, 5, 32, 32, requires_grad=True)
        logits, _ = net(stack)
        first_on_last, = torch.autograd.grad(logits[0, 0].sum(), stack, retain_graph=True)
        last_on_first, = torch.autograd.grad(logits[0, 4].sum(), stack)
        assert bool(first_on_last[0, 4].abs().max() > 0) == linked
        assert bool(last_on_first[0, 0].abs().max() > 0) == linked
        assert first_on_last[0, 0].abs().max() > 0, "a section always depends on itself"


def test_normalise_and_clahe_map_to_the_unit_range_and_raise_local_contrast():
    rng = np.random.default_rng(0)
    volume = rng.normal(3.0, 2.0, (4, 64, 64)).astype(np.float32)
    volume[:, :, 32:] *= 0.1  # a low-contrast half
    normalised = normalise_volume(volume.copy())
    assert normalised.min() == 0 and normalised.max() == 1
    assert np.mean(normalised <= 0) == pytest.approx(0.005, abs=0.003)
    equalised = clahe_sections(normalised.copy(), block=16, clip=3.0)
    assert 0 <= equalised.min() and equalised.max() <= 1
    assert equalised[:, :, 40:].std() > 2 * normalised[:, :, 40:].std(), "CLAHE stretches the faint half"


def test_edge_enhancing_diffusion_smooths_noise_but_keeps_a_step():
    rng = np.random.default_rng(1)
    clean = np.zeros((24, 48, 48), np.float32)
    clean[:, :, 24:] = 1.0
    noisy = clean + rng.normal(0, 0.15, clean.shape).astype(np.float32)
    smoothed = edge_enhancing_diffusion(noisy, iterations=10, sigma=1.0)
    flat = (slice(4, 20), slice(4, 44), slice(4, 18))
    assert smoothed[flat].std() < 0.5 * noisy[flat].std()
    step = smoothed[:, :, 26:].mean() - smoothed[:, :, :22].mean()
    assert step > 0.9, f"the edge keeps its contrast (step {step:.2f})"
    assert np.abs(smoothed[:, :, 23:25].mean(axis=(0, 1)) - clean[0, 0, 23:25]).max() < 0.3


def test_closed_form_eigenvalues_match_numpy():
    rng = np.random.default_rng(2)
    parts = [rng.normal(size=500) for _ in range(6)]
    zz, zy, zx, yy, yx, xx = parts
    matrices = np.stack([np.stack([zz, zy, zx], -1), np.stack([zy, yy, yx], -1), np.stack([zx, yx, xx], -1)], -2)
    expected = np.linalg.eigvalsh(matrices)
    largest, smallest = extreme_eigenvalues(*parts)
    np.testing.assert_allclose(largest, expected[:, -1], atol=1e-9)
    np.testing.assert_allclose(smallest, expected[:, 0], atol=1e-9)


def test_sheet_filter_finds_a_bright_sheet_and_calibration_picks_its_polarity():
    rng = np.random.default_rng(3)
    volume = rng.normal(0, 0.3, (32, 48, 48)).astype(np.float32)
    truth = np.zeros(volume.shape, bool)
    truth[:, :, 22:25] = True  # a sheet 3 voxels thick across the whole volume
    volume[truth] += 1.0
    response = sheet_response(volume, bright=True)
    assert response[truth].mean() > 5 * response[~ndimage.binary_dilation(truth, iterations=4)].mean()
    choice = calibrate_ridge([volume], [truth])
    assert choice["bright"] and choice["dice"] > 0.8


def test_metrics_dice_f1_and_mean_coverage():
    truth = np.zeros((4, 20, 20), np.int16)
    truth[:, 2:4, :] = 1
    truth[:, 10:12, :] = 2
    predicted = np.zeros(truth.shape, np.int16)
    predicted[:, 2:4, :10] = 1  # half of piece 1
    predicted[:, 2:4, 12:] = 1  # and most of the other half, as a second piece
    predicted[:, 10:12, :] = 1  # all of piece 2
    result = evaluate_membranes(predicted, truth)
    tp = 4 * 2 * 10 + 4 * 2 * 8 + 4 * 2 * 20
    assert (result["tp"], result["fp"], result["fn"]) == (tp, 0, 4 * 2 * 2)
    assert result["dice"] == pytest.approx(result["f1"]) == pytest.approx(2 * tp / (2 * tp + 16))
    assert result["precision"] == 1.0 and result["mcov"] == pytest.approx((10 / 20 + 1.0) / 2)
    assert (result["true_pieces"], result["predicted_pieces"]) == (2, 3)
    assert mean_coverage(np.zeros_like(truth), truth) == 0.0 and mean_coverage(predicted, np.zeros_like(truth)) is None
    pooled = pooled_scores([result, result])
    assert pooled["tp"] == 2 * tp and pooled["dice"] == pytest.approx(result["dice"])


def test_roi_boxes_grow_by_the_margin_scale_to_the_model_grid_and_merge():
    rois = np.zeros((40, 60, 60), np.int16)
    rois[10:15, 10:20, 10:20] = 1
    rois[12:14, 22:30, 22:30] = 2  # within the margin of ROI 1: the boxes merge
    rois[30:32, 50:55, 50:55] = 3
    boxes = roi_boxes(rois, margin_voxels=2)
    assert sorted((b[0].start, b[1].start, b[2].start, b[0].stop, b[1].stop, b[2].stop) for b in boxes) == [
        (8, 8, 8, 17, 32, 32), (28, 48, 48, 34, 57, 57)]
    half = roi_boxes(rois, margin_voxels=0, factor=0.5, shape=(20, 30, 30))
    assert sorted((b[0].start, b[0].stop) for b in half) == [(5, 8), (6, 7), (15, 16)]


def test_membrane_pieces_drop_specks():
    mask = np.zeros((10, 30, 30), bool)
    mask[2:8, 5:25, 10:12] = True
    mask[0, 0, 0] = True
    labels, count = membrane_pieces(mask, voxel_size_nm=1.0, min_volume_nm3=10)
    assert count == 1 and labels.max() == 1 and labels[0, 0, 0] == 0 and labels.dtype == np.int32


def test_deformed_masks_keep_membrane_thickness_but_move():
    rng = np.random.default_rng(4)
    mask = np.zeros((8, 64, 64), bool)
    mask[:, :, 30:34] = True
    deformed = deform_mask(mask, rng)
    assert deformed.shape == mask.shape and not np.array_equal(deformed, mask)
    assert abs(deformed.sum() / mask.sum() - 1) < 0.2
    widths = deformed.sum(axis=2)[deformed.any(axis=2)] if deformed.any(axis=2).mean() > 0.5 else (
        deformed.sum(axis=1)[deformed.any(axis=1)])
    assert 3 <= np.median(widths) <= 5, "a sheet 4 voxels thick stays about 4 thick"


@pytest.fixture(scope="module")
def tiny_phantoms(tmp_path_factory):
    folder = tmp_path_factory.mktemp("membrane_phantoms")
    result = run_cli("synth", "contacts", "--n", 2, "--shape", 48, 112, 112, "--voxel-size", 20, "--out", folder,
                     "--quiet")
    assert result.returncode == 0, result.stderr
    return folder


def test_cli_train_resume_predict_evaluate(tiny_phantoms, tmp_path):
    """Train two epochs, resume to three, predict whole and inside ROIs, evaluate; the kept model is the
    epoch with the best validation Dice (ties: the lower validation loss)."""
    d = tiny_phantoms
    model_dir = tmp_path / "model"
    common = ["membrane", "train", "--tomograms", d / "contacts_000.mrc", "--masks", d / "contacts_000_membranes.mrc",
              "--out", model_dir, "--steps-per-epoch", 3, "--patch", 48, "--batch-size", 2, "--base", 4,
              "--sections", 3, "--threads", 2, "--quiet"]
    result = run_cli(*common, "--epochs", 2)
    assert result.returncode == 0, result.stderr
    result = run_cli(*common, "--epochs", 3, "--resume")
    assert result.returncode == 0, result.stderr
    from tomorois_surfora.engine.membrane.model_file import load_membrane_model

    model = load_membrane_model(model_dir / "model.pt")
    history = model.training["history"]
    summary = json.loads((model_dir / "training.json").read_text())
    assert summary["epochs"] == 3 and (model_dir / "history.csv").read_text().count("\n") == 4
    kept = max(history, key=lambda row: (row["val_dice"], -row["val_loss"]))  # ties go to the lower loss
    assert summary["best_epoch"] == kept["epoch"]
    assert (model.sections, model.net.config["base"], model.voxel_size) == (3, 4, 20.0)

    out = tmp_path / "pred"
    result = run_cli("membrane", "predict", d / "contacts_001.mrc", "--model", model_dir / "model.pt", "--out", out,
                     "--threads", 2)
    assert result.returncode == 0, result.stderr
    assert "sections" in result.stderr and "s left" in result.stderr, "progress with time left"
    assert all(f"{plane}: sections " in result.stderr for plane in ("xy", "xz", "yz")), result.stderr
    probability, size = read_mrc(out / "contacts_001_membrane_prob.mrc")
    labels, _ = read_mrc(out / "contacts_001_membrane_labels.mrc")
    mask, _ = read_mrc(out / "contacts_001_membrane_mask.mrc")
    assert probability.shape == labels.shape == (48, 112, 112) and size == pytest.approx(20.0)
    assert 0 <= probability.min() and probability.max() <= 1
    np.testing.assert_array_equal(mask > 0, labels > 0)

    rois, _ = read_mrc(d / "contacts_001_rois.mrc")
    inside = tmp_path / "inside"
    result = run_cli("membrane", "predict", d / "contacts_001.mrc", "--model", model_dir / "model.pt", "--out",
                     inside, "--rois", d / "contacts_001_rois.mrc", "--margin", 0, "--threads", 2, "--quiet")
    assert result.returncode == 0, result.stderr
    boxed, _ = read_mrc(inside / "contacts_001_membrane_prob.mrc")
    outside = np.ones(rois.shape, bool)
    for box in roi_boxes(rois, 0):
        outside[box] = False
    assert outside.any() and not boxed[outside].any(), "nothing is segmented outside the ROI boxes"

    scores = tmp_path / "scores.json"
    result = run_cli("membrane", "evaluate", out / "contacts_001_membrane_labels.mrc", "--truth",
                     d / "contacts_001_membranes.mrc", "--json", scores)
    assert result.returncode == 0, result.stderr
    written = json.loads(scores.read_text())
    truth, _ = read_mrc(d / "contacts_001_membranes.mrc")
    assert written["pooled"]["tp"] == int(np.count_nonzero((labels > 0) & (truth > 0)))
    assert "pooled over 1: Dice" in result.stdout


@pytest.mark.parametrize("voxel_size", [10.0, 8.0])
def test_streamed_prediction_equals_the_whole_volume_path(tiny_phantoms, tmp_path, voxel_size):
    """The file path (tomogram memory-mapped, preprocessed a stack at a time, pieces labelled slab by slab)
    writes what preprocessing, predicting and labelling the whole volume in memory gives: with the shipped
    model (10 Å), on its grid and resampled to it (the phantom is read as 8 Å). Its x–y sections alone stream;
    all its planes read the volume whole."""
    from tomorois_surfora.engine.demo import DEMO_MODELS
    from tomorois_surfora.engine.membrane.model_file import load_membrane_model
    from tomorois_surfora.engine.membrane.predict import MembraneTiles, predict_membrane_file, predict_membranes_array
    from tomorois_surfora.engine.membrane.preprocess import PreprocessedSections, preprocess
    from tomorois_surfora.engine.roi.data import load_tomogram, open_tomogram
    from tomorois_surfora.engine.roi.resample import resample_into

    model = load_membrane_model(DEMO_MODELS / "membranes.pt")
    tomogram = tiny_phantoms / "contacts_000.mrc"
    image, (shape, _, _) = load_tomogram(tomogram, 10.0, voxel_size)
    whole = preprocess(image, model.preprocess)
    with open_tomogram(tomogram, 10.0, voxel_size) as (view, _):
        stacked = PreprocessedSections(view, model.preprocess)
        np.testing.assert_array_equal(stacked[0:5, 3:40, :], whole[0:5, 3:40, :])
        np.testing.assert_array_equal(stacked[4:9], whole[4:9])
    xy = MembraneTiles(planes=("xy",))
    expected = np.empty(whole.shape, np.float32)
    predict_membranes_array(model, whole, expected, xy, device="cpu")
    if expected.shape != shape:
        on_tomogram = np.empty(shape, np.float32)
        resample_into(expected, on_tomogram)
        expected = on_tomogram
    threshold = 0.5
    predict_membrane_file(model, tomogram, tmp_path, voxel_size, threshold=threshold, min_volume_nm3=40, tiles=xy,
                          quiet=True)
    probability, _ = read_mrc(tmp_path / "contacts_000_membrane_prob.mrc")
    labels, _ = read_mrc(tmp_path / "contacts_000_membrane_labels.mrc")
    np.testing.assert_allclose(probability, expected, atol=1e-6)
    expected_labels, count = membrane_pieces(expected >= threshold, voxel_size / 10, 40)
    assert count >= 2, "the check needs more than one piece"
    np.testing.assert_array_equal(labels, expected_labels)


def test_cli_bad_inputs_name_the_file(tiny_phantoms, tmp_path):
    d = tiny_phantoms
    wrong = tmp_path / "wrong_shape.mrc"
    write_mrc(wrong, np.ones((8, 8, 8), np.int8), 16.0)
    result = run_cli("membrane", "train", "--tomograms", d / "contacts_000.mrc", "--masks", wrong, "--out",
                     tmp_path / "m", "--quiet")
    assert result.returncode == 1 and "wrong_shape.mrc" in result.stderr and "does not match" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty.mrc"
    write_mrc(empty, np.zeros((48, 112, 112), np.int8), 20.0)
    result = run_cli("membrane", "train", "--tomograms", d / "contacts_000.mrc", "--masks", empty, "--out",
                     tmp_path / "m", "--quiet")
    assert result.returncode == 1 and "empty.mrc: the membrane mask is empty" in result.stderr
    model = tmp_path / "untrained.pt"
    save_membrane_model(model, new_membrane_model(MembraneTrainingParameters(base=4, sections=3), 20.0,
                                                  PreprocessParameters()))
    result = run_cli("membrane", "predict", tmp_path / "missing.mrc", d / "contacts_000.mrc", "--model", model,
                     "--out", tmp_path / "p", "--quiet")
    assert result.returncode == 1 and "missing.mrc" in result.stderr
    assert (tmp_path / "p" / "contacts_000_membrane_labels.mrc").is_file(), "the good tomogram is still segmented"
    assert not (tmp_path / "p" / "missing_membrane_prob.mrc").exists()
    not_a_model = tmp_path / "roi_model.pt"
    torch.save({"format": "tomorois-msd"}, not_a_model)
    result = run_cli("membrane", "predict", d / "contacts_000.mrc", "--model", not_a_model, "--out", tmp_path / "p")
    assert result.returncode == 1 and "not a membrane model" in result.stderr
    xy_model = tmp_path / "xy.pt"
    save_membrane_model(xy_model, new_membrane_model(MembraneTrainingParameters(base=4, sections=3, planes="xy"),
                                                     20.0, PreprocessParameters()))
    result = run_cli("membrane", "predict", d / "contacts_000.mrc", "--model", xy_model, "--planes", "xz",
                     "--out", tmp_path / "q")
    assert result.returncode == 1 and "xy.pt reads xy sections, not xz" in result.stderr
    assert not (tmp_path / "q" / "contacts_000_membrane_prob.mrc").exists()


def test_cli_synthesize_writes_pairs_membrane_train_takes(tiny_phantoms, tmp_path):
    d = tiny_phantoms
    result = run_cli("membrane", "synthesize", "--tomograms", d / "contacts_000.mrc", "--masks",
                     d / "contacts_000_membranes.mrc", "--out", tmp_path / "syn", "--n", 2, "--minutes", 0.05,
                     "--depth", 6, "--side", 64, "--threads", 2, "--quiet")
    assert result.returncode == 0, result.stderr
    for index in range(2):
        image, size = read_mrc(tmp_path / "syn" / f"synthetic_{index:03d}.mrc")
        mask, _ = read_mrc(tmp_path / "syn" / f"synthetic_{index:03d}_membranes.mrc")
        assert image.shape == mask.shape == (6, 64, 64) and size == pytest.approx(20.0)
        assert image.dtype == np.float32 and np.isfinite(image).all() and mask.any()
    assert "wrote 2 synthetic pairs" in result.stdout


def test_stacks_of_every_plane_keep_to_the_rows_and_carry_their_own_edges():
    """A sampler of three planes draws stacks of each (the same shape), every one inside the entry's rows, with
    the edge band of its own sections."""
    from tomorois_surfora.engine.membrane.data import MembraneItem, StackSampler, edge_band

    shape = (24, 40, 32)
    target = np.zeros(shape, bool)
    target[5:19, 10:30, 6:26] = True
    target[8:16, 13:27, 9:23] = False  # a hollow box: membranes facing every axis
    image = np.indices(shape).astype(np.float32)[1]  # the value is the row (y): shows where a stack came from
    item = MembraneItem("box", image, target, edge_band(target))
    lo, hi = 8, 32
    sampler = StackSampler([item], [0], [(lo, hi)], 3, 16, ("xy", "xz", "yz"))
    assert (sampler.sections, sampler.patch_y, sampler.patch_x) == (3, 16, 16)
    varying = set()
    for seed in range(40):
        stack, mask, edges = sampler.stack(np.random.default_rng(seed), augment=False)
        assert stack.shape == mask.shape == edges.shape == (3, 16, 16)
        assert lo <= stack.min() and stack.max() + 1 <= hi, "every plane's stacks stay within the entry's rows"
        # y runs along axis 1 of an x–y stack, axis 0 of an x–z one, axis 2 of a y–z one
        axis = next(axis for axis in range(3) if np.ptp(stack, axis=axis).max() > 0)
        varying.add(axis)
        if axis != 1:  # x–y edges are the stored ones (the whole section's); the others the window's own
            np.testing.assert_array_equal(edges > 0, edge_band(mask > 0))
    assert varying == {0, 1, 2}, "stacks of all three planes"
    plain = StackSampler([item], [0], [(lo, hi)], 3, 16)
    assert plain.planes == ("xy",) and plain.stack(np.random.default_rng(1), False)[0].shape == (3, 16, 16)


def test_a_model_of_three_planes_averages_its_planes_and_keeps_them_in_its_file(tmp_path):
    from tomorois_surfora.engine.membrane.model_file import load_membrane_model
    from tomorois_surfora.engine.membrane.predict import MembraneTiles, _predict_plane, predict_membranes_array
    from tomorois_surfora.engine.roi.planes import from_plane, plane_view

    torch.manual_seed(0)
    params = MembraneTrainingParameters(base=4, sections=3, planes="xy,xz,yz")
    model = new_membrane_model(params, 10.0, PreprocessParameters())
    assert model.planes == ("xy", "xz", "yz")
    save_membrane_model(tmp_path / "m.pt", model)
    model = load_membrane_model(tmp_path / "m.pt")
    assert model.planes == ("xy", "xz", "yz")
    image = np.random.default_rng(0).normal(size=(12, 40, 32)).astype(np.float32)
    averaged = np.empty(image.shape, np.float32)
    predict_membranes_array(model, image, averaged)
    expected = np.zeros(image.shape, np.float32)
    for plane in model.planes:
        view = np.ascontiguousarray(plane_view(image, plane))
        part = np.empty(view.shape, np.float32)
        _predict_plane(model, view, part, MembraneTiles(), "cpu", None, "")
        expected += from_plane(part, plane) / 3
    np.testing.assert_allclose(averaged, expected, atol=1e-6)
    assert MembraneTrainingParameters(planes="xy,zz").problems(), "an unknown plane is refused"
