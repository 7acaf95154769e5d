"""Scipion viewers of volumes: a tomogram with its probability map, ROI labels, membranes and penalty mask in
napari (``tomorois-surfora view volume``), chosen per tomogram in a form ("Analyze Results")."""
from pyworkflow.protocol import params
from pyworkflow.viewer import DESKTOP_TKINTER, ProtocolViewer, Viewer

from ..objects import SetOfTomoRois
from ..protocols import (ProtSurfaceRestrict, ProtTomoRoisCurate, ProtTomoRoisExtract, ProtTomoRoisPhantoms,
                         ProtTomoRoisPredict)
from .views import EngineView


def _files(maskSet):
    """{tsId: (tomogram file, mask file)} of a SetOfTomoMasks (a mask names its tomogram with getVolName)."""
    return {mask.getTsId(): (mask.getVolName() or None, mask.getFileName()) for mask in maskSet}


def volumeLayers(protocol):
    """{tsId: [tomogram, option, file, option, file, ...]}: what ``view volume`` shows for a protocol's results.

    Phantoms: membranes, ROIs and decoys (as the penalty); curation: probabilities, curated ROIs and penalty;
    predict: probabilities; extract: probabilities and ROI labels; restrict: membranes and ROIs. The tomogram
    is the one each mask names.
    """
    if isinstance(protocol, ProtTomoRoisPhantoms):
        pairs = [("--membranes", protocol.membraneMasks), ("--rois", protocol.roiMasks),
                 ("--penalty", protocol.decoyMasks)]
    elif isinstance(protocol, ProtTomoRoisPredict):
        pairs = [("--probabilities", protocol.probabilities)]
    elif isinstance(protocol, ProtTomoRoisExtract):
        pairs = [("--probabilities", protocol.inputProbabilities.get()), ("--rois", protocol.roiLabels)]
    elif isinstance(protocol, ProtTomoRoisCurate):
        pairs = ([("--probabilities", protocol.inputProbabilities.get())] if protocol.inputProbabilities.get()
                 else []) + [("--rois", protocol.curatedRois), ("--penalty", protocol.penaltyMasks)]
    elif isinstance(protocol, ProtSurfaceRestrict):
        pairs = [("--membranes", protocol.inputMembranes.get())] + (
            [("--rois", protocol.inputRois.get())] if protocol.inputRois.get() is not None else [])
    else:
        raise TypeError(f"no volume layers for {type(protocol).__name__}")
    layers = {}
    for option, maskSet in pairs:
        for tsId, (tomogram, mask) in _files(maskSet).items():
            entry = layers.setdefault(tsId, [tomogram])
            entry[0] = entry[0] or tomogram
            entry += [option, mask]
    return {tsId: entry for tsId, entry in sorted(layers.items()) if entry[0]}


class TomoRoisVolumeViewer(ProtocolViewer):
    """A tomogram with the maps a protocol made or used, in napari, in nm."""

    _label = "TomoROIS volume viewer (napari)"
    _environments = [DESKTOP_TKINTER]
    _targets = [ProtTomoRoisPhantoms, ProtTomoRoisCurate, ProtTomoRoisPredict, ProtTomoRoisExtract,
                ProtSurfaceRestrict]

    def _defineParams(self, form):
        self._layers = volumeLayers(self.protocol)
        form.addSection(label="Visualization")
        form.addParam("tomogram", params.EnumParam, choices=list(self._layers) or ["(none)"], default=0,
                      label="Tomogram", help="The tomogram to open with its maps as napari layers.")
        form.addParam("displayVolume", params.LabelParam, label="Open in napari",
                      help="Layers in nm; ROI labels carry the ROI table (volume, mean confidence).")

    def _getVisualizeDict(self):
        return {"displayVolume": self._showVolume}

    def _showVolume(self, paramName=None):
        names = list(self._layers)
        if not names:
            return [self.errorMessage("This protocol has no tomogram with maps to show yet.")]
        tsId = names[self.tomogram.get()]
        return [EngineView(["view", "volume", *self._layers[tsId]], title=tsId)]


class TomoRoisSetViewer(Viewer):
    """Double-click on an ROI set: the tomograms of the protocol that made it, with their ROIs (the first
    ``MAX_WINDOWS``; "Analyze Results" picks any)."""

    _label = "TomoROIS ROI viewer (napari)"
    _environments = [DESKTOP_TKINTER]
    _targets = [SetOfTomoRois]
    MAX_WINDOWS = 3

    def _visualize(self, obj, **kwargs):
        if not isinstance(self.protocol, ProtTomoRoisExtract):
            return [self.errorMessage("Open the ROIs from the extract protocol that made them.")]
        layers = volumeLayers(self.protocol)
        return [EngineView(["view", "volume", *files], title=tsId)
                for tsId, files in list(layers.items())[:self.MAX_WINDOWS]]


def maskOption(path):
    """How ``view volume`` shows a mask from any plugin: floating values are a probability map, integers
    membrane labels."""
    import mrcfile
    import numpy as np

    with mrcfile.mmap(path, permissive=True) as mrc:
        return "--probabilities" if np.issubdtype(mrc.data.dtype, np.floating) else "--membranes"


class TomoMaskSetViewer(Viewer):
    """Double-click on a tomogram or mask set from any protocol: the first ``MAX_WINDOWS`` tomograms with the
    masks as layers. Our own protocols' sets get their full layer sets (see :func:`volumeLayers`)."""

    _label = "TomoROIS volume viewer (napari)"
    _environments = [DESKTOP_TKINTER]
    _targets = ["SetOfTomograms", "SetOfTomoMasks"]
    MAX_WINDOWS = 3

    def _visualize(self, obj, **kwargs):
        items = list(obj)[:self.MAX_WINDOWS]
        if any(isinstance(self.protocol, target) for target in TomoRoisVolumeViewer._targets):
            layers = volumeLayers(self.protocol)
            files = {item.getTsId(): layers.get(item.getTsId()) for item in items}
        elif obj.getClassName() == "SetOfTomograms":
            files = {item.getTsId(): [item.getFileName()] for item in items}
        else:
            files = {item.getTsId(): [item.getVolName(), maskOption(item.getFileName()), item.getFileName()]
                     for item in items if item.getVolName()}
        return [EngineView(["view", "volume", *entry], title=tsId) for tsId, entry in files.items() if entry]
