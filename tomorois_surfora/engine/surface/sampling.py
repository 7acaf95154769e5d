"""Point-set thinning: variable-radius Poisson-disc homogenisation and small-component removal."""
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
    radii = np.broadcast_to(np.asarray(radii, dtype=np.float64), (n,))
    tree = cKDTree(points)
    order = np.random.default_rng(seed).permutation(n)
    blocked = np.zeros(n, dtype=bool)
    kept = []
    for start in range(0, n, 65536):
        batch = order[start:start + 65536]
        neighbourhoods = tree.query_ball_point(points[batch], radii[batch], workers=-1)
        for i, neighbours in zip(batch.tolist(), neighbourhoods):
            if blocked[i]:
                continue
            kept.append(i)
            blocked[neighbours] = True
    return np.sort(np.asarray(kept, dtype=int))


def radius_graph(points, radius):
    """Symmetric sparse adjacency of the points closer than ``radius``."""
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    n = len(points)
    return coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()


def large_components(points, radius, min_points):
    """Boolean mask of the points in connected components (link distance ``radius``) with ≥ ``min_points``."""
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    _, labels = connected_components(radius_graph(points, radius), directed=False)
    sizes = np.bincount(labels)
    return sizes[labels] >= min_points
