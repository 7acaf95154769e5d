"""Scipion viewers of TomoROIS training and evaluation: training curves, and metrics per tomogram."""
import csv
import os

from pyworkflow.viewer import DESKTOP_TKINTER, Viewer

from ..objects import TomoRoisModel
from ..protocols import ProtTomoRoisEvaluate, ProtTomoRoisTrain
from .views import FigureView


def historyRows(model):
    """The rows of the training's history.csv beside the model file ([] if it is missing)."""
    path = os.path.join(os.path.dirname(model.getPath()), "history.csv")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return list(csv.DictReader(handle))


class TrainingCurvesViewer(Viewer):
    """Loss, validation loss and Dice, and learning rate per epoch of a TomoROIS training."""

    _label = "TomoROIS training curves"
    _environments = [DESKTOP_TKINTER]
    _targets = [ProtTomoRoisTrain, TomoRoisModel]

    def _visualize(self, obj, **kwargs):
        from ..engine.view.plots import training_curves

        model = obj if isinstance(obj, TomoRoisModel) else getattr(obj, "model", None)
        rows = [] if model is None else historyRows(model)
        if not rows:
            return [self.errorMessage("No training history yet (history.csv is written after each epoch).")]
        return [FigureView(training_curves(rows), f"Training: {model.getPath()}", self.getTkRoot())]


class EvaluationViewer(Viewer):
    """ROI evaluation: TP/FP/FN and voxel Dice per tomogram, pooled rates in the title, and the metrics table."""

    _label = "TomoROIS evaluation"
    _environments = [DESKTOP_TKINTER]
    _targets = [ProtTomoRoisEvaluate]

    def _visualize(self, obj, **kwargs):
        from ..engine.view.plots import evaluation_bars

        metrics = obj.metrics()
        if not metrics or not metrics.get("tomograms"):
            return [self.errorMessage("No evaluation yet, or no tomogram paired by tsId.")]
        table = os.path.join(self._getTmpPath(), f"evaluation_{obj.getObjId()}.tsv")
        os.makedirs(os.path.dirname(table), exist_ok=True)
        with open(table, "w") as handle:
            handle.write(metricsTable(metrics))
        return [FigureView(evaluation_bars(metrics), "ROI evaluation", self.getTkRoot()),
                self.textView([table], "ROI evaluation metrics")]


def metricsTable(metrics):
    """A tab-separated table: one row per tomogram and a pooled row (TP, FP, FN, FP rate, FN rate, Dice, IoU)."""
    columns = ("predicted", "true", "tp", "fp", "fn", "fp_rate", "fn_rate", "dice", "iou")

    def cell(value):
        return "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))

    rows = ["\t".join(("tomogram",) + columns)]
    for name, record in sorted(metrics["tomograms"].items()) + [("pooled", metrics["pooled"])]:
        rows.append("\t".join([name] + [cell(record.get(column)) for column in columns]))
    return "\n".join(rows) + "\n"
