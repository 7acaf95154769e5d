"""Protocol: compare extracted ROIs with ground-truth ROI masks (object-level FP/FN rates, voxel Dice/IoU)."""
from pwem.protocols import EMProtocol
from pyworkflow.protocol import params

from .common import byTsId, evaluatePairs, failureSummary, readExtraJson

METRICS_FILE = "metrics.json"


class ProtTomoRoisEvaluate(EMProtocol):
    """Evaluate predicted ROI label maps against ground truth, paired by tsId.

    Predicted and true ROIs are matched one-to-one by IoU (Hungarian assignment); a match counts when its
    IoU reaches the threshold. Reports the seed paper's rates (FP among predicted ROIs, FN among true ROIs)
    and voxel Dice and IoU, per tomogram and pooled, in the summary and in extra/metrics.json.
    """

    _label = "evaluate ROIs"
    _references = ["Cheng2026"]

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputPredicted", params.PointerParam, pointerClass="SetOfTomoMasks",
                      label="Predicted ROI labels", help="e.g. the ROI label maps from 'extract ROIs'.")
        form.addParam("inputTruth", params.PointerParam, pointerClass="SetOfTomoMasks", label="Ground-truth ROIs")
        form.addParam("iouThreshold", params.FloatParam, default=0.5, label="IoU for a match")

    def _insertAllSteps(self):
        self._insertFunctionStep(self.evaluateStep)

    def evaluateStep(self):
        from ..engine.roi.metrics import combine_evaluations, evaluate_rois

        iou = self.iouThreshold.get()
        evaluatePairs(self, self.inputPredicted.get(), self.inputTruth.get(),
                      lambda labels, reference, source: evaluate_rois(labels, reference, iou, source=source),
                      combine_evaluations, METRICS_FILE)

    def metrics(self):
        """The pooled and per-tomogram metrics (None before the protocol has run)."""
        return readExtraJson(self, METRICS_FILE)

    def _validate(self):
        errors = []
        if not 0 < self.iouThreshold.get() <= 1:
            errors.append("The IoU threshold must be in (0, 1].")
        if self.inputPredicted.get() is not None and self.inputTruth.get() is not None:
            if not set(byTsId(self.inputPredicted.get())) & set(byTsId(self.inputTruth.get())):
                errors.append("No tsId is shared by the predicted and the ground-truth masks.")
        return errors

    def _summary(self):
        result = self.metrics()
        if result is None:
            return ["Metrics not ready yet."]
        p = result["pooled"]
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        lines = [f"{p['tomograms']} tomograms: predicted {p['predicted']}, true {p['true']}, TP {p['tp']}, "
                 f"FP {p['fp']}, FN {p['fn']}; FP rate {fmt(p['fp_rate'])}, FN rate {fmt(p['fn_rate'])}, "
                 f"Dice {fmt(p['dice'])}, IoU {fmt(p['iou'])} (match IoU ≥ {self.iouThreshold.get():g})."]
        for tsId, r in result["tomograms"].items():
            lines.append(f"{tsId}: TP {r['tp']} FP {r['fp']} FN {r['fn']} Dice {fmt(r['dice'])}")
        if result["unpaired"]:
            lines.append("Not paired (no counterpart): " + ", ".join(result["unpaired"]))
        return lines + failureSummary(self)
