"""Training augmentation: copies with an extra missing wedge (which membranes fade, the spread of axes, training on
them), x–y turns of training patches by any angle, and blurred patches."""
import numpy as np

from tomorois_surfora.engine.io import read_mrc, write_mrc
from tomorois_surfora.engine.roi.data import TrainingItem
from tomorois_surfora.engine.roi.model_file import load_model
from tomorois_surfora.engine.roi.train import TrainingParameters, train_files
from tomorois_surfora.engine.roi.batch_turn import turn_batch, wide_side
from tomorois_surfora.engine.roi.blur_augment import blur_batch, blur_sigmas
from tomorois_surfora.engine.roi.wedge_fade import extra_wedge, faded_copies, wedge_angles

from .test_roi_train_predict import TINY


def _membrane(normal, shape=(48, 64, 64), sigma=1.5):
    """A flat Gaussian membrane through the volume's centre with ``normal`` given as (z, y, x)."""
    normal = np.asarray(normal, float) / np.linalg.norm(normal)
    grid = np.stack(np.meshgrid(*[np.arange(n) - n / 2 for n in shape], indexing="ij"), axis=-1)
    image = np.exp(-0.5 * (grid @ normal / sigma) ** 2).astype(np.float32)
    return (image - image.mean()) / image.std()


def _correlation(a, b):
    return float(np.mean(a * b))  # both have mean 0 and standard deviation 1


def test_the_membrane_whose_normal_lies_along_the_extra_axis_fades_and_the_one_across_it_stays():
    tilted = np.deg2rad(20)
    along_x = _membrane((np.sin(tilted), 0.0, np.cos(tilted)))  # normal near x, 20° out of the x-y plane
    about_x, about_y = extra_wedge(along_x, axis_deg=0.0), extra_wedge(along_x, axis_deg=90.0)
    assert abs(about_x.mean()) < 1e-4 and abs(about_x.std() - 1) < 1e-4, "normalised like a tomogram"
    assert _correlation(about_x, along_x) < 0.6, "normal along the tilt axis, 20° out of plane: mostly in the wedge"
    assert _correlation(about_y, along_x) > 0.95, "normal across the tilt axis: sampled"
    diagonal = extra_wedge(along_x, axis_deg=45.0)
    assert _correlation(about_x, along_x) < _correlation(diagonal, along_x) < _correlation(about_y, along_x)


def test_an_items_copies_are_evenly_spread_and_all_copies_cover_half_a_turn_evenly():
    angles = wedge_angles(5, 3, np.random.default_rng(0))
    assert angles.shape == (5, 3)
    steps = np.diff(np.sort(np.concatenate([angles.ravel(), [angles.min() + 180]])))
    assert np.allclose(steps, 12.0), "15 copies: one every 12°"
    within = np.sort(angles, axis=1)
    assert np.allclose(np.diff(within, axis=1), 60.0), "one item's three copies lie 60° apart"


def test_copies_keep_their_items_annotation_and_name_their_axis():
    rng = np.random.default_rng(1)
    items = [TrainingItem(f"t{k}", rng.normal(size=(8, 16, 16)).astype(np.float32),
                          rng.random((8, 16, 16)) > 0.8, penalty=rng.random((8, 16, 16)) > 0.9) for k in range(2)]
    copies = faded_copies(items, 2, seed=3)
    assert [c.name.split(" ")[0] for c in copies] == ["t0", "t0", "t1", "t1"]
    assert all("extra wedge, axis" in c.name for c in copies)
    for copy, item in zip(copies, [items[0], items[0], items[1], items[1]]):
        assert copy.target is item.target and copy.penalty is item.penalty
        assert copy.image.shape == item.image.shape and not np.allclose(copy.image, item.image)
    assert faded_copies(items, 0) == []


def test_training_uses_copies_of_the_training_tomograms_only(phantoms, tmp_path):
    tomograms, masks, _ = phantoms
    data, size = read_mrc(tomograms[0])
    write_mrc(tmp_path / "third.mrc", data, size)
    params = TrainingParameters(**{**TINY.__dict__, "validation": "tomograms", "wedge_copies": 2, "rotations": "any"})
    result = train_files(list(tomograms) + [tmp_path / "third.mrc"], list(masks) + [masks[0]], params,
                         tmp_path / "out", quiet=True)
    training = load_model(result["model"]).training
    assert training["validation_tomograms"] == [str(tmp_path / "third.mrc")]
    copies = training["extra_wedge_copies"]
    assert len(copies) == 4 and not any("third" in name for name in copies), "two copies of each training one"
    assert training["items"] == [str(t) for t in tomograms] + [str(tmp_path / "third.mrc")]
    assert result["best_val_dice"] is not None


def _line_batch(wide):
    """Two patches: a line along x through the centre (image, target, weights paired), and white noise."""
    import torch

    image = np.zeros((2, 2, wide, wide), np.float32)
    image[0, :, wide // 2, :] = 1.0
    image[1] = np.random.default_rng(3).standard_normal((2, wide, wide))
    target = (image[:, :1] == 1.0).astype(np.float32)
    return [torch.from_numpy(a) for a in (image, target, 1 + 4 * target)]


def test_a_turned_batch_turns_a_line_and_keeps_target_and_weights_paired():
    side = 33
    wide = wide_side(side)
    assert wide >= side * np.sqrt(2) and (wide - side) % 2 == 0
    image, target, weight = turn_batch(_line_batch(wide), [30.0, 45.0], side)
    assert tuple(image.shape) == (2, 2, side, side) and tuple(target.shape) == (2, 1, side, side)
    rows, cols = np.nonzero(target[0, 0].numpy())
    slope = np.polyfit(cols - side // 2, rows - side // 2, 1)[0]
    assert abs(abs(np.degrees(np.arctan(slope))) - 30.0) < 3.0, "the line now runs at 30° to x"
    assert set(np.unique(target.numpy())) <= {0.0, 1.0}, "the target stays binary"
    assert np.array_equal(weight.numpy() > 1, target.numpy() > 0), "weights follow the target"
    assert np.array_equal(image[0, :1].numpy() == 1.0, target[0].numpy() > 0), "the image follows the target"
    assert 0.97 < float(image[1].std()) < 1.03, "noise keeps its level"
    for interpolation, level in (("linear", 0.67), ("cubic", 0.86)):
        smooth, smooth_target, _ = turn_batch(_line_batch(wide), [30.0, 45.0], side, interpolation)
        assert abs(float(smooth[1].std()) - level) < 0.05, f"{interpolation}: noise at about {level} of its level"
        assert np.array_equal(smooth_target.numpy(), target.numpy()), "target and weights still nearest"
    same = turn_batch(_line_batch(wide), [0.0, 0.0], side)
    cut = (wide - side) // 2
    for turned, original in zip(same, _line_batch(wide)):
        assert np.array_equal(turned.numpy(), original[..., cut:cut + side, cut:cut + side].numpy()), \
            "no turn: the central window"


def test_training_samplers_turn_xy_patches_by_any_angle_only_when_asked(phantoms):
    tomograms, masks, _ = phantoms
    from tomorois_surfora.engine.roi.data import load_training_item
    from tomorois_surfora.engine.roi.patches import PatchSampler

    item = load_training_item(tomograms[0], masks[0], 20.0)
    rows = [(0, item.image.shape[1])]
    plain = PatchSampler([item], rows, 2, 1, 48)
    turning = PatchSampler([item], rows, 2, 1, 48, any_angle=True)
    for sampler in (plain, turning):
        image, target, weight = sampler.sample(0, np.random.default_rng(5))
        assert image.shape == (3, 48, 48) and target.shape == weight.shape == (1, 48, 48)
    a = plain.sample(0, np.random.default_rng(5), augment=False)[0]
    b = turning.sample(0, np.random.default_rng(5), augment=False)[0]
    assert np.array_equal(a, b), "validation patches are never turned"
    arrays, angles = turning.wide_batch(3, np.random.default_rng(6))
    assert arrays[0].shape == (3, 3, wide_side(48), wide_side(48)) and len(angles) == 3
    assert all(0 <= angle < 90 for angle in angles)
    assert turning.wide_batch(3, np.random.default_rng(6), augment=False)[1] is None
    assert plain.wide_batch(3, np.random.default_rng(6))[1] is None
    shapes = [a.shape for a in turning.batch(3, np.random.default_rng(6))]
    assert shapes == [(3, 3, 48, 48), (3, 1, 48, 48), (3, 1, 48, 48)], "batch() turns and cuts to the patch"
    params = TrainingParameters(**{**TINY.__dict__, "rotations": "any"})
    assert params.problems() == []
    assert "rotations must be one of" in TrainingParameters(rotations="some").problems()[0]


def test_blurred_patches_lose_noise_as_their_sigma_grows_and_keep_their_mean():
    import torch

    rng = np.random.default_rng(3)
    noise = torch.from_numpy(rng.normal(size=(4, 3, 64, 64)).astype(np.float32))
    sigmas = [0.0, 0.3, 0.6, 1.0]
    blurred = blur_batch(noise, sigmas)
    assert blurred.shape == noise.shape and blurred.dtype == noise.dtype
    assert torch.equal(blurred[0], noise[0]), "σ 0: untouched"
    levels = [float(blurred[n].std()) for n in range(4)]
    assert levels[0] > levels[1] > levels[2] > levels[3], levels
    assert abs(levels[2] - 0.5) < 0.05, "σ 0.6 leaves white noise at about half its sd (a linear turn at 45°)"
    assert abs(levels[3] - 0.28) < 0.03
    for n in range(4):
        assert abs(float(blurred[n].mean() - noise[n].mean())) < 0.01, "the blur keeps the mean"
    step = torch.zeros(1, 1, 16, 16)
    step[..., 8:] = 1.0
    edge = blur_batch(step, [1.0])[0, 0, 0]
    assert float(edge[0]) < 1e-6 and float(edge[-1]) > 1 - 1e-6 and 0.4 < float(edge[8]) < 0.8, "blurred along x"
    chosen = blur_sigmas(2000, np.random.default_rng(0), 0.25, 0.6)
    assert 0.22 < np.mean(chosen > 0) < 0.28 and chosen.max() <= 0.6


def test_samplers_blur_only_augmented_patches_and_only_when_asked(phantoms):
    tomograms, masks, _ = phantoms
    from tomorois_surfora.engine.roi.data import load_training_item
    from tomorois_surfora.engine.roi.patches import PatchSampler

    item = load_training_item(tomograms[0], masks[0], 20.0)
    rows = [(0, item.image.shape[1])]
    plain = PatchSampler([item], rows, 2, 1, 48)
    blurring = PatchSampler([item], rows, 2, 1, 48, blur_share=1.0, blur_sigma=1.0)
    a = plain.batch(4, np.random.default_rng(7))
    b = blurring.batch(4, np.random.default_rng(7))
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2]), "same patches, target and weights as drawn"
    assert b[0].std() < a[0].std(), "images blurred"
    assert np.array_equal(plain.batch(4, np.random.default_rng(8), augment=False)[0],
                          blurring.batch(4, np.random.default_rng(8), augment=False)[0]), "validation: never blurred"
    assert "blur share must be in [0, 1]" in TrainingParameters(blur_share=1.5).problems()[0]
