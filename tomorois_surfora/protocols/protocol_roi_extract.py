"""Protocol: individual ROIs from probability maps (threshold, clean-up, components, watershed split)."""
import json
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params
from tomo.objects import SetOfTomoMasks

from ..engine.io import mrc_stem
from ..engine.roi.extract import ExtractionParameters
from ..objects import SetOfTomoRois, TomoRoi
from .common import byTsId, failureSummary, failures, insertStepPerTsId, newMaskLike, runEngine

OUTPUT_LABELS, OUTPUT_ROIS = "roiLabels", "rois"
CALIBRATION_FILE = "calibration.json"


class ProtTomoRoisExtract(EMProtocol):
    """Turn ROI probability maps into ROI instance label maps and a set of ROIs.

    Voxels above the threshold are cleaned by opening and closing (radii in nm), components smaller than
    the minimum volume are dropped, and touching ROIs are split by a watershed whose seeds must stand
    ``seed depth`` above the neck between them, so elongated contact regions stay whole. Every ROI is
    recorded with its tomogram, label, volume, centroid (nm), box and confidence.

    *Calibrate* chooses threshold, split, minimum volume, closing and minimum mean confidence instead, on the
    probability maps of annotated tomograms (the best object F1, then Dice; ``roi calibrate``), and uses
    them; the choice and every setting's score are in extra/calibration.json.
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
        form.addSection(label="Calibration")
        form.addParam("calibrate", params.BooleanParam, default=False, label="Calibrate on annotated tomograms",
                      help="Choose threshold, split, minimum volume, closing and minimum mean confidence on the "
                           "probability maps of tomograms whose ROIs are known (predicted by the same model), "
                           "instead of the values above.")
        form.addParam("calibrationMaps", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      condition="calibrate", label="Probability maps of annotated tomograms")
        form.addParam("calibrationTruth", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      condition="calibrate", label="Their true ROI labels", help="Paired with the maps by tsId.")
        form.addParallelSection(threads=2, mpi=0)

    # --------------------------------------------------------------------------------- steps
    def _insertAllSteps(self):
        after = [self._insertFunctionStep(self.calibrateStep, prerequisites=[])] if self.calibrate.get() else []
        insertStepPerTsId(self, self.extractStep, self.inputProbabilities.get(), after)

    def calibrateStep(self):
        maps, truth = byTsId(self.calibrationMaps.get()), byTsId(self.calibrationTruth.get())
        tsIds = sorted(set(maps) & set(truth))
        ok = runEngine(self, "calibration", "roi", "calibrate", [maps[t].getFileName() for t in tsIds], "--truth",
                       [truth[t].getFileName() for t in tsIds], "--out", self._getExtraPath(CALIBRATION_FILE),
                       "--workers", self.numberOfThreads.get())
        if not ok:
            raise RuntimeError("Calibration failed: " + failures(self).get("calibration", ""))

    def extractStep(self, tsId):
        item = byTsId(self.inputProbabilities.get())[tsId]
        p = self._parameters()
        runEngine(self, tsId, "roi", "extract", os.path.abspath(item.getFileName()), "--out", self._getExtraPath(tsId),
                  "--voxel-size", item.getSamplingRate(), "--threshold", p.threshold, "--opening", p.opening_nm,
                  "--closing", p.closing_nm, "--min-volume", p.min_volume_nm3, "--seed-depth", p.seed_depth_nm,
                  "--min-confidence", p.min_confidence, None if p.split else "--no-split")

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
            stem = self._getExtraPath(tsId, f"{mrc_stem(inputs[tsId].getFileName())}_rois")
            labels.append(newMaskLike(inputs[tsId], stem + ".mrc"))
            with open(stem + ".json") as handle:
                for record in json.load(handle):
                    roi = TomoRoi()
                    roi.setRecord(tsId, os.path.abspath(stem + ".mrc"), record)
                    rois.append(roi)
        if not len(labels):
            raise RuntimeError("ROI extraction failed for every map: " + "; ".join(failed.values()))
        self._defineOutputs(**{OUTPUT_LABELS: labels, OUTPUT_ROIS: rois})
        self._defineSourceRelation(self.inputProbabilities, labels)
        self._defineSourceRelation(self.inputProbabilities, rois)

    # --------------------------------------------------------------------------------- info
    def _parameters(self):
        """The form's settings, or the calibrated ones once the calibration step has run."""
        if self.calibrate.get() and os.path.exists(self._getExtraPath(CALIBRATION_FILE)):
            from ..engine.roi.calibrate import extraction_from_record

            with open(self._getExtraPath(CALIBRATION_FILE)) as handle:
                return extraction_from_record(json.load(handle))
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
        if self.calibrate.get():
            maps, truth = self.calibrationMaps.get(), self.calibrationTruth.get()
            if maps is None or truth is None:
                errors.append("Calibration needs the probability maps of annotated tomograms and their true ROIs.")
            elif not set(byTsId(maps)) & set(byTsId(truth)):
                errors.append("No calibration map has true ROIs with the same tsId.")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_ROIS):
            return ["ROIs not ready yet."] + failureSummary(self)
        rois = getattr(self, OUTPUT_ROIS)
        volumes = [roi.getVolumeNm3() for roi in rois]
        p = self._parameters()
        lines = [f"{len(volumes)} ROIs in {getattr(self, OUTPUT_LABELS).getSize()} tomograms "
                 f"(threshold {p.threshold:g}{', calibrated' if self.calibrate.get() else ''})."]
        if self.calibrate.get():
            lines.append(f"Calibrated: split {p.split}, minimum volume {p.min_volume_nm3:g} nm³, closing "
                         f"{p.closing_nm:g} nm, minimum mean confidence {p.min_confidence:g}.")
        if volumes:
            lines.append(f"ROI volume {min(volumes):.0f}–{max(volumes):.0f} nm³, median "
                         f"{sorted(volumes)[len(volumes) // 2]:.0f} nm³.")
        return lines + failureSummary(self)
