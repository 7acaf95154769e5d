"""Make the README's pictures from a phantom's outputs (docs/images/*.png, about a minute on 2 cores).

A contact-site phantom (the demo's first: seed 0, item 0) goes through the demo's SurfORA stage on its true
ROIs; the pictures show its tomogram with the ROIs, the oriented medial cloud of its first ROI, and that
ROI's mesh coloured by the distance to the partner membrane and by mean curvature. PyVista renders off-screen
(under Xvfb where there is no display: ``xvfb-run -a``).

    xvfb-run -a .venv/bin/python scripts/make_figures.py [--work DIR]
"""
import argparse
import json
import tempfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pyvista  # noqa: E402

from tomorois_surfora.engine.demo_surface import surface_stage  # noqa: E402
from tomorois_surfora.engine.io import read_mrc, read_ply  # noqa: E402
from tomorois_surfora.engine.measure.distance import partner_distances  # noqa: E402
from tomorois_surfora.engine.synth import PhantomParameters, write_dataset  # noqa: E402

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
WINDOW = (640, 480)


def tomogram_figure(folder, ts_id, out):
    """The x-y section through the first ROI's centre, ROI outlines in colour."""
    tomogram, voxel_size = read_mrc(folder / f"{ts_id}.mrc")
    rois, _ = read_mrc(folder / f"{ts_id}_rois.mrc")
    truth = json.loads((folder / f"{ts_id}.json").read_text())
    z = int(round(truth["rois"][0]["centroid_nm"][2] / (voxel_size / 10)))  # centroids are x, y, z in nm
    extent = [0, tomogram.shape[2] * voxel_size / 10, tomogram.shape[1] * voxel_size / 10, 0]
    fig, ax = plt.subplots(figsize=(6.4, 6.4), dpi=100)
    ax.imshow(tomogram[z], cmap="gray", extent=extent)
    labels = [label for label in np.unique(rois[z]) if label]
    ys, xs = ((np.arange(n) + 0.5) * voxel_size / 10 for n in tomogram.shape[1:])  # voxel centres, nm
    for label, colour in zip(labels, plt.cm.tab10.colors):
        ax.contour(xs, ys, rois[z] == label, levels=[0.5], colors=[colour], linewidths=2)
    ax.set_xlabel("x (nm)")
    ax.set_ylabel("y (nm)")
    ax.set_title(f"{ts_id}, section {z}: contact-site ROIs outlined")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def _view(plotter):
    """Looking down z, tilted a little, y pointing down as in the tomogram picture."""
    plotter.view_vector((0.35, 0.35, 1.0), viewup=(0, -1, 0))
    plotter.camera.zoom(1.2)


def _plotter():
    plotter = pyvista.Plotter(off_screen=True, window_size=WINDOW)
    plotter.set_background("white")
    return plotter


def cloud_figure(ply, out):
    """The oriented medial cloud: points coloured by membrane, every 6th normal as an arrow."""
    cloud = read_ply(ply)
    poly = pyvista.PolyData(cloud.points)
    poly["membrane"] = cloud.properties["label"].astype(float)
    poly["Normals"] = cloud.normals
    plotter = _plotter()
    plotter.add_mesh(poly, scalars="membrane", cmap=["#1f77b4", "#d62728"], point_size=4,
                     render_points_as_spheres=True, show_scalar_bar=False)
    arrows = poly.extract_points(np.arange(0, poly.n_points, 6), adjacent_cells=False)
    plotter.add_mesh(arrows.glyph(orient="Normals", scale=False, factor=3.0), color="black")
    plotter.add_text("medial cloud, normals toward the partner membrane", font_size=10, color="black")
    _view(plotter)
    plotter.screenshot(out)
    plotter.close()


def mesh_figure(mesh, array, title, cmap, out, limits=None):
    plotter = _plotter()
    plotter.add_mesh(mesh, scalars=array, cmap=cmap, clim=limits, nan_color="lightgray",
                     scalar_bar_args={"title": title, "color": "black", "vertical": True, "position_x": 0.78,
                                      "position_y": 0.15, "height": 0.7, "title_font_size": 16,
                                      "label_font_size": 14, "fmt": "%.3g"})
    _view(plotter)
    plotter.screenshot(out)
    plotter.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="tomorois_figures_"))
    folder = work / "contacts"
    manifest = write_dataset("contacts", folder, 1, 0, PhantomParameters(), quiet=True)
    ts_id = manifest["items"][0]["tsId"]
    meshes = sorted((folder / "surfaces").glob(f"{ts_id}_roi*_mesh.vtp"))
    if not meshes:  # reuse an earlier run's surfaces in --work
        surface_stage(folder, manifest["items"][0], folder / "surfaces")
        meshes = sorted((folder / "surfaces").glob(f"{ts_id}_roi*_mesh.vtp"))
    first = meshes[0].name[:-len("_mesh.vtp")]
    IMAGES.mkdir(parents=True, exist_ok=True)
    tomogram_figure(folder, ts_id, IMAGES / "tomogram_rois.png")
    cloud_figure(folder / "surfaces" / f"{first}_medial.ply", IMAGES / "oriented_cloud.png")
    mesh = pyvista.read(folder / "surfaces" / f"{first}_mesh.vtp")
    first_label, second_label = np.unique(mesh["label"])[:2]
    other_way = partner_distances(mesh.points, mesh.regular_faces, mesh["label"], second_label, first_label)
    mesh["distance_nm"] = np.where(np.isnan(mesh["distance_nm"]), other_way, mesh["distance_nm"])  # both ways
    mesh_figure(mesh, "distance_nm", "distance (nm)", "viridis_r", IMAGES / "distance_map.png")
    limits = tuple(float(v) for v in np.nanpercentile(mesh["mean_curvature"], [2, 98]))
    mesh_figure(mesh, "mean_curvature", "H (1/nm)", "plasma", IMAGES / "curvature_map.png", limits)
    print(f"wrote 4 pictures of {first} to {IMAGES}")


if __name__ == "__main__":
    main()
