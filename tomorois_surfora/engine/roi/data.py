"""Tomograms and annotations prepared for the network: checks, intensity normalisation, the model's grid.

A model works at one voxel size. Tomograms at another voxel size are resampled to it (finer ones are
low-passed first); masks follow with the same geometry. Intensities are standardised per tomogram
(mean 0, standard deviation 1, clipped to ±CLIP), with statistics taken from a regular subsample.
"""
import contextlib
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import InputError
from ..io import open_mrc
from .resample import resample_volume

CLIP = 5.0
STAT_SAMPLES = 4_000_000
#: A tomogram coarser than the model's voxel size by more than this is refused rather than upsampled.
MAX_UPSAMPLING = 1.5
SAME_GRID_TOLERANCE = 0.01


def intensity_statistics(volume, source):
    """Mean and standard deviation of ``volume`` from a regular subsample; refuse NaN, inf and constant data."""
    step = max(1, int(np.ceil((volume.size / STAT_SAMPLES) ** (1 / 3))))
    sample = np.asarray(volume[::step, ::step, ::step], dtype=np.float64)
    if not np.all(np.isfinite(sample)):
        raise InputError(f"{source}: the tomogram contains NaN or infinite values")
    mean, std = float(sample.mean()), float(sample.std())
    if not std > 0:
        raise InputError(f"{source}: the tomogram is constant ({mean:g}); nothing to segment")
    return mean, std


class Standardise:
    """Callable mapping raw intensities to ``clip((x - mean) / std, -CLIP, CLIP)`` as float32."""

    def __init__(self, mean, std, source):
        self.mean, self.std, self.source = mean, std, source

    def __call__(self, chunk):
        if not np.all(np.isfinite(chunk)):
            raise InputError(f"{self.source}: the tomogram contains NaN or infinite values")
        out = (chunk.astype(np.float32) - np.float32(self.mean)) / np.float32(self.std)
        return np.clip(out, -CLIP, CLIP, out=out)


def scale_factor(voxel_size, model_voxel_size, source):
    """Model-grid voxels per tomogram voxel; 1.0 when the two voxel sizes agree within 1%.

    Raises
    ------
    InputError
        If the tomogram is coarser than the model by more than MAX_UPSAMPLING: upsampling cannot restore the
        detail the model was trained on.
    """
    factor = voxel_size / model_voxel_size
    if abs(factor - 1) <= SAME_GRID_TOLERANCE:
        return 1.0
    if factor > MAX_UPSAMPLING:
        raise InputError(f"{source}: voxel size {voxel_size:g} Å is coarser than the model's {model_voxel_size:g} Å "
                         f"by {factor:.2f}× (at most {MAX_UPSAMPLING}× is resampled); train or fine-tune a model "
                         "at this voxel size, or give the true voxel size if the header is wrong")
    return factor


class StandardisedView:
    """A tomogram's memory-mapped data, standardised as it is read: ``view[z0:z1]`` is float32 in ±CLIP.

    For volumes on the model's grid that are too large to hold as float32 (it supports basic slicing only)."""

    def __init__(self, data, standardise):
        self.data, self.standardise = data, standardise
        self.shape, self.ndim, self.dtype = tuple(data.shape), 3, np.dtype(np.float32)

    def __getitem__(self, key):
        return self.standardise(np.asarray(self.data[key]))

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None):
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype, copy=False)


@contextlib.contextmanager
def open_tomogram(path, model_voxel_size, voxel_size=None):
    """Open a tomogram standardised on the model's grid, without holding it as float32 when it is on that grid.

    Yields
    ------
    image : StandardisedView or ndarray of float32
        A :class:`StandardisedView` of the memory-mapped file when the voxel sizes agree (valid inside the
        block); else the tomogram resampled to the model's grid, in memory (read a few sections at a time).
    original : tuple
        (shape, voxel size in Å, scale factor to the model grid) of the file, to map results back.
    """
    with open_mrc(path, voxel_size) as (data, size):
        factor = scale_factor(size, model_voxel_size, str(path))
        standardise = Standardise(*intensity_statistics(data, str(path)), source=str(path))
        original = (tuple(data.shape), size, factor)
        if factor == 1.0:
            yield StandardisedView(data, standardise), original
        else:
            yield resample_volume(data, factor, transform=standardise), original


def load_tomogram(path, model_voxel_size, voxel_size=None):
    """Read a tomogram, standardise it and resample it to the model's voxel size.

    Returns
    -------
    image : ndarray of float32
        The standardised tomogram on the model's grid.
    original : tuple
        (shape, voxel size in Å, scale factor to the model grid) of the file, to map results back.
    """
    with open_tomogram(path, model_voxel_size, voxel_size) as (source, original):
        if isinstance(source, np.ndarray):
            return source, original
        image = np.empty(source.shape, np.float32)
        for start in range(0, source.shape[0], 16):
            image[start:start + 16] = source[start:start + 16]
        return image, original


def load_mask(path, shape, factor, role):
    """Read a label/mask volume of the tomogram's ``shape``; return a bool mask (nonzero) on the model's grid."""
    with open_mrc(path, voxel_size=1.0) as (data, _):
        if tuple(data.shape) != tuple(shape):
            raise InputError(f"{path}: {role} shape {tuple(data.shape)} (z, y, x) does not match the tomogram's "
                             f"{tuple(shape)}")
        if factor == 1.0:
            return np.asarray(data) != 0
        binary = lambda chunk: (chunk != 0).astype(np.float32)  # noqa: E731
        return resample_volume(data, factor, transform=binary) >= 0.5


@dataclass
class TrainingItem:
    """One annotated tomogram on the model's grid."""

    name: str
    image: np.ndarray
    target: np.ndarray
    penalty: Optional[np.ndarray] = None


def load_training_item(tomogram, mask, model_voxel_size, penalty=None, voxel_size=None):
    """Load and check one (tomogram, ROI mask[, penalty mask]) triple onto the model's grid.

    Raises
    ------
    InputError
        For unreadable files, NaN or constant tomograms, masks whose shape differs from the tomogram's, an
        empty annotation mask without penalty voxels, or a tomogram too coarse for the model. An empty
        annotation with penalty voxels is a negative example (no ROI here, and these patterns are not ones).
    """
    image, (shape, size, factor) = load_tomogram(tomogram, model_voxel_size, voxel_size)
    target = load_mask(mask, shape, factor, "ROI mask")
    penalty_mask = None if penalty is None else load_mask(penalty, shape, factor, "penalty mask") & ~target
    if not target.any() and (penalty_mask is None or not penalty_mask.any()):
        raise InputError(f"{mask}: the annotation mask is empty (no ROI voxels"
                         f"{' after resampling to the model grid' if factor != 1.0 else ''}) and there is no "
                         "penalty mask to learn from; annotate at least one ROI, flag false positives, or leave "
                         "this tomogram out")
    return TrainingItem(str(tomogram), image, target, penalty_mask)

