"""Memory that follows the membrane: voxel groups, piece-wise restrict/extract/mesh give whole-volume results."""
import numpy as np
from scipy import ndimage

from tomorois_surfora.engine.io import open_mrc, write_mrc
from tomorois_surfora.engine.sparse import label_boxes, label_values, voxel_groups
from tomorois_surfora.engine.surface.extract import extract_cloud
from tomorois_surfora.engine.surface.medial import inside_distances_nm
from tomorois_surfora.engine.surface.restrict import CleanParameters, clean_mask, restrict_to_rois


def shell(shape, centre, radius, thickness=3.0):
    z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
    distance = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
    return np.abs(distance - radius) < thickness / 2


def test_voxel_groups_split_far_pieces_and_join_near_ones():
    volume = np.zeros((20, 60, 60), dtype=bool)
    volume[5:8, 5:8, 5:8] = True      # A
    volume[5:8, 5:8, 12:15] = True    # B: 5 voxels from A
    volume[10:12, 40:45, 40:45] = True  # C: far from both
    groups = voxel_groups(volume.shape, lambda z0, z1: volume[z0:z1], reach=6, slab=4)
    assert len(groups) == 2
    assert sorted(groups.voxels) == [50, 54]
    for group in range(1, 3):
        box = groups.padded_box(group, 2)
        members = groups.members(group, box) & volume[box]
        assert members.sum() == groups.voxels[group - 1]
    assert len(voxel_groups(volume.shape, lambda z0, z1: volume[z0:z1], reach=3)) == 3
    aligned = groups.padded_box(1, 3, align=4)
    assert all(s.start % 4 == 0 for s in aligned)


def test_label_boxes_and_values_match_whole_volume_scans():
    rng = np.random.default_rng(1)
    labels = ndimage.label(rng.random((40, 30, 30)) > 0.97)[0].astype(np.int16)
    expected = {i: box for i, box in enumerate(ndimage.find_objects(labels), start=1) if box is not None}
    assert label_boxes(labels, slab=7) == expected
    assert label_values(labels, slab=7) == sorted(expected)
    assert label_values(np.zeros((3, 3, 3))) == []


def test_inside_distances_equal_the_distance_transform():
    rng = np.random.default_rng(2)
    mask = ndimage.binary_opening(rng.random((25, 30, 35)) > 0.35)
    mask[0] |= rng.random(mask[0].shape) > 0.5  # pieces touching the border: outside counts as background
    reference = ndimage.distance_transform_edt(np.pad(mask, 1), sampling=1.7)[1:-1, 1:-1, 1:-1][mask]
    assert np.allclose(inside_distances_nm(mask, 1.7), reference, atol=1e-12)


def test_restrict_piecewise_equals_cleaning_the_whole_box(tmp_path):
    """Closing joins pieces closer than the ball; pieces far apart are cleaned in their own crops."""
    shape = (40, 120, 120)
    membranes = np.zeros(shape, dtype=np.int8)
    membranes[shell(shape, (20, 30, 30), 12)] = 1
    membranes[shell(shape, (20, 30, 58), 12) & (membranes == 0)] = 1  # touches the first: one group
    membranes[shell(shape, (20, 90, 90), 10)] = 2
    membranes[20, 30, 18] = 0   # pin-holes the closing fills
    membranes[20, 90, 100] = 0
    membranes[5, 100, 10] = 1   # a speck the clean-up drops
    params = CleanParameters(closing_nm=2.0, min_volume_nm3=20)
    path = tmp_path / "m.mrc"
    write_mrc(path, membranes, 10.0)
    with open_mrc(path) as (mapped, _):
        items, problems = restrict_to_rois(mapped, None, 1.0, params)
    assert problems == [] and len(items) == 1
    expected = np.zeros(shape, dtype=np.int16)
    for label in (1, 2):
        cleaned = clean_mask(membranes == label, 1.0, params)
        expected[cleaned & (expected == 0)] = label
    assert np.array_equal(items[0].labels, expected)
    assert expected[20, 30, 18] == 1 and expected[5, 100, 10] == 0


def test_extract_piecewise_equals_the_whole_volume_fit():
    """A vesicle fitted over the whole grid at once (the method without crops) and found among other pieces
    of its label, each in its own crop: the same points."""
    from tomorois_surfora.engine.surface.medial import medial_surface

    vesicle = shell((60, 160, 160), (32, 104, 62), 12, 4.0)
    other = shell((60, 160, 160), (30, 24, 130), 12, 4.0)  # same size: the label's thickness is unchanged
    whole, _, _ = medial_surface(vesicle, 1.0)
    both, _, _, info = extract_cloud((vesicle | other).astype(np.int8), 1.0, "medial")
    assert info["labels"][1]["groups"] == 2
    mine = both[np.linalg.norm(both - [62, 104, 32], axis=1) < 20]
    assert len(mine) == len(whole)
    assert np.allclose(np.sort(mine, axis=0), np.sort(whole, axis=0), atol=1e-9)
