"""Scipion viewers of SurfORA results: clouds and meshes in PyVista (``tomorois-surfora view surface``), and
the measure protocol's distance ranking and curvature histograms."""
import os

from pyworkflow.protocol import params
from pyworkflow.viewer import DESKTOP_TKINTER, ProtocolViewer, Viewer

from ..objects import SetOfSurfaceClouds, SetOfSurfaceMeshes
from ..protocols import (ProtSurfaceCurate, ProtSurfaceExtract, ProtSurfaceMeasure, ProtSurfaceMesh,
                         ProtSurfaceOrient, ProtSurfaceSplit)
from .views import EngineView, FigureView

OUTPUTS = {ProtSurfaceExtract: "clouds", ProtSurfaceOrient: "orientedClouds", ProtSurfaceCurate: "curatedClouds",
           ProtSurfaceMesh: "meshes",
           ProtSurfaceMeasure: "measuredMeshes", ProtSurfaceSplit: "leaflets"}


def surfaceItems(protocol):
    """{key: file} of a SurfORA protocol's output, in key order (empty before it has run)."""
    output = getattr(protocol, OUTPUTS[type(protocol)], None)
    return {} if output is None else dict(sorted((item.getKey(), item.getFileName()) for item in output))


def meshArrays(path):
    """The scalar point arrays of a VTP mesh a viewer can colour by (label first)."""
    from ..engine.io import read_vtp

    arrays = [name for name, values in read_vtp(path).point_data.items() if values.ndim == 1]
    return sorted(arrays, key=lambda name: (name != "label", name))


def surfaceView(path, array=None):
    args = ["view", "surface", path] + ([] if array in (None, "label") else ["--array", array])
    return EngineView(args, title=os.path.basename(path))


class SurfOraViewer(ProtocolViewer):
    """Clouds with their normals, or meshes coloured by a measurement, in PyVista; for the measure protocol
    also the ranked inter-membrane distances and the curvature histograms."""

    _label = "SurfORA surface viewer (PyVista)"
    _environments = [DESKTOP_TKINTER]
    _targets = list(OUTPUTS)

    def _defineParams(self, form):
        self._items = surfaceItems(self.protocol)
        first = next(iter(self._items.values()), None)
        self._arrays = meshArrays(first) if first and first.endswith(".vtp") else []
        form.addSection(label="Visualization")
        form.addParam("item", params.EnumParam, choices=list(self._items) or ["(none)"], default=0, label="ROI")
        if self._arrays:
            form.addParam("array", params.EnumParam, choices=self._arrays, default=0, label="Colour by",
                          help="A per-vertex array of the mesh, in physical units (signed ones on a diverging "
                               "map centred at 0).")
        form.addParam("displaySurface", params.LabelParam, label="Open in PyVista")
        if isinstance(self.protocol, ProtSurfaceMeasure):
            form.addParam("displayDistances", params.LabelParam, label="Ranked inter-membrane distances")
            form.addParam("displayCurvature", params.LabelParam, label="Mean curvature histograms")

    def _getVisualizeDict(self):
        return {"displaySurface": self._showSurface, "displayDistances": self._showDistances,
                "displayCurvature": self._showCurvature}

    def _showSurface(self, paramName=None):
        if not self._items:
            return [self.errorMessage("This protocol has no output to show yet.")]
        path = list(self._items.values())[self.item.get()]
        return [surfaceView(path, self._arrays[self.array.get()] if self._arrays else None)]

    def _showDistances(self, paramName=None):
        from ..engine.io import read_csv
        from ..engine.measure.export import ranked_distances_figure

        table = self.protocol._getExtraPath("contacts_distance.csv")
        if not os.path.exists(table):
            return [self.errorMessage("No distances were measured (no ROI holds two membranes).")]
        rows = [{**row, "name": row.get("name") or f"{row['mesh']} {row['label']}→{row['partner']}"}
                for row in read_csv(table).to_dict("records")]
        return [FigureView(ranked_distances_figure(rows), "Ranked distances", self.getTkRoot())]

    def _showCurvature(self, paramName=None):
        from ..engine.io import read_vtp
        from ..engine.view.plots import curvature_histograms

        meshes = {key: read_vtp(path) for key, path in self._items.items()}
        return [FigureView(curvature_histograms(meshes), "Mean curvature", self.getTkRoot())]


class SurfaceSetViewer(Viewer):
    """Double-click on a cloud or mesh set: its first ``MAX_WINDOWS`` items in PyVista ("Analyze Results"
    picks any item and array)."""

    _label = "SurfORA surface viewer (PyVista)"
    _environments = [DESKTOP_TKINTER]
    _targets = [SetOfSurfaceClouds, SetOfSurfaceMeshes]
    MAX_WINDOWS = 3

    def _visualize(self, obj, **kwargs):
        return [surfaceView(item.getFileName()) for item in list(obj)[:self.MAX_WINDOWS]]
