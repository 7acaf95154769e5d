"""Restrict membrane masks to ROIs and clean them: one cropped membrane label map per ROI."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import raise_problems
from ..morphology import ball_closing, ball_opening, remove_small_pieces
from ..sparse import label_boxes, label_values, voxel_groups


@dataclass
class CleanParameters:
    """Clean-up of each membrane inside an ROI; lengths in nm, volumes in nm³.

    closing_nm : fills pin-holes and 1-voxel cracks (0 skips).
    opening_nm : removes protrusions thinner than about twice this (0 skips; keep it below half the
        membrane thickness or the membrane itself goes).
    min_volume_nm3 : connected pieces smaller than this are salt-and-pepper noise and dropped.
    margin_nm : the crop around each ROI's bounding box.
    """

    closing_nm: float = 1.0
    opening_nm: float = 0.0
    min_volume_nm3: float = 50.0
    margin_nm: float = 2.0

    def problems(self):
        return [f"{name} must be ≥ 0, got {value}" for name, value in vars(self).items() if value < 0]


@dataclass
class RoiMembranes:
    """The membranes of one ROI: a cropped label map (0 background, membrane labels kept) and its offset.

    The crop is held as its cleaned pieces, each a boolean mask over a box of the crop, so a whole-volume
    ROI costs memory in proportion to its membrane; :attr:`labels` builds the dense crop and
    :meth:`fill` writes it into an existing array (e.g. a memory-mapped MRC).
    """

    roi: int
    shape: Tuple[int, int, int]
    offset_zyx: Tuple[int, int, int]
    voxels: Dict[int, int]
    pieces: List[Tuple[Tuple[slice, ...], np.ndarray, int]] = field(default_factory=list)

    def fill(self, out):
        """Write the labels into ``out`` (shape :attr:`shape`, zeros); the first label given a voxel keeps it."""
        for box, mask, label in self.pieces:
            target = out[box]
            target[mask & (target == 0)] = label
        return out

    @property
    def labels(self):
        """The dense (z, y, x) int16 label crop."""
        return self.fill(np.zeros(self.shape, dtype=np.int16))


def clean_mask(mask, voxel_size_nm, params):
    """Closing, opening and small-piece removal of one binary membrane mask."""
    vs = float(voxel_size_nm)
    if params.closing_nm >= vs:
        mask = ball_closing(mask, params.closing_nm / vs)
    if params.opening_nm >= vs:
        mask = ball_opening(mask, params.opening_nm / vs)
    return remove_small_pieces(mask, params.min_volume_nm3 / vs ** 3)


def cleaning_reach(voxel_size_nm, params):
    """How far (voxels) the clean-up acts: membrane pieces farther apart than this are cleaned apart."""
    radius = max(params.closing_nm, params.opening_nm) / float(voxel_size_nm)
    return 2 * int(np.floor(radius + 1e-9)) + 2


def restrict_to_rois(membranes, rois, voxel_size_nm, params=None, wanted_labels=None, source="membranes"):
    """Per ROI, the cleaned membranes inside it.

    Work is done per group of nearby membrane voxels, each in its own padded crop, so memory follows the
    membrane, not the volume; the result is the same as cleaning the whole ROI box at once.

    Parameters
    ----------
    membranes : ndarray (z, y, x)
        Membrane mask (binary) or label map (e.g. 1 plasma membrane, 2 ER); labels are kept per membrane.
        May be memory-mapped: it is read a slab or a crop at a time.
    rois : ndarray (z, y, x) of int or None
        ROI label map; None makes the whole volume one ROI (label 1).
    voxel_size_nm : float
    params : CleanParameters
    wanted_labels : list of int, optional
        Membrane labels to keep (default all).

    Returns
    -------
    items : list of RoiMembranes
        One per ROI that holds membrane after clean-up.
    problems : list of str
        One line per ROI without membrane (those ROIs are skipped, the others still returned).
    """
    params = params or CleanParameters()
    raise_problems([f"{source}: {p}" for p in params.problems()])
    if rois is not None and rois.shape != membranes.shape:
        raise_problems([f"{source}: membrane mask shape {membranes.shape} differs from the ROI map's {rois.shape}"])
    labels = [int(v) for v in wanted_labels] if wanted_labels else label_values(membranes)
    margin = int(np.ceil(params.margin_nm / voxel_size_nm))
    reach = cleaning_reach(voxel_size_nm, params)
    boxes = {1: tuple(slice(0, n) for n in membranes.shape)} if rois is None else label_boxes(rois)
    items: List[RoiMembranes] = []
    problems: List[str] = []
    for roi, box in boxes.items():
        box = tuple(slice(max(0, s.start - margin), min(n, s.stop + margin)) for s, n in zip(box, membranes.shape))
        shape = tuple(s.stop - s.start for s in box)
        item = RoiMembranes(roi, shape, tuple(s.start for s in box), {})
        rows = (slice(0, shape[1]), slice(0, shape[2]))

        def picked(part, label):  # the membrane voxels of ``label`` in the ROI, over ``part`` of its box
            part = tuple(slice(s.start + p.start, s.start + p.stop) for s, p in zip(box, part))
            found = np.asarray(membranes[part]) == label
            return found if rois is None else found & (np.asarray(rois[part]) == roi)

        for label in labels:
            groups = voxel_groups(shape, lambda z0, z1: picked((slice(z0, z1),) + rows, label), reach)
            for group in range(1, len(groups) + 1):
                crop = groups.padded_box(group, reach)
                cleaned = clean_mask(picked(crop, label) & groups.members(group, crop), voxel_size_nm, params)
                if cleaned.any():
                    item.pieces.append((crop, cleaned, label))
                    item.voxels[label] = item.voxels.get(label, 0) + int(cleaned.sum())
        if not item.voxels:
            problems.append(f"{source}: ROI {roi} holds no membrane voxels (after clean-up); skipped")
            continue
        items.append(item)
    if not items and not problems:
        problems.append(f"{source}: the ROI map has no ROIs")
    return items, problems


def origin_nm(offset_zyx, voxel_size_nm, origin: Optional[Tuple[float, float, float]] = None):
    """(x, y, z) nm position of a crop's voxel (0, 0, 0)."""
    base = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64)
    return base + np.asarray(offset_zyx[::-1], dtype=np.float64) * voxel_size_nm
