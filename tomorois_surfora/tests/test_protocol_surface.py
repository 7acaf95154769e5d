"""SurfORA part 1 protocols in a real pyworkflow project: phantoms → restrict → extract → orient.

Runs under pytest and under Scipion's runner (see test_protocol_phantoms.py).
"""
import os

import numpy as np
from scipy.spatial import cKDTree

from tomorois_surfora.engine.io import read_csv, read_mrc, read_ply, read_vtp
from tomorois_surfora.engine.triangles import triangle_areas
from tomorois_surfora.protocols import (ProtSurfaceCurate, ProtSurfaceExtract, ProtSurfaceMeasure, ProtSurfaceMesh, ProtSurfaceOrient,
                                        ProtSurfaceRestrict, ProtSurfaceSplit)
from tomorois_surfora.tests.phantom_project import PhantomProjectTest
from tomorois_surfora.tests.viewer_checks import colourFraction, ourViewers, renderViews, viewsOf

SMALL = dict(sizeX=128, sizeY=128, sizeZ=64, samplingRate=10.0)


class TestProtSurface(PhantomProjectTest):
    PHANTOMS = dict(kind=0, nTomograms=1, seed=3, **SMALL)

    def testRestrictExtractOrientContactSites(self):
        restrict = self._run(ProtSurfaceRestrict, inputMembranes=self.phantoms.membraneMasks,
                             inputRois=self.phantoms.roiMasks)
        truthRois = read_mrc(next(iter(self.phantoms.roiMasks)).getFileName())[0]
        self.assertSetSize(restrict.roiMembranes, len(np.unique(truthRois)) - 1)
        for item in restrict.roiMembranes:
            crop, voxelSize = read_mrc(item.getFileName())
            self.assertAlmostEqual(voxelSize, 10.0, places=3)
            self.assertEqual(sorted(int(v) for v in np.unique(crop) if v), item.getMembraneLabels())
            self.assertGreaterEqual(len(item.getMembraneLabels()), 2, "a contact site holds two membranes")

        extract = self._run(ProtSurfaceExtract, inputMembranes=restrict.roiMembranes)
        self.assertSetSize(extract.clouds, restrict.roiMembranes.getSize())
        orient = self._run(ProtSurfaceOrient, inputClouds=extract.clouds, convention=2)  # partner
        self.assertSetSize(orient.orientedClouds, extract.clouds.getSize())
        for cloud in orient.orientedClouds:
            self.assertEqual((cloud.getMethod(), cloud.getOrientation()), ("medial", "geodesic/partner"))
            ply = read_ply(cloud.getFileName())
            self.assertEqual(len(ply.points), cloud.getPoints())
            self.assertTrue(np.allclose(np.linalg.norm(ply.normals, axis=1), 1.0, atol=1e-4))
            labels = ply.properties["label"]
            for label in np.unique(labels):
                mine, other = labels == label, labels != label
                distance, nearest = cKDTree(ply.points[other]).query(ply.points[mine])
                facing = distance <= np.percentile(distance, 25)
                toward = np.sum(ply.normals[mine] * (ply.points[other][nearest] - ply.points[mine]), axis=1)
                self.assertGreater(np.mean(toward[facing] > 0), 0.95, "facing membranes point at each other")
        self.assertIn("clouds oriented (geodesic, partner)", "\n".join(orient.summary()))

        self.checkCloudCuration(extract, orient)
        invalid = self.newProtocol(ProtSurfaceMesh, inputClouds=extract.clouds)
        self.assertIn("unoriented normals", "\n".join(invalid.validate()))
        mesh = self._run(ProtSurfaceMesh, inputClouds=orient.orientedClouds, inputMembranes=restrict.roiMembranes)
        self.assertSetSize(mesh.meshes, orient.orientedClouds.getSize())
        for item in mesh.meshes:
            vtp = read_vtp(item.getFileName())
            self.assertEqual(len(vtp.faces), item.getFaces())
            self.assertEqual(sorted(set(vtp.point_data["label"].astype(int))), item.getMembraneLabels())
            area = triangle_areas(vtp.points, vtp.faces).sum()
            self.assertAlmostEqual(item.getArea(), area, delta=1e-3 * area, msg="the registered area is the mesh's")
            crop = next(m for m in restrict.roiMembranes if m.getRoiLabel() == item.getRoiLabel())
            # the phantom's membrane labels are 5 nm thick slabs around the mid-surface: area ≈ volume / 5 nm
            slabArea = np.count_nonzero(read_mrc(crop.getFileName())[0]) * 1.0 ** 3 / 5.0
            self.assertAlmostEqual(item.getArea() / slabArea, 1.0, delta=0.1, msg="mesh area ≈ the slab's")
        measure = self._run(ProtSurfaceMeasure, inputMeshes=mesh.meshes)
        self.assertSetSize(measure.measuredMeshes, mesh.meshes.getSize())
        truth = {roi["label"]: roi for roi in self.phantomTruth()["rois"]}
        for item in measure.measuredMeshes:
            self.assertEqual(item.getMeasurements(), ["distance", "curvature", "roughness", "area"])
            vtp = read_vtp(item.getFileName())
            for name in ("distance_nm", "mean_curvature", "gaussian_curvature", "curvature_radius_nm",
                         "curvature_confidence", "roughness_nm"):
                self.assertIn(name, vtp.point_data)
            self.assertAlmostEqual(np.nanmin(vtp.point_data["distance_nm"]), truth[item.getRoiLabel()]["gap_nm"],
                                   delta=1.0, msg="closest approach ≈ the phantom's true gap (10 Å voxels)")
        contacts = read_csv(measure._getExtraPath("contacts_distance.csv"))
        self.assertEqual(len(contacts), 2 * measure.measuredMeshes.getSize())
        self.assertTrue(os.path.getsize(measure._getExtraPath("contacts_distance.png")) > 1000)
        summary = "\n".join(measure.summary())
        self.assertIn("ROIs measured (distance, curvature, roughness, area)", summary)
        self.assertIn("median H", summary)

        iso = self._run(ProtSurfaceExtract, inputMembranes=restrict.roiMembranes, method=1)
        isoMeshes = self._run(ProtSurfaceMesh, inputClouds=iso.clouds, inputMembranes=restrict.roiMembranes)
        split = self._run(ProtSurfaceSplit, inputIsoMeshes=isoMeshes.meshes, inputMidMeshes=mesh.meshes)
        self.assertSetSize(split.leaflets, isoMeshes.meshes.getSize())
        for item in split.leaflets:
            vtp = read_vtp(item.getFileName())
            leaflet, labels = vtp.point_data["leaflet"], vtp.point_data["label"]
            self.assertEqual(set(np.unique(leaflet)), {-1, 1}, "both leaflets of every membrane")
            for label in np.unique(labels):  # mid-surface normals face the partner: +1 is the facing leaflet
                other = cKDTree(vtp.points[labels != label])
                facing = other.query(vtp.points[(labels == label) & (leaflet > 0)])[0]
                away = other.query(vtp.points[(labels == label) & (leaflet < 0)])[0]
                self.assertLess(np.median(facing), np.median(away))
            self.assertEqual(item.getMeasurements(), ["leaflet"])
        self.checkViewers(restrict, orient, measure)

    def checkCloudCuration(self, extract, orient):
        """A saved session's edits (flip one membrane's normals) replayed by the curation protocol."""
        import json

        self.assertIn("run the orient protocol first",
                      "\n".join(self.newProtocol(ProtSurfaceCurate, inputClouds=extract.clouds).validate()))
        first = sorted((c.clone() for c in orient.orientedClouds), key=lambda c: c.getKey())[0]
        original = read_ply(first.getFileName())
        flipped = np.flatnonzero(original.properties["label"] == first.getMembraneLabels()[0])
        folder = os.path.abspath(self.proj.getTmpPath("cloud_edits"))
        os.makedirs(folder, exist_ok=True)
        stem = os.path.splitext(os.path.basename(first.getFileName()))[0]
        with open(os.path.join(folder, f"{stem}.edits.json"), "w") as handle:
            json.dump({"edits": [{"op": "flip", "points": flipped.tolist()}]}, handle)
        curate = self._run(ProtSurfaceCurate, inputClouds=orient.orientedClouds, replayFolder=folder)
        self.assertSetSize(curate.curatedClouds, orient.orientedClouds.getSize())
        curated = {c.getKey(): c.clone() for c in curate.curatedClouds}[first.getKey()]
        self.assertEqual((curated.getOrientation(), curated.getPoints()), (first.getOrientation(), first.getPoints()))
        back = read_ply(curated.getFileName())
        expected = original.normals.copy()
        expected[flipped] *= -1
        self.assertTrue(np.allclose(back.normals, expected, atol=1e-6), "exactly that membrane is flipped")
        self.assertIn("1 of", "\n".join(curate.summary()))
        from tomorois_surfora.viewers import SurfOraViewer

        self.assertEqual(ourViewers(curate), [SurfOraViewer])
        views = viewsOf(self, SurfOraViewer, curate, curate)
        self.assertEqual(views[0].args[:3], ["view", "surface", sorted(
            c.getFileName() for c in curate.curatedClouds if c.getKey() == first.getKey())[0]])

    def checkViewers(self, restrict, orient, measure):
        """Every viewer Scipion offers for these results opens on them and shows what it should."""
        from tomorois_surfora.viewers import SurfaceSetViewer, SurfOraViewer, TomoRoisVolumeViewer

        self.assertEqual(ourViewers(measure), [SurfOraViewer])
        self.assertEqual(ourViewers(measure.measuredMeshes), [SurfaceSetViewer])
        folder = measure._getExtraPath("viewer_checks")
        arrays = SurfOraViewer(project=self.proj, protocol=measure)
        arrays.setProtocol(measure)
        self.assertIn("distance_nm", arrays._arrays)
        views = viewsOf(self, SurfOraViewer, measure, measure, array=arrays._arrays.index("distance_nm"))
        self.assertEqual([type(v).__name__ for v in views], ["EngineView", "FigureView", "FigureView"])
        self.assertEqual(views[0].args[-2:], ["--array", "distance_nm"])
        surface, ranked, curvature = renderViews(self, views, folder)
        self.assertGreater(colourFraction(surface), 0.02, "the mesh is coloured by distance")
        contacts = read_csv(measure._getExtraPath("contacts_distance.csv"))
        self.assertEqual(len(views[1].figure.axes[0].lines[0].get_xdata()), len(contacts), "one point per contact")
        self.assertEqual(len([a for a in views[2].figure.axes if a.get_visible()]), measure.measuredMeshes.getSize())
        cloudViews = viewsOf(self, SurfaceSetViewer, orient.orientedClouds, orient)
        self.assertEqual(len(cloudViews), min(3, orient.orientedClouds.getSize()))
        renderViews(self, cloudViews[:1], folder + "_clouds")
        self.assertEqual(ourViewers(restrict), [TomoRoisVolumeViewer])
        volume = viewsOf(self, TomoRoisVolumeViewer, restrict, restrict)
        self.assertEqual(volume[0].args[3:5], ["--membranes", next(iter(self.phantoms.membraneMasks)).getFileName()])
        self.assertIn("--rois", volume[0].args)
        renderViews(self, volume, folder + "_volume")
