"""Protocol: train a TomoROIS MS-D model on annotated tomograms (from scratch or fine-tuning)."""
import json
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import params

from ..engine.roi.train import TrainingParameters
from ..engine.training_loop import LR_SCHEDULES, UNLIMITED_EPOCHS
from ..objects import TomoRoisModel
from .common import byTsId, pairingProblems, runEngineOrFail

OUTPUT_MODEL = "model"
PLANE_CHOICES = ("xy", "xy,xz,yz")


class ProtTomoRoisTrain(EMProtocol):
    """Train a Mixed-Scale Dense network (Pelt & Sethian 2018) to segment regions of interest.

    Tomograms and ROI masks are paired by tsId. Optional penalty masks flag patterns that must not be
    detected (false positives seen in an earlier round): their voxels weigh more in the loss. Give an
    initial model to fine-tune it. Training runs through the engine command line
    (``tomorois-surfora roi train``), so a queue can run it; the model with the best validation Dice is kept.
    """

    _label = "train ROI model (MS-D)"
    _references = ["Cheng2026", "Pelt2018"]
    _possibleOutputs = {OUTPUT_MODEL: TomoRoisModel}

    def _defineParams(self, form):
        d = TrainingParameters()
        form.addSection(label="Input")
        form.addParam("inputTomograms", params.PointerParam, pointerClass="SetOfTomograms", label="Tomograms")
        form.addParam("inputMasks", params.PointerParam, pointerClass="SetOfTomoMasks", label="ROI annotations",
                      help="Masks paired with the tomograms by tsId; any nonzero voxel is ROI.")
        form.addParam("penaltyMasks", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      label="Penalty masks (optional)",
                      help="Patterns flagged as false positives, paired by tsId; their voxels weigh "
                           "1 + penalty weight in the loss, which pushes the confidence there down.")
        form.addParam("initialModel", params.PointerParam, pointerClass="TomoRoisModel", allowsNull=True,
                      label="Fine-tune from (optional)",
                      help="Start from this model; its architecture and voxel size are kept.")
        form.addSection(label="Network")
        form.addParam("dims", params.EnumParam, choices=["2D (sections)", "3D"], default=0,
                      display=params.EnumParam.DISPLAY_HLIST, label="Network")
        form.addParam("depth", params.IntParam, default=d.depth, label="Depth (layers)")
        form.addParam("width", params.IntParam, default=d.width, label="Width (maps per layer)",
                      expertLevel=params.LEVEL_ADVANCED,
                      help="Feature maps each layer adds. 2 gives 3.6x the weights of 1 at depth 50 for about "
                           "twice the time per step; it found more contact sites in the README's benchmark.")
        form.addParam("context", params.IntParam, default=d.context, condition="dims == 0",
                      label="Neighbouring sections",
                      help="2D: sections on each side given to the network as extra channels.")
        form.addParam("farContext", params.IntParam, default=d.far_context, condition="dims == 0",
                      label="Far z slabs", expertLevel=params.LEVEL_ADVANCED,
                      help="2D: z-averaged slabs on each side beyond the neighbouring sections, each twice as far "
                           "and as wide as the one before: the network sees where membranes are tens of nm above "
                           "and below a section at the cost of two channels per slab.")
        form.addParam("planes", params.EnumParam, choices=list(PLANE_CHOICES), default=0, condition="dims == 0",
                      display=params.EnumParam.DISPLAY_HLIST, label="Section planes",
                      help="2D: label x-y sections only, or x-y, x-z and y-z sections and average the three "
                           "(3x the prediction time): x-z and y-z sections show how far an ROI reaches in z, "
                           "which the missing wedge hides in x-y sections.")
        form.addParam("modelVoxelSize", params.FloatParam, default=0.0, label="Model voxel size (Å)",
                      help=f"Grid the network works on; 0 means the tomograms' voxel size, but at least "
                           f"{d.min_voxel_size:g} Å. Tomograms are resampled to it.")
        form.addSection(label="Training")
        form.addParam("epochs", params.IntParam, default=d.epochs, label="Epochs",
                      help="0 with a time limit: as many epochs as fit in it. Training stops at whichever of "
                           "the two comes first, and the log says which.")
        form.addParam("stepsPerEpoch", params.IntParam, default=d.steps_per_epoch, label="Steps per epoch")
        form.addParam("patch", params.IntParam, default=d.patch, label="Patch side (voxels)")
        form.addParam("batchSize", params.IntParam, default=d.batch_size, label="Batch size")
        form.addParam("learningRate", params.FloatParam, default=d.learning_rate, label="Learning rate")
        form.addParam("lrSchedule", params.EnumParam, choices=list(LR_SCHEDULES),
                      default=LR_SCHEDULES.index(d.lr_schedule), label="Learning-rate schedule",
                      expertLevel=params.LEVEL_ADVANCED,
                      help="cosine: anneal the rate to 2% of its start over the epochs or the time limit, "
                           "whichever ends first; constant: keep it.")
        form.addParam("penaltyWeight", params.FloatParam, default=d.penalty_weight, label="Penalty weight")
        form.addParam("diceWeight", params.FloatParam, default=d.dice_weight, label="Dice weight",
                      expertLevel=params.LEVEL_ADVANCED,
                      help="Weight of a soft Dice term added to the cross-entropy (0: cross-entropy only). It "
                           "sharpens the ROI boundaries, so the result depends less on the extraction threshold.")
        form.addParam("nearMiss", params.FloatParam, default=d.near_miss_fraction, label="Near-miss patches",
                      expertLevel=params.LEVEL_ADVANCED,
                      help="Fraction of training patches centred just above or below an ROI (within the near-miss "
                           "reach in z) but outside it: there a 2D network must learn that the ROI has ended, "
                           "which trims ROIs that run on in z. 0 keeps the plain ROI / background mix.")
        form.addParam("nearMissReach", params.FloatParam, default=d.near_miss_nm, label="Near-miss reach (nm)",
                      expertLevel=params.LEVEL_ADVANCED, condition="nearMiss > 0",
                      help="How far above and below an ROI near-miss patches are centred.")
        form.addParam("timeLimit", params.FloatParam, default=0.0, label="Time limit (min)",
                      help="Stop after this many minutes (0: no limit).")
        form.addParam("seed", params.IntParam, default=d.seed, label="Random seed", expertLevel=params.LEVEL_ADVANCED)
        form.addParallelSection(threads=2, mpi=0)

    # --------------------------------------------------------------------------------- steps
    def _insertAllSteps(self):
        self._insertFunctionStep(self.trainStep)
        self._insertFunctionStep(self.createOutputStep)

    def trainStep(self):
        tomograms, masks = byTsId(self.inputTomograms.get()), byTsId(self.inputMasks.get())
        tsIds = sorted(tomograms)
        penalties = byTsId(self.penaltyMasks.get()) if self.penaltyMasks.get() is not None else {}
        p = self._parameters()
        args = (
            "roi", "train", "--out", self._getExtraPath("model"),
            "--tomograms", [os.path.abspath(tomograms[t].getFileName()) for t in tsIds],
            "--masks", [os.path.abspath(masks[t].getFileName()) for t in tsIds],
            ["--penalty", [os.path.abspath(penalties[t].getFileName()) for t in tsIds]] if penalties else None,
            "--voxel-size", self.inputTomograms.get().getSamplingRate(),
            ["--model-voxel-size", p.voxel_size] if p.voxel_size else None,
            ["--init-model", self.initialModel.get().getPath()] if self.initialModel.get() is not None else None,
            "--dims", p.dims, "--depth", p.depth, "--width", p.width, "--context", p.context,
            "--far-context", p.far_context, "--planes", p.planes, "--patch", p.patch,
            "--batch-size", p.batch_size, "--epochs", p.epochs, "--steps-per-epoch", p.steps_per_epoch,
            "--lr", p.learning_rate, "--lr-schedule", p.lr_schedule, "--penalty-weight", p.penalty_weight,
            "--dice-weight", p.dice_weight, "--near-miss", p.near_miss_fraction,
            "--near-miss-reach", p.near_miss_nm, "--seed", p.seed,
            ["--time-limit", p.time_limit_min] if p.time_limit_min else None,
            "--threads", self.numberOfThreads.get(), "--device", "auto")
        runEngineOrFail(self, "training", *args)

    def createOutputStep(self):
        folder = self._getExtraPath("model")
        with open(os.path.join(folder, "training.json")) as handle:
            summary = json.load(handle)
        from ..engine.roi.model_file import load_model

        trained = load_model(summary["model"])
        model = TomoRoisModel(path=os.path.abspath(summary["model"]), voxelSize=trained.voxel_size,
                              dims=trained.dims, depth=trained.net.config["depth"], width=trained.net.config["width"],
                              bestEpoch=summary["best_epoch"],
                              validationDice=summary["best_val_dice"])
        self._defineOutputs(**{OUTPUT_MODEL: model})
        self._defineSourceRelation(self.inputTomograms, model)
        self._defineSourceRelation(self.inputMasks, model)

    # --------------------------------------------------------------------------------- info
    def _parameters(self):
        return TrainingParameters(
            dims=2 if self.dims.get() == 0 else 3, depth=self.depth.get(), width=self.width.get(),
            context=self.context.get(),
            far_context=self.farContext.get(),
            planes=PLANE_CHOICES[self.planes.get()] if self.dims.get() == 0 else "xy",
            voxel_size=self.modelVoxelSize.get() or None, patch=self.patch.get(), batch_size=self.batchSize.get(),
            epochs=self._epochs(), steps_per_epoch=self.stepsPerEpoch.get(), learning_rate=self.learningRate.get(),
            lr_schedule=LR_SCHEDULES[self.lrSchedule.get()], penalty_weight=self.penaltyWeight.get(),
            dice_weight=self.diceWeight.get(), near_miss_fraction=self.nearMiss.get(),
            near_miss_nm=self.nearMissReach.get(), time_limit_min=self.timeLimit.get() or None, seed=self.seed.get())

    def _epochs(self):
        """The form's epochs; 0 with a time limit means no epoch limit (as the CLI without --epochs)."""
        return UNLIMITED_EPOCHS if self.epochs.get() == 0 and (self.timeLimit.get() or 0) > 0 else self.epochs.get()

    def _validate(self):
        errors = self._parameters().problems()
        tomograms = self.inputTomograms.get()
        if self.inputMasks.get() is not None and tomograms is not None:
            errors += pairingProblems(tomograms, self.inputMasks.get(), "ROI mask")
            if self.penaltyMasks.get() is not None:
                errors += pairingProblems(tomograms, self.penaltyMasks.get(), "penalty mask")
        initial = self.initialModel.get()
        if initial is not None and not os.path.isfile(initial.getPath() or ""):
            errors.append(f"Initial model file {initial.getPath()} does not exist.")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_MODEL):
            return ["Model not ready yet."]
        model = getattr(self, OUTPUT_MODEL)
        with open(self._getExtraPath("model", "training.json")) as handle:
            summary = json.load(handle)
        return [f"{model}", f"Trained {summary['epochs']} epochs in {summary['seconds']:.0f} s on "
                            f"{self.inputTomograms.get().getSize()} tomograms; best epoch {summary['best_epoch']} "
                            f"(validation loss {summary['best_val_loss']:.4f})."]
