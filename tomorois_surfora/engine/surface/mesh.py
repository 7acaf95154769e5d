"""Gap-aware triangle meshes of oriented surface point clouds (SurfORA S3d).

Ball pivoting (Open3D) runs over several radii derived from the point spacing. Wherever the ball is wider
than the space between two membranes it bridges them. A bridge has edges that leave the membrane support
(the mask, trilinearly interpolated, falls below a threshold somewhere along them) *and* run across the
surface (steeply against the normals at their ends, or between ends whose normals disagree). An edge that
leaves the support while running along the surface spans a hole or a staircase notch of a thin mask and is
kept: testing the support alone cut real segmentations to pieces. Faces with a bridging edge are removed,
then faces left without any edge neighbour; finally the small holes pivoting left are closed
(:mod:`.holes`).
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ..errors import InputError, raise_problems
from ..triangles import mesh_edges, triangle_areas
from .holes import fill_small_holes
from .occupancy import edges_leaving


@dataclass
class MeshParameters:
    """Meshing settings.

    radius_factors : ball radii as multiples of the median point spacing, scanned in order.
    occupancy : a point where the trilinearly interpolated support is below this is outside it.
    across_cosine : an edge runs across the surface when |cos| between it and a normal at its ends is at
        least this, or when the normals at its ends have a cosine below it.
    max_hole_edges : boundary loops of at most this many edges are closed (0: no hole filling).
    smoothing_steps, smoothing_lambda : damped Laplacian smoothing with fixed boundary vertices (0: off).
    """

    radius_factors: Tuple[float, ...] = (1.0, 1.5, 2.0, 3.0)
    occupancy: float = 0.25
    across_cosine: float = 0.5
    max_hole_edges: int = 40
    smoothing_steps: int = 0
    smoothing_lambda: float = 0.3

    def problems(self):
        found = []
        if not self.radius_factors or min(self.radius_factors) <= 0:
            found.append(f"radius_factors must be positive, got {self.radius_factors}")
        if not 0 < self.occupancy < 1:
            found.append(f"occupancy must be in (0, 1), got {self.occupancy}")
        if not 0 < self.across_cosine < 1:
            found.append(f"across_cosine must be in (0, 1), got {self.across_cosine}")
        if self.max_hole_edges < 0:
            found.append(f"max_hole_edges must be ≥ 0, got {self.max_hole_edges}")
        if self.smoothing_steps < 0 or not 0 < self.smoothing_lambda <= 1:
            found.append("smoothing needs steps ≥ 0 and 0 < lambda ≤ 1")
        return found


def point_spacing(points):
    """Median distance from a point to its nearest neighbour (nm)."""
    return float(np.median(cKDTree(points).query(points, k=2, workers=-1)[0][:, 1]))


def ball_pivot(points, normals, radii):
    """Ball-pivoting faces (m, 3) over the given radii (Open3D); vertices are the input points."""
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64)))
    cloud.normals = o3d.utility.Vector3dVector(np.asarray(normals, dtype=np.float64))
    mesh = o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(cloud, o3d.utility.DoubleVector(radii))
    faces = np.asarray(mesh.triangles, dtype=np.int64).reshape(-1, 3)
    if len(mesh.vertices) != len(points):  # Open3D keeps the input points as vertices, in order
        raise RuntimeError("ball pivoting changed the vertex list")
    return faces


def support_from_cloud(points, voxel_size_nm):
    """A support volume made from the cloud itself: its voxels, dilated once. Returns (mask, origin_nm)."""
    origin = points.min(axis=0) - 2 * voxel_size_nm
    index = np.rint((points - origin) / voxel_size_nm).astype(int)
    shape = index.max(axis=0) + 3
    mask = np.zeros(shape[::-1], dtype=bool)
    mask[index[:, 2], index[:, 1], index[:, 0]] = True
    return ndimage.binary_dilation(mask), origin


def bridging_edges(points, normals, edges, support, voxel_size_nm, params):
    """Per edge (e, 2): does it cross a gap between membranes (see the module docstring)?"""
    mask, origin = support
    if len(edges) == 0:
        return np.zeros(0, dtype=bool)
    leaving = edges_leaving(np.ascontiguousarray(mask, dtype=bool), np.asarray(origin, dtype=np.float64),
                            float(voxel_size_nm), points, edges, params.occupancy)
    a, b = edges[:, 0], edges[:, 1]
    direction = points[b] - points[a]
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    steep = np.maximum(np.abs(np.einsum("ij,ij->i", direction, normals[a])),
                       np.abs(np.einsum("ij,ij->i", direction, normals[b])))
    disagree = np.einsum("ij,ij->i", normals[a], normals[b]) < params.across_cosine
    return leaving & ((steep >= params.across_cosine) | disagree)


def drop_isolated_faces(faces):
    """Faces sharing no edge with another face are removed."""
    if len(faces) == 0:
        return faces
    _, counts, face_edges = mesh_edges(faces)
    return faces[(counts[face_edges] > 1).any(axis=1)]


def smooth_fixed_boundary(points, faces, steps, lam):
    """Damped Laplacian smoothing; vertices on boundary edges (used by one face) do not move."""
    points = points.copy()
    if steps == 0 or len(faces) == 0:
        return points
    edges, counts, _ = mesh_edges(faces)
    fixed = np.zeros(len(points), dtype=bool)
    fixed[edges[counts == 1].ravel()] = True
    used = np.zeros(len(points), dtype=bool)
    used[faces.ravel()] = True
    movable = used & ~fixed
    i, j = np.concatenate([edges[:, 0], edges[:, 1]]), np.concatenate([edges[:, 1], edges[:, 0]])
    degree = np.bincount(i, minlength=len(points)).astype(float)
    for _ in range(steps):
        total = np.zeros_like(points)
        np.add.at(total, i, points[j])
        mean = total / np.maximum(degree, 1)[:, None]
        points[movable] += lam * (mean[movable] - points[movable])
    return points


def mesh_cloud(points, normals, params=None, support=None, voxel_size_nm=None, source="cloud"):
    """Gap-aware ball-pivoting mesh of an oriented point cloud.

    Parameters
    ----------
    points, normals : ndarray (n, 3), nm; normals oriented (ball pivoting needs consistent normals)
    params : MeshParameters
    support : (mask (z, y, x) of bool, origin_nm (x, y, z)), optional
        The membrane mask the cloud came from; without it the support is the cloud's own voxels.
    voxel_size_nm : float, optional
        The support's voxel size (default: the point spacing).

    Returns
    -------
    points : ndarray (n, 3)
        The vertices (the input points, smoothed if asked).
    faces : ndarray (m, 3)
    info : dict
        Radii, triangles before and after the gap filter and the isolated-face removal.
    """
    params = params or MeshParameters()
    raise_problems([f"{source}: {p}" for p in params.problems()])
    points = np.asarray(points, dtype=np.float64)
    if normals is None:
        raise InputError(f"{source}: ball pivoting needs oriented normals; run `surface orient` first")
    if len(points) < 3:
        raise InputError(f"{source}: {len(points)} points, a mesh needs at least 3")
    spacing = point_spacing(points)
    radii = [f * spacing for f in params.radius_factors]
    normals = np.asarray(normals, dtype=np.float64)
    faces = ball_pivot(points, normals, radii)
    info = {"spacing_nm": spacing, "radii_nm": radii, "ball_pivoting_faces": int(len(faces))}
    voxel_size = voxel_size_nm or spacing
    support = support if support is not None else support_from_cloud(points, voxel_size)
    if len(faces):
        edges, _, face_edges = mesh_edges(faces)
        bridging = bridging_edges(points, normals, edges, support, voxel_size, params)[face_edges].any(axis=1)
    else:
        bridging = np.zeros(0, dtype=bool)
    faces = drop_isolated_faces(faces[~bridging])
    info["gap_faces_removed"] = int(bridging.sum())

    def crosses_no_gap(triangles, loop_normal):
        # judged against the loop's mean normal: single point normals on a rough mask can tilt a lot
        edges = mesh_edges(triangles)[0]
        flat = np.broadcast_to(loop_normal, points.shape)
        return not bridging_edges(points, flat, edges, support, voxel_size, params).any()
    faces, info["holes_filled"] = fill_small_holes(points, normals, faces, params.max_hole_edges, crosses_no_gap)
    info["faces"] = int(len(faces))
    if len(faces) == 0:
        raise InputError(f"{source}: no triangle survived ball pivoting and the gap filter")
    points = smooth_fixed_boundary(points, faces, params.smoothing_steps, params.smoothing_lambda)
    info["area_nm2"] = float(triangle_areas(points, faces).sum())
    return points, faces, info
