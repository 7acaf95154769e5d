"""Work on the sparse membrane of a large volume in small crops, so memory follows the membrane.

A whole-cell label map is mostly background: a 1000 × 1000 × 300 grid may hold a few hundred thousand
membrane voxels. :func:`voxel_groups` scans the volume slab by slab (it may be a memory-mapped MRC) and
groups the selected voxels so that any two voxels closer than ``reach`` fall in the same group: an operation
whose effect reaches no farther than that (a closing, a fitting window, a ray) gives the same result on each
group's padded crop as on the whole volume. Memory is one slab plus a coarse grid of ``reach``-sized cells.
"""
from dataclasses import dataclass
from typing import Callable, List, Tuple

import numpy as np
from scipy import ndimage

SLAB_SECTIONS = 32


@dataclass
class VoxelGroups:
    """Groups of selected voxels, found on a coarse grid of ``cell``-voxel cubes.

    coarse : int32 array, the group (1..n) of every occupied cell, 0 for empty cells.
    boxes : per group, the (z, y, x) slices of its occupied cells (cell-aligned, cut to the volume).
    voxels : per group, how many selected voxels it holds.
    """

    cell: int
    shape: Tuple[int, int, int]
    coarse: np.ndarray
    boxes: List[Tuple[slice, slice, slice]]
    voxels: List[int]

    def __len__(self):
        return len(self.boxes)

    def members(self, group, box):
        """Boolean array over ``box``: the voxels whose cell belongs to ``group`` (1-based)."""
        cells = [np.arange(s.start, s.stop) // self.cell for s in box]
        return self.coarse[np.ix_(*cells)] == group

    def padded_box(self, group, pad, align=1):
        """The group's box grown by ``pad`` voxels each side and cut to the volume; its start is rounded
        down to a multiple of ``align`` (so grids anchored at the volume's corner stay anchored)."""
        box = []
        for s, n in zip(self.boxes[group - 1], self.shape):
            start = max(0, s.start - pad)
            box.append(slice(start - start % align, min(n, s.stop + pad)))
        return tuple(box)


def voxel_groups(shape, select: Callable[[int, int], np.ndarray], reach, slab=SLAB_SECTIONS):
    """Group the voxels that ``select`` picks so that voxels within ``reach`` voxels share a group.

    Parameters
    ----------
    shape : (z, y, x)
        The volume's shape.
    select : callable
        ``select(z0, z1)`` returns the boolean selection of sections z0..z1-1 (shape (z1 - z0, y, x)).
    reach : int
        Voxels closer than this (in every axis) are in one group; groups are ≥ ``reach`` voxels apart.
    slab : int
        Sections read at a time.

    Returns
    -------
    VoxelGroups
    """
    cell = max(1, int(np.ceil(reach)))
    coarse_shape = tuple(-(-n // cell) for n in shape)
    occupied = np.zeros(coarse_shape, dtype=bool)
    counts = np.zeros(coarse_shape, dtype=np.int64)
    slab = max(cell, slab - slab % cell)  # whole cells per slab
    for z0 in range(0, shape[0], slab):
        z1 = min(shape[0], z0 + slab)
        zyx = np.nonzero(select(z0, z1))
        if len(zyx[0]) == 0:
            continue
        index = ((zyx[0] + z0) // cell, zyx[1] // cell, zyx[2] // cell)
        flat = np.ravel_multi_index(index, coarse_shape)
        cells, hits = np.unique(flat, return_counts=True)
        occupied.ravel()[cells] = True
        counts.ravel()[cells] += hits
    coarse, n = ndimage.label(occupied, structure=np.ones((3, 3, 3), dtype=bool))
    boxes, voxels = [], []
    for group, found in enumerate(ndimage.find_objects(coarse), start=1):
        boxes.append(tuple(slice(s.start * cell, min(s.stop * cell, size)) for s, size in zip(found, shape)))
        voxels.append(int(counts[found][coarse[found] == group].sum()))
    return VoxelGroups(cell, tuple(int(s) for s in shape), coarse.astype(np.int32), boxes, voxels)


def label_values(volume, slab=SLAB_SECTIONS):
    """The non-zero values of an integer volume (memory-mapped or not), read a slab at a time."""
    values = set()
    for z0 in range(0, volume.shape[0], slab):
        part = np.asarray(volume[z0:z0 + slab])
        values.update(int(v) for v in np.unique(part[part != 0]))  # sorting only the membrane is ~20× faster
    return sorted(values)


def label_boxes(volume, slab=SLAB_SECTIONS):
    """{label: (z, y, x) slices} bounding boxes of the non-zero labels of an integer volume, read a slab at a
    time (memory-mapped volumes stay on disk)."""
    found = {}
    for z0 in range(0, volume.shape[0], slab):
        part = np.asarray(volume[z0:z0 + slab])
        if not np.issubdtype(part.dtype, np.integer):
            part = part.astype(np.int64)
        for index, box in enumerate(ndimage.find_objects(part), start=1):
            if box is None:
                continue
            box = (slice(box[0].start + z0, box[0].stop + z0),) + tuple(box[1:])
            old = found.get(index)
            found[index] = box if old is None else tuple(slice(min(a.start, b.start), max(a.stop, b.stop))
                                                         for a, b in zip(old, box))
    return dict(sorted(found.items()))
