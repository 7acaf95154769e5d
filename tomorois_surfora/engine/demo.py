"""The main job on the embedded synthetic data. It grows as stages land: today it generates both phantom
datasets (contact sites and invaginations), then, for each, fine-tunes the shipped starting model (or, with
``from_scratch``, trains a new one) on all tomograms but the last, predicts and extracts the ROIs of the
last one and scores them against its ground truth; then SurfORA measures the membranes of the first
contact phantom's true ROIs (see demo_surface.py); last, the whole chain runs on the held-out contact
phantom with no ground truth in between: its predicted ROIs, membranes segmented inside them by the
shipped membrane model, SurfORA (see demo_chain.py).

The starting models in ``demo_models/`` were trained for 25 CPU minutes on phantoms of other seeds by
``scripts/make_demo_models.sh`` (see ``demo_models/PROVENANCE.md``): a minute of training from scratch
shows the workflow but finds few ROIs, and a minute of fine-tuning shows the iterative workflow the
seed paper recommends, with results worth looking at."""
import json
from pathlib import Path

from .synth import PhantomParameters, write_dataset

KINDS = ("contacts", "invaginations")
DEMO_MODELS = Path(__file__).resolve().parent / "demo_models"
FINE_TUNING_RATE_FRACTION = 0.1  # of the default learning rate: a short fine-tuning must not undo the start


def starting_model(kind):
    """The shipped starting model for phantoms of ``kind`` (a path), or None if it is not installed."""
    path = DEMO_MODELS / f"{kind}.pt"
    return path if path.is_file() else None


def run_demo(out_dir, n=2, seed=0, quiet=False, train_minutes=1.0, from_scratch=False):
    """Write ``n`` phantoms of each kind under ``out_dir``, run TomoROIS on them and print a summary.

    Parameters
    ----------
    n : int
        Tomograms per kind; with 2 or more, the last one is held out for prediction and scoring.
    train_minutes : float
        Training time per kind (0 skips TomoROIS). A minute shows the workflow; the README's benchmark
        trains for 25 minutes.
    from_scratch : bool
        Train new models instead of fine-tuning the shipped starting models.

    Returns
    -------
    dict
        Per kind: the dataset manifest and, when TomoROIS ran, its metrics.
    """
    out_dir = Path(out_dir)
    params = PhantomParameters()
    results = {}
    for kind in KINDS:
        results[kind] = {"manifest": write_dataset(kind, out_dir / kind, n, seed, params, quiet=quiet)}
    print(f"{'dataset':<15}{'tomograms':>10}{'ROIs':>6}{'seconds':>9}  folder")
    for kind, result in results.items():
        manifest = result["manifest"]
        rois = sum(item["rois"] for item in manifest["items"])
        seconds = sum(item["seconds"] for item in manifest["items"])
        print(f"{kind:<15}{manifest['n']:>10}{rois:>6}{seconds:>9.1f}  {(out_dir / kind).resolve()}")
    z, y, x = params.shape
    print(f"Phantoms ({x}×{y}×{z} voxels at {params.voxel_size:g} Å) with ground truth written under "
          f"{out_dir.resolve()}: <tsId>.mrc tomogram, <tsId>_membranes.mrc, <tsId>_rois.mrc, <tsId>_decoys.mrc, "
          "<tsId>.json.")
    if n >= 2 and train_minutes > 0:
        for kind in KINDS:
            start = None if from_scratch else starting_model(kind)
            results[kind]["metrics"] = _roi_stage(out_dir / kind, results[kind]["manifest"], train_minutes, quiet,
                                                  start)
        _print_roi_table(results, train_minutes)
    from .demo_surface import print_surface_table, surface_stage

    contacts = results["contacts"]["manifest"]
    rows, _ = surface_stage(out_dir / "contacts", contacts["items"][0], out_dir / "contacts" / "surfaces")
    results["contacts"]["surfaces"] = rows
    print_surface_table(rows)
    from .demo_chain import chain_stage, print_chain_table, shipped_membrane_model

    predicted = out_dir / "contacts" / "model" / f"{contacts['items'][-1]['tsId']}_predicted_rois.mrc"
    if predicted.is_file() and shipped_membrane_model() is not None:
        results["contacts"]["chain"] = chain_stage(out_dir / "contacts", contacts["items"][-1], predicted,
                                                   out_dir / "contacts" / "chain", quiet=quiet)
        print_chain_table(results["contacts"]["chain"])
    return results


def _roi_stage(folder, manifest, train_minutes, quiet, start=None):
    """Train on all items but the last (fine-tuning ``start`` if given), then predict, extract and evaluate
    the last one."""
    from .io import read_mrc, write_csv, write_mrc
    from .roi.commands import flat_rows
    from .roi.extract import extract_rois
    from .roi.metrics import evaluate_rois
    from .roi.model_file import load_model
    from .roi.predict import predict_file, use_all_cores
    from .roi.train import TrainingParameters, train_files

    use_all_cores()
    items = manifest["items"]
    train_items, test = items[:-1], items[-1]
    path = lambda item, suffix="": folder / f"{item['tsId']}{suffix}.mrc"  # noqa: E731 (write_phantom's names)
    params = TrainingParameters(epochs=1000, time_limit_min=train_minutes)
    if start is not None:
        params.learning_rate *= FINE_TUNING_RATE_FRACTION
    summary = train_files([path(i) for i in train_items], [path(i, "_rois") for i in train_items], params,
                          folder / "model", penalties=[path(i, "_decoys") for i in train_items], init_model=start,
                          quiet=quiet)
    model = load_model(summary["model"])
    probability_file = folder / "model" / f"{test['tsId']}_prob.mrc"
    predict_file(model, path(test), probability_file, quiet=quiet)
    probabilities, voxel_size = read_mrc(probability_file)
    labels, table = extract_rois(probabilities, voxel_size, source=str(probability_file))
    write_mrc(folder / "model" / f"{test['tsId']}_predicted_rois.mrc", labels, voxel_size)
    write_csv(folder / "model" / f"{test['tsId']}_predicted_rois.csv", flat_rows(table))
    truth, _ = read_mrc(path(test, "_rois"))
    metrics = evaluate_rois(labels, truth, source=str(probability_file))
    metrics["training"] = summary
    (folder / "model" / f"{test['tsId']}_metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


def _print_roi_table(results, train_minutes):
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"\nTomoROIS after {train_minutes:g} min of training per kind (held-out tomogram; 'start': 'shipped' "
          "fine-tunes demo_models/<kind>.pt, trained 25 min on other phantoms, 'scratch' starts from random "
          "weights; the README's benchmark trains longer):")
    print(f"{'dataset':<15}{'start':>8}{'epochs':>7}{'predicted':>10}{'true':>6}{'TP':>4}{'FP':>4}{'FN':>4}"
          f"{'Dice':>6}")
    for kind, result in results.items():
        m = result["metrics"]
        start = "shipped" if m["training"].get("fine_tuned_from") else "scratch"
        print(f"{kind:<15}{start:>8}{m['training']['epochs']:>7}{m['predicted']:>10}{m['true']:>6}{m['tp']:>4}"
              f"{m['fp']:>4}{m['fn']:>4}{fmt(m['dice']):>6}")
