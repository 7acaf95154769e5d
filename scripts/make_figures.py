"""Make the documentation's pictures from a phantom's outputs with the tool's own viewers (docs/images/*.png,
about two minutes on 2 cores).

A contact-site phantom (the demo's first: seed 0, item 0) goes through the demo's SurfORA stage on its true
ROIs. The pictures are what `tomorois-surfora view` and `curate` show: the tomogram with its ROIs and
membranes (napari), the oriented medial cloud of its first ROI, that ROI's mesh coloured by the distance to
the partner membrane and by mean curvature (PyVista), the two curation windows, and every protocol's form
in Scipion's Tk GUI (docs/images/forms/). napari and Tk need a display: run under Xvfb where there is none.

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python scripts/make_figures.py [--work DIR]
"""
import argparse
import json
import tempfile
from pathlib import Path

import os
import subprocess
import sys

import numpy as np
import pyvista
from scipy import ndimage

from tomorois_surfora.engine.demo_surface import surface_stage
from tomorois_surfora.engine.io import read_ply, read_vtp
from tomorois_surfora.engine.measure.distance import partner_distances
from tomorois_surfora.engine.synth import PhantomParameters, write_dataset
from tomorois_surfora.engine.view.cloud_curator import CloudCurator
from tomorois_surfora.engine.view.cloud_edits import CloudCuration
from tomorois_surfora.engine.view.roi_curator import open_curator
from tomorois_surfora.engine.view.surface_scene import add_cloud, add_mesh
from tomorois_surfora.engine.view.volume_viewer import load_volume_set, napari_screenshot, volume_viewer

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
WINDOW = (800, 600)


def tomogram_figure(folder, ts_id, out):
    """napari: the section through the first ROI's centre with the ROI and membrane label layers."""
    volumes = load_volume_set(folder / f"{ts_id}.mrc", rois=folder / f"{ts_id}_rois.mrc",
                              membranes=folder / f"{ts_id}_membranes.mrc")
    truth = json.loads((folder / f"{ts_id}.json").read_text())
    viewer, _ = volume_viewer(volumes)
    viewer.dims.set_current_step(0, int(round(truth["rois"][0]["centroid_nm"][2] / (volumes.voxel_size / 10))))
    napari_screenshot(viewer, out, size=(900, 900))
    viewer.close()


def curation_figure(folder, ts_id, out):
    """napari with the ROI curation widget, on a probability map made by blurring the true ROIs."""
    volumes = load_volume_set(folder / f"{ts_id}.mrc", rois=folder / f"{ts_id}_rois.mrc")
    volumes.probabilities = np.clip(ndimage.gaussian_filter((volumes.rois > 0).astype(np.float32), 2.0), 0, 1)
    truth = json.loads((folder / f"{ts_id}.json").read_text())
    viewer, _, _ = open_curator(volumes, Path(tempfile.mkdtemp()))
    viewer.dims.set_current_step(0, int(round(truth["rois"][0]["centroid_nm"][2] / (volumes.voxel_size / 10))))
    napari_screenshot(viewer, size=(1250, 850))
    viewer.screenshot(str(out), canvas_only=False)
    viewer.close()


def _plotter():
    plotter = pyvista.Plotter(off_screen=True, window_size=WINDOW)
    plotter.set_background("white")
    return plotter


def _view(plotter):
    """Looking down z, tilted a little, y pointing down as in the tomogram picture."""
    plotter.view_vector((0.35, 0.35, 1.0), viewup=(0, -1, 0))
    plotter.camera.zoom(1.2)


def cloud_figure(ply, out):
    """`view surface` on the oriented medial cloud: points by membrane, normals as arrows."""
    plotter = _plotter()
    add_cloud(plotter, read_ply(ply))
    _view(plotter)
    plotter.screenshot(out)
    plotter.close()


def mesh_figure(mesh, array, out):
    """`view surface --array`: the mesh coloured by one array with its scalar bar."""
    plotter = _plotter()
    add_mesh(plotter, mesh, array)
    _view(plotter)
    plotter.screenshot(out)
    plotter.close()


def cloud_curation_figure(ply, out):
    """The PyVista curator with the points of one membrane's half selected (magenta)."""
    cloud = read_ply(ply)
    plotter = pyvista.Plotter(off_screen=True, window_size=(1000, 700))
    curator = CloudCurator(CloudCuration(cloud), Path(tempfile.mkdtemp()) / "curated.ply", plotter)
    _view(plotter)
    plotter.render()
    xy = curator.display_coordinates()
    curator.select_rectangle((np.median(xy[:, 0]), 0), tuple(plotter.window_size))
    plotter.screenshot(out)
    plotter.close()


def form_figures(folder):
    """Every protocol's form, saved by the forms test (it opens each in Scipion's Tk GUI)."""
    env = dict(os.environ, TOMOROIS_FORM_IMAGES=str(folder))
    subprocess.run([sys.executable, "-m", "pytest", "-q", str(ROOT / "tomorois_surfora" / "tests" /
                                                             "test_protocol_forms.py")], check=True, env=env)


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
    curation_figure(folder, ts_id, IMAGES / "curate_rois.png")
    cloud = folder / "surfaces" / f"{first}_medial.ply"
    cloud_figure(cloud, IMAGES / "oriented_cloud.png")
    cloud_curation_figure(cloud, IMAGES / "curate_cloud.png")
    mesh = read_vtp(meshes[0])
    labels = mesh.point_data["label"]
    first_label, second_label = np.unique(labels)[:2]
    other_way = partner_distances(mesh.points, mesh.faces, labels, second_label, first_label)
    distance = mesh.point_data["distance_nm"]
    mesh.point_data["distance_nm"] = np.where(np.isnan(distance), other_way, distance)  # both ways
    mesh_figure(mesh, "distance_nm", IMAGES / "distance_map.png")
    mesh_figure(mesh, "mean_curvature", IMAGES / "curvature_map.png")
    form_figures(IMAGES / "forms")
    print(f"wrote 6 pictures of {first} and the protocol forms to {IMAGES}")


if __name__ == "__main__":
    main()
