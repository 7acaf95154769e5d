"""Local geometry of point sets: neighbourhoods, weighted PCA frames and weighted quadratic (Monge) fits.

Every function works on a batch of neighbourhoods at once: ``offsets`` (n, k, 3) are neighbour positions
relative to each query point and ``weights`` (n, k) their fit weights (0 for padding).
"""
import functools

import numba
import numpy as np
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from ..errors import InputError

numba.config.THREADING_LAYER = "workqueue"  # see medial.py

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
    so the 6×6 normal equations stay well conditioned. One centre per loop iteration, in parallel: no
    (n, k, 6) temporaries and no LAPACK call per tiny matrix.

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
    spread = 0.5 * radius
    for i in numba.prange(n):
        w = np.empty(k)
        for j in range(k):
            w[j] = 1.0 if uniform else np.exp(-0.5 * (distances[i, j] / spread) ** 2) * inside[i, j] + 1e-12
        w /= w.sum()
        mean = np.zeros(3)
        for j in range(k):
            for r in range(3):
                mean[r] += w[j] * offsets[i, j, r]
        covariance = np.zeros((3, 3))
        for j in range(k):
            for r in range(3):
                for q in range(r, 3):
                    covariance[r, q] += w[j] * (offsets[i, j, r] - mean[r]) * (offsets[i, j, q] - mean[q])
        for r in range(3):
            for q in range(r):
                covariance[r, q] = covariance[q, r]
        eigenvalues, vectors = np.linalg.eigh(covariance)
        largest = eigenvalues[2]
        flags[i] = largest <= 1e-12 or eigenvalues[1] < COLLINEAR_RATIO * largest
        normal, first = vectors[:, 0].copy(), vectors[:, 2].copy()
        second = np.cross(normal, first)
        M = np.zeros((6, 6))
        rhs = np.zeros(6)
        row = np.empty(6)
        for j in range(k):
            ox, oy, oz = offsets[i, j, 0], offsets[i, j, 1], offsets[i, j, 2]
            u = (ox * first[0] + oy * first[1] + oz * first[2]) / radius
            v = (ox * second[0] + oy * second[1] + oz * second[2]) / radius
            h = (ox * normal[0] + oy * normal[1] + oz * normal[2]) / radius
            weight = 1.0 if uniform else (np.exp(-0.5 * (u * u + v * v) * radius * radius / (spread * spread))
                                          * np.exp(-0.5 * (h * radius / sigma_normal) ** 2) * inside[i, j] + 1e-12)
            row[0], row[1], row[2], row[3], row[4], row[5] = u * u, 2 * u * v, v * v, u, v, 1.0
            for r in range(6):
                rhs[r] += weight * h * row[r]
                for q in range(r, 6):
                    M[r, q] += weight * row[r] * row[q]
        for r in range(6):
            for q in range(r):
                M[r, q] = M[q, r]
        trace = 0.0
        for d in range(6):
            trace += M[d, d]
        for d in range(6):
            M[d, d] += 1e-9 * trace + 1e-12
        c = np.linalg.solve(M, rhs)
        a, b, cc, dd, ee, ff = c[0] / radius, c[1] / radius, c[2] / radius, c[3], c[4], c[5] * radius
        coefficients[i, 0], coefficients[i, 1], coefficients[i, 2] = a, b, cc
        coefficients[i, 3], coefficients[i, 4], coefficients[i, 5] = dd, ee, ff
        for r in range(3):
            frames[i, r, 0], frames[i, r, 1], frames[i, r, 2] = first[r], second[r], normal[r]
        length = np.sqrt(dd * dd + ee * ee + 1.0)
        for r in range(3):
            points[i, r] = centres[i, r] + normal[r] * ff
            normals[i, r] = (-dd * first[r] - ee * second[r] + normal[r]) / length
    return points, normals, coefficients, frames, flags


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
