"""Where a binary mask is, between voxel centres: trilinear occupancy sampled along edges and rays (numba).

The mask (z, y, x) is read as a continuous field, 1 at member voxel centres and 0 at the others, linearly
interpolated; its 0.5 level is the mask's boundary. Points are in nm, x y z, with the mask's origin (the
position of voxel (0, 0, 0)) and voxel size.
"""
import numpy as np

from ..parallel import numba


@numba.njit(cache=True)
def trilinear_occupancy(mask, x, y, z):  # pragma: no cover (compiled)
    """The binary ``mask`` (z, y, x) trilinearly interpolated at voxel coordinates (x, y, z); 0 outside."""
    nz, ny, nx = mask.shape
    x0, y0, z0 = int(np.floor(x)), int(np.floor(y)), int(np.floor(z))
    fx, fy, fz = x - x0, y - y0, z - z0
    total = 0.0
    for dz in range(2):
        zz = z0 + dz
        if zz < 0 or zz >= nz:
            continue
        wz = fz if dz else 1.0 - fz
        for dy in range(2):
            yy = y0 + dy
            if yy < 0 or yy >= ny:
                continue
            wy = fy if dy else 1.0 - fy
            for dx in range(2):
                xx = x0 + dx
                if xx < 0 or xx >= nx or not mask[zz, yy, xx]:
                    continue
                total += wz * wy * (fx if dx else 1.0 - fx)
    return total


@numba.njit(parallel=True, cache=True)
def edges_leaving(mask, origin, voxel_size, points, edges, occupancy):  # pragma: no cover (compiled)
    """Per edge: does the support fall below ``occupancy`` somewhere along it (sampled every ¼ voxel)?"""
    out = np.zeros(len(edges), dtype=np.bool_)
    for e in numba.prange(len(edges)):
        a = (points[edges[e, 0]] - origin) / voxel_size
        b = (points[edges[e, 1]] - origin) / voxel_size
        samples = max(2, int(np.ceil(4.0 * np.sqrt(np.sum((b - a) ** 2)))))
        for s in range(1, samples):
            p = a + (s / samples) * (b - a)
            if trilinear_occupancy(mask, p[0], p[1], p[2]) < occupancy:
                out[e] = True
                break
    return out


@numba.njit(parallel=True, cache=True)
def face_offsets(mask, origin, voxel_size, points, normals, reach, step):  # pragma: no cover (compiled)
    """Per point: the signed distance (nm, along its normal) to the midpoint between the mask's two faces,
    the 0.5 crossings found by marching ``step`` voxels at a time up to ``reach`` voxels each way. NaN where
    the point is outside the mask or a face is not found."""
    out = np.full(len(points), np.nan)
    for i in numba.prange(len(points)):
        p = (points[i] - origin) / voxel_size
        d = normals[i]
        faces = np.zeros(2)
        found_both = True
        for side in range(2):
            sign = 1.0 if side == 0 else -1.0
            previous = trilinear_occupancy(mask, p[0], p[1], p[2])
            if previous < 0.5:
                found_both = False
                break
            found = False
            s = step
            while s <= reach:
                q = p + sign * s * d
                occupancy = trilinear_occupancy(mask, q[0], q[1], q[2])
                if occupancy < 0.5:
                    faces[side] = sign * (s - step * (0.5 - occupancy) / (previous - occupancy))
                    found = True
                    break
                previous = occupancy
                s += step
            if not found:
                found_both = False
                break
        if found_both:
            out[i] = 0.5 * (faces[0] + faces[1]) * voxel_size
    return out
