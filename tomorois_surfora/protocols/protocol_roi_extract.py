"""Protocol: individual ROIs from probability maps (threshold, clean-up, components, watershed split)."""
import json
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params
from tomo.objects import SetOfTomoMasks

from ..engine.errors import EngineError
from ..engine.roi.extract import ExtractionParameters
from ..objects import SetOfTomoRois, TomoRoi
from .common import byTsId, failureSummary, failures, insertStepPerTsId, newMaskLike, recordFailure

OUTPUT_LABELS, OUTPUT_ROIS = "roiLabels", "rois"


class ProtTomoRoisExtract(EMProtocol):
    """Turn ROI probability maps into ROI instance label maps and a set of ROIs.

    Voxels above the threshold are cleaned by opening and closing (radii in nm), components smaller than
    the minimum volume are dropped, and touching ROIs are split by a watershed whose seeds must stand
    ``seed depth`` above the neck between them, so elongated contact regions stay whole. Every ROI is
    recorded with its tomogram, label, volume, centroid (nm), box and confidence.
    """

    _label = "extract ROIs"
    _references = ["Cheng2026"]
    _possibleOutputs = {OUTPUT_LABELS: SetOfTomoMasks, OUTPUT_ROIS: SetOfTomoRois}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        d = ExtractionParameters()
        form.addSection(label="Input")
        form.addParam("inputProbabilities", params.PointerParam, pointerClass="SetOfTomoMasks",
                      label="Probability maps", help="Values in [0, 1], e.g. from 'predict ROIs'.")
        form.addParam("threshold", params.FloatParam, default=d.threshold, label="Confidence threshold")
        form.addParam("openingNm", params.FloatParam, default=d.opening_nm, label="Opening radius (nm)")
        form.addParam("closingNm", params.FloatParam, default=d.closing_nm, label="Closing radius (nm)")
        form.addParam("minVolumeNm3", params.FloatParam, default=d.min_volume_nm3, label="Minimum ROI volume (nm³)")
        form.addParam("minConfidence", params.FloatParam, default=d.min_confidence,
                      label="Minimum mean confidence",
                      help="Drop ROIs whose mean confidence is below this; 0 keeps all. Patterns the network "
                           "has not learnt well tend to get a lower mean than the ROIs it knows.")
        form.addParam("split", params.BooleanParam, default=d.split, label="Split touching ROIs")
        form.addParam("seedDepthNm", params.FloatParam, default=d.seed_depth_nm, condition="split",
                      label="Seed depth (nm)", help="A neck must be this much narrower than both sides to split.")
        form.addParallelSection(threads=2, mpi=0)

    # --------------------------------------------------------------------------------- steps
    def _insertAllSteps(self):
        insertStepPerTsId(self, self.extractStep, self.inputProbabilities.get())

    def extractStep(self, tsId):
        from ..engine.io import read_mrc, write_mrc
        from ..engine.roi.extract import extract_rois

        item = byTsId(self.inputProbabilities.get())[tsId]
        try:
            probabilities, voxel_size = read_mrc(item.getFileName(), item.getSamplingRate())
            labels, table = extract_rois(probabilities, voxel_size, self._parameters(), source=item.getFileName())
            write_mrc(self._getExtraPath(f"{tsId}_rois.mrc"), labels, voxel_size)
            with open(self._getExtraPath(f"{tsId}_rois.json"), "w") as handle:
                json.dump(table, handle, indent=1)
        except EngineError as exc:
            recordFailure(self, tsId, exc)

    def createOutputStep(self):
        inputs = byTsId(self.inputProbabilities.get())
        failed = failures(self)
        labels = SetOfTomoMasks.create(self._getPath(), template="tomomasks%s.sqlite", suffix="roiLabels")
        labels.copyInfo(self.inputProbabilities.get())
        rois = SetOfTomoRois.create(self._getPath(), template="tomorois%s.sqlite")
        rois.setVoxelSize(self.inputProbabilities.get().getSamplingRate())
        for tsId in sorted(inputs):
            if tsId in failed:
                continue
            labelFile = self._getExtraPath(f"{tsId}_rois.mrc")
            labels.append(newMaskLike(inputs[tsId], labelFile))
            with open(self._getExtraPath(f"{tsId}_rois.json")) as handle:
                for record in json.load(handle):
                    roi = TomoRoi()
                    roi.setRecord(tsId, os.path.abspath(labelFile), record)
                    rois.append(roi)
        if not len(labels):
            raise RuntimeError("ROI extraction failed for every map: " + "; ".join(failed.values()))
        self._defineOutputs(**{OUTPUT_LABELS: labels, OUTPUT_ROIS: rois})
        self._defineSourceRelation(self.inputProbabilities, labels)
        self._defineSourceRelation(self.inputProbabilities, rois)

    # --------------------------------------------------------------------------------- info
    def _parameters(self):
        return ExtractionParameters(threshold=self.threshold.get(), opening_nm=self.openingNm.get(),
                                    closing_nm=self.closingNm.get(), min_volume_nm3=self.minVolumeNm3.get(),
                                    split=self.split.get(), seed_depth_nm=self.seedDepthNm.get(),
                                    min_confidence=self.minConfidence.get())

    def _validate(self):
        p = self._parameters()
        errors = []
        if not 0 < p.threshold < 1:
            errors.append(f"The confidence threshold must be between 0 and 1, got {p.threshold:g}.")
        if min(p.opening_nm, p.closing_nm, p.min_volume_nm3) < 0 or p.seed_depth_nm <= 0:
            errors.append("Radii and the minimum volume must be 0 or more, and the seed depth positive.")
        if not 0 <= p.min_confidence < 1:
            errors.append(f"The minimum mean confidence must be in [0, 1), got {p.min_confidence:g}.")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_ROIS):
            return ["ROIs not ready yet."] + failureSummary(self)
        rois = getattr(self, OUTPUT_ROIS)
        volumes = [roi.getVolumeNm3() for roi in rois]
        lines = [f"{len(volumes)} ROIs in {getattr(self, OUTPUT_LABELS).getSize()} tomograms "
                 f"(threshold {self.threshold.get():g})."]
        if volumes:
            lines.append(f"ROI volume {min(volumes):.0f}–{max(volumes):.0f} nm³, median "
                         f"{sorted(volumes)[len(volumes) // 2]:.0f} nm³.")
        return lines + failureSummary(self)
