"""How the size of predicted contact-site ROIs follows the contact's gap, from a finished accuracy run.

    .venv/bin/python benchmarks/contact_extent.py contacts_c6_d50_fast_mirrored --work /tmp/bench_roi_work

Reads ``benchmarks/results/roi_accuracy_<name>.json`` (the extraction settings its calibration chose), the
run's probability maps (``<work>/contacts/predicted_<name>/``) and the test phantoms with their JSON
descriptions. Each true ROI is paired with the predicted ROI that overlaps it best (IoU). A true ROI holds
the points whose distances to the two membranes sum to at most gap + 2 × margin, so its size depends on the
gap; a network that draws every ROI at one typical size over-fills close contacts and under-fills wide
ones. The table gives, per gap band, the median predicted / true volume and the median IoU, and the
correlation of gap with volume ratio. A second table splits the same pairs by each section's distance in z
from the contact's centre (a 2D net sees only a few sections of z) and gives, per band, the pooled Dice,
the share of all wrong voxels (false + missed) and the median predicted / true volume at close and wide
gaps. The JSON (``contact_extent_<name>.json``) lists every ROI.
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
Z_BANDS_NM = ((0, 8), (8, 16), (16, 1e9))


def z_band_counts(true_mask, predicted_mask, centre_section, voxel_nm):
    """Per band of |z - centre| (``Z_BANDS_NM``): [true voxels, predicted voxels, voxels in both]."""
    distance = np.abs(np.arange(true_mask.shape[0]) - centre_section) * voxel_nm
    counts = []
    for lo, hi in Z_BANDS_NM:
        sections = (distance >= lo) & (distance < hi)
        t, q = true_mask[sections], predicted_mask[sections]
        counts.append([int(t.sum()), int(q.sum()), int(np.count_nonzero(t & q))])
    return counts


def roi_rows(prob_path, truth_path, description, extraction):
    """One row per true ROI: gap, true and predicted volumes (voxels) of its best-overlapping prediction, IoU,
    and those counts per band of distance in z from the contact's centre."""
    probabilities, voxel_size = read_mrc(prob_path)
    labels, _ = extract_rois(probabilities, voxel_size, extraction)
    truth, _ = read_mrc(truth_path)
    iou, predicted_ids, true_ids = pairwise_iou(labels, truth)
    true_sizes = dict(zip(*np.unique(truth[truth > 0], return_counts=True)))
    predicted_sizes = dict(zip(*np.unique(labels[labels > 0], return_counts=True)))
    voxel_nm = voxel_size / 10.0
    rows = []
    for roi in description["rois"]:
        column = np.flatnonzero(true_ids == roi["label"])
        best = int(np.argmax(iou[:, column[0]])) if column.size and len(predicted_ids) else None
        best_iou = float(iou[best, column[0]]) if best is not None else 0.0
        predicted = int(predicted_sizes[predicted_ids[best]]) if best is not None and best_iou > 0 else 0
        true = int(true_sizes.get(roi["label"], 0))
        predicted_mask = labels == predicted_ids[best] if predicted else np.zeros(labels.shape, bool)
        rows.append({"tomogram": description["tsId"], "label": roi["label"], "gap_nm": roi["gap_nm"],
                     "true_voxels": true, "predicted_voxels": predicted, "volume_ratio": predicted / max(1, true),
                     "iou": best_iou,
                     "z_bands_true_predicted_both": z_band_counts(truth == roi["label"], predicted_mask,
                                                                  roi["center_nm"][2] / voxel_nm, voxel_nm)})
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
    z_bands = z_band_table(rows, gaps)
    write_result(f"contact_extent_{args.name}.json", {"name": args.name, "extraction": dataclasses.asdict(extraction),
                                                      "bands": bands, "correlation_gap_volume_ratio": correlation,
                                                      "z_bands": z_bands, "rois": rows})


def z_band_table(rows, gaps):
    """Print and return, per band of distance in z from the centre: pooled Dice, share of wrong voxels, and
    the median predicted / true volume of ROIs with gaps under and over 20 nm."""
    counts = np.array([r["z_bands_true_predicted_both"] for r in rows], dtype=float)  # (rois, bands, 3)
    wrong = counts[:, :, 0] + counts[:, :, 1] - 2 * counts[:, :, 2]
    print(f"{'z from centre nm':>17}{'true voxels':>13}{'Dice':>7}{'share of wrong':>16}"
          f"{'ratio gap<20':>14}{'ratio gap>=20':>15}")
    table = []
    for band, (lo, hi) in enumerate(Z_BANDS_NM):
        t, q, both = counts[:, band].sum(axis=0)
        if t == 0:
            continue
        present = counts[:, band, 0] > 0
        ratio = counts[:, band, 1] / np.maximum(1, counts[:, band, 0])
        close, wide = (float(np.median(ratio[group])) if group.any() else float("nan")
                       for group in (present & (gaps < 20), present & (gaps >= 20)))
        table.append({"z_nm": [lo, hi], "true_voxels": int(t), "dice": float(2 * both / (t + q)),
                      "share_of_wrong_voxels": float(wrong[:, band].sum() / wrong.sum()),
                      "median_volume_ratio_gap_under_20": close, "median_volume_ratio_gap_20_or_more": wide})
        row = table[-1]
        print(f"{f'{lo:g}–{hi:g}' if hi < 1e9 else f'{lo:g}+':>17}{int(t):>13}{row['dice']:>7.2f}"
              f"{row['share_of_wrong_voxels']:>16.2f}{close:>14.2f}{wide:>15.2f}")
    return table


if __name__ == "__main__":
    main()
