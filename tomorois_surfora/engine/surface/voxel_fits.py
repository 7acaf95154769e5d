"""MLS fits over a mask's voxel centres, with the neighbours gathered from the voxel grid itself (numba).

The support of a medial fit is the set of mask voxel centres: a regular grid. The voxels near a point are
therefore found by scanning the small box of grid cells around it, which costs a few microseconds, where a
KD-tree query for the ~300 nearest centres cost ~80 µs and wrote (n, k, 3) offset arrays that the fits
then read back. Here one pass per point gathers the neighbours, tests which are visible (the straight
segment to them stays inside the mask) and fits, all without leaving the compiled loop.
"""
import numpy as np

from ..parallel import numba
from .geometry import fit_neighbourhood

SELECT_BINS = 128


@numba.njit(cache=True)
def _select_nearest(squared, order, count, k, limit, bins):  # pragma: no cover (compiled)
    """Write to the front of ``order`` the indices of the ``k`` smallest of ``squared[:count]`` (all ≤
    ``limit``) and of every entry tied with the k-th; returns how many that is. ``bins``: scratch of
    ``SELECT_BINS`` counters.

    Ties are common on a grid (a fit centred on a voxel has 6 neighbours at 1 voxel, 12 at √2, ...); taking
    all or none of them keeps the neighbourhood symmetric, where picking some in scan order would lean it
    toward the low z, y, x side. A histogram of the squared distances finds the bin holding the k-th
    smallest; only that bin's few entries are sorted. Two linear passes: a quickselect over a few hundred
    entries cost ~10 µs per point.
    """
    nbins = len(bins)
    bins[:] = 0
    scale = nbins / limit if limit > 0 else 0.0
    for j in range(count):
        bins[min(int(squared[j] * scale), nbins - 1)] += 1
    below, edge = 0, 0
    while below + bins[edge] < k:
        below += bins[edge]
        edge += 1
    taken, tied = 0, 0
    for j in range(count):  # bins below the edge first, then the edge bin's entries after them
        b = min(int(squared[j] * scale), nbins - 1)
        if b < edge:
            order[taken] = j
            taken += 1
        elif b == edge:
            order[below + tied] = j
            tied += 1
    for a in range(below + 1, below + tied):  # insertion sort of the edge bin by distance (stable)
        j = order[a]
        value = squared[j]
        position = a - 1
        while position >= below and squared[order[position]] > value:
            order[position + 1] = order[position]
            position -= 1
        order[position + 1] = j
    used = k
    while used < below + tied and squared[order[used]] == squared[order[k - 1]]:
        used += 1
    return used


@numba.njit(cache=True, inline="always")
def _segment_inside(mask, x0, y0, z0, ox, oy, oz, samples):  # pragma: no cover (compiled)
    """Whether the segment from grid position (x0, y0, z0) along (ox, oy, oz) (voxel units) stays in the
    mask at ``samples - 1`` evenly spaced interior points (nearest voxel)."""
    nz, ny, nx = mask.shape
    for s in range(1, samples):
        f = s / samples
        x = int(np.rint(x0 + f * ox))
        y = int(np.rint(y0 + f * oy))
        z = int(np.rint(z0 + f * oz))
        if x < 0 or y < 0 or z < 0 or x >= nx or y >= ny or z >= nz or not mask[z, y, x]:
            return False
    return True


@numba.njit(parallel=True, cache=True)
def voxel_mls_fits(mask, centres, origin, voxel_size, radius, k, sigma_normal, samples_per_voxel, bounds):  # pragma: no cover
    """:func:`geometry.monge_fits` (MLS weights) over the mask voxel centres within ``radius`` of each centre
    (where there are more than ``k``, the ``k`` nearest and those as near as the k-th), a voxel taking part
    only where the segment to it stays inside the mask, sampled at ``samples_per_voxel`` points per voxel of
    its length (2: every ≤ ½ voxel).

    Parameters
    ----------
    mask : ndarray of bool (z, y, x)
    centres : ndarray (n, 3), nm (x, y, z)
    origin : ndarray (3,), nm position of voxel (0, 0, 0)
    bounds : ndarray of int
        Block boundaries over the centres (``parallel.blocks``): each block allocates its
        scratch arrays once.

    Returns
    -------
    points, normals, coefficients, frames, degenerate
        As :func:`geometry.monge_fits`. A centre with fewer than 3 voxels within ``radius`` (or not finite)
        is degenerate; its point is the centre itself.
    """
    n = len(centres)
    points, normals = np.empty((n, 3)), np.empty((n, 3))
    coefficients, frames = np.zeros((n, 6)), np.zeros((n, 3, 3))
    flags = np.zeros(n, dtype=np.bool_)
    nz, ny, nx = mask.shape
    reach = int(np.ceil(radius / voxel_size))
    box = (2 * reach + 1) ** 3
    limit = (radius / voxel_size) ** 2
    for b in numba.prange(len(bounds) - 1):
        grid = np.empty((box, 3))  # neighbour offsets in voxel units
        squared = np.empty(box)
        order = np.empty(box, dtype=np.int64)
        bins = np.empty(SELECT_BINS, dtype=np.int64)
        offsets = np.empty((box, 3))
        distances = np.empty(box)
        inside = np.empty(box)
        for i in range(bounds[b], bounds[b + 1]):
            gx = (centres[i, 0] - origin[0]) / voxel_size
            gy = (centres[i, 1] - origin[1]) / voxel_size
            gz = (centres[i, 2] - origin[2]) / voxel_size
            count = 0
            if not (np.isfinite(gx) and np.isfinite(gy) and np.isfinite(gz)):
                gz = -2.0 * reach - 1.0  # no cell: degenerate below
            for z in range(max(0, int(np.floor(gz - reach))), min(nz, int(np.ceil(gz + reach)) + 1)):
                dz = z - gz
                for y in range(max(0, int(np.floor(gy - reach))), min(ny, int(np.ceil(gy + reach)) + 1)):
                    dy = y - gy
                    left = limit - dz * dz - dy * dy
                    if left < 0:
                        continue
                    half_chord = np.sqrt(left)  # only the row's cells inside the ball
                    for x in range(max(0, int(np.ceil(gx - half_chord))), min(nx, int(np.floor(gx + half_chord)) + 1)):
                        if not mask[z, y, x]:
                            continue
                        dx = x - gx
                        d2 = dx * dx + dy * dy + dz * dz
                        if d2 <= limit:
                            grid[count, 0], grid[count, 1], grid[count, 2] = dx, dy, dz
                            squared[count] = d2
                            order[count] = count
                            count += 1
            if count < 3:
                flags[i] = True
                for a in range(3):
                    points[i, a] = centres[i, a]
                    normals[i, a] = 0.0
                    frames[i, a, a] = 1.0
                normals[i, 2] = 1.0
                continue
            used = count
            if count > k:
                used = _select_nearest(squared, order, count, k, limit, bins)
            for j in range(used):
                q = order[j]
                offsets[j, 0] = grid[q, 0] * voxel_size
                offsets[j, 1] = grid[q, 1] * voxel_size
                offsets[j, 2] = grid[q, 2] * voxel_size
                distances[j] = np.sqrt(squared[q]) * voxel_size
                samples = max(2, int(np.ceil(samples_per_voxel * np.sqrt(squared[q]))))
                visible = _segment_inside(mask, gx, gy, gz, grid[q, 0], grid[q, 1], grid[q, 2], samples)
                inside[j] = 1.0 if visible else 0.0
            fit_neighbourhood(centres, offsets, distances, inside, used, radius, sigma_normal, False, i, points,
                              normals, coefficients, frames, flags)
    return points, normals, coefficients, frames, flags


@numba.njit(parallel=True, cache=True)
def off_mask(mask, points, origin, voxel_size):  # pragma: no cover (compiled)
    """True where a point (nm, x y z) is farther than one voxel from every mask voxel centre: only the
    ≤ 3 × 3 × 3 grid cells within one voxel along each axis can be that close."""
    n = len(points)
    out = np.ones(n, dtype=np.bool_)
    nz, ny, nx = mask.shape
    for i in numba.prange(n):
        gx = (points[i, 0] - origin[0]) / voxel_size
        gy = (points[i, 1] - origin[1]) / voxel_size
        gz = (points[i, 2] - origin[2]) / voxel_size
        if not (np.isfinite(gx) and np.isfinite(gy) and np.isfinite(gz)):
            continue
        found = False
        for z in range(max(0, int(np.ceil(gz - 1.0))), min(nz, int(np.floor(gz + 1.0)) + 1)):
            for y in range(max(0, int(np.ceil(gy - 1.0))), min(ny, int(np.floor(gy + 1.0)) + 1)):
                for x in range(max(0, int(np.ceil(gx - 1.0))), min(nx, int(np.floor(gx + 1.0)) + 1)):
                    if mask[z, y, x] and (x - gx) ** 2 + (y - gy) ** 2 + (z - gz) ** 2 <= 1.0:
                        found = True
                        break
                if found:
                    break
            if found:
                break
        out[i] = not found
    return out
