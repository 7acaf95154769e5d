"""TomoROIS protocols in a real pyworkflow project: train → predict, and extract → evaluate on phantoms.

Runs under pytest and under Scipion's runner (see test_protocol_phantoms.py).
"""
import json
import os

import mrcfile
import numpy as np
import torch
from scipy import ndimage
from tomo.protocols import ProtImportTomomasks

from tomorois_surfora.protocols import (ProtTomoRoisEvaluate, ProtTomoRoisExtract, ProtTomoRoisPhantoms,
                                        ProtTomoRoisPredict, ProtTomoRoisTrain)
from tomorois_surfora.tests.phantom_project import PhantomProjectTest
from tomorois_surfora.tests.viewer_checks import ourViewers, renderViews, viewsOf

SMALL = dict(sizeX=112, sizeY=112, sizeZ=48, samplingRate=20.0)
TINY_TRAINING = dict(depth=6, width=1, epochs=2, stepsPerEpoch=3, patch=48, batchSize=2, diceWeight=0.5)


class TestProtTomoRois(PhantomProjectTest):
    PHANTOMS = dict(kind=0, nTomograms=2, seed=0, **SMALL)

    def testTrainWithPenaltyThenPredict(self):
        train = self._run(ProtTomoRoisTrain, inputTomograms=self.phantoms.tomograms,
                          inputMasks=self.phantoms.roiMasks, penaltyMasks=self.phantoms.decoyMasks, planes=1,
                          nearMiss=0.25, nearMissReach=10.0, **TINY_TRAINING)
        model = train.model
        self.assertTrue(os.path.isfile(model.getPath()))
        self.assertEqual((model.getVoxelSize(), model.getDims(), model.getDepth(), model.getWidth()), (20.0, 2, 6, 1))
        self.assertIn("Trained 2 epochs", "\n".join(train.summary()))
        from tomorois_surfora.engine.roi.model_file import load_model

        saved = load_model(model.getPath())
        self.assertTrue(saved.training["items"] and len(saved.training["history"]) >= 1)
        self.assertEqual(saved.planes, ("xy", "xz", "yz"), "the x-y, x-z and y-z choice reaches the engine")
        self.assertEqual(saved.net.config["width"], 1, "a width other than the default reaches the engine")
        trained = saved.training["parameters"]
        self.assertEqual(trained["dice_weight"], 0.5, "so does the Dice weight")
        self.assertEqual((trained["near_miss_fraction"], trained["near_miss_nm"]), (0.25, 10.0),
                         "and the near-miss share and reach")
        decoys = {m.getTsId(): int(np.count_nonzero(mrcfile.read(m.getFileName()))) for m in self.phantoms.decoyMasks}
        tsIds = [os.path.splitext(os.path.basename(name))[0] for name in saved.training["items"]]  # <tsId>.mrc
        self.assertEqual(saved.training["penalty_voxels"], [decoys[tsId] for tsId in tsIds],
                         "each tomogram's penalty mask, paired by tsId, reaches the training")
        self.assertGreater(sum(decoys.values()), 0)

        tuned = self._run(ProtTomoRoisTrain, inputTomograms=self.phantoms.tomograms,
                          inputMasks=self.phantoms.roiMasks, initialModel=model, epochs=1, stepsPerEpoch=2, patch=48,
                          batchSize=2)
        fine = load_model(tuned.model.getPath())
        self.assertEqual(fine.training["fine_tuned_from"], model.getPath(), "the initial model is fine-tuned")
        self.assertEqual((fine.planes, fine.net.config["depth"], fine.net.config["width"]), (saved.planes, 6, 1),
                         "its architecture is kept")
        self.assertFalse(all(torch.equal(a, b) for a, b in zip(fine.net.parameters(), saved.net.parameters())))

        predict = self._run(ProtTomoRoisPredict, inputModel=model, inputTomograms=self.phantoms.tomograms,
                            mirrored=True)
        self.assertSetSize(predict.probabilities, 2)
        for item in predict.probabilities:
            with mrcfile.open(item.getFileName(), permissive=False) as mrc:
                self.assertEqual((mrc.data.shape, mrc.data.dtype), ((48, 112, 112), np.float32))
                self.assertTrue(0 <= mrc.data.min() and mrc.data.max() <= 1)
                self.assertAlmostEqual(float(mrc.voxel_size.x), 20.0, places=3)
            self.assertTrue(item.getVolName().endswith(f"{item.getTsId()}.mrc"))
        self.assertIn("ROI probabilities for 2 of 2 tomograms", "\n".join(predict.summary()))
        from tomorois_surfora.engine.roi.predict import TileParameters, predict_file

        first = next(iter(predict.probabilities))
        tomogram = next(t for t in self.phantoms.tomograms if t.getTsId() == first.getTsId())
        for mirrored in (True, False):
            out = os.path.abspath(self.proj.getTmpPath(f"engine_{mirrored}.mrc"))
            predict_file(saved, tomogram.getFileName(), out, tiles=TileParameters(mirrored=mirrored), quiet=True)
            same = np.allclose(mrcfile.read(out), mrcfile.read(first.getFileName()), atol=1e-5)
            self.assertEqual(same, mirrored, "the protocol predicted with mirrored copies")

        # Viewers: training curves (protocol and model object), the predicted map over its tomogram.
        from tomorois_surfora.viewers import TomoRoisVolumeViewer, TrainingCurvesViewer

        self.assertEqual(ourViewers(train), [TrainingCurvesViewer])
        self.assertEqual(ourViewers(model), [TrainingCurvesViewer])
        for obj in (train, model):
            views = viewsOf(self, TrainingCurvesViewer, obj, train)
            loss = views[0].figure.axes[0]
            self.assertEqual([len(line.get_xdata()) for line in loss.lines], [2, 2], "two epochs, two curves")
            renderViews(self, views, self.proj.getTmpPath("viewer_training"))
        self.assertEqual(ourViewers(predict), [TomoRoisVolumeViewer])
        views = viewsOf(self, TomoRoisVolumeViewer, predict, predict, tomogram=1)  # the second tsId
        second = next(p for p in predict.probabilities if p.getTsId() == "contacts_001")
        self.assertEqual(views[0].args[2:], [second.getVolName(), "--probabilities", second.getFileName()])
        renderViews(self, views, self.proj.getTmpPath("viewer_predict"))

    def testExtractAndEvaluateRecoverGroundTruth(self):
        folder = os.path.abspath(self.proj.getTmpPath("probabilities"))
        os.makedirs(folder, exist_ok=True)
        truthCounts = {}
        for mask in self.phantoms.roiMasks:
            labels = mrcfile.read(mask.getFileName())
            truthCounts[mask.getTsId()] = len(np.unique(labels)) - 1
            probability = np.clip(ndimage.gaussian_filter((labels > 0).astype(np.float32), 1.0), 0, 1)
            with mrcfile.new(os.path.join(folder, f"{mask.getTsId()}.mrc")) as mrc:
                mrc.set_data(probability)
                mrc.voxel_size = 20.0
        imported = self._run(ProtImportTomomasks, filesPath=folder, filesPattern="*.mrc",
                             inputTomos=self.phantoms.tomograms)

        extract = self._run(ProtTomoRoisExtract, inputProbabilities=imported.tomomasks, minVolumeNm3=1000.0)
        self.assertSetSize(extract.roiLabels, 2)
        rois = list(extract.rois)
        self.assertEqual(len(rois), sum(truthCounts.values()))
        for roi in rois:
            self.assertIn(roi.getTsId(), truthCounts)
            labels = mrcfile.read(roi.getLabelFile())
            self.assertEqual(int((labels == roi.getRoiLabel()).sum()), roi.getVoxels())
            (z0, y0, x0), (z1, y1, x1) = roi.getBoundingBox()
            x, y, z = roi.getCentroidNm()
            self.assertTrue(x0 * 2 <= x <= x1 * 2 and y0 * 2 <= y <= y1 * 2 and z0 * 2 <= z <= z1 * 2)
            self.assertGreater(roi.getMeanConfidence(), 0.5)

        calibrated = self._run(ProtTomoRoisExtract, inputProbabilities=imported.tomomasks, calibrate=True,
                               calibrationMaps=imported.tomomasks, calibrationTruth=self.phantoms.roiMasks,
                               threshold=0.99)  # the form's threshold is replaced by the calibrated one
        with open(calibrated._getExtraPath("calibration.json")) as handle:
            choice = json.load(handle)
        self.assertEqual(choice["f1_dice"][0], 1.0, "calibration finds every true ROI and nothing else")
        self.assertEqual(len(list(calibrated.rois)), sum(truthCounts.values()))
        self.assertIn(f"threshold {choice['parameters']['threshold']:g}, calibrated",
                      "\n".join(calibrated.summary()))
        invalid = self.newProtocol(ProtTomoRoisExtract, inputProbabilities=imported.tomomasks, calibrate=True)
        self.assertIn("Calibration needs", "\n".join(invalid.validate()))

        evaluate = self._run(ProtTomoRoisEvaluate, inputPredicted=extract.roiLabels,
                             inputTruth=self.phantoms.roiMasks)
        pooled = evaluate.metrics()["pooled"]
        self.assertEqual((pooled["tp"], pooled["fp"], pooled["fn"]), (sum(truthCounts.values()), 0, 0))
        self.assertGreater(pooled["dice"], 0.9)
        self.assertIn("FP rate 0.000, FN rate 0.000", "\n".join(evaluate.summary()))

        # Viewers: ROI labels over their probability map, the ROI set, the evaluation's plots and table.
        from tomorois_surfora.viewers import EvaluationViewer, TomoRoisSetViewer, TomoRoisVolumeViewer

        self.assertEqual(ourViewers(extract), [TomoRoisVolumeViewer])
        self.assertEqual(ourViewers(extract.rois), [TomoRoisSetViewer])
        views = viewsOf(self, TomoRoisVolumeViewer, extract, extract)
        self.assertEqual(views[0].args[3::2], ["--probabilities", "--rois"])
        renderViews(self, views, self.proj.getTmpPath("viewer_extract"))
        self.assertEqual(len(viewsOf(self, TomoRoisSetViewer, extract.rois, extract)), 2)
        self.assertEqual(ourViewers(evaluate), [EvaluationViewer])
        bars, table = viewsOf(self, EvaluationViewer, evaluate, evaluate)
        counts = bars.figure.axes[0]
        self.assertEqual(sorted(round(p.get_height()) for p in counts.patches[:2]), sorted(truthCounts.values()),
                         "the TP bars hold each tomogram's true ROIs")
        self.assertIn("FP 0.0%, FN 0.0%", bars.figure._suptitle.get_text())
        rows = open(table.getFileList()[0]).read().splitlines()
        self.assertEqual([row.split("\t")[0] for row in rows], ["tomogram", *sorted(truthCounts), "pooled"])
        renderViews(self, [bars], self.proj.getTmpPath("viewer_evaluate"))

    def testValidateNamesMismatchedMasks(self):
        other = self._run(ProtTomoRoisPhantoms, kind=0, nTomograms=1, seed=0,
                          **{**SMALL, "sizeX": 96, "sizeY": 96})
        prot = self.newProtocol(ProtTomoRoisTrain, inputTomograms=self.phantoms.tomograms,
                                inputMasks=other.roiMasks, epochs=0, nearMiss=0.6)
        errors = "\n".join(prot.validate())
        self.assertIn("No ROI mask for tomogram(s) contacts_001", errors)
        self.assertIn("does not match the tomogram's", errors)
        self.assertIn("epochs must be at least 1", errors)
        self.assertIn("near-miss fraction must be in [0, 1 - foreground fraction], got 0.6", errors)
        timed = self.newProtocol(ProtTomoRoisTrain, inputTomograms=self.phantoms.tomograms,
                                 inputMasks=self.phantoms.roiMasks, epochs=0, timeLimit=5.0)
        self.assertEqual(timed.validate(), [], "0 epochs with a time limit: train for the time limit")
        self.assertGreaterEqual(timed._parameters().epochs, 1_000_000)
