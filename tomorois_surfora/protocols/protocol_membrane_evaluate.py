"""Protocol: compare membrane segmentations with true membrane masks (Dice, IoU, precision, recall, F1, mCov)."""
from pwem.protocols import EMProtocol
from pyworkflow.protocol import params

from .common import byTsId, evaluatePairs, failureSummary, readExtraJson

METRICS_FILE = "membrane_metrics.json"


class ProtMembraneEvaluate(EMProtocol):
    """Evaluate membrane masks or label maps against true ones, paired by tsId.

    Voxel scores on membrane voxels (Dice, IoU, precision, recall, F1 = 2PR/(P+R)) and mCov, the mean over
    true membrane pieces of the best IoU of a predicted piece; per tomogram and pooled, in the summary and in
    extra/membrane_metrics.json.
    """

    _label = "evaluate membranes"
    _references = ["Cheng2026", "MoralesMartinez2025"]

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputPredicted", params.PointerParam, pointerClass="SetOfTomoMasks",
                      label="Predicted membranes", help="e.g. the membrane labels from 'segment membranes'.")
        form.addParam("inputTruth", params.PointerParam, pointerClass="SetOfTomoMasks", label="True membranes")

    def _insertAllSteps(self):
        self._insertFunctionStep(self.evaluateStep)

    def evaluateStep(self):
        from ..engine.membrane.metrics import evaluate_membranes, pooled_scores

        evaluatePairs(self, self.inputPredicted.get(), self.inputTruth.get(),
                      lambda labels, reference, _: evaluate_membranes(labels, reference), pooled_scores, METRICS_FILE)

    def metrics(self):
        """The pooled and per-tomogram scores (None before the protocol has run)."""
        return readExtraJson(self, METRICS_FILE)

    def _validate(self):
        if self.inputPredicted.get() is not None and self.inputTruth.get() is not None:
            if not set(byTsId(self.inputPredicted.get())) & set(byTsId(self.inputTruth.get())):
                return ["No tsId is shared by the predicted and the true membrane masks."]
        return []

    def _summary(self):
        from ..engine.membrane.commands import describe_scores

        result = self.metrics()
        if result is None:
            return ["Metrics not ready yet."]
        lines = [f"{result['pooled']['tomograms']} tomograms pooled: {describe_scores(result['pooled'])}"]
        lines += [f"{tsId}: {describe_scores(r)}" for tsId, r in result["tomograms"].items()]
        if result["unpaired"]:
            lines.append("Not paired (no counterpart): " + ", ".join(result["unpaired"]))
        return lines + failureSummary(self)
