"""Local geometry of point sets: neighbourhoods, weighted PCA frames and weighted quadratic (Monge) fits.

Every function works on a batch of neighbourhoods at once: ``offsets`` (n, k, 3) are neighbour positions
relative to each query point and ``weights`` (n, k) their fit weights (0 for padding).
"""
import functools

import numpy as np
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from ..errors import InputError
from ..parallel import numba

CHUNK = 4096
COLLINEAR_RATIO = 1e-3  # second PCA eigenvalue below this fraction of the largest: a line, no surface


def single_threaded_lapack(function):
    """Run ``function`` with one BLAS/LAPACK thread.

    Batched solves of thousands of tiny (3×3, 6×6) systems are one LAPACK call per matrix; with OpenBLAS
    threads each call pays a thread hand-off, which made a 2048-system solve take seconds instead of a
    millisecond on a busy 2-core machine.
    """
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)
    return wrapper


def query_neighbours(tree, queries, k):
    """The ``k`` nearest points of ``tree`` to each query: (distances, indices), both (n, k)."""
    k = int(min(k, tree.n))
    distances, indices = tree.query(np.asarray(queries, dtype=np.float64), k=k, workers=-1)
    if k == 1:
        distances, indices = distances[:, None], indices[:, None]
    return distances, indices


def require_neighbourhood(n_points, k, source):
    """Raise :class:`InputError` when a cloud has fewer points than one neighbourhood."""
    if n_points < k:
        raise InputError(f"{source}: {n_points} points, fewer than the neighbourhood size {k}; "
                         "a surface needs more points (or a smaller --neighbours)")


@single_threaded_lapack
def principal_curvatures(coefficients):
    """Principal curvatures (k1 ≥ k2, nm⁻¹) of the fitted height field at u = v = 0.

    Positive where the surface bends toward the local +h (frame normal) side.
    """
    a, b, c, d, e = (coefficients[:, i] for i in range(5))
    hessian = np.stack([np.stack([2 * a, 2 * b], -1), np.stack([2 * b, 2 * c], -1)], -2)
    eigenvalues = np.linalg.eigvalsh(hessian)
    slope = (1.0 + d * d + e * e) ** 1.5
    return eigenvalues[:, 1] / slope, eigenvalues[:, 0] / slope


def neighbourhood_fits(points, k, normal_sigma_spacings=None):
    """A quadratic fit over the ``k`` nearest neighbours of every point, in chunks.

    Uniform weights by default. With ``normal_sigma_spacings``, the MLS weights instead: Gaussian in the
    distance, and Gaussian in the height off the point's frame with σ = that many point spacings, so that
    where the neighbourhood straddles a second sheet (a fold, an apposed membrane) its points hardly count.

    Returns
    -------
    coefficients : ndarray (n, 6)
        a..f of each point's fit in its PCA frame, relative to the point (f: the point's height off the fit).
    frames : ndarray (n, 3, 3)
    valid : ndarray (n,) of bool
        False where the neighbourhood is degenerate (collinear or coincident); those rows are NaN.
    """
    points = np.asarray(points, dtype=np.float64)
    tree = cKDTree(points)
    coefficients = np.full((len(points), 6), np.nan)
    frames = np.full((len(points), 3, 3), np.nan)
    valid = np.zeros(len(points), dtype=bool)
    for start in range(0, len(points), CHUNK):
        chunk = slice(start, min(start + CHUNK, len(points)))
        distances, indices = query_neighbours(tree, points[chunk], k)
        offsets = points[indices] - points[chunk][:, None, :]
        scale = max(float(np.median(distances[:, -1])), 1e-9)
        if normal_sigma_spacings is None:
            fits = monge_fits(points[chunk], offsets, distances, np.ones(distances.shape), scale, 1.0, True)
        else:
            sigma = normal_sigma_spacings * max(float(np.median(distances[:, min(1, k - 1)])), 1e-9)
            fits = monge_fits(points[chunk], offsets, distances, np.ones(distances.shape), scale, sigma, False)
        _, _, chunk_coefficients, chunk_frames, flat = fits
        ok = ~flat
        rows = np.arange(chunk.start, chunk.stop)[ok]
        coefficients[rows], frames[rows] = chunk_coefficients[ok], chunk_frames[ok]
        valid[chunk] = ok
    return coefficients, frames, valid


@numba.njit(parallel=True, cache=True)
def monge_fits(centres, offsets, distances, inside, radius, sigma_normal, uniform):  # pragma: no cover (compiled)
    """Per centre, a weighted PCA frame of its neighbours, then a weighted quadratic (Monge) fit in it:
    h = a u² + 2b uv + c v² + d u + e v + f.

    ``offsets`` (n, k, 3) are the neighbours relative to the centres, ``distances`` (n, k) their lengths,
    ``inside`` (n, k) which of them take part. ``uniform``: all weights 1 (JET-style fits); otherwise the
    MLS weights: Gaussian in distance (σ = radius/2) for the frame, and Gaussian in the tangential
    (σ = radius/2) and normal (σ = ``sigma_normal``) offsets for the fit. ``radius`` also scales u, v, h
    so the 6×6 normal equations stay well conditioned. One centre per loop iteration, in parallel, and one
    pass over its neighbours per step: the normal equations are assembled from the 15 weighted moments
    of u and v (to the 4th order) and 6 of h, then solved by a 6×6 Cholesky factorisation; no (n, k, 6)
    temporaries and no allocation per neighbour.

    Returns
    -------
    points, normals : (n, 3)
        The fitted surface point above each centre (u = v = 0) and the unit normal there.
    coefficients : (n, 6)
        a..f in nm units.
    frames : (n, 3, 3)
        Columns: first tangent (largest spread), second tangent, normal (smallest spread).
    degenerate : (n,) bool
        True where the neighbours have no 2D extent (coincident or collinear).
    """
    n, k = offsets.shape[0], offsets.shape[1]
    points, normals = np.empty((n, 3)), np.empty((n, 3))
    coefficients, frames = np.empty((n, 6)), np.empty((n, 3, 3))
    flags = np.zeros(n, dtype=np.bool_)
    for i in numba.prange(n):
        fit_neighbourhood(centres, offsets[i], distances[i], inside[i], k, radius, sigma_normal, uniform, i, points,
                          normals, coefficients, frames, flags)
    return points, normals, coefficients, frames, flags


@numba.njit(cache=True, inline="always")
def fit_neighbourhood(centres, offsets, distances, inside, k, radius, sigma_normal, uniform, i, points, normals,
                      coefficients, frames, flags):  # pragma: no cover (compiled)
    """:func:`monge_fits` for centre ``i`` over the first ``k`` rows of its ``offsets`` (k, 3), ``distances``
    and ``inside``: writes row ``i`` of the outputs."""
    spread = 0.5 * radius
    frame_scale = -0.5 / (spread * spread)
    tangent_scale = -0.5 * radius * radius / (spread * spread)
    normal_scale = -0.5 * (radius / sigma_normal) ** 2
    # weighted mean and covariance in one pass (offsets are relative to the centre: no cancellation)
    total = sx = sy = sz = 0.0
    cxx = cxy = cxz = cyy = cyz = czz = 0.0
    for j in range(k):
        w = 1.0 if uniform else np.exp(frame_scale * distances[j] ** 2) * inside[j] + 1e-12
        ox, oy, oz = offsets[j, 0], offsets[j, 1], offsets[j, 2]
        wx, wy, wz = w * ox, w * oy, w * oz
        total += w
        sx += wx
        sy += wy
        sz += wz
        cxx += wx * ox
        cxy += wx * oy
        cxz += wx * oz
        cyy += wy * oy
        cyz += wy * oz
        czz += wz * oz
    mx, my, mz = sx / total, sy / total, sz / total
    cxx, cxy, cxz = cxx - mx * sx, cxy - mx * sy, cxz - mx * sz
    cyy, cyz, czz = cyy - my * sy, cyz - my * sz, czz - mz * sz
    covariance = np.empty((3, 3))
    covariance[0, 0], covariance[0, 1], covariance[0, 2] = cxx / total, cxy / total, cxz / total
    covariance[1, 0], covariance[1, 1], covariance[1, 2] = cxy / total, cyy / total, cyz / total
    covariance[2, 0], covariance[2, 1], covariance[2, 2] = cxz / total, cyz / total, czz / total
    eigenvalues, vectors = np.linalg.eigh(covariance)
    largest = eigenvalues[2]
    flags[i] = largest <= 1e-12 or eigenvalues[1] < COLLINEAR_RATIO * largest
    nx, ny, nz = vectors[0, 0], vectors[1, 0], vectors[2, 0]
    fx, fy, fz = vectors[0, 2], vectors[1, 2], vectors[2, 2]
    gx, gy, gz = ny * fz - nz * fy, nz * fx - nx * fz, nx * fy - ny * fx
    moments = np.zeros(QUADRATIC_MOMENTS)
    inverse_radius = 1.0 / radius  # a multiply per neighbour instead of three divisions
    for j in range(k):
        ox, oy, oz = offsets[j, 0], offsets[j, 1], offsets[j, 2]
        u = (ox * fx + oy * fy + oz * fz) * inverse_radius
        v = (ox * gx + oy * gy + oz * gz) * inverse_radius
        h = (ox * nx + oy * ny + oz * nz) * inverse_radius
        w = 1.0 if uniform else (np.exp(tangent_scale * (u * u + v * v) + normal_scale * h * h) * inside[j]
                                 + 1e-12)
        add_quadratic_moments(moments, u, v, h, w)
    c = solve_quadratic(moments, 1e-9, 1e-12)
    a, b, cc, dd, ee, ff = c[0] / radius, c[1] / radius, c[2] / radius, c[3], c[4], c[5] * radius
    coefficients[i, 0], coefficients[i, 1], coefficients[i, 2] = a, b, cc
    coefficients[i, 3], coefficients[i, 4], coefficients[i, 5] = dd, ee, ff
    frames[i, 0, 0], frames[i, 0, 1], frames[i, 0, 2] = fx, gx, nx
    frames[i, 1, 0], frames[i, 1, 1], frames[i, 1, 2] = fy, gy, ny
    frames[i, 2, 0], frames[i, 2, 1], frames[i, 2, 2] = fz, gz, nz
    length = np.sqrt(dd * dd + ee * ee + 1.0)
    points[i, 0] = centres[i, 0] + nx * ff
    points[i, 1] = centres[i, 1] + ny * ff
    points[i, 2] = centres[i, 2] + nz * ff
    normals[i, 0] = (-dd * fx - ee * gx + nx) / length
    normals[i, 1] = (-dd * fy - ee * gy + ny) / length
    normals[i, 2] = (-dd * fz - ee * gz + nz) / length


QUADRATIC_MOMENTS = 21


@numba.njit(cache=True, inline="always")
def add_quadratic_moments(moments, u, v, h, w):  # pragma: no cover (compiled)
    """Add one sample (u, v, h) of weight ``w`` to the 21 weighted moments a least-squares fit of
    h = a u² + 2b uv + c v² + d u + e v + f needs: Σw·u^i v^j for i + j ≤ 4 (15) and Σw·h·(u², uv, v², u, v, 1)
    (6). Accumulating these instead of the 6×6 products costs ~30 multiply-adds per sample and no allocation."""
    wu, wv = w * u, w * v
    wuu, wuv, wvv = wu * u, wu * v, wv * v
    moments[0] += w
    moments[1] += wu
    moments[2] += wv
    moments[3] += wuu
    moments[4] += wuv
    moments[5] += wvv
    moments[6] += wuu * u
    moments[7] += wuu * v
    moments[8] += wuv * v
    moments[9] += wvv * v
    moments[10] += wuu * u * u
    moments[11] += wuu * u * v
    moments[12] += wuu * v * v
    moments[13] += wuv * v * v
    moments[14] += wvv * v * v
    wh = w * h
    moments[15] += wh * u * u
    moments[16] += wh * u * v
    moments[17] += wh * v * v
    moments[18] += wh * u
    moments[19] += wh * v
    moments[20] += wh


@numba.njit(cache=True)
def solve_quadratic(moments, relative_ridge, absolute_ridge):  # pragma: no cover (compiled)
    """The coefficients (a, b, c, d, e, f) of the weighted least-squares quadratic from its moments (see
    :func:`add_quadratic_moments`), with ``relative_ridge`` × trace + ``absolute_ridge`` added to the
    diagonal of the normal equations."""
    s0, su, sv, suu, suv, svv = moments[0], moments[1], moments[2], moments[3], moments[4], moments[5]
    suuu, suuv, suvv, svvv = moments[6], moments[7], moments[8], moments[9]
    suuuu, suuuv, suuvv, suvvv, svvvv = moments[10], moments[11], moments[12], moments[13], moments[14]
    M = np.empty((6, 6))
    M[0, 0], M[0, 1], M[0, 2], M[0, 3], M[0, 4], M[0, 5] = suuuu, 2 * suuuv, suuvv, suuu, suuv, suu
    M[1, 1], M[1, 2], M[1, 3], M[1, 4], M[1, 5] = 4 * suuvv, 2 * suvvv, 2 * suuv, 2 * suvv, 2 * suv
    M[2, 2], M[2, 3], M[2, 4], M[2, 5] = svvvv, suvv, svvv, svv
    M[3, 3], M[3, 4], M[3, 5] = suu, suv, su
    M[4, 4], M[4, 5] = svv, sv
    M[5, 5] = s0
    for r in range(6):
        for q in range(r):
            M[r, q] = M[q, r]
    rhs = np.empty(6)
    rhs[0], rhs[1], rhs[2] = moments[15], 2 * moments[16], moments[17]
    rhs[3], rhs[4], rhs[5] = moments[18], moments[19], moments[20]
    trace = M[0, 0] + M[1, 1] + M[2, 2] + M[3, 3] + M[4, 4] + M[5, 5]
    for d in range(6):
        M[d, d] += relative_ridge * trace + absolute_ridge
    return _solve_spd6(M, rhs)


@numba.njit(cache=True)
def _solve_spd6(M, rhs):  # pragma: no cover (compiled)
    """Solve the symmetric positive definite system ``M x = rhs`` by Cholesky (LAPACK if it is not)."""
    n = M.shape[0]
    L = np.zeros((n, n))
    for r in range(n):
        s = M[r, r]
        for q in range(r):
            s -= L[r, q] * L[r, q]
        if not s > 0.0:
            return np.linalg.solve(M, rhs)
        L[r, r] = np.sqrt(s)
        for t in range(r + 1, n):
            s = M[t, r]
            for q in range(r):
                s -= L[t, q] * L[r, q]
            L[t, r] = s / L[r, r]
    y = np.empty(n)
    for r in range(n):
        s = rhs[r]
        for q in range(r):
            s -= L[r, q] * y[q]
        y[r] = s / L[r, r]
    x = np.empty(n)
    for r in range(n - 1, -1, -1):
        s = y[r]
        for q in range(r + 1, n):
            s -= L[q, r] * x[q]
        x[r] = s / L[r, r]
    return x


def estimate_normals(points, k=20, source="point cloud"):
    """Unoriented JET normals: a local quadratic fit over the ``k`` nearest neighbours of every point,
    weighted as MLS fits are (points a spacing or more off the point's frame count little: uniform weights
    let a fold's other arm tilt the fit, and an arm could flip on orientation).

    Returns
    -------
    normals : ndarray (n, 3)
        Unit normals, arbitrary sign.
    valid : ndarray (n,) of bool
        False where the neighbourhood is degenerate (collinear or coincident points); those normals are NaN.
    """
    points = np.asarray(points, dtype=np.float64)
    require_neighbourhood(len(points), k, source)
    coefficients, frames, valid = neighbourhood_fits(points, k, normal_sigma_spacings=1.0)
    if not valid.any():
        raise InputError(f"{source}: every neighbourhood is degenerate (the points are coincident or lie on a "
                         "line), so no surface normal can be estimated")
    d, e = coefficients[valid, 3], coefficients[valid, 4]
    local = np.stack([-d, -e, np.ones_like(d)], axis=1)
    local /= np.linalg.norm(local, axis=1, keepdims=True)
    normals = np.full(points.shape, np.nan)
    normals[valid] = np.einsum("nij,nj->ni", frames[valid], local)
    return normals, valid
