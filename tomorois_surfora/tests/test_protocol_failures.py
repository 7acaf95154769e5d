"""One bad item never loses the others' outputs, in every protocol that works item by item.

A real project on two phantom tomograms; each protocol runs with one of its input files broken (an MRC
truncated, a PLY or VTP overwritten with text): it finishes, registers every other item, and its summary
names the failed item, the file and the problem in the engine's own words. The broken file is restored
afterwards; the per-ROI stages also run on good inputs to feed the next one. Surface extract's own case is in test_protocol_resume
and test_protocol_queue. Runs under pytest and under Scipion's runner.
"""
import json
import os
import re
import shutil

from tomorois_surfora.protocols import (ProtImportModel, ProtMembraneEvaluate, ProtMembraneSegment, ProtMembraneTrain,
                                        ProtSurfaceCurate, ProtSurfaceExtract, ProtSurfaceMeasure, ProtSurfaceMesh,
                                        ProtSurfaceOrient, ProtSurfaceRestrict, ProtSurfaceSplit,
                                        ProtTomoRoisEvaluate, ProtTomoRoisExtract, ProtTomoRoisPhantoms,
                                        ProtTomoRoisPredict, ProtTomoRoisTrain)
from tomorois_surfora.protocols.common import byKey, byTsId
from tomorois_surfora.tests.phantom_project import PhantomProjectTest

SMALL = dict(sizeX=128, sizeY=128, sizeZ=64, samplingRate=10.0)
# every protocol's _validate, one bad setting at a time: (protocol, settings, the message it must give)
BAD_SETTINGS = [
    (ProtTomoRoisPhantoms, dict(nTomograms=0), "The number of tomograms must be at least 1."),
    (ProtTomoRoisPhantoms, dict(samplingRate=0.0), "voxel size must be positive (Å), got 0"),
    (ProtTomoRoisPhantoms, dict(sizeX=32, sizeY=32, sizeZ=16), "phantoms need at least"),
    (ProtTomoRoisPhantoms, dict(snr=-1.0), "SNR must be positive, got -1"),
    (ProtTomoRoisPhantoms, dict(tiltRange=120.0), "tilt range must be in (0, 90] degrees, got 120"),
    (ProtTomoRoisTrain, dict(epochs=-1), "epochs must be at least 1, got -1"),
    (ProtTomoRoisTrain, dict(patch=0), "patch must be at least 1, got 0"),
    (ProtTomoRoisTrain, dict(learningRate=0.0), "learning rate must be positive, got 0.0"),
    (ProtTomoRoisTrain, dict(modelVoxelSize=-5.0), "the model voxel size must be positive (Å), got -5.0"),
    (ProtTomoRoisPredict, dict(tile=8), "tiles must be at least 16 (z: 4) voxels, got 8"),
    (ProtTomoRoisPredict, dict(overlap=200), "overlap must be 0 or more and less than half the tile"),
    (ProtTomoRoisExtract, dict(threshold=1.5), "The confidence threshold must be between 0 and 1, got 1.5."),
    (ProtTomoRoisExtract, dict(minVolumeNm3=-1.0), "Radii and the minimum volume must be 0 or more"),
    (ProtTomoRoisExtract, dict(minConfidence=1.0), "The minimum mean confidence must be in [0, 1), got 1."),
    (ProtTomoRoisExtract, dict(calibrate=True), "Calibration needs the probability maps of annotated tomograms"),
    (ProtTomoRoisEvaluate, dict(iouThreshold=0.0), "The IoU threshold must be in (0, 1]."),
    (ProtMembraneTrain, dict(sections=0), "sections must be at least 1, got 0"),
    (ProtMembraneTrain, dict(base=0), "base must be at least 1, got 0"),
    (ProtMembraneTrain, dict(timeLimit=-1.0), "time limit must be positive (minutes), got -1.0"),
    (ProtMembraneSegment, dict(threshold=1.5), "The probability threshold must be in (0, 1)."),
    (ProtMembraneSegment, dict(tile=8), "tile must be at least 32 pixels, got 8"),
    (ProtSurfaceRestrict, dict(closingNm=-1.0), "Clean-up: closing_nm must be ≥ 0, got -1.0"),
    (ProtSurfaceRestrict, dict(membraneLabels="1 x"), "Membrane labels must be whole numbers separated by spaces"),
    (ProtSurfaceExtract, dict(spacingNm=-1.0), "The point spacing must be 0 (one voxel) or positive."),
    (ProtSurfaceOrient, dict(neighbours=2), "Neighbours (k) must be at least 3."),
    (ProtSurfaceMesh, dict(smoothingSteps=-1), "Smoothing steps must be 0 or more."),
    (ProtSurfaceMeasure, dict(do_distance=False, do_curvature=False, do_roughness=False, do_area=False),
     "Choose at least one measurement."),
    (ProtSurfaceMeasure, dict(radiiNm="3 x"), "Curvature radii must be numbers in nm, got '3 x'."),
    (ProtSurfaceMeasure, dict(radiiNm="5 3"), "Curvature radii must be positive and ascending."),
    (ProtSurfaceMeasure, dict(roughnessScaleNm=0.0), "The roughness scale must be positive."),
    (ProtSurfaceSplit, dict(depth=3), "The Poisson depth must be between 4 and 12."),
]
NOT_MRC, NOT_PLY, NOT_VTP = "not a readable MRC file", "not a readable PLY point cloud", "not a VTK XML PolyData"


class TestOneBadItem(PhantomProjectTest):
    PHANTOMS = dict(kind=0, nTomograms=2, seed=5, **SMALL)

    def _runWithBroken(self, item, key, problem, protocolClass, **kwargs):
        """Run ``protocolClass`` with ``item``'s file broken; check the summary names it; restore the file."""
        path = item.getFileName()
        shutil.copyfile(path, path + ".good")
        try:
            if path.endswith(".mrc"):
                with open(path, "r+b") as handle:
                    handle.truncate(2000)
            else:
                with open(path, "w") as handle:
                    handle.write("this file was overwritten by the test\n")
            prot = self._run(protocolClass, numberOfThreads=1, **kwargs)
        finally:
            os.replace(path + ".good", path)
        named = rf"FAILED {re.escape(key)}: \S*{re.escape(os.path.relpath(path, self.proj.getPath()))}: {problem}"
        self.assertRegex("\n".join(prot.summary()), named, protocolClass.__name__)
        return prot

    def assertKeys(self, items, expected, byWhat=byKey):
        self.assertEqual(sorted(byWhat(items)), sorted(expected))

    def testEveryProtocolSparesTheOtherItems(self):
        tomograms = byTsId(self.phantoms.tomograms)
        first, second = sorted(tomograms)

        roiModel = self._run(ProtImportModel, source=1).model
        predict = self._runWithBroken(tomograms[second], second, NOT_MRC, ProtTomoRoisPredict, inputModel=roiModel,
                                      inputTomograms=self.phantoms.tomograms)
        self.assertKeys(predict.probabilities, [first], byTsId)

        truthRois = byTsId(self.phantoms.roiMasks)  # 0/1 "probabilities": extraction recovers the true ROIs
        extract = self._runWithBroken(truthRois[first], first, NOT_MRC, ProtTomoRoisExtract,
                                      inputProbabilities=self.phantoms.roiMasks)
        self.assertKeys(extract.roiLabels, [second], byTsId)
        self.assertEqual({roi.getTsId() for roi in extract.rois}, {second})

        membraneModel = self._run(ProtImportModel, source=3).model
        segment = self._runWithBroken(tomograms[first], first, NOT_MRC, ProtMembraneSegment,
                                      inputModel=membraneModel, inputTomograms=self.phantoms.tomograms,
                                      inputRois=self.phantoms.roiMasks)
        self.assertKeys(segment.membranes, [second], byTsId)
        self.assertKeys(segment.membraneProbabilities, [second], byTsId)

        membranes = byTsId(self.phantoms.membraneMasks)
        restrictArgs = dict(inputMembranes=self.phantoms.membraneMasks, inputRois=self.phantoms.roiMasks)
        restrict = self._runWithBroken(membranes[second], second, NOT_MRC, ProtSurfaceRestrict, **restrictArgs)
        self.assertEqual({item.getTsId() for item in restrict.roiMembranes}, {first})

        # per-ROI stages: each runs on the good outputs of the stage before, with one of them broken
        crops = self._run(ProtSurfaceRestrict, numberOfThreads=1, **restrictArgs).roiMembranes
        clouds = self._run(ProtSurfaceExtract, inputMembranes=crops, numberOfThreads=1).clouds
        keys = sorted(byKey(clouds))
        self.assertGreaterEqual(len(keys), 2)
        orientArgs = dict(inputClouds=clouds, convention=2)
        broken = self._runWithBroken(byKey(clouds)[keys[0]], keys[0], NOT_PLY, ProtSurfaceOrient, **orientArgs)
        self.assertKeys(broken.orientedClouds, keys[1:])
        oriented = self._run(ProtSurfaceOrient, numberOfThreads=1, **orientArgs).orientedClouds
        self.checkCurationSparesTheOthers(oriented, keys)

        meshArgs = dict(inputClouds=oriented, inputMembranes=crops)
        broken = self._runWithBroken(byKey(oriented)[keys[1]], keys[1], NOT_PLY, ProtSurfaceMesh, **meshArgs)
        self.assertKeys(broken.meshes, set(keys) - {keys[1]})
        meshes = self._run(ProtSurfaceMesh, numberOfThreads=1, **meshArgs).meshes

        measure = self._runWithBroken(byKey(meshes)[keys[0]], keys[0], NOT_VTP, ProtSurfaceMeasure,
                                      inputMeshes=meshes, do_curvature=False, do_roughness=False)
        self.assertKeys(measure.measuredMeshes, keys[1:])

        iso = self._run(ProtSurfaceExtract, inputMembranes=crops, method=1, numberOfThreads=1).clouds
        isoMeshes = self._run(ProtSurfaceMesh, inputClouds=iso, inputMembranes=crops, numberOfThreads=1).meshes
        split = self._runWithBroken(byKey(isoMeshes)[keys[1]], keys[1], NOT_VTP, ProtSurfaceSplit,
                                    inputIsoMeshes=isoMeshes, inputMidMeshes=meshes)
        self.assertKeys(split.leaflets, set(keys) - {keys[1]})

        # evaluation: one unreadable pair is named, the other tomogram is still scored
        evaluate = self._runWithBroken(truthRois[first], first, NOT_MRC, ProtTomoRoisEvaluate,
                                       inputPredicted=self.phantoms.roiMasks, inputTruth=self.phantoms.roiMasks)
        self.assertEqual(list(evaluate.metrics()["tomograms"]), [second])
        self.assertEqual(evaluate.metrics()["pooled"]["dice"], 1.0)
        evaluate = self._runWithBroken(membranes[second], second, NOT_MRC, ProtMembraneEvaluate,
                                       inputPredicted=self.phantoms.membraneMasks,
                                       inputTruth=self.phantoms.membraneMasks)
        self.assertEqual(list(evaluate.metrics()["tomograms"]), [first])
        self.assertEqual(evaluate.metrics()["pooled"]["dice"], 1.0)

    def checkCurationSparesTheOthers(self, clouds, keys):
        """Replayed curation of two clouds, one of them broken: the other is curated, the broken one is left
        out and the summary names it."""
        folder = os.path.abspath(self.proj.getTmpPath("replay_edits"))
        os.makedirs(folder, exist_ok=True)
        items = byKey(clouds)
        for key in keys[:2]:
            stem = os.path.splitext(os.path.basename(items[key].getFileName()))[0]
            with open(os.path.join(folder, f"{stem}.edits.json"), "w") as handle:
                json.dump({"edits": [{"op": "flip", "points": [0, 1, 2]}]}, handle)
        curate = self._runWithBroken(items[keys[0]], keys[0], NOT_PLY, ProtSurfaceCurate, inputClouds=clouds,
                                     replayFolder=folder)
        self.assertKeys(curate.curatedClouds, keys[1:])
        self.assertIn("1 of", "\n".join(curate.summary()))

    def testEveryValidateNamesEachBadSetting(self):
        """Each bad setting gives its own message, once, in the protocol's validation (the form's check
        before anything runs); the same protocols with their defaults give no message about settings."""
        covered = {protocolClass for protocolClass, _, _ in BAD_SETTINGS}
        for protocolClass, settings, message in BAD_SETTINGS:
            with self.subTest(protocol=protocolClass.__name__, **settings):
                errors = self.newProtocol(protocolClass, **settings).validate()
                self.assertEqual([e for e in errors if message in e], [next(e for e in errors if message in e)],
                                 f"{message!r} once in {errors}")
        for protocolClass in covered:
            with self.subTest(protocol=protocolClass.__name__, settings="defaults"):
                errors = self.newProtocol(protocolClass).validate()
                self.assertEqual([e for e in errors if "cannot be EMPTY" not in e], [], "defaults are valid")
