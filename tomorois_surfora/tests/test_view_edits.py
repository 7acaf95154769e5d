"""Curation edits as plain functions (no window): ROI label maps and point clouds."""
import json

import numpy as np
import pytest

from tomorois_surfora.engine.errors import InputError
from tomorois_surfora.engine.io import PointCloud, read_mrc, read_ply
from tomorois_surfora.engine.roi.extract import ExtractionParameters
from tomorois_surfora.engine.view import roi_edits
from tomorois_surfora.engine.view.cloud_edits import CloudCuration, inside_polygon, project_to_display, rectangle


def two_rois():
    labels = np.zeros((20, 40, 40), np.int32)
    labels[5:10, 5:15, 5:15] = 1
    labels[5:10, 25:35, 25:35] = 2
    return labels


def test_delete_and_flag_leave_the_other_roi_and_fill_the_penalty():
    labels = two_rois()
    deleted = roi_edits.delete_roi(labels, 1)
    assert not np.any(deleted == 1) and np.array_equal(deleted == 2, labels == 2)
    assert np.any(labels == 1), "inputs are left unchanged"
    kept, penalty = roi_edits.flag_false_positive(labels, None, 2)
    assert np.array_equal(penalty, labels == 2) and not np.any(kept == 2)
    assert np.array_equal(kept == 1, labels == 1)
    with pytest.raises(InputError, match="no ROI 7"):
        roi_edits.delete_roi(labels, 7)
    with pytest.raises(InputError, match="background"):
        roi_edits.flag_false_positive(labels, None, 0)
    with pytest.raises(InputError, match="penalty mask shape"):
        roi_edits.flag_false_positive(labels, np.zeros((2, 2, 2), bool), 1)


def test_label_at_rounds_and_is_zero_outside():
    labels = two_rois()
    assert roi_edits.label_at(labels, (7.4, 9.6, 10.2)) == 1
    assert roi_edits.label_at(labels, (7, 30, 30)) == 2
    assert roi_edits.label_at(labels, (0, 0, 0)) == 0
    assert roi_edits.label_at(labels, (-1, 30, 30)) == 0 and roi_edits.label_at(labels, (7, 30, 40)) == 0


def test_paint_and_erase():
    labels = two_rois()
    painted = roi_edits.paint_roi(labels, (slice(12, 15), slice(0, 5), slice(0, 5)), 3)
    assert np.count_nonzero(painted == 3) == 3 * 5 * 5
    erased = roi_edits.paint_roi(painted, (slice(None), slice(0, 12), slice(None)), 1, erase=True)
    assert np.count_nonzero(erased == 1) == 5 * 3 * 10, "only label 1 is erased, only in the region"
    assert np.count_nonzero(erased == 3) == 75 and np.array_equal(erased == 2, labels == 2)
    with pytest.raises(InputError):
        roi_edits.paint_roi(labels, (slice(0, 1),), 0)


def test_reextract_redoes_the_region_only_and_numbers_after_the_rest():
    probabilities = np.zeros((24, 48, 48), np.float32)
    probabilities[4:20, 4:20, 4:20] = 0.9    # left ROI, strong
    probabilities[4:20, 28:44, 28:44] = 0.6  # right ROI, weaker
    labels = np.zeros(probabilities.shape, np.int32)
    labels[4:20, 4:20, 4:20] = 5             # a curated ROI on the left, numbered 5
    params = ExtractionParameters(threshold=0.5, min_volume_nm3=100, opening_nm=0, closing_nm=0)
    right = (slice(None), slice(24, 48), slice(24, 48))
    result = roi_edits.reextract_region(labels, probabilities, 10.0, params, right)
    assert np.array_equal(result == 5, labels == 5), "ROIs outside the region keep their voxels and number"
    assert set(np.unique(result[right])) == {0, 6}, "the new ROI is numbered after the highest label"
    assert np.count_nonzero(result == 6) == 16 ** 3
    params.threshold = 0.7
    stricter = roi_edits.reextract_region(result, probabilities, 10.0, params, right)
    assert set(np.unique(stricter)) == {0, 5}, "a higher threshold removes the weaker ROI"
    everything = roi_edits.reextract_region(stricter, probabilities, 10.0, params)
    assert set(np.unique(everything)) == {0, 1} and np.array_equal(everything == 1, labels == 5)
    with pytest.raises(InputError, match="differs"):
        roi_edits.reextract_region(labels[:2], probabilities, 10.0)


def test_replayed_edits_give_the_same_maps():
    probabilities = np.zeros((24, 48, 48), np.float32)
    probabilities[4:20, 4:20, 4:20] = 0.9
    probabilities[4:20, 28:44, 28:44] = 0.6
    edits = [{"op": "reextract", "threshold": 0.5, "min_volume_nm3": 100, "opening_nm": 0, "closing_nm": 0,
              "region": None},
             {"op": "flag", "label": 2}]
    labels, penalty = roi_edits.replay_edits(np.zeros(probabilities.shape, np.int32), None, probabilities, 10.0, edits)
    assert set(np.unique(labels)) == {0, 1} and np.array_equal(penalty, probabilities == np.float32(0.6))
    with pytest.raises(InputError, match="edit 1: unknown operation 'paint'"):
        roi_edits.replay_edits(labels, penalty, probabilities, 10.0, [{"op": "paint"}])
    with pytest.raises(InputError, match="probability map is needed"):
        roi_edits.replay_edits(labels, penalty, None, 10.0, edits)


def test_save_curation_writes_mrc_with_the_voxel_size(tmp_path):
    labels = two_rois()
    kept, penalty = roi_edits.flag_false_positive(labels, None, 2)
    labels_path, penalty_path = roi_edits.save_curation(tmp_path / "cur", "tomo", kept, penalty, 13.68)
    back, voxel = read_mrc(labels_path)
    assert voxel == pytest.approx(13.68, abs=1e-3) and np.array_equal(back, kept)
    back_penalty, _ = read_mrc(penalty_path)
    assert set(np.unique(back_penalty)) == {0, 1} and np.array_equal(back_penalty > 0, labels == 2)


def test_projection_matches_vtk_display_coordinates():
    pyvista = pytest.importorskip("pyvista")
    from vtkmodules.vtkRenderingCore import vtkCoordinate

    rng = np.random.default_rng(3)
    points = rng.uniform(-20, 20, (50, 3))
    plotter = pyvista.Plotter(off_screen=True, window_size=(640, 480))
    plotter.add_points(points)
    plotter.camera_position = [(60, -40, 30), (0, 0, 0), (0, 0, 1)]
    plotter.render()
    camera = plotter.renderer.GetActiveCamera()
    matrix = camera.GetCompositeProjectionTransformMatrix(640 / 480, -1, 1)
    ours = project_to_display(points, np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)]),
                              (640, 480))
    coordinate = vtkCoordinate()
    coordinate.SetCoordinateSystemToWorld()
    theirs = []
    for p in points:
        coordinate.SetValue(*p)
        theirs.append(coordinate.GetComputedDoubleDisplayValue(plotter.renderer))
    plotter.close()
    assert np.abs(ours - np.array(theirs)).max() < 1.0, "within a pixel of VTK's own projection"


def test_polygon_and_rectangle_selection():
    xy = np.array([[1, 1], [5, 5], [9, 1], [5, 2]], float)
    triangle = [(0, 0), (10, 0), (5, 6)]
    assert inside_polygon(xy, triangle).tolist() == [True, True, True, True]
    assert inside_polygon(xy, rectangle((4, 0), (6, 6))).tolist() == [False, True, False, True]
    with pytest.raises(InputError, match="3 corners"):
        inside_polygon(xy, [(0, 0), (1, 1)])


def sphere_cloud(n=400, radius=20.0, seed=0):
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    labels = np.where(directions[:, 2] > 0, 1, 2).astype(np.int32)
    return PointCloud(directions * radius, directions.copy(), {"label": labels, "roi": np.full(n, 4, np.int32),
                                                               "score": rng.random(n)})


def test_cloud_curation_flip_delete_relabel_undo_and_save(tmp_path):
    cloud = sphere_cloud()
    east = cloud.points[:, 0] > 0
    cloud.normals[east] *= -1  # a wrong patch
    curation = CloudCuration(cloud)
    assert not curation.unsaved
    assert curation.flip(east) == east.sum()
    assert np.all(np.sum(curation.normals * cloud.points, axis=1) > 0), "every normal points outward again"
    assert curation.flip_label(2) == np.count_nonzero(cloud.properties["label"] == 2)
    assert curation.undo() and np.all(np.sum(curation.normals * cloud.points, axis=1) > 0)
    far = cloud.points[:, 1] > 15
    assert curation.delete(far) == far.sum()
    assert curation.flip(far) == 0, "deleted points are no longer selectable"
    top = cloud.points[:, 2] > 10
    assert curation.relabel(top, 7) == np.count_nonzero(top & ~far)
    assert curation.unsaved
    path = curation.save(tmp_path / "curated.ply")
    assert not curation.unsaved
    back = read_ply(path)
    assert len(back.points) == np.count_nonzero(~far)
    assert set(back.properties) == {"label", "roi", "score"}, "every input property is kept"
    assert np.allclose(back.properties["score"], cloud.properties["score"][~far])
    assert np.all(back.properties["label"][back.points[:, 2] > 10] == 7)
    assert np.all(np.sum(back.normals * back.points, axis=1) > 0)
    recorded = json.loads((tmp_path / "curated.edits.json").read_text())["edits"]
    assert [e["op"] for e in recorded] == ["flip", "delete", "relabel"], "the undone flip is not recorded"
    replayed = CloudCuration(cloud)
    replayed.replay(recorded)
    again = replayed.cloud()
    assert np.array_equal(again.normals, back.normals) and np.array_equal(again.properties["label"],
                                                                          back.properties["label"])
    with pytest.raises(InputError, match="recorded on another cloud"):
        CloudCuration(PointCloud(cloud.points[:10], cloud.normals[:10])).replay(recorded)
    assert curation.undo() and curation.unsaved, "undoing past a save leaves unsaved changes"
    with pytest.raises(InputError, match="label 9"):
        curation.flip_label(9)
    with pytest.raises(InputError, match="no normals"):
        CloudCuration(PointCloud(cloud.points))
