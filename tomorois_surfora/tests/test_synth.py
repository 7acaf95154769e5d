"""Phantoms: the ground truth (JSON) agrees with the volumes, generation is deterministic, imaging is right."""
import numpy as np
import pytest
import scipy.fft
from scipy import ndimage

from tomorois_surfora.engine import InputError
from tomorois_surfora.engine.synth import (BilayerModel, Microscope, PhantomParameters, generate_phantom,
                                           write_dataset)
from tomorois_surfora.engine.synth.imaging import frequency_grids, image_density, wedge_mask

SMALL = PhantomParameters(shape=(64, 192, 192), voxel_size=10.0)


@pytest.fixture(scope="module")
def contact_phantoms():
    return [generate_phantom("contacts", seed=7, index=i, params=SMALL) for i in range(3)]


@pytest.fixture(scope="module")
def invagination_phantom():
    params = PhantomParameters(shape=(112, 192, 192), voxel_size=10.0)
    return generate_phantom("invaginations", seed=3, index=0, params=params)


def _voxel(point_nm, voxel_size_nm):
    return tuple(int(round(c / voxel_size_nm)) for c in point_nm[::-1])


def _label_gap_nm(labels, a, b, voxel_size_nm):
    """Smallest distance (nm) between voxel centres labelled ``a`` and voxel centres labelled ``b``."""
    distance_to_b = ndimage.distance_transform_edt(labels != b) * voxel_size_nm
    return float(distance_to_b[labels == a].min())


def test_contact_gap_between_labels_matches_requested_gap(contact_phantoms):
    thickness = BilayerModel().label_thickness
    checked = 0
    for phantom in contact_phantoms:
        truth = phantom.truth
        pairs = [(r["membranes"], r["gap_nm"]) for r in truth["rois"]]
        pairs += [(d["membranes"], d["gap_nm"]) for d in truth["distractors"] if "gap_nm" in d]
        for (a, b), gap in pairs:
            assert 10 <= gap <= 30
            # Labels cover thickness/2 either side of each mid-surface: their facing edges are gap - thickness apart.
            assert _label_gap_nm(phantom.membranes, a, b, 1.0) == pytest.approx(gap - thickness, abs=1.0)
            checked += 1
    assert checked >= 4


def test_contact_rois_lie_where_the_json_says(contact_phantoms):
    for phantom in contact_phantoms:
        truth = phantom.truth
        assert truth["rois"], "every contact phantom has at least one contact"
        for roi in truth["rois"]:
            assert phantom.rois[_voxel(roi["center_nm"], 1.0)] == roi["label"]
            (a, b), (pa, pb) = roi["membranes"], roi["closest_points_nm"]
            assert phantom.membranes[_voxel(pa, 1.0)] == a and phantom.rois[_voxel(pa, 1.0)] == roi["label"]
            assert phantom.membranes[_voxel(pb, 1.0)] == b and phantom.rois[_voxel(pb, 1.0)] == roi["label"]
            assert roi["voxels"] == int((phantom.rois == roi["label"]).sum())
            (z0, y0, x0), (z1, y1, x1) = roi["bbox_zyx"]
            assert (phantom.rois[z0:z1, y0:y1, x0:x1] == roi["label"]).sum() == roi["voxels"]
        # Distractors are not ROIs: no ROI voxel touches a distractor's membrane.
        for distractor in truth["distractors"]:
            for label in distractor["membranes"]:
                assert not np.any(phantom.rois[phantom.membranes == label])


def test_contact_phantom_holds_every_kind_of_object():
    phantom = generate_phantom("contacts", seed=0, index=0)
    kinds = {d["type"] for d in phantom.truth["distractors"]}
    assert kinds == {"vesicle_in_vesicle", "isolated_tube", "isolated_vesicle"}
    for membrane in phantom.truth["membranes"]:
        bounds = (20, 60) if membrane["type"] == "vesicle" and membrane["role"] != "inner" else (8, 60)
        assert bounds[0] <= membrane["radius_nm"] <= bounds[1]
    assert set(np.unique(phantom.membranes)) == set(range(len(phantom.truth["membranes"]) + 1))


def test_invagination_buds_are_membrane_spheres_inside_their_roi(invagination_phantom):
    truth, labels = invagination_phantom.truth, invagination_phantom.membranes
    axes = set()
    budded = {m["label"]: m for m in truth["membranes"] if m["type"] == "budded_vesicle"}
    assert len(truth["rois"]) == 2 and len(budded) == 2
    for roi in truth["rois"]:
        vesicle = budded[roi["membranes"][0]]
        axes.add(vesicle["opening_axis"])
        assert 20 <= vesicle["bud_diameter_nm"] <= 80
        center, radius = np.array(vesicle["bud_center_nm"]), vesicle["bud_radius_nm"]
        opening = np.array(vesicle["opening_direction"])
        assert labels[_voxel(center, 1.0)] == 0, "the bud's interior is not membrane"
        assert invagination_phantom.rois[_voxel(center, 1.0)] == roi["label"]
        directions = np.random.default_rng(0).normal(size=(200, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        away_from_neck = directions[directions @ opening < 0.3]
        on_bud = [labels[_voxel(center + radius * d, 1.0)] for d in away_from_neck]
        assert np.all(np.array(on_bud) == vesicle["label"])
        assert invagination_phantom.rois[_voxel(vesicle["mouth_nm"], 1.0)] == roi["label"]
    assert axes == {"z", "xy"}


def test_generation_is_deterministic_by_seed_and_index():
    a = generate_phantom("contacts", seed=5, index=1, params=SMALL)
    b = generate_phantom("contacts", seed=5, index=1, params=SMALL)
    c = generate_phantom("contacts", seed=6, index=1, params=SMALL)
    np.testing.assert_array_equal(a.tomogram, b.tomogram)
    np.testing.assert_array_equal(a.membranes, b.membranes)
    np.testing.assert_array_equal(a.rois, b.rois)
    assert not np.array_equal(a.membranes, c.membranes)


def test_dataset_items_equal_single_generation(tmp_path):
    from tomorois_surfora.engine.io import read_mrc

    params = PhantomParameters(shape=(48, 96, 96), voxel_size=20.0)
    manifest = write_dataset("invaginations", tmp_path, 2, seed=4, params=params, quiet=True)
    assert [item["tsId"] for item in manifest["items"]] == ["invaginations_000", "invaginations_001"]
    single = generate_phantom("invaginations", seed=4, index=1, params=params)
    volume, voxel_size = read_mrc(tmp_path / "invaginations_001_rois.mrc")
    np.testing.assert_array_equal(volume, single.rois)
    assert voxel_size == pytest.approx(20.0)


def test_parallel_generation_writes_the_same_files_as_serial(tmp_path):
    from tomorois_surfora.engine.io import read_mrc

    params = PhantomParameters(shape=(48, 96, 96), voxel_size=20.0)
    serial = write_dataset("contacts", tmp_path / "serial", 3, seed=5, params=params, quiet=True, workers=1)
    parallel = write_dataset("contacts", tmp_path / "parallel", 3, seed=5, params=params, quiet=True, workers=2)
    strip = lambda items: [{k: v for k, v in item.items() if k != "seconds"} for item in items]  # noqa: E731
    assert strip(parallel["items"]) == strip(serial["items"])
    for item in serial["items"]:
        for role in ("tomogram", "membranes", "decoys"):
            a, _ = read_mrc(tmp_path / "serial" / item[role])
            b, _ = read_mrc(tmp_path / "parallel" / item[role])
            np.testing.assert_array_equal(a, b)
    with pytest.raises(InputError, match="workers"):
        write_dataset("contacts", tmp_path / "bad", 1, params=params, quiet=True, workers=0)


def test_bilayer_has_two_leaflets_at_the_requested_separation():
    bilayer = BilayerModel(leaflet_separation=3.6, leaflet_sigma=0.8)
    d = np.linspace(-6, 6, 1201)
    profile = bilayer.density(d, voxel_size_nm=0.0)
    peaks = d[1:-1][(profile[1:-1] > profile[:-2]) & (profile[1:-1] > profile[2:])]
    np.testing.assert_allclose(np.sort(peaks), [-1.8, 1.8], atol=0.05)


def test_imaging_removes_the_missing_wedge_and_reaches_the_requested_snr():
    rng = np.random.default_rng(0)
    density = ndimage.gaussian_filter(rng.normal(size=(64, 64, 64)).astype(np.float32), 1.0)
    clean, _ = image_density(density, 1.0, Microscope(snr=None, tilt_range=60), np.random.default_rng(1))
    power = np.abs(scipy.fft.rfftn(clean)) ** 2
    kz, _, kx = frequency_grids(clean.shape, 1.0)
    missing = ~np.broadcast_to(wedge_mask(kz, kx, 60), power.shape)
    assert power[missing].sum() < 1e-8 * power.sum()
    noisy, _ = image_density(density, 1.0, Microscope(snr=0.5, tilt_range=60), np.random.default_rng(1))
    # With independent noise, corr(clean, noisy)^2 = SNR / (1 + SNR).
    r2 = np.corrcoef(clean.ravel(), noisy.ravel())[0, 1] ** 2
    assert r2 / (1 - r2) == pytest.approx(0.5, rel=0.05)
    assert abs(noisy.mean()) < 1e-5 and noisy.std() == pytest.approx(1.0, abs=1e-4)


def test_bad_parameters_are_reported_clearly():
    with pytest.raises(InputError, match="shape must be three whole numbers"):
        generate_phantom("contacts", params=PhantomParameters(shape=(0, 10, 10)))
    with pytest.raises(InputError, match="voxel size must be positive"):
        generate_phantom("contacts", params=PhantomParameters(voxel_size=-2))
    with pytest.raises(InputError, match="phantoms need at least"):
        generate_phantom("contacts", params=PhantomParameters(shape=(16, 64, 64)))
    with pytest.raises(InputError, match="SNR must be positive"):
        generate_phantom("contacts", params=PhantomParameters(microscope=Microscope(snr=-1)))
    with pytest.raises(InputError, match="unknown phantom kind 'golgi'"):
        generate_phantom("golgi")
