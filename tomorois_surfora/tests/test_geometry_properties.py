"""Property-based tests (hypothesis) of geometry helpers: invariants that must hold for any input, not only the
shapes the other tests build."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.ndimage import distance_transform_edt

from tomorois_surfora.engine.surface.medial import inside_distances_nm
from tomorois_surfora.engine.triangles import triangle_areas

masks = arrays(np.bool_, st.tuples(*[st.integers(1, 7)] * 3))
voxel_sizes = st.floats(0.1, 5.0)
clouds = arrays(np.float64, st.tuples(st.integers(3, 12), st.just(3)), elements=st.floats(-50, 50))


@settings(max_examples=80, deadline=None)
@given(masks, voxel_sizes)
def test_inside_distances_equal_the_distance_transform_of_the_padded_mask(mask, voxel_size):
    """Any mask, any voxel size: the KD-tree distances (memory ∝ membrane) are the padded EDT's values."""
    padded = np.pad(mask, 1)
    expected = distance_transform_edt(padded)[1:-1, 1:-1, 1:-1][mask] * voxel_size
    np.testing.assert_allclose(inside_distances_nm(mask, voxel_size), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(clouds, st.floats(0.1, 10.0), st.integers(0, 2 ** 31 - 1))
def test_triangle_areas_follow_rigid_motion_and_scale(points, scale, seed):
    """Areas are unchanged by a rotation and a translation, and grow with the square of a scaling."""
    rng = np.random.default_rng(seed)
    faces = np.array([rng.choice(len(points), 3, replace=False) for _ in range(len(points))])
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    moved = points @ rotation.T + rng.normal(size=3) * 10
    areas = triangle_areas(points, faces)
    np.testing.assert_allclose(triangle_areas(moved, faces), areas, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(triangle_areas(points * scale, faces), areas * scale ** 2, rtol=1e-9, atol=1e-6)


@settings(max_examples=80, deadline=None)
@given(arrays(np.bool_, st.tuples(*[st.integers(1, 12)] * 3)), st.integers(1, 4), st.integers(1, 6))
def test_voxel_groups_keep_near_voxels_together_and_lose_none(mask, reach, slab):
    """Whatever the selection, reach and slab height: every selected voxel is in one group, voxels closer than
    ``reach`` in every axis share it, and each group's box holds all its voxels."""
    from tomorois_surfora.engine.sparse import voxel_groups

    groups = voxel_groups(mask.shape, lambda z0, z1: mask[z0:z1], reach, slab=slab)
    zyx = np.argwhere(mask)
    group_of = groups.coarse[tuple((zyx // groups.cell).T)]
    assert (group_of > 0).all() and int(np.sum(groups.voxels)) == len(zyx)
    near = np.abs(zyx[:, None, :] - zyx[None, :, :]).max(axis=2) < reach
    assert (group_of[:, None] == group_of[None, :])[near].all()
    for group, box in enumerate(groups.boxes, start=1):
        assert int((groups.members(group, box) & mask[box]).sum()) == groups.voxels[group - 1]


@settings(max_examples=80, deadline=None)
@given(arrays(np.bool_, st.tuples(*[st.integers(1, 10)] * 3)), st.integers(1, 4), st.integers(0, 5))
def test_slab_labelling_equals_labelling_the_whole_volume(mask, slab, min_voxels):
    """Pieces labelled a slab at a time, joined across slab boundaries, small ones dropped: the labels (and
    their numbering) that labelling the whole volume gives."""
    from tomorois_surfora.engine.morphology import label_pieces, remove_small_pieces
    from tomorois_surfora.engine.sparse import slab_pieces

    expected, count = label_pieces(remove_small_pieces(mask, min_voxels))
    pieces = slab_pieces(mask.shape, lambda z0, z1: mask[z0:z1], min_voxels, slab=slab)
    labels = np.zeros(mask.shape, np.int64)
    for z0, part in pieces.slabs():
        labels[z0:z0 + len(part)] = part
    assert pieces.count == count
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(pieces.voxels, np.bincount(expected.ravel(), minlength=count + 1)[1:])
