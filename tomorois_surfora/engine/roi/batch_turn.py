"""Turning a batch of 2D training patches by any angle in one torch call (on the training device).

The patches arrive wider than the network's patch (see :func:`wide_side`) so that the turned central square
has no empty corners. Target and weights take their nearest value, so that they stay binary and paired. The
image is interpolated as chosen (:data:`INTERPOLATIONS`): a linear interpolation averages neighbouring voxels
and leaves white noise at about ⅔ of its standard deviation at most angles, cubic at about 0.86, nearest
keeps it (so the network does not learn on images smoother than the tomograms it is run on) but puts a
one-voxel staircase on a turned membrane.
"""
import math

import numpy as np

INTERPOLATIONS = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}  # name: torch grid_sample mode


def wide_side(side):
    """Side of the window to cut for a ``side``-voxel patch turned by any angle (≥ √2·side, same parity)."""
    return side + 2 * math.ceil(side * (math.sqrt(2) - 1) / 2) + 2


def turn_batch(arrays, angles_deg, side, image_interpolation="nearest"):
    """The central ``side``² of every (N, C, W, W) tensor in ``arrays``, patch n turned by ``angles_deg[n]``.

    Parameters
    ----------
    arrays : list of torch.Tensor
        Patches of one batch (image, target, weights), all (N, C_k, W, W) with the same N and W.
    angles_deg : sequence of float
        One angle per patch, counter-clockwise in (row, column) display.
    side : int
        Side of the output patches (≤ W / √2 for no mirrored corners; beyond the window values are mirrored).
    image_interpolation : str
        How the first array (the image) is interpolated, a key of :data:`INTERPOLATIONS`; the others always
        take their nearest value.

    Returns
    -------
    list of torch.Tensor
        (N, C_k, side, side) tensors, same dtype and device as the input.
    """
    import torch
    from torch.nn import functional as F

    first = arrays[0]
    count, wide = first.shape[0], first.shape[-1]
    angle = torch.as_tensor(np.deg2rad(np.asarray(angles_deg, dtype=np.float64)), dtype=torch.float32,
                            device=first.device)
    cos, sin, zero = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
    scale = side / wide  # output coordinates in [-1, 1] cover only the central side² of the input
    theta = torch.stack([torch.stack([cos * scale, -sin * scale, zero], -1),
                         torch.stack([sin * scale, cos * scale, zero], -1)], 1)
    grid = F.affine_grid(theta, (count, 1, side, side), align_corners=False)

    def turned(parts, mode):
        stacked = torch.cat([a.to(torch.float32) for a in parts], 1)
        out = F.grid_sample(stacked, grid, mode=mode, padding_mode="reflection", align_corners=False)
        return [piece.to(a.dtype).contiguous() for piece, a in zip(torch.split(out, [a.shape[1] for a in parts], 1),
                                                                    parts)]

    mode = INTERPOLATIONS[image_interpolation]
    if mode == "nearest":
        return turned(arrays, mode)
    return turned(arrays[:1], mode) + turned(arrays[1:], "nearest")
