"""A real pyworkflow test project seeded with one phantom run, shared by the protocol tests."""
import json

from pyworkflow.project import Manager
from pyworkflow.tests import BaseTest, setupTestProject

from tomorois_surfora.protocols import ProtTomoRoisPhantoms


class PhantomProjectTest(BaseTest):
    """``setUpClass`` creates the project and runs the phantom protocol with ``PHANTOMS``; ``_run`` launches
    a protocol after checking that it validates, and returns it reloaded from the project database."""

    PHANTOMS = {}

    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        cls.phantoms = cls._run(ProtTomoRoisPhantoms, **cls.PHANTOMS)

    @classmethod
    def _run(cls, protocolClass, **kwargs):
        prot = cls.newProtocol(protocolClass, **kwargs)
        errors = prot.validate()
        assert errors == [], errors
        cls.launchProtocol(prot)
        return Manager().loadProject(cls.proj.getName()).getProtocol(prot.getObjId())

    @classmethod
    def phantomTruth(cls, index=0):
        """The ground truth JSON the phantom protocol wrote for its ``index``-th tomogram."""
        tsId = list(cls.phantoms.tomograms)[index].getTsId()
        with open(cls.phantoms._getExtraPath(f"{tsId}.json")) as handle:
            return json.load(handle)
