"""napari: a tomogram with its probability map, ROI labels, membrane mask and penalty mask, in nm.

Layers are scaled by the voxel size (nm per voxel), the tomogram's contrast comes from robust percentiles,
and the ROI label layer carries the ROI table (label, volume, mean confidence) as features, which napari
shows in the status bar under the cursor.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import InputError
from ..io import read_mrc
from .contrast import robust_limits

LAYER_NAMES = {"tomogram": "tomogram", "probabilities": "ROI probability", "rois": "ROIs",
               "membranes": "membranes", "penalty": "penalty (false positives)"}


@dataclass
class VolumeSet:
    """A tomogram and the maps on its grid (each a (z, y, x) array or None) with the voxel size in Å."""

    tomogram: np.ndarray
    voxel_size: float
    probabilities: Optional[np.ndarray] = None
    rois: Optional[np.ndarray] = None
    membranes: Optional[np.ndarray] = None
    penalty: Optional[np.ndarray] = None
    name: str = "tomogram"


def load_volume_set(tomogram, probabilities=None, rois=None, membranes=None, penalty=None, voxel_size=None):
    """Read a tomogram and its maps (MRC paths, any may be None) and check they share its grid.

    The voxel size is ``voxel_size`` (Å) if given, else the tomogram's header.

    Raises
    ------
    InputError
        Naming the file whose shape differs from the tomogram's, or that cannot be read.
    """
    from ..io import mrc_stem

    volume = read_mrc(tomogram, voxel_size)
    maps = {}
    for key, path in (("probabilities", probabilities), ("rois", rois), ("membranes", membranes),
                      ("penalty", penalty)):
        if path is None:
            continue
        data = read_mrc(path, volume.voxel_size).data
        if data.shape != volume.data.shape:
            raise InputError(f"{path}: shape {data.shape} (z, y, x) differs from the tomogram {tomogram}'s "
                             f"{volume.data.shape}; the maps must be on the tomogram's grid")
        maps[key] = data
    return VolumeSet(volume.data, volume.voxel_size, name=mrc_stem(tomogram), **maps)


def roi_features(labels, probabilities, voxel_size):
    """The ROI table as napari label features: columns index (the label), volume_nm3, mean_confidence
    (NaN without a probability map)."""
    import pandas as pd

    from ..roi.extract import roi_table

    labels = np.asarray(labels, np.int32)
    intensity = np.zeros(labels.shape, np.float32) if probabilities is None else probabilities
    table = roi_table(labels, intensity, voxel_size / 10.0)
    rows = [{"index": 0, "volume_nm3": 0.0, "mean_confidence": np.nan}]
    rows += [{"index": r["label"], "volume_nm3": round(r["volume_nm3"], 1),
              "mean_confidence": np.nan if probabilities is None else r["mean_confidence"]} for r in table]
    return pd.DataFrame(rows)


def add_volume_layers(viewer, volumes):
    """Add a :class:`VolumeSet`'s layers to a napari viewer, in nm; returns {key: layer}."""
    scale = (volumes.voxel_size / 10.0,) * 3
    layers = {"tomogram": viewer.add_image(volumes.tomogram, name=LAYER_NAMES["tomogram"], scale=scale,
                                           colormap="gray", contrast_limits=robust_limits(volumes.tomogram))}
    if volumes.probabilities is not None:
        layers["probabilities"] = viewer.add_image(
            volumes.probabilities, name=LAYER_NAMES["probabilities"], scale=scale, colormap="turbo",
            contrast_limits=(0.0, 1.0), opacity=0.4, blending="additive")
    if volumes.membranes is not None:
        membranes = np.asarray(volumes.membranes, np.int32)
        layers["membranes"] = viewer.add_labels(membranes, name=LAYER_NAMES["membranes"], scale=scale, opacity=0.5,
                                                colormap=membrane_colours(int(membranes.max())))
    if volumes.rois is not None:
        layers["rois"] = viewer.add_labels(np.asarray(volumes.rois, np.int32), name=LAYER_NAMES["rois"],
                                           scale=scale, opacity=0.5,
                                           features=roi_features(volumes.rois, volumes.probabilities,
                                                                 volumes.voxel_size))
    if volumes.penalty is not None:
        layers["penalty"] = add_penalty_layer(viewer, volumes.penalty, scale)
    viewer.scale_bar.visible = True
    viewer.scale_bar.unit = "nm"
    viewer.dims.axis_labels = ("z", "y", "x")
    viewer.title = f"TomoROIS: {volumes.name}"
    if volumes.tomogram.shape[0] > 1:
        viewer.dims.set_current_step(0, volumes.tomogram.shape[0] // 2)
    return layers


def membrane_colours(max_label):
    """Cool colours cycled over membrane labels, so membranes never share a colour with the (warm-first) ROIs."""
    from napari.utils.colormaps import DirectLabelColormap

    palette = ["#1f77b4", "#17becf", "#2ca02c", "#9467bd", "#7fbfff", "#98df8a", "#c5b0d5", "#0b5394"]
    colours = {None: "transparent", 0: "transparent"}
    colours.update({label: palette[(label - 1) % len(palette)] for label in range(1, max_label + 1)})
    return DirectLabelColormap(color_dict=colours)


def add_penalty_layer(viewer, penalty, scale):
    """The penalty mask as a red labels layer (value 1)."""
    from napari.utils.colormaps import DirectLabelColormap

    colours = DirectLabelColormap(color_dict={None: "transparent", 0: "transparent", 1: "red"})
    return viewer.add_labels((np.asarray(penalty) > 0).astype(np.uint8), name=LAYER_NAMES["penalty"], scale=scale,
                             opacity=0.5, colormap=colours)


def volume_viewer(volumes):
    """Open a napari viewer on a :class:`VolumeSet`; returns (viewer, layers). The window is shown: napari
    renders a hidden canvas black."""
    import napari

    viewer = napari.Viewer(title=f"TomoROIS: {volumes.name}")
    return viewer, add_volume_layers(viewer, volumes)



def napari_screenshot(viewer, path=None, size=(1100, 850)):
    """Render the viewer's canvas to an RGBA array (and to ``path`` as PNG if given).

    The window must be shown (under Xvfb on a machine without a display): napari renders a hidden canvas
    black. The window is resized to ``size`` (pixels) and the view reset first, so figures are reproducible.
    """
    from qtpy.QtWidgets import QApplication

    window = viewer.window._qt_window
    if (window.width(), window.height()) != tuple(size):
        viewer.window.resize(*size)
    for _ in range(2):  # the layout settles over two rounds of events
        QApplication.processEvents()
    viewer.reset_view()
    return viewer.screenshot(None if path is None else str(path), canvas_only=True)
