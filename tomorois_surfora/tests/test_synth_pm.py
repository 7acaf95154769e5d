"""The second phantom family (plasma-membrane contacts): truth agrees with the volumes, ROIs are bounded in
depth at their tube, the imaging is its own (tilt axis x, coloured noise)."""
import numpy as np
import pytest
import scipy.fft
from scipy import ndimage

from tomorois_surfora.engine.synth import PhantomParameters, generate_phantom, write_dataset
from tomorois_surfora.engine.synth.coloured_imaging import ColouredImaging, image_density_coloured
from tomorois_surfora.engine.synth.imaging import frequency_grids

SMALL = PhantomParameters()  # 128×256×256 at 10 Å: smaller fields leave no room for every look-alike


@pytest.fixture(scope="module")
def phantoms():
    return [generate_phantom("pm_contacts", seed=11, index=i, params=SMALL) for i in range(3)]


def _voxel(point_nm):
    return tuple(int(round(c)) for c in point_nm[::-1])


def test_every_phantom_has_a_sheet_contacts_and_look_alikes(phantoms):
    kinds = set()
    for phantom in phantoms:
        membranes = phantom.truth["membranes"]
        assert membranes[0]["type"] == "sheet" and phantom.truth["rois"]
        kinds |= {d["type"] for d in phantom.truth["distractors"]}
        assert phantom.truth["particles"] > 0
        assert set(np.unique(phantom.membranes)) == set(range(len(membranes) + 1))
    assert kinds == {"cisterna", "lone_tube", "vesicle"}


def test_contact_rois_sit_between_sheet_and_tube_at_the_stated_gap(phantoms):
    for phantom in phantoms:
        for roi in phantom.truth["rois"]:
            (sheet, tube), (pa, pb) = roi["membranes"], roi["closest_points_nm"]
            assert 10 <= roi["gap_nm"] <= 30
            assert phantom.membranes[_voxel(pa)] == sheet and phantom.membranes[_voxel(pb)] == tube
            assert phantom.rois[_voxel(roi["center_nm"])] == roi["label"]
            inside = phantom.rois == roi["label"]
            assert roi["voxels"] == int(inside.sum())
            # labels are 5 nm thick: their facing edges lie gap - 5 nm apart (1 nm voxels)
            to_tube = ndimage.distance_transform_edt(phantom.membranes != tube)
            assert float(to_tube[phantom.membranes == sheet].min()) == pytest.approx(roi["gap_nm"] - 5.0, abs=1.0)
        for distractor in phantom.truth["distractors"]:
            for label in distractor["membranes"]:
                assert not np.any(phantom.rois[phantom.membranes == label])


def test_no_look_alike_comes_within_contact_range_of_the_sheet(phantoms):
    # a look-alike as close to the sheet as a contact would be an unlabelled contact: training and scoring
    # would then call a true contact false. Labels are 5 nm thick, so label edges lie gap − 5 nm apart.
    largest_gap = 30.0
    for phantom in phantoms:
        to_sheet = ndimage.distance_transform_edt(phantom.membranes != 1)
        for distractor in phantom.truth["distractors"]:
            for label in distractor["membranes"]:
                assert float(to_sheet[phantom.membranes == label].min()) > largest_gap - 5.0 + 1.0, distractor


def test_rois_are_bounded_in_depth_around_their_tube(phantoms):
    depth = SMALL.shape[0]
    for phantom in phantoms:
        tubes = {m["label"]: m for m in phantom.truth["membranes"] if m["type"] == "bent_tube"}
        for roi in phantom.truth["rois"]:
            (z0, _, _), (z1, _, _) = roi["bbox_zyx"]
            tube = tubes[roi["membranes"][1]]
            vertex_z = tube["axis_nm"][1][2]
            # the region between the membranes stays within a few tube radii of the tube's depth, never the
            # whole depth of the sheet
            assert z1 - z0 < 0.8 * depth
            assert z0 <= vertex_z <= z1
            assert max(vertex_z - z0, z1 - vertex_z) <= 2.5 * tube["radius_nm"] + roi["gap_nm"]


def test_generation_is_deterministic_and_the_manifest_names_the_family_imaging(tmp_path):
    a = generate_phantom("pm_contacts", seed=5, index=1, params=SMALL)
    b = generate_phantom("pm_contacts", seed=5, index=1, params=SMALL)
    np.testing.assert_array_equal(a.tomogram, b.tomogram)
    np.testing.assert_array_equal(a.rois, b.rois)
    manifest = write_dataset("pm_contacts", tmp_path, 1, seed=5, params=SMALL, quiet=True)
    assert manifest["imaging"]["tilt_axis"] == "x" and manifest["imaging"]["tilt_range_deg"] == 50
    assert (tmp_path / "pm_contacts_000_rois.mrc").is_file() and (tmp_path / "pm_contacts_000_decoys.mrc").is_file()


def test_imaging_has_a_wedge_about_x_and_coloured_noise():
    rng = np.random.default_rng(0)
    density = ndimage.gaussian_filter(rng.normal(size=(64, 64, 64)).astype(np.float32), 1.0)
    clean, _ = image_density_coloured(density, 1.0, ColouredImaging(snr=None, background=0.0),
                                      np.random.default_rng(1))
    power = np.abs(scipy.fft.rfftn(clean)) ** 2
    kz, ky, kx = frequency_grids(clean.shape, 1.0)
    missing = np.broadcast_to(np.abs(kz) > np.tan(np.deg2rad(50)) * np.abs(ky), power.shape)
    assert power[missing].sum() < 1e-8 * power.sum()
    # noise alone: power falls with frequency (1/|k|), unlike white noise
    noise, _ = image_density_coloured(np.zeros((64, 64, 64), np.float32) + density * 1e-6, 1.0,
                                      ColouredImaging(snr=1e-6, background=0.0), np.random.default_rng(2))
    spectrum = np.abs(scipy.fft.rfftn(noise)) ** 2
    k = np.broadcast_to(np.sqrt(kz ** 2 + ky ** 2 + kx ** 2), spectrum.shape)
    low, high = spectrum[(k > 0.05) & (k < 0.1)].mean(), spectrum[(k > 0.3) & (k < 0.4)].mean()
    assert low / high > 3.0
