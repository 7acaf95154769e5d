"""Annotated tomograms for membrane training: preprocessed images, membrane masks, edge bands, stack sampling."""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import InputError
from ..roi.data import load_mask, load_tomogram
from ..roi.planes import plane_axes
from .preprocess import preprocess


@dataclass
class MembraneItem:
    """One annotated tomogram on the model's grid: network input, membrane mask and membrane edge band."""

    name: str
    image: np.ndarray
    target: np.ndarray
    edges: np.ndarray


def edge_band(mask):
    """Membrane edges per z-section: pixels within one pixel of the mask's boundary, inside or out."""
    cross = ndimage.generate_binary_structure(2, 1)[None]
    return ndimage.binary_dilation(mask, cross) & ~ndimage.binary_erosion(mask, cross, border_value=1)


def load_membrane_item(tomogram, mask, grid, preprocessing, voxel_size=None):
    """Load one (tomogram, membrane mask) pair on the model's grid and preprocess the tomogram.

    Raises
    ------
    InputError
        Unreadable files, NaN or constant tomograms, a mask of another shape, a mask without membrane voxels.
    """
    image, (shape, _, factor) = load_tomogram(tomogram, grid, voxel_size)
    target = load_mask(mask, shape, factor, "membrane mask")
    if not target.any():
        raise InputError(f"{mask}: the membrane mask is empty (no membrane voxels"
                         f"{' after resampling to the model grid' if factor != 1.0 else ''}); annotate membranes "
                         "or leave this tomogram out")
    return MembraneItem(str(tomogram), preprocess(image, preprocessing, copy=False), target, edge_band(target))


class StackSampler:
    """Random (sections × patch × patch) stacks from row ranges of items, with their masks.

    Parameters
    ----------
    items : list of MembraneItem
    rows : list of (int, int)
        The row (y) range each entry may draw from; ``owners[i]`` is its item.
    planes : sequence of str
        Section planes to draw stacks of (:mod:`..roi.planes`), one chosen at random per stack. With several,
        patches are square and fit every axis, and the y extent of every plane stays within the entry's rows.
    """

    def __init__(self, items, owners, rows, sections, patch, planes=("xy",)):
        self.items, self.owners, self.rows, self.planes = items, owners, rows, tuple(planes)
        depths = [items[o].image.shape[0] for o in owners]
        widths = [items[o].image.shape[2] for o in owners]
        bands = [hi - lo for lo, hi in rows]
        self.sections = min([sections] + depths)
        self.patch_y = min([patch] + bands)
        self.patch_x = min([patch] + widths)
        if self.planes != ("xy",):
            self.patch_y = self.patch_x = min([patch] + depths + bands + widths)
            self.sections = min(self.sections, self.patch_y)
        self.patch_y -= self.patch_y % 8
        self.patch_x -= self.patch_x % 8
        if min(self.patch_y, self.patch_x) < 8:
            raise InputError("tomograms are too small for training patches (at least 8 × 8 pixels of training rows)")

    def stack(self, rng, augment):
        """One (image, target, edges) triple of float32 arrays shaped (sections, patch_y, patch_x)."""
        entry = int(rng.integers(len(self.owners)))
        item, (lo, hi) = self.items[self.owners[entry]], self.rows[entry]
        # one plane draws nothing, so an x–y sampler's random stream is what it was before planes
        plane = self.planes[int(rng.integers(len(self.planes)))] if len(self.planes) > 1 else self.planes[0]
        axes = plane_axes(plane)
        extent = [0, 0, 0]
        for k, size in zip(axes, (self.sections, self.patch_y, self.patch_x)):
            extent[k] = size
        bounds = ((0, item.image.shape[0]), (lo, hi), (0, item.image.shape[2]))
        window = tuple(slice(start, start + size) for start, size in
                       ((int(rng.integers(b0, b1 - size + 1)), size) for (b0, b1), size in zip(bounds, extent)))
        image, target = item.image[window].transpose(axes), item.target[window].transpose(axes)
        # the edge band is per section of the plane: x–y's is stored, the others' are made from the window
        edges = item.edges[window] if plane == "xy" else edge_band(target)
        arrays = [image, target.astype(np.float32), edges.astype(np.float32)]
        if augment:
            if self.patch_y == self.patch_x:
                k = int(rng.integers(4))
                arrays = [np.rot90(a, k, axes=(1, 2)) for a in arrays]
            if rng.random() < 0.5:
                arrays = [a[:, :, ::-1] for a in arrays]
            if rng.random() < 0.5:
                arrays = [a[::-1] for a in arrays]
            arrays[0] = arrays[0] * np.float32(rng.uniform(0.8, 1.2)) + np.float32(rng.uniform(-0.1, 0.1))
        return [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]

    def batch(self, size, rng, augment):
        """``size`` stacks as three arrays shaped (size, sections, patch_y, patch_x)."""
        stacks = [self.stack(rng, augment) for _ in range(size)]
        return [np.stack(parts) for parts in zip(*stacks)]
