"""Membrane shapes as signed distance functions (SDFs) of their mid-surfaces, in nm.

Every shape evaluates its SDF on broadcastable coordinate arrays ``x, y, z`` (nm) and is negative inside.
For spheres and capsules the SDF is exact; the invaginated vesicle combines them with smooth minimum /
maximum so that the neck rim is rounded like a real membrane, which keeps it a close approximation of the
distance (exact away from the rim).
"""
from dataclasses import dataclass

import numpy as np


def unit(v):
    """Return ``v`` scaled to unit length."""
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def sphere_sdf(x, y, z, center, radius):
    """Signed distance to a sphere of ``radius`` around ``center`` (x, y, z)."""
    return np.sqrt((x - center[0]) ** 2 + (y - center[1]) ** 2 + (z - center[2]) ** 2) - radius


def capsule_sdf(x, y, z, start, end, radius):
    """Signed distance to a capsule: all points within ``radius`` of the segment ``start``–``end``."""
    start = np.asarray(start, dtype=float)
    axis = np.asarray(end, dtype=float) - start
    length2 = float(axis @ axis)
    px, py, pz = x - start[0], y - start[1], z - start[2]
    t = np.clip((px * axis[0] + py * axis[1] + pz * axis[2]) / length2, 0.0, 1.0) if length2 > 0 else 0.0
    return np.sqrt((px - t * axis[0]) ** 2 + (py - t * axis[1]) ** 2 + (pz - t * axis[2]) ** 2) - radius


def smooth_min(a, b, k):
    """Polynomial smooth minimum of ``a`` and ``b`` with blending width ``k`` (nm)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1.0 - h) + a * h - k * h * (1.0 - h)


def smooth_max(a, b, k):
    """Polynomial smooth maximum of ``a`` and ``b`` with blending width ``k`` (nm)."""
    return -smooth_min(-a, -b, k)


def segment_distance(p0, p1, q0, q1):
    """Shortest distance between segments p0–p1 and q0–q1 (closest points of two segments, Ericson 2005)."""
    p0, p1, q0, q1 = (np.asarray(v, dtype=float) for v in (p0, p1, q0, q1))
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a, e, f = d1 @ d1, d2 @ d2, d2 @ r
    eps = 1e-12
    if a <= eps and e <= eps:
        return float(np.linalg.norm(r))
    if a <= eps:
        s, t = 0.0, np.clip(f / e, 0.0, 1.0)
    else:
        c = d1 @ r
        if e <= eps:
            s, t = np.clip(-c / a, 0.0, 1.0), 0.0
        else:
            b = d1 @ d2
            denom = a * e - b * b
            s = np.clip((b * f - c * e) / denom, 0.0, 1.0) if denom > eps else 0.0
            t = (b * s + f) / e
            if t < 0.0:
                s, t = np.clip(-c / a, 0.0, 1.0), 0.0
            elif t > 1.0:
                s, t = np.clip((b - c) / a, 0.0, 1.0), 1.0
    return float(np.linalg.norm((p0 + d1 * s) - (q0 + d2 * t)))


@dataclass
class Vesicle:
    """A spherical vesicle membrane."""

    label: int
    center: np.ndarray
    radius: float
    role: str = "isolated"

    def sdf(self, x, y, z):
        return sphere_sdf(x, y, z, self.center, self.radius)

    def bounds(self):
        """Lower and upper (x, y, z) corners of the mid-surface's bounding box in nm."""
        return self.center - self.radius, self.center + self.radius

    def keepout(self):
        """Capsules (start, end, radius) enclosing the membrane, used to keep objects apart."""
        return [(self.center, self.center, self.radius)]

    def to_json(self):
        return {"label": self.label, "type": "vesicle", "role": self.role,
                "center_nm": rounded_list(self.center), "radius_nm": float(self.radius)}


@dataclass
class Tube:
    """A lipid nanotube membrane: a capsule of ``radius`` around the axis ``start``–``end``."""

    label: int
    start: np.ndarray
    end: np.ndarray
    radius: float
    role: str = "isolated"

    def sdf(self, x, y, z):
        return capsule_sdf(x, y, z, self.start, self.end, self.radius)

    def bounds(self):
        return np.minimum(self.start, self.end) - self.radius, np.maximum(self.start, self.end) + self.radius

    def keepout(self):
        return [(self.start, self.end, self.radius)]

    def to_json(self):
        return {"label": self.label, "type": "tube", "role": self.role, "axis_start_nm": rounded_list(self.start),
                "axis_end_nm": rounded_list(self.end), "radius_nm": float(self.radius),
                "length_nm": float(np.linalg.norm(self.end - self.start))}


@dataclass
class BuddedVesicle:
    """A vesicle whose membrane buds inward: a spherical bud inside the lumen, joined to the wall by a neck.

    The bud's interior is topologically outside the vesicle (it opens through the neck at ``mouth``).
    """

    label: int
    center: np.ndarray
    radius: float
    opening: np.ndarray
    bud_radius: float
    neck_length: float
    neck_radius: float
    opening_axis: str
    rounding: float = 3.0

    @property
    def bud_center(self):
        return self.center + (self.radius - self.neck_length - self.bud_radius) * self.opening

    @property
    def mouth(self):
        return self.center + self.radius * self.opening

    def sdf(self, x, y, z):
        outer = sphere_sdf(x, y, z, self.center, self.radius)
        bud = sphere_sdf(x, y, z, self.bud_center, self.bud_radius)
        neck_end = self.center + (self.radius + self.neck_radius + 2 * self.rounding) * self.opening
        neck = capsule_sdf(x, y, z, self.bud_center, neck_end, self.neck_radius)
        hole = smooth_min(bud, neck, self.rounding)
        return smooth_max(outer, -hole, self.rounding)

    def bounds(self):
        return self.center - self.radius, self.center + self.radius

    def keepout(self):
        return [(self.center, self.center, self.radius)]

    def to_json(self):
        return {"label": self.label, "type": "budded_vesicle", "role": "invagination",
                "center_nm": rounded_list(self.center), "radius_nm": float(self.radius),
                "opening_axis": self.opening_axis, "opening_direction": rounded_list(self.opening),
                "bud_center_nm": rounded_list(self.bud_center), "bud_radius_nm": float(self.bud_radius),
                "bud_diameter_nm": float(2 * self.bud_radius), "neck_length_nm": float(self.neck_length),
                "neck_radius_nm": float(self.neck_radius), "mouth_nm": rounded_list(self.mouth)}


def rounded_list(v):
    return [round(float(c), 4) for c in v]
