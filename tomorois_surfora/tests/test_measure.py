"""SurfORA measurements on meshes: geodesic balls, curvature signs and values, roughness, area, exports."""
import numpy as np
import open3d as o3d
import pytest
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import Delaunay

from tomorois_surfora.engine.errors import InputError
from tomorois_surfora.engine.measure import geodesic
from tomorois_surfora.engine.measure.curvature import CurvatureParameters, mesh_curvature
from tomorois_surfora.engine.measure.export import normal_angles
from tomorois_surfora.engine.measure.roughness import label_areas, mesh_roughness, roughness_summary


def sphere_mesh(radius=20.0, resolution=60):
    mesh = o3d.geometry.TriangleMesh.create_sphere(radius=radius, resolution=resolution)
    points = np.asarray(mesh.vertices)
    return points, np.asarray(mesh.triangles), points / np.linalg.norm(points, axis=1, keepdims=True)


def cylinder_mesh(radius=10.0, length=60.0, spacing=0.7):
    """An open tube along z: a triangulated (angle, height) grid, normals outward."""
    angles = np.arange(0, 2 * np.pi, spacing / radius)
    heights = np.arange(0, length + 1e-9, spacing)
    a, h = (g.ravel() for g in np.meshgrid(angles, heights, indexing="ij"))
    n_a, n_h = len(angles), len(heights)
    faces = []
    for i in range(n_a):
        for j in range(n_h - 1):
            p, q = i * n_h + j, ((i + 1) % n_a) * n_h + j
            faces += [(p, q, p + 1), (q, q + 1, p + 1)]
    normals = np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], axis=1)
    return np.c_[radius * normals[:, :2], h], np.array(faces), normals


def test_geodesic_ball_matches_scipy_dijkstra():
    points, faces, _ = sphere_mesh(10.0, 20)
    points = points + np.random.default_rng(3).normal(0, 0.3, points.shape)  # uneven edges: fronts can overtake
    graph = geodesic.mesh_graph(points, faces)
    indptr, indices, lengths = graph
    matrix = sparse.csr_matrix((lengths, indices, indptr), shape=(len(points),) * 2)
    workspace = geodesic.new_workspace(len(points), len(indices))
    dist, in_queue, _, ball, ball_d = workspace
    for source in range(0, len(points), 7):
        for radius in (1.0, 4.0, 9.0):
            reference = dijkstra(matrix, indices=[source], limit=radius)[0]
            count = geodesic.geodesic_ball(source, radius, indptr, indices, lengths, *workspace)
            assert sorted(ball[:count]) == list(np.flatnonzero(np.isfinite(reference)))
            assert np.allclose(ball_d[:count], reference[ball[:count]], rtol=0, atol=1e-12)
            assert np.all(np.isinf(dist)) and not in_queue.any(), "the workspace is clean for the next source"


def test_balls_kept_between_passes_give_the_same_curvature_and_roughness(monkeypatch):
    points, faces, outward = sphere_mesh(20.0)
    points = points + np.random.default_rng(4).normal(0, 0.2, points.shape)
    results = []
    for store_bytes in (0, 12 * 2000, geodesic.BALL_STORE_BYTES):  # none kept, some kept, all kept
        monkeypatch.setattr(geodesic, "BALL_STORE_BYTES", store_bytes)
        values, _ = mesh_curvature(points, faces, outward)
        results.append((values["mean_curvature"], values["k1"], mesh_roughness(points, faces, outward, 6.0)))
    for other in results[1:]:
        for expected, got in zip(results[0], other):
            assert np.array_equal(np.isnan(expected), np.isnan(got))
            assert np.allclose(expected, got, rtol=0, atol=1e-12, equal_nan=True)


def test_sphere_curvature_value_and_sign_follow_the_normals():
    points, faces, outward = sphere_mesh(20.0)
    values, info = mesh_curvature(points, faces, outward)
    assert np.isfinite(values["mean_curvature"]).all() and info["without_value"] == 0
    # a UV sphere: uneven triangles near the poles cost a few per cent there
    assert np.allclose(values["mean_curvature"], 1 / 20, rtol=0.03), "outward normals: H = +1/R"
    assert abs(np.median(values["mean_curvature"]) * 20 - 1) < 0.005
    assert np.allclose(values["gaussian_curvature"], 1 / 400, rtol=0.06)
    assert np.allclose(values["k1"], values["k2"], atol=2e-3)
    assert np.all((values["curvature_confidence"] > 0) & (values["curvature_confidence"] <= 1))
    inward, _ = mesh_curvature(points, faces, -outward)
    assert np.allclose(inward["mean_curvature"], -values["mean_curvature"]), "inward normals flip H"
    assert np.allclose(inward["gaussian_curvature"], values["gaussian_curvature"])


def test_cylinder_curvature_and_open_edges_excluded():
    points, faces, normals = cylinder_mesh()
    values, info = mesh_curvature(points, faces, normals, CurvatureParameters(radii_nm=(3.0, 4.0, 5.0)))
    H = values["mean_curvature"]
    near_edge = (points[:, 2] < 2.9) | (points[:, 2] > 60 - 2.9)
    assert np.isnan(H[near_edge]).all(), "balls may not reach past the open ends"
    assert np.isfinite(H[(points[:, 2] > 6) & (points[:, 2] < 54)]).all()
    assert abs(np.nanmedian(H) - 1 / 20) < 0.02 / 20
    assert np.nanmax(np.abs(values["gaussian_curvature"])) < 1e-3
    assert np.allclose(values["k1"][np.isfinite(H)], 0.1, rtol=0.03) and np.nanmax(np.abs(values["k2"])) < 3e-3
    assert info["without_value"] == int(np.isnan(H).sum())


def test_stability_picks_the_first_agreeing_radius():
    points, faces, normals = sphere_mesh(20.0)
    values, info = mesh_curvature(points, faces, normals, CurvatureParameters(radii_nm=(3.0, 4.0, 6.0),
                                                                          noise_factor=0.0))
    assert info["chosen_per_radius"][0] == 0, "the smallest radius has no predecessor to agree with"
    assert info["chosen_per_radius"][1] == len(points), "a clean sphere agrees at the second radius"
    assert np.all(values["curvature_radius_nm"] == 4.0)


def test_a_voxel_staircase_waits_for_a_precise_scale():
    """Marching cubes of a binary ball (a segmented vesicle's surface): neighbouring small scales agree by
    chance on the staircase; requiring two standard errors within the tolerance picks larger balls."""
    from skimage.measure import marching_cubes

    from tomorois_surfora.engine.surface.geometry import estimate_normals
    from tomorois_surfora.engine.surface.orient import orient_normals

    z, y, x = np.mgrid[:32, :32, :32]
    centre = np.array([15.3, 15.6, 15.2])
    ball = ((x - centre[2]) ** 2 + (y - centre[1]) ** 2 + (z - centre[0]) ** 2 <= 12.0 ** 2).astype(np.float32)
    vertices, faces, _, _ = marching_cubes(ball, 0.5)
    points = np.ascontiguousarray(vertices[:, ::-1], dtype=np.float64)
    normals, _ = orient_normals(points, estimate_normals(points)[0])  # outward by default
    errors = {}
    for factor in (0.0, 2.0):
        values, _ = mesh_curvature(points, faces, normals, CurvatureParameters(noise_factor=factor))
        errors[factor] = np.mean(np.abs(values["mean_curvature"] * 12.0 - 1.0))
    assert errors[2.0] < 0.015 and errors[2.0] < 0.8 * errors[0.0], errors


def test_curvature_bad_inputs_are_named():
    points, faces, normals = sphere_mesh(10.0, 20)
    with pytest.raises(InputError, match="no 'Normals'"):
        mesh_curvature(points, faces, None, source="a.vtp")
    with pytest.raises(InputError, match="a.vtp: the mesh is empty"):
        mesh_curvature(points, np.zeros((0, 3), int), normals, source="a.vtp")
    with pytest.raises(InputError, match="below the point spacing"):
        mesh_curvature(points, faces, normals, CurvatureParameters(radii_nm=(0.1, 2.0)))
    with pytest.raises(InputError, match="ascending"):
        mesh_curvature(points, faces, normals, CurvatureParameters(radii_nm=(4.0, 2.0)))


def test_roughness_sees_short_bumps_not_long_bends():
    grid = np.arange(-20, 20.01, 0.5)
    xx, yy = (g.ravel() for g in np.meshgrid(grid, grid))
    faces = Delaunay(np.c_[xx, yy]).simplices
    normals = np.tile([0.0, 0.0, 1.0], (len(xx), 1))
    inner = (np.abs(xx) < 12) & (np.abs(yy) < 12)
    short = mesh_roughness(np.c_[xx, yy, 0.5 * np.sin(2 * np.pi * xx / 4)], faces, normals, 5.0)
    long = mesh_roughness(np.c_[xx, yy, 0.5 * np.sin(2 * np.pi * xx / 60)], faces, normals, 5.0)
    assert 0.25 < roughness_summary(short[inner])["Rq_nm"] < 0.36   # the bumps' own RMS is 0.354 nm
    assert roughness_summary(long[inner])["Rq_nm"] < 0.01
    with pytest.raises(InputError, match="twice the point spacing"):
        mesh_roughness(np.c_[xx, yy, 0 * xx], faces, normals, 0.6)


def test_label_areas_split_a_mesh_by_label():
    points, faces, _ = sphere_mesh(10.0, 40)
    labels = (points[:, 2] > 0).astype(int)
    areas = label_areas(points, faces, labels)
    assert set(areas) == {0, 1} and abs(sum(areas.values()) / (4 * np.pi * 100) - 1) < 0.01


def test_normal_angles_rotate_z_onto_the_normal():
    normals = np.random.default_rng(1).normal(size=(50, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    rot, tilt, psi = np.radians(normal_angles(normals))
    rotated = np.stack([np.cos(rot) * np.sin(tilt), np.sin(rot) * np.sin(tilt), np.cos(tilt)], axis=1)
    assert np.allclose(rotated, normals) and np.all(psi == 0)


def test_ranked_distance_plot_makes_room_for_long_contact_names(tmp_path):
    import warnings

    from tomorois_surfora.engine.measure.export import plot_ranked_distances

    rows = [{"name": "contacts_003_membranes_roi1_medial_oriented_mesh 1→2", "mean": 20.0, "std": 3.0}]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Tight layout not applied")  # it reached users as a warning line
        plot_ranked_distances(rows, tmp_path / "ranked.png")
    assert (tmp_path / "ranked.png").stat().st_size > 1000
