"""Protocol: distances, curvature, roughness and area on each ROI's membrane meshes."""
import os

from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params

from ..objects import SetOfSurfaceMeshes
from .common import byKey, failureSummary, failures, insertStepPerKey, runEngine
from .protocol_surface_mesh import newMesh

OUTPUT = "measuredMeshes"
MEASUREMENTS = ("distance", "curvature", "roughness", "area")


class ProtSurfaceMeasure(EMProtocol):
    """Per-vertex measurements on each ROI's meshes, written into the meshes (VTP arrays) and tables.

    *distance*: from every vertex to the closest point on the partner membrane's triangles (both ways
    between the two labels of a contact). *curvature*: mean and Gaussian curvature from geodesic
    neighbourhoods at several radii, each vertex at its most stable one (H > 0 where the membrane bends
    away from its normals). *roughness*: offset from a smooth fit at a scale. *area*: per membrane.
    extra/ holds per-ROI CSV tables, extra/contacts_distance.csv with a ranked plot, and per-ROI STAR
    files (vertex coordinates, normal angles, curvature) for subtomogram averaging.
    """

    _label = "measure surfaces"
    _references = ["Cheng2026", "Salfer2020", "Barad2023"]
    _possibleOutputs = {OUTPUT: SetOfSurfaceMeshes}
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        form.addSection(label="Input")
        form.addParam("inputMeshes", params.PointerParam, pointerClass="SetOfSurfaceMeshes", label="Meshes",
                      help="From 'mesh surfaces'.")
        for name in MEASUREMENTS:
            form.addParam(f"do_{name}", params.BooleanParam, default=True, label=f"Measure {name}")
        form.addParam("radiiNm", params.StringParam, default="", label="Curvature radii (nm)",
                      condition="do_curvature",
                      help="Ascending, separated by spaces; empty: the point spacing × 4, 6, 8, 11, 15.")
        form.addParam("roughnessScaleNm", params.FloatParam, default=5.0, label="Roughness scale (nm)",
                      condition="do_roughness")
        form.addParallelSection(threads=2, mpi=0)

    def _insertAllSteps(self):
        insertStepPerKey(self, self.measureStep, byKey(self.inputMeshes.get()))

    def measureStep(self, key):
        item = byKey(self.inputMeshes.get())[key]
        path, out = item.getFileName(), self._getExtraPath(key)
        for name in self._chosen():
            extra = {"distance": None, "area": None, "roughness": ["--scale", self.roughnessScaleNm.get()],
                     "curvature": ["--star", "--voxel-size", item.getVoxelSize(),
                                   ["--radii", self._radii()] if self._radii() else None]}[name]
            if not runEngine(self, key, "measure", name, path, extra, "--out", out):
                return
            if name != "area":
                path = os.path.join(out, f"{os.path.splitext(os.path.basename(path))[0]}_{name}.vtp")
        with open(os.path.join(out, "final.txt"), "w") as handle:
            handle.write(path)

    def createOutputStep(self):
        from ..engine.io import read_csv, write_csv
        from ..engine.measure.export import plot_ranked_distances

        failed = failures(self)
        output = SetOfSurfaceMeshes.create(self._getPath(), template="surfacemeshes%s.sqlite")
        contacts = []
        for key, item in sorted(byKey(self.inputMeshes.get()).items()):
            marker = self._getExtraPath(key, "final.txt")
            if key in failed or not os.path.isfile(marker):
                continue
            with open(marker) as handle:
                output.append(newMesh(handle.read().strip(), item, self._chosen()))
            for summary in self._tables(key, "_distance_summary.csv"):
                contacts += [{**row, "roi": key, "name": f"{key} {row['label']}→{row['partner']}"}
                             for row in read_csv(summary).to_dict("records")]
        if not len(output):
            raise RuntimeError("Measuring failed for every ROI: " + "; ".join(failed.values()))
        if contacts:
            write_csv(self._getExtraPath("contacts_distance.csv"), contacts)
            plot_ranked_distances(contacts, self._getExtraPath("contacts_distance.png"))
        self._defineOutputs(**{OUTPUT: output})
        self._defineSourceRelation(self.inputMeshes, output)

    def _chosen(self):
        return [name for name in MEASUREMENTS if getattr(self, f"do_{name}").get()]

    def _radii(self):
        return self.radiiNm.get().split() if self.radiiNm.get() else []

    def _tables(self, key, suffix):
        folder = self._getExtraPath(key)
        return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(suffix)) \
            if os.path.isdir(folder) else []

    def _validate(self):
        errors = [] if self._chosen() else ["Choose at least one measurement."]
        try:
            radii = [float(v) for v in self._radii()]
            if radii and (min(radii) <= 0 or radii != sorted(radii)):
                errors.append("Curvature radii must be positive and ascending.")
        except ValueError:
            errors.append(f"Curvature radii must be numbers in nm, got {self.radiiNm.get()!r}.")
        if self.roughnessScaleNm.get() <= 0:
            errors.append("The roughness scale must be positive.")
        meshes = self.inputMeshes.get()
        if self.do_distance.get() and meshes is not None:
            single = [m.getKey() for m in meshes if len(m.getMembraneLabels()) != 2]
            if single:
                errors.append(f"Distances need exactly two membrane labels per ROI; {', '.join(single[:5])} "
                              "do not have two (untick 'Measure distance').")
        return errors

    def _summary(self):
        from ..engine.io import read_csv

        if not self.hasAttribute(OUTPUT):
            return ["Not ready yet."] + failureSummary(self)
        lines = [f"{getattr(self, OUTPUT).getSize()} ROIs measured ({', '.join(self._chosen())})."]
        for item in getattr(self, OUTPUT):
            key, parts = item.getKey(), []
            for summary in self._tables(key, "_distance_summary.csv"):
                parts += [f"{r['label']}→{r['partner']} {r['mean']:.1f} ± {r['std']:.1f} nm (min {r['min']:.1f})"
                          for _, r in read_csv(summary).iterrows()]
            for summary in self._tables(key, "_curvature_summary.csv"):
                table = read_csv(summary)
                parts += [f"label {r['label']} median H {r['median']:.4f}/nm"
                          for _, r in table[table["quantity"] == "mean_curvature_per_nm"].iterrows()]
            for summary in self._tables(key, "_roughness_summary.csv"):
                parts += [f"label {r['label']} Rq {r['Rq_nm']:.2f} nm" for _, r in read_csv(summary).iterrows()]
            lines.append(f"{key}: {item.getArea():.0f} nm²; " + "; ".join(parts))
        return lines + failureSummary(self)
