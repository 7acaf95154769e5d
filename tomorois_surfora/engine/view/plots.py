"""matplotlib figures of results: training curves, ROI evaluation per tomogram, curvature histograms.

Each function returns a ``matplotlib.figure.Figure`` built without pyplot, so it can be saved headless or
shown in any window; the Scipion viewers show them, the tests save them.
"""
import numpy as np

from ..errors import InputError


def _figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def training_curves(history):
    """Loss, validation Dice and learning rate per epoch.

    Parameters
    ----------
    history : list of dict
        Rows of a training's ``history.csv`` (epoch, train_loss, val_loss, val_dice, learning_rate); an
        empty ``val_dice`` (no ROI voxels in the validation patches) is left out of the Dice panel.
    """
    if not history:
        raise InputError("the training history is empty: no epoch finished")

    def column(name):
        return np.array([float(row[name]) if row.get(name) not in (None, "") else np.nan for row in history])

    epochs = column("epoch")
    figure = _figure(10, 3.2)
    loss, dice, rate = figure.subplots(1, 3)
    loss.plot(epochs, column("train_loss"), label="training")
    loss.plot(epochs, column("val_loss"), label="validation")
    loss.set(xlabel="epoch", ylabel="loss", title="loss")
    loss.legend()
    dice_values = column("val_dice")
    known = np.isfinite(dice_values)
    dice.plot(epochs[known], dice_values[known], "o-", color="tab:green", markersize=3)
    dice.set(xlabel="epoch", ylabel="Dice", title="validation Dice", ylim=(0, 1))
    if not known.any():
        dice.text(0.5, 0.5, "no ROI in the validation patches", ha="center", transform=dice.transAxes)
    rate.plot(epochs, column("learning_rate"), color="tab:grey")
    rate.set(xlabel="epoch", ylabel="learning rate", title="learning rate", yscale="log")
    return figure


def evaluation_bars(metrics):
    """Per-tomogram TP / FP / FN counts and voxel Dice, with the pooled figures in the title.

    Parameters
    ----------
    metrics : dict
        ``{"pooled": {...}, "tomograms": {tsId: {...}}}`` as the evaluate protocol writes it (each entry as
        ``roi.metrics.evaluate_rois`` returns it).
    """
    tomograms = metrics.get("tomograms") or {}
    if not tomograms:
        raise InputError("no tomogram was evaluated")
    names = sorted(tomograms)
    x = np.arange(len(names))
    figure = _figure(max(6, 0.6 * len(names) + 3), 3.6)
    counts, dice = figure.subplots(1, 2)
    for offset, key, colour in ((-0.25, "tp", "tab:green"), (0, "fp", "tab:red"), (0.25, "fn", "tab:orange")):
        counts.bar(x + offset, [tomograms[n][key] for n in names], width=0.25, label=key.upper(), color=colour)
    counts.set(xticks=x, ylabel="ROIs", title="ROIs per tomogram")
    counts.set_xticklabels(names, rotation=45, ha="right")
    counts.legend()
    dice.bar(x, [tomograms[n]["dice"] or 0.0 for n in names], color="tab:blue")
    dice.set(xticks=x, ylabel="voxel Dice", ylim=(0, 1), title="voxel Dice per tomogram")
    dice.set_xticklabels(names, rotation=45, ha="right")
    pooled = metrics.get("pooled") or {}
    figure.suptitle(_pooled_text(pooled))
    return figure


def _pooled_text(pooled):
    def percent(value):
        return "n/a" if value is None else f"{100 * value:.1f}%"

    dice = pooled.get("dice")
    return (f"pooled: FP {percent(pooled.get('fp_rate'))}, FN {percent(pooled.get('fn_rate'))}, "
            f"Dice {'n/a' if dice is None else f'{dice:.3f}'}")


def curvature_histograms(meshes, bins=60):
    """Histograms of mean curvature H (1/nm) per membrane label, one panel per mesh.

    Parameters
    ----------
    meshes : dict of name -> Mesh
        Meshes with ``mean_curvature`` and ``label`` point arrays (vertices without a value are NaN).
    """
    named = {name: mesh for name, mesh in meshes.items() if "mean_curvature" in mesh.point_data}
    if not named:
        raise InputError("no mesh has a mean_curvature array: run the curvature measurement first")
    figure = _figure(4 * min(len(named), 4), 3.2 * -(-len(named) // 4))
    axes = np.atleast_1d(figure.subplots(-(-len(named) // 4), min(len(named), 4))).ravel()
    for ax, (name, mesh) in zip(axes, named.items()):
        values = np.asarray(mesh.point_data["mean_curvature"], float)
        labels = np.asarray(mesh.point_data.get("label", np.ones(len(values))), int)
        finite = np.isfinite(values)
        if not finite.any():
            ax.text(0.5, 0.5, "no vertex with a value", ha="center", transform=ax.transAxes)
        else:
            edges = np.linspace(*np.percentile(values[finite], [0.5, 99.5]), bins + 1)
            for label in np.unique(labels[finite]):
                ax.hist(values[finite & (labels == label)], bins=edges, histtype="step", label=f"membrane {label}")
            ax.axvline(0, color="k", linewidth=0.5)
            ax.legend(fontsize=7)
        ax.set(xlabel="mean curvature H (1/nm)", ylabel="vertices", title=name)
    for ax in axes[len(named):]:
        ax.set_visible(False)
    return figure
