"""napari ROI annotation and curation: a dock widget over the volume viewer.

Paint and erase ROIs with napari's own label tools; re-extract ROIs from the probability map with a live
threshold, minimum volume, opening and closing; delete an ROI or flag it as a false positive (into the
penalty mask) under the mouse; undo; save the curated label map and penalty mask as MRC, ready for
``roi train --masks ... --penalty ...``. Every button calls a plain function of :mod:`.roi_edits`.
"""
import numpy as np

from ..errors import InputError
from ..roi.extract import ExtractionParameters
from . import roi_edits
from .volume_viewer import add_volume_layers, roi_features

SHORTCUTS = {"Shift-D": "delete ROI under mouse", "Shift-F": "flag ROI under mouse as false positive",
             "Shift-U": "undo", "Shift-S": "save"}


class RoiCurator:
    """The state of one curation session: ROI labels, penalty mask, undo history, where to save.

    Parameters
    ----------
    viewer : napari.Viewer
    volumes : VolumeSet
        The tomogram with its probability map (needed to re-extract) and, if any, existing ROI labels and
        penalty mask; missing ones start empty.
    out_dir : path
        Where ``save`` writes ``<name>_rois.mrc`` and ``<name>_penalty.mrc``.
    """

    def __init__(self, viewer, volumes, out_dir):
        self.viewer, self.volumes, self.out_dir = viewer, volumes, out_dir
        shape = volumes.tomogram.shape
        if volumes.rois is None:
            volumes.rois = np.zeros(shape, np.int32)
        if volumes.penalty is None:
            volumes.penalty = np.zeros(shape, np.uint8)
        self.layers = add_volume_layers(viewer, volumes)
        self.params = ExtractionParameters()
        self._history = []
        self.edits = []  # replayable record of the session (roi_edits.replay_edits)
        self._saved_state = self._state()
        self.saved_paths = None
        self.layers["rois"].mode = "pan_zoom"

    # ------------------------------------------------------------------------------------------- state
    @property
    def labels(self):
        return np.asarray(self.layers["rois"].data)

    @property
    def penalty(self):
        return np.asarray(self.layers["penalty"].data) > 0

    def _state(self):
        return self.labels.copy(), self.penalty.copy()

    @property
    def unsaved(self):
        """True when the labels or penalty differ from what was loaded or last saved (painting included)."""
        labels, penalty = self._saved_state
        return not (np.array_equal(labels, self.labels) and np.array_equal(penalty, self.penalty))

    def _show(self, labels, penalty):
        """Put labels (with their ROI table) and the penalty mask into the layers."""
        layer = self.layers["rois"]
        layer.data = np.asarray(labels, np.int32)
        layer.features = roi_features(layer.data, self.volumes.probabilities, self.volumes.voxel_size)
        self.layers["penalty"].data = np.asarray(penalty, np.uint8)

    def _apply(self, edit, labels, penalty=None):
        self._history.append(self._state())
        self.edits.append(edit)
        self._show(labels, self.penalty if penalty is None else penalty)

    def undo(self):
        """Revert the last curation step (not napari paint strokes, which napari's own Ctrl-Z undoes)."""
        if not self._history:
            return False
        self.edits.pop()
        self._show(*self._history.pop())
        return True

    # ------------------------------------------------------------------------------------------- edits
    def roi_under(self, position_world):
        """The ROI label at a world position (nm, z y x); 0 for background."""
        voxel = self.layers["rois"].world_to_data(position_world)
        return roi_edits.label_at(self.labels, voxel)

    def delete(self, label):
        self._apply({"op": "delete", "label": int(label)}, roi_edits.delete_roi(self.labels, label))

    def flag_false_positive(self, label):
        labels, penalty = roi_edits.flag_false_positive(self.labels, self.penalty, label)
        self._apply({"op": "flag", "label": int(label)}, labels, penalty)

    def reextract(self, region=None):
        """Re-extract ROIs from the probability map with ``self.params`` in ``region`` (slices; all if None).
        Returns the number of ROIs in the label map afterwards."""
        if self.volumes.probabilities is None:
            raise InputError("re-extraction needs a probability map (--probabilities)")
        labels = roi_edits.reextract_region(self.labels, self.volumes.probabilities, self.volumes.voxel_size,
                                            self.params, region)
        edit = {"op": "reextract", "threshold": self.params.threshold, "min_volume_nm3": self.params.min_volume_nm3,
                "opening_nm": self.params.opening_nm, "closing_nm": self.params.closing_nm,
                "region": roi_edits.region_record(region, labels.shape)}
        self._apply(edit, labels)
        return len(np.unique(labels)) - 1

    def visible_region(self):
        """Slices of the (y, x) field in view (all sections): the region the re-extraction redoes."""
        shape = self.labels.shape
        centre, zoom = np.asarray(self.viewer.camera.center)[-2:], self.viewer.camera.zoom
        # napari keeps the canvas size (h, w pixels) only privately; zoom is pixels per world unit (nm).
        half_extent = np.asarray(self.viewer._canvas_size, float) / zoom / 2.0
        scale = np.asarray(self.layers["rois"].scale)[-2:]
        low = np.floor((centre - half_extent) / scale).astype(int)
        high = np.ceil((centre + half_extent) / scale).astype(int)
        return (slice(None),) + tuple(slice(max(lo, 0), min(hi, n)) for lo, hi, n in zip(low, high, shape[1:]))

    def save(self):
        """Write the curated ROI labels and penalty mask, and the session's edits as ``<name>_edits.json``;
        returns the paths of the two maps."""
        self.saved_paths = roi_edits.save_curation(self.out_dir, self.volumes.name, self.labels, self.penalty,
                                                   self.volumes.voxel_size, self.edits)
        self._saved_state = self._state()
        return self.saved_paths


def curation_widget(curator):
    """The magicgui dock widget: extraction settings, re-extract, delete/flag under the cursor, undo, save."""
    from magicgui.widgets import CheckBox, Container, FloatSlider, FloatSpinBox, Label, PushButton

    params = curator.params
    threshold = FloatSlider(value=params.threshold, min=0.05, max=0.95, step=0.01, label="threshold")
    min_volume = FloatSpinBox(value=params.min_volume_nm3, min=0, max=1e7, step=100, label="min volume (nm³)")
    opening = FloatSpinBox(value=params.opening_nm, min=0, max=50, step=0.5, label="opening (nm)")
    closing = FloatSpinBox(value=params.closing_nm, min=0, max=50, step=0.5, label="closing (nm)")
    live = CheckBox(value=False, text="live (re-extract on change)")
    whole = CheckBox(value=False, text="whole volume (else the field in view)")
    status = Label(value="")

    def report(text):
        status.value = text
        curator.viewer.status = text

    def reextract(*_):
        params.threshold, params.min_volume_nm3 = threshold.value, min_volume.value
        params.opening_nm, params.closing_nm = opening.value, closing.value
        try:
            n = curator.reextract(None if whole.value else curator.visible_region())
            report(f"re-extracted at threshold {params.threshold:.2f}: {n} ROIs")
        except InputError as exc:
            report(str(exc))

    def at_cursor(action, verb):
        def run(*_):
            label = curator.roi_under(curator.viewer.cursor.position)
            if label == 0:
                report("no ROI under the mouse")
                return
            action(label)
            report(f"ROI {label} {verb}")
        return run

    def undo(*_):
        report("undone" if curator.undo() else "nothing to undo")

    def save(*_):
        labels_path, penalty_path = curator.save()
        report(f"saved {labels_path.name} and {penalty_path.name}")

    for widget in (threshold, min_volume, opening, closing):
        widget.changed.connect(lambda *_: live.value and reextract())
    buttons = {"Re-extract ROIs": reextract,
               "Delete ROI under mouse": at_cursor(curator.delete, "deleted"),
               "Flag as false positive": at_cursor(curator.flag_false_positive, "flagged as a false positive"),
               "Undo": undo, "Save": save}
    pushes = []
    for text, callback in buttons.items():
        button = PushButton(text=text)
        button.changed.connect(callback)
        pushes.append(button)
    keys = dict(zip(SHORTCUTS, (buttons["Delete ROI under mouse"], buttons["Flag as false positive"], undo, save)))
    for key, callback in keys.items():
        curator.viewer.bind_key(key, lambda viewer, cb=callback: cb(), overwrite=True)
    help_text = Label(value="\n".join(f"{key}: {text}" for key, text in SHORTCUTS.items())
                      + "\nROIs layer: 3 paint, 2 erase, M new label")
    widget = Container(widgets=[threshold, min_volume, opening, closing, live, whole, *pushes, status, help_text])
    widget.callbacks = buttons
    return widget


def open_curator(volumes, out_dir):
    """Open napari with the curation widget docked; returns (viewer, curator, widget).

    Closing the window with unsaved changes asks whether to save.
    """
    import napari

    viewer = napari.Viewer(title=f"TomoROIS curation: {volumes.name}")
    curator = RoiCurator(viewer, volumes, out_dir)
    widget = curation_widget(curator)
    viewer.window.add_dock_widget(widget, name="ROI curation", area="right")
    _ask_before_closing(viewer, curator)
    return viewer, curator, widget


def _ask_before_closing(viewer, curator):
    """Offer Save / Discard / Cancel when the window closes with unsaved edits."""
    from qtpy.QtCore import QObject, QEvent
    from qtpy.QtWidgets import QMessageBox

    window = viewer.window._qt_window

    class CloseGuard(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Close and curator.unsaved:
                answer = QMessageBox.question(window, "Unsaved curation", "Save the curated ROIs before closing?",
                                              QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel)
                if answer == QMessageBox.Cancel:
                    event.ignore()
                    return True
                if answer == QMessageBox.Save:
                    curator.save()
            return False

    guard = CloseGuard(window)
    window.installEventFilter(guard)
    curator._close_guard = guard

