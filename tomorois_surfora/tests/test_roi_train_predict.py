"""Training (checkpoints, resume, fine-tuning, penalty weights), model files, resampling and tiled inference."""
import csv
import math

import numpy as np
import pytest
import torch

from tomorois_surfora.engine import InputError
from tomorois_surfora.engine.io import read_mrc, write_mrc
from tomorois_surfora.engine.roi.data import TrainingItem, load_training_item, scale_factor
from tomorois_surfora.engine.roi.model_file import TrainedModel, load_model, save_model
from tomorois_surfora.engine.roi.msd import MSDNet
from tomorois_surfora.engine.roi.patches import PatchSampler, near_miss_mask
from tomorois_surfora.engine.roi.predict import TileParameters, blend_window, predict_array, predict_file, tile_layout
from tomorois_surfora.engine.roi.resample import resample_into, resample_volume
from tomorois_surfora.engine.roi.sections import SectionChannels, channel_count, section_offsets
from tomorois_surfora.engine.roi.train import (TrainingParameters, soft_dice_loss, split_rows, train_files,
                                               validation_rows, validation_tomograms)
from tomorois_surfora.engine.training_loop import better_epoch, learning_rate_at

# Unit class weights and cross-entropy alone: a zero-initialised last layer then starts at a loss of exactly ln 2.
TINY = TrainingParameters(depth=8, epochs=2, steps_per_epoch=3, patch=48, batch_size=2, validation_patches=3,
                          positive_weight=1.0, dice_weight=0.0)


def _history(folder):
    with open(folder / "history.csv") as handle:
        return list(csv.DictReader(handle))


# The ``phantoms`` fixture (two small contact phantoms at 20 Å) is in conftest.py.


def test_training_writes_the_best_model_and_resumes_and_fine_tunes(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    summary = train_files(tomograms, masks, TINY, tmp_path / "m", quiet=True)
    assert summary["epochs"] == 2 and (tmp_path / "m" / "checkpoint.pt").is_file()
    # A zero-initialised last layer predicts 0.5 everywhere (loss ln 2); training must do better.
    assert summary["best_val_loss"] < math.log(2)
    model = load_model(tmp_path / "m" / "model.pt")
    assert model.voxel_size == 20.0
    assert model.context == TINY.context and model.net.config["depth"] == 8
    assert model.net.config["in_channels"] == channel_count(TINY.context, TINY.far_context)
    assert model.far_context == TINY.far_context and model.net.config["width"] == TINY.width
    assert model.training["parameters"]["depth"] == 8 and len(model.training["history"]) >= 1

    resumed = TrainingParameters(**{**TINY.__dict__, "epochs": 4})
    summary = train_files(tomograms, masks, resumed, tmp_path / "m", resume=True, quiet=True)
    history = _history(tmp_path / "m")
    assert summary["epochs"] == 4 and [int(r["epoch"]) for r in history] == [1, 2, 3, 4]

    tuned = train_files(tomograms[:1], masks[:1], TrainingParameters(**{**TINY.__dict__, "depth": 30}),
                        tmp_path / "tuned", init_model=tmp_path / "m" / "model.pt", quiet=True)
    model = load_model(tuned["model"])
    assert model.net.config["depth"] == 8, "fine-tuning keeps the initial model's architecture"
    assert model.training["fine_tuned_from"].endswith("model.pt")


def test_resume_without_a_checkpoint_is_a_clear_error(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    with pytest.raises(InputError, match="no checkpoint to resume from"):
        train_files(tomograms, masks, TINY, tmp_path / "none", resume=True, quiet=True)


def test_bad_training_inputs_are_all_named_and_nothing_is_written(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    data, size = read_mrc(tomograms[0])
    write_mrc(tmp_path / "small_mask.mrc", np.ones((10, 10, 10), np.int8), size)
    write_mrc(tmp_path / "empty.mrc", np.zeros(data.shape, np.int8), size)
    nan = data.copy()
    nan[3, 4, 5] = np.nan
    write_mrc(tmp_path / "nan.mrc", nan, size)
    with pytest.raises(InputError) as error:
        train_files([tomograms[0], tomograms[1], tmp_path / "nan.mrc"],
                    [tmp_path / "small_mask.mrc", tmp_path / "empty.mrc", masks[0]], TINY, tmp_path / "out")
    message = str(error.value)
    assert "3 of 3 training inputs unusable" in message
    assert "small_mask.mrc: ROI mask shape (10, 10, 10)" in message
    assert "empty.mrc: the annotation mask is empty" in message
    assert "nan.mrc: the tomogram contains NaN" in message
    assert not (tmp_path / "out" / "model.pt").exists()
    with pytest.raises(InputError, match="one ROI mask per tomogram"):
        train_files(tomograms, masks[:1], TINY, tmp_path / "out")


def test_a_tomogram_with_only_false_positives_is_a_negative_example(phantoms, tmp_path):
    tomograms, masks, decoys = phantoms
    data, size = read_mrc(tomograms[1])
    write_mrc(tmp_path / "empty.mrc", np.zeros(data.shape, np.int8), size)
    result = train_files(tomograms, [masks[0], tmp_path / "empty.mrc"], TINY, tmp_path / "out",
                         penalties=[None, decoys[1]], quiet=True)
    model = load_model(result["model"])
    assert model.training["penalty_voxels"][0] == 0 and model.training["penalty_voxels"][1] > 0
    with pytest.raises(InputError, match="no training tomogram has an annotated ROI"):
        train_files(tomograms[1:], [tmp_path / "empty.mrc"], TINY, tmp_path / "none", penalties=[decoys[1]])


def test_penalty_voxels_are_weighted_and_sampled(phantoms):
    tomograms, masks, decoys = phantoms
    items = [load_training_item(t, m, 20.0, p) for t, m, p in zip(tomograms, masks, decoys)]
    assert any(item.penalty.any() for item in items), "the contact phantoms have vesicle-in-vesicle decoys"
    assert not any((item.penalty & item.target).any() for item in items)
    sampler = PatchSampler(items, [(0, item.image.shape[1]) for item in items], 2, 2, 32,
                           foreground=0.0, on_penalty=1.0, penalty_weight=4.0)
    rng = np.random.default_rng(0)
    index = next(i for i, item in enumerate(items) if item.penalty.any())
    image, target, weight = sampler.sample(index, rng)
    assert image.shape == (5, 32, 32) and target.shape == weight.shape == (1, 32, 32)
    assert set(np.unique(weight)) == {1.0, 5.0}, "penalty voxels weigh 1 + penalty_weight"
    assert not np.any(target[weight > 1])


def test_near_misses_are_the_sections_just_above_and_below_an_roi():
    target = np.zeros((40, 32, 32), bool)
    target[15:20, 10:14, 10:14] = True
    shell = near_miss_mask(target, 3)
    assert not (shell & target).any()
    assert set(np.unique(np.nonzero(shell)[0])) == {12, 13, 14, 20, 21, 22}
    assert shell[12].sum() == shell[22].sum() == 16, "the ROI's footprint, repeated above and below"
    item = TrainingItem("synthetic", np.zeros(target.shape, np.float32), target)
    sampler = PatchSampler([item], [(0, 32)], 2, 1, 8, foreground=0.0, on_penalty=0.0, near_miss=1.0, near_reach=3)
    rng = np.random.default_rng(1)
    for _ in range(20):
        z, y, x = sampler._centre(0, rng)
        assert shell[z, y, x]
    plain = PatchSampler([item], [(0, 32)], 2, 1, 8, foreground=0.0, on_penalty=0.0)
    centres = np.array([plain._centre(0, rng) for _ in range(200)])
    assert not shell[tuple(centres.T)].all(), "without near misses, centres are uniform"
    assert any("near-miss" in p for p in TrainingParameters(near_miss_fraction=0.6).problems())


def test_training_runs_with_near_misses_and_a_patch_wider_than_the_training_rows(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    # 112 rows less the validation split leave 86 for training: patches become 86 × 86, so that a 90°
    # rotation keeps their shape (86 × 96 ones could not be stacked into a batch).
    params = TrainingParameters(**{**TINY.__dict__, "patch": 96, "epochs": 1, "near_miss_fraction": 0.25})
    summary = train_files(tomograms[:1], masks[:1], params, tmp_path / "m", quiet=True)
    assert summary["epochs"] == 1 and math.isfinite(summary["best_val_loss"])
    assert load_model(tmp_path / "m" / "model.pt").training["parameters"]["near_miss_fraction"] == 0.25


def test_cosine_schedule_anneals_over_the_budget_and_constant_does_not():
    params = TrainingParameters(learning_rate=1e-3, final_lr_fraction=0.1)
    rates = [learning_rate_at(params, f) for f in np.linspace(0, 1, 11)]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-4)
    assert rates[5] == pytest.approx(0.55e-3), "halfway: the mean of the first and the last rate"
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert learning_rate_at(params, 1.7) == pytest.approx(1e-4), "past the budget: the final rate"
    constant = TrainingParameters(learning_rate=1e-3, lr_schedule="constant")
    assert {learning_rate_at(constant, f) for f in (0.0, 0.5, 1.0)} == {1e-3}
    assert any("schedule" in p for p in TrainingParameters(lr_schedule="step").problems())


def test_training_history_records_the_annealed_rate(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    train_files(tomograms, masks, TrainingParameters(**{**TINY.__dict__, "epochs": 3}), tmp_path / "m", quiet=True)
    rates = [float(row["learning_rate"]) for row in _history(tmp_path / "m")]
    assert len(rates) == 3 and rates[0] > rates[1] > rates[2] > 0
    assert rates[-1] == pytest.approx(learning_rate_at(TINY, (2 + 2 / 3) / 3)), "the rate of each epoch's last step"


def test_soft_dice_loss_is_one_minus_the_pooled_dice():
    target = torch.zeros(2, 1, 4, 4)
    target[0, 0, :2] = 1.0                                     # 8 ROI voxels in the batch
    certain = torch.where(target > 0, 50.0, -50.0)               # sigmoid: 1 on the ROI, 0 elsewhere
    assert float(soft_dice_loss(certain, target)) == pytest.approx(0.0, abs=1e-6)
    half = torch.zeros_like(target)                            # 0.5 everywhere: overlap 4, mass 16 + 8
    assert float(soft_dice_loss(half, target, smooth=0.0)) == pytest.approx(1 - 8 / 24)
    empty = torch.zeros_like(target)
    assert float(soft_dice_loss(torch.full_like(target, -50.0), empty)) == pytest.approx(0.0, abs=1e-6)

    assert any("Dice weight" in p for p in TrainingParameters(dice_weight=-1).problems())


@pytest.fixture(scope="module")
def bright_boxes(tmp_path_factory):
    """A tomogram whose ROIs are bright boxes spread over every row (so over the validation rows too)."""
    folder = tmp_path_factory.mktemp("boxes")
    mask = np.zeros((24, 96, 96), np.int16)
    for y in range(6, 96, 22):
        for x in range(6, 96, 22):
            mask[6:18, y:y + 10, x:x + 10] = 1
    image = np.random.default_rng(0).normal(size=mask.shape).astype(np.float32) + 2.0 * mask
    write_mrc(folder / "t.mrc", image, 20.0)
    write_mrc(folder / "m.mrc", mask, 20.0)
    return [folder / "t.mrc"], [folder / "m.mrc"]


def test_training_with_the_dice_term_counts_it_and_learns(bright_boxes, tmp_path):
    tomograms, masks = bright_boxes
    params = TrainingParameters(depth=6, epochs=10, steps_per_epoch=6, patch=48, batch_size=2, validation_patches=4,
                                context=1, far_context=0, learning_rate=1e-2, dice_weight=1.0)
    frozen = {**params.__dict__, "learning_rate": 1e-30}  # the starting network, scored the same way
    start = train_files(tomograms, masks, TrainingParameters(**frozen), tmp_path / "start", quiet=True)
    start_without = train_files(tomograms, masks, TrainingParameters(**{**frozen, "dice_weight": 0.0}),
                                tmp_path / "start0", quiet=True)
    assert start["best_val_loss"] - start_without["best_val_loss"] > 0.5, "the Dice term is part of the loss"
    trained = train_files(tomograms, masks, params, tmp_path / "trained", quiet=True)
    assert load_model(trained["model"]).training["parameters"]["dice_weight"] == 1.0
    assert trained["best_val_loss"] < 0.5 * start["best_val_loss"]
    assert trained["best_val_dice"] > 0.75 > start["best_val_dice"] + 0.2


def test_far_slabs_double_in_distance_and_width_and_cover_z_without_gaps():
    offsets = section_offsets(2, 3)
    assert offsets == [(-23, -12), (-11, -6), (-5, -3), (-2, -2), (-1, -1), (0, 0), (1, 1), (2, 2),
                       (3, 5), (6, 11), (12, 23)]
    assert channel_count(2, 3) == len(offsets) == 11
    assert all(b[0] == a[1] + 1 for a, b in zip(offsets, offsets[1:])), "contiguous coverage of z"


def test_section_channels_are_means_of_their_sections_repeating_the_edge_ones():
    image = np.random.default_rng(0).normal(size=(40, 8, 9)).astype(np.float32)
    rows, cols = slice(1, 7), slice(2, 9)
    for context, far in ((2, 0), (1, 3)):
        channels = SectionChannels(image, context, far)
        for z in (0, 5, 20, 39):
            expected = [image[np.clip(np.arange(z + a, z + b + 1), 0, 39)][:, rows, cols].mean(axis=0)
                        for a, b in section_offsets(context, far)]
            got = channels(z, rows, cols)
            assert got.dtype == np.float32 and got.shape == (channel_count(context, far), 6, 7)
            assert np.allclose(got, expected, atol=1e-5)
    assert np.array_equal(SectionChannels(image, 2)(1), image[[0, 0, 1, 2, 3]]), "neighbours alone: exact sections"


def test_models_with_far_slabs_train_save_as_version_2_and_predict(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    params = TrainingParameters(**{**TINY.__dict__, "epochs": 1, "far_context": 2})
    summary = train_files(tomograms, masks, params, tmp_path / "m", quiet=True)
    model = load_model(summary["model"])
    assert model.far_context == 2
    assert model.net.config["in_channels"] == channel_count(TINY.context, 2) == 2 * TINY.context + 5
    assert torch.load(summary["model"], weights_only=True)["version"] == 2, "older readers must refuse it"
    predict_file(model, tomograms[0], tmp_path / "p.mrc", quiet=True)
    probability, _ = read_mrc(tmp_path / "p.mrc")
    assert probability.shape == (48, 112, 112) and np.all((probability > 0) & (probability < 1))
    save_model(tmp_path / "plain.pt", TrainedModel(MSDNet(in_channels=5, depth=2, dims=2), 20.0, 2))
    assert torch.load(tmp_path / "plain.pt", weights_only=True)["version"] == 1, "still readable by older versions"
    assert any("far context" in p for p in TrainingParameters(far_context=-1).problems())


def test_split_rows_keeps_a_gap_between_training_and_validation():
    assert split_rows(128, 0.2) == ((0, 98), (102, 128))
    assert split_rows(20, 0.2) == ((0, 20), (0, 20)), "too small to split: validate on training data"


def test_validation_band_moves_to_where_the_rois_are_only_when_the_last_band_has_none():
    rows = np.zeros(128, int)
    rows[100:110] = 5
    assert validation_rows(rows, 0.2, 24) == ([(0, 98)], (102, 128)), "ROIs in the last band: unchanged"
    assert validation_rows(np.zeros(128, int), 0.2, 24) == ([(0, 98)], (102, 128)), "no ROI: unchanged"
    rows = np.zeros(128, int)
    rows[40:80] = 3  # every ROI in the middle rows
    train, (start, stop) = validation_rows(rows, 0.2, 24)
    held = rows[start:stop].sum() / rows.sum()
    assert stop - start == 26 and 0.5 * 0.2 < held < 2 * 0.2, "about a fifth of the ROI voxels validate"
    assert all(hi - lo >= 24 for lo, hi in train), "no training piece shorter than a patch"
    assert all(hi + 4 <= start or lo >= stop + 4 for lo, hi in train), "training keeps the gap"
    assert rows[[r for lo, hi in train for r in range(lo, hi)]].sum() > 0.5 * rows.sum(), "most ROIs train"


def test_training_validates_on_rois_that_lie_away_from_the_last_rows(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    data, size = read_mrc(masks[0])
    middle = np.zeros_like(data)
    middle[:, 30:70] = data[:, 30:70]  # of 112 rows: the default validation rows 90-111 hold no ROI
    assert middle[:, 90:].max() == 0 and middle.max() > 0
    write_mrc(tmp_path / "middle.mrc", middle, size)
    result = train_files([tomograms[0]], [tmp_path / "middle.mrc"], TINY, tmp_path / "out", quiet=True)
    model = load_model(result["model"])
    start, stop = model.training["validation_rows"][0]
    assert middle[:, start:stop].any(), "the validation band holds ROI voxels"
    assert result["best_val_dice"] is not None, "so the validation Dice is defined"
    assert model.training["selected_by"] == "validation Dice"
    history = model.training["history"]
    best = max(row["val_dice"] for row in history)
    assert result["best_val_dice"] == best, "the kept epoch is the one with the highest validation Dice"


def test_whole_tomograms_validate_from_three_annotated_ones_on(phantoms, tmp_path):
    blank = TrainingItem("blank", np.zeros((4, 8, 8), np.float32), np.zeros((4, 8, 8), np.uint8))
    marked = [TrainingItem(f"t{k}", np.zeros((4, 8, 8), np.float32), np.ones((4, 8, 8), np.uint8)) for k in range(5)]
    assert validation_tomograms(marked[:2] + [blank], 0.2, "tomograms") == [], "two annotated: rows instead"
    assert validation_tomograms(marked[:3] + [blank], 0.2, "tomograms") == [2], "the last annotated one"
    assert validation_tomograms(marked, 0.4, "tomograms") == [3, 4]
    assert validation_tomograms(marked, 0.2, "rows") == []

    tomograms, masks, _ = phantoms
    data, size = read_mrc(tomograms[0])
    write_mrc(tmp_path / "third.mrc", data, size)  # a third annotated tomogram (the first one's copy)
    params = TrainingParameters(**{**TINY.__dict__, "validation": "tomograms"})
    result = train_files(list(tomograms) + [tmp_path / "third.mrc"], list(masks) + [masks[0]], params,
                         tmp_path / "out", quiet=True)
    model = load_model(result["model"])
    assert model.training["validation_tomograms"] == [str(tmp_path / "third.mrc")]
    assert model.training["validation_rows"] == []
    assert result["best_val_dice"] is not None, "the held-out tomogram's ROIs are scored"
    two = train_files(tomograms, masks, params, tmp_path / "two", quiet=True)
    assert load_model(two["model"]).training["validation_tomograms"] == [], "two tomograms: rows of each"


def test_model_selection_counts_rois_and_falls_back_to_the_loss():
    assert better_epoch(0.8, 0.9, 0.7, 0.1), "a higher Dice wins over a lower loss"
    assert not better_epoch(0.6, 0.05, 0.7, 0.1)
    assert better_epoch(0.7, 0.05, 0.7, 0.1), "equal Dice: the lower loss"
    assert better_epoch(0.1, 1.0, None, math.inf), "the first epoch"
    assert better_epoch(0.0, 0.2, None, 0.3, by_dice=False), "no ROI in validation: the loss alone"
    assert not better_epoch(0.9, 0.4, None, 0.3, by_dice=False)


def test_tiles_cover_the_volume_and_windows_blend_to_positive_weights():
    assert tile_layout(100, 40, 10) == (40, [0, 30, 60])
    assert tile_layout(500, 256, 48) == (199, [0, 150, 301]), "three even tiles of 199, not 3 of 256"
    assert tile_layout(30, 40, 10) == (30, [0])
    for size, tile, overlap in ((500, 256, 48), (1000, 512, 48), (97, 32, 14), (64, 16, 7)):
        length, starts = tile_layout(size, tile, overlap)
        assert length <= tile and starts[0] == 0 and starts[-1] + length == size
        assert all(b - a <= length - overlap for a, b in zip(starts, starts[1:])), "consecutive tiles overlap"
    w = blend_window(40, 10, at_start=False, at_end=False)
    assert w.min() > 0 and w[20] == 1 and w[0] < 0.01 and w[-1] < 0.01
    assert blend_window(40, 10, True, True).min() == 1


@pytest.mark.parametrize("dims, far_context", [(2, 0), (2, 2), (3, 0)])
def test_tiled_inference_matches_whole_volume_inference(dims, far_context):
    torch.manual_seed(0)
    net = MSDNet(in_channels=channel_count(1, far_context) if dims == 2 else 1, depth=4, dims=dims, max_dilation=2)
    torch.nn.init.normal_(net.final_weight, std=0.5)
    model = TrainedModel(net, 20.0, context=1 if dims == 2 else 0, far_context=far_context)
    image = np.random.default_rng(1).normal(size=(24, 70, 90)).astype(np.float32)
    whole, tiled = np.zeros_like(image), np.zeros_like(image)
    predict_array(model, image, whole, TileParameters(tile=128, overlap=0, tile_z=64, overlap_z=0, tile_3d=128))
    predict_array(model, image, tiled, TileParameters(tile=32, overlap=14, tile_z=16, overlap_z=7, tile_3d=32))
    assert np.all((tiled > 0) & (tiled < 1))
    # The receptive field reaches 6 voxels: only tile edges differ, and the blend weights there are small.
    assert np.abs(tiled - whole).max() < 0.05 and np.abs(tiled - whole).mean() < 2e-3


def test_resampling_round_trip_preserves_smooth_volumes():
    z, y, x = np.mgrid[:20, :40, :60].astype(np.float32)
    smooth = np.sin(x / 9) + np.cos(y / 7) + z / 20
    coarse = resample_volume(smooth, 0.5)
    assert coarse.shape == (10, 20, 30)
    back = np.zeros_like(smooth)
    resample_into(coarse, back)
    assert np.abs(back - smooth)[2:-2, 2:-2, 2:-2].max() < 0.15


def _brightness_model():
    """A depth-1 network whose output is sigmoid(4·x − 4) of the standardised input x alone: its map is the
    image, so a resampling or alignment error shows in where the map's ROIs lie."""
    net = MSDNet(in_channels=1, depth=1, dims=2)
    with torch.no_grad():
        net.final_weight.zero_()
        net.final_weight[0, 0] = 4.0  # channel 0 of the buffer is the input itself
        net.final_bias.fill_(-4.0)
    return TrainedModel(net, 20.0, 0)


def test_prediction_resamples_finer_tomograms_in_place_and_refuses_much_coarser_ones(tmp_path):
    mask = np.zeros((48, 160, 160), np.int16)  # 10 Å voxels: boxes of 10-16 nm, at uneven positions
    for z, y, x, size in ((8, 20, 30, 12), (20, 90, 40, 16), (26, 60, 120, 10), (30, 130, 100, 14)):
        mask[z:z + size, y:y + size, x:x + size] = 1
    image = np.random.default_rng(2).normal(scale=0.3, size=mask.shape).astype(np.float32) + 3.0 * mask
    write_mrc(tmp_path / "t10.mrc", image, 10.0)
    save_model(tmp_path / "m.pt", _brightness_model())
    model = load_model(tmp_path / "m.pt")
    info = predict_file(model, tmp_path / "t10.mrc", tmp_path / "p.mrc", quiet=True)
    probability, size = read_mrc(tmp_path / "p.mrc")
    assert probability.shape == mask.shape and size == 10.0 and info["model_grid"] == [24, 80, 80]
    found = probability > 0.5
    assert 2 * (found & (mask > 0)).sum() / (found.sum() + mask.sum()) > 0.95, "the map lies on the boxes"
    for axis in range(3):  # a shift of half a voxel or more on either grid would show here
        profile = lambda volume: np.average(np.arange(mask.shape[axis]),  # noqa: E731
                                            weights=volume.sum(axis=tuple(a for a in range(3) if a != axis)))
        assert abs(profile(found) - profile(mask > 0)) < 0.2
    assert scale_factor(13.68, 20.0, "t") == pytest.approx(0.684)
    with pytest.raises(InputError, match=r"t40.mrc: voxel size 40 Å is coarser than the model's 20 Å"):
        predict_file(model, _copy(tmp_path / "t10.mrc", tmp_path / "t40.mrc", 40.0), tmp_path / "q.mrc", quiet=True)
    assert not (tmp_path / "q.mrc").exists(), "a refused input leaves no output"


def _copy(source, target, voxel_size):
    data, _ = read_mrc(source)
    write_mrc(target, data, voxel_size)
    return target


def test_foreign_files_are_not_models(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="x.pt: not a readable TomoROIS model"):
        load_model(tmp_path / "x.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "y.pt")
    with pytest.raises(InputError, match="y.pt: not a TomoROIS model file"):
        load_model(tmp_path / "y.pt")
