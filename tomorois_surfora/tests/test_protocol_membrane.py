"""Membrane protocols in a real pyworkflow project: import, train, fine-tune, segment inside ROIs, evaluate.
(The whole chain through restrict and SurfORA is examples/whole_chain.py, run by test_examples.py.)

Runs under pytest and under Scipion's runner (see test_protocol_phantoms.py).
"""
import os

import numpy as np
import torch

from tomorois_surfora.engine.io import read_mrc
from tomorois_surfora.engine.membrane.predict import roi_boxes
from tomorois_surfora.protocols import (ProtImportModel, ProtMembraneEvaluate, ProtMembraneSegment,
                                        ProtMembraneTrain)
from tomorois_surfora.tests.phantom_project import PhantomProjectTest

SMALL = dict(sizeX=128, sizeY=128, sizeZ=64, samplingRate=10.0)
TINY = dict(base=4, sections=3, epochs=2, stepsPerEpoch=3, patch=48, batchSize=2)


class TestProtMembrane(PhantomProjectTest):
    PHANTOMS = dict(kind=0, nTomograms=2, seed=5, **SMALL)

    def testTrainFineTuneSegmentEvaluate(self):
        from tomorois_surfora.engine.membrane.model_file import load_membrane_model

        train = self._run(ProtMembraneTrain, inputTomograms=self.phantoms.tomograms,
                          inputMasks=self.phantoms.membraneMasks, architecture=1, **TINY)
        model = train.model
        self.assertEqual((model.getArchitecture(), model.getSections(), model.getVoxelSize()), ("unet", 3, 10.0))
        saved = load_membrane_model(model.getPath())
        self.assertEqual(saved.net.config["base"], 4, "the form's base channels reach the engine")
        self.assertEqual(len(saved.training["items"]), 2)
        self.assertIn("Trained 2 epochs", "\n".join(train.summary()))

        tuned = self._run(ProtMembraneTrain, inputTomograms=self.phantoms.tomograms,
                          inputMasks=self.phantoms.membraneMasks, initialModel=model, epochs=1, stepsPerEpoch=2,
                          patch=48, batchSize=2, clahe=False)
        fine = load_membrane_model(tuned.model.getPath())
        self.assertEqual(fine.training["fine_tuned_from"], model.getPath())
        self.assertTrue(fine.preprocess.clahe, "fine-tuning keeps the starting model's preprocessing")
        self.assertFalse(all(torch.equal(a, b) for a, b in zip(fine.net.parameters(), saved.net.parameters())))

        inside = self._run(ProtMembraneSegment, inputModel=model, inputTomograms=self.phantoms.tomograms,
                           inputRois=self.phantoms.roiMasks, margin=0.0)
        self.assertSetSize(inside.membranes, 2)
        self.assertSetSize(inside.membraneProbabilities, 2)
        rois = {m.getTsId(): read_mrc(m.getFileName())[0] for m in self.phantoms.roiMasks}
        for item in inside.membraneProbabilities:
            probability, size = read_mrc(item.getFileName())
            self.assertAlmostEqual(size, 10.0, places=3)
            outside = np.ones(probability.shape, bool)
            for box in roi_boxes(rois[item.getTsId()], 0):
                outside[box] = False
            self.assertFalse(probability[outside].any(), "only the ROI boxes are segmented")
        self.assertIn("inside ROIs", "\n".join(inside.summary()))

        evaluate = self._run(ProtMembraneEvaluate, inputPredicted=inside.membranes,
                             inputTruth=self.phantoms.membraneMasks)
        metrics = evaluate.metrics()
        self.assertEqual(metrics["pooled"]["tomograms"], 2)
        predicted = {m.getTsId(): read_mrc(m.getFileName())[0] for m in inside.membranes}
        truth = {m.getTsId(): read_mrc(m.getFileName())[0] for m in self.phantoms.membraneMasks}
        tp = sum(int(np.count_nonzero((predicted[t] > 0) & (truth[t] > 0))) for t in truth)
        self.assertEqual(metrics["pooled"]["tp"], tp, "the scores count the registered files' voxels")
        self.assertIn("tomograms pooled: Dice", "\n".join(evaluate.summary()))
        # the whole chain (examples/whole_chain.py, run by test_examples.py) feeds these labels to restrict

    def testImportRecognisesBothKindsAndValidates(self):
        roiModel = self._run(ProtImportModel, source=1).model
        self.assertEqual(type(roiModel).__name__, "TomoRoisModel")
        self.assertEqual(roiModel.getVoxelSize(), 20.0)
        bogus = os.path.abspath(self.proj.getTmpPath("not_a_model.pt"))
        torch.save({"format": "something else"}, bogus)
        errors = self.newProtocol(ProtImportModel, filePath=bogus).validate()
        self.assertIn("neither a TomoROIS ROI model nor a membrane model", "\n".join(errors))
        errors = self.newProtocol(ProtMembraneSegment, inputModel=None, inputTomograms=self.phantoms.tomograms,
                                  threshold=1.5).validate()
        self.assertIn("threshold must be in (0, 1)", "\n".join(errors))
