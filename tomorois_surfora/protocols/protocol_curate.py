"""Interactive protocols: annotate/curate ROIs in napari, curate cloud normals in PyVista.

Each opens the engine's curation window (``tomorois-surfora curate rois|cloud``) for one item after the other
and registers what the user saved, also when a window is closed after saving. A folder of edits saved by an
earlier session (``<name>_edits.json`` / ``<name>.edits.json``) replays them without a window: the same
curation on new inputs, in batch, or in a test.
"""
import os
import subprocess

from pwem.protocols import EMProtocol
from pyworkflow.protocol import params
from tomo.objects import SetOfTomoMasks

from ..objects import SetOfSurfaceClouds
from ..engine.view import has_display
from .common import (byKey, byTsId, engineCommand, failures, failureSummary, fileStem, newMaskLike, readEngineError,
                     recordFailure)
from .protocol_surface_extract import newCloud

OUTPUT_ROIS, OUTPUT_PENALTY, OUTPUT_CLOUDS = "curatedRois", "penaltyMasks", "curatedClouds"


def curateItem(protocol, key, args, editNames):
    """Run ``tomorois-surfora curate ARGS`` for one item and wait for its window to close; with the protocol's
    replay folder, replay the first of ``editNames`` found there instead (items without one are skipped).
    The command's output goes to logs/curation.log; a failure is recorded for ``key`` (the item then passes
    through unchanged, and the summary names it)."""
    from ..engine.errors import ERROR_FILE_VARIABLE

    folder = protocol.replayFolder.get()
    if folder:
        edits = next((os.path.join(folder, n) for n in editNames if os.path.isfile(os.path.join(folder, n))), None)
        if edits is None:
            return
        args = list(args) + ["--replay", edits]
    log, errorFile = protocol._getLogsPath("curation.log"), os.path.abspath(protocol._getExtraPath(f"{key}.error"))
    if os.path.exists(errorFile):
        os.remove(errorFile)
    with open(log, "a") as handle:
        result = subprocess.run(engineCommand("curate", *args), stdout=handle, stderr=subprocess.STDOUT,
                                env={**os.environ, ERROR_FILE_VARIABLE: errorFile})
    if result.returncode != 0:
        recordFailure(protocol, key, readEngineError(errorFile) or
                      f"curate {' '.join(map(str, args[:2]))} exited with {result.returncode}: see {log}")


def displayProblem(replayFolder):
    """A validation message when windows would be needed and there is no display."""
    if replayFolder or has_display():
        return []
    return ["Curation opens windows, and there is no display: run Scipion on a desktop, or give a folder of "
            "saved edits to replay."]


class ProtTomoRoisCurate(EMProtocol):
    """Annotate or curate ROIs in napari, one tomogram after the other.

    Paint and erase ROIs, re-extract them from the probability map with a live threshold, minimum volume,
    opening and closing, delete ROIs or flag them as false positives (they go to a penalty mask). Save
    (Shift-S) writes the curated ROI labels and the penalty mask; closing a window moves to the next
    tomogram. The outputs feed the train protocol for a fine-tuning round: ROI annotations and penalty
    masks, paired by tsId. A tomogram closed without saving keeps its input ROI labels (and penalty mask), or
    is left out when it had none; the summary names both kinds.
    """

    _label = "annotate / curate ROIs (napari)"
    _references = ["Cheng2026"]
    _possibleOutputs = {OUTPUT_ROIS: SetOfTomoMasks, OUTPUT_PENALTY: SetOfTomoMasks}

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputTomograms", params.PointerParam, pointerClass="SetOfTomograms", label="Tomograms")
        form.addParam("inputProbabilities", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      label="ROI probabilities (optional)",
                      help="From the predict protocol, paired by tsId: needed to re-extract ROIs in the window.")
        form.addParam("inputRois", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      label="ROI labels to start from (optional)",
                      help="E.g. the extract protocol's ROI label maps or an earlier curation; empty: annotate "
                           "from scratch.")
        form.addParam("inputPenalty", params.PointerParam, pointerClass="SetOfTomoMasks", allowsNull=True,
                      label="Penalty masks to start from (optional)")
        form.addParam("replayFolder", params.PathParam, allowsNull=True, expertLevel=params.LEVEL_ADVANCED,
                      label="Replay edits from (optional)",
                      help="A folder with the <name>_edits.json files of an earlier session (the extra folder of "
                           "an earlier run): their edits are applied without windows.")

    def _insertAllSteps(self):
        self._insertFunctionStep(self.curateStep)
        self._insertFunctionStep(self.createOutputStep)

    def _maps(self):
        """{tsId: {"--probabilities": file, ...}} of the optional inputs."""
        maps = {}
        for option, pointer in (("--probabilities", self.inputProbabilities), ("--rois", self.inputRois),
                                ("--penalty", self.inputPenalty)):
            for tsId, mask in byTsId(pointer.get() or []).items():
                maps.setdefault(tsId, {})[option] = mask.getFileName()
        return maps

    def curateStep(self):
        maps = self._maps()
        for tsId, tomogram in sorted(byTsId(self.inputTomograms.get()).items()):
            args = ["rois", tomogram.getFileName(), "--out", self._getExtraPath()]
            for option, path in maps.get(tsId, {}).items():
                args += [option, path]
            curateItem(self, tsId, args, [f"{fileStem(tomogram)}_edits.json", f"{tsId}_edits.json"])

    def _saved(self):
        """{tsId: (tomogram, ROI labels file, penalty file)} of the tomograms whose curation was saved."""
        saved = {}
        for tsId, tomogram in byTsId(self.inputTomograms.get()).items():
            stem = self._getExtraPath(fileStem(tomogram))
            if os.path.isfile(f"{stem}_rois.mrc") and os.path.isfile(f"{stem}_penalty.mrc"):
                saved[tsId] = (tomogram, f"{stem}_rois.mrc", f"{stem}_penalty.mrc")
        return saved

    def _passedThrough(self, saved):
        """{tsId: (tomogram, ROI labels, penalty)} for tomograms not saved but given ROI labels: those pass
        through unchanged (with their penalty mask, or an empty one), so every tomogram keeps its annotation."""
        from ..engine.io import read_mrc, write_mrc

        rois, penalties = byTsId(self.inputRois.get() or []), byTsId(self.inputPenalty.get() or [])
        passed = {}
        for tsId, tomogram in byTsId(self.inputTomograms.get()).items():
            if tsId in saved or tsId not in rois:
                continue
            if tsId in penalties:
                penalty = penalties[tsId].getFileName()
            else:
                labels, voxelSize = read_mrc(rois[tsId].getFileName())
                penalty = self._getExtraPath(f"{fileStem(tomogram)}_penalty_empty.mrc")
                write_mrc(penalty, labels == -1, voxelSize)
            passed[tsId] = (tomogram, rois[tsId].getFileName(), penalty)
        return passed

    def createOutputStep(self):
        saved = self._saved()
        entries = {**self._passedThrough(saved), **saved}
        if not entries:
            raise RuntimeError("No curation was saved (press Save, or Shift-S, before closing a window).")
        outputs = {}
        for name, index in ((OUTPUT_ROIS, 1), (OUTPUT_PENALTY, 2)):
            masks = SetOfTomoMasks.create(self._getPath(), template="tomomasks%s.sqlite", suffix=name)
            masks.copyInfo(self.inputTomograms.get())
            for tsId in sorted(entries):
                masks.append(newMaskLike(entries[tsId][0], entries[tsId][index]))
            outputs[name] = masks
        self._defineOutputs(**outputs)
        for output in outputs.values():
            self._defineSourceRelation(self.inputTomograms, output)

    def _validate(self):
        from .common import pairingProblems

        errors = displayProblem(self.replayFolder.get())
        for pointer, role in ((self.inputProbabilities, "probability map"), (self.inputRois, "ROI label map"),
                              (self.inputPenalty, "penalty mask")):
            if pointer.get() is not None:
                errors += [p for p in pairingProblems(self.inputTomograms.get(), pointer.get(), role)
                           if not p.startswith("No ")]
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_ROIS):
            return ["Not ready yet."]
        saved = self._saved()
        passed = sorted(self._passedThrough(saved))
        skipped = sorted(set(byTsId(self.inputTomograms.get())) - set(saved) - set(passed))
        return [f"Curated ROIs of {len(saved)} tomograms."] + (
            [f"Not saved, input ROIs passed through: {', '.join(passed)}."] if passed else []) + (
            [f"Not saved (left out): {', '.join(skipped)}."] if skipped else []) + failureSummary(self)


class ProtSurfaceCurate(EMProtocol):
    """Curate cloud normals in PyVista, one ROI after the other.

    Select points with a rectangle (r) or a drawn polygon (p); flip their normals (f) or every normal of their
    membrane labels (l), delete them (x), give them a label (1-9); undo (u); save (s). Clouds whose window is
    closed without saving pass through unchanged, so the output can be meshed as a whole; a cloud whose
    curation fails (unreadable) is left out and named in the summary.
    """

    _label = "curate normals (PyVista)"
    _references = ["Cheng2026"]
    _possibleOutputs = {OUTPUT_CLOUDS: SetOfSurfaceClouds}

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputClouds", params.PointerParam, pointerClass="SetOfSurfaceClouds", label="Oriented clouds")
        form.addParam("replayFolder", params.PathParam, allowsNull=True, expertLevel=params.LEVEL_ADVANCED,
                      label="Replay edits from (optional)",
                      help="A folder with the <name>.edits.json files of an earlier session: their edits are "
                           "applied without windows.")

    def _insertAllSteps(self):
        self._insertFunctionStep(self.curateStep)
        self._insertFunctionStep(self.createOutputStep)

    def curateStep(self):
        for key, cloud in sorted(byKey(self.inputClouds.get()).items()):
            curateItem(self, key, ["cloud", cloud.getFileName(), "--out", self._getExtraPath()],
                       [f"{fileStem(cloud)}.edits.json"])

    def createOutputStep(self):
        output = SetOfSurfaceClouds.create(self._getPath(), template="surfaceclouds%s.sqlite")
        failed = failures(self)
        for key, cloud in sorted(byKey(self.inputClouds.get()).items()):
            if key in failed:  # its curation failed (an unreadable cloud): left out, named in the summary
                continue
            curated = self._getExtraPath(os.path.basename(cloud.getFileName()))
            path = curated if os.path.isfile(curated) else cloud.getFileName()
            output.append(newCloud(path, cloud, cloud.getMethod(), cloud.getOrientation()))
        self._defineOutputs(**{OUTPUT_CLOUDS: output})
        self._defineSourceRelation(self.inputClouds, output)

    def _validate(self):
        errors = displayProblem(self.replayFolder.get())
        clouds = self.inputClouds.get()
        if clouds is not None and any(not c.getOrientation() for c in clouds):
            errors.append("Curate oriented clouds: run the orient protocol first (normals are otherwise "
                          "arbitrary in sign).")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_CLOUDS):
            return ["Not ready yet."]
        inputs = byKey(self.inputClouds.get())
        curated = [k for k, c in inputs.items() if os.path.isfile(self._getExtraPath(os.path.basename(c.getFileName())))]
        return [f"{len(curated)} of {len(inputs)} clouds curated; the others pass through unchanged."] + \
            failureSummary(self)
