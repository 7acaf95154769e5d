"""Normal directions that follow one sheet: the tangent plane most neighbours agree with.

A PCA or JET normal over k neighbours is wrong where the neighbourhood holds two sheets (the arms of a narrow
fold) or only half a disc (a sheet's rim): its smallest spread then runs sideways and the normal lies in the
sheet, 70–90° off. No sign choice can mend that. Here each point's direction is put to a vote: the candidate
planes through the point are those normal to its own direction and to each neighbour's, and a plane scores the
neighbours lying in it (Gaussian weights of their distance from the plane, σ = ``sigma`` point spacings, and
of their distance from the point). On a sheet the true plane holds the whole sheet-side of the neighbourhood;
a plane standing across two arms holds only the strip of both where it cuts them. Where the point's own
plane scores below ``ratio`` × the best and the best lies more than 45° from its direction, the direction is
refitted by weighted PCA over the best plane's inliers (the point included); the 45° gate keeps good normals
where the surface turns within a spacing (a tight fold), where every plane scores low. Signs are not touched.
A well-estimated cloud (a medial surface) changes in a few points only.
"""
import numpy as np
from scipy.spatial import cKDTree

from .geometry import query_neighbours

MAX_KEPT_COSINE = np.cos(np.radians(45))  # a direction within 45° of the winner is only noisier, not wrong
CHUNK = 4096  # points per block: (CHUNK, k+1, k) weights stay well under 100 MB


def consensus_directions(points, normals, neighbours=24, sigma=0.35, ratio=0.7, passes=2):
    """Refit normal directions a clear majority of the neighbours' planes contradicts.

    Parameters
    ----------
    points, normals : ndarray (n, 3)
        Positions and unit normals (any sign).
    neighbours : int
        Neighbours per point that vote (and propose their own plane).
    sigma : float
        Off-plane tolerance in point spacings (the median nearest-neighbour distance).
    ratio : float
        A point keeps its direction unless its plane scores below ``ratio`` × the best candidate's (and the
        best is more than 45° away).
    passes : int
        Rounds; each one votes with the directions the previous one left.

    Returns
    -------
    normals : ndarray (n, 3)
        Unit normals; refitted ones have arbitrary sign.
    changed : ndarray (n,) of bool
        Points whose direction was refitted in any pass.
    """
    points = np.asarray(points, dtype=np.float64)
    normals = np.array(normals, dtype=np.float64)
    changed = np.zeros(len(points), dtype=bool)
    k = int(min(neighbours, len(points) - 1))
    if k < 3 or passes < 1:
        return normals, changed
    distances, indices = query_neighbours(cKDTree(points), points, k + 1)
    spacing = max(float(np.median(distances[:, 1])), 1e-12)
    for _ in range(passes):
        refitted = normals.copy()
        for start in range(0, len(points), CHUNK):
            block = slice(start, start + CHUNK)
            new, fix = _vote(points, normals, distances[block], indices[block], sigma * spacing, ratio, spacing)
            refitted[block][fix] = new
            changed[start + np.flatnonzero(fix)] = True
        normals = refitted
    return normals, changed


def _vote(points, normals, distances, indices, tolerance, ratio, spacing):
    """One pass over a block of points: (new unit normals of the points to refit, mask of those points)."""
    offsets = points[indices[:, 1:]] - points[indices[:, :1]]  # (m, k, 3) from each point to its neighbours
    candidates = normals[indices]  # (m, k+1, 3): the point's own direction first
    heights = np.einsum("mkd,mcd->mck", offsets, candidates)
    nearness = np.exp(-0.5 * (distances[:, 1:] / (2 * spacing)) ** 2)
    inlier = np.exp(-0.5 * (heights / tolerance) ** 2) * nearness[:, None, :]
    score = inlier.sum(axis=2)
    best = score.argmax(axis=1)
    rows = np.arange(len(best))
    turn = np.abs(np.einsum("md,md->m", candidates[:, 0], candidates[rows, best]))
    fix = (score[:, 0] < ratio * score[rows, best]) & (turn < MAX_KEPT_COSINE)
    if not fix.any():
        return np.zeros((0, 3)), fix
    weights = np.concatenate([np.ones((int(fix.sum()), 1)), inlier[fix, best[fix]]], axis=1)
    members = np.concatenate([np.zeros((int(fix.sum()), 1, 3)), offsets[fix]], axis=1)
    centre = np.einsum("mk,mkd->md", weights, members) / weights.sum(axis=1, keepdims=True)
    centred = members - centre[:, None, :]
    scatter = np.einsum("mk,mki,mkj->mij", weights, centred, centred)
    return np.linalg.eigh(scatter)[1][:, :, 0], fix
