"""Score the average of several finished accuracy runs' probability maps, as bench_roi.py scores one run's.

    .venv/bin/python benchmarks/average_maps.py contacts_c6_d50_w2_z4_far3_dice1_rerun_t30 \
        contacts_c6_d50_w2_z4_far3_dice1_nm125_t30 --name contacts_average_rerun_nm125_t30 --work /tmp/bench_roi_work

Reads each run's ``benchmarks/results/roi_accuracy_<run>.json`` and its calibration and test maps
(``<work>/<kind>/{calibration,predicted}_<run>/``); the runs must share kind, test set and calibration
tomograms. Writes the voxel-wise mean maps to ``<work>/<kind>/{calibration,predicted}_<name>/`` (reused when
there), chooses the extraction settings on the averaged calibration maps exactly as bench_roi.py does (the
test set plays no part), scores the averaged test maps, prints the table and writes
``roi_accuracy_<name>.json``. This asks whether an ensemble of models beats one model; each model's own
training time counts against the budget.
"""
import argparse
import json
from pathlib import Path

import numpy as np
from bench_roi import TARGETS, choose_extraction, dataset_folder, evaluate_maps, ts_id_for
from results_json import RESULTS, write_result

from tomorois_surfora.engine.io import read_mrc, write_mrc
from tomorois_surfora.engine.roi.extract import ExtractionParameters


def average_maps(folders, stems, out_folder):
    """Mean of ``<folder>/<stem>_prob.mrc`` over ``folders`` for every stem, written to ``out_folder``."""
    out_folder.mkdir(parents=True, exist_ok=True)
    maps = []
    for stem in stems:
        out = out_folder / f"{stem}_prob.mrc"
        if not out.is_file():
            total, voxel_size = None, None
            for folder in folders:
                probabilities, voxel_size = read_mrc(folder / f"{stem}_prob.mrc")
                total = probabilities.astype(np.float64) if total is None else total + probabilities
            write_mrc(out, (total / len(folders)).astype(np.float32), voxel_size)
        maps.append(out)
    return maps


def check_same_data(results):
    """The runs' kind, test set and calibration tomograms (of one training set), or a ValueError naming
    what differs."""
    keys = ("kind", "field_voxels", "contacts_per_phantom", "test_tomograms", "calibration_tomograms",
            "training_set")
    for key in keys:
        values = {json.dumps(r.get(key)) for r in results}
        if len(values) > 1:
            raise ValueError(f"the runs differ in {key}: {', '.join(sorted(values))}")
    first = results[0]
    return (first["kind"], first["field_voxels"], first["contacts_per_phantom"],
            first["test_tomograms"], first["calibration_tomograms"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="names of finished accuracy runs (two or more)")
    parser.add_argument("--name", required=True, help="name of the averaged result")
    parser.add_argument("--work", type=Path, default=Path("bench_roi_work"), help="the runs' --work")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("name at least two runs")
    results = []
    for run in args.runs:
        path = RESULTS / f"roi_accuracy_{run}.json"
        if not path.is_file():
            parser.error(f"{path}: no such result; run bench_roi.py accuracy --name {run} first")
        results.append(json.loads(path.read_text()))
    try:
        kind, field, contacts, n_test, n_calibrate = check_same_data(results)
    except ValueError as error:
        parser.error(str(error))
    base = args.work / kind
    test_folder = dataset_folder(args.work, kind, "test", field, contacts)
    train_folder = dataset_folder(args.work, kind, "train", results[0]["training_set"]["field_voxels"],
                                  results[0]["training_set"]["contacts_per_phantom"])
    test = [test_folder / f"{ts_id_for(kind, i)}.mrc" for i in range(n_test)]
    calibrators = [train_folder / f"{ts_id_for(kind, i)}.mrc" for i in range(n_calibrate)]
    calibration_maps = average_maps([base / f"calibration_{r}" for r in args.runs], [t.stem for t in calibrators],
                                    base / f"calibration_{args.name}")
    extraction, scores = choose_extraction(calibration_maps, calibrators)
    maps = average_maps([base / f"predicted_{r}" for r in args.runs], [t.stem for t in test],
                        base / f"predicted_{args.name}")
    pooled = evaluate_maps(maps, test, extraction, parallel=True)
    at_half = evaluate_maps(maps, test, ExtractionParameters(threshold=0.5), parallel=True)
    print(f"\n{args.name}: mean of {len(args.runs)} runs' maps ({', '.join(args.runs)}), "
          f"{n_test} held-out tomograms; calibrated: threshold {extraction.threshold}, split {extraction.split}, "
          f"min volume {extraction.min_volume_nm3:g} nm³, closing {extraction.closing_nm:g} nm, "
          f"min confidence {extraction.min_confidence:g}")
    print(f"{'threshold':>10}{'pred':>6}{'true':>6}{'TP':>5}{'FP':>5}{'FN':>5}{'FP rate':>9}{'FN rate':>9}"
          f"{'Dice':>7}{'IoU':>7}")
    for label, r in ((f"{extraction.threshold} (cal.)", pooled), ("0.5", at_half)):
        print(f"{label:>10}{r['predicted']:>6}{r['true']:>6}{r['tp']:>5}{r['fp']:>5}{r['fn']:>5}"
              f"{r['fp_rate']:>9.3f}{r['fn_rate']:>9.3f}{r['dice']:>7.3f}{r['iou']:>7.3f}")
    write_result(f"roi_accuracy_{args.name}.json",
                 {"kind": kind, "name": args.name, "averaged_runs": args.runs, "test_tomograms": n_test,
                  "calibration_tomograms": n_calibrate, "field_voxels": field, "contacts_per_phantom": contacts,
                  "threshold": extraction.threshold,
                  "extraction": {"split": extraction.split, "min_volume_nm3": extraction.min_volume_nm3,
                                 "closing_nm": extraction.closing_nm, "min_confidence": extraction.min_confidence},
                  "calibration_f1_dice": scores, "test": pooled, "test_at_0.5": at_half,
                  "targets": TARGETS[kind]})


if __name__ == "__main__":
    main()
