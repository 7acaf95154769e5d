"""Protocol: consistently orient the normals of surface point clouds."""

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params

from ..engine.surface.orient import CONVENTIONS, METHODS
from ..objects import SetOfSurfaceClouds
from .common import byKey, collectPerKey, failureSummary, fileStem, insertStepPerKey, recordFailure, runEngine
from .protocol_surface_extract import newCloud

OUTPUT = "orientedClouds"


class ProtSurfaceOrient(EMProtocol):
    """Orient each membrane's normals consistently, then by a convention.

    *geodesic*: heat-method geodesics from a seed weight a k-NN graph whose edges must lie in both tangent
    planes (so the two sides of a narrow fold never exchange signs); signs spread along its maximum
    spanning tree. *dipole*: patches oriented on their own are flipped to agree with the dipole field of
    their oriented neighbours. Conventions: outward/inward from each membrane's centroid, or toward the
    partner membrane (the other labels of the ROI).
    """

    _label = "orient normals"
    _references = ["Cheng2026", "Crane2013"]
    _possibleOutputs = {OUTPUT: SetOfSurfaceClouds}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputClouds", params.PointerParam, pointerClass="SetOfSurfaceClouds", label="Clouds")
        form.addParam("method", params.EnumParam, choices=list(METHODS), default=0, label="Method",
                      display=params.EnumParam.DISPLAY_HLIST)
        form.addParam("convention", params.EnumParam, choices=list(CONVENTIONS), default=0, label="Convention",
                      help="partner: toward the other membrane labels of the same ROI.")
        form.addParam("neighbours", params.IntParam, default=12, label="Neighbours (k)",
                      expertLevel=params.LEVEL_ADVANCED)
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        insertStepPerKey(self, self.orientStep, byKey(self.inputClouds.get()))

    def orientStep(self, key):
        cloud = byKey(self.inputClouds.get())[key]
        if self._convention() == "partner" and len(cloud.getMembraneLabels()) < 2:
            recordFailure(self, key, "convention 'partner' needs two membranes; this ROI holds one (skipped)")
            return
        runEngine(self, key, "surface", "orient", cloud.getFileName(), "--method", self._method(),
                  "--convention", self._convention(), "--neighbours", self.neighbours.get(),
                  "--out", self._getExtraPath(key))

    def createOutputStep(self):
        orientation = f"{self._method()}/{self._convention()}"
        output = collectPerKey(self, self.inputClouds.get(),
                               SetOfSurfaceClouds.create(self._getPath(), template="surfaceclouds%s.sqlite"),
                               lambda item: f"{fileStem(item)}_oriented.ply",
                               lambda path, item: newCloud(path, item, item.getMethod(), orientation),
                               "Orientation failed for every cloud")
        self._defineOutputs(**{OUTPUT: output})
        self._defineSourceRelation(self.inputClouds, output)

    def _method(self):
        return METHODS[self.method.get()]

    def _convention(self):
        return CONVENTIONS[self.convention.get()]

    def _singleMembrane(self):
        """Keys of the input clouds with fewer than two membrane labels."""
        return [c.getKey() for c in self.inputClouds.get() if len(c.getMembraneLabels()) < 2]

    def _validate(self):
        errors = [] if self.neighbours.get() >= 3 else ["Neighbours (k) must be at least 3."]
        if self._convention() == "partner" and self.inputClouds.get() is not None:
            single = self._singleMembrane()
            if len(single) == self.inputClouds.get().getSize():
                errors.append("Convention 'partner' needs two membrane labels per ROI; no ROI holds two.")
        return errors

    def _warnings(self):
        if self._convention() == "partner" and self.inputClouds.get() is not None:
            single = self._singleMembrane()
            if single:
                return [f"Convention 'partner' needs two membrane labels per ROI; {', '.join(single[:5])} "
                        f"{'holds' if len(single) == 1 else 'hold'} only one and will be skipped."]
        return []

    def _summary(self):
        if not self.hasAttribute(OUTPUT):
            return ["Not ready yet."] + failureSummary(self)
        output = getattr(self, OUTPUT)
        return [f"{output.getSize()} clouds oriented ({self._method()}, {self._convention()})."] + failureSummary(self)
