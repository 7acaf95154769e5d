"""Membrane segmentation scores as seed 004 reports them: Dice, IoU, precision, recall, F1 and mCov.

Voxel scores count membrane voxels of a predicted and a true mask. F1 is the harmonic mean of precision and
recall (2PR / (P + R), which on one mask equals Dice; the seed's formula omits the 2 and so reports about
half). mCov (mean coverage) is the mean, over the true membrane pieces (26-connected instances of the truth's
labels), of the best IoU any predicted piece reaches with it: it falls when a membrane is broken into parts
or merged with another.
"""
import numpy as np

from ..morphology import label_pieces


def voxel_counts(predicted, truth):
    """True-positive, false-positive and false-negative voxel counts of two boolean masks."""
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    tp = int(np.count_nonzero(predicted & truth))
    return {"tp": tp, "fp": int(np.count_nonzero(predicted)) - tp, "fn": int(np.count_nonzero(truth)) - tp}


def scores_from_counts(counts):
    """Dice, IoU, precision, recall and F1 from voxel counts (None where undefined)."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (
        0.0 if precision is not None and recall is not None else None)
    return {"dice": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
            "iou": tp / (tp + fp + fn) if tp + fp + fn else None,
            "precision": precision, "recall": recall, "f1": f1}


def mean_coverage(predicted_labels, true_labels):
    """mCov: the mean over true pieces of the best IoU with any predicted piece (None without true pieces)."""
    true_labels, predicted_labels = np.asarray(true_labels), np.asarray(predicted_labels)
    true_ids, true_sizes = np.unique(true_labels[true_labels > 0], return_counts=True)
    if len(true_ids) == 0:
        return None
    both = (true_labels > 0) & (predicted_labels > 0)
    pairs, overlap = np.unique(np.stack([true_labels[both], predicted_labels[both]]), axis=1, return_counts=True)
    predicted_sizes = dict(zip(*np.unique(predicted_labels[predicted_labels > 0], return_counts=True)))
    best = dict.fromkeys(true_ids.tolist(), 0.0)
    size_of = dict(zip(true_ids.tolist(), true_sizes.tolist()))
    for (t, p), inter in zip(pairs.T.tolist(), overlap.tolist()):
        best[t] = max(best[t], inter / (size_of[t] + predicted_sizes[p] - inter))
    return float(np.mean(list(best.values())))


def evaluate_membranes(predicted_labels, true_labels):
    """Voxel counts and scores of one tomogram, and mCov over 26-connected pieces of each side.

    Parameters
    ----------
    predicted_labels, true_labels : ndarray
        Label maps (or masks): nonzero is membrane. True labels are split into their connected pieces.
    """
    truth_pieces = _pieces(true_labels)
    predicted_pieces, _ = label_pieces(np.asarray(predicted_labels) > 0)
    counts = voxel_counts(predicted_pieces > 0, truth_pieces > 0)
    return {**counts, **scores_from_counts(counts), "mcov": mean_coverage(predicted_pieces, truth_pieces),
            "true_pieces": int(truth_pieces.max()), "predicted_pieces": int(predicted_pieces.max())}


def _pieces(labels):
    """Connected (26) pieces of every label of ``labels``, numbered 1..n over all labels."""
    labels = np.asarray(labels)
    out = np.zeros(labels.shape, np.int32)
    count = 0
    for value in np.unique(labels[labels != 0]):
        pieces, n = label_pieces(labels == value)
        out[pieces > 0] = pieces[pieces > 0] + count
        count += n
    return out


def pooled_scores(evaluations):
    """Scores over all tomograms' voxels together, and the mean mCov over tomograms."""
    counts = {key: sum(e[key] for e in evaluations) for key in ("tp", "fp", "fn")}
    covers = [e["mcov"] for e in evaluations if e["mcov"] is not None]
    return {**counts, **scores_from_counts(counts), "mcov": float(np.mean(covers)) if covers else None,
            "tomograms": len(evaluations)}
