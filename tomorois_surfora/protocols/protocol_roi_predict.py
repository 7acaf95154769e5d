"""Protocol: ROI probability maps for tomograms with a trained TomoROIS model."""
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params
from tomo.objects import SetOfTomoMasks

from ..engine.roi.predict import TileParameters, probability_file_name
from .common import byTsId, failureSummary, failures, insertStepPerTsId, newMaskLike, runEngine, threadOption

OUTPUT_PROBABILITIES = "probabilities"


class ProtTomoRoisPredict(EMProtocol):
    """Predict per-voxel ROI probabilities with a trained model (tiled, blended inference).

    One step per tomogram, each through the engine command line (``tomorois-surfora roi predict``). Tomograms
    at another voxel size than the model's are resampled, up to 1.5× coarser; a tomogram that fails is
    reported in the summary and the others are still registered.
    """

    _label = "predict ROIs"
    _references = ["Cheng2026", "Pelt2018"]
    _possibleOutputs = {OUTPUT_PROBABILITIES: SetOfTomoMasks}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        tiles = TileParameters()
        form.addSection(label="Input")
        form.addParam("inputModel", params.PointerParam, pointerClass="TomoRoisModel", label="Model")
        form.addParam("inputTomograms", params.PointerParam, pointerClass="SetOfTomograms", label="Tomograms")
        form.addParam("tile", params.IntParam, default=tiles.tile, label="Tile side (voxels)",
                      expertLevel=params.LEVEL_ADVANCED, help="On the model's grid; memory grows with the tile.")
        form.addParam("overlap", params.IntParam, default=tiles.overlap, label="Tile overlap (voxels)",
                      expertLevel=params.LEVEL_ADVANCED)
        form.addParam("mirrored", params.BooleanParam, default=tiles.mirrored, label="Average mirrored copies",
                      help="Test-time augmentation: run the network on the tomogram and three mirrored copies "
                           "and average (4x the time).")
        form.addParam("device", params.EnumParam, choices=["auto", "cpu", "cuda"], default=0, label="Device",
                      expertLevel=params.LEVEL_ADVANCED, help="auto: the GPU when PyTorch sees one.")
        form.addParallelSection(threads=2, mpi=0)

    # --------------------------------------------------------------------------------- steps
    def _insertAllSteps(self):
        insertStepPerTsId(self, self.predictStep, self.inputTomograms.get())

    def predictStep(self, tsId):
        tomogram = byTsId(self.inputTomograms.get())[tsId]
        runEngine(self, tsId, "roi", "predict", os.path.abspath(tomogram.getFileName()),
                  "--model", self.inputModel.get().getPath(), "--out", self._getExtraPath(tsId),
                  "--voxel-size", tomogram.getSamplingRate(), "--tile", self.tile.get(),
                  "--overlap", self.overlap.get(), "--mirrored" if self.mirrored.get() else None,
                  "--device", ["auto", "cpu", "cuda"][self.device.get()],
                  threadOption(self))

    def createOutputStep(self):
        tomograms = byTsId(self.inputTomograms.get())
        failed = failures(self)
        output = SetOfTomoMasks.create(self._getPath(), template="tomomasks%s.sqlite", suffix="probabilities")
        output.copyInfo(self.inputTomograms.get())
        for tsId in sorted(tomograms):
            if tsId in failed:
                continue
            probabilities = self._getExtraPath(tsId, probability_file_name(tomograms[tsId].getFileName()))
            output.append(newMaskLike(tomograms[tsId], probabilities))
        if not len(output):
            raise RuntimeError("Prediction failed for every tomogram: " + "; ".join(failed.values()))
        self._defineOutputs(**{OUTPUT_PROBABILITIES: output})
        self._defineSourceRelation(self.inputTomograms, output)
        self._defineSourceRelation(self.inputModel, output)

    # --------------------------------------------------------------------------------- info
    def _validate(self):
        errors = TileParameters(self.tile.get(), self.overlap.get()).problems()
        model = self.inputModel.get()
        if model is not None and not os.path.isfile(model.getPath() or ""):
            errors.append(f"Model file {model.getPath()} does not exist.")
        if model is not None and self.inputTomograms.get() is not None:
            ratio = self.inputTomograms.get().getSamplingRate() / model.getVoxelSize()
            if ratio > 1.5:
                errors.append(f"The tomograms ({self.inputTomograms.get().getSamplingRate():g} Å) are more than 1.5× "
                              f"coarser than the model's grid ({model.getVoxelSize():g} Å): train or fine-tune a "
                              "model at this voxel size.")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_PROBABILITIES):
            return ["Probabilities not ready yet."] + failureSummary(self)
        output = getattr(self, OUTPUT_PROBABILITIES)
        return [f"ROI probabilities for {output.getSize()} of {self.inputTomograms.get().getSize()} tomograms, "
                f"model {self.inputModel.get()}."] + failureSummary(self)
