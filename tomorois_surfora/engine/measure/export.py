"""Exports of measurements: plots (PNG) and STAR tables for subtomogram averaging."""
import numpy as np


def normal_angles(normals):
    """ZYZ Euler angles (degrees) that rotate the z axis onto each normal: rot = atan2(ny, nx),
    tilt = acos(nz), psi = 0 (RELION's rlnAngleRot / rlnAngleTilt / rlnAnglePsi for a membrane-normal prior)."""
    normals = np.asarray(normals, dtype=np.float64)
    normals = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    rot = np.degrees(np.arctan2(normals[:, 1], normals[:, 0]))
    tilt = np.degrees(np.arccos(np.clip(normals[:, 2], -1.0, 1.0)))
    return rot, tilt, np.zeros(len(normals))


def vertex_star_table(points_nm, normals, voxel_size_angstrom, tomogram_name, values=None):
    """A RELION-style particle table: one row per vertex in pixel coordinates, the normal as Euler angles,
    plus any per-vertex ``values`` columns (e.g. ``mean_curvature``)."""
    import pandas as pd

    pixels = np.asarray(points_nm) * 10.0 / voxel_size_angstrom
    rot, tilt, psi = normal_angles(normals)
    table = {"rlnTomoName": [tomogram_name] * len(pixels), "rlnCoordinateX": pixels[:, 0],
             "rlnCoordinateY": pixels[:, 1], "rlnCoordinateZ": pixels[:, 2],
             "rlnAngleRot": rot, "rlnAngleTilt": tilt, "rlnAnglePsi": psi}
    table.update(values or {})
    return pd.DataFrame(table)


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def ranked_distances_figure(rows, title="Inter-membrane distance per contact"):
    """Mean ± std distance of every contact (rows with name, mean, std), ranked (seed paper Fig. 3E), as a
    ``matplotlib.figure.Figure`` (no pyplot, so it can be saved headless or shown in any window)."""
    from matplotlib.figure import Figure

    rows = sorted(rows, key=lambda r: float(r["mean"]))
    longest = max((len(r["name"]) for r in rows), default=0)  # the names stand upright below the axis
    figure = Figure(figsize=(max(4.0, 0.35 * len(rows) + 2), 3.0 + 0.07 * longest), layout="tight")
    axes = figure.subplots()
    rank = np.arange(1, len(rows) + 1)
    axes.errorbar(rank, [float(r["mean"]) for r in rows], yerr=[float(r["std"]) for r in rows], fmt="o", capsize=3)
    axes.set_xticks(rank)
    axes.set_xticklabels([r["name"] for r in rows], rotation=90, fontsize=7)
    axes.set_xlabel("contact (ranked by mean distance)")
    axes.set_ylabel("distance (nm)")
    axes.set_title(title)
    return figure


def plot_ranked_distances(rows, path, title="Inter-membrane distance per contact"):
    """Write :func:`ranked_distances_figure` to ``path`` (PNG)."""
    ranked_distances_figure(rows, title).savefig(path, dpi=120)


def plot_histograms(series, path, xlabel, bins=50):
    """Overlaid histograms of ``series`` ({name: values}), NaN dropped."""
    plt = _figure()
    figure, axes = plt.subplots(figsize=(5, 3.5))
    for name, values in series.items():
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(values):
            axes.hist(values, bins=bins, histtype="step", label=f"{name} (n={len(values)})")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("vertices")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
