"""Local geometry of point sets: neighbourhoods, weighted PCA frames and weighted quadratic (Monge) fits.

Every function works on a batch of neighbourhoods at once: ``offsets`` (n, k, 3) are neighbour positions
relative to each query point and ``weights`` (n, k) their fit weights (0 for padding).
"""
import functools

import numpy as np
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from ..errors import InputError

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
def weighted_frames(offsets, weights):
    """Weighted PCA of each neighbourhood.

    Returns
    -------
    frames : ndarray (n, 3, 3)
        Columns: first tangent (largest spread), second tangent, normal (smallest spread).
    eigenvalues : ndarray (n, 3)
        Ascending weighted variances.
    """
    w = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
    mean = np.sum(w[..., None] * offsets, axis=1)
    centred = offsets - mean[:, None, :]
    covariance = np.matmul((centred * w[..., None]).transpose(0, 2, 1), centred)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    normal = eigenvectors[:, :, 0]
    first = eigenvectors[:, :, 2]
    second = np.cross(normal, first)
    return np.stack([first, second, normal], axis=2), eigenvalues


def degenerate(eigenvalues):
    """True where a neighbourhood has no 2D extent: all points coincide or lie on a line."""
    largest = eigenvalues[:, 2]
    return (largest <= 1e-12) | (eigenvalues[:, 1] < COLLINEAR_RATIO * largest)


@single_threaded_lapack
def fit_quadratic(offsets, frames, weights, scale):
    """Weighted least-squares fit of h = a u² + 2b uv + c v² + d u + e v + f in each local frame.

    ``scale`` (nm) normalises u, v, h so that the normal equations stay well conditioned; the returned
    coefficients are in nm units again.

    Returns
    -------
    coefficients : ndarray (n, 6)
        a, b, c, d, e, f.
    residual : ndarray (n,)
        Weighted RMS of the height residuals, nm.
    """
    local = np.matmul(offsets, frames) / scale
    u, v, h = local[..., 0], local[..., 1], local[..., 2]
    design = np.stack([u * u, 2 * u * v, v * v, u, v, np.ones_like(u)], axis=-1)
    weighted = design * weights[..., None]
    normal_matrix = np.matmul(weighted.transpose(0, 2, 1), design)
    normal_matrix += 1e-9 * np.eye(6) * np.trace(normal_matrix, axis1=1, axis2=2)[:, None, None] + 1e-12 * np.eye(6)
    rhs = np.matmul(weighted.transpose(0, 2, 1), h[..., None])[..., 0]
    coefficients = np.linalg.solve(normal_matrix, rhs[..., None])[..., 0]
    fitted = np.matmul(design, coefficients[..., None])[..., 0]
    residual = np.sqrt(np.sum(weights * (h - fitted) ** 2, axis=1) / np.maximum(weights.sum(axis=1), 1e-300))
    coefficients = coefficients * np.array([1 / scale, 1 / scale, 1 / scale, 1.0, 1.0, scale])
    return coefficients, residual * scale


def monge_point_and_normal(centres, frames, coefficients):
    """The fitted surface point above each centre (u = v = 0) and the unit normal there, in world coordinates."""
    d, e, f = coefficients[:, 3], coefficients[:, 4], coefficients[:, 5]
    points = centres + frames[:, :, 2] * f[:, None]
    local_normal = np.stack([-d, -e, np.ones_like(d)], axis=1)
    local_normal /= np.linalg.norm(local_normal, axis=1, keepdims=True)
    normals = np.einsum("nij,nj->ni", frames, local_normal)
    return points, normals


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


def neighbourhood_fits(points, k):
    """A quadratic fit over the ``k`` nearest neighbours of every point (uniform weights), in chunks.

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
        weights = np.ones(indices.shape)
        chunk_frames, eigenvalues = weighted_frames(offsets, weights)
        ok = ~degenerate(eigenvalues)
        scale = max(float(np.median(distances[:, -1])), 1e-9)
        rows = np.arange(chunk.start, chunk.stop)[ok]
        coefficients[rows], _ = fit_quadratic(offsets[ok], chunk_frames[ok], weights[ok], scale)
        frames[rows] = chunk_frames[ok]
        valid[chunk] = ok
    return coefficients, frames, valid


def estimate_normals(points, k=20, source="point cloud"):
    """Unoriented JET normals: a local quadratic fit over the ``k`` nearest neighbours of every point.

    Returns
    -------
    normals : ndarray (n, 3)
        Unit normals, arbitrary sign.
    valid : ndarray (n,) of bool
        False where the neighbourhood is degenerate (collinear or coincident points); those normals are NaN.
    """
    points = np.asarray(points, dtype=np.float64)
    require_neighbourhood(len(points), k, source)
    coefficients, frames, valid = neighbourhood_fits(points, k)
    if not valid.any():
        raise InputError(f"{source}: every neighbourhood is degenerate (the points are coincident or lie on a "
                         "line), so no surface normal can be estimated")
    normals = np.full(points.shape, np.nan)
    _, normals[valid] = monge_point_and_normal(points[valid], frames[valid], coefficients[valid])
    return normals, valid
