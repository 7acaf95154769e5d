"""Analytic membrane shapes with known mid-surfaces: test masks for surface extraction and orientation.

Each shape is a mid-surface with a distance function; its mask holds the voxels whose centres lie within
half a membrane thickness of it. ``truth`` samples the mid-surface densely with consistently oriented unit
normals (outward for closed shapes) and a part id per sample (parts are the pieces that must be oriented
consistently among themselves, e.g. each of two parallel sheets).
"""
from dataclasses import dataclass
from typing import Callable, Tuple

import numpy as np
from scipy import ndimage

Array = np.ndarray


@dataclass
class AnalyticShape:
    """A mid-surface: unsigned ``distance`` (nm) from (n, 3) points, a dense ``sample``r, and bounds in nm."""

    name: str
    distance: Callable[[Array], Array]
    sampler: Callable[[float], Tuple[Array, Array, Array]]
    low: Tuple[float, float, float]
    high: Tuple[float, float, float]
    closed: bool
    thickness_nm: float = 4.0

    def mask(self, voxel_size_nm=1.0, pad_nm=6.0, grid_offset_nm=(0.0, 0.0, 0.0)):
        """Boolean (z, y, x) mask and the (x, y, z) nm position of voxel (0, 0, 0).

        With the default offset, voxel centres sit on whole multiples of the voxel size, so a boundary at a
        whole radius passes exactly through voxel centres (e.g. a sphere's outer layer holds only its axis
        voxel near the poles); a sub-voxel ``grid_offset_nm`` gives a mask without such ties.
        """
        distance, low = self.distance_grid(voxel_size_nm, pad_nm, grid_offset_nm)
        return distance <= 0.5 * self.thickness_nm, low

    def distance_grid(self, voxel_size_nm, pad_nm=6.0, grid_offset_nm=(0.0, 0.0, 0.0)):
        """Distance (nm) from every voxel centre to the mid-surface, (z, y, x), and the origin as in ``mask``."""
        low = np.floor((np.asarray(self.low) - pad_nm) / voxel_size_nm) * voxel_size_nm + np.asarray(grid_offset_nm)
        high = np.asarray(self.high) + pad_nm
        counts = np.ceil((high - low) / voxel_size_nm).astype(int) + 1
        axes = [low[i] + voxel_size_nm * np.arange(counts[i]) for i in range(3)]
        x, y, z = np.meshgrid(*axes, indexing="ij")
        distance = self.distance(np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1))
        return np.ascontiguousarray(distance.reshape(x.shape).transpose(2, 1, 0)), low

    def rough_mask(self, voxel_size_nm, roughness_nm, correlation_nm=None, seed=0):
        """A segmentation-like mask: the membrane's two faces displaced by a smooth random field.

        The half-thickness at every voxel is ``thickness/2 + roughness × g``, ``g`` Gaussian noise smoothed
        over ``correlation_nm`` (default 1.5 voxels) and scaled to unit standard deviation; the grid gets a
        random sub-voxel offset. At 1–2 voxels of thickness this gives the staircase, bumps and pin-holes of
        masks from segmentation tools. Returns the mask and its origin as ``mask`` does.
        """
        rng = np.random.default_rng(seed)
        distance, low = self.distance_grid(voxel_size_nm, grid_offset_nm=rng.uniform(0, voxel_size_nm, 3))
        sigma = (correlation_nm or 1.5 * voxel_size_nm) / voxel_size_nm
        field = ndimage.gaussian_filter(rng.normal(size=distance.shape), sigma)
        field *= roughness_nm / max(float(field.std()), 1e-12)
        return distance <= 0.5 * self.thickness_nm + field, low

    def noisy_cloud(self, spacing_nm, noise_nm, seed=0):
        """Mid-surface points about ``spacing_nm`` apart (Poisson-disc), displaced by Gaussian noise of
        ``noise_nm`` per axis: what a user's point cloud looks like. Returns points, true normals, parts."""
        from ..surface.sampling import poisson_disc

        points, normals, parts = self.truth(spacing_nm / 5)
        keep = poisson_disc(points, spacing_nm, seed=seed)
        noise = np.random.default_rng(seed).normal(0.0, noise_nm, (len(keep), 3))
        return points[keep] + noise, normals[keep].astype(np.float64), parts[keep]

    def truth(self, spacing_nm=0.1):
        """Dense mid-surface samples: points (n, 3), unit normals (n, 3), part ids (n,)."""
        return self.sampler(spacing_nm)


def _grid(low, high, spacing):
    return np.arange(low, high + 1e-9, spacing)


def _sphere_samples(centre, radius, spacing, keep=None):
    n = max(100, int(4 * np.pi * radius ** 2 / spacing ** 2))
    i = np.arange(n) + 0.5
    polar = np.arccos(1 - 2 * i / n)
    azimuth = np.pi * (1 + 5 ** 0.5) * i
    normals = np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)
    points = np.asarray(centre) + radius * normals
    if keep is not None:
        chosen = keep(points, normals)
        points, normals = points[chosen], normals[chosen]
    return points, normals


def sphere(radius=20.0, thickness=4.0):
    """A closed vesicle membrane of mid-radius ``radius``."""
    def distance(p):
        return np.abs(np.linalg.norm(p, axis=1) - radius)

    def sampler(s):
        points, normals = _sphere_samples((0, 0, 0), radius, s)
        return points, normals, np.zeros(len(points), dtype=int)
    r = radius + thickness
    return AnalyticShape(f"sphere_r{radius:g}", distance, sampler, (-r, -r, -r), (r, r, r), True, thickness)


def open_sphere(radius=20.0, wedge_deg=30.0, thickness=4.0):
    """A vesicle with the caps missing where its normal is within ``wedge_deg`` of z (the missing wedge)."""
    limit = np.cos(np.radians(wedge_deg))

    def distance(p):
        d = np.abs(np.linalg.norm(p, axis=1) - radius)
        cos_z = np.abs(p[:, 2]) / np.maximum(np.linalg.norm(p, axis=1), 1e-9)
        return np.where(cos_z <= limit, d, np.inf)

    def sampler(s):
        points, normals = _sphere_samples((0, 0, 0), radius, s, keep=lambda p, n: np.abs(n[:, 2]) <= limit)
        return points, normals, np.zeros(len(points), dtype=int)
    r = radius + thickness
    return AnalyticShape(f"open_sphere_r{radius:g}", distance, sampler, (-r, -r, -r), (r, r, r), False, thickness)


def cylinder(radius=15.0, length=60.0, thickness=4.0):
    """An open tube along y."""
    def distance(p):
        d = np.abs(np.hypot(p[:, 0], p[:, 2]) - radius)
        return np.where(np.abs(p[:, 1]) <= 0.5 * length, d, np.inf)

    def sampler(s):
        theta = _grid(0, 2 * np.pi, s / radius)[:-1]
        y = _grid(-0.5 * length, 0.5 * length, s)
        t, yy = (g.ravel() for g in np.meshgrid(theta, y, indexing="ij"))
        normals = np.stack([np.cos(t), np.zeros_like(t), np.sin(t)], axis=1)
        points = radius * normals + np.stack([np.zeros_like(t), yy, np.zeros_like(t)], axis=1)
        return points, normals, np.zeros(len(points), dtype=int)
    r = radius + thickness
    return AnalyticShape(f"cylinder_r{radius:g}", distance, sampler, (-r, -0.5 * length, -r),
                         (r, 0.5 * length, r), False, thickness)


def torus(major=25.0, minor=10.0, thickness=4.0):
    """A closed torus around z."""
    def distance(p):
        return np.abs(np.hypot(np.hypot(p[:, 0], p[:, 1]) - major, p[:, 2]) - minor)

    def sampler(s):
        u = _grid(0, 2 * np.pi, s / (major + minor))[:-1]
        v = _grid(0, 2 * np.pi, s / minor)[:-1]
        uu, vv = (g.ravel() for g in np.meshgrid(u, v, indexing="ij"))
        normals = np.stack([np.cos(vv) * np.cos(uu), np.cos(vv) * np.sin(uu), np.sin(vv)], axis=1)
        centres = major * np.stack([np.cos(uu), np.sin(uu), np.zeros_like(uu)], axis=1)
        return centres + minor * normals, normals, np.zeros(len(uu), dtype=int)
    r = major + minor + thickness
    return AnalyticShape(f"torus_R{major:g}_r{minor:g}", distance, sampler, (-r, -r, -minor - thickness),
                         (r, r, minor + thickness), True, thickness)


def parallel_sheets(gap=3.0, size=40.0, thickness=4.0):
    """Two flat membranes with ``gap`` nm of free space between their masks (mid-planes gap + thickness apart)."""
    half = 0.5 * (gap + thickness)

    def distance(p):
        inside = (np.abs(p[:, 0]) <= 0.5 * size) & (np.abs(p[:, 1]) <= 0.5 * size)
        return np.where(inside, np.minimum(np.abs(p[:, 2] - half), np.abs(p[:, 2] + half)), np.inf)

    def sampler(s):
        g = _grid(-0.5 * size, 0.5 * size, s)
        xx, yy = (a.ravel() for a in np.meshgrid(g, g, indexing="ij"))
        points, normals, parts = [], [], []
        for part, sign in enumerate((1.0, -1.0)):
            points.append(np.stack([xx, yy, np.full_like(xx, sign * half)], axis=1))
            normals.append(np.tile([0.0, 0.0, sign], (len(xx), 1)))
            parts.append(np.full(len(xx), part))
        return np.concatenate(points), np.concatenate(normals), np.concatenate(parts)
    return AnalyticShape(f"sheets_gap{gap:g}", distance, sampler, (-0.5 * size, -0.5 * size, -half - thickness),
                         (0.5 * size, 0.5 * size, half + thickness), False, thickness)


def hairpin(gap=3.0, length=40.0, width=30.0, thickness=4.0):
    """One membrane folded back on itself: two arms with ``gap`` nm of free space between them (along x,
    stacked in z) joined by a half-cylinder fold at x = 0; extruded along y."""
    half = 0.5 * (gap + thickness)

    def distance(p):
        x, z = p[:, 0], p[:, 2]
        arms = np.minimum(np.abs(z - half), np.abs(z + half))
        fold = np.abs(np.hypot(x, z) - half)
        d = np.where(x >= 0, np.where(x <= length, arms, np.inf), fold)
        return np.where(np.abs(p[:, 1]) <= 0.5 * width, d, np.inf)

    def sampler(s):
        y = _grid(-0.5 * width, 0.5 * width, s)
        x = _grid(0, length, s)
        theta = _grid(0.5 * np.pi, 1.5 * np.pi, s / half)
        pieces = []
        for sign in (1.0, -1.0):
            xx, yy = (a.ravel() for a in np.meshgrid(x, y, indexing="ij"))
            pieces.append((np.stack([xx, yy, np.full_like(xx, sign * half)], 1), np.tile([0, 0, sign], (len(xx), 1))))
        tt, yy = (a.ravel() for a in np.meshgrid(theta, y, indexing="ij"))
        radial = np.stack([np.cos(tt), np.zeros_like(tt), np.sin(tt)], axis=1)
        pieces.append((half * radial + np.stack([np.zeros_like(tt), yy, np.zeros_like(tt)], 1), radial))
        points = np.concatenate([p for p, _ in pieces])
        normals = np.concatenate([n for _, n in pieces]).astype(float)
        return points, normals, np.zeros(len(points), dtype=int)
    return AnalyticShape(f"hairpin_gap{gap:g}", distance, sampler, (-half - thickness, -0.5 * width, -half - thickness),
                         (length, 0.5 * width, half + thickness), False, thickness)


def invaginated_vesicle(radius=30.0, pocket_radius=12.0, thickness=4.0):
    """A closed vesicle with a spherical pocket pushed into it at +z (an invagination)."""
    pocket = np.array([0.0, 0.0, radius])

    def distance(p):
        outer = np.linalg.norm(p, axis=1) - radius
        dent = pocket_radius - np.linalg.norm(p - pocket, axis=1)
        return np.abs(np.maximum(outer, dent))

    def sampler(s):
        p1, n1 = _sphere_samples((0, 0, 0), radius, s, keep=lambda p, n: np.linalg.norm(p - pocket, axis=1)
                                 >= pocket_radius)
        p2, n2 = _sphere_samples(pocket, pocket_radius, s, keep=lambda p, n: np.linalg.norm(p, axis=1) <= radius)
        points = np.concatenate([p1, p2])
        return points, np.concatenate([n1, -n2]), np.zeros(len(points), dtype=int)
    r = radius + thickness
    return AnalyticShape(f"invaginated_r{radius:g}", distance, sampler, (-r, -r, -r), (r, r, r), True, thickness)


def benchmark_shapes():
    """The shapes the surface benchmark measures, at the sizes it reports."""
    return [sphere(20.0), open_sphere(20.0), cylinder(15.0), torus(25.0, 10.0), parallel_sheets(3.0),
            parallel_sheets(6.0), parallel_sheets(10.0), hairpin(3.0), invaginated_vesicle(30.0, 12.0)]
