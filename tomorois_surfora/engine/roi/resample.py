"""Resample volumes between a tomogram's voxel size and the voxel size a model works at.

Both directions are separable (a 2D step per section, then a 1D step along z), so that a large tomogram is
read, and a large output written, a few sections at a time: memory follows the smaller of the two grids.
Linear interpolation maps voxel centres to voxel centres (``grid_mode``); downsampling first low-passes
with a Gaussian of σ = (1/factor − 1)/2 voxels, as scikit-image's ``rescale`` does, to avoid aliasing.
"""
import numpy as np
from scipy import ndimage

SECTIONS_PER_CHUNK = 8


def resampled_shape(shape, factor):
    """Shape (z, y, x) of ``shape`` resampled by ``factor`` (> 1 enlarges), at least 1 voxel per axis."""
    return tuple(max(1, int(round(s * factor))) for s in shape)


def _antialias_sigma(factor):
    return max(0.0, (1.0 / factor - 1.0) / 2.0)


def _zoom_to(array, shape, axes):
    """Linear, centre-aligned zoom of ``array`` along ``axes`` to the sizes in ``shape`` (all axes)."""
    zoom = [shape[a] / array.shape[a] if a in axes else 1.0 for a in range(array.ndim)]
    if all(z == 1.0 for z in zoom):
        return array
    return ndimage.zoom(array, zoom, order=1, mode="nearest", grid_mode=True)


def resample_volume(volume, factor, transform=None):
    """Resample a (z, y, x) volume by ``factor``, reading it a few sections at a time.

    Parameters
    ----------
    volume : array_like
        Any array indexed (z, y, x), e.g. a read-only memmap of an MRC file.
    factor : float
        Output voxels per input voxel along each axis (0.5 halves every side).
    transform : callable, optional
        Applied to each chunk of sections (as float32) before resampling, e.g. intensity normalisation.

    Returns
    -------
    ndarray of float32
        The resampled volume, shape :func:`resampled_shape`.
    """
    shape = resampled_shape(volume.shape, factor)
    sigma = _antialias_sigma(factor)
    planes = np.empty((volume.shape[0], shape[1], shape[2]), dtype=np.float32)
    for start in range(0, volume.shape[0], SECTIONS_PER_CHUNK):
        chunk = np.asarray(volume[start:start + SECTIONS_PER_CHUNK], dtype=np.float32)
        if transform is not None:
            chunk = transform(chunk)
        if sigma > 0:
            chunk = ndimage.gaussian_filter(chunk, (0, sigma, sigma), mode="nearest")
        planes[start:start + len(chunk)] = _zoom_to(chunk, (len(chunk), shape[1], shape[2]), axes=(1, 2))
    if sigma > 0:
        ndimage.gaussian_filter1d(planes, sigma, axis=0, mode="nearest", output=planes)
    return np.ascontiguousarray(_zoom_to(planes, shape, axes=(0,)), dtype=np.float32)


def resample_into(coarse, out):
    """Interpolate ``coarse`` (z, y, x) linearly onto the grid of ``out`` and write it there section by section.

    ``out`` may be a writable memmap as large as the original tomogram; only one stack of ``out``'s sections
    at ``coarse``'s (y, x) size is held in memory.
    """
    along_z = _zoom_to(np.asarray(coarse, dtype=np.float32), (out.shape[0], *coarse.shape[1:]), axes=(0,))
    for start in range(0, out.shape[0], SECTIONS_PER_CHUNK):
        chunk = along_z[start:start + SECTIONS_PER_CHUNK]
        out[start:start + len(chunk)] = _zoom_to(chunk, (len(chunk), out.shape[1], out.shape[2]), axes=(1, 2))
