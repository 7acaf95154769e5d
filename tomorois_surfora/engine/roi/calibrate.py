"""Choose ROI extraction settings on annotated tomograms: what ``roi calibrate`` does and the benchmarks use.

Every setting of a small grid (threshold, watershed split, minimum volume, closing radius, minimum mean
confidence) extracts ROIs from the probability maps of tomograms with known ROIs; the setting with the best
pooled object F1, then voxel Dice, wins. On a tie the earlier setting of the grid wins: the lower threshold,
no split, no confidence filter (a step that changes nothing on the calibration tomograms is not taken).
The chosen settings can be stored in the model file, so ``roi extract --model`` uses them.
"""
import functools
import itertools
from dataclasses import asdict

from ..errors import InputError
from ..io import read_mrc
from .extract import (ExtractionParameters, checked_probabilities, drop_unsure_labels, labels_per_min_volume,
                      smooth_mask)
from .metrics import combine_evaluations, evaluate_rois

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
MIN_VOLUMES_NM3 = (2000.0, 8000.0)
MIN_CONFIDENCES = (0.0, 0.9, 0.95)  # mean confidence of an ROI; 0 keeps all
CLOSINGS_NM = (2.0, 5.0)  # a wider closing merges fragments of one ROI split by low-confidence cracks
EXTRACTION_KEY = "extraction"  # where the chosen settings live in a model file's training record


def score_group(maps, truths, group):
    """{(split, min volume, min confidence): (object F1, Dice)} of every setting that shares one (threshold,
    closing) ``group`` over the (probability map, true ROI labels) file pairs: the opened and closed mask is
    made once per map, then labelled for each split and minimum volume, then filtered by confidence."""
    threshold, closing = group
    per_setting = {}
    for map_path, truth_path in zip(maps, truths):
        probabilities, voxel_size = read_mrc(map_path)
        probabilities = checked_probabilities(probabilities, str(map_path))
        truth, _ = read_mrc(truth_path, voxel_size)
        if truth.shape != probabilities.shape:
            raise InputError(f"{truth_path}: shape {truth.shape} differs from the probability map {map_path}'s "
                             f"{probabilities.shape}")
        voxel_size_nm = voxel_size / 10.0
        smoothed = smooth_mask(probabilities > threshold, voxel_size_nm,
                               ExtractionParameters(threshold=threshold, closing_nm=closing))
        for split in (False, True):
            extraction = ExtractionParameters(threshold=threshold, split=split, closing_nm=closing)
            for min_volume, labels in labels_per_min_volume(smoothed, voxel_size_nm, extraction,
                                                            MIN_VOLUMES_NM3).items():
                for confidence in MIN_CONFIDENCES:
                    per_setting.setdefault((split, min_volume, confidence), []).append(
                        evaluate_rois(drop_unsure_labels(labels, probabilities, confidence), truth))
    scores = {}
    for key, results in per_setting.items():
        pooled = combine_evaluations(results)
        scores[key] = (2 * pooled["tp"] / max(1, 2 * pooled["tp"] + pooled["fp"] + pooled["fn"]),
                       pooled["dice"] or 0.0)
    return scores


def choose_extraction(maps, truths, workers=1, progress=None):
    """The best extraction settings on annotated tomograms.

    Parameters
    ----------
    maps, truths : list of path
        Probability maps (``roi predict``) and the true ROI label maps of the same tomograms, paired by order.
    workers : int
        Settings scored side by side in processes.
    progress : callable, optional
        Called with a message after each scored setting.

    Returns
    -------
    params : ExtractionParameters
    scores : dict
        ``"threshold t, split s, min volume v, closing c, min confidence m"`` → (object F1, Dice).
    """
    if not maps or len(maps) != len(truths):
        raise InputError(f"give one true ROI map per probability map: {len(maps)} maps, {len(truths)} truths")
    groups = list(itertools.product(THRESHOLDS, CLOSINGS_NM))
    score = functools.partial(score_group, list(maps), list(truths))
    by_group = {}

    def report(results):
        for group, result in zip(groups, results):
            by_group[group] = result
            if progress:
                progress(f"({len(by_group)}/{len(groups)}) threshold {group[0]}, closing {group[1]:g}: best object "
                         f"F1 {max(v[0] for v in result.values()):.3f}")

    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            report(pool.map(score, groups))
    else:
        report(map(score, groups))
    # in the grid's order (threshold, split, min volume, closing, confidence): a tie goes to the earlier one
    scores = {(threshold, split, min_volume, closing, confidence):
              by_group[threshold, closing][split, min_volume, confidence]
              for threshold, split, min_volume, closing, confidence in itertools.product(
                  THRESHOLDS, (False, True), MIN_VOLUMES_NM3, CLOSINGS_NM, MIN_CONFIDENCES)}
    threshold, split, min_volume, closing, min_confidence = max(scores, key=scores.get)
    chosen = ExtractionParameters(threshold=threshold, split=split, min_volume_nm3=min_volume, closing_nm=closing,
                                  min_confidence=min_confidence)
    return chosen, {f"threshold {k[0]}, split {k[1]}, min volume {k[2]}, closing {k[3]}, min confidence {k[4]}": v
                    for k, v in scores.items()}


def extraction_record(params, scores=None, maps=()):
    """A JSON-friendly record of chosen settings (and, if given, their score and the maps they came from)."""
    record = {"parameters": asdict(params), "calibrated_on": [str(m) for m in maps]}
    if scores:
        record["f1_dice"] = max(scores.values())
    return record


def extraction_from_record(record):
    """ExtractionParameters from :func:`extraction_record`'s output."""
    return ExtractionParameters(**record["parameters"])
