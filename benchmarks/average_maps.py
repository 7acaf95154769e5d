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
from bench_roi import TARGETS, calibrate_and_score, dataset_folder, phantom_files, print_scores
from results_json import RESULTS, write_result

from tomorois_surfora.engine.io import read_mrc, write_mrc


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
    test = phantom_files(test_folder, kind, n_test)
    calibrators = phantom_files(train_folder, kind, n_calibrate)
    calibration_maps = average_maps([base / f"calibration_{r}" for r in args.runs], [t.stem for t in calibrators],
                                    base / f"calibration_{args.name}")
    maps = average_maps([base / f"predicted_{r}" for r in args.runs], [t.stem for t in test],
                        base / f"predicted_{args.name}")
    scored = calibrate_and_score(calibration_maps, calibrators, maps, test)
    print(f"\n{args.name}: mean of {len(args.runs)} runs' maps ({', '.join(args.runs)}), "
          f"{n_test} held-out tomograms")
    print_scores(scored, n_calibrate)
    write_result(f"roi_accuracy_{args.name}.json",
                 {"kind": kind, "name": args.name, "averaged_runs": args.runs, "test_tomograms": n_test,
                  "calibration_tomograms": n_calibrate, "field_voxels": field, "contacts_per_phantom": contacts,
                  **scored, "targets": TARGETS[kind]})

if __name__ == "__main__":
    main()
