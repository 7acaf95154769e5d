"""Protocol: train a membrane segmentation model (hybrid 2.5D network of seed 004, or a plain U-Net)."""
import json
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import params

from ..engine.membrane import ARCHITECTURES
from ..engine.membrane.train import MembraneTrainingParameters
from ..engine.training_loop import UNLIMITED_EPOCHS
from ..objects import TomoMembraneModel
from .common import byTsId, pairingProblems, runEngineOrFail

OUTPUT_MODEL = "model"


class ProtMembraneTrain(EMProtocol):
    """Train a membrane network on tomograms with membrane masks (any nonzero voxel is membrane).

    Tomograms and masks are paired by tsId; the masks may come from the phantoms, from a curation, or from
    any other plugin's segmentation (SetOfTomoMasks). Give an initial model to fine-tune it. Training runs
    through the engine command line (``tomorois-surfora membrane train``); the epoch with the best
    validation Dice is kept.
    """

    _label = "train membrane model"
    _references = ["Cheng2026", "MoralesMartinez2025"]
    _possibleOutputs = {OUTPUT_MODEL: TomoMembraneModel}

    def _defineParams(self, form):
        d = MembraneTrainingParameters()
        form.addSection(label="Input")
        form.addParam("inputTomograms", params.PointerParam, pointerClass="SetOfTomograms", label="Tomograms")
        form.addParam("inputMasks", params.PointerParam, pointerClass="SetOfTomoMasks", label="Membrane masks",
                      help="Paired with the tomograms by tsId; any nonzero voxel is membrane.")
        form.addParam("initialModel", params.PointerParam, pointerClass="TomoMembraneModel", allowsNull=True,
                      label="Fine-tune from (optional)",
                      help="Start from this model; its architecture, grid and preprocessing are kept.")
        form.addSection(label="Network")
        form.addParam("architecture", params.EnumParam, choices=list(ARCHITECTURES),
                      default=ARCHITECTURES.index(d.architecture), display=params.EnumParam.DISPLAY_HLIST,
                      label="Architecture",
                      help="hybrid: attention U-Net with ASPP, a bidirectional ConvLSTM across sections and a "
                           "gated edge stream (seed 004); unet: the plain U-Net baseline.")
        form.addParam("base", params.IntParam, default=d.base, label="Base channels",
                      expertLevel=params.LEVEL_ADVANCED, help="Channels of the first level, doubled per level.")
        form.addParam("sections", params.IntParam, default=d.sections, label="Sections per stack",
                      help="Consecutive sections the network reads together.")
        form.addParam("planes", params.StringParam, default=d.planes, label="Section planes",
                      help="Comma-separated among xy, xz, yz. A model of several reads stacks of each and "
                           "averages its planes' probabilities: slower, and it holds the tomogram in memory, "
                           "but it sees the membranes that face the beam edge-on in x–z and y–z sections.")
        form.addParam("clahe", params.BooleanParam, default=True, label="CLAHE per section")
        form.addParam("eed", params.BooleanParam, default=False, label="Edge-enhancing diffusion",
                      expertLevel=params.LEVEL_ADVANCED)
        form.addParam("modelVoxelSize", params.FloatParam, default=0.0, label="Model voxel size (Å)",
                      help="Grid the network works on; 0 means the tomograms' voxel size.")
        form.addSection(label="Training")
        form.addParam("epochs", params.IntParam, default=d.epochs, label="Epochs",
                      help="0 with a time limit: as many epochs as fit in it.")
        form.addParam("stepsPerEpoch", params.IntParam, default=d.steps_per_epoch, label="Steps per epoch")
        form.addParam("patch", params.IntParam, default=d.patch, label="Patch side (pixels)")
        form.addParam("batchSize", params.IntParam, default=d.batch_size, label="Batch size")
        form.addParam("learningRate", params.FloatParam, default=d.learning_rate, label="Learning rate")
        form.addParam("timeLimit", params.FloatParam, default=0.0, label="Time limit (min)",
                      help="Stop after this many minutes (0: no limit).")
        form.addParam("seed", params.IntParam, default=d.seed, label="Random seed", expertLevel=params.LEVEL_ADVANCED)
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        self._insertFunctionStep(self.trainStep)
        self._insertFunctionStep(self.createOutputStep)

    def trainStep(self):
        tomograms, masks = byTsId(self.inputTomograms.get()), byTsId(self.inputMasks.get())
        tsIds = sorted(tomograms)
        p = self._parameters()
        initial = self.initialModel.get()
        args = (
            "membrane", "train", "--out", self._getExtraPath("model"),
            "--tomograms", [os.path.abspath(tomograms[t].getFileName()) for t in tsIds],
            "--masks", [os.path.abspath(masks[t].getFileName()) for t in tsIds],
            "--voxel-size", self.inputTomograms.get().getSamplingRate(),
            ["--model-voxel-size", p.voxel_size] if p.voxel_size else None,
            ["--init-model", initial.getPath()] if initial is not None else None,
            "--architecture", p.architecture, "--base", p.base, "--sections", p.sections,
            "--planes", p.planes, "--patch", p.patch,
            "--batch-size", p.batch_size, "--epochs", p.epochs, "--steps-per-epoch", p.steps_per_epoch,
            "--lr", p.learning_rate, "--seed", p.seed, None if self.clahe.get() else "--no-clahe",
            "--eed" if self.eed.get() else None, ["--time-limit", p.time_limit_min] if p.time_limit_min else None,
            "--threads", self.numberOfThreads.get(), "--device", "auto")
        runEngineOrFail(self, "training", *args)

    def createOutputStep(self):
        with open(self._getExtraPath("model", "training.json")) as handle:
            summary = json.load(handle)
        from ..engine.membrane.model_file import load_membrane_model

        trained = load_membrane_model(summary["model"])
        model = TomoMembraneModel(path=os.path.abspath(summary["model"]), voxelSize=trained.voxel_size,
                                  architecture=trained.net.config["architecture"], sections=trained.sections,
                                  bestEpoch=summary["best_epoch"], validationDice=summary["best_val_dice"])
        self._defineOutputs(**{OUTPUT_MODEL: model})
        self._defineSourceRelation(self.inputTomograms, model)
        self._defineSourceRelation(self.inputMasks, model)

    def _parameters(self):
        epochs = self.epochs.get()
        if epochs == 0 and (self.timeLimit.get() or 0) > 0:
            epochs = UNLIMITED_EPOCHS
        return MembraneTrainingParameters(
            architecture=ARCHITECTURES[self.architecture.get()], base=self.base.get(), sections=self.sections.get(),
            planes=self.planes.get(), patch=self.patch.get(), batch_size=self.batchSize.get(), epochs=epochs,
            steps_per_epoch=self.stepsPerEpoch.get(), learning_rate=self.learningRate.get(),
            voxel_size=self.modelVoxelSize.get() or None, time_limit_min=self.timeLimit.get() or None,
            seed=self.seed.get())

    def _validate(self):
        errors = self._parameters().problems()
        if self.inputMasks.get() is not None and self.inputTomograms.get() is not None:
            errors += pairingProblems(self.inputTomograms.get(), self.inputMasks.get(), "membrane mask")
        initial = self.initialModel.get()
        if initial is not None and not os.path.isfile(initial.getPath() or ""):
            errors.append(f"Initial model file {initial.getPath()} does not exist.")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_MODEL):
            return ["Model not ready yet."]
        with open(self._getExtraPath("model", "training.json")) as handle:
            summary = json.load(handle)
        return [f"{getattr(self, OUTPUT_MODEL)}", f"Trained {summary['epochs']} epochs in {summary['seconds']:.0f} s "
                f"on {self.inputTomograms.get().getSize()} tomograms; best epoch {summary['best_epoch']}."]
