"""Plot benchmark results that a table shows badly, from benchmarks/results/*.json, into docs/images/.

    .venv/bin/python scripts/plot_benchmarks.py

Each plot is made only when its JSON is there; the script says which it wrote and which it skipped.
"""
import csv
import json
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
IMAGES = ROOT / "docs" / "images"
SHIPPED_CONTACTS = "roi_accuracy_contacts_big40_d50_w2_z4_far3_dice1_t30"
CONTACT_EXTENT = "contact_extent_contacts_c6_d50_w2_z4_far3_dice1.json"


def training_curves(ax):
    """Training and validation loss, and validation Dice, per epoch of the shipped contacts model."""
    with open(RESULTS / f"{SHIPPED_CONTACTS}_history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    epoch = [int(r["epoch"]) for r in rows]
    ax.plot(epoch, [float(r["train_loss"]) for r in rows], label="training loss")
    ax.plot(epoch, [float(r["val_loss"]) for r in rows], label="validation loss")
    ax.plot(epoch, [float(r["val_dice"]) for r in rows], label="validation Dice")
    best = json.loads((RESULTS / f"{SHIPPED_CONTACTS}.json").read_text())["training"]["best_epoch"]
    ax.axvline(best, color="gray", ls=":", label=f"saved (epoch {best})")
    ax.set_xlabel("epoch (25 CPU minutes in all)")
    ax.set_ylim(0, 1.2)
    ax.set_title("training the shipped contacts model")
    ax.legend(fontsize=8)


def contact_extent(ax):
    """Predicted / true volume of each contact ROI against its gap."""
    extent = json.loads((RESULTS / CONTACT_EXTENT).read_text())
    gap = np.array([r["gap_nm"] for r in extent["rois"]])
    ratio = np.array([r["volume_ratio"] for r in extent["rois"]])
    ax.scatter(gap, ratio, s=12)
    ax.axhline(1, color="gray", ls=":")
    ax.set_xlabel("contact gap between mid-surfaces (nm)")
    ax.set_ylabel("predicted / true ROI volume")
    ax.set_title(f"contact ROI size against gap (r = {extent['correlation_gap_volume_ratio']:.2f})")


def msd_memory(ax):
    """Autograd memory of our MS-D buffer and of naive concatenation against depth."""
    rows = json.loads((RESULTS / "msd_memory.json").read_text())["rows"]
    depth = [r["depth"] for r in rows]
    ax.plot(depth, [r["naive_MiB"] for r in rows], "o-", label="concatenating maps")
    ax.plot(depth, [r["ours_MiB"] for r in rows], "o-", label="one buffer, own backward")
    ax.set_xlabel("depth")
    ax.set_ylabel("memory kept for the backward pass (MiB)")
    ax.set_title("MS-D memory, 2D 128×128")
    ax.legend(fontsize=8)


def curvature_errors(ax):
    """Mean |H| error of ours and of VTK on each benchmark mesh."""
    rows = [r for r in json.loads((RESULTS / "measure_curvature.json").read_text())["rows"]
            if "throughput" not in r["case"]]
    y = np.arange(len(rows))
    ax.barh(y - 0.2, [100 * r["error"] for r in rows], height=0.4, label="ours")
    ax.barh(y + 0.2, [100 * r["vtk_error_same_vertices"] for r in rows], height=0.4, label="VTK (1-ring)")
    ax.set_yticks(y, [r["case"] for r in rows], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("mean |H − H_true| / |H_true| (%)")
    ax.set_title("curvature error")
    ax.invert_yaxis()
    ax.legend(fontsize=8)


PLOTS = {"benchmark_training.png": (training_curves, [f"{SHIPPED_CONTACTS}_history.csv", f"{SHIPPED_CONTACTS}.json"]),
         "benchmark_contact_extent.png": (contact_extent, [CONTACT_EXTENT]),
         "benchmark_msd_memory.png": (msd_memory, ["msd_memory.json"]),
         "benchmark_curvature.png": (curvature_errors, ["measure_curvature.json"])}


def main():
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, (plot, sources) in PLOTS.items():
        missing = [s for s in sources if not (RESULTS / s).is_file()]
        if missing:
            print(f"skipped {name}: {', '.join(missing)} not in {RESULTS}")
            continue
        fig, ax = plt.subplots(figsize=(6, 4), dpi=90)
        plot(ax)
        fig.tight_layout()
        fig.savefig(IMAGES / name)
        plt.close(fig)
        print(f"wrote {IMAGES / name}")


if __name__ == "__main__":
    main()
