"""SurfORA on segmentation-like masks: thin, rough, staircase; stray points, specks, holes, curvature coverage."""
import numpy as np
import pytest
from scipy.spatial import cKDTree

from tomorois_surfora.engine.measure.curvature import mesh_curvature
from tomorois_surfora.engine.measure.geodesic import boundary_vertices, vertex_areas
from tomorois_surfora.engine.surface.holes import boundary_loops, fill_small_holes
from tomorois_surfora.engine.surface.medial import medial_surface, voxel_centres_nm
from tomorois_surfora.engine.surface.pipeline import crop_to_mesh
from tomorois_surfora.engine.synth import shapes
from tomorois_surfora.engine.triangles import mesh_edges


def grid_mesh(n=10, wrap=False):
    """An n × n grid in the z = 0 plane (or rolled into a tube along z with ``wrap``), faces toward +z (out)."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    if wrap:
        angle = 2 * np.pi * i / n
        points = np.stack([3 * np.cos(angle), 3 * np.sin(angle), j], axis=-1).reshape(-1, 3).astype(float)
        normals = np.stack([np.cos(angle), np.sin(angle), 0 * angle], axis=-1).reshape(-1, 3)
    else:
        points = np.stack([i, j, 0 * i], axis=-1).reshape(-1, 3).astype(float)
        normals = np.tile([0.0, 0.0, 1.0], (n * n, 1))
    faces = []
    rows = n if wrap else n - 1
    for a in range(rows):
        for b in range(n - 1):
            v00, v10, v01, v11 = a * n + b, ((a + 1) % n) * n + b, a * n + b + 1, ((a + 1) % n) * n + b + 1
            faces += [(v00, v10, v11), (v00, v11, v01)]
    return points, normals, np.array(faces)


def open_edges(faces):
    edges, counts, _ = mesh_edges(faces)
    return edges[counts == 1], int((counts > 2).sum())


def test_a_hole_is_closed_and_the_rim_is_not():
    points, normals, faces = grid_mesh()
    centre = 4 * 10 + 4
    holed = faces[~(faces == centre).any(axis=1)]
    loops = boundary_loops(holed, len(points))
    assert sorted(len(loop) for loop in loops) == [6, 36], "the pin-hole and the rim"
    filled, count = fill_small_holes(points, normals, holed, max_edges=40)
    assert count == 1, "only the hole: the rim winds the other way"
    rim, non_manifold = open_edges(filled)
    assert len(rim) == 36 and non_manifold == 0
    new = filled[len(holed):]
    cross = np.cross(points[new[:, 1]] - points[new[:, 0]], points[new[:, 2]] - points[new[:, 0]])
    assert np.all(cross[:, 2] > 0), "the new triangles face the way of the normals"


def test_the_open_ends_of_a_tube_are_not_capped():
    points, normals, faces = grid_mesh(wrap=True)
    filled, count = fill_small_holes(points, normals, faces, max_edges=40)
    assert count == 0 and len(filled) == len(faces)


def test_two_holes_touching_at_a_vertex_are_both_closed():
    points, normals, faces = grid_mesh()
    pinch = (faces == 33).any(axis=1) & (faces == 44).any(axis=1) | (faces == 55).any(axis=1) & (faces == 44).any(1)
    holed = faces[~pinch]
    filled, count = fill_small_holes(points, normals, holed, max_edges=40)
    assert count == 2 and len(open_edges(filled)[0]) == 36


def test_small_holes_do_not_count_as_boundary_for_curvature_balls():
    points, _, faces = grid_mesh()
    around = (faces == 44).any(axis=1)
    ring = np.setdiff1d(faces[around], [44])
    holed = faces[~around]
    strict, _ = boundary_vertices(holed, len(points))
    lenient, _ = boundary_vertices(holed, len(points), small_hole_edges=20)
    assert strict[ring].all() and not lenient[ring].any()
    assert lenient[[0, 9, 90, 99]].all(), "the rim still counts"


def rough_vesicle_mask(seed):
    """A thin (1.5 voxel) rough vesicle mask at 2 nm voxels, and its origin; seeds and size are not the
    benchmark's."""
    return shapes.sphere(18.0, 3.0).rough_mask(2.0, 0.7, seed=seed)


@pytest.fixture(scope="module")
def rough_vesicle():
    return rough_vesicle_mask(101)


def test_medial_points_never_leave_a_rough_thin_mask(rough_vesicle):
    mask, origin = rough_vesicle
    points, _, info = medial_surface(mask, 2.0, origin_nm=origin)
    distance = cKDTree(voxel_centres_nm(mask, 2.0, origin)).query(points)[0]
    assert distance.max() <= 2.0 + 1e-9, info


def test_medial_specks_are_dropped():
    mask = np.zeros((30, 30, 30), dtype=bool)
    mask[10:12, 3:27, 3:27] = True  # a two-voxel sheet
    mask[22:24, 5:7, 5:7] = True  # a 2 × 2 × 2 blob far from it
    points, _, info = medial_surface(mask, 1.5)
    assert np.all(points[:, 2] < 15 * 1.5), info
    assert info["points"] > 200


def test_chain_on_rough_thin_vesicles_closes_the_mesh_and_measures_everywhere():
    """Four seeds of a thin rough vesicle (not the benchmark's): a mesh hole left open is a loop of 6–12
    vertices, 1–2% of these ~630-vertex meshes, so one seed's boundary share is noisy; the mean is not."""
    shares = []
    for seed in (101, 102, 103, 104):
        mask, origin = rough_vesicle_mask(seed)
        points, normals, _, faces, info = crop_to_mesh(mask.astype(np.int8), 2.0, origin_nm=origin,
                                                       convention="outward")
        edges, counts, _ = mesh_edges(faces)
        on_boundary = np.zeros(len(points), dtype=bool)
        on_boundary[edges[counts == 1].ravel()] = True
        shares.append(on_boundary.mean())
        assert on_boundary.mean() < 0.06, (seed, info["mesh"])
        values, _ = mesh_curvature(points, faces, normals)
        K, H = values["gaussian_curvature"], values["mean_curvature"]
        valued = np.isfinite(K)
        assert valued.mean() >= 0.9, seed
        areas = vertex_areas(points, faces)
        integral = np.sum(K[valued] * areas[valued]) * areas.sum() / areas[valued].sum()
        assert integral == pytest.approx(4 * np.pi, rel=0.1), f"Gauss–Bonnet on a closed vesicle, seed {seed}"
        assert np.nanmedian(H) == pytest.approx(1 / 18.0, rel=0.1), seed
    assert np.mean(shares) < 0.03, shares
