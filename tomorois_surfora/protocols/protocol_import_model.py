"""Protocol: import a model file (a TomoROIS ROI model or a membrane model) into the project."""
import os

from pwem.objects import EMObject
from pwem.protocols import EMProtocol
from pyworkflow.protocol import params

from ..objects import TomoMembraneModel, TomoRoisModel

OUTPUT_MODEL = "model"
SHIPPED = ("file below", "shipped contact-site ROI model", "shipped invagination ROI model",
           "shipped membrane model")


class ProtImportModel(EMProtocol):
    """Register a trained model file, shared by a colleague or shipped with the plugin, as a project object.

    The file's own record says what it is: a TomoROIS ROI model (``roi train``) becomes a TomoRoisModel, a
    membrane model (``membrane train``) a TomoMembraneModel; it can then be fine-tuned or used to predict.
    The shipped models were trained on phantoms (see engine/demo_models/PROVENANCE.md).
    """

    _label = "import model"
    _references = ["Cheng2026"]
    _possibleOutputs = {OUTPUT_MODEL: EMObject}  # TomoRoisModel or TomoMembraneModel

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("source", params.EnumParam, choices=list(SHIPPED), default=0, label="Model",
                      help="A model file of your own, or one of the models shipped with the plugin.")
        form.addParam("filePath", params.PathParam, condition="source == 0", label="Model file",
                      help="model.pt written by `roi train` or `membrane train` (or their protocols).")

    def _insertAllSteps(self):
        self._insertFunctionStep(self.createOutputStep)

    def modelPath(self):
        """The file to import: the form's path or a shipped model."""
        if self.source.get() == 0:
            return os.path.abspath(self.filePath.get() or "")
        from ..engine.demo import DEMO_MODELS

        return str(DEMO_MODELS / ("contacts.pt", "invaginations.pt", "membranes.pt")[self.source.get() - 1])

    def createOutputStep(self):
        from ..engine.errors import InputError
        from ..engine.membrane.model_file import load_membrane_model
        from ..engine.roi.model_file import load_model

        path = self.modelPath()
        try:
            trained = load_membrane_model(path)
            model = TomoMembraneModel(path=path, voxelSize=trained.voxel_size,
                                      architecture=trained.net.config["architecture"], sections=trained.sections,
                                      bestEpoch=trained.training.get("best_epoch"),
                                      validationDice=_best_dice(trained.training))
        except InputError:
            trained = load_model(path)
            model = TomoRoisModel(path=path, voxelSize=trained.voxel_size, dims=trained.dims,
                                  depth=trained.net.config["depth"], width=trained.net.config["width"],
                                  bestEpoch=trained.training.get("best_epoch"),
                                  validationDice=_best_dice(trained.training))
        self._defineOutputs(**{OUTPUT_MODEL: model})

    def _validate(self):
        path = self.modelPath()
        if not os.path.isfile(path):
            return [f"Model file {path} does not exist."]
        from ..engine.errors import InputError
        from ..engine.membrane.model_file import load_membrane_model
        from ..engine.roi.model_file import load_model

        for loader in (load_membrane_model, load_model):
            try:
                loader(path)
                return []
            except InputError:
                continue
        return [f"{path} is neither a TomoROIS ROI model nor a membrane model."]

    def _summary(self):
        if not self.hasAttribute(OUTPUT_MODEL):
            return ["Model not imported yet."]
        return [f"Imported {self.modelPath()}: {getattr(self, OUTPUT_MODEL)}"]


def _best_dice(training):
    """The validation Dice of the kept epoch, from a model's training record (None when not recorded)."""
    best = training.get("best_epoch")
    for row in training.get("history", []):
        if row.get("epoch") == best:
            return row.get("val_dice")
    return None
