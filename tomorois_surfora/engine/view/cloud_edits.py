"""Point-cloud curation as plain functions: selection by screen polygon, flip, delete, relabel, undo.

The PyVista curator window calls these; tests call them directly. Selections are boolean masks over the
cloud's original points, so they stay valid after deletions.
"""
import numpy as np

from ..errors import InputError
from ..io import PointCloud, write_ply


def project_to_display(points, world_to_view, window_size):
    """Display (pixel) coordinates of points, as VTK renders them.

    Parameters
    ----------
    points : (N, 3) array, nm
    world_to_view : (4, 4) array
        The camera's composite projection matrix (world → normalised view coordinates in [-1, 1]), e.g.
        ``camera.GetCompositeProjectionTransformMatrix(aspect, -1, 1)``.
    window_size : (width, height)
        Pixels.

    Returns
    -------
    (N, 2) array of x (from the left) and y (from the bottom) in pixels, as VTK's display coordinates.
    """
    homogeneous = np.column_stack([np.asarray(points, float), np.ones(len(points))]) @ np.asarray(world_to_view).T
    w = homogeneous[:, 3:4]
    w[np.abs(w) < 1e-12] = 1e-12
    view = homogeneous[:, :2] / w
    width, height = window_size
    return np.column_stack([(view[:, 0] + 1) * 0.5 * width, (view[:, 1] + 1) * 0.5 * height])


def inside_polygon(display_xy, polygon_xy):
    """Boolean mask of the 2D points inside a closed polygon (vertices in order, ≥ 3)."""
    from matplotlib.path import Path

    polygon_xy = np.asarray(polygon_xy, float)
    if polygon_xy.ndim != 2 or len(polygon_xy) < 3:
        raise InputError("a selection polygon needs at least 3 corners")
    return Path(polygon_xy).contains_points(np.asarray(display_xy, float))


def rectangle(corner_a, corner_b):
    """The 4 corners of the axis-aligned rectangle spanned by two display points, as a polygon."""
    (x0, y0), (x1, y1) = corner_a, corner_b
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


class CloudCuration:
    """A point cloud under curation, with an undo history.

    Parameters
    ----------
    cloud : PointCloud
        Must have normals. Its ``label`` property, if any, is the membrane label that ``flip_label`` and
        ``relabel`` work on; a cloud without one gets label 1 everywhere.
    """

    def __init__(self, cloud):
        if cloud.normals is None:
            raise InputError("the cloud has no normals to curate: run 'surface orient' first")
        self.points = np.asarray(cloud.points, float)
        self.normals = np.asarray(cloud.normals, float).copy()
        self.properties = {name: np.asarray(values).copy() for name, values in cloud.properties.items()}
        if "label" not in self.properties:
            self.properties["label"] = np.ones(len(self.points), np.int32)
        self.kept = np.ones(len(self.points), bool)
        self._history = []
        self.edits = []  # replayable record: {"op": flip|delete|relabel, "points": [indices], "label": k}
        self._saved_depth = 0

    @property
    def labels(self):
        return self.properties["label"]

    @property
    def unsaved(self):
        """True when the cloud differs from the input or from the last save."""
        return len(self._history) != self._saved_depth

    def _selection(self, selection):
        selection = np.asarray(selection)
        if selection.dtype == bool:
            return selection & self.kept
        mask = np.zeros(len(self.points), bool)
        mask[selection.astype(int)] = True
        return mask & self.kept

    def _record(self, op, mask, **extra):
        self._history.append((self.normals.copy(), self.labels.copy(), self.kept.copy()))
        self.edits.append({"op": op, "points": np.flatnonzero(mask).tolist(), **extra})

    def flip(self, selection):
        """Reverse the normals of the selected points; returns how many were flipped."""
        mask = self._selection(selection)
        if mask.any():
            self._record("flip", mask)
            self.normals[mask] *= -1
        return int(mask.sum())

    def flip_label(self, label):
        """Reverse every normal of membrane ``label``; returns how many were flipped."""
        if not np.any(self.labels[self.kept] == label):
            raise InputError(f"there is no point with label {label}")
        return self.flip(self.labels == label)

    def delete(self, selection):
        """Remove the selected points; returns how many were removed."""
        mask = self._selection(selection)
        if mask.any():
            self._record("delete", mask)
            self.kept[mask] = False
        return int(mask.sum())

    def relabel(self, selection, label):
        """Give the selected points membrane label ``label``; returns how many changed."""
        mask = self._selection(selection) & (self.labels != label)
        if mask.any():
            self._record("relabel", mask, label=int(label))
            self.properties["label"] = self.labels.copy()
            self.properties["label"][mask] = label
        return int(mask.sum())

    def undo(self):
        """Revert the last edit; False when there is nothing to undo."""
        if not self._history:
            return False
        self.normals, self.properties["label"], self.kept = self._history.pop()
        self.edits.pop()
        if self._saved_depth > len(self._history):
            self._saved_depth = -1  # the saved state is no longer reachable by undo
        return True

    def cloud(self):
        """The curated cloud: the kept points with their normals and every property of the input."""
        return PointCloud(self.points[self.kept], self.normals[self.kept],
                          {name: values[self.kept] for name, values in self.properties.items()})

    def replay(self, edits):
        """Apply recorded edits (as :attr:`edits` holds them, e.g. from a saved ``.edits.json``)."""
        actions = {"flip": lambda e, m: self.flip(m), "delete": lambda e, m: self.delete(m),
                   "relabel": lambda e, m: self.relabel(m, int(e["label"]))}
        for number, edit in enumerate(edits, start=1):
            if edit.get("op") not in actions:
                raise InputError(f"edit {number}: unknown operation {edit.get('op')!r} (expected flip, delete or "
                                 f"relabel)")
            points = np.asarray(edit.get("points", []), int)
            if points.size and (points.min() < 0 or points.max() >= len(self.points)):
                raise InputError(f"edit {number} names point {points.max()}, but the cloud has {len(self.points)}: "
                                 f"it was recorded on another cloud")
            actions[edit["op"]](edit, points)

    def save(self, path):
        """Write the curated cloud as PLY (same properties as the input) and the edits beside it as
        ``<name>.edits.json``; return the PLY's path."""
        import json
        from pathlib import Path

        write_ply(path, self.cloud())
        Path(path).with_suffix(".edits.json").write_text(json.dumps({"edits": self.edits}))
        self._saved_depth = len(self._history)
        return path
