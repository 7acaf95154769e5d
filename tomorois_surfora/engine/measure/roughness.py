"""Surface roughness and area of membrane meshes (SurfORA S3g).

Roughness at a scale r is each vertex's signed offset (nm) from a smooth quadratic surface fitted by
weighted least squares to its geodesic ball of radius r, in the frame of the ball's mean normal:
h = a u² + 2b uv + c v² + d u + e v + f, offset = −f (the vertex sits at h = 0). Bumps narrower than r
show up as offsets; bending at scales above r is absorbed by the fit. Per-label summaries give Ra (mean
|offset|) and Rq (RMS offset), the usual profile-roughness figures.
"""
import numpy as np

from ..errors import InputError
from . import geodesic
from ..parallel import blocks, numba
from ..triangles import vertex_normals
from .curvature import _tangent_basis
from ..surface.geometry import QUADRATIC_MOMENTS, add_quadratic_moments, solve_quadratic

MIN_FIT_VERTICES = 10


@numba.njit(parallel=True, cache=True)
def height_offsets(points, normals, radius, vertices, indptr, indices, lengths, bounds, store_vertices,
                   store_distances, store_start, store_size):  # pragma: no cover
    """Signed offset of each of ``vertices`` from the quadratic fit to its geodesic ball (NaN: too few); balls
    kept in the store are read from it."""
    out = np.full(len(vertices), np.nan)
    inverse_radius = 1.0 / radius
    for b in numba.prange(len(bounds) - 1):
        dist, keys, values, ball, ball_d = geodesic.new_workspace(len(points), len(indices))
        for v in range(bounds[b], bounds[b + 1]):
            i = vertices[v]
            size = geodesic.stored_or_new_ball(i, radius, indptr, indices, lengths, dist, keys, values, ball, ball_d,
                                               store_vertices, store_distances, store_start, store_size)
            if size < MIN_FIT_VERTICES:
                continue
            t1, t2 = _tangent_basis(normals[i])
            n_i = normals[i]
            moments = np.zeros(QUADRATIC_MOMENTS)
            for k in range(size):
                # unit scale keeps the 6×6 system well conditioned
                dx = (points[ball[k], 0] - points[i, 0]) * inverse_radius
                dy = (points[ball[k], 1] - points[i, 1]) * inverse_radius
                dz = (points[ball[k], 2] - points[i, 2]) * inverse_radius
                u = dx * t1[0] + dy * t1[1] + dz * t1[2]
                w_ = dx * t2[0] + dy * t2[1] + dz * t2[2]
                h = dx * n_i[0] + dy * n_i[1] + dz * n_i[2]
                add_quadratic_moments(moments, u, w_, h, np.exp(-2.0 * (ball_d[k] * inverse_radius) ** 2))
            out[v] = -solve_quadratic(moments, 0.0, 1e-10)[5] * radius
    return out


def mesh_roughness(points, faces, normals, scale_nm, source="mesh"):
    """Per-vertex roughness offsets (nm) at ``scale_nm``; NaN on unused vertices and too-small balls.

    Parameters
    ----------
    points : ndarray (n, 3), nm
    faces : ndarray (m, 3)
    normals : ndarray (n, 3)
        Oriented vertex normals; they give the offsets' sign (positive: the vertex lies on the normal's side).
    scale_nm : float
        Radius of the smooth fit; it must exceed the point spacing.
    """
    from ..surface.mesh import point_spacing

    points = np.asarray(points, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if len(faces) == 0:
        raise InputError(f"{source}: the mesh is empty (no triangles)")
    if normals is None:
        raise InputError(f"{source}: the mesh has no 'Normals' point array")
    used = np.unique(faces)
    spacing = point_spacing(points[used])
    if scale_nm <= 2 * spacing:
        raise InputError(f"{source}: the roughness scale {scale_nm:g} nm must exceed twice the point spacing "
                         f"({spacing:.3g} nm)")
    graph = geodesic.mesh_graph(points, faces)
    areas = geodesic.vertex_areas(points, faces)
    base = vertex_normals(points, faces, np.asarray(normals, dtype=np.float64))
    keep = np.zeros(len(points), dtype=bool)
    keep[used] = True
    smoothed, store = geodesic.smooth_vertex_normals(base, areas, scale_nm, used, graph, keep)
    offsets = np.full(len(points), np.nan)
    offsets[used] = height_offsets(points, smoothed, float(scale_nm), used, *graph, blocks(len(used)), *store)
    return offsets


def roughness_summary(offsets):
    """Ra (mean |offset|) and Rq (RMS offset) of the finite offsets, nm."""
    finite = offsets[np.isfinite(offsets)]
    if len(finite) == 0:
        return {"Ra_nm": float("nan"), "Rq_nm": float("nan")}
    return {"Ra_nm": float(np.mean(np.abs(finite))), "Rq_nm": float(np.sqrt(np.mean(finite ** 2)))}


def label_areas(points, faces, labels):
    """Surface area (nm²) per label: each triangle counts for the label of its first vertex."""
    from ..triangles import triangle_areas

    areas = triangle_areas(np.asarray(points, dtype=np.float64), np.asarray(faces))
    face_labels = np.asarray(labels)[np.asarray(faces)[:, 0]]
    return {int(label): float(areas[face_labels == label].sum()) for label in np.unique(labels)}
