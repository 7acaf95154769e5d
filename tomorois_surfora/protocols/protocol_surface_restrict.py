"""Protocol: restrict membrane masks to ROIs and clean them, one cropped membrane label map per ROI."""
import glob
import json
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params

from ..engine.surface.restrict import CleanParameters
from ..objects import RoiMembraneMask, SetOfRoiMembraneMasks
from .common import byTsId, failureSummary, failures, insertStepPerTsId, pairingProblems, runEngine

OUTPUT = "roiMembranes"


class ProtSurfaceRestrict(EMProtocol):
    """Cut every membrane mask to each ROI of the matching ROI label map (paired by tsId) and clean it.

    Closing fills pin-holes, opening removes protrusions and pieces below the minimum volume (salt-and-
    pepper noise) are dropped, per membrane label. Without ROI maps the whole tomogram is one ROI. An ROI
    without membrane is named in the summary and skipped.
    """

    _label = "restrict membranes to ROIs"
    _references = ["Cheng2026"]
    _possibleOutputs = {OUTPUT: SetOfRoiMembraneMasks}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        d = CleanParameters()
        form.addSection(label="Input")
        form.addParam("inputMembranes", params.PointerParam, pointerClass="SetOfTomoMasks",
                      label="Membrane masks", help="Binary masks or label maps (one label per membrane).")
        form.addParam("inputRois", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      label="ROI label maps", help="e.g. from 'extract ROIs'; empty: the whole tomogram.")
        form.addParam("membraneLabels", params.StringParam, default="", label="Membrane labels",
                      help="Space-separated labels to keep; empty keeps every non-zero label.")
        form.addParam("closingNm", params.FloatParam, default=d.closing_nm, label="Closing radius (nm)")
        form.addParam("openingNm", params.FloatParam, default=d.opening_nm, label="Opening radius (nm)")
        form.addParam("minVolumeNm3", params.FloatParam, default=d.min_volume_nm3, label="Minimum piece (nm³)")
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        insertStepPerTsId(self, self.restrictStep, self.inputMembranes.get())

    def restrictStep(self, tsId):
        membranes = byTsId(self.inputMembranes.get())[tsId]
        rois = byTsId(self.inputRois.get())[tsId].getFileName() if self.inputRois.get() is not None else None
        runEngine(self, tsId, "surface", "restrict", os.path.abspath(membranes.getFileName()),
                  ["--rois", os.path.abspath(rois)] if rois else None,
                  ["--labels", self._labels()] if self._labels() else None,
                  "--out", self._getExtraPath(tsId), "--voxel-size", membranes.getSamplingRate(),
                  "--closing", self.closingNm.get(), "--opening", self.openingNm.get(),
                  "--min-volume", self.minVolumeNm3.get())

    def createOutputStep(self):
        failed = failures(self)
        output = SetOfRoiMembraneMasks.create(self._getPath(), template="roimembranes%s.sqlite")
        for tsId in sorted(byTsId(self.inputMembranes.get())):
            if tsId in failed:
                continue
            for sidecar in sorted(glob.glob(self._getExtraPath(tsId, "*.json"))):
                crop = os.path.abspath(sidecar[:-len(".json")] + ".mrc")
                if not os.path.isfile(crop):  # the run was killed between a crop's sidecar and its volume
                    continue
                with open(sidecar) as handle:
                    record = json.load(handle)
                item = RoiMembraneMask()
                item.setItem(crop, tsId, record["roi"], record["voxel_size"], record["labels"])
                output.append(item)
        if not len(output):
            raise RuntimeError("No ROI holds membrane: " + "; ".join(failed.values()))
        self._defineOutputs(**{OUTPUT: output})
        self._defineSourceRelation(self.inputMembranes, output)
        if self.inputRois.get() is not None:
            self._defineSourceRelation(self.inputRois, output)

    def _labels(self):
        return self.membraneLabels.get("").split()

    def _validate(self):
        errors = [f"Clean-up: {p}" for p in CleanParameters(self.closingNm.get(), self.openingNm.get(),
                                                             self.minVolumeNm3.get()).problems()]
        if any(not label.isdigit() for label in self._labels()):
            errors.append(f"Membrane labels must be whole numbers separated by spaces, got '{self.membraneLabels.get()}'.")
        if self.inputRois.get() is not None and self.inputMembranes.get() is not None:
            errors += pairingProblems(self.inputMembranes.get(), self.inputRois.get(), "ROI map")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT):
            return ["Not ready yet."] + failureSummary(self)
        output = getattr(self, OUTPUT)
        tomograms = {item.getTsId() for item in output}
        return [f"{output.getSize()} ROIs with membrane in {len(tomograms)} tomograms."] + failureSummary(self)
