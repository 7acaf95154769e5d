"""Benchmark membrane segmentation: the hybrid 2.5D network, a plain U-Net of similar size at the same training
budget, and the Hessian sheet filter (no training), on held-out phantoms of every kind; and speed.

    .venv/bin/python benchmarks/bench_membrane.py accuracy --train-each 3 --test 10 --minutes 10
    .venv/bin/python benchmarks/bench_membrane.py downstream --name t12   # contact distances, after accuracy
    .venv/bin/python benchmarks/bench_membrane.py accuracy ... --methods hybrid --eed --name eed  # an ablation
    .venv/bin/python benchmarks/bench_membrane.py speed

Training phantoms are of the first family only (contacts and invaginations, seed 100); test phantoms come from
seed 200: ``--test`` of each kind, the second family (``pm_contacts``, never trained or tuned on) included,
plus contacts at a harder SNR (``--hard-snr``). Both networks train for ``--minutes`` each with the defaults;
the sheet filter's polarity and threshold are chosen on the training tomograms. Scores pool every test
tomogram's membrane voxels (Dice, IoU, precision, recall, F1) and average mCov over tomograms. Writes
benchmarks/results/membrane_<section>[_<name>].json and prints a table.
"""
import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from results_json import RESULTS, write_result

from tomorois_surfora.engine.io import read_mrc
from tomorois_surfora.engine.membrane.commands import describe_scores
from tomorois_surfora.engine.membrane.data import load_membrane_item
from tomorois_surfora.engine.membrane.metrics import evaluate_membranes, pooled_scores
from tomorois_surfora.engine.membrane.model_file import load_membrane_model
from tomorois_surfora.engine.membrane.predict import membrane_pieces, predict_membrane_file
from tomorois_surfora.engine.membrane.preprocess import PreprocessParameters, preprocess
from tomorois_surfora.engine.membrane.ridge import calibrate_ridge, sheet_response
from tomorois_surfora.engine.membrane.train import MembraneTrainingParameters, train_membrane_files
from tomorois_surfora.engine.roi.data import load_tomogram
from tomorois_surfora.engine.roi.predict import choose_device, use_all_cores
from tomorois_surfora.engine.training_loop import UNLIMITED_EPOCHS
from tomorois_surfora.engine.synth import write_dataset
from tomorois_surfora.engine.synth.dataset import PhantomParameters, ts_id_for

WORK = Path("bench_membrane_work")
TARGETS = {"dice": 0.90, "f1": 0.85}
MODELS = {"hybrid": {"architecture": "hybrid", "base": 16}, "unet": {"architecture": "unet", "base": 24}}


def phantoms(kind, role, n, seed, field, snr=None):
    """(tomogram, membrane labels) paths of ``n`` phantoms, written once into the work folder."""
    params = PhantomParameters(shape=tuple(field))
    if snr is not None:
        imaging = params.imaging_field(kind)
        setattr(params, imaging, dataclasses.replace(params.imaging(kind), snr=snr))
    folder = WORK / f"{role}_{kind}{'' if snr is None else f'_snr{snr:g}'}_{'x'.join(map(str, field))}"
    manifest = folder / "dataset.json"
    if not manifest.is_file() or json.loads(manifest.read_text())["n"] < n:
        write_dataset(kind, folder, n, seed=seed, params=params, quiet=True)
    ids = [ts_id_for(kind, i) for i in range(n)]
    return [(folder / f"{i}.mrc", folder / f"{i}_membranes.mrc") for i in ids]


def train_once(name, pairs, minutes, preprocessing, device, epochs=None, **config):
    """Train (or reuse) a model in the work folder for ``minutes``, or ``epochs`` when given (a budget that
    other jobs on the machine cannot shorten); returns its path and training summary."""
    out = WORK / "models" / name
    summary_path = out / "training.json"
    if summary_path.is_file():
        return out / "model.pt", json.loads(summary_path.read_text())
    params = MembraneTrainingParameters(epochs=epochs or UNLIMITED_EPOCHS,
                                        time_limit_min=None if epochs else minutes, **config)
    summary = train_membrane_files([p[0] for p in pairs], [p[1] for p in pairs], params, out, preprocessing,
                                   device=device)
    summary_path.write_text(json.dumps(summary, indent=1))
    return out / "model.pt", summary


def score_network(model_path, pairs, out, device):
    model = load_membrane_model(model_path, device)
    out.mkdir(parents=True, exist_ok=True)
    evaluations, seconds, sections = [], 0.0, 0
    for tomogram, truth in pairs:
        info = predict_membrane_file(model, tomogram, out, device=device, quiet=True)
        labels = read_mrc(info["paths"]["labels"]).data
        evaluations.append({"tomogram": tomogram.name, **evaluate_membranes(labels, read_mrc(truth).data)})
        seconds += info["network_seconds"]
        sections += info["model_grid"][0] * info["model_grid"][1] * info["model_grid"][2] / 224 ** 2
    return evaluations, seconds / sections


def score_ridge(choice, pairs, preprocessing, voxel_size):
    evaluations, seconds, sections = [], 0.0, 0
    for tomogram, truth in pairs:
        image, _ = load_tomogram(tomogram, voxel_size)
        started = time.perf_counter()
        response = sheet_response(preprocess(image, preprocessing), choice["sigmas"], choice["bright"])
        labels, _ = membrane_pieces(response > choice["threshold"], voxel_size / 10, 500.0)
        seconds += time.perf_counter() - started
        sections += image.size / 224 ** 2
        evaluations.append({"tomogram": tomogram.name, **evaluate_membranes(labels, read_mrc(truth).data)})
    return evaluations, seconds / sections


def downstream(pairs, labels_of, out):
    """Closest distance between the two membranes of every true contact ROI, measured on the membranes
    ``labels_of(tomogram)`` gives, against the phantom's true gap: rows and the share within 1 nm."""
    from tomorois_surfora.engine.demo_surface import measure_roi_membranes

    rows = []
    for tomogram, _ in pairs:
        stem = tomogram.name[:-4]
        rois, voxel_size = read_mrc(tomogram.parent / f"{stem}_rois.mrc")
        gaps = {r["label"]: r["gap_nm"] for r in json.loads((tomogram.parent / f"{stem}.json").read_text())["rois"]}
        found, _ = measure_roi_membranes(labels_of(tomogram), rois, voxel_size, gaps, stem, out)
        rows += [{"roi": r["roi"], "true_gap_nm": r["true_gap_nm"],
                  "min_distance_nm": None if "error" in r else r["distance"]["min"], "error": r.get("error")}
                 for r in found]
    errors = [abs(r["min_distance_nm"] - r["true_gap_nm"]) if r["min_distance_nm"] is not None else None
              for r in rows]
    within = [e is not None and e <= 1.0 for e in errors]
    return {"contacts": len(rows), "within_1nm": float(np.mean(within)) if rows else None,
            "median_abs_error_nm": float(np.median([e for e in errors if e is not None])) if any(
                e is not None for e in errors) else None, "rows": rows}


def accuracy(args):
    use_all_cores()
    device = choose_device(args.device)
    field = tuple(args.field)
    train = [pair for kind in ("contacts", "invaginations")
             for pair in phantoms(kind, "train", args.train_each, 100, field)]
    tests = {kind: phantoms(kind, "test", args.test, 200, field) for kind in ("contacts", "invaginations",
                                                                              "pm_contacts")}
    tests[f"contacts_snr{args.hard_snr:g}"] = phantoms("contacts", "test", args.test, 200, field, args.hard_snr)
    if args.sets:
        tests = {name: pairs for name, pairs in tests.items() if name in args.sets}
    preprocessing = PreprocessParameters(clahe=not args.no_clahe, eed=args.eed)
    suffix = f"_{args.name}" if args.name else ""
    rows, payload = [], {"field": list(field), "train": [str(p[0]) for p in train], "minutes": args.minutes,
                         "sections": args.sections, "planes": args.planes,
                         "preprocess": preprocessing.to_dict(), "targets": TARGETS, "methods": {}}
    voxel_size = PhantomParameters().voxel_size
    methods = {}
    for name, config in MODELS.items():
        if name in args.methods:
            path, summary = train_once(f"{name}{suffix}", train, args.minutes, preprocessing, device, args.epochs,
                                       sections=args.sections, planes=args.planes, **config)
            methods[name] = ("network", path, summary)
    if "ridge" in args.methods:
        items = [load_membrane_item(t, m, voxel_size, preprocessing) for t, m in train]
        started = time.perf_counter()
        choice = calibrate_ridge([item.image for item in items], [item.target for item in items])
        methods["sheet filter"] = ("ridge", choice, {"seconds": round(time.perf_counter() - started, 1), **choice})
        del items
    for method, (kind, handle, summary) in methods.items():
        record = {"training": summary, "sets": {}}
        for set_name, pairs in tests.items():
            if kind == "network":
                evaluations, per_section = score_network(handle, pairs, WORK / "predictions" / f"{method}{suffix}" /
                                                         set_name, device)
            else:
                evaluations, per_section = score_ridge(handle, pairs, preprocessing, voxel_size)
            pooled = pooled_scores(evaluations)
            record["sets"][set_name] = {"pooled": pooled, "seconds_per_224_section": per_section,
                                        "tomograms": evaluations}
            rows.append((method, set_name, pooled, per_section))
            print(f"{method:13s} {set_name:20s} {describe_scores(pooled)}  {1000 * per_section:.0f} ms/224² "
                  "section", flush=True)
        payload["methods"][method] = record
    earlier = RESULTS / f"membrane_accuracy{suffix}.json"
    if earlier.is_file():  # methods run separately under one name share the file
        kept = json.loads(earlier.read_text())["methods"]
        payload["methods"] = {**{m: r for m, r in kept.items() if m not in payload["methods"]}, **payload["methods"]}
    write_result(f"membrane_accuracy{suffix}.json", payload)


def downstream_section(args):
    """Contact distances on the membranes an accuracy run predicted (run it after ``accuracy`` with the same
    options): per true contact ROI of the contacts test sets, the closest distance between its two membranes
    against the true gap; the true membranes give the reference."""
    suffix = f"_{args.name}" if args.name else ""
    field = tuple(args.field)
    sets = {"contacts": phantoms("contacts", "test", args.test, 200, field),
            f"contacts_snr{args.hard_snr:g}": phantoms("contacts", "test", args.test, 200, field, args.hard_snr)}
    payload = {"field": list(field), "accuracy_run": f"membrane_accuracy{suffix}.json", "sources": {}}
    for set_name, pairs in sets.items():
        sources = {"true membranes": lambda t: read_mrc(t.parent / f"{t.name[:-4]}_membranes.mrc")[0]}
        for method in ("hybrid", "unet"):
            folder = WORK / "predictions" / f"{method}{suffix}" / set_name
            if folder.is_dir():
                sources[method] = lambda t, f=folder: read_mrc(f / f"{t.name[:-4]}_membrane_labels.mrc")[0]
        for source, labels_of in sources.items():
            result = downstream(pairs, labels_of, WORK / "downstream" / f"{source}{suffix}" / set_name)
            payload["sources"].setdefault(source, {})[set_name] = result
            share, error = result["within_1nm"], result["median_abs_error_nm"]
            print(f"{source:15s} {set_name:20s} {result['contacts']} contacts: closest distance within 1 nm of "
                  f"the true gap for {'n/a' if share is None else f'{100 * share:.0f}%'}, median |error| "
                  f"{'n/a' if error is None else f'{error:.2f}'} nm", flush=True)
    write_result(f"membrane_downstream{suffix}.json", payload)


def speed(args):
    """Inference time per 224×224 section (stacks of the model's sections, no overlap) for both networks."""
    import torch

    from tomorois_surfora.engine.membrane.network import MembraneNet

    threads = use_all_cores()
    device = choose_device(args.device)
    results = {}
    for name, config in MODELS.items():
        net = MembraneNet(**config).to(device).eval()
        x = torch.randn(1, 5, 224, 224, device=device)
        with torch.inference_mode():
            net(x)
            times = []
            for _ in range(5):
                started = time.perf_counter()
                net(x)
                if device == "cuda":
                    torch.cuda.synchronize()
                times.append((time.perf_counter() - started) / 5)
        results[name] = {"ms_per_section": 1000 * float(np.median(times)),
                         "parameters": sum(p.numel() for p in net.parameters())}
        print(f"{name:8s} {results[name]['parameters'] / 1e6:.2f} M parameters  "
              f"{results[name]['ms_per_section']:.0f} ms per 224² section ({device}, {threads} threads)")
    write_result(f"membrane_speed_{device}.json", {"device": device, "threads": threads, "models": results})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=("accuracy", "downstream", "speed"))
    parser.add_argument("--train-each", type=int, default=3, help="training phantoms of each first-family kind")
    parser.add_argument("--test", type=int, default=10, help="test phantoms per set")
    parser.add_argument("--field", type=int, nargs=3, default=(128, 256, 256), metavar=("Z", "Y", "X"))
    parser.add_argument("--minutes", type=float, default=10.0, help="training time per network")
    parser.add_argument("--epochs", type=int, help="train for this many epochs instead of --minutes")
    parser.add_argument("--sections", type=int, default=MembraneTrainingParameters.sections,
                        help="consecutive sections per stack the networks read (default %(default)s)")
    parser.add_argument("--planes", default=MembraneTrainingParameters.planes,
                        help="section planes the networks read, comma-separated (default %(default)s)")
    parser.add_argument("--sets", nargs="+", help="score only these test sets (default: all)")
    parser.add_argument("--hard-snr", type=float, default=0.2, help="SNR of the harder contacts set")
    parser.add_argument("--no-clahe", action="store_true")
    parser.add_argument("--eed", action="store_true")
    parser.add_argument("--methods", nargs="+", default=("hybrid", "unet", "ridge"),
                        choices=("hybrid", "unet", "ridge"), help="what to train and score (default: all three)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--name", default="", help="suffix of the result and model names")
    args = parser.parse_args()
    {"accuracy": accuracy, "downstream": downstream_section, "speed": speed}[args.section](args)


if __name__ == "__main__":
    main()
