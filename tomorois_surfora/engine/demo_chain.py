"""The demo's whole chain with no ground truth in between: the held-out contact phantom's predicted ROIs →
membranes segmented inside them by the shipped membrane model → SurfORA, with the closest membrane distance
of each ROI printed beside the true gap of the true ROI it overlaps most (the only use of the truth)."""
import json

import numpy as np

from .demo_surface import measure_roi_membranes, print_surface_table

MEMBRANE_MODEL = "membranes.pt"


def shipped_membrane_model():
    """The shipped membrane model (a path), or None if it is not installed."""
    from .demo import DEMO_MODELS

    path = DEMO_MODELS / MEMBRANE_MODEL
    return path if path.is_file() else None


def true_gaps_of_predicted(predicted, truth, true_gaps):
    """{predicted ROI label: the true gap (nm) of the true ROI it overlaps most} (ROIs overlapping none left out)."""
    both = (predicted > 0) & (truth > 0)
    pairs, counts = np.unique(np.stack([predicted[both], truth[both]]), axis=1, return_counts=True)
    best = {}
    for (p, t), count in zip(pairs.T.tolist(), counts.tolist()):
        if count > best.get(p, (0, None))[0]:
            best[p] = (count, t)
    return {p: true_gaps.get(t) for p, (_, t) in best.items()}


def chain_stage(folder, item, predicted_rois, out, quiet=False):
    """Segment membranes inside ``predicted_rois`` (path) of phantom ``item`` and measure them.

    Returns
    -------
    dict
        ``rows`` (one per predicted ROI, see :func:`.demo_surface.measure_roi_membranes`), ``segmentation``
        (the membrane prediction's record), ``within_1nm`` (share of measured ROIs whose closest distance is
        within 1 nm of the true gap).
    """
    from .io import read_mrc
    from .membrane.model_file import load_membrane_model
    from .membrane.predict import predict_membrane_file

    ts_id = item["tsId"]
    out.mkdir(parents=True, exist_ok=True)
    model = load_membrane_model(shipped_membrane_model())
    record = predict_membrane_file(model, folder / f"{ts_id}.mrc", out, rois=predicted_rois, quiet=quiet)
    membranes, voxel_size = read_mrc(record["paths"]["labels"])
    rois, _ = read_mrc(predicted_rois)
    truth, _ = read_mrc(folder / f"{ts_id}_rois.mrc")
    true_gaps = {roi["label"]: roi["gap_nm"] for roi in json.loads((folder / f"{ts_id}.json").read_text())["rois"]}
    gaps = true_gaps_of_predicted(rois, truth, true_gaps)
    rows, _ = measure_roi_membranes(membranes, rois, voxel_size, gaps, f"{ts_id}_predicted", out / "surfaces",
                                    record["paths"]["labels"])
    scored = [r for r in rows if "error" not in r and r["true_gap_nm"] is not None]
    within = [abs(r["distance"]["min"] - r["true_gap_nm"]) <= 1.0 for r in scored]
    return {"rows": rows, "segmentation": record, "within_1nm": float(np.mean(within)) if within else None}


def print_chain_table(result):
    print_surface_table(result["rows"], "The whole chain without ground truth: predicted ROIs → membranes "
                                        "segmented inside them (shipped membrane model) → SurfORA")
    share = result["within_1nm"]
    print("closest distance within 1 nm of the true gap: " + ("n/a" if share is None else f"{100 * share:.0f}% of "
          f"the measured ROIs"))
