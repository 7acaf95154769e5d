"""The ROI curation protocol in a real pyworkflow project: a saved session's edits replayed on the phantom's
ROIs, the curated labels and penalty masks registered, and a fine-tuning round trained from them.

Runs under pytest and under Scipion's runner (see test_protocol_phantoms.py).
"""
import json
import os
from unittest import mock

import mrcfile
import numpy as np

from tomorois_surfora.protocols import ProtTomoRoisCurate, ProtTomoRoisTrain
from tomorois_surfora.tests.phantom_project import PhantomProjectTest

SMALL = dict(sizeX=112, sizeY=112, sizeZ=48, samplingRate=20.0)


class TestProtTomoRoisCurate(PhantomProjectTest):
    PHANTOMS = dict(kind=0, nTomograms=2, seed=4, **SMALL)

    def testReplayedCurationFeedsFineTuning(self):
        folder = os.path.abspath(self.proj.getTmpPath("edits"))
        os.makedirs(folder, exist_ok=True)
        tomograms = sorted((t.clone() for t in self.phantoms.tomograms), key=lambda t: t.getTsId())
        first = tomograms[0]
        rois = {m.getTsId(): mrcfile.read(m.getFileName()) for m in self.phantoms.roiMasks}
        flagged = int(rois[first.getTsId()].max())
        stem = os.path.splitext(os.path.basename(first.getFileName()))[0]
        with open(os.path.join(folder, f"{stem}_edits.json"), "w") as handle:
            json.dump({"edits": [{"op": "flag", "label": flagged}]}, handle)

        with mock.patch.dict(os.environ, {"DISPLAY": "", "WAYLAND_DISPLAY": ""}):
            windows = self.newProtocol(ProtTomoRoisCurate, inputTomograms=self.phantoms.tomograms)
            self.assertIn("there is no display", "\n".join(windows.validate()))
        curate = self._run(ProtTomoRoisCurate, inputTomograms=self.phantoms.tomograms,
                           inputRois=self.phantoms.roiMasks, replayFolder=folder)
        self.assertSetSize(curate.curatedRois, 2)
        self.assertSetSize(curate.penaltyMasks, 2)
        curated = {m.getTsId(): m.clone() for m in curate.curatedRois}
        penalties = {m.getTsId(): mrcfile.read(m.getFileName()) for m in curate.penaltyMasks}
        labels, penalty = mrcfile.read(curated[first.getTsId()].getFileName()), penalties[first.getTsId()]
        truth = rois[first.getTsId()]
        self.assertTrue(np.array_equal(penalty > 0, truth == flagged), "the flagged ROI became the penalty")
        self.assertTrue(np.array_equal(labels, np.where(truth == flagged, 0, truth)), "and left the ROI labels")
        mask = curated[first.getTsId()]
        self.assertEqual(mask.getVolName(), first.getFileName())
        self.assertAlmostEqual(mask.getSamplingRate(), 20.0)
        second = tomograms[1].getTsId()
        self.assertTrue(np.array_equal(mrcfile.read(curated[second].getFileName()), rois[second]),
                        "a tomogram without saved edits keeps its input ROIs")
        self.assertFalse(penalties[second].any())
        self.assertIn(f"input ROIs passed through: {second}", "\n".join(curate.summary()))

        from tomorois_surfora.tests.viewer_checks import ourViewers, renderViews, viewsOf
        from tomorois_surfora.viewers import TomoRoisVolumeViewer

        self.assertEqual(ourViewers(curate), [TomoRoisVolumeViewer])
        views = viewsOf(self, TomoRoisVolumeViewer, curate, curate)
        self.assertEqual(views[0].args[3:], ["--rois", curated[first.getTsId()].getFileName(), "--penalty",
                                             next(m for m in curate.penaltyMasks
                                                  if m.getTsId() == first.getTsId()).getFileName()])
        renderViews(self, views, self.proj.getTmpPath("viewer_curate"))

        train = self._run(ProtTomoRoisTrain, inputTomograms=self.phantoms.tomograms, inputMasks=curate.curatedRois,
                          penaltyMasks=curate.penaltyMasks, depth=4, width=1, epochs=1, stepsPerEpoch=2, patch=48,
                          batchSize=2)
        from tomorois_surfora.engine.roi.model_file import load_model

        training = load_model(train.model.getPath()).training
        items = [os.path.splitext(os.path.basename(name))[0] for name in training["items"]]
        self.assertEqual(training["penalty_voxels"][items.index(stem)], int(np.count_nonzero(penalty)),
                         "the flagged ROI is penalised in the fine-tuning round")
        self.assertEqual(training["penalty_voxels"][1 - items.index(stem)], 0)
