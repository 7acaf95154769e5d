"""Multi-scale signed curvature of membrane meshes (SurfORA S3g).

At every vertex and every radius r of a scale list:

1. the neighbourhood is the vertex's geodesic ball of radius r (mesh edge paths, :mod:`.geodesic`), so it
   never jumps to an apposed sheet;
2. the normals are the area-weighted triangle normals, signed like the mesh's ``Normals`` and averaged over
   balls of radius ``smoothing × r``;
3. the shape operator S (a symmetric 2×2 tensor in the vertex's tangent plane) is the weighted least-squares
   solution of  Pₜ(n_j − n_i) = S · Pₜ(p_j − p_i)  over the ball, Pₜ the projection on the tangent plane.

S is the derivative of the normal field, so H = trace(S)/2 and K = det(S) follow design.md's sign
convention directly: a sphere with outward normals has S = I/R, H = +1/R. (The curvatures of a quadratic
height fit, h = a u² + 2b uv + c v² + d u + e v + f, give the same values on smooth meshes but fit the
vertex *positions*: on voxel-derived staircase meshes their error was 3–4× larger at every radius, while
normals averaged over a ball are smooth. A sphere's and a cylinder's normal field is exactly linear in
position, so large balls add no bias there.)

The radius is chosen per vertex by stability: the first scale s with
|H_s − H_{s−1}| ≤ max(δ_rel · max(|H_s|, |H_{s−1}|, ε), δ_abs), else the largest usable one. A radius is
usable only when the ball stays clear of the mesh boundary (edge-path distance to the boundary ≥ r; edges of
three or more triangles, where the mesh is non-manifold, count as boundary; small holes, whose boundary
is a short loop, do not: a ball round a pin-hole is still a surface patch), so
vertices closer to an open edge than the smallest radius get no curvature (NaN). The confidence in [0, 1]
grows with the ball's vertex count and falls with the fit's residual.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from ..errors import InputError
from ..triangles import vertex_normals
from . import geodesic
from ..parallel import blocks, numba

MIN_BALL_VERTICES = 6
CONFIDENCE_VERTICES = 20.0  # ball size giving half the count factor
CONFIDENCE_RESIDUAL = 0.1   # RMS normal-difference residual (≈ radians) giving a residual factor of 1/e
DEFAULT_RADIUS_FACTORS = (4.0, 6.0, 8.0, 11.0, 15.0)


@dataclass
class CurvatureParameters:
    """Curvature settings.

    radii_nm : neighbourhood radii, ascending; default: the point spacing × 4, 6, 8, 11, 15.
    smoothing : normals are averaged over balls of this fraction of each radius.
    relative_tolerance, absolute_tolerance_per_nm, epsilon_per_nm : the stability test (δ_rel, δ_abs, ε).
    noise_factor : a scale also needs this many standard errors of H within the tolerance (2: about 95%
        confidence) before it counts as settled; 0 turns the test off.
    max_bend : a larger radius is not used where radius × max(|k1|, |k2|) measured with it exceeds this
        (the ball would span a turning normal field).
    small_hole_edges : boundary pieces of at most this many edges are holes inside the surface; balls may
        contain them (only longer boundaries, the rims, limit the radius).
    """

    radii_nm: Optional[Tuple[float, ...]] = None
    smoothing: float = 1.0
    relative_tolerance: float = 0.02
    absolute_tolerance_per_nm: float = 3e-4
    epsilon_per_nm: float = 1e-3
    small_hole_edges: int = 40
    max_bend: float = 1.0
    noise_factor: float = 2.0

    def problems(self, spacing_nm=None):
        found = []
        radii = self.radii_nm
        if radii is not None:
            if len(radii) == 0 or min(radii) <= 0 or list(radii) != sorted(radii):
                found.append(f"radii must be positive and ascending, got {tuple(radii)}")
            elif spacing_nm is not None and min(radii) < spacing_nm:
                found.append(f"the smallest radius {min(radii):g} nm is below the point spacing "
                             f"{spacing_nm:.3g} nm: a ball that small holds no neighbours")
        if not 0 < self.smoothing <= 1:
            found.append(f"smoothing must be in (0, 1], got {self.smoothing}")
        if self.relative_tolerance < 0 or self.absolute_tolerance_per_nm < 0:
            found.append("tolerances must be ≥ 0")
        return found


@numba.njit(cache=True)
def _tangent_basis(n):  # pragma: no cover (compiled)
    helper = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    t1 = np.cross(n, helper)
    t1 /= np.sqrt(np.sum(t1 * t1))
    return t1, np.cross(n, t1)


@numba.njit(parallel=True, cache=True)
def shape_operators(points, normals, areas, radius, vertices, indptr, indices, lengths, bounds, store_vertices,
                    store_distances, store_start, store_size):  # pragma: no cover
    """Shape operators at ``vertices`` over geodesic balls of ``radius``, from the (smoothed) ``normals``; balls
    kept in the store (:func:`geodesic.smooth_vertex_normals`) are read from it.

    Returns per listed vertex: H, K, k1, k2 (NaN where the ball is too small or degenerate), the ball's
    vertex count and the fit's weighted RMS residual.
    """
    n_out = len(vertices)
    H = np.full(n_out, np.nan)
    K, k1, k2, residual = H.copy(), H.copy(), H.copy(), H.copy()
    count = np.zeros(n_out, dtype=np.int64)
    for b in numba.prange(len(bounds) - 1):
        dist, keys, values, ball, ball_d = geodesic.new_workspace(len(points), len(indices))
        for v in range(bounds[b], bounds[b + 1]):
            i = vertices[v]
            size = geodesic.stored_or_new_ball(i, radius, indptr, indices, lengths, dist, keys, values, ball, ball_d,
                                               store_vertices, store_distances, store_start, store_size)
            n_i = normals[i]
            t1, t2 = _tangent_basis(n_i)
            M = np.zeros((3, 3))
            rhs = np.zeros(3)
            yy = 0.0
            total_w = 0.0
            for k in range(size):
                j = ball[k]
                # scalars, not 3-vectors: no allocation per ball vertex
                px, py, pz = points[j, 0] - points[i, 0], points[j, 1] - points[i, 1], points[j, 2] - points[i, 2]
                qx, qy, qz = normals[j, 0] - n_i[0], normals[j, 1] - n_i[1], normals[j, 2] - n_i[2]
                x1, x2 = px * t1[0] + py * t1[1] + pz * t1[2], px * t2[0] + py * t2[1] + pz * t2[2]
                y1, y2 = qx * t1[0] + qy * t1[1] + qz * t1[2], qx * t2[0] + qy * t2[1] + qz * t2[2]
                w = areas[j]
                # rows (x1, x2, 0) -> y1 and (0, x1, x2) -> y2 for the unknowns (s11, s12, s22)
                M[0, 0] += w * x1 * x1
                M[0, 1] += w * x1 * x2
                M[1, 1] += w * (x2 * x2 + x1 * x1)
                M[1, 2] += w * x1 * x2
                M[2, 2] += w * x2 * x2
                rhs[0] += w * x1 * y1
                rhs[1] += w * (x2 * y1 + x1 * y2)
                rhs[2] += w * x2 * y2
                yy += w * (y1 * y1 + y2 * y2)
                total_w += w
            count[v] = size
            if size < MIN_BALL_VERTICES or total_w <= 0:
                continue
            M[1, 0], M[2, 1] = M[0, 1], M[1, 2]
            if abs(np.linalg.det(M)) < 1e-14 * (M[0, 0] + M[1, 1] + M[2, 2]) ** 3:
                continue
            theta = np.linalg.solve(M, rhs)
            s11, s12, s22 = theta[0], theta[1], theta[2]
            mean = 0.5 * (s11 + s22)
            spread = np.sqrt(0.25 * (s11 - s22) ** 2 + s12 * s12)
            H[v], K[v] = mean, s11 * s22 - s12 * s12
            k1[v], k2[v] = mean + spread, mean - spread
            sq = yy - 2.0 * np.dot(theta, rhs) + np.dot(theta, M @ theta)
            residual[v] = np.sqrt(max(sq, 0.0) / total_w)
    return H, K, k1, k2, count, residual


def tolerance(magnitude, params):
    """The stability tolerance for curvatures of this magnitude: max(δ_rel · max(|H|, ε), δ_abs)."""
    return np.maximum(params.relative_tolerance * np.maximum(magnitude, params.epsilon_per_nm),
                      params.absolute_tolerance_per_nm)


def stable(previous, current, params):
    """The stability test between two consecutive scales' H (element-wise, False where either is NaN)."""
    with np.errstate(invalid="ignore"):
        return np.abs(current - previous) <= tolerance(np.maximum(np.abs(current), np.abs(previous)), params)


def precise(H, count, residual, radius, params):
    """Whether ``noise_factor`` standard errors of H (one is about 2·residual/(r·√n) for a slope fitted over
    a disc of radius r with n samples) are within the stability tolerance: on a voxel staircase two noisy
    neighbouring scales can agree by chance."""
    with np.errstate(invalid="ignore", divide="ignore"):
        error = params.noise_factor * 2.0 * residual / (radius * np.sqrt(np.maximum(count, 1)))
        return error <= tolerance(np.abs(H), params)


def mesh_curvature(points, faces, normals, params=None, source="mesh"):
    """Per-vertex multi-scale curvature of an oriented triangle mesh.

    Parameters
    ----------
    points : ndarray (n, 3), nm
    faces : ndarray (m, 3)
    normals : ndarray (n, 3)
        Oriented vertex normals (e.g. the VTP's ``Normals``); they fix the sign of H.
    params : CurvatureParameters

    Returns
    -------
    values : dict of ndarray (n,)
        ``mean_curvature`` H and ``gaussian_curvature`` K (nm⁻¹, nm⁻²), ``k1`` ≥ ``k2``,
        ``curvature_radius_nm`` (the chosen neighbourhood radius), ``curvature_confidence``; NaN where no
        radius was usable (next to the mesh boundary).
    info : dict
        Radii, spacing, how many vertices chose each radius, how many got no value.
    """
    from ..surface.mesh import point_spacing

    params = params or CurvatureParameters()
    points = np.asarray(points, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if len(faces) == 0 or len(points) < 3:
        raise InputError(f"{source}: the mesh is empty (no triangles)")
    if normals is None:
        raise InputError(f"{source}: the mesh has no 'Normals' point array; curvature signs need oriented "
                         "normals (run `surface orient` and `surface mesh`)")
    used = np.unique(faces)
    spacing = point_spacing(points[used])
    problems = params.problems(spacing)
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))
    radii = np.asarray(params.radii_nm or [f * spacing for f in DEFAULT_RADIUS_FACTORS], dtype=np.float64)
    graph = geodesic.mesh_graph(points, faces)
    boundary, non_manifold = geodesic.boundary_vertices(faces, len(points), params.small_hole_edges)
    usable = geodesic.distance_to_boundary(graph, boundary)
    unused = np.ones(len(points), dtype=bool)
    unused[used] = False
    usable[unused] = 0.0
    areas = geodesic.vertex_areas(points, faces)
    base = vertex_normals(points, faces, np.asarray(normals, dtype=np.float64))
    columns = ("mean_curvature", "gaussian_curvature", "k1", "k2", "curvature_radius_nm", "curvature_confidence")
    values = {name: np.full(len(points), np.nan) for name in columns}
    chosen = np.full(len(points), -1)
    previous_H = np.full(len(points), np.nan)
    active = np.flatnonzero(usable >= radii[0])
    # Scales run in order; a vertex leaves the active set at its first stable scale, so the large balls
    # (and the normal smoothing they need) are computed only where the small ones did not settle.
    for s, radius in enumerate(radii):
        active = active[usable[active] >= radius]
        if len(active) == 0:
            break
        smoothing_radius = params.smoothing * radius
        needed = np.flatnonzero(geodesic.within(graph, active, radius))  # the balls shape_operators reads
        keep = None
        if smoothing_radius == radius:  # the shape operators search the same balls round the active vertices
            keep = np.zeros(len(points), dtype=bool)
            keep[active] = True
        smoothed, store = geodesic.smooth_vertex_normals(base, areas, smoothing_radius, needed, graph, keep)
        H, K, k1, k2, count, residual = shape_operators(points, smoothed, areas, radius, active, *graph,
                                                        blocks(len(active)), *store)
        del store
        # A ball wider than the surface's own bending radius (r·|k|max > max_bend) spans a changing normal
        # field (a torus tube, a tight bud): keep the previous scale's value and stop there.
        with np.errstate(invalid="ignore"):
            too_bent = (radius * np.maximum(np.abs(k1), np.abs(k2)) > params.max_bend) & (chosen[active] >= 0)
        H[too_bent] = np.nan
        found = np.isfinite(H)
        rows = active[found]
        for name, table in (("mean_curvature", H), ("gaussian_curvature", K), ("k1", k1), ("k2", k2)):
            values[name][rows] = table[found]
        values["curvature_radius_nm"][rows] = radius
        values["curvature_confidence"][rows] = (count[found] / (count[found] + CONFIDENCE_VERTICES)
                                                * np.exp(-residual[found] / CONFIDENCE_RESIDUAL))
        chosen[rows] = s
        settled = stable(previous_H[active], H, params) if s > 0 else np.zeros(len(active), dtype=bool)
        if params.noise_factor > 0:
            settled &= precise(H, count, residual, radius, params)
        settled |= too_bent
        previous_H[active] = H
        active = active[~settled]
    pick = chosen[chosen >= 0]
    info = {"spacing_nm": spacing, "radii_nm": radii.tolist(),
            "chosen_per_radius": np.bincount(pick, minlength=len(radii)).tolist(),
            "without_value": int((chosen < 0).sum()), "non_manifold_edges": non_manifold}
    return values, info
