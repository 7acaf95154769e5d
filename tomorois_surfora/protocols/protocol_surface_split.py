"""Protocol: split each ROI's isosurface meshes into inner and outer leaflets."""

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params

from ..objects import SetOfSurfaceMeshes
from .common import byKey, collectPerKey, failureSummary, fileStem, insertStepPerKey, runEngine
from .protocol_surface_mesh import newMesh

OUTPUT = "leaflets"


class ProtSurfaceSplit(EMProtocol):
    """Split every membrane's isosurface mesh into its two leaflets.

    A Poisson surface of the matching mid-surface (medial) mesh is the proxy; each isosurface vertex gets
    leaflet +1 on the side the mid-surface normals point to (outer, for outward normals) and −1 on the
    other. Closed sheets go whole; open membranes are cut at their rim.
    """

    _label = "split leaflets"
    _references = ["Cheng2026"]
    _possibleOutputs = {OUTPUT: SetOfSurfaceMeshes}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputIsoMeshes", params.PointerParam, pointerClass="SetOfSurfaceMeshes",
                      label="Isosurface meshes", help="'mesh surfaces' of iso clouds.")
        form.addParam("inputMidMeshes", params.PointerParam, pointerClass="SetOfSurfaceMeshes",
                      label="Mid-surface meshes", help="'mesh surfaces' of oriented medial clouds of the same ROIs.")
        form.addParam("depth", params.IntParam, default=8, label="Poisson depth", expertLevel=params.LEVEL_ADVANCED)
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        insertStepPerKey(self, self.splitStep, byKey(self.inputIsoMeshes.get()))

    def splitStep(self, key):
        iso, mid = byKey(self.inputIsoMeshes.get())[key], byKey(self.inputMidMeshes.get())[key]
        runEngine(self, key, "surface", "split", iso.getFileName(), "--mids", mid.getFileName(),
                  "--depth", self.depth.get(), "--out", self._getExtraPath(key))

    def createOutputStep(self):
        output = collectPerKey(self, self.inputIsoMeshes.get(),
                               SetOfSurfaceMeshes.create(self._getPath(), template="surfacemeshes%s.sqlite"),
                               lambda item: f"{fileStem(item)}_leaflets.vtp",
                               lambda path, item: newMesh(path, item, ["leaflet"]),
                               "The leaflet split failed for every ROI")
        self._defineOutputs(**{OUTPUT: output})
        self._defineSourceRelation(self.inputIsoMeshes, output)
        self._defineSourceRelation(self.inputMidMeshes, output)

    def _validate(self):
        errors = [] if 4 <= self.depth.get() <= 12 else ["The Poisson depth must be between 4 and 12."]
        isos, mids = self.inputIsoMeshes.get(), self.inputMidMeshes.get()
        if isos is not None and mids is not None:
            missing = sorted(set(byKey(isos)) - set(byKey(mids)))
            if missing:
                errors.append(f"No mid-surface mesh for {', '.join(missing[:5])} (paired by tomogram and ROI).")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT):
            return ["Not ready yet."] + failureSummary(self)
        return [f"{getattr(self, OUTPUT).getSize()} isosurfaces split into leaflets (array 'leaflet': +1 on the "
                "side the mid-surface normals point to, -1 on the other)."] + failureSummary(self)
