"""The grid-neighbour MLS fits (surface/voxel_fits.py) against the KD-tree formulation they replace."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from tomorois_surfora.engine.parallel import blocks
from tomorois_surfora.engine.surface.geometry import monge_fits
from tomorois_surfora.engine.surface.voxel_fits import SELECT_BINS, _select_nearest, off_mask, voxel_mls_fits
from tomorois_surfora.engine.synth import shapes


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 400), st.data(), st.booleans(), st.integers(0, 2 ** 31))
def test_select_nearest_picks_the_k_smallest_and_their_ties(count, data, rounded, seed):
    k = data.draw(st.integers(1, count - 1))
    squared = np.random.default_rng(seed).uniform(0, 36.0, count)
    if rounded:  # grid distances tie
        squared = np.round(squared)
    order = np.arange(count)
    used = _select_nearest(squared, order, count, k, 36.0, np.empty(SELECT_BINS, dtype=np.int64))
    kth = np.sort(squared)[k - 1]
    assert used == np.sum(squared <= kth), "the k smallest and every tie of the k-th"
    assert sorted(order[:used].tolist()) == np.flatnonzero(squared <= kth).tolist()


def segments_inside_reference(mask, centres, offsets, origin, voxel_size):
    """The straight-segment visibility test: the nearest voxel of every interior sample, sampled every
    ≤ ½ voxel (max(2, ⌈2 × length in voxels⌉) intervals per segment), is in the mask."""
    samples = np.maximum(2, np.ceil(2 * np.linalg.norm(offsets, axis=-1) / voxel_size)).astype(int)
    inside = np.ones(offsets.shape[:2], dtype=bool)
    for s in range(1, samples.max()):
        position = centres[:, None, :] + (s / samples)[..., None] * offsets
        index = np.rint((position - origin) / voxel_size).astype(int)
        valid = np.all((index >= 0) & (index < np.array(mask.shape)[::-1]), axis=-1)
        clipped = np.clip(index, 0, np.array(mask.shape)[::-1] - 1)
        inside &= (s >= samples) | (valid & mask[clipped[..., 2], clipped[..., 1], clipped[..., 0]])
    return inside


def test_grid_fits_equal_kd_tree_fits_on_a_rough_thin_shell():
    mask, origin = shapes.sphere(12.0, thickness=3.0).rough_mask(1.0, 0.4, seed=5)
    origin = np.asarray(origin, dtype=np.float64)
    voxels = np.argwhere(mask)[:, ::-1] * 1.0 + origin
    rng = np.random.default_rng(1)
    centres = voxels[rng.choice(len(voxels), 400, replace=False)] + rng.uniform(-0.5, 0.5, (400, 3))
    radius, k, sigma = 4.5, 60, 2.25
    distances, indices = cKDTree(voxels).query(centres, k=k)
    offsets = voxels[indices] - centres[:, None, :]
    inside = (distances <= radius) & segments_inside_reference(mask, centres, offsets, origin, 1.0)
    expected = monge_fits(centres, offsets, distances, inside.astype(np.float64), radius, sigma, False)
    got = voxel_mls_fits(mask, centres, origin, 1.0, radius, k, sigma, 2, blocks(len(centres)))
    assert np.array_equal(expected[4], got[4]), "the same neighbourhoods are degenerate"
    ok = ~got[4]
    # the KD-tree list may run past the radius, where weights are 1e-12: equal to far below a voxel
    assert np.allclose(expected[0][ok], got[0][ok], atol=1e-8)
    assert np.allclose(np.abs(np.sum(expected[1][ok] * got[1][ok], axis=1)), 1.0, atol=1e-8)


def test_off_mask_equals_the_nearest_voxel_distance():
    mask, origin = shapes.sphere(10.0).mask(1.0, grid_offset_nm=(0.2, 0.1, 0.3))
    origin = np.asarray(origin, dtype=np.float64)
    voxels = np.argwhere(mask)[:, ::-1] * 1.0 + origin
    rng = np.random.default_rng(2)
    points = np.concatenate([voxels[rng.choice(len(voxels), 3000)] + rng.normal(0, 1.0, (3000, 3)),
                             rng.uniform(origin - 5, origin + np.array(mask.shape[::-1]) + 5, (1000, 3)),
                             [[np.nan, 0.0, 0.0]]])
    expected = cKDTree(voxels).query(points)[0] > 1.0
    assert np.array_equal(off_mask(mask, points, origin, 1.0), expected)
    assert 0.1 < expected.mean() < 0.9
