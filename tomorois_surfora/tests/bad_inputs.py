"""Bad input files of every kind the engine reads, for the table-driven error tests."""
import warnings

import mrcfile
import numpy as np

from tomorois_surfora.engine.io import Mesh, PointCloud, write_mrc, write_ply, write_vtp


def shell_labels(shape=(24, 32, 32), radius=8.0, thickness=3.0):
    """A small closed membrane (label 1), the good input beside the bad ones."""
    z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
    centre = np.array(shape) / 2
    distance = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
    return (np.abs(distance - radius) < thickness / 2).astype(np.int8)


def _mrc(path, data, voxel_size=10.0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mrcfile warns about the NaN it is asked to write
        with mrcfile.new(path, overwrite=True) as mrc:
            mrc.set_data(data)
            mrc.voxel_size = voxel_size
    return path


def _truncated(path):
    write_mrc(path, shell_labels(), 10.0)
    size = path.stat().st_size
    with open(path, "r+b") as stream:
        stream.truncate(size - 4000)
    return path


def volume_files(folder):
    """{kind: path} of volumes no stage can use (as a label map, a tomogram or a probability map)."""
    folder.mkdir(parents=True, exist_ok=True)
    good = shell_labels()
    nan = good.astype(np.float32)
    nan[3, 4, 5], nan[6, 7, 8] = np.nan, np.inf
    floats = good.astype(np.float32) * 0.5
    one_voxel = np.zeros_like(good)
    one_voxel[10, 10, 10] = 1
    files = {
        "missing": folder / "missing.mrc",
        "empty": folder / "empty.mrc",
        "text": folder / "text.mrc",
        "truncated": _truncated(folder / "truncated.mrc"),
        "complex": _mrc(folder / "complex.mrc", good.astype(np.complex64)),
        "stack4d": _mrc(folder / "stack4d.mrc", np.stack([good, good]).astype(np.float32)),
        "nan": _mrc(folder / "nan.mrc", nan),
        "float_labels": _mrc(folder / "float_labels.mrc", floats),
        "flat2d": _mrc(folder / "flat2d.mrc", good[12].astype(np.int8)),
        "one_voxel": _mrc(folder / "one_voxel.mrc", one_voxel),
        "all_zero": _mrc(folder / "all_zero.mrc", np.zeros_like(good)),
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("this is not an MRC file\n")
    return files


def cloud_files(folder):
    """{kind: path} of point clouds the surface stages cannot use."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(200, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True) / 10.0
    files = {"missing": folder / "missing.ply", "empty": folder / "empty.ply", "text": folder / "text.ply"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("ply\nformat nonsense\n")
    files["no_normals"] = folder / "no_normals.ply"
    write_ply(files["no_normals"], PointCloud(points, None, {"label": np.ones(len(points), dtype=np.int32)}))
    files["three_points"] = folder / "three_points.ply"
    write_ply(files["three_points"], PointCloud(points[:3], points[:3] / 10.0, {"label": np.ones(3, dtype=np.int32)}))
    files["nan_points"] = folder / "nan_points.ply"
    bad = points.copy()
    bad[5] = np.nan
    write_ply(files["nan_points"], PointCloud(bad, points / 10.0, {"label": np.ones(len(points), dtype=np.int32)}))
    return files


def mesh_files(folder):
    """{kind: path} of meshes the measurements cannot use."""
    folder.mkdir(parents=True, exist_ok=True)
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0]], dtype=float)
    normals = np.tile([0.0, 0.0, 1.0], (5, 1))
    files = {"missing": folder / "missing.vtp", "empty": folder / "empty.vtp", "text": folder / "text.vtp"}
    files["empty"].write_bytes(b"")
    files["text"].write_text("<VTKFile>not really</VTKFile>\n")
    files["no_arrays"] = folder / "no_arrays.vtp"
    write_vtp(files["no_arrays"], Mesh(square, np.array([[0, 1, 2], [0, 2, 3]]), {}))
    files["degenerate"] = folder / "degenerate.vtp"
    write_vtp(files["degenerate"], Mesh(square * 0, np.array([[0, 1, 2], [0, 2, 3]]),
                                        {"Normals": normals, "label": np.ones(5, dtype=np.int32)}))
    files["non_manifold"] = folder / "non_manifold.vtp"  # three triangles on one edge
    fan = np.array([[0, 0, 0], [1, 0, 0], [0.5, 1, 0], [0.5, -1, 0], [0.5, 0, 1]], dtype=float)
    write_vtp(files["non_manifold"], Mesh(fan, np.array([[0, 1, 2], [0, 1, 3], [0, 1, 4]]),
                                          {"Normals": normals, "label": np.ones(5, dtype=np.int32)}))
    files["no_triangles"] = folder / "no_triangles.vtp"
    write_vtp(files["no_triangles"], Mesh(square, np.zeros((0, 3), dtype=np.int64),
                                          {"Normals": normals, "label": np.ones(5, dtype=np.int32)}))
    return files
