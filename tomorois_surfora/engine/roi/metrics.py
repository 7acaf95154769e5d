"""ROI detection metrics: object-level matching by IoU (the seed paper's FP and FN rates), voxel Dice and IoU."""
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..errors import InputError

# An unmatched ROI that overlaps one on the other side at least this much (IoU) was found in the wrong shape,
# not missed outright (or, for a false positive, invented where there is nothing).
OVERLAP_IOU = 0.1


def pairwise_iou(predicted, truth):
    """IoU of every predicted ROI with every true ROI.

    Returns
    -------
    iou : ndarray (n_predicted, n_true)
    predicted_ids, true_ids : ndarray
        The labels the rows and columns stand for.
    """
    predicted_ids = np.unique(predicted[predicted > 0])
    true_ids = np.unique(truth[truth > 0])
    iou = np.zeros((len(predicted_ids), len(true_ids)))
    if not len(predicted_ids) or not len(true_ids):
        return iou, predicted_ids, true_ids
    p_index = np.searchsorted(predicted_ids, predicted)
    t_index = np.searchsorted(true_ids, truth)
    both = (predicted > 0) & (truth > 0)
    intersection = np.zeros_like(iou)
    np.add.at(intersection, (p_index[both], t_index[both]), 1)
    p_sizes = np.bincount(p_index[predicted > 0], minlength=len(predicted_ids)).astype(float)
    t_sizes = np.bincount(t_index[truth > 0], minlength=len(true_ids)).astype(float)
    iou = intersection / (p_sizes[:, None] + t_sizes[None, :] - intersection)
    return iou, predicted_ids, true_ids


def depth_spans(predicted, truth, iou, predicted_ids, true_ids):
    """Sections (z) each true ROI spans and those of the predicted ROI that overlaps it most (0 when none does).

    A 2D network that marks a contact at every depth shows as predicted spans far beyond the true ones.

    Returns
    -------
    list of (int, int)
        (true span, predicted span) per true ROI, in label order.
    """
    def spans(labels, ids):
        if not len(ids):
            return {}
        objects = _bounding_slices(labels, ids)
        return {label: (box[0].stop - box[0].start if box is not None else 0) for label, box in zip(ids, objects)}

    true_span, predicted_span = spans(truth, true_ids), spans(predicted, predicted_ids)
    result = []
    for j, label in enumerate(true_ids):
        best = int(np.argmax(iou[:, j])) if iou.shape[0] and iou[:, j].max() > 0 else None
        result.append((int(true_span[label]), 0 if best is None else int(predicted_span[predicted_ids[best]])))
    return result


def median_depth_ratio(spans):
    """Median of predicted / true depth span over the (true, predicted) pairs with a prediction; None if none."""
    found = [p / t for t, p in spans if p > 0 and t > 0]
    return float(np.median(found)) if found else None


def describe_depth(result):
    """One line on how deep the predicted ROIs reach against the true ones (:func:`depth_spans`)."""
    spans = result.get("depth_spans", [])
    ratio = median_depth_ratio(spans)
    if ratio is None:
        return "depth: no true ROI has an overlapping prediction"
    found = sum(1 for t, p in spans if p > 0)
    return (f"depth: the predicted ROIs span {ratio:.2f}× the sections of the true ones they overlap most "
            f"(median over {found} of {len(spans)} true ROIs)")


def _bounding_slices(labels, ids):
    from scipy import ndimage

    boxes = ndimage.find_objects(labels.astype(np.int64, copy=False), max_label=int(ids.max()))
    return [boxes[int(label) - 1] for label in ids]


def evaluate_rois(predicted, truth, iou_threshold=0.5, source="predicted ROIs"):
    """Compare predicted ROI labels with true ROI labels.

    Predicted and true ROIs are paired one-to-one to maximise total IoU (Hungarian assignment); a pair
    counts as a true positive when its IoU is at least ``iou_threshold``.

    Returns
    -------
    dict
        ``tp``, ``fp``, ``fn``; ``fp_rate`` = FP / predicted ROIs and ``fn_rate`` = FN / true ROIs (None when
        there are none); voxel ``dice`` and ``iou`` of the union of ROIs; ``matches`` as
        (predicted label, true label, IoU); ``fn_overlapping`` and ``fp_overlapping``, the unmatched true
        and predicted ROIs that overlap an ROI on the other side with IoU ≥ ``OVERLAP_IOU`` (below the
        match IoU): errors of shape rather than of detection.
    """
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape:
        raise InputError(f"{source}: shape {predicted.shape} does not match the ground truth's {truth.shape}")
    if not 0 < iou_threshold <= 1:
        raise InputError(f"IoU threshold must be in (0, 1], got {iou_threshold:g}")
    iou, predicted_ids, true_ids = pairwise_iou(predicted, truth)
    matches = []
    if iou.size:
        rows, cols = linear_sum_assignment(-iou)
        matches = [(int(predicted_ids[r]), int(true_ids[c]), round(float(iou[r, c]), 4))
                   for r, c in zip(rows, cols) if iou[r, c] >= iou_threshold]
    tp = len(matches)
    overlapping, matched_predicted, matched_true = iou >= OVERLAP_IOU, {m[0] for m in matches}, {m[1] for m in matches}
    fn_overlapping = sum(1 for j, label in enumerate(true_ids) if overlapping[:, j].any() and label not in matched_true)
    fp_overlapping = sum(1 for i, label in enumerate(predicted_ids)
                         if overlapping[i].any() and label not in matched_predicted)
    n_predicted, n_true = len(predicted_ids), len(true_ids)
    p, t = predicted > 0, truth > 0
    intersection, union = np.count_nonzero(p & t), np.count_nonzero(p | t)
    total = np.count_nonzero(p) + np.count_nonzero(t)
    return {
        "predicted": n_predicted, "true": n_true, "tp": tp, "fp": n_predicted - tp, "fn": n_true - tp,
        "fp_rate": (n_predicted - tp) / n_predicted if n_predicted else None,
        "fn_rate": (n_true - tp) / n_true if n_true else None,
        "dice": 2 * intersection / total if total else None,
        "iou": intersection / union if union else None,
        "iou_threshold": iou_threshold, "matches": matches,
        "fn_overlapping": fn_overlapping, "fp_overlapping": fp_overlapping,
        "depth_spans": depth_spans(predicted, truth, iou, predicted_ids, true_ids),
        "voxels": {"intersection": int(intersection), "predicted": int(np.count_nonzero(p)),
                   "true": int(np.count_nonzero(t)), "union": int(union)},
    }


def combine_evaluations(results):
    """Pool per-tomogram results of :func:`evaluate_rois` into dataset totals.

    Counts are summed; the FP and FN rates are recomputed from the sums (FP among all predicted ROIs, FN
    among all true ROIs) and Dice and IoU from the pooled voxel counts. ``median_depth_ratio`` is the median
    over true ROIs with an overlapping prediction of predicted / true depth span (1: bounded in z as the truth).
    """
    total = {key: sum(r[key] for r in results)
             for key in ("predicted", "true", "tp", "fp", "fn", "fn_overlapping", "fp_overlapping")}
    voxels = {key: sum(r["voxels"][key] for r in results) for key in ("intersection", "predicted", "true", "union")}
    both = voxels["predicted"] + voxels["true"]
    spans = [pair for r in results for pair in r.get("depth_spans", [])]
    total.update({
        "depth_spans": spans,
        "median_depth_ratio": median_depth_ratio(spans),
        "tomograms": len(results),
        "fp_rate": total["fp"] / total["predicted"] if total["predicted"] else None,
        "fn_rate": total["fn"] / total["true"] if total["true"] else None,
        "dice": 2 * voxels["intersection"] / both if both else None,
        "iou": voxels["intersection"] / voxels["union"] if voxels["union"] else None,
        "voxels": voxels})
    return total


def describe_overlapping_errors(result):
    """One line saying how many misses and false positives are shape errors (see :func:`evaluate_rois`)."""
    return (f"{result['fn_overlapping']} of {result['fn']} missed and {result['fp_overlapping']} of {result['fp']} "
            f"false ROIs overlap an ROI on the other side (IoU ≥ {OVERLAP_IOU:g}): found in the wrong shape")
