"""Round trips of the engine's file formats, each also read back by another tool."""
import warnings

import mrcfile
import numpy as np
import pandas as pd
import pytest

from tomorois_surfora.engine import EngineError, InputError
from tomorois_surfora.engine.io import (Mesh, PointCloud, ensure_output_dir, read_csv, read_mrc, read_ply,
                                        read_star, read_vtp, write_csv, write_mrc, write_ply, write_star,
                                        write_vtp)


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.int16, np.uint16])
def test_mrc_round_trip_keeps_values_dtype_and_voxel_size(tmp_path, dtype):
    rng = np.random.default_rng(1)
    data = (rng.normal(size=(5, 6, 7)) * 50).astype(dtype)
    path = tmp_path / "vol.mrc"
    write_mrc(path, data, 13.68)
    volume, voxel_size = read_mrc(path)
    assert volume.dtype == dtype and volume.shape == (5, 6, 7)
    np.testing.assert_array_equal(volume, data)
    assert voxel_size == pytest.approx(13.68, abs=1e-4)
    assert mrcfile.validate(str(path), print_file=open("/dev/null", "w"))


def test_mrc_converts_float64_bool_and_wide_integer_labels(tmp_path):
    for data, expected in ((np.ones((2, 3, 4)), np.float32), (np.zeros((2, 3, 4), bool), np.int8),
                           (np.arange(24, dtype=np.int64).reshape(2, 3, 4) * 1000, np.int16),
                           (np.full((2, 3, 4), 40000, np.int64), np.uint16)):
        write_mrc(tmp_path / "v.mrc", data, 10)
        volume, _ = read_mrc(tmp_path / "v.mrc")
        assert volume.dtype == expected
        np.testing.assert_array_equal(volume, data)
    with pytest.raises(InputError, match="do not fit"):
        write_mrc(tmp_path / "v.mrc", np.full((2, 2, 2), 10 ** 6, np.int64), 10)


def test_mrc_suspicious_header_voxel_size_warns_and_override_wins(tmp_path):
    path = tmp_path / "vesicle.mrc"
    write_mrc(path, np.zeros((2, 2, 2), np.float32), 1.0)
    with pytest.warns(UserWarning, match="vesicle.mrc: header voxel size is 1 Å"):
        read_mrc(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_mrc(path, voxel_size=25.26).voxel_size == 25.26


def test_mrc_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.mrc: no such file"):
        read_mrc(tmp_path / "missing.mrc")
    bad = tmp_path / "bad.mrc"
    bad.write_bytes(b"not an mrc file" * 100)
    with pytest.raises(InputError, match="bad.mrc: not a readable MRC file"):
        read_mrc(bad)
    with pytest.raises(InputError, match="voxel size must be positive"):
        write_mrc(tmp_path / "v.mrc", np.zeros((2, 2, 2)), 0)
    with pytest.raises(InputError, match=r"expected a 3D \(z, y, x\) array"):
        write_mrc(tmp_path / "v.mrc", np.zeros((2, 2)), 10)
    with pytest.raises(EngineError, match="does not exist"):
        write_mrc(tmp_path / "no" / "v.mrc", np.zeros((2, 2, 2)), 10)
    assert not list(tmp_path.glob("*.part"))


def _cloud(n=50):
    rng = np.random.default_rng(2)
    normals = rng.normal(size=(n, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return PointCloud(rng.uniform(0, 200, size=(n, 3)), normals,
                      {"label": rng.integers(0, 5, n), "confidence": rng.uniform(size=n)})


def test_ply_round_trip_and_open3d_reads_it(tmp_path):
    import open3d as o3d

    cloud = _cloud()
    path = tmp_path / "cloud.ply"
    write_ply(path, cloud)
    back = read_ply(path)
    np.testing.assert_allclose(back.points, cloud.points)
    np.testing.assert_allclose(back.normals, cloud.normals)
    np.testing.assert_array_equal(back.properties["label"], cloud.properties["label"])
    np.testing.assert_allclose(back.properties["confidence"], cloud.properties["confidence"])
    other = o3d.io.read_point_cloud(str(path))
    np.testing.assert_allclose(np.asarray(other.points), cloud.points)
    np.testing.assert_allclose(np.asarray(other.normals), cloud.normals)


def test_ply_rejects_mismatched_properties(tmp_path):
    cloud = _cloud()
    cloud.properties["label"] = cloud.properties["label"][:-1]
    with pytest.raises(InputError, match="property 'label' must have one value per point"):
        write_ply(tmp_path / "c.ply", cloud)


def _mesh():
    # An octahedron: 6 vertices, 8 triangles.
    points = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float) * 10
    faces = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])
    normals = points / 10
    return Mesh(points, faces, {"Normals": normals, "label": np.arange(6, dtype=np.int32),
                                "mean_curvature": np.full(6, 0.1)})


def test_vtp_round_trip_and_pyvista_reads_named_arrays(tmp_path):
    import pyvista as pv

    mesh = _mesh()
    path = tmp_path / "mesh.vtp"
    write_vtp(path, mesh)
    back = read_vtp(path)
    np.testing.assert_allclose(back.points, mesh.points)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    for name, values in mesh.point_data.items():
        np.testing.assert_allclose(back.point_data[name], values)
    other = pv.read(str(path))
    assert other.n_points == 6 and other.n_cells == 8
    np.testing.assert_allclose(other.point_data["mean_curvature"], 0.1)
    np.testing.assert_allclose(other.point_data["Normals"], mesh.point_data["Normals"])


def test_vtp_rejects_bad_faces_and_non_vtp_files(tmp_path):
    mesh = _mesh()
    mesh.faces = mesh.faces + 10
    with pytest.raises(InputError, match="face indices out of range"):
        write_vtp(tmp_path / "m.vtp", mesh)
    fake = tmp_path / "fake.vtp"
    fake.write_text("hello")
    with pytest.raises(InputError, match="fake.vtp: not a VTK XML PolyData"):
        read_vtp(fake)
    import pyvista

    corners = np.eye(3).tolist() + [[1.0, 1.0, 0.0]]
    pyvista.PolyData(np.array(corners), faces=[4, 0, 1, 3, 2]).save(tmp_path / "quad.vtp")
    with pytest.raises(InputError, match="quad.vtp: mesh has polygons that are not triangles"):
        read_vtp(tmp_path / "quad.vtp")
    write_vtp(tmp_path / "points.vtp", Mesh(np.array(corners), np.zeros((0, 3), int)))
    assert read_vtp(tmp_path / "points.vtp").faces.shape == (0, 3), "points alone: no faces, not vertex cells"


def test_csv_round_trip(tmp_path):
    table = {"roi": [1, 2, 3], "distance_nm": [12.5, 20.0, 31.25], "tsId": ["a", "b", "c"]}
    write_csv(tmp_path / "t.csv", table)
    back = read_csv(tmp_path / "t.csv")
    pd.testing.assert_frame_equal(back, pd.DataFrame(table))


def test_star_round_trip_and_scipion_emtable_reads_it(tmp_path):
    from emtable import Table

    particles = pd.DataFrame({"rlnCoordinateX": [10.0, 20.0], "rlnCoordinateY": [1.5, 2.5],
                              "rlnCoordinateZ": [3.0, 4.0], "rlnTomoName": ["contacts_000", "contacts_001"]})
    path = tmp_path / "points.star"
    write_star(path, {"particles": particles})
    back = read_star(path)
    pd.testing.assert_frame_equal(back["particles"], particles)
    table = Table(fileName=str(path), tableName="particles")
    assert [row.rlnCoordinateX for row in table] == [10.0, 20.0]
    assert [row.rlnTomoName for row in table] == ["contacts_000", "contacts_001"]


def test_output_folder_errors(tmp_path):
    file_path = tmp_path / "a_file"
    file_path.write_text("x")
    with pytest.raises(EngineError, match="a_file: output folder is an existing file"):
        ensure_output_dir(file_path)
    with pytest.raises(EngineError, match="cannot create output folder"):
        ensure_output_dir(file_path / "sub")
    assert ensure_output_dir(tmp_path / "new" / "deep").is_dir()


def test_pre_2014_mrc_headers_are_read_with_a_warning(tmp_path):
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    write_mrc(tmp_path / "old.mrc", data, 13.68)
    raw = bytearray((tmp_path / "old.mrc").read_bytes())
    assert raw[208:212] == b"MAP "
    raw[208:212] = b"\0\0\0\0"  # older tools wrote no MAP stamp (PyCurv's files, for one)
    (tmp_path / "old.mrc").write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match="old.mrc: not a standard MRC2014 header"):
        volume, voxel_size = read_mrc(tmp_path / "old.mrc")
    assert np.array_equal(volume, data) and voxel_size == pytest.approx(13.68, abs=1e-3)


def test_memmap_header_statistics_match_mrcfile(tmp_path):
    """new_mrc_memmap computes dmin/dmax/dmean/rms a slab at a time; mrcfile's own values are the reference."""
    from tomorois_surfora.engine.io import new_mrc_memmap

    data = np.random.default_rng(3).normal(2.0, 3.0, size=(37, 20, 24)).astype(np.float32)
    with new_mrc_memmap(tmp_path / "a.mrc", data.shape, 10.0) as out:
        out[:] = data
    with mrcfile.new(tmp_path / "b.mrc") as reference:
        reference.set_data(data)
        reference.update_header_stats()
        expected = [float(reference.header[k]) for k in ("dmin", "dmax", "dmean", "rms")]
    with mrcfile.open(tmp_path / "a.mrc") as written:
        got = [float(written.header[k]) for k in ("dmin", "dmax", "dmean", "rms")]
    assert got == pytest.approx(expected, rel=1e-5)
