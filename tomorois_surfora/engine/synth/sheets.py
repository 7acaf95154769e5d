"""Shapes and regions of the plasma-membrane contact family: a sheet crossing the field, bent tubes that
come close to it at one place, flat cisternae (double membranes) and the contact regions.

This family is written apart from :mod:`.geometry` and :mod:`.rois` on purpose: it is the benchmark's
second, independent family, which defaults are never tuned on. Everything is in nm, points as (x, y, z);
SDFs are negative inside (for the sheet: on the side its normal points away from).
"""
from dataclasses import dataclass

import numpy as np

from .geometry import capsule_sdf, rounded_list


@dataclass
class UndulatingSheet:
    """A membrane sheet crossing the whole volume: the plane through ``origin`` with unit ``normal``, displaced
    along the normal by ``amplitude · sin(2π s / wavelength + phase)``, s the distance along ``tangent``.

    The SDF is the height field's first-order distance (height difference over the gradient's length),
    accurate to a fraction of a nm for the gentle undulations used here.
    """

    label: int
    origin: np.ndarray
    normal: np.ndarray
    tangent: np.ndarray
    amplitude: float
    wavelength: float
    phase: float
    extent: np.ndarray
    role: str = "plasma_membrane"

    def _height(self, s):
        return self.amplitude * np.sin(2 * np.pi * s / self.wavelength + self.phase)

    def sdf(self, x, y, z):
        dx, dy, dz = x - self.origin[0], y - self.origin[1], z - self.origin[2]
        along = dx * self.normal[0] + dy * self.normal[1] + dz * self.normal[2]
        s = dx * self.tangent[0] + dy * self.tangent[1] + dz * self.tangent[2]
        slope = self.amplitude * 2 * np.pi / self.wavelength * np.cos(2 * np.pi * s / self.wavelength + self.phase)
        return (along - self._height(s)) / np.sqrt(1 + slope ** 2)

    def point_at(self, s, z):
        """The sheet's point at distance ``s`` along the tangent from the origin's projection, at height ``z``
        (the sheet is nearly vertical: its normal's z-component is small)."""
        base = self.origin + s * self.tangent
        base = base + self._height(s) * self.normal
        # move along the normal's in-plane complement to reach height z (sheet tilt keeps this well posed)
        up = np.array([0.0, 0.0, 1.0]) - self.normal[2] * self.normal
        up = up / np.linalg.norm(up)
        return base + (z - base[2]) / up[2] * up

    def local_normal(self, point, step=0.5):
        """Unit gradient of the SDF at ``point`` (central differences)."""
        point = np.asarray(point, dtype=float)
        gradient = np.array([self.sdf(*(point + step * e)) - self.sdf(*(point - step * e)) for e in np.eye(3)])
        return gradient / np.linalg.norm(gradient)

    def bounds(self):
        return np.zeros(3), np.asarray(self.extent, dtype=float)

    def keepout(self):
        return []

    def to_json(self):
        return {"label": self.label, "type": "sheet", "role": self.role, "origin_nm": rounded_list(self.origin),
                "normal": rounded_list(self.normal), "tangent": rounded_list(self.tangent),
                "amplitude_nm": float(self.amplitude), "wavelength_nm": float(self.wavelength)}


@dataclass
class BentTube:
    """A tube along the polyline ``start``–``vertex``–``end`` (two capsules sharing the vertex)."""

    label: int
    start: np.ndarray
    vertex: np.ndarray
    end: np.ndarray
    radius: float
    role: str = "isolated"

    def sdf(self, x, y, z):
        return np.minimum(capsule_sdf(x, y, z, self.start, self.vertex, self.radius),
                          capsule_sdf(x, y, z, self.vertex, self.end, self.radius))

    def axis_points(self, spacing=2.0):
        """Points along the axis, about ``spacing`` nm apart."""
        points = []
        for a, b in ((self.start, self.vertex), (self.vertex, self.end)):
            n = max(2, int(np.linalg.norm(b - a) / spacing) + 1)
            points.append(a + np.linspace(0, 1, n)[:, None] * (b - a))
        return np.concatenate(points)

    def bounds(self):
        ends = np.stack([self.start, self.vertex, self.end])
        return ends.min(axis=0) - self.radius, ends.max(axis=0) + self.radius

    def keepout(self):
        return [(self.start, self.vertex, self.radius), (self.vertex, self.end, self.radius)]

    def to_json(self):
        return {"label": self.label, "type": "bent_tube", "role": self.role,
                "axis_nm": [rounded_list(p) for p in (self.start, self.vertex, self.end)],
                "radius_nm": float(self.radius)}


def disk_distance(x, y, z, center, normal, radius):
    """Distance from points to a flat disk of ``radius`` around ``center`` with unit ``normal``."""
    dx, dy, dz = x - center[0], y - center[1], z - center[2]
    height = dx * normal[0] + dy * normal[1] + dz * normal[2]
    radial = np.sqrt(np.maximum((dx - height * normal[0]) ** 2 + (dy - height * normal[1]) ** 2
                                + (dz - height * normal[2]) ** 2, 0.0))
    beyond = np.maximum(radial - radius, 0.0)
    return np.sqrt(height ** 2 + beyond ** 2)


@dataclass
class Cisterna:
    """A flat cisterna: one closed membrane whose two faces run parallel, ``gap`` nm apart, over a disk of
    ``radius`` (a double membrane seen in section: a look-alike of a contact site)."""

    label: int
    center: np.ndarray
    normal: np.ndarray
    radius: float
    gap: float
    role: str = "double_membrane"

    def sdf(self, x, y, z):
        return disk_distance(x, y, z, self.center, self.normal, self.radius) - self.gap / 2

    def bounds(self):
        reach = self.radius + self.gap / 2
        return self.center - reach, self.center + reach

    def keepout(self):
        return [(self.center, self.center, self.radius + self.gap / 2)]

    def to_json(self):
        return {"label": self.label, "type": "cisterna", "role": self.role, "center_nm": rounded_list(self.center),
                "normal": rounded_list(self.normal), "radius_nm": float(self.radius), "gap_nm": float(self.gap)}


@dataclass
class SheetContactRegion:
    """The region between a sheet and a tube around their closest approach.

    A point belongs to it when it lies between the two membranes (on the tube's side of the sheet and outside
    the tube, each membrane's own half thickness ``half_thickness`` included) and its distances to both
    mid-surfaces add up to at most ``gap + 2 · margin``. The sum grows away from the closest approach along
    the tube (the tube leaves the sheet), and above and below it (the tube is round), so the region is
    bounded in x, y and z.
    """

    label: int
    sheet: UndulatingSheet
    tube: BentTube
    side: float
    gap: float
    point_sheet: np.ndarray
    point_tube: np.ndarray
    margin: float
    half_thickness: float = 2.5

    @property
    def center(self):
        return 0.5 * (self.point_sheet + self.point_tube)

    def contains(self, x, y, z):
        to_sheet = self.side * self.sheet.sdf(x, y, z)
        to_tube = self.tube.sdf(x, y, z)
        return ((to_sheet >= -self.half_thickness) & (to_tube >= -self.half_thickness)
                & (np.abs(to_sheet) + np.abs(to_tube) <= self.gap + 2 * self.margin))

    def bounds(self):
        reach = self.gap / 2 + 2 * self.margin + np.sqrt(8 * self.margin * (self.tube.radius + 200.0))
        return self.center - reach, self.center + reach

    def to_json(self):
        return {"label": self.label, "type": "sheet_contact", "membranes": [self.sheet.label, self.tube.label],
                "gap_nm": float(self.gap),
                "closest_points_nm": [rounded_list(self.point_sheet), rounded_list(self.point_tube)],
                "center_nm": rounded_list(self.center), "margin_nm": float(self.margin)}


@dataclass
class CisternaLumen:
    """The lumen between a cisterna's two faces: where a user would flag a false contact (a penalty region)."""

    label: int
    cisterna: Cisterna

    def contains(self, x, y, z):
        return self.cisterna.sdf(x, y, z) < -2.5

    def bounds(self):
        return self.cisterna.bounds()
