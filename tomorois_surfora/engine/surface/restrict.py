"""Restrict membrane masks to ROIs and clean them: one cropped membrane label map per ROI."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy import ndimage

from ..errors import raise_problems
from ..morphology import ball_closing, ball_opening, remove_small_pieces


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
    """The membranes of one ROI: a cropped label map (0 background, membrane labels kept) and its offset."""

    roi: int
    labels: np.ndarray
    offset_zyx: Tuple[int, int, int]
    voxels: Dict[int, int]


def clean_mask(mask, voxel_size_nm, params):
    """Closing, opening and small-piece removal of one binary membrane mask."""
    vs = float(voxel_size_nm)
    if params.closing_nm >= vs:
        mask = ball_closing(mask, params.closing_nm / vs)
    if params.opening_nm >= vs:
        mask = ball_opening(mask, params.opening_nm / vs)
    return remove_small_pieces(mask, params.min_volume_nm3 / vs ** 3)


def membrane_labels(membranes, wanted=None):
    """Which membrane labels to process: ``wanted``, or every non-zero value present."""
    present = [int(v) for v in np.unique(membranes) if v != 0]
    return present if not wanted else [int(v) for v in wanted]


def restrict_to_rois(membranes, rois, voxel_size_nm, params=None, wanted_labels=None, source="membranes"):
    """Per ROI, the cleaned membranes inside it.

    Parameters
    ----------
    membranes : ndarray (z, y, x)
        Membrane mask (binary) or label map (e.g. 1 plasma membrane, 2 ER); labels are kept per membrane.
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
    membranes = np.asarray(membranes)
    rois = np.ones(membranes.shape, dtype=np.int32) if rois is None else np.asarray(rois)
    if rois.shape != membranes.shape:
        raise_problems([f"{source}: membrane mask shape {membranes.shape} differs from the ROI map's {rois.shape}"])
    labels = membrane_labels(membranes, wanted_labels)
    margin = int(np.ceil(params.margin_nm / voxel_size_nm))
    items: List[RoiMembranes] = []
    problems: List[str] = []
    integer_rois = rois if np.issubdtype(rois.dtype, np.integer) else rois.astype(np.int32)
    for index, box in enumerate(ndimage.find_objects(integer_rois)):
        if box is None:
            continue
        roi = index + 1
        box = tuple(slice(max(0, s.start - margin), min(n, s.stop + margin)) for s, n in zip(box, rois.shape))
        inside = rois[box] == roi
        crop = np.zeros(inside.shape, dtype=np.int16)
        voxels = {}
        for label in labels:
            cleaned = clean_mask((membranes[box] == label) & inside, voxel_size_nm, params)
            if cleaned.any():
                crop[cleaned & (crop == 0)] = label
                voxels[label] = int(cleaned.sum())
        if not voxels:
            problems.append(f"{source}: ROI {roi} holds no membrane voxels (after clean-up); skipped")
            continue
        items.append(RoiMembranes(roi, crop, tuple(s.start for s in box), voxels))
    if not items and not problems:
        problems.append(f"{source}: the ROI map has no ROIs")
    return items, problems


def origin_nm(offset_zyx, voxel_size_nm, origin: Optional[Tuple[float, float, float]] = None):
    """(x, y, z) nm position of a crop's voxel (0, 0, 0)."""
    base = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64)
    return base + np.asarray(offset_zyx[::-1], dtype=np.float64) * voxel_size_nm
