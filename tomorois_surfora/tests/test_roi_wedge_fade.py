"""Training copies with an extra missing wedge: which membranes fade, the spread of axes, and training on them."""
import numpy as np

from tomorois_surfora.engine.io import read_mrc, write_mrc
from tomorois_surfora.engine.roi.data import TrainingItem
from tomorois_surfora.engine.roi.model_file import load_model
from tomorois_surfora.engine.roi.train import TrainingParameters, train_files
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
    params = TrainingParameters(**{**TINY.__dict__, "validation": "tomograms", "wedge_copies": 2})
    result = train_files(list(tomograms) + [tmp_path / "third.mrc"], list(masks) + [masks[0]], params,
                         tmp_path / "out", quiet=True)
    training = load_model(result["model"]).training
    assert training["validation_tomograms"] == [str(tmp_path / "third.mrc")]
    copies = training["extra_wedge_copies"]
    assert len(copies) == 4 and not any("third" in name for name in copies), "two copies of each training one"
    assert training["items"] == [str(t) for t in tomograms] + [str(tmp_path / "third.mrc")]
    assert result["best_val_dice"] is not None
