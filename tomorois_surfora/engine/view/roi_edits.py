"""ROI curation as plain functions on arrays: what the napari widget's buttons call, testable without a window.

A curation round works on two (z, y, x) arrays on the tomogram's grid: the ROI label map (0 background,
1..n ROIs) and the penalty mask (patterns the user flagged as false positives). Both are the inputs of
``roi train`` for a fine-tuning round. Every function returns new arrays and leaves its inputs unchanged,
so the widget can keep them for undo.
"""
import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import write_mrc
from ..roi.extract import ExtractionParameters, extract_rois


def label_at(labels, position_zyx):
    """The ROI label at a voxel position (fractional positions are rounded); 0 outside the volume."""
    index = tuple(int(round(float(v))) for v in position_zyx)
    if len(index) != 3 or any(not 0 <= i < n for i, n in zip(index, labels.shape)):
        return 0
    return int(labels[index])


def delete_roi(labels, label):
    """``labels`` with ROI ``label`` set to background.

    Raises
    ------
    InputError
        If ``label`` is background or not in the map.
    """
    _require_label(labels, label)
    return np.where(labels == label, 0, labels).astype(labels.dtype)


def flag_false_positive(labels, penalty, label):
    """Remove ROI ``label`` and add its voxels to the penalty mask.

    Returns
    -------
    labels, penalty : ndarray
        The label map without the ROI, and the penalty mask (bool) with its voxels set. Training then
        penalises confidence there (``roi train --penalty``).
    """
    _require_label(labels, label)
    inside = labels == label
    penalty = np.zeros(labels.shape, bool) if penalty is None else np.asarray(penalty, bool).copy()
    if penalty.shape != labels.shape:
        raise InputError(f"penalty mask shape {penalty.shape} differs from the ROI map's {labels.shape}")
    penalty[inside] = True
    return np.where(inside, 0, labels).astype(labels.dtype), penalty


def paint_roi(labels, region, label, erase=False):
    """``labels`` with ``region`` (a boolean mask or a tuple of slices) set to ``label``, or erased to 0 where it
    held ``label`` when ``erase`` is true (label 0 erases every ROI in the region)."""
    labels = labels.copy()
    if erase:
        inside = np.zeros(labels.shape, bool)
        inside[region] = True
        labels[inside & ((labels == label) | (label == 0))] = 0
    else:
        if label < 1:
            raise InputError(f"ROI labels are positive whole numbers, got {label}")
        labels[region] = label
    return labels


def reextract_region(labels, probabilities, voxel_size, params=None, region=None):
    """Re-run ROI extraction on the probability map inside ``region`` and put the result into ``labels``.

    ROIs that lie wholly inside the region are replaced; ROIs that cross its border keep their voxels
    outside it. New ROIs are numbered after the highest label in use, so ROIs elsewhere keep their numbers.

    Parameters
    ----------
    labels : ndarray of int (z, y, x)
    probabilities : ndarray (z, y, x), values in [0, 1]
    voxel_size : float
        Å.
    params : ExtractionParameters, optional
        Threshold, minimum volume, opening and closing, as ``roi extract`` takes them.
    region : tuple of slice, optional
        The part of the volume to redo (e.g. the sections in view); the whole volume if None.

    Returns
    -------
    ndarray of int32
    """
    if probabilities.shape != labels.shape:
        raise InputError(f"probability map shape {probabilities.shape} differs from the ROI map's "
                         f"{labels.shape}")
    region = tuple(slice(None) for _ in labels.shape) if region is None else tuple(region)
    params = params or ExtractionParameters()
    new_labels, _ = extract_rois(np.asarray(probabilities[region], np.float32), voxel_size, params)
    result = labels.astype(np.int32, copy=True)
    window = result[region]
    window[...] = 0
    start = int(result.max()) + 1
    window[new_labels > 0] = new_labels[new_labels > 0] + (start - 1)
    return result


def save_curation(out_dir, stem, labels, penalty, voxel_size, edits=None):
    """Write ``<stem>_rois.mrc`` (integer labels) and ``<stem>_penalty.mrc`` (0/1) to ``out_dir`` with the
    tomogram's voxel size (Å), and the edits (if given) as ``<stem>_edits.json``; returns the two map paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels_path, penalty_path = out_dir / f"{stem}_rois.mrc", out_dir / f"{stem}_penalty.mrc"
    write_mrc(labels_path, np.asarray(labels, np.int32), voxel_size)
    penalty = np.zeros(labels.shape, bool) if penalty is None else penalty
    write_mrc(penalty_path, np.asarray(penalty, bool), voxel_size)
    if edits is not None:
        (out_dir / f"{stem}_edits.json").write_text(json.dumps({"edits": edits}, indent=1))
    return labels_path, penalty_path


def replay_edits(labels, penalty, probabilities, voxel_size, edits):
    """Apply a curation session's recorded edits (``<name>_edits.json``) to a label map and penalty mask.

    Each edit is a dict: ``{"op": "delete", "label": k}``, ``{"op": "flag", "label": k}`` or
    ``{"op": "reextract", "threshold": t, "min_volume_nm3": v, "opening_nm": o, "closing_nm": c,
    "region": [[z0, z1], [y0, y1], [x0, x1]] or null}``. Started from the same maps, the replay gives the
    same result as the session (paint strokes are not recorded: they are in the saved label map only).

    Returns
    -------
    labels, penalty : ndarray
    """
    penalty = np.zeros(labels.shape, bool) if penalty is None else np.asarray(penalty) > 0
    for number, edit in enumerate(edits, start=1):
        op = edit.get("op")
        if op == "delete":
            labels = delete_roi(labels, int(edit["label"]))
        elif op == "flag":
            labels, penalty = flag_false_positive(labels, penalty, int(edit["label"]))
        elif op == "reextract":
            if probabilities is None:
                raise InputError(f"edit {number} re-extracts ROIs: a probability map is needed")
            params = ExtractionParameters(**{key: float(edit[key]) for key in
                                             ("threshold", "min_volume_nm3", "opening_nm", "closing_nm")})
            region = None if edit.get("region") is None else tuple(slice(a, b) for a, b in edit["region"])
            labels = reextract_region(labels, probabilities, voxel_size, params, region)
        else:
            raise InputError(f"edit {number}: unknown operation {op!r} (expected delete, flag or reextract)")
    return labels, penalty


def region_record(region, shape):
    """A region of slices as JSON-friendly [[start, stop], ...] (None for the whole volume)."""
    if region is None:
        return None
    return [list(s.indices(n)[:2]) for s, n in zip(region, shape)]


def _require_label(labels, label):
    if label < 1 or not np.any(labels == label):
        raise InputError(f"there is no ROI {label} in the label map" if label >= 1
                         else "that is background, not an ROI")
