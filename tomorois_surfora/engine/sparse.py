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


@dataclass
class SlabPieces:
    """The 26-connected pieces of a selection, labelled slab by slab (see :func:`slab_pieces`).

    count : the pieces kept (at least the minimum size), numbered 1..count in the order of their first voxel
    (z, then y, then x), as ``ndimage.label`` numbers them on the whole volume.
    voxels : their sizes, in that order.
    """

    shape: Tuple[int, int, int]
    select: Callable[[int, int], np.ndarray]
    slab: int
    count: int
    voxels: np.ndarray
    _offsets: List[int]
    _lookup: np.ndarray

    def slabs(self):
        """Yield (z0, labels of sections z0..z0+slab-1) with the final numbering, slab after slab."""
        for index, z0 in enumerate(range(0, self.shape[0], self.slab)):
            local, _ = _label_slab(self.select(z0, min(self.shape[0], z0 + self.slab)))
            labels = np.zeros(local.shape, self._lookup.dtype)
            inside = local > 0
            labels[inside] = self._lookup[local[inside] + self._offsets[index]]
            yield z0, labels


def _label_slab(selection):
    from .morphology import label_pieces

    return label_pieces(np.asarray(selection, dtype=bool))


def slab_pieces(shape, select: Callable[[int, int], np.ndarray], min_voxels=0, slab=SLAB_SECTIONS):
    """Label the 26-connected pieces of a selection a slab of sections at a time, dropping small ones.

    The same labels as labelling the whole selection at once (after removing pieces under ``min_voxels``),
    for the memory of one slab: each slab is labelled on its own, pieces that touch across a slab boundary
    (by a face, an edge or a corner) are joined, and :meth:`SlabPieces.slabs` labels the slabs again with
    the joined numbering.

    Parameters
    ----------
    shape : (z, y, x)
    select : callable
        ``select(z0, z1)`` returns the boolean selection of sections z0..z1-1; it is called twice per slab.
    min_voxels : float
        Pieces with fewer voxels are dropped.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    offsets, sizes, joins, last = [], [np.zeros(1, np.int64)], [], None
    total = 0
    for z0 in range(0, shape[0], slab):
        local, n = _label_slab(select(z0, min(shape[0], z0 + slab)))
        offsets.append(total)
        sizes.append(np.bincount(local.ravel(), minlength=n + 1)[1:])
        first = np.where(local[0] > 0, local[0] + total, 0)
        if last is not None:
            joins.append(_touching(last, first))
        last = np.where(local[-1] > 0, local[-1] + total, 0)
        total += n
    pairs = np.concatenate(joins) if joins else np.zeros((0, 2), np.int64)
    graph = coo_matrix((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(total + 1, total + 1))
    _, component = connected_components(graph, directed=False)
    component = component[1:]  # node 0 is the background
    voxels = np.bincount(component, weights=np.concatenate(sizes)[1:], minlength=component.max(initial=-1) + 1)
    first_node = np.full(len(voxels), total, np.int64)
    np.minimum.at(first_node, component, np.arange(total))
    kept = np.flatnonzero(voxels >= max(1, np.ceil(min_voxels - 1e-9)))  # component 0: background
    kept = kept[np.argsort(first_node[kept], kind="stable")]
    number = np.zeros(len(voxels), np.int64)
    number[kept] = np.arange(1, len(kept) + 1)
    lookup = np.concatenate([[0], number[component]])
    lookup = lookup.astype(np.int32 if len(kept) < 2 ** 31 else np.int64)
    return SlabPieces(tuple(shape), select, slab, len(kept), voxels[kept].astype(np.int64), offsets, lookup)


def _touching(before, after):
    """Unique (label, label) pairs of nonzero voxels of two consecutive sections that touch in 26-connectivity."""
    rows, cols = before.shape
    found = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            a = before[max(0, -dy):rows - max(0, dy), max(0, -dx):cols - max(0, dx)]
            b = after[max(0, dy):rows - max(0, -dy), max(0, dx):cols - max(0, -dx)]
            both = (a > 0) & (b > 0)
            if both.any():
                found.append(np.stack([a[both], b[both]], axis=1))
    return np.unique(np.concatenate(found), axis=0) if found else np.zeros((0, 2), np.int64)
