"""Protocol: gap-aware triangle meshes of oriented surface clouds."""
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params

from ..objects import SetOfSurfaceMeshes, SurfaceMesh
from .common import byKey, collectPerKey, failureSummary, fileStem, insertStepPerKey, runEngine

OUTPUT = "meshes"


def newMesh(path, source, measurements=()):
    """A SurfaceMesh for the VTP at ``path`` carrying ``source``'s tomogram, ROI, voxel size and labels."""
    from ..engine.io import read_vtp
    from ..engine.triangles import triangle_areas

    mesh = read_vtp(path)
    item = SurfaceMesh()
    item.setItem(os.path.abspath(path), source.getTsId(), source.getRoiLabel(), source.getVoxelSize(),
                 source.getMembraneLabels())
    item.setMesh(len(mesh.faces), float(triangle_areas(mesh.points, mesh.faces).sum()), measurements)
    return item


class ProtSurfaceMesh(EMProtocol):
    """Triangle meshes of each ROI's oriented clouds, one membrane label at a time.

    Ball pivoting runs over radii scanned from the point spacing; every triangle that overlaps a gap voxel
    (outside the membrane mask, or of another label) is removed, so apposed membranes are never bridged.
    With the ROI membranes given, the gaps come from their masks; without, from the clouds' own voxels,
    which cannot see gaps narrower than two voxels.
    """

    _label = "mesh surfaces"
    _references = ["Cheng2026", "Bernardini1999"]
    _possibleOutputs = {OUTPUT: SetOfSurfaceMeshes}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputClouds", params.PointerParam, pointerClass="SetOfSurfaceClouds",
                      label="Oriented clouds", help="From 'orient normals'.")
        form.addParam("inputMembranes", params.PointerParam, pointerClass="SetOfRoiMembraneMasks",
                      allowsNull=True, label="ROI membranes (gap support)",
                      help="The crops the clouds came from ('restrict membranes to ROIs'); paired by tomogram "
                           "and ROI.")
        form.addParam("smoothingSteps", params.IntParam, default=0, label="Smoothing steps",
                      help="Damped Laplacian smoothing with fixed boundary vertices; 0: none.",
                      expertLevel=params.LEVEL_ADVANCED)
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        insertStepPerKey(self, self.meshStep, byKey(self.inputClouds.get()))

    def meshStep(self, key):
        cloud = byKey(self.inputClouds.get())[key]
        crop = self._crops().get(key)
        runEngine(self, key, "surface", "mesh", cloud.getFileName(), "--smooth", self.smoothingSteps.get(),
                  ["--masks", crop.getFileName(), "--voxel-size", crop.getVoxelSize()] if crop else None,
                  "--out", self._getExtraPath(key))

    def createOutputStep(self):
        output = collectPerKey(self, self.inputClouds.get(),
                               SetOfSurfaceMeshes.create(self._getPath(), template="surfacemeshes%s.sqlite"),
                               lambda item: f"{fileStem(item)}_mesh.vtp", newMesh, "Meshing failed for every ROI")
        self._defineOutputs(**{OUTPUT: output})
        self._defineSourceRelation(self.inputClouds, output)

    def _crops(self):
        return byKey(self.inputMembranes.get()) if self.inputMembranes.get() is not None else {}

    def _validate(self):
        errors = [] if self.smoothingSteps.get() >= 0 else ["Smoothing steps must be 0 or more."]
        clouds = self.inputClouds.get()
        if clouds is not None:
            unoriented = [c.getKey() for c in clouds if not c.getOrientation()]
            if unoriented:
                errors.append(f"Clouds {', '.join(unoriented[:5])} have unoriented normals: run 'orient normals' "
                              "first (ball pivoting needs consistent normals).")
            missing = sorted(set(byKey(clouds)) - set(self._crops())) if self.inputMembranes.get() else []
            if missing:
                errors.append(f"No ROI membranes for {', '.join(missing[:5])}.")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT):
            return ["Not ready yet."] + failureSummary(self)
        meshes = list(getattr(self, OUTPUT))
        return [f"{len(meshes)} meshes: {sum(m.getFaces() for m in meshes)} triangles, "
                f"{sum(m.getArea() for m in meshes):.0f} nm² of membrane."] + failureSummary(self)
