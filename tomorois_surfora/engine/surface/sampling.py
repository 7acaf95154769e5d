"""Point-set thinning: variable-radius Poisson-disc homogenisation and small-component removal."""
import numba
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree


def poisson_disc(points, radii, seed=0):
    """Greedy Poisson-disc subset: no kept point lies within its own radius of an earlier kept point.

    Points are visited in random order, so the subset is unbiased.

    Parameters
    ----------
    points : ndarray (n, 3)
    radii : float or ndarray (n,)
        Exclusion radius per point (nm); curvature-adaptive sampling passes smaller radii where the
        surface bends more.
    seed : int

    Returns
    -------
    ndarray of int
        Indices of the kept points, ascending.
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=int)
    radii = np.ascontiguousarray(np.broadcast_to(np.asarray(radii, dtype=np.float64), (n,)))
    order = np.random.default_rng(seed).permutation(n)
    # A uniform grid of cells as wide as the largest radius: every point within a radius of p lies in
    # p's cell or one of the 26 around it.
    cell = max(float(radii.max()), 1e-9)
    index = np.floor((points - points.min(axis=0)) / cell).astype(np.int64)
    dims = index.max(axis=0) + 1
    keys = (index[:, 2] * dims[1] + index[:, 1]) * dims[0] + index[:, 0]
    by_cell = np.argsort(keys, kind="stable")
    sorted_keys = keys[by_cell]
    kept = _greedy_disc(points, radii, order, index, dims, by_cell, sorted_keys)
    return np.flatnonzero(kept)


@numba.njit(cache=True)
def _greedy_disc(points, radii, order, index, dims, by_cell, sorted_keys):  # pragma: no cover (compiled)
    n = len(points)
    blocked = np.zeros(n, dtype=np.bool_)
    kept = np.zeros(n, dtype=np.bool_)
    for i in order:
        if blocked[i]:
            continue
        kept[i] = True
        r2 = radii[i] * radii[i]
        for dz in range(-1, 2):
            z = index[i, 2] + dz
            if z < 0 or z >= dims[2]:
                continue
            for dy in range(-1, 2):
                y = index[i, 1] + dy
                if y < 0 or y >= dims[1]:
                    continue
                for dx in range(-1, 2):
                    x = index[i, 0] + dx
                    if x < 0 or x >= dims[0]:
                        continue
                    key = (z * dims[1] + y) * dims[0] + x
                    start = np.searchsorted(sorted_keys, key)
                    for m in range(start, n):
                        if sorted_keys[m] != key:
                            break
                        j = by_cell[m]
                        d0 = points[j, 0] - points[i, 0]
                        d1 = points[j, 1] - points[i, 1]
                        d2 = points[j, 2] - points[i, 2]
                        if d0 * d0 + d1 * d1 + d2 * d2 <= r2:
                            blocked[j] = True
    return kept


def radius_graph(points, radius):
    """Symmetric sparse adjacency of the points closer than ``radius``."""
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    n = len(points)
    return coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()


def large_components(points, radius, min_points, min_extent=0.0):
    """Boolean mask of the points in connected components (link distance ``radius``) with ≥ ``min_points``
    points and a bounding-box diagonal ≥ ``min_extent`` (a blob's points all project onto a spot)."""
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    _, labels = connected_components(radius_graph(points, radius), directed=False)
    sizes = np.bincount(labels)
    large = sizes >= min_points
    if min_extent > 0:
        order = np.argsort(labels, kind="stable")
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        low = np.minimum.reduceat(points[order], starts, axis=0)
        high = np.maximum.reduceat(points[order], starts, axis=0)
        large &= np.linalg.norm(high - low, axis=1) >= min_extent
    return large[labels]
