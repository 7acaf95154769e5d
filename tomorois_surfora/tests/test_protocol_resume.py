"""Resume after a crash, in a real pyworkflow project: a protocol's processes are killed (SIGKILL) in the middle
of its per-ROI steps, then the run is continued as a user would in Scipion.

Checks: steps finished before the kill are not redone (their files keep their times), no half-written file
was left under an output's name, and the continued run registers every ROI's output.

Runs under pytest and under Scipion's runner (see test_protocol_phantoms.py).
"""
import os
import signal
import time

import psutil
from pyworkflow.protocol.constants import MODE_RESUME
from pyworkflow.project import Manager

from tomorois_surfora.engine.io import mrc_stem, read_ply
from tomorois_surfora.protocols import ProtSurfaceExtract, ProtSurfaceRestrict
from tomorois_surfora.protocols.common import byKey
from tomorois_surfora.tests.phantom_project import PhantomProjectTest


def protocol_processes(prot):
    """The process running ``prot`` (pyworkflow's protocol runner for its database) and all its children."""
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "pw_protocol_run" in command and prot.getDbPath() in command:
            return [process] + process.children(recursive=True)
    return []


def finished_steps(prot):
    """The protocol's per-item steps that its steps database records as finished."""
    try:
        return [step for step in prot.loadSteps() if step.isFinished() and step.funcName.get() != "createOutputStep"]
    except Exception:  # the database is being written
        return []


class TestResumeAfterKill(PhantomProjectTest):
    PHANTOMS = dict(kind=0, nTomograms=2, seed=5, sizeX=128, sizeY=128, sizeZ=64, samplingRate=10.0)

    def testKilledExtractContinuesWithoutRedoingFinishedSteps(self):
        restrict = self._run(ProtSurfaceRestrict, inputMembranes=self.phantoms.membraneMasks,
                             inputRois=self.phantoms.roiMasks)
        items = byKey(restrict.roiMembranes)
        self.assertGreaterEqual(len(items), 2, "enough ROIs to kill the run between them")
        extract = self.newProtocol(ProtSurfaceExtract, inputMembranes=restrict.roiMembranes, numberOfThreads=1)
        self.proj.launchProtocol(extract, wait=False)  # gives the run its folder
        outputs = {key: extract._getExtraPath(key, f"{mrc_stem(item.getFileName())}_medial.ply")
                   for key, item in items.items()}

        deadline = time.time() + 120  # until Scipion has recorded a step as finished
        while not finished_steps(extract) and time.time() < deadline:
            time.sleep(0.05)
        processes = protocol_processes(extract)
        self.assertTrue(processes, "the protocol is running")
        for process in processes:
            process.send_signal(signal.SIGKILL)
        psutil.wait_procs(processes, timeout=30)

        done = {key: os.path.getmtime(path) for key, path in outputs.items() if os.path.exists(path)}
        self.assertGreaterEqual(len(done), 1)
        self.assertLess(len(done), len(items), "killed before the last ROI")
        for path in map(outputs.get, done):
            self.assertGreater(len(read_ply(path).points), 100, "a finished output is whole")

        # what Scipion does when it finds the process gone, then the user's "Continue"
        prot = self.proj.getProtocol(extract.getObjId())
        self.proj._updateProtocol(prot)
        self.proj.checkPid(prot)
        self.assertFalse(prot.isFinished())
        prot.runMode.set(MODE_RESUME)
        self.proj.launchProtocol(prot, wait=True)

        prot = Manager().loadProject(self.proj.getName()).getProtocol(extract.getObjId())
        self.assertTrue(prot.isFinished(), prot.getErrorMessage())
        self.assertSetSize(prot.clouds, len(items))
        for key, mtime in done.items():
            self.assertEqual(os.path.getmtime(outputs[key]), mtime, f"{key} was finished and not redone")
        for cloud in prot.clouds:
            self.assertEqual(len(read_ply(cloud.getFileName()).points), cloud.getPoints())
            self.assertFalse(os.path.basename(cloud.getFileName()).startswith("."), "never a temporary file")

        # one broken ROI crop: its step fails with the engine's own message, the other ROIs are registered
        broken = sorted(items)[0]
        with open(items[broken].getFileName(), "r+b") as handle:
            handle.truncate(2000)
        again = self._run(ProtSurfaceExtract, inputMembranes=restrict.roiMembranes)
        self.assertSetSize(again.clouds, len(items) - 1)
        summary = "\n".join(again.summary())
        self.assertIn(f"FAILED {broken}: {items[broken].getFileName()}: not a readable MRC file", summary)

