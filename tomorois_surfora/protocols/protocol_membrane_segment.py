"""Protocol: segment membranes in tomograms with a trained membrane model, optionally only inside ROIs."""
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params
from tomo.objects import SetOfTomoMasks

from ..engine.membrane.predict import MembraneTiles, membrane_file_names
from ..engine.roi.planes import parse_planes
from .common import (byTsId, failureSummary, failures, insertStepPerTsId, newMaskLike, pairingProblems, runEngine,
                     threadOption)

OUTPUT_MEMBRANES, OUTPUT_PROBABILITIES = "membranes", "membraneProbabilities"


class ProtMembraneSegment(EMProtocol):
    """Segment membranes with a trained model (hybrid 2.5D network or U-Net), tiled over each tomogram.

    With ROI label maps (e.g. from 'extract ROIs'), only each ROI's bounding box plus a margin is segmented:
    the workflow of the seed paper, and many times faster. Outputs, paired with the tomograms by tsId:
    membrane label maps (connected membrane pieces, what 'restrict membranes to ROIs' takes) and membrane
    probability maps. One step per tomogram through ``tomorois-surfora membrane predict``; a tomogram that
    fails is reported and the others are registered.
    """

    _label = "segment membranes"
    _references = ["Cheng2026", "MoralesMartinez2025"]
    _possibleOutputs = {OUTPUT_MEMBRANES: SetOfTomoMasks, OUTPUT_PROBABILITIES: SetOfTomoMasks}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputModel", params.PointerParam, pointerClass="TomoMembraneModel", label="Membrane model")
        form.addParam("inputTomograms", params.PointerParam, pointerClass="SetOfTomograms", label="Tomograms")
        form.addParam("inputRois", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      label="ROI labels (optional)",
                      help="Segment only inside these ROIs' bounding boxes plus the margin (paired by tsId).")
        form.addParam("margin", params.FloatParam, default=10.0, label="Margin around ROIs (nm)",
                      condition="inputRois")
        form.addParam("threshold", params.FloatParam, default=0.5, label="Probability threshold")
        form.addParam("minVolume", params.FloatParam, default=500.0, label="Smallest membrane piece (nm³)",
                      help="Smaller connected pieces are dropped as noise.")
        form.addParam("planes", params.StringParam, default="", label="Section planes",
                      expertLevel=params.LEVEL_ADVANCED,
                      help="Empty: every plane the model reads. Some of them (e.g. xy), comma-separated: faster, "
                           "and xy alone streams each tomogram in bounded memory.")
        form.addParam("tile", params.IntParam, default=MembraneTiles().tile, label="Tile side (pixels)",
                      expertLevel=params.LEVEL_ADVANCED)
        form.addParam("device", params.EnumParam, choices=["auto", "cpu", "cuda"], default=0, label="Device",
                      expertLevel=params.LEVEL_ADVANCED, help="auto: the GPU when PyTorch sees one.")
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        insertStepPerTsId(self, self.segmentStep, self.inputTomograms.get())

    def segmentStep(self, tsId):
        tomogram = byTsId(self.inputTomograms.get())[tsId]
        rois = byTsId(self.inputRois.get())[tsId].getFileName() if self.inputRois.get() is not None else None
        runEngine(self, tsId, "membrane", "predict", os.path.abspath(tomogram.getFileName()),
                  "--model", self.inputModel.get().getPath(), "--out", self._getExtraPath(tsId),
                  ["--rois", os.path.abspath(rois), "--margin", self.margin.get()] if rois else None,
                  "--threshold", self.threshold.get(), "--min-volume", self.minVolume.get(),
                  "--voxel-size", tomogram.getSamplingRate(), "--tile", self.tile.get(),
                  ["--planes", self.planes.get()] if self.planes.get() else None,
                  "--device", ["auto", "cpu", "cuda"][self.device.get()],
                  threadOption(self))

    def createOutputStep(self):
        tomograms = byTsId(self.inputTomograms.get())
        failed = failures(self)
        outputs = {}
        for name, key in ((OUTPUT_MEMBRANES, "labels"), (OUTPUT_PROBABILITIES, "probability")):
            output = SetOfTomoMasks.create(self._getPath(), template="tomomasks%s.sqlite", suffix=name)
            output.copyInfo(self.inputTomograms.get())
            for tsId in sorted(tomograms):
                path = self._getExtraPath(tsId, membrane_file_names(tomograms[tsId].getFileName())[key])
                if tsId not in failed and os.path.isfile(path):
                    output.append(newMaskLike(tomograms[tsId], path))
            outputs[name] = output
        if not len(outputs[OUTPUT_MEMBRANES]):
            raise RuntimeError("Membrane segmentation failed for every tomogram: " + "; ".join(failed.values()))
        self._defineOutputs(**outputs)
        for output in outputs.values():
            self._defineSourceRelation(self.inputTomograms, output)
            self._defineSourceRelation(self.inputModel, output)

    def _validate(self):
        errors = MembraneTiles(self.tile.get(), planes=parse_planes(self.planes.get() or "")).problems()
        if not 0 < self.threshold.get() < 1:
            errors.append("The probability threshold must be in (0, 1).")
        model = self.inputModel.get()
        if model is not None and not os.path.isfile(model.getPath() or ""):
            errors.append(f"Membrane model file {model.getPath()} does not exist.")
        tomograms = self.inputTomograms.get()
        if model is not None and tomograms is not None and tomograms.getSamplingRate() / model.getVoxelSize() > 1.5:
            errors.append(f"The tomograms ({tomograms.getSamplingRate():g} Å) are more than 1.5× coarser than the "
                          f"model's grid ({model.getVoxelSize():g} Å): train or fine-tune a model at this voxel size.")
        if self.inputRois.get() is not None and tomograms is not None:
            errors += pairingProblems(tomograms, self.inputRois.get(), "ROI label map")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_MEMBRANES):
            return ["Membranes not ready yet."] + failureSummary(self)
        where = "inside ROIs" if self.inputRois.get() is not None else "in whole tomograms"
        return [f"Membranes of {getattr(self, OUTPUT_MEMBRANES).getSize()} of {self.inputTomograms.get().getSize()} "
                f"tomograms {where}, {self.inputModel.get()}."] + failureSummary(self)
