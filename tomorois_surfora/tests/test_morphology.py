"""Object-by-object ball opening and closing equal scipy's whole-volume operations voxel for voxel."""
import numpy as np
import pytest
from scipy import ndimage

from tomorois_surfora.engine.morphology import ball, ball_closing, ball_opening


def _reference(mask, radius, operation):
    """scipy's operation on the whole volume padded with empty space, cropped back."""
    structure = ball(radius)
    pad = structure.shape[0]
    return operation(np.pad(mask, pad), structure=structure)[pad:-pad, pad:-pad, pad:-pad]


def _blobs(seed, shape=(24, 40, 36)):
    """Blobs of various sizes, some touching the border, some close enough for a closing to bridge them."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.normal(size=shape), 1.5)
    mask = noise > 0.12
    mask[0:4, 5:12, 0:3] = True  # an object flush with two faces of the volume
    mask[10:13, 20:23, 33:36] = True
    mask[10:13, 20:23, 29:31] = True  # two cubes two voxels apart
    return mask


@pytest.mark.parametrize("radius", [1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_opening_and_closing_equal_scipy(radius, seed):
    mask = _blobs(seed)
    opened, closed = ball_opening(mask, radius), ball_closing(mask, radius)
    assert np.array_equal(opened, _reference(mask, radius, ndimage.binary_opening))
    assert np.array_equal(closed, _reference(mask, radius, ndimage.binary_closing))
    # The test means something: both operations change these masks.
    assert not np.array_equal(opened, mask) and not np.array_equal(closed, mask)


def test_closing_bridges_a_gap_narrower_than_the_ball_only():
    mask = np.zeros((20, 20, 30), bool)
    mask[6:14, 6:14, 4:12] = True
    mask[6:14, 6:14, 16:24] = True  # a 4-voxel gap: a ball of radius 2 spans it, one of radius 1 does not
    assert ndimage.label(ball_closing(mask, 2))[1] == 1
    assert ndimage.label(ball_closing(mask, 1))[1] == 2


def test_small_radius_and_empty_mask_are_left_alone():
    mask = _blobs(2)
    assert ball(0.5) is None
    assert np.array_equal(ball_opening(mask, 0.5), mask) and np.array_equal(ball_closing(mask, 0.5), mask)
    empty = np.zeros((5, 6, 7), bool)
    assert not ball_closing(empty, 2).any() and not ball_opening(empty, 2).any()
