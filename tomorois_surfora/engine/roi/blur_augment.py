"""Smoothing a random share of training patches, to vary the noise level the network learns on.

A turn by any angle with a linear interpolation both turns the image and smooths it (white noise keeps about
⅔ of its standard deviation, see :mod:`.batch_turn`). Blurring patches by a random in-plane Gaussian, without
turning them, gives the smoothing alone, so the two effects can be told apart; it is also an augmentation of
its own (tomograms differ in how noisy they are). σ drawn uniformly in [0, 0.6] voxels spans about what a
linear turn does between 0° (no smoothing) and 45° (sd × 0.5).
"""
import math

import numpy as np


def blur_sigmas(count, rng, share, max_sigma):
    """Per-patch Gaussian σ (voxels): 0 for patches left as they are, else uniform in [0, ``max_sigma``].

    Parameters
    ----------
    count : int
        Patches in the batch.
    rng : numpy.random.Generator
        Random source.
    share : float
        Probability that a patch is blurred, in [0, 1].
    max_sigma : float
        Largest σ in voxels.

    Returns
    -------
    numpy.ndarray
        ``count`` values of σ.
    """
    blurred = rng.random(count) < share
    return np.where(blurred, rng.uniform(0.0, max_sigma, count), 0.0)


def gaussian_kernel(sigma):
    """Normalised 1D Gaussian weights of ``sigma`` voxels, truncated at 3σ (at least ±1 voxel)."""
    radius = max(1, math.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (x / sigma) ** 2)
    return weights / weights.sum()


def blur_batch(image, sigmas):
    """``image`` (N, ..., H, W) with patch n blurred in its last two axes by a Gaussian of ``sigmas[n]`` voxels.

    Parameters
    ----------
    image : torch.Tensor
        A batch of patches; every channel (and, for 3D patches, every section) is blurred in-plane alone.
    sigmas : sequence of float
        One σ per patch, in voxels; patches with σ below 0.05 are returned unchanged.

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device; edges are mirrored.
    """
    import torch
    from torch.nn import functional as F

    out = image.clone()
    height, width = image.shape[-2:]
    for n, sigma in enumerate(sigmas):
        if sigma < 0.05:
            continue
        weights = torch.as_tensor(gaussian_kernel(float(sigma)), dtype=torch.float32, device=image.device)
        radius = len(weights) // 2
        planes = image[n].reshape(-1, 1, height, width).to(torch.float32)
        padded = F.pad(planes, (radius, radius, radius, radius), mode="reflect")
        rows = F.conv2d(padded, weights.view(1, 1, -1, 1))
        both = F.conv2d(rows, weights.view(1, 1, 1, -1))
        out[n] = both.reshape(image[n].shape).to(image.dtype)
    return out
