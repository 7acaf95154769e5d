"""Protocol: surface point clouds (medial or isosurface) of each ROI's membranes."""
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params

from ..engine.io import mrc_stem
from ..objects import SetOfSurfaceClouds, SurfaceCloud
from .common import byKey, collectPerKey, failureSummary, insertStepPerKey, runEngine

OUTPUT = "clouds"
METHODS = ["medial", "iso"]


def newCloud(path, source, method, orientation=None):
    """A SurfaceCloud for the PLY at ``path`` carrying ``source``'s tomogram, ROI, voxel size and labels."""
    from ..engine.io import read_ply

    cloud = SurfaceCloud()
    cloud.setItem(os.path.abspath(path), source.getTsId(), source.getRoiLabel(), source.getVoxelSize(),
                  source.getMembraneLabels())
    cloud.setCloud(method, len(read_ply(path).points), orientation)
    return cloud


class ProtSurfaceExtract(EMProtocol):
    """Surface point clouds of the membranes in each ROI, in nm in the tomogram's coordinates.

    *medial*: one layer on the membrane's mid-surface (moving-least-squares quadratic fits to the voxel
    centres, curvature-adaptive densification, Poisson-disc homogenisation); normals are unoriented until
    'orient normals'. *iso*: both faces of the membrane from a smoothed signed distance field (marching
    cubes), normals pointing out of the membrane.
    """

    _label = "extract surfaces"
    _references = ["Cheng2026", "Barad2023"]
    _possibleOutputs = {OUTPUT: SetOfSurfaceClouds}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputMembranes", params.PointerParam, pointerClass="SetOfRoiMembraneMasks",
                      label="ROI membranes", help="From 'restrict membranes to ROIs'.")
        form.addParam("method", params.EnumParam, choices=METHODS, default=0, label="Method",
                      display=params.EnumParam.DISPLAY_HLIST)
        form.addParam("spacingNm", params.FloatParam, default=0.0, label="Point spacing (nm)",
                      help="0: one voxel.")
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        insertStepPerKey(self, self.extractStep, byKey(self.inputMembranes.get()))

    def extractStep(self, key):
        item = byKey(self.inputMembranes.get())[key]
        runEngine(self, key, "surface", "extract", item.getFileName(), "--method", self._method(),
                  "--out", self._getExtraPath(key), "--voxel-size", item.getVoxelSize(),
                  ["--spacing", self.spacingNm.get()] if self.spacingNm.get() > 0 else None)

    def createOutputStep(self):
        # isosurface normals leave the extraction oriented: out of the membrane (toward increasing φ)
        orientation = "iso/out-of-membrane" if self._method() == "iso" else None
        output = collectPerKey(self, self.inputMembranes.get(),
                               SetOfSurfaceClouds.create(self._getPath(), template="surfaceclouds%s.sqlite"),
                               lambda item: f"{mrc_stem(item.getFileName())}_{self._method()}.ply",
                               lambda path, item: newCloud(path, item, self._method(), orientation),
                               "Surface extraction failed for every ROI")
        self._defineOutputs(**{OUTPUT: output})
        self._defineSourceRelation(self.inputMembranes, output)

    def _method(self):
        return METHODS[self.method.get()]

    def _validate(self):
        return [] if self.spacingNm.get() >= 0 else ["The point spacing must be 0 (one voxel) or positive."]

    def _summary(self):
        if not self.hasAttribute(OUTPUT):
            return ["Not ready yet."] + failureSummary(self)
        points = [cloud.getPoints() for cloud in getattr(self, OUTPUT)]
        return [f"{self._method()} surfaces of {len(points)} ROIs: {sum(points)} points "
                f"({min(points)}–{max(points)} per ROI)."] + failureSummary(self)
