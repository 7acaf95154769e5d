"""Scipion data types of TomoROIS-SurfORA (they must live in this module to be persisted).

ScipionTomo has tomograms and masks but no trained-model or per-ROI record: these types add them.
"""
import pyworkflow.object as pwobj
from pwem.objects import EMObject, EMSet


class TomoRoisModel(EMObject):
    """A trained TomoROIS MS-D model: the model file and what it was trained for.

    The voxel size is that of the grid the model works on; tomograms at other voxel sizes are resampled.
    """

    def __init__(self, path=None, voxelSize=None, dims=None, depth=None, bestEpoch=None, validationDice=None,
                 width=None, **kwargs):
        super().__init__(**kwargs)
        self._path = pwobj.String(path)
        self._voxelSize = pwobj.Float(voxelSize)
        self._dims = pwobj.Integer(dims)
        self._depth = pwobj.Integer(depth)
        self._width = pwobj.Integer(width)
        self._bestEpoch = pwobj.Integer(bestEpoch)
        self._validationDice = pwobj.Float(validationDice)

    def getPath(self):
        return self._path.get()

    def setPath(self, path):
        self._path.set(path)

    def getVoxelSize(self):
        return self._voxelSize.get()

    def getDims(self):
        return self._dims.get()

    def getDepth(self):
        return self._depth.get()

    def getWidth(self):
        """Maps per layer; None for models registered before the width was recorded."""
        return self._width.get()

    def getBestEpoch(self):
        return self._bestEpoch.get()

    def getValidationDice(self):
        return self._validationDice.get()

    def __str__(self):
        dice = self.getValidationDice()
        width = "" if self.getWidth() is None else f", width {self.getWidth()}"
        return (f"TomoRoisModel ({self.getDims()}D MS-D, depth {self.getDepth()}{width}, "
                f"{self.getVoxelSize():g} Å grid, "
                f"validation Dice {'n/a' if dice is None else f'{dice:.3f}'})")


class TomoMembraneModel(EMObject):
    """A trained membrane segmentation model (hybrid 2.5D network or plain U-Net): the model file, its grid,
    architecture, the sections it reads and its best validation Dice."""

    def __init__(self, path=None, voxelSize=None, architecture=None, sections=None, bestEpoch=None,
                 validationDice=None, **kwargs):
        super().__init__(**kwargs)
        self._path = pwobj.String(path)
        self._voxelSize = pwobj.Float(voxelSize)
        self._architecture = pwobj.String(architecture)
        self._sections = pwobj.Integer(sections)
        self._bestEpoch = pwobj.Integer(bestEpoch)
        self._validationDice = pwobj.Float(validationDice)

    def getPath(self):
        return self._path.get()

    def getVoxelSize(self):
        return self._voxelSize.get()

    def getArchitecture(self):
        return self._architecture.get()

    def getSections(self):
        return self._sections.get()

    def getValidationDice(self):
        return self._validationDice.get()

    def __str__(self):
        dice = self._validationDice.get()
        return (f"TomoMembraneModel ({self.getArchitecture()}, stacks of {self.getSections()} sections, "
                f"{self.getVoxelSize():g} Å grid, validation Dice {'n/a' if dice is None else f'{dice:.3f}'})")


class TomoRoi(EMObject):
    """One extracted ROI: its tomogram, its label in the ROI label map, size, centroid (nm) and box (voxels)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._tsId = pwobj.String()
        self._labelFile = pwobj.String()
        self._roiLabel = pwobj.Integer()
        self._voxels = pwobj.Integer()
        self._volumeNm3 = pwobj.Float()
        self._centroidNm = pwobj.CsvList(pType=float)
        self._bboxZyx = pwobj.CsvList(pType=int)
        self._meanConfidence = pwobj.Float()
        self._maxConfidence = pwobj.Float()

    def setRecord(self, tsId, labelFile, record):
        """Fill from an engine ROI table row (see ``engine.roi.extract.roi_table``)."""
        self._tsId.set(tsId)
        self._labelFile.set(labelFile)
        self._roiLabel.set(record["label"])
        self._voxels.set(record["voxels"])
        self._volumeNm3.set(record["volume_nm3"])
        self._centroidNm.set(list(record["centroid_nm"]))
        self._bboxZyx.set([*record["bbox_zyx"][0], *record["bbox_zyx"][1]])
        self._meanConfidence.set(record["mean_confidence"])
        self._maxConfidence.set(record["max_confidence"])

    def getTsId(self):
        return self._tsId.get()

    def getLabelFile(self):
        return self._labelFile.get()

    def getRoiLabel(self):
        return self._roiLabel.get()

    def getVoxels(self):
        return self._voxels.get()

    def getVolumeNm3(self):
        return self._volumeNm3.get()

    def getCentroidNm(self):
        """(x, y, z) in nm."""
        return [float(v) for v in self._centroidNm]

    def getBoundingBox(self):
        """((z0, y0, x0), (z1, y1, x1)) voxel indices, end exclusive."""
        values = [int(v) for v in self._bboxZyx]
        return tuple(values[:3]), tuple(values[3:])

    def getMeanConfidence(self):
        return self._meanConfidence.get()

    def getMaxConfidence(self):
        return self._maxConfidence.get()


class SetOfTomoRois(EMSet):
    """The ROIs extracted from a set of tomograms."""

    ITEM_TYPE = TomoRoi

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._voxelSize = pwobj.Float()

    def getVoxelSize(self):
        return self._voxelSize.get()

    def setVoxelSize(self, voxelSize):
        self._voxelSize.set(voxelSize)


class RoiSurfaceItem(EMObject):
    """One ROI's membrane data on disk: its file, tomogram, ROI label, voxel size (Å) and membrane labels.

    The base of :class:`RoiMembraneMask` (a cropped membrane label map) and :class:`SurfaceCloud` (a PLY
    point cloud in nm, tomogram coordinates).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._fileName = pwobj.String()
        self._tsId = pwobj.String()
        self._roiLabel = pwobj.Integer()
        self._voxelSize = pwobj.Float()
        self._membraneLabels = pwobj.CsvList(pType=int)

    def setItem(self, fileName, tsId, roiLabel, voxelSize, membraneLabels):
        self._fileName.set(fileName)
        self._tsId.set(tsId)
        self._roiLabel.set(roiLabel)
        self._voxelSize.set(voxelSize)
        self._membraneLabels.set([int(v) for v in membraneLabels])

    def getFileName(self):
        return self._fileName.get()

    def getTsId(self):
        return self._tsId.get()

    def getRoiLabel(self):
        return self._roiLabel.get()

    def getVoxelSize(self):
        return self._voxelSize.get()

    def getMembraneLabels(self):
        return [int(v) for v in self._membraneLabels]

    def getKey(self):
        """A name unique within a set: ``<tsId>_roi<label>``."""
        return f"{self.getTsId()}_roi{self.getRoiLabel()}"


class RoiMembraneMask(RoiSurfaceItem):
    """The cleaned membranes inside one ROI: a cropped label map (MRC) with a sidecar JSON giving its origin."""


class SurfaceCloud(RoiSurfaceItem):
    """A surface point cloud of one ROI's membranes (PLY: x y z nx ny nz label roi, in nm).

    ``method`` is medial or iso; ``orientation`` is empty until the normals are oriented, then
    ``<method>/<convention>``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._method = pwobj.String()
        self._orientation = pwobj.String()
        self._points = pwobj.Integer()

    def setCloud(self, method, points, orientation=None):
        self._method.set(method)
        self._points.set(points)
        self._orientation.set(orientation)

    def getMethod(self):
        return self._method.get()

    def getOrientation(self):
        return self._orientation.get()

    def getPoints(self):
        return self._points.get()


class SetOfRoiMembraneMasks(EMSet):
    """Per-ROI membrane crops of a set of tomograms."""

    ITEM_TYPE = RoiMembraneMask


class SetOfSurfaceClouds(EMSet):
    """Surface point clouds, one per ROI."""

    ITEM_TYPE = SurfaceCloud


class SurfaceMesh(RoiSurfaceItem):
    """A triangle mesh of one ROI's membranes (VTP in nm, point arrays ``Normals``, ``label`` and the
    measurements named in ``measurements``, e.g. ``distance_nm``, ``mean_curvature``, ``roughness_nm``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._faces = pwobj.Integer()
        self._area = pwobj.Float()
        self._measurements = pwobj.CsvList(pType=str)

    def setMesh(self, faces, areaNm2, measurements=()):
        self._faces.set(faces)
        self._area.set(areaNm2)
        self._measurements.set(list(measurements))

    def getFaces(self):
        return self._faces.get()

    def getArea(self):
        """Total membrane area, nm²."""
        return self._area.get()

    def getMeasurements(self):
        return [str(v) for v in self._measurements]


class SetOfSurfaceMeshes(EMSet):
    """Surface meshes, one per ROI."""

    ITEM_TYPE = SurfaceMesh
