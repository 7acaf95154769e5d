"""Gap-aware triangle meshes of oriented surface point clouds (SurfORA S3d).

Ball pivoting (Open3D) runs over several radii derived from the point spacing. Wherever the ball is wider
than the space between two membranes it bridges them, so every triangle is tested against the *gap
voxels* in its bounding box: voxels outside the membrane support, shrunk by a margin so that a surface
running along the support's boundary does not touch them. A triangle that overlaps one (separating-axis
triangle–box test) is removed, as are the faces left without any edge neighbour.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numba
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ..errors import InputError, raise_problems
from ..triangles import mesh_edges, triangle_areas


@dataclass
class MeshParameters:
    """Meshing settings.

    radius_factors : ball radii as multiples of the median point spacing, scanned in order.
    gap_nm : background voxels at least this far from the support are gap (default: one voxel, i.e.
        every background voxel).
    box_margin : gap boxes shrink by this fraction of a voxel on each side.
    smoothing_steps, smoothing_lambda : damped Laplacian smoothing with fixed boundary vertices (0: off).
    """

    radius_factors: Tuple[float, ...] = (1.0, 1.5, 2.0, 3.0)
    gap_nm: Optional[float] = None
    box_margin: float = 0.25
    smoothing_steps: int = 0
    smoothing_lambda: float = 0.3

    def problems(self):
        found = []
        if not self.radius_factors or min(self.radius_factors) <= 0:
            found.append(f"radius_factors must be positive, got {self.radius_factors}")
        if not 0 <= self.box_margin < 0.5:
            found.append(f"box_margin must be in [0, 0.5), got {self.box_margin}")
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


def gap_voxels(support, voxel_size_nm, gap_nm=None):
    """Background voxels at least ``gap_nm`` (default one voxel) from the support."""
    distance = ndimage.distance_transform_edt(~support, sampling=voxel_size_nm)
    return distance >= (gap_nm or voxel_size_nm) - 1e-9


@numba.njit(cache=True)
def _axis_separates(axis, v0, v1, v2, half):
    p0 = axis[0] * v0[0] + axis[1] * v0[1] + axis[2] * v0[2]
    p1 = axis[0] * v1[0] + axis[1] * v1[1] + axis[2] * v1[2]
    p2 = axis[0] * v2[0] + axis[1] * v2[1] + axis[2] * v2[2]
    r = half * (abs(axis[0]) + abs(axis[1]) + abs(axis[2]))
    return min(p0, p1, p2) > r or max(p0, p1, p2) < -r


@numba.njit(cache=True)
def triangle_overlaps_cube(v0, v1, v2, half):  # pragma: no cover (compiled)
    """Separating-axis test (Akenine-Möller) of a triangle against the cube [-half, half]³ at the origin."""
    e = (v1 - v0, v2 - v1, v0 - v2)
    unit = np.eye(3)
    for i in range(3):
        for j in range(3):
            if _axis_separates(np.cross(unit[i], e[j]), v0, v1, v2, half):
                return False
    for i in range(3):
        if min(v0[i], v1[i], v2[i]) > half or max(v0[i], v1[i], v2[i]) < -half:
            return False
    return not _axis_separates(np.cross(e[0], e[1]), v0, v1, v2, half)


@numba.njit(cache=True)
def faces_touching(gap, origin, voxel_size, points, faces, half):  # pragma: no cover (compiled)
    """Per face: does it overlap a (shrunk) gap voxel? Points in nm, x y z; gap indexed (z, y, x)."""
    nz, ny, nx = gap.shape
    out = np.zeros(len(faces), dtype=np.bool_)
    for f in range(len(faces)):
        corners = np.empty((3, 3))
        low = np.empty(3, dtype=np.int64)
        high = np.empty(3, dtype=np.int64)
        for c in range(3):
            corners[c] = (points[faces[f, c]] - origin) / voxel_size
        for a in range(3):
            low[a] = int(np.floor(min(corners[0, a], corners[1, a], corners[2, a]) - half))
            high[a] = int(np.ceil(max(corners[0, a], corners[1, a], corners[2, a]) + half))
        for z in range(max(low[2], 0), min(high[2], nz - 1) + 1):
            for y in range(max(low[1], 0), min(high[1], ny - 1) + 1):
                for x in range(max(low[0], 0), min(high[0], nx - 1) + 1):
                    if not gap[z, y, x]:
                        continue
                    centre = np.array([x, y, z], dtype=np.float64)
                    if triangle_overlaps_cube(corners[0] - centre, corners[1] - centre, corners[2] - centre, half):
                        out[f] = True
                        break
                if out[f]:
                    break
            if out[f]:
                break
    return out


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
    faces = ball_pivot(points, normals, radii)
    info = {"spacing_nm": spacing, "radii_nm": radii, "ball_pivoting_faces": int(len(faces))}
    voxel_size = voxel_size_nm or spacing
    mask, origin = support if support is not None else support_from_cloud(points, voxel_size)
    gap = gap_voxels(np.asarray(mask, dtype=bool), voxel_size, params.gap_nm)
    bridging = faces_touching(gap, np.asarray(origin, dtype=np.float64), float(voxel_size), points, faces,
                              0.5 - params.box_margin) if len(faces) else np.zeros(0, dtype=bool)
    faces = drop_isolated_faces(faces[~bridging])
    info.update(gap_faces_removed=int(bridging.sum()), faces=int(len(faces)))
    if len(faces) == 0:
        raise InputError(f"{source}: no triangle survived ball pivoting and the gap filter")
    points = smooth_fixed_boundary(points, faces, params.smoothing_steps, params.smoothing_lambda)
    info["area_nm2"] = float(triangle_areas(points, faces).sum())
    return points, faces, info
