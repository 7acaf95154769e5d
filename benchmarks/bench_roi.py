"""Benchmark TomoROIS: accuracy on held-out phantoms, the penalty's effect, throughput and peak memory.

    .venv/bin/python benchmarks/bench_roi.py accuracy --kind contacts --train 10 --test 10 --minutes 25
    .venv/bin/python benchmarks/bench_roi.py accuracy --kind invaginations --train 5 --test 10 --minutes 15
    .venv/bin/python benchmarks/bench_roi.py penalty --minutes 5      # after the contacts accuracy run
    .venv/bin/python benchmarks/bench_roi.py accuracy --kind contacts \
        --model bench_roi_work/contacts/finetune_with_penalty/model.pt --name contacts_penalty  # that model
    .venv/bin/python benchmarks/bench_roi.py accuracy --kind contacts --field 128 512 512 --contacts 6 \
        --with-penalty --device cuda --epochs 180 --name gpu_c6_e180   # a fixed step count, on a GPU
    .venv/bin/python benchmarks/bench_roi.py depth --name NAME --field 128 512 512  # depth spans of a run
    .venv/bin/python benchmarks/bench_roi.py orientation --name NAME  # second family: misses by membrane azimuth
    .venv/bin/python benchmarks/bench_roi.py throughput
    .venv/bin/python benchmarks/bench_roi.py memory --shape 300 1000 1000

Every section prints a table and writes benchmarks/results/roi_<section>[_<kind>].json. Training and test
phantoms come from different seeds (256×256×128 voxels at 10 Å unless --field says otherwise; --train-field,
--train-contacts and --train-distractors change the training set alone); the extraction settings are chosen
on the first --calibrate training tomograms (3), never on the test set. Calibration and test scoring use
every core.
"""
import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from bench_scale import status_kib
from results_json import write_result

from tomorois_surfora.engine.cores import available_cores
from tomorois_surfora.engine.io import read_mrc
from tomorois_surfora.engine.roi.extract import ExtractionParameters, extract_rois
from tomorois_surfora.engine.roi.metrics import (combine_evaluations, describe_depth, describe_overlapping_errors,
                                                 evaluate_rois)
from tomorois_surfora.engine.roi.model_file import load_model
from tomorois_surfora.engine.roi.predict import (TileParameters, choose_device, predict_file, probability_file_name,
                                                 use_all_cores)
from tomorois_surfora.engine.roi.batch_turn import INTERPOLATIONS
from tomorois_surfora.engine.roi.train import ROTATIONS, TrainingParameters, new_model, train_files
from tomorois_surfora.engine.training_loop import UNLIMITED_EPOCHS
from tomorois_surfora.engine.synth import write_dataset
from tomorois_surfora.engine.synth.dataset import PhantomParameters, ts_id_for
from tomorois_surfora.engine.synth.layout import ContactSceneSpec
from tomorois_surfora.engine.synth.pm_layout import PmContactSceneSpec

TARGETS = {"contacts": {"fp_rate": 0.10, "fn_rate": 0.03, "dice": 0.90, "iou": 0.83},
           "invaginations": {"fp_rate": 0.08, "fn_rate": 0.01},
           # the second family, written apart from the first and never used to choose defaults (issue 32)
           "pm_contacts": {"fp_rate": 0.10, "fn_rate": 0.03, "dice": 0.85}}


def dataset(work, kind, role, n, seed, field=None, contacts=None, distractors=None):
    """Phantoms of ``kind`` (made once, then reused): ``field`` is their shape, ``contacts`` the number of
    contact sites and ``distractors`` the number of each kind of distractor (vesicle in vesicle, lone tube,
    lone vesicle) asked for per tomogram (default: the phantom generator's). For ``pm_contacts`` the
    look-alikes scale with the field's area and ``distractors`` is not used."""
    folder = dataset_folder(work, kind, role, field, contacts, distractors)
    params = PhantomParameters() if field is None else PhantomParameters(shape=tuple(field))
    if kind == "pm_contacts":
        params.pm_contacts = pm_spec(params, contacts)
        return phantom_files(_write_once(folder, kind, n, seed, params), kind, n)
    spec = {}
    if contacts is not None:
        spec["contacts"] = contacts
    if distractors is not None:
        spec.update(vesicle_in_vesicle=distractors, isolated_tubes=distractors, isolated_vesicles=distractors)
    if spec:
        params.contacts = ContactSceneSpec(**spec)
    return phantom_files(_write_once(folder, kind, n, seed, params), kind, n)


def _write_once(folder, kind, n, seed, params):
    # phantom i depends on (seed, i) only, so the first n of a larger set are the n-phantom set
    if not (folder / "dataset.json").is_file() or json.loads((folder / "dataset.json").read_text())["n"] < n:
        write_dataset(kind, folder, n, seed=seed, params=params, quiet=True)
    return folder


def pm_spec(params, contacts=None):
    """The second family's scene for a field of ``params.shape``: look-alikes and particles in proportion to
    the x–y area, contacts to the field's side (they line the one membrane crossing it); the generator's
    counts are for 256×256 voxels of 10 Å."""
    default = PmContactSceneSpec()
    area = params.shape[1] * params.shape[2] * (params.voxel_size / 10.0) ** 2 / (256 * 256)
    scaled = {name: max(1, int(round(getattr(default, name) * area)))
              for name in ("cisternae", "lone_tubes", "vesicles", "particles")}
    scaled["contacts"] = max(1, int(round(default.contacts * np.sqrt(area))))
    if contacts is not None:
        scaled["contacts"] = contacts
    return dataclasses.replace(default, **scaled)


def phantom_files(folder, kind, n):
    """The first ``n`` phantoms of ``kind`` in ``folder``, named one by one: a folder made earlier for a larger
    n still holds the files past n."""
    return [folder / f"{ts_id_for(kind, index)}.mrc" for index in range(n)]


def dataset_folder(work, kind, role, field=None, contacts=None, distractors=None):
    """Folder of the phantoms :func:`dataset` makes for these arguments."""
    folder = work / kind / (role if field is None else f"{role}_{'x'.join(map(str, field))}")
    if contacts is not None:
        folder = folder.with_name(f"{folder.name}_c{contacts}")
    if distractors is not None:
        folder = folder.with_name(f"{folder.name}_d{distractors}")
    return folder


def sibling(tomogram, suffix):
    return tomogram.with_name(f"{tomogram.stem}_{suffix}.mrc")


def predict_all(model, tomograms, folder, reuse=False, device="cpu", mirrored=False):
    """Probability maps of ``tomograms``; with ``reuse``, maps already in ``folder`` are not predicted again."""
    folder.mkdir(parents=True, exist_ok=True)
    maps, seconds = [], []
    tiles = TileParameters(mirrored=mirrored)
    for tomogram in tomograms:
        out = folder / f"{tomogram.stem}_prob.mrc"
        if not (reuse and out.is_file()):
            seconds.append(predict_file(model, tomogram, out, tiles=tiles, device=device, quiet=True)["seconds"])
        maps.append(out)
    return maps, seconds


def _evaluate_map(extraction, prob_path, tomogram):
    probabilities, voxel_size = read_mrc(prob_path)
    labels, _ = extract_rois(probabilities, voxel_size, extraction)
    truth, _ = read_mrc(sibling(tomogram, "rois"))
    return evaluate_rois(labels, truth)


def evaluate_maps(maps, tomograms, extraction, parallel=False):
    """Pooled metrics of ``extraction`` applied to every map; ``parallel`` spreads the maps over the cores."""
    import functools

    if not parallel:
        return combine_evaluations([_evaluate_map(extraction, m, t) for m, t in zip(maps, tomograms)])
    with _pool(len(maps)) as pool:
        return combine_evaluations(list(pool.map(functools.partial(_evaluate_map, extraction), maps, tomograms)))


def _pool(tasks):
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=max(1, min(tasks, available_cores())))


def choose_extraction(maps, tomograms):
    """The engine's calibration (``roi calibrate``) on training tomograms: the test set plays no part."""
    from tomorois_surfora.engine.roi.calibrate import choose_extraction as calibrate

    return calibrate(maps, [sibling(t, "rois") for t in tomograms], workers=available_cores())


def calibrate_and_score(calibration_maps, calibrators, maps, tomograms):
    """Choose the extraction on the calibration maps (:func:`choose_extraction`), then score the test maps with
    it and with the defaults at threshold 0.5.

    Returns
    -------
    dict
        The fields every accuracy result holds: ``threshold``, ``extraction``, ``calibration_f1_dice``,
        ``test`` and ``test_at_0.5``.
    """
    extraction, scores = choose_extraction(calibration_maps, calibrators)
    return score_with(extraction, maps, tomograms, scores)


def score_with(extraction, maps, tomograms, calibration_scores=None):
    """:func:`calibrate_and_score`'s result for extraction settings chosen elsewhere."""
    return {"threshold": extraction.threshold,
            "extraction": {"split": extraction.split, "min_volume_nm3": extraction.min_volume_nm3,
                           "closing_nm": extraction.closing_nm, "min_confidence": extraction.min_confidence},
            "calibration_f1_dice": calibration_scores,
            "test": evaluate_maps(maps, tomograms, extraction, parallel=True),
            "test_at_0.5": evaluate_maps(maps, tomograms, ExtractionParameters(threshold=0.5), parallel=True)}


def print_scores(scored, n_calibrators):
    """Print the table of :func:`calibrate_and_score`'s result: calibrated and at 0.5."""
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    threshold, extraction = scored["threshold"], scored["extraction"]
    print(f"{'threshold':>10}{'pred':>6}{'true':>6}{'TP':>5}{'FP':>5}{'FN':>5}{'FP rate':>9}{'FN rate':>9}"
          f"{'Dice':>7}{'IoU':>7}")
    chosen = (f"the extraction of {scored['extraction_from']}" if scored.get("extraction_from")
              else f"calibrated on {n_calibrators} annotated tomograms")
    print(f"{chosen}: split {extraction['split']}, "
          f"minimum volume {extraction['min_volume_nm3']:g} nm³, closing {extraction['closing_nm']:g} nm, "
          f"minimum mean confidence {extraction['min_confidence']:g}")
    for label, r in ((f"{threshold} (cal.)", scored["test"]), ("0.5", scored["test_at_0.5"])):
        print(f"{label:>10}{r['predicted']:>6}{r['true']:>6}{r['tp']:>5}{r['fp']:>5}{r['fn']:>5}"
              f"{fmt(r['fp_rate']):>9}{fmt(r['fn_rate']):>9}{fmt(r['dice']):>7}{fmt(r['iou']):>7}")
    print(f"at {threshold} (cal.): {describe_overlapping_errors(scored['test'])}")
    print(f"at {threshold} (cal.): {describe_depth(scored['test'])}")


def _full_history(model_path):
    """Every epoch of the run that wrote ``model_path`` (its ``history.csv``); the model file itself holds the
    history up to its best epoch only."""
    import csv

    path = Path(model_path).with_name("history.csv")
    if not path.is_file():
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


def accuracy(args):
    work = args.work
    train_contacts = args.train_contacts or args.contacts
    train = dataset(work, args.kind, "train", args.train, seed=1000, field=args.train_field or args.field,
                    contacts=train_contacts, distractors=args.train_distractors)
    test = dataset(work, args.kind, "test", args.test, seed=2000, field=args.field, contacts=args.contacts)
    name = args.name or args.kind
    device = choose_device(args.device)
    if args.model is None:
        shape = {"dims": args.dims, "depth": args.depth, "width": args.width, "context": args.context,
                 "far_context": args.far_context, "planes": args.planes, "lr_schedule": args.lr_schedule,
                 "patch": args.patch, "batch_size": args.batch_size, "dice_weight": args.dice_weight,
                 "near_miss_fraction": args.near_miss, "voxel_size": args.grid, "seed": args.seed,
                 "validation": args.validation, "wedge_copies": args.wedge_copies,
                 "rotations": args.rotations, "turn_interpolation": args.turn_interpolation,
                 "blur_share": args.blur_share, "blur_sigma": args.blur_sigma}
        params = (TrainingParameters(epochs=args.epochs, **shape) if args.epochs else
                  TrainingParameters(epochs=UNLIMITED_EPOCHS, time_limit_min=args.minutes, **shape))
        model_dir = work / args.kind / f"model_{name}"
        penalties = [sibling(t, "decoys") for t in train] if args.with_penalty else None
        summary = train_files(train, [sibling(t, "rois") for t in train], params, model_dir, penalties=penalties,
                              init_model=args.start_from, device=device)
        model = load_model(model_dir / "model.pt", device)
    else:  # evaluate a model trained earlier (e.g. the penalty fine-tuning): its own training record
        model = load_model(args.model, device)
        history = _full_history(args.model) or model.training.get("history", [])
        summary = {"model": str(args.model), "epochs": len(history), "best_epoch": model.training.get("best_epoch"),
                   "seconds": float(history[-1]["seconds"]) if history else 0.0,
                   "fine_tuned_from": model.training.get("fine_tuned_from")}
    reuse = args.model is not None and args.reuse_maps
    calibrators = [] if args.extraction_from else train[:args.calibrate]
    calibration_maps, _ = predict_all(model, calibrators, work / args.kind / f"calibration_{name}", reuse, device,
                                      args.mirrored)
    maps, seconds = predict_all(model, test, work / args.kind / f"predicted_{name}", reuse, device, args.mirrored)
    if args.extraction_from:  # another run's calibrated settings: like for like, and no calibration to wait for
        other = json.loads((Path(__file__).parent / "results" /
                            f"roi_accuracy_{args.extraction_from}.json").read_text())
        scored = score_with(ExtractionParameters(threshold=other["threshold"], **other["extraction"]), maps, test)
        scored["extraction_from"] = args.extraction_from
    else:
        scored = calibrate_and_score(calibration_maps, calibrators, maps, test)
    # a model validated on whole tomograms is also calibrated on them: tomograms it did not train on
    held_out = [Path(name) for name in model.training.get("validation_tomograms", [])]
    if held_out:
        held_maps, _ = predict_all(model, held_out, work / args.kind / f"calibration_{name}", reuse, device,
                                   args.mirrored)
        scored["calibrated_on_held_out"] = calibrate_and_score(held_maps, held_out, maps, test)
    trained_with = model.training.get("parameters", {})
    report = {"kind": args.kind, "name": name, "train_tomograms": len(train), "test_tomograms": len(test),
              "field_voxels": list(read_mrc(test[0])[0].shape), "penalty_from_start": bool(args.with_penalty),
              "contacts_per_phantom": args.contacts, "calibration_tomograms": len(calibrators),
              "training_set": {"field_voxels": list(read_mrc(train[0])[0].shape),
                               "contacts_per_phantom": train_contacts,
                               "distractors_per_kind": args.train_distractors}, "device": device,
              "model": {"grid_angstrom": model.voxel_size, "dims": model.dims, "depth": model.net.config["depth"],
                        "width": model.net.config["width"],
                        "context": model.context, "far_context": model.far_context, "planes": list(model.planes),
                        "mirrored_prediction": bool(args.mirrored),
                        "lr_schedule": trained_with.get("lr_schedule", "constant"),
                        "dice_weight": trained_with.get("dice_weight", 0.0),
                        "near_miss_fraction": trained_with.get("near_miss_fraction", 0.0),
                        "validation": trained_with.get("validation", "rows"),
                        "wedge_copies": trained_with.get("wedge_copies", 0),
                        "rotations": trained_with.get("rotations", "quarter"),
                        "turn_interpolation": trained_with.get("turn_interpolation"),  # not recorded before c195cfe
                        "blur_share": trained_with.get("blur_share", 0.0),
                        "blur_sigma": trained_with.get("blur_sigma"),
                        "validation_tomograms": [p.name for p in held_out]},
              "minutes_limit": args.minutes, "training": summary, **scored,
              "predict_seconds_per_tomogram": float(np.mean(seconds)) if seconds else None,
              "targets": TARGETS[args.kind],
              "cores": use_all_cores()}
    print(f"\n{name}: trained on {len(train)} tomograms for {summary['seconds'] / 60:.1f} min "
          f"({summary['epochs']} epochs, best {summary['best_epoch']}), tested on {len(test)} held-out tomograms")
    print_scores(scored, len(calibrators))
    if held_out:
        print("the same model, calibrated on its held-out validation tomogram(s) instead:")
        print_scores(scored["calibrated_on_held_out"], len(held_out))
    seconds_per_tomogram = report["predict_seconds_per_tomogram"]
    print(f"targets: {TARGETS[args.kind]}; prediction "
          f"{'n/a' if seconds_per_tomogram is None else f'{seconds_per_tomogram:.3f}'} s per tomogram")
    write_result(f"roi_accuracy_{name}.json", report)


def depth(args):
    """Re-score the test maps of an accuracy run (``--name``) with its calibrated extraction and add the depth
    spans (predicted against true sections per ROI) to its JSON: for runs made before the spans were scored."""
    path = Path(__file__).parent / "results" / f"roi_accuracy_{args.name}.json"
    report = json.loads(path.read_text())
    extraction = ExtractionParameters(threshold=report["threshold"], **report["extraction"])
    test = phantom_files(dataset_folder(args.work, report["kind"], "test", args.field, args.contacts), report["kind"],
                         report["test_tomograms"])
    maps = [args.work / report["kind"] / f"predicted_{args.name}" / f"{t.stem}_prob.mrc" for t in test]
    rescored = evaluate_maps(maps, test, extraction, parallel=True)
    for key in ("depth_spans", "median_depth_ratio"):
        report["test"][key] = rescored[key]
    print(f"{args.name} at {extraction.threshold} (cal.): {describe_depth(rescored)}")
    report.pop("run", None)
    write_result(path.name, report)


def tilt_axis_azimuth(normal):
    """Angle (degrees, 0–90) between a sheet's normal, projected on x–y, and the second family's tilt axis x.
    Near 0 the sheet is seen almost edge-on in no projection once it tilts out of z: it images faintly."""
    return float(np.degrees(np.arctan2(abs(normal[1]), abs(normal[0]))))


def membrane_contrast(tomogram, label=1):
    """How dark membrane ``label`` images: the mean of the tomogram smoothed by σ = 1.5 voxels over its voxels,
    minus that over voxels 5 or more voxels from every membrane, in standard deviations of the latter."""
    image = ndimage.gaussian_filter(read_mrc(tomogram)[0], 1.5)
    membranes = read_mrc(sibling(tomogram, "membranes"))[0]
    background = image[~ndimage.binary_dilation(membranes > 0, iterations=4)]
    return float((image[membranes == label].mean() - background.mean()) / background.std())


def orientation(args):
    """Per tomogram of a second-family accuracy run (``--name``): the plasma membrane's azimuth from the tilt
    axis, and for test tomograms the mean probability inside each true ROI. Says whether misses follow the
    membrane's orientation rather than the contacts themselves."""
    path = Path(__file__).parent / "results" / f"roi_accuracy_{args.name}.json"
    report = json.loads(path.read_text())
    if report["kind"] != "pm_contacts":
        raise SystemExit(f"{path.name}: orientation applies to the pm_contacts family, not {report['kind']}")
    training = report["training_set"]
    folders = {"train": (dataset_folder(args.work, "pm_contacts", "train", training["field_voxels"],
                                        training["contacts_per_phantom"]), report["train_tomograms"]),
               "test": (dataset_folder(args.work, "pm_contacts", "test", report["field_voxels"],
                                       report["contacts_per_phantom"]), report["test_tomograms"])}
    rows = []
    for role, (folder, n) in folders.items():
        for tomogram in phantom_files(folder, "pm_contacts", n):
            truth = json.loads(tomogram.with_suffix(".json").read_text())
            row = {"role": role, "tomogram": tomogram.stem,
                   "azimuth_from_tilt_axis_deg": round(tilt_axis_azimuth(truth["membranes"][0]["normal"]), 1),
                   "membrane_contrast_sd": round(membrane_contrast(tomogram), 2)}
            if role == "test":
                probabilities, _ = read_mrc(args.work / "pm_contacts" / f"predicted_{args.name}" /
                                            probability_file_name(tomogram))
                labels, _ = read_mrc(sibling(tomogram, "rois"))
                row["mean_probability_in_rois"] = [round(float(probabilities[labels == roi["label"]].mean()), 3)
                                                   for roi in truth["rois"]]
            rows.append(row)
            found = row.get("mean_probability_in_rois")
            print(f"{role:6s}{tomogram.stem:>18s}  membrane normal {row['azimuth_from_tilt_axis_deg']:5.1f}° from the "
                  f"tilt axis, contrast {row['membrane_contrast_sd']:+.2f} sd" +
                  ("" if found is None else "  mean probability in its ROIs " + " ".join(f"{v:.2f}" for v in found)))
    write_result(f"roi_orientation_{args.name}.json", {"accuracy_run": path.name, "rows": rows})


def penalty(args):
    """Fine-tune the contacts model with and without decoy penalty masks; compare confidence on decoys."""
    work = args.work
    train = dataset(work, "contacts", "train", args.train, seed=1000)
    test = dataset(work, "contacts", "test", args.test, seed=2000)
    base = work / "contacts" / "model_contacts" / "model.pt"
    if not base.is_file():
        sys.exit(f"{base}: run the contacts accuracy section first")
    params = TrainingParameters(epochs=UNLIMITED_EPOCHS, time_limit_min=args.minutes, seed=1)
    masks = [sibling(t, "rois") for t in train]
    runs = {"base": base}
    for name, penalties in (("without penalty", None), ("with penalty", [sibling(t, "decoys") for t in train])):
        folder = work / "contacts" / f"finetune_{name.replace(' ', '_')}"
        train_files(train, masks, params, folder, penalties=penalties, init_model=base, quiet=True)
        runs[name] = folder / "model.pt"
    rows = {}
    for name, path in runs.items():
        maps, _ = predict_all(load_model(path), test, work / "contacts" / f"penalty_{name.replace(' ', '_')}")
        inside = {"decoys": [], "rois": [], "background": []}
        for prob_path, tomogram in zip(maps, test):
            probabilities, _ = read_mrc(prob_path)
            decoys, rois = read_mrc(sibling(tomogram, "decoys"))[0] > 0, read_mrc(sibling(tomogram, "rois"))[0] > 0
            inside["decoys"].append(probabilities[decoys])
            inside["rois"].append(probabilities[rois])
            inside["background"].append(probabilities[~decoys & ~rois])
        rows[name] = {region: float(np.concatenate(values).mean()) for region, values in inside.items()}
        rows[name]["decoy_voxels_above_0.5"] = float((np.concatenate(inside["decoys"]) > 0.5).mean())
    print(f"\nmean confidence on {len(test)} held-out contact tomograms (fine-tuning {args.minutes:g} min each)")
    print(f"{'model':>18}{'decoys':>9}{'ROIs':>8}{'background':>12}{'decoys > 0.5':>14}")
    for name, r in rows.items():
        print(f"{name:>18}{r['decoys']:>9.3f}{r['rois']:>8.3f}{r['background']:>12.3f}"
              f"{r['decoy_voxels_above_0.5']:>14.3f}")
    write_result("roi_penalty.json", {"minutes": args.minutes, "rows": rows})


def throughput(args):
    import torch

    cores = use_all_cores()
    d = TrainingParameters()
    rows = []
    for dims, shape in ((2, (256, 256)), (3, (48, 96, 96))):
        torch.manual_seed(0)
        net = new_model(dataclasses.replace(d, dims=dims), 20.0).net.eval()
        channels = net.config["in_channels"]
        x = torch.randn(1, channels, *shape)
        row = {"dims": dims, "depth": d.depth, "width": d.width, "input_channels": channels, "input": list(shape)}
        for name, forward in (("ours", net.forward), ("naive", net.forward_naive)):
            with torch.inference_mode():
                forward(x)
                best = min(_timed(forward, x) for _ in range(3))
            row[f"{name}_voxels_per_s"] = x[0, 0].numel() / best
        row["ratio"] = row["ours_voxels_per_s"] / row["naive_voxels_per_s"]
        rows.append(row)
    print(f"\ninference throughput, MS-D depth {d.depth}, width {d.width}, {cores} threads, torch {torch.__version__}")
    print(f"{'dims':>5}{'input':>16}{'ours vox/s':>14}{'naive vox/s':>14}{'ours/naive':>12}")
    for r in rows:
        print(f"{r['dims']:>5}{'×'.join(map(str, r['input'])):>16}{r['ours_voxels_per_s']:>14.3g}"
              f"{r['naive_voxels_per_s']:>14.3g}{r['ratio']:>12.2f}")
    write_result("roi_throughput.json", {"cores": cores, "rows": rows})


def _timed(forward, x):
    start = time.perf_counter()
    forward(x)
    return time.perf_counter() - start


def memory(args):
    """Predict a large tomogram in a child process; report its peak resident memory."""
    import torch

    from tomorois_surfora.engine.io import new_mrc_memmap
    from tomorois_surfora.engine.roi.model_file import save_model

    folder = args.work / "memory"
    folder.mkdir(parents=True, exist_ok=True)
    tomogram = folder / f"noise_{'x'.join(map(str, args.shape))}.mrc"
    if not tomogram.is_file():
        rng = np.random.default_rng(0)
        with new_mrc_memmap(tomogram, args.shape, 10.0) as data:
            for z in range(args.shape[0]):
                data[z] = rng.standard_normal(args.shape[1:], dtype=np.float32)
    d = TrainingParameters()
    torch.manual_seed(0)
    model_path = folder / "model.pt"
    model = new_model(d, 20.0)
    net = model.net
    save_model(model_path, model)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "tomorois_surfora.engine", "roi", "predict", str(tomogram),
                              "--model", str(model_path), "--out", str(folder / "out"), "--device", "cpu", "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = {"RssAnon": 0, "RssFile": 0}
    while child.poll() is None:
        peaks = {key: max(value, status_kib(child.pid, key)) for key, value in peaks.items()}
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        sys.exit(child.stderr.read())
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    anon_mib, file_mib = peaks["RssAnon"] / 1024, peaks["RssFile"] / 1024
    input_mib = np.prod(args.shape) * 4 / 2 ** 20
    print(f"\nroi predict on a {'×'.join(map(str, args.shape))} float32 tomogram at 10 Å ({input_mib:.0f} MiB; model "
          f"grid 20 Å, MS-D depth {d.depth}, width {d.width}, {net.config['in_channels']} input channels), "
          f"{seconds:.0f} s: peak resident memory {peak_mib:.0f} MiB, of which "
          f"at most {anon_mib:.0f} MiB private (heap) and {file_mib:.0f} MiB mapped file pages (the memory-mapped "
          "input and output, which the kernel can drop)")
    write_result("roi_memory.json", {"shape_zyx": list(args.shape), "depth": d.depth, "width": d.width,
                                     "input_channels": net.config["in_channels"], "input_MiB": input_mib,
                                     "peak_rss_MiB": peak_mib, "peak_rss_anon_MiB": anon_mib,
                                     "peak_rss_file_MiB": file_mib, "seconds": seconds})
    (folder / "out" / probability_file_name(tomogram)).unlink()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=("accuracy", "depth", "orientation", "penalty", "throughput", "memory"))
    parser.add_argument("--kind", choices=tuple(TARGETS), default="contacts",
                        help="phantom family: pm_contacts is the second, independent family, never tuned on")
    parser.add_argument("--train", type=int, default=10, help="training tomograms")
    parser.add_argument("--test", type=int, default=10, help="held-out test tomograms")
    parser.add_argument("--minutes", type=float, default=25.0, help="training (or fine-tuning) time limit")
    parser.add_argument("--shape", type=int, nargs=3, default=[300, 1000, 1000], metavar=("Z", "Y", "X"))
    parser.add_argument("--field", type=int, nargs=3, metavar=("Z", "Y", "X"),
                        help="accuracy: phantom shape in voxels (default 128 256 256)")
    parser.add_argument("--with-penalty", action="store_true",
                        help="accuracy: train with the phantoms' decoy masks as penalty masks from the start")
    parser.add_argument("--model", type=Path, help="accuracy: evaluate this model instead of training one")
    parser.add_argument("--start-from", type=Path, metavar="MODEL",
                        help="accuracy: fine-tune this model (e.g. a shipped one) instead of training from scratch; "
                             "its architecture, grid and context replace those given")
    parser.add_argument("--reuse-maps", action="store_true",
                        help="accuracy with --model: reuse probability maps already predicted by that model")
    parser.add_argument("--name", help="accuracy: name of the result (default: the kind)")
    parser.add_argument("--epochs", type=int, help="accuracy: train this many epochs instead of --minutes")
    parser.add_argument("--seed", type=int, default=0,
                        help="accuracy: training seed (weights and patches); another seed measures run-to-run spread")
    parser.add_argument("--depth", type=int, default=TrainingParameters().depth,
                        help="accuracy: MS-D depth of the trained model (default %(default)s)")
    parser.add_argument("--dims", type=int, choices=(2, 3), default=TrainingParameters().dims,
                        help="accuracy: 2D (sections) or 3D network (default %(default)s)")
    parser.add_argument("--width", type=int, default=TrainingParameters().width,
                        help="accuracy: MS-D maps per layer (default %(default)s)")
    parser.add_argument("--patch", type=int, default=TrainingParameters().patch,
                        help="accuracy: training patch side in voxels of the model grid (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=TrainingParameters().batch_size,
                        help="accuracy: training patches per step (default %(default)s)")
    parser.add_argument("--context", type=int, default=TrainingParameters().context,
                        help="accuracy: sections on each side of the predicted one (2D models)")
    parser.add_argument("--far-context", type=int, default=TrainingParameters().far_context,
                        help="accuracy: z-averaged slabs on each side beyond --context (2D models)")
    parser.add_argument("--planes", default=TrainingParameters().planes,
                        help="accuracy: section planes of a 2D model, e.g. xy,xz,yz (default %(default)s)")
    parser.add_argument("--mirrored", action="store_true",
                        help="accuracy: average the network over mirrored copies when predicting")
    parser.add_argument("--lr-schedule", choices=("cosine", "constant"), default=TrainingParameters().lr_schedule,
                        help="accuracy: learning-rate schedule of the training")
    parser.add_argument("--dice-weight", type=float, default=TrainingParameters().dice_weight,
                        help="accuracy: weight of a soft Dice term in the training loss (default %(default)s)")
    parser.add_argument("--near-miss", type=float, default=TrainingParameters().near_miss_fraction,
                        help="accuracy: fraction of training patches centred within "
                             f"{TrainingParameters().near_miss_nm:g} nm above or below an ROI (default %(default)s)")
    parser.add_argument("--rotations", choices=ROTATIONS, default=TrainingParameters().rotations,
                        help="accuracy: x-y turns of the training patches (default %(default)s)")
    parser.add_argument("--turn-interpolation", choices=list(INTERPOLATIONS),
                        default=TrainingParameters().turn_interpolation,
                        help="accuracy, with --rotations any: how turned images are interpolated (default %(default)s)")
    parser.add_argument("--blur-share", type=float, default=TrainingParameters().blur_share,
                        help="accuracy: fraction of training patches blurred in-plane (default %(default)s)")
    parser.add_argument("--blur-sigma", type=float, default=TrainingParameters().blur_sigma,
                        help="accuracy: largest sigma of that blur, voxels (default %(default)s)")
    parser.add_argument("--wedge-copies", type=int, default=TrainingParameters().wedge_copies,
                        help="accuracy: copies of each training tomogram with an extra missing wedge about "
                             "other in-plane axes (default %(default)s)")
    parser.add_argument("--extraction-from", metavar="NAME",
                        help="accuracy: score with the extraction settings another run (--name NAME) calibrated, "
                             "instead of calibrating this one")
    parser.add_argument("--validation", choices=("rows", "tomograms"), default=TrainingParameters().validation,
                        help="accuracy: validate on rows of every training tomogram, or on whole ones (then the "
                             "model is also calibrated on those; default %(default)s)")
    parser.add_argument("--grid", type=float, default=TrainingParameters().voxel_size, metavar="ANGSTROM",
                        help="accuracy: the model grid's voxel size (default: the training tomograms' voxel size, "
                             f"but at least {TrainingParameters().min_voxel_size:g} Å)")
    parser.add_argument("--contacts", type=int, help="accuracy: contact sites asked for per phantom "
                                                     "(default: the generator's)")
    parser.add_argument("--train-field", type=int, nargs=3, metavar=("Z", "Y", "X"),
                        help="accuracy: shape of the training phantoms only (default: --field)")
    parser.add_argument("--train-contacts", type=int, help="accuracy: contact sites per training phantom "
                                                           "(default: --contacts)")
    parser.add_argument("--train-distractors", type=int,
                        help="accuracy: distractors of each kind per training phantom (default: the generator's)")
    parser.add_argument("--calibrate", type=int, default=3,
                        help="accuracy: training tomograms the extraction settings are chosen on (default 3)")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"),
                        help="accuracy: where the network trains and predicts (default %(default)s)")
    parser.add_argument("--work", type=Path, default=Path("bench_roi_work"), help="data and models folder")
    args = parser.parse_args()
    use_all_cores()
    {"accuracy": accuracy, "depth": depth, "penalty": penalty, "throughput": throughput,
     "memory": memory, "orientation": orientation}[args.section](args)


if __name__ == "__main__":
    main()
