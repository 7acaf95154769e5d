"""Real windows: napari (under Xvfb) and PyVista (off-screen), on phantom outputs; what they show is checked."""
import json
import os

import numpy as np
import pytest

from tomorois_surfora.engine.io import Mesh, PointCloud, read_mrc, read_ply, write_mrc, write_ply, write_vtp
from tomorois_surfora.engine.synth import PhantomParameters, write_dataset
from tomorois_surfora.engine.view.contrast import robust_limits
from tomorois_surfora.tests.test_cli import run_cli

needs_display = pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="napari needs a display (run under Xvfb)")
VOXEL = 20.0


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    """One small contact phantom at 20 Å with its ROI, membrane and decoy maps, plus a probability map that
    is 0.9 on the ROI and 0.6 on the decoys."""
    folder = tmp_path_factory.mktemp("view")
    write_dataset("contacts", folder, 1, seed=5, params=PhantomParameters(shape=(40, 96, 96), voxel_size=VOXEL),
                  quiet=True)
    paths = {key: folder / f"contacts_000{suffix}.mrc" for key, suffix in
             (("tomogram", ""), ("rois", "_rois"), ("membranes", "_membranes"), ("decoys", "_decoys"))}
    rois, decoys = read_mrc(paths["rois"]).data, read_mrc(paths["decoys"]).data
    probabilities = np.where(rois > 0, 0.9, np.where(decoys > 0, 0.6, 0.05)).astype(np.float32)
    paths["probabilities"] = folder / "contacts_000_probabilities.mrc"
    write_mrc(paths["probabilities"], probabilities, VOXEL)
    return paths


def grey_or_colour(image):
    """Fraction of pixels that are coloured (channels differ by > 40) among the non-black ones."""
    rgb = image[..., :3].astype(int)
    lit = rgb.max(axis=-1) > 10
    coloured = (rgb.max(axis=-1) - rgb.min(axis=-1)) > 40
    return np.count_nonzero(coloured & lit) / max(np.count_nonzero(lit), 1)


@needs_display
def test_napari_volume_viewer_layers_scale_contrast_and_rois(phantom):
    from tomorois_surfora.engine.view.volume_viewer import load_volume_set, napari_screenshot, volume_viewer

    volumes = load_volume_set(phantom["tomogram"], phantom["probabilities"], phantom["rois"], phantom["membranes"],
                              phantom["decoys"])
    viewer, layers = volume_viewer(volumes)
    try:
        assert [layer.name for layer in viewer.layers] == ["tomogram", "ROI probability", "membranes", "ROIs",
                                                         "penalty (false positives)"]
        for layer in viewer.layers:
            assert np.allclose(layer.scale, VOXEL / 10), f"{layer.name} is in nm"
        assert viewer.scale_bar.unit == "nm"
        low, high = layers["tomogram"].contrast_limits
        assert (low, high) == pytest.approx(robust_limits(volumes.tomogram))
        assert np.mean(volumes.tomogram < low) == pytest.approx(0.005, abs=0.003)
        features = layers["rois"].features.set_index("index")
        for label in np.unique(volumes.rois)[1:]:
            voxels = np.count_nonzero(volumes.rois == label)
            assert features.loc[label, "volume_nm3"] == pytest.approx(voxels * (VOXEL / 10) ** 3, abs=0.1)
            assert features.loc[label, "mean_confidence"] == pytest.approx(0.9, abs=1e-3)
        z = int(np.argmax(np.count_nonzero(volumes.rois, axis=(1, 2))))
        viewer.dims.set_current_step(0, z)
        for name in ("ROI probability", "membranes", "penalty (false positives)"):
            viewer.layers[name].visible = False
        with_rois = napari_screenshot(viewer)
        viewer.layers["ROIs"].visible = False
        without = napari_screenshot(viewer)
        assert without[..., :3].std() > 20, "the tomogram is drawn, not a blank canvas"
        assert grey_or_colour(without) < 0.01, "the tomogram alone is grey"
        roi_fraction = np.count_nonzero(volumes.rois[z]) / volumes.rois[z].size
        lit = np.count_nonzero(without[..., :3].max(axis=-1) > 10)
        changed = np.count_nonzero(np.abs(with_rois[..., :3].astype(int) - without[..., :3]).max(axis=-1) > 20)
        assert changed / lit == pytest.approx(roi_fraction, rel=0.3), "the ROI covers its share of the section"
    finally:
        viewer.close()


@needs_display
def test_roi_curation_session_flags_saves_and_feeds_fine_tuning(phantom, tmp_path):
    from tomorois_surfora.engine.view.roi_curator import open_curator
    from tomorois_surfora.engine.view.volume_viewer import load_volume_set, napari_screenshot

    volumes = load_volume_set(phantom["tomogram"], phantom["probabilities"], phantom["rois"])
    decoys = read_mrc(phantom["decoys"]).data > 0
    truth = volumes.rois.copy()
    fake = int(truth.max()) + 1
    volumes.rois = np.where(decoys & (truth == 0), fake, truth).astype(np.int32)  # a false positive to curate
    viewer, curator, widget = open_curator(volumes, tmp_path / "curated")
    try:
        assert not curator.unsaved
        inside = np.argwhere(volumes.rois == fake)[len(np.argwhere(volumes.rois == fake)) // 2]
        viewer.cursor.position = tuple(inside * VOXEL / 10)
        assert curator.roi_under(viewer.cursor.position) == fake
        widget.callbacks["Flag as false positive"]()
        assert np.array_equal(curator.penalty, volumes.rois == fake), "the ROI's voxels became the penalty"
        assert np.array_equal(curator.labels, truth) and curator.unsaved
        assert "flagged" in viewer.status
        widget.callbacks["Undo"]()
        assert curator.labels.max() == fake and not curator.penalty.any()
        widget.callbacks["Flag as false positive"]()
        # Re-extraction from the probability map with the widget's settings, over the whole volume.
        threshold, min_volume, opening, closing, _, whole = list(widget)[:6]
        min_volume.value, opening.value, closing.value, whole.value = 100.0, 0.0, 0.0, True
        threshold.value = 0.5
        widget.callbacks["Re-extract ROIs"]()
        assert np.array_equal(curator.labels > 0, (truth > 0) | decoys), "0.6 decoys pass a 0.5 threshold"
        threshold.value = 0.7
        widget.callbacks["Re-extract ROIs"]()
        assert np.array_equal(curator.labels > 0, truth > 0), "and not a 0.7 one"
        # The field in view shrinks about its centre as the user zooms in.
        napari_screenshot(viewer)
        viewer.camera.zoom *= 4
        near = curator.visible_region()
        viewer.camera.zoom *= 2
        nearer = curator.visible_region()
        for axis in (1, 2):
            width, half = near[axis].stop - near[axis].start, nearer[axis].stop - nearer[axis].start
            assert 20 < width < 96 and abs(half - width / 2) <= 2, "twice the zoom, half the field"
            assert abs((nearer[axis].start + nearer[axis].stop) - 96) <= 4, "centred on the (96-voxel) field"
        widget.callbacks["Save"]()
        assert not curator.unsaved
        labels_path, penalty_path = curator.saved_paths
        _closing_asks_before_losing_edits(viewer, curator, tmp_path)
    finally:
        viewer.window._qt_window.removeEventFilter(curator._close_guard)  # a failed test must not wait on a dialog
        viewer.close()
    saved_labels, voxel = read_mrc(labels_path)
    saved_penalty, _ = read_mrc(penalty_path)
    assert voxel == pytest.approx(VOXEL) and np.array_equal(saved_labels > 0, truth > 0)
    assert np.count_nonzero(saved_penalty) == np.count_nonzero(decoys & (truth == 0))
    # The session's edits replay headless (no display) to the same maps.
    edits = labels_path.with_name("contacts_000_edits.json")
    assert [e["op"] for e in json.loads(edits.read_text())["edits"]] == ["flag", "reextract", "reextract"]
    start = tmp_path / "start_rois.mrc"
    write_mrc(start, volumes.rois, VOXEL)
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    result = run_cli("curate", "rois", phantom["tomogram"], "--probabilities", phantom["probabilities"], "--rois",
                     start, "--out", tmp_path / "replayed", "--replay", edits, env=env)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(read_mrc(tmp_path / "replayed" / "contacts_000_rois.mrc").data, saved_labels)
    assert np.array_equal(read_mrc(tmp_path / "replayed" / "contacts_000_penalty.mrc").data, saved_penalty)
    # The saved files are a fine-tuning round's inputs.
    from tomorois_surfora.engine.demo import DEMO_MODELS
    from tomorois_surfora.engine.roi.model_file import load_model

    result = run_cli("roi", "train", "--tomograms", phantom["tomogram"], "--masks", labels_path, "--penalty",
                     penalty_path, "--init-model", DEMO_MODELS / "contacts.pt", "--epochs", 1,
                     "--steps-per-epoch", 2, "--out", tmp_path / "tuned", "--quiet")
    assert result.returncode == 0, result.stderr
    tuned = load_model(tmp_path / "tuned" / "model.pt")
    assert tuned.training["penalty_voxels"][0] > 0
    assert tuned.training["fine_tuned_from"].endswith("contacts.pt")


def _closing_asks_before_losing_edits(viewer, curator, tmp_path):
    """Close the window with an unsaved edit: Cancel keeps it open, Save writes the maps (the dialog's answer is
    given in advance: a modal dialog would wait for a person)."""
    from unittest import mock

    from qtpy.QtWidgets import QMessageBox

    curator.out_dir = tmp_path / "on_close"
    curator.delete(int(curator.labels.max()))
    window = viewer.window._qt_window
    with mock.patch.object(QMessageBox, "question", return_value=QMessageBox.Cancel) as asked:
        window.close()
    assert asked.called and window.isVisible(), "Cancel keeps the window and the edits"
    with mock.patch.object(QMessageBox, "question", return_value=QMessageBox.Save):
        window.close()
    saved = read_mrc(tmp_path / "on_close" / "contacts_000_rois.mrc").data
    assert np.array_equal(saved, curator.labels) and not curator.unsaved


def saddle_mesh():
    import pyvista

    plane = pyvista.Plane(i_size=40, j_size=40, i_resolution=30, j_resolution=30).triangulate()
    x, y = plane.points[:, 0], plane.points[:, 1]
    points = np.column_stack([x, y, (x ** 2 - y ** 2) / 80])
    faces = plane.faces.reshape(-1, 4)[:, 1:]
    return Mesh(points, faces, {"mean_curvature": (x ** 2 - y ** 2) / 400, "distance_nm": 10 + x / 4,
                                "label": np.ones(len(points), np.int32)})


def test_pyvista_mesh_colours_scalar_bars_and_signed_maps():
    import pyvista

    from tomorois_surfora.engine.errors import InputError
    from tomorois_surfora.engine.view.surface_scene import add_mesh

    mesh = saddle_mesh()
    shots = {}
    for array in ("mean_curvature", "distance_nm"):
        plotter = pyvista.Plotter(off_screen=True, window_size=(600, 500))
        actor = add_mesh(plotter, mesh, array)
        low, high = actor.mapper.scalar_range
        title = plotter.scalar_bars.keys()
        plotter.view_xy()
        shots[array] = plotter.screenshot(return_img=True)
        plotter.close()
        if array == "mean_curvature":
            assert low == pytest.approx(-high) and high > 0, "signed: centred on 0"
            assert list(title) == ["mean curvature H (1/nm)"]
        else:
            assert 5 <= low < 5.5 and 14.5 < high <= 15 and list(title) == ["distance (nm)"]
    rgb = shots["mean_curvature"][..., :3].astype(int)
    red = np.count_nonzero((rgb[..., 0] > rgb[..., 2] + 60))
    blue = np.count_nonzero((rgb[..., 2] > rgb[..., 0] + 60))
    assert red > 2000 and blue > 2000, "a saddle shows both signs of the diverging map"
    plotter = pyvista.Plotter(off_screen=True)
    with pytest.raises(InputError, match="no array 'roughness_nm'.*distance_nm"):
        add_mesh(plotter, mesh, "roughness_nm")
    plotter.close()


def test_mask_isosurface_and_tomogram_section_sit_in_the_nm_frame():
    from tomorois_surfora.engine.view.surface_scene import mask_isosurface, tomogram_section

    mask = np.zeros((10, 20, 30), bool)
    mask[2:8, 5:15, 10:20] = True  # z 2..7, y 5..14, x 10..19
    surface = mask_isosurface(mask, 20.0, origin_nm=(100.0, 200.0, 300.0))
    x0, x1, y0, y1, z0, z1 = surface.bounds
    assert (x0, x1) == pytest.approx((100 + 9.5 * 2, 100 + 19.5 * 2))
    assert (y0, y1) == pytest.approx((200 + 4.5 * 2, 200 + 14.5 * 2))
    assert (z0, z1) == pytest.approx((300 + 1.5 * 2, 300 + 7.5 * 2))
    assert mask_isosurface(np.zeros((4, 4, 4)), 10.0) is None
    tomogram = np.arange(10 * 20 * 30, dtype=np.float32).reshape(10, 20, 30)
    section = tomogram_section(tomogram, 20.0, 4)
    assert section.bounds[4] == section.bounds[5] == pytest.approx(8.0)
    assert section.bounds[1] == pytest.approx(29 * 2) and section.bounds[3] == pytest.approx(19 * 2)
    density = section.point_data["density"].reshape(20, 30)
    assert np.array_equal(density, tomogram[4]), "x runs fastest, as the tomogram's columns"


def test_cloud_curator_window_selects_flips_and_saves(tmp_path):
    import pyvista

    from tomorois_surfora.engine.view.cloud_curator import CloudCurator
    from tomorois_surfora.engine.view.cloud_edits import CloudCuration

    rng = np.random.default_rng(1)
    directions = rng.normal(size=(1500, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    normals = directions.copy()
    east = directions[:, 0] > 0
    normals[east] *= -1
    cloud = PointCloud(directions * 20, normals, {"label": np.ones(1500, np.int32)})
    plotter = pyvista.Plotter(off_screen=True, window_size=(800, 600))
    curator = CloudCurator(CloudCuration(cloud), tmp_path / "curated.ply", plotter)
    plotter.view_xy()
    plotter.render()
    centre_x = curator.display_coordinates()[:, 0].mean()
    before = plotter.screenshot(return_img=True)
    selected = curator.select_rectangle((centre_x, 0), (800, 600))
    after = plotter.screenshot(return_img=True)
    assert np.array_equal(selected, curator.display_coordinates()[:, 0] > centre_x)
    assert np.mean(selected == east) > 0.97, "the right half of the view is the +x half of the sphere"

    def magenta(image):
        rgb = image[..., :3].astype(int)
        return np.count_nonzero((rgb[..., 0] > 80) & (rgb[..., 1] < 0.4 * rgb[..., 0])
                                & (rgb[..., 2] > 0.85 * rgb[..., 0]))
    assert magenta(before) < 50 < magenta(after), "selected points are drawn magenta"
    curator.flip()
    outward = np.sum(curator.curation.normals * cloud.points, axis=1) > 0
    assert np.mean(outward) > 0.97
    curator.save()
    plotter.close()
    back = read_ply(tmp_path / "curated.ply")
    assert np.array_equal(np.sum(back.normals * back.points, axis=1) > 0, outward)


def test_cloud_curator_keys_and_a_drawn_polygon(tmp_path):
    """The keys and mouse events a user gives, sent through VTK's interactor: p, a drawn polygon, f, u, 2, s."""
    import pyvista

    from tomorois_surfora.engine.view.cloud_curator import CloudCurator
    from tomorois_surfora.engine.view.cloud_edits import CloudCuration

    rng = np.random.default_rng(2)
    directions = rng.normal(size=(1200, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    cloud = PointCloud(directions * 20, directions.copy(), {"label": np.ones(1200, np.int32)})
    plotter = pyvista.Plotter(off_screen=True, window_size=(800, 600))
    curator = CloudCurator(CloudCuration(cloud), tmp_path / "curated.ply", plotter)
    plotter.view_xy()
    plotter.render()
    curator.bind_keys()
    interactor = plotter.iren.interactor

    def key(symbol):
        interactor.SetKeyCode(symbol)
        interactor.SetKeySym(symbol)
        interactor.InvokeEvent("KeyPressEvent")

    def mouse(event, x, y):
        interactor.SetEventInformation(x, y)
        interactor.InvokeEvent(event)

    key("p")
    corners = [(400, 100), (700, 100), (700, 500), (400, 500)]
    mouse("LeftButtonPressEvent", *corners[0])
    for corner in corners[1:]:
        mouse("MouseMoveEvent", *corner)
    mouse("LeftButtonReleaseEvent", *corners[-1])
    xy = curator.display_coordinates()
    inside = (xy[:, 0] > 400) & (xy[:, 0] < 700) & (xy[:, 1] > 100) & (xy[:, 1] < 500)
    assert inside.sum() > 100 and np.array_equal(curator.selected, inside), "the drawn polygon selects"
    key("f")
    assert np.array_equal(np.sum(curator.curation.normals * cloud.normals, axis=1) < 0, inside)
    key("u")
    assert np.allclose(curator.curation.normals, cloud.normals)
    key("2")
    key("s")
    plotter.close()
    back = read_ply(tmp_path / "curated.ply")
    assert np.array_equal(back.properties["label"] == 2, inside), "2 relabels the selection; s saves"


def test_view_and_curate_commands_write_screenshots_and_refuse_bad_input(phantom, tmp_path):
    mesh = saddle_mesh()
    mesh.points += [96.0, 96.0, 40.0]  # over the middle of the phantom's section (192 × 192 nm)
    write_vtp(tmp_path / "saddle.vtp", mesh)
    result = run_cli("view", "surface", tmp_path / "saddle.vtp", "--array", "distance_nm", "--mask",
                     phantom["membranes"], "--tomogram", phantom["tomogram"], "--screenshot", tmp_path / "m.png")
    assert result.returncode == 0, result.stderr
    import imageio.v3 as iio

    image = iio.imread(tmp_path / "m.png")
    assert image[..., :3].std() > 20 and grey_or_colour(image) > 0.01, "a grey section and a coloured mesh"
    result = run_cli("view", "surface", tmp_path / "saddle.vtp", "--array", "nope", "--screenshot", tmp_path / "x.png")
    assert result.returncode == 1 and "no array 'nope'" in result.stderr and "Traceback" not in result.stderr
    cloud = PointCloud(mesh.points, np.tile([0.0, 0.0, 1.0], (len(mesh.points), 1)))
    write_ply(tmp_path / "c.ply", cloud)
    result = run_cli("curate", "cloud", tmp_path / "c.ply", "--out", tmp_path, "--screenshot", tmp_path / "c.png")
    assert result.returncode == 1 and "--out is the input's folder" in result.stderr
    result = run_cli("curate", "cloud", tmp_path / "c.ply", "--out", tmp_path / "cur", "--screenshot",
                     tmp_path / "c.png")
    assert result.returncode == 0 and (tmp_path / "c.png").is_file()
    small = tmp_path / "small.mrc"
    write_mrc(small, np.zeros((4, 4, 4), np.int16), VOXEL)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = run_cli("view", "volume", phantom["tomogram"], "--screenshot", tmp_path / "v.png", env=env)
    assert result.returncode == 1 and "xvfb-run" in result.stderr
    if os.environ.get("DISPLAY"):
        result = run_cli("view", "volume", phantom["tomogram"], "--rois", small)
        assert result.returncode == 1 and f"{small}: shape (4, 4, 4)" in result.stderr
        result = run_cli("view", "volume", phantom["tomogram"], "--rois", phantom["rois"], "--screenshot",
                         tmp_path / "v.png")
        assert result.returncode == 0, result.stderr
        assert iio.imread(tmp_path / "v.png")[..., :3].std() > 20
