"""File I/O: MRC volumes, PLY point clouds, VTP meshes, CSV and STAR tables.

Conventions (see design.md): volumes are (z, y, x) arrays with a voxel size in Å; points and meshes are in
nm with x = column × voxel size, y = row, z = section. Every writer writes to a temporary file beside the
target and renames it, so that a failure never leaves a half-written output.
"""
import contextlib
import math
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, NamedTuple, Optional

import numpy as np

from .errors import EngineError, InputError

SUSPICIOUS_VOXEL_SIZES_A = (0.0, 1.0)


class Volume(NamedTuple):
    """A volume read from an MRC file: ``data`` indexed (z, y, x) and ``voxel_size`` in Å."""

    data: np.ndarray
    voxel_size: float


@dataclass
class PointCloud:
    """Points in nm with optional unit normals and per-point properties (one value per point)."""

    points: np.ndarray
    normals: Optional[np.ndarray] = None
    properties: Dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Mesh:
    """A triangle mesh in nm: ``points`` (N, 3), ``faces`` (M, 3) vertex indices, named point-data arrays."""

    points: np.ndarray
    faces: np.ndarray
    point_data: Dict[str, np.ndarray] = field(default_factory=dict)


def check_voxel_size(voxel_size, source="voxel size"):
    """Return ``voxel_size`` as a float, or raise :class:`InputError` if it is not a positive finite number."""
    try:
        value = float(voxel_size)
    except (TypeError, ValueError):
        raise InputError(f"{source}: voxel size must be a number in Å, got {voxel_size!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{source}: voxel size must be positive (Å), got {value:g}")
    return value


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    if not path.parent.is_dir():
        raise EngineError(f"{path}: cannot write, folder {path.parent} does not exist")
    try:
        # ends in the target's own extension, for writers that choose their format by it (pyvista)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise EngineError(f"{path}: cannot write ({exc.strerror})") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise EngineError(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _require_file(path):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


# ---------------------------------------------------------------------------------------------- MRC
def read_mrc(path, voxel_size=None):
    """Read an MRC volume.

    Parameters
    ----------
    path : str or Path
        MRC file (a 2D image is returned as a single-section volume).
    voxel_size : float, optional
        Voxel size in Å to use instead of the header's (the header is often wrong).

    Returns
    -------
    Volume
        ``(data, voxel_size)``: the array indexed (z, y, x) in the file's dtype and the voxel size in Å.

    Raises
    ------
    InputError
        If the file is missing, is not MRC, or is not 2D/3D.

    Warns
    -----
    UserWarning
        If the header voxel size is 0 or 1 Å (usually unset) and no ``voxel_size`` was given.
    """
    import mrcfile

    path = _require_file(path)
    try:
        with mrcfile.open(path, mode="r", permissive=False) as mrc:
            data = np.array(mrc.data)
            header_size = float(mrc.voxel_size.x)
    except (ValueError, OSError, EOFError) as exc:
        data, header_size = _read_old_style_mrc(path)
        if data is None:
            raise InputError(f"{path}: not a readable MRC file ({exc})") from None
        warnings.warn(f"{path}: not a standard MRC2014 header ({exc}); read it as an old-style MRC file",
                      stacklevel=2)
    if data.ndim == 2:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise InputError(f"{path}: expected a 3D volume, found {data.ndim} dimensions")
    _require_real(data, path)
    if voxel_size is not None:
        return Volume(data, check_voxel_size(voxel_size, str(path)))
    if header_size in SUSPICIOUS_VOXEL_SIZES_A:
        warnings.warn(f"{path}: header voxel size is {header_size:g} Å, which is usually unset; "
                      "give the true voxel size (--voxel-size, or the protocol's sampling rate)", stacklevel=2)
    return Volume(data, header_size)


def _require_real(data, path):
    if np.iscomplexobj(data):
        raise InputError(f"{path}: complex values ({data.dtype}, e.g. a Fourier transform); a real-valued "
                         "volume is needed")


def check_volume(data, path, labels=False, slab=16):
    """Refuse a volume no stage can use, naming the file: a single section (a 2D image), NaN or infinite
    values, and, for a label map or mask (``labels``), values that are not whole numbers (a probability
    map given as a mask). Read a slab at a time, so memory-mapped volumes stay on disk.

    Raises
    ------
    InputError
    """
    if data.shape[0] < 2:
        raise InputError(f"{path}: a 2D image ({data.shape[1]}×{data.shape[2]}, one section); a 3D volume is needed")
    if np.issubdtype(data.dtype, np.integer) or data.dtype == np.bool_:
        return
    for z0 in range(0, data.shape[0], slab):
        part = np.asarray(data[z0:z0 + slab])
        if not np.isfinite(part).all():
            raise InputError(f"{path}: NaN or infinite voxel values (first in sections {z0}..{z0 + len(part) - 1})")
        if labels and not np.array_equal(part, np.round(part)):
            odd = part[part != np.round(part)]
            raise InputError(f"{path}: label values must be whole numbers, found {odd[0]:g} (a probability map? "
                             "threshold it first)")


def _read_old_style_mrc(path):
    """Data and voxel size of a pre-2014 MRC file (no 'MAP ' stamp, e.g. from older tools), or (None, 0)."""
    import mrcfile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with mrcfile.open(path, mode="r", permissive=True) as mrc:
                if mrc.data is None:
                    return None, 0.0
                return np.array(mrc.data), float(mrc.voxel_size.x)
        except (ValueError, OSError, EOFError):
            return None, 0.0


def _mrc_compatible(data, path):
    """Return ``data`` in a dtype MRC stores losslessly (labels stay integers)."""
    if data.dtype == np.bool_:
        return data.astype(np.int8)
    if data.dtype in (np.float32, np.int8, np.int16, np.uint16, np.float16):
        return data
    if data.dtype == np.uint8:
        return data.astype(np.int8) if (data.size == 0 or data.max() <= 127) else data.astype(np.uint16)
    if np.issubdtype(data.dtype, np.integer):
        lo, hi = (int(data.min()), int(data.max())) if data.size else (0, 0)
        if lo >= -32768 and hi <= 32767:
            return data.astype(np.int16)
        if lo >= 0 and hi <= 65535:
            return data.astype(np.uint16)
        raise InputError(f"{path}: integer values {lo}..{hi} do not fit an MRC integer mode")
    if np.issubdtype(data.dtype, np.floating):
        return data.astype(np.float32)
    raise InputError(f"{path}: cannot store dtype {data.dtype} in MRC")


def write_mrc(path, data, voxel_size):
    """Write a 3D array, indexed (z, y, x), to an MRC file with its voxel size in Å.

    float64 is stored as float32, bool as int8, other integers as int16 (or uint16) when the values fit.

    Raises
    ------
    InputError
        If ``data`` is not 3D, ``voxel_size`` is not positive, or values do not fit an MRC mode.
    EngineError
        If the file cannot be written.
    """
    import mrcfile

    data = np.asarray(data)
    if data.ndim != 3:
        raise InputError(f"{path}: expected a 3D (z, y, x) array, got shape {data.shape}")
    voxel_size = check_voxel_size(voxel_size, str(path))
    data = np.ascontiguousarray(_mrc_compatible(data, path))
    with atomic_output(path) as tmp:
        with mrcfile.new(tmp, overwrite=True) as mrc:
            mrc.set_data(data)
            mrc.voxel_size = voxel_size
            mrc.update_header_stats()


@contextlib.contextmanager
def open_mrc(path, voxel_size=None):
    """Open an MRC volume memory-mapped, read-only, for volumes too large to load at once.

    Yields a :class:`Volume` whose ``data`` is a read-only (z, y, x) memmap, valid inside the block.
    Errors and the voxel-size rules are those of :func:`read_mrc`.
    """
    import mrcfile

    path = _require_file(path)
    try:
        mrc = mrcfile.mmap(path, mode="r", permissive=False)
    except (ValueError, OSError, EOFError):
        # not mappable: read_mrc reads an old-style file whole, or names the file and the problem
        yield read_mrc(path, voxel_size)
        return
    with mrc:
        data = mrc.data if mrc.data.ndim == 3 else mrc.data[np.newaxis]
        if data.ndim != 3:
            raise InputError(f"{path}: expected a 3D volume, found {mrc.data.ndim} dimensions")
        _require_real(data, path)
        header_size = float(mrc.voxel_size.x)
        if voxel_size is not None:
            yield Volume(data, check_voxel_size(voxel_size, str(path)))
            return
        if header_size in SUSPICIOUS_VOXEL_SIZES_A:
            warnings.warn(f"{path}: header voxel size is {header_size:g} Å, which is usually unset; "
                          "give the true voxel size (--voxel-size, or the protocol's sampling rate)", stacklevel=3)
        yield Volume(data, header_size)


@contextlib.contextmanager
def new_mrc_memmap(path, shape, voxel_size, dtype=np.float32):
    """Create an MRC file and yield its (z, y, x) data as a writable memmap, to fill piece by piece.

    The file appears at ``path`` only when the block succeeds (header statistics updated); a failure leaves
    nothing behind.
    """
    import mrcfile
    from mrcfile.utils import mode_from_dtype

    voxel_size = check_voxel_size(voxel_size, str(path))
    with atomic_output(path) as tmp:
        with mrcfile.new_mmap(tmp, shape=tuple(int(s) for s in shape), mrc_mode=mode_from_dtype(np.dtype(dtype)),
                              overwrite=True) as mrc:
            mrc.voxel_size = voxel_size
            yield mrc.data
            set_header_stats(mrc)


def set_header_stats(mrc, slab=4):
    """The header's dmin, dmax, dmean and rms from the data, a slab of sections at a time.

    mrcfile's ``update_header_stats`` makes a float copy of the whole volume for the standard deviation
    (2.4 GB for a 1000 × 1000 × 300 label map); this keeps memory to one slab.
    """
    data = mrc.data
    if data.size == 0 or np.iscomplexobj(data):
        mrc.update_header_stats()
        return
    low, high, total, squares = np.inf, -np.inf, 0.0, 0.0
    for z0 in range(0, data.shape[0], slab):
        part = np.asarray(data[z0:z0 + slab], dtype=np.float64)
        low, high = min(low, float(part.min())), max(high, float(part.max()))
        total, squares = total + float(part.sum()), squares + float(np.square(part).sum())
    mean = total / data.size
    mrc.header.dmin, mrc.header.dmax, mrc.header.dmean = np.float32(low), np.float32(high), np.float32(mean)
    mrc.header.rms = np.float32(np.sqrt(max(squares / data.size - mean * mean, 0.0)))


# ---------------------------------------------------------------------------------------------- PLY
def write_ply(path, cloud):
    """Write a :class:`PointCloud` as binary PLY: x y z, nx ny nz (if present), then its properties."""
    from plyfile import PlyData, PlyElement

    points = np.asarray(cloud.points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError(f"{path}: points must be an (N, 3) array, got shape {points.shape}")
    n = len(points)
    columns = [("x", points[:, 0]), ("y", points[:, 1]), ("z", points[:, 2])]
    if cloud.normals is not None:
        normals = np.asarray(cloud.normals, dtype=np.float64)
        if normals.shape != points.shape:
            raise InputError(f"{path}: normals shape {normals.shape} does not match points {points.shape}")
        columns += [("nx", normals[:, 0]), ("ny", normals[:, 1]), ("nz", normals[:, 2])]
    for name, values in cloud.properties.items():
        values = np.asarray(values)
        if values.shape != (n,):
            raise InputError(f"{path}: property {name!r} must have one value per point, got shape {values.shape}")
        columns.append((name, values))
    dtype = [(name, _ply_dtype(values)) for name, values in columns]
    vertex = np.empty(n, dtype=dtype)
    for name, values in columns:
        vertex[name] = values
    with atomic_output(path) as tmp:
        PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<").write(str(tmp))


def _ply_dtype(values):
    if np.issubdtype(values.dtype, np.bool_) or np.issubdtype(values.dtype, np.integer):
        return "i4"
    return "f4" if values.dtype == np.float32 else "f8"


def read_ply(path):
    """Read a PLY point cloud (the ``vertex`` element) into a :class:`PointCloud`."""
    from plyfile import PlyData

    path = _require_file(path)
    try:
        vertex = PlyData.read(str(path))["vertex"].data
    except Exception as exc:  # plyfile raises several exception types for malformed files
        raise InputError(f"{path}: not a readable PLY point cloud ({exc})") from None
    names = vertex.dtype.names
    if not {"x", "y", "z"} <= set(names):
        raise InputError(f"{path}: PLY vertex element has no x, y, z properties")
    points = np.column_stack([vertex["x"], vertex["y"], vertex["z"]]).astype(np.float64)
    normals = None
    if {"nx", "ny", "nz"} <= set(names):
        normals = np.column_stack([vertex["nx"], vertex["ny"], vertex["nz"]]).astype(np.float64)
    for what, values in (("coordinates", points), ("normals", normals)):
        bad = 0 if values is None else int((~np.isfinite(values).all(axis=1)).sum())
        if bad:
            raise InputError(f"{path}: NaN or infinite {what} at {bad} of {len(points)} points")
    skip = {"x", "y", "z", "nx", "ny", "nz"}
    properties = {name: np.array(vertex[name]) for name in names if name not in skip}
    return PointCloud(points, normals, properties)


# ---------------------------------------------------------------------------------------------- VTP
def write_vtp(path, mesh):
    """Write a triangle :class:`Mesh` as VTK XML PolyData (binary, zlib-compressed), with pyvista.

    ``point_data['Normals']`` is stored as the mesh normals; every other array as named point data.
    """
    import pyvista

    points = np.asarray(mesh.points, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError(f"{path}: points must be an (N, 3) array, got shape {points.shape}")
    if faces.size and (faces.ndim != 2 or faces.shape[1] != 3):
        raise InputError(f"{path}: faces must be an (M, 3) array of vertex indices, got shape {faces.shape}")
    faces = faces.reshape(-1, 3)
    if faces.size and (faces.min() < 0 or faces.max() >= len(points)):
        raise InputError(f"{path}: face indices out of range 0..{len(points) - 1}")
    if len(faces):
        poly = pyvista.PolyData.from_regular_faces(points, faces)
    else:  # PolyData(points) would add a vertex cell per point
        poly = pyvista.PolyData()
        poly.points = points
    for name, values in mesh.point_data.items():
        values = np.ascontiguousarray(values)
        if len(values) != len(points):
            raise InputError(f"{path}: point-data array {name!r} has {len(values)} values for {len(points)} points")
        poly.point_data[name] = values
    poly.set_active_scalars(None)  # pyvista makes the first array added the active scalars; VTK's writer did not
    if "Normals" in mesh.point_data:
        poly.point_data.active_normals_name = "Normals"
    with atomic_output(path) as tmp:
        try:
            poly.save(tmp, binary=True)
        except (OSError, ValueError) as exc:
            raise EngineError(f"{path}: VTK could not write the mesh ({exc})") from None


def read_vtp(path):
    """Read a VTK XML PolyData triangle mesh into a :class:`Mesh` with all its point-data arrays, with pyvista."""
    import pyvista
    import vtk

    path = _require_file(path)
    if not vtk.vtkXMLPolyDataReader().CanReadFile(str(path)):  # pyvista would only print VTK's complaint
        raise InputError(f"{path}: not a VTK XML PolyData (.vtp) file")
    poly = pyvista.XMLPolyDataReader(str(path)).read()
    faces = np.zeros((0, 3), np.int64)
    if poly.n_faces:  # polygons only: vertex and line cells are ignored
        try:
            faces = poly.regular_faces.astype(np.int64)
        except ValueError:  # polygons of several sizes
            faces = np.zeros((0, 0), np.int64)
        if faces.shape[1] != 3:
            raise InputError(f"{path}: mesh has polygons that are not triangles")
    points = np.asarray(poly.points, dtype=np.float64) if poly.n_points else np.zeros((0, 3))
    bad = int((~np.isfinite(points).all(axis=1)).sum())
    if bad:
        raise InputError(f"{path}: NaN or infinite coordinates at {bad} of {len(points)} vertices")
    point_data = {name: np.array(poly.point_data[name]) for name in poly.point_data.keys()}
    return Mesh(points, faces, point_data)


# ---------------------------------------------------------------------------------------------- tables
def write_csv(path, table):
    """Write a table (a pandas DataFrame or a mapping of column name to values) as CSV without an index."""
    import pandas as pd

    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_csv(path):
    """Read a CSV table into a pandas DataFrame."""
    import pandas as pd

    path = _require_file(path)
    try:
        return pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: not a readable CSV table ({exc})") from None


def write_star(path, tables):
    """Write one table, or a mapping of block name to table, as a STAR file (RELION-style ``data_`` blocks)."""
    import pandas as pd
    import starfile

    if isinstance(tables, pd.DataFrame):
        blocks = {"": tables}
    else:
        blocks = {name: frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame)
                  for name, frame in tables.items()}
    with atomic_output(path) as tmp:
        starfile.write(blocks, tmp, overwrite=True)


def read_star(path):
    """Read a STAR file into a dict of block name to pandas DataFrame."""
    import starfile

    path = _require_file(path)
    try:
        return starfile.read(path, always_dict=True)
    except Exception as exc:  # starfile raises several exception types for malformed files
        raise InputError(f"{path}: not a readable STAR file ({exc})") from None


def mrc_stem(path):
    """File name without a ``.mrc`` extension (any case): the stem outputs are named after."""
    name = Path(path).name
    return name[:-4] if name.lower().endswith(".mrc") else name


def ensure_output_dir(path):
    """Create the output folder ``path`` if needed and check that files can be written in it.

    Raises
    ------
    EngineError
        If ``path`` is a file, cannot be created, or is not writable.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise EngineError(f"{path}: output folder is an existing file") from None
    except OSError as exc:
        raise EngineError(f"{path}: cannot create output folder ({exc.strerror})") from None
    try:
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise EngineError(f"{path}: output folder is not writable ({exc.strerror})") from None
    return path
