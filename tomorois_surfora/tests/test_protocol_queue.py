"""Scipion's queue on a real SLURM: a single-node cluster (scripts/slurm-local.sh) takes the project's engine
calls, one sbatch job per tomogram or ROI (QUEUE_FOR_JOBS), with the hosts.conf the plugin ships
(config/hosts-slurm.conf).

Checks: the queued predict, restrict, surface extract and measure protocols ran their items as SLURM jobs (job
ids in the run log, each job COMPLETED in SLURM's job log, the memory and time of the form in the job
script), their outputs equal a local run's, and a ROI whose engine call fails inside a job is reported with
the engine's message while the other ROIs are registered (a queued job's exit status never reaches Scipion).

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (scripts/install.sh installs them); skipped
with the reason otherwise. Runs under pytest and under Scipion's runner (see test_protocol_phantoms.py).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import numpy as np
from pyworkflow.project import Manager

from tomorois_surfora.engine.io import read_mrc, read_ply, read_vtp
from tomorois_surfora.protocols import (ProtImportModel, ProtSurfaceExtract, ProtSurfaceMeasure, ProtSurfaceMesh,
                                        ProtSurfaceOrient, ProtSurfaceRestrict, ProtTomoRoisPredict)
from tomorois_surfora.protocols.common import byKey, byTsId
from tomorois_surfora.tests.phantom_project import PhantomProjectTest

REPOSITORY = Path(__file__).resolve().parents[2]
SLURM_PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue")
QUEUE = ["cpu", {"JOB_CPUS": "1", "JOB_MEMORY": "3000", "JOB_TIME": "20", "QUEUE_FOR_JOBS": "Y"}]


def slurm_local(command, folder):
    """Run scripts/slurm-local.sh ``command`` for the cluster kept in ``folder`` (its own ports)."""
    env = dict(os.environ, SLURM_LOCAL_DIR=str(folder), SLURM_LOCAL_PORT="6917")
    return subprocess.run(["bash", str(REPOSITORY / "scripts" / "slurm-local.sh"), command], env=env,
                          capture_output=True, text=True, timeout=120)


class TestQueueOnSlurm(PhantomProjectTest):
    PHANTOMS = dict(kind=0, nTomograms=2, seed=5, sizeX=128, sizeY=128, sizeZ=64, samplingRate=10.0)

    @classmethod
    def setUpClass(cls):
        missing = [program for program in SLURM_PROGRAMS if shutil.which(program) is None]
        if missing or os.geteuid() != 0:
            raise unittest.SkipTest("a local SLURM needs root and " + ", ".join(missing or SLURM_PROGRAMS) +
                                    " (bash scripts/install.sh installs them)")
        cls.cluster = Path(tempfile.mkdtemp(prefix="tomorois-slurm-test-"))
        started = slurm_local("up", cls.cluster)
        if started.returncode != 0:
            raise RuntimeError("slurm-local.sh up failed:\n" + started.stdout + started.stderr)
        cls.savedSlurmConf = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(cls.cluster / "slurm.conf")  # for sbatch/squeue in the protocols' runs
        super().setUpClass()
        # pyworkflow writes a project's hosts file to $SCIPION_HOSTS when that path is absolute: put it back after
        cls.savedHosts = Path(os.environ["SCIPION_HOSTS"]).read_text()
        cls.proj._loadHosts(str(cls.cluster / "hosts.conf"))

    @classmethod
    def tearDownClass(cls):
        slurm_local("down", cls.cluster)
        shutil.rmtree(cls.cluster, ignore_errors=True)
        Path(os.environ["SCIPION_HOSTS"]).write_text(cls.savedHosts)
        if cls.savedSlurmConf is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = cls.savedSlurmConf
        super().tearDownClass()

    @classmethod
    def _localAndQueued(cls, protocolClass, queuedInputs=None, **kwargs):
        """Run a protocol twice, on this machine and with its engine calls sent to the cluster's cpu queue (one
        job per item), side by side: the queued run mostly waits for its jobs. ``queuedInputs`` replace inputs
        of the queued run. Return both, reloaded from the project database."""
        # Threads 3: two jobs of one CPU each at a time on the two-CPU node (pyworkflow keeps a thread for itself)
        queued = cls.newProtocol(protocolClass, numberOfThreads=3, **{**kwargs, **(queuedInputs or {})})
        queued._useQueue.set(True)
        queued.setQueueParams(QUEUE)
        assert queued.validate() == [], queued.validate()
        cls.proj.launchProtocol(queued, wait=False)
        here = cls._run(protocolClass, numberOfThreads=1, **kwargs)  # one thread: no 3 s polls between steps
        deadline = time.time() + 600
        while time.time() < deadline:
            cls.proj._updateProtocol(queued)  # from its run.db, as Scipion's GUI does
            if not queued.isActive():
                break
            time.sleep(2)
        queued = Manager().loadProject(cls.proj.getName()).getProtocol(queued.getObjId())
        assert queued.isFinished(), f"{queued.getRunName()}: {queued.getStatusMessage()} {queued.getErrorMessage()}"
        return here, queued

    def assertRanAsSlurmJobs(self, prot, count, failed=0):
        """``prot``'s run log names ``count`` job ids, each finished in SLURM's job log (``failed`` of them
        FAILED, the others COMPLETED), with the form's memory and time in its job script."""
        log = "".join(Path(path).read_text() for path in prot.getLogPaths() if os.path.exists(path))
        ids = re.findall(r"Launched job with id (\d+)", log)
        self.assertEqual(len(ids), count, f"{prot.getRunName()}: one job per item")
        jobs = (self.cluster / "jobs.log").read_text()
        states = [re.search(rf"JobId={job} .*Name={prot.strId()}-\S+ JobState=(\w+)", jobs).group(1) for job in ids]
        self.assertEqual(sorted(states), sorted(["FAILED"] * failed + ["COMPLETED"] * (count - failed)))
        scripts = list(Path(prot._getLogsPath()).glob("*.job"))
        self.assertEqual(len(scripts), count)
        self.assertIn("#SBATCH --mem=3000M", scripts[0].read_text())
        self.assertIn("#SBATCH --time=20", scripts[0].read_text())
        self.assertIn("#SBATCH --cpus-per-task=1", scripts[0].read_text())

    def testPredictRestrictExtractMeasureRunAsSlurmJobs(self):
        phantoms = self.phantoms
        model = self._run(ProtImportModel, source=1)
        predictArgs = dict(inputModel=model.model, inputTomograms=phantoms.tomograms)
        local, queued = self._localAndQueued(ProtTomoRoisPredict, **predictArgs)
        self.assertRanAsSlurmJobs(queued, 2)  # one per tomogram
        for tsId, item in byTsId(local.probabilities).items():
            expected, _ = read_mrc(item.getFileName())
            got, _ = read_mrc(byTsId(queued.probabilities)[tsId].getFileName())
            np.testing.assert_allclose(got, expected, atol=1e-5)

        restrictArgs = dict(inputMembranes=phantoms.membraneMasks, inputRois=phantoms.roiMasks)
        local, queued = self._localAndQueued(ProtSurfaceRestrict, **restrictArgs)
        self.assertRanAsSlurmJobs(queued, 2)  # one per tomogram
        crops, queuedCrops = byKey(local.roiMembranes), byKey(queued.roiMembranes)
        self.assertEqual(sorted(crops), sorted(queuedCrops))
        self.assertGreaterEqual(len(crops), 2)
        for key, item in crops.items():  # the MRC headers differ only by their creation time
            np.testing.assert_array_equal(read_mrc(queuedCrops[key].getFileName())[0], read_mrc(item.getFileName())[0])
            sidecars = [Path(path.getFileName()).with_suffix(".json").read_text() for path in (item, queuedCrops[key])]
            self.assertEqual(*sidecars)

        # one queued crop broken: its job fails, and the protocol says why from the engine's own message
        broken = sorted(queuedCrops)[0]
        with open(queuedCrops[broken].getFileName(), "r+b") as handle:
            handle.truncate(2000)
        clouds, queuedClouds = self._localAndQueued(ProtSurfaceExtract, inputMembranes=local.roiMembranes,
                                                    queuedInputs=dict(inputMembranes=queued.roiMembranes))
        self.assertRanAsSlurmJobs(queuedClouds, len(crops), failed=1)
        self.assertEqual(sorted(byKey(queuedClouds.clouds)), sorted(set(crops) - {broken}))
        self.assertIn(f"FAILED {broken}: {queuedCrops[broken].getFileName()}: not a readable MRC file",
                      "\n".join(queuedClouds.summary()))
        for key, item in byKey(queuedClouds.clouds).items():
            expected, got = read_ply(byKey(clouds.clouds)[key].getFileName()), read_ply(item.getFileName())
            np.testing.assert_array_equal(got.points, expected.points)

        oriented = self._run(ProtSurfaceOrient, inputClouds=clouds.clouds, convention=2, numberOfThreads=1)
        meshes = self._run(ProtSurfaceMesh, inputClouds=oriented.orientedClouds, inputMembranes=local.roiMembranes,
                           numberOfThreads=1)
        measureArgs = dict(inputMeshes=meshes.meshes, do_curvature=False, do_roughness=False, do_area=False)
        local, queued = self._localAndQueued(ProtSurfaceMeasure, **measureArgs)
        self.assertRanAsSlurmJobs(queued, len(crops))
        self.assertSetSize(queued.measuredMeshes, len(crops))
        for key, item in byKey(queued.measuredMeshes).items():
            expected = read_vtp(byKey(local.measuredMeshes)[key].getFileName()).point_data["distance_nm"]
            np.testing.assert_array_equal(read_vtp(item.getFileName()).point_data["distance_nm"], expected)
