"""How the size of predicted contact-site ROIs follows the contact's gap, from a finished accuracy run.

    .venv/bin/python benchmarks/contact_extent.py contacts_c6_d50_fast_mirrored --work /tmp/bench_roi_work

Reads ``benchmarks/results/roi_accuracy_<name>.json`` (the extraction settings its calibration chose), the
run's probability maps (``<work>/contacts/predicted_<name>/``) and the test phantoms with their JSON
descriptions. Each true ROI is paired with the predicted ROI that overlaps it best (IoU). A true ROI holds
the points whose distances to the two membranes sum to at most gap + 2 × margin, so its size depends on the
gap; a network that draws every ROI at one typical size over-fills close contacts and under-fills wide
ones. The table gives, per gap band, the median predicted / true volume and the median IoU, and the
correlation of gap with volume ratio; the JSON (``contact_extent_<name>.json``) lists every ROI.
"""
import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
from bench_roi import dataset_folder, sibling
from results_json import RESULTS, write_result

from tomorois_surfora.engine.io import read_mrc
from tomorois_surfora.engine.roi.extract import ExtractionParameters, extract_rois
from tomorois_surfora.engine.roi.metrics import pairwise_iou

GAP_BANDS_NM = ((10, 15), (15, 20), (20, 25), (25, 30.01))


def roi_rows(prob_path, truth_path, description, extraction):
    """One row per true ROI: gap, true and predicted volumes (voxels) of its best-overlapping prediction, IoU."""
    probabilities, voxel_size = read_mrc(prob_path)
    labels, _ = extract_rois(probabilities, voxel_size, extraction)
    truth, _ = read_mrc(truth_path)
    iou, predicted_ids, true_ids = pairwise_iou(labels, truth)
    true_sizes = dict(zip(*np.unique(truth[truth > 0], return_counts=True)))
    predicted_sizes = dict(zip(*np.unique(labels[labels > 0], return_counts=True)))
    rows = []
    for roi in description["rois"]:
        column = np.flatnonzero(true_ids == roi["label"])
        best = int(np.argmax(iou[:, column[0]])) if column.size and len(predicted_ids) else None
        best_iou = float(iou[best, column[0]]) if best is not None else 0.0
        predicted = int(predicted_sizes[predicted_ids[best]]) if best is not None and best_iou > 0 else 0
        true = int(true_sizes.get(roi["label"], 0))
        rows.append({"tomogram": description["tsId"], "label": roi["label"], "gap_nm": roi["gap_nm"],
                     "true_voxels": true, "predicted_voxels": predicted, "volume_ratio": predicted / max(1, true),
                     "iou": best_iou})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="name of a contacts accuracy run (its result JSON and maps are read)")
    parser.add_argument("--work", type=Path, default=Path("bench_roi_work"), help="the accuracy run's --work")
    args = parser.parse_args()
    result = json.loads((RESULTS / f"roi_accuracy_{args.name}.json").read_text())
    extraction = ExtractionParameters(threshold=result["threshold"], **result["extraction"])
    test_folder = dataset_folder(args.work, "contacts", "test", result["field_voxels"], result["contacts_per_phantom"])
    maps = sorted((args.work / "contacts" / f"predicted_{args.name}").glob("*_prob.mrc"))
    rows = []
    for prob_path in maps:
        stem = prob_path.name[:-len("_prob.mrc")]
        description = json.loads((test_folder / f"{stem}.json").read_text())
        rows += roi_rows(prob_path, sibling(test_folder / f"{stem}.mrc", "rois"), description, extraction)
    gaps = np.array([r["gap_nm"] for r in rows])
    ratios = np.array([r["volume_ratio"] for r in rows])
    ious = np.array([r["iou"] for r in rows])
    bands = []
    print(f"{args.name}: {len(rows)} true ROIs in {len(maps)} test tomograms, extraction {extraction}")
    print(f"{'gap nm':>10}{'ROIs':>6}{'pred/true volume':>18}{'IoU':>7}   (medians)")
    for lo, hi in GAP_BANDS_NM:
        inside = (gaps >= lo) & (gaps < hi)
        if inside.any():
            bands.append({"gap_nm": [lo, hi], "rois": int(inside.sum()),
                          "median_volume_ratio": float(np.median(ratios[inside])),
                          "median_iou": float(np.median(ious[inside]))})
            print(f"{lo:>4g}–{min(hi, 30):<5g}{bands[-1]['rois']:>6}{bands[-1]['median_volume_ratio']:>18.2f}"
                  f"{bands[-1]['median_iou']:>7.2f}")
    correlation = float(np.corrcoef(gaps, ratios)[0, 1])
    print(f"correlation of gap with predicted / true volume: {correlation:.2f}")
    write_result(f"contact_extent_{args.name}.json", {"name": args.name, "extraction": dataclasses.asdict(extraction),
                                                      "bands": bands, "correlation_gap_volume_ratio": correlation,
                                                      "rois": rows})


if __name__ == "__main__":
    main()
