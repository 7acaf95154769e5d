"""The main job on the embedded synthetic data. It grows as stages land: today it generates both phantom
datasets (contact sites and invaginations), then, for each, trains a TomoROIS model on all tomograms but
the last, predicts and extracts the ROIs of the last one and scores them against its ground truth; then
SurfORA measures the membranes of the first contact phantom's true ROIs (see demo_surface.py)."""
import json
from pathlib import Path

from .synth import PhantomParameters, write_dataset

KINDS = ("contacts", "invaginations")


def run_demo(out_dir, n=2, seed=0, quiet=False, train_minutes=1.0):
    """Write ``n`` phantoms of each kind under ``out_dir``, run TomoROIS on them and print a summary.

    Parameters
    ----------
    n : int
        Tomograms per kind; with 2 or more, the last one is held out for prediction and scoring.
    train_minutes : float
        Training time per kind (0 skips TomoROIS). A minute shows the workflow; the README's benchmark
        trains for 15–25 minutes.

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
            results[kind]["metrics"] = _roi_stage(out_dir / kind, results[kind]["manifest"], train_minutes, quiet)
        _print_roi_table(results, train_minutes)
    from .demo_surface import print_surface_table, surface_stage

    contacts = results["contacts"]["manifest"]
    rows, _ = surface_stage(out_dir / "contacts", contacts["items"][0], out_dir / "contacts" / "surfaces")
    results["contacts"]["surfaces"] = rows
    print_surface_table(rows)
    return results


def _roi_stage(folder, manifest, train_minutes, quiet):
    """Train on all items but the last, then predict, extract and evaluate the last one."""
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
    summary = train_files([path(i) for i in train_items], [path(i, "_rois") for i in train_items],
                          TrainingParameters(epochs=1000, time_limit_min=train_minutes), folder / "model",
                          penalties=[path(i, "_decoys") for i in train_items], quiet=quiet)
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
    print(f"\nTomoROIS after {train_minutes:g} min of training per kind (held-out tomogram; the README's "
          "benchmark trains longer):")
    print(f"{'dataset':<15}{'epochs':>7}{'predicted':>10}{'true':>6}{'TP':>4}{'FP':>4}{'FN':>4}{'Dice':>6}")
    for kind, result in results.items():
        m = result["metrics"]
        print(f"{kind:<15}{m['training']['epochs']:>7}{m['predicted']:>10}{m['true']:>6}{m['tp']:>4}{m['fp']:>4}"
              f"{m['fn']:>4}{fmt(m['dice']):>6}")
