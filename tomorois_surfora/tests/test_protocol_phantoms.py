"""The phantom protocol in a real pyworkflow project: launch, reload the project, check outputs and files.

Runs under pytest (conftest.py sets up a headless Scipion) and under Scipion's own runner
(``python -m pyworkflow.apps.pw_run_tests --run tomorois_surfora.tests.test_protocol_phantoms`` with the
environment from ``python -m tomorois_surfora.tests.scipion_env``).
"""
import json
import os

import mrcfile
import numpy as np
from pyworkflow.project import Manager
from pyworkflow.tests import BaseTest, setupTestProject

from tomorois_surfora.protocols import ProtTomoRoisPhantoms

SMALL = dict(sizeX=96, sizeY=96, sizeZ=48, samplingRate=20.0)


class TestProtTomoRoisPhantoms(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)

    def _launchAndReload(self, **kwargs):
        prot = self.newProtocol(ProtTomoRoisPhantoms, **kwargs)
        self.assertEqual(prot.validate(), [])
        self.launchProtocol(prot)
        project = Manager().loadProject(self.proj.getName())
        return project.getProtocol(prot.getObjId())

    def _checkSet(self, prot, outputSet, nItems, dtypeKind):
        self.assertSetSize(outputSet, nItems)
        self.assertAlmostEqual(outputSet.getSamplingRate(), 20.0)
        self.assertEqual(outputSet.getAcquisition().getAngleMax(), 60.0)
        tsIds = []
        for item in outputSet:
            fileName = item.getFileName()
            self.assertTrue(os.path.isfile(fileName), fileName)
            self.assertEqual(item.getDim(), (96, 96, 48))
            self.assertAlmostEqual(item.getSamplingRate(), 20.0)
            with mrcfile.open(fileName, permissive=False) as mrc:
                self.assertEqual(mrc.data.shape, (48, 96, 96))
                self.assertEqual(mrc.data.dtype.kind, dtypeKind)
                self.assertAlmostEqual(float(mrc.voxel_size.x), 20.0, places=3)
            tsIds.append(item.getTsId())
        return tsIds

    def testContactPhantoms(self):
        prot = self._launchAndReload(kind=0, nTomograms=2, seed=11, **SMALL)
        expected = ["contacts_000", "contacts_001"]
        self.assertEqual(sorted(self._checkSet(prot, prot.tomograms, 2, "f")), expected)
        self.assertEqual(sorted(self._checkSet(prot, prot.membraneMasks, 2, "i")), expected)
        self.assertEqual(sorted(self._checkSet(prot, prot.roiMasks, 2, "i")), expected)
        for mask in prot.roiMasks:
            with open(prot._getExtraPath(f"{mask.getTsId()}.json")) as handle:
                truth = json.load(handle)
            with mrcfile.open(mask.getFileName()) as mrc:
                labels = np.unique(mrc.data)
            self.assertEqual(sorted(labels[labels > 0].tolist()), [r["label"] for r in truth["rois"]])
            self.assertTrue(mask.getVolName().endswith(f"{mask.getTsId()}.mrc"))
        summary = "\n".join(prot.summary())
        self.assertIn("2 contacts tomograms", summary)
        self.assertIn("ground-truth ROIs", summary)

    def testInvaginationPhantoms(self):
        prot = self._launchAndReload(kind=1, nTomograms=1, seed=2, **SMALL)
        self.assertEqual(self._checkSet(prot, prot.tomograms, 1, "f"), ["invaginations_000"])
        with open(prot._getExtraPath("invaginations_000.json")) as handle:
            truth = json.load(handle)
        self.assertTrue(all(r["type"] == "invagination" for r in truth["rois"]))

