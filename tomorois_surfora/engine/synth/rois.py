"""Ground-truth regions of interest: contact sites and invaginations, as implicit regions in nm."""
from dataclasses import dataclass

import numpy as np

from .geometry import rounded_list, capsule_sdf


@dataclass
class ContactRoi:
    """The region around the closest approach of two membranes ``a`` and ``b``.

    A point belongs to the ROI when the sum of its distances to both mid-surfaces is at most
    ``gap + 2 * margin``: between the membranes this holds wherever their local separation is within
    ``2 * margin`` of the closest-approach gap, and at the closest approach the ROI reaches ``margin``
    beyond each membrane.
    """

    label: int
    a: object
    b: object
    gap: float
    point_a: np.ndarray
    point_b: np.ndarray
    margin: float

    @property
    def center(self):
        return 0.5 * (self.point_a + self.point_b)

    def contains(self, x, y, z):
        return np.abs(self.a.sdf(x, y, z)) + np.abs(self.b.sdf(x, y, z)) <= self.gap + 2 * self.margin

    def bounds(self):
        # Lateral reach: local separation grows at least like d^2 / (2 R_max); it stays within
        # gap + 2 margin up to d = sqrt(4 margin R_max). Every ROI point is within gap + 2 margin of
        # both mid-surfaces, so it also lies in both membranes' boxes grown by that much.
        limit = self.gap + 2 * self.margin
        reach = self.gap / 2 + 2 * self.margin + np.sqrt(4 * self.margin * self._largest_radius()) + 2
        lo, hi = self.center - reach, self.center + reach
        for member in (self.a, self.b):
            mlo, mhi = member.bounds()
            lo, hi = np.maximum(lo, mlo - limit), np.minimum(hi, mhi + limit)
        return lo, hi

    def _largest_radius(self):
        return max(self.a.radius, self.b.radius)

    def to_json(self):
        return {"label": self.label, "type": "contact", "membranes": [self.a.label, self.b.label],
                "gap_nm": float(self.gap), "closest_points_nm": [rounded_list(self.point_a), rounded_list(self.point_b)],
                "center_nm": rounded_list(self.center), "margin_nm": float(self.margin)}


@dataclass
class InvaginationRoi:
    """The region enclosing a bud and its neck: within ``bud_radius + margin`` of the bud-centre–mouth axis."""

    label: int
    vesicle: object
    margin: float

    @property
    def radius(self):
        return self.vesicle.bud_radius + self.margin

    def contains(self, x, y, z):
        return capsule_sdf(x, y, z, self.vesicle.bud_center, self.vesicle.mouth, self.radius) <= 0

    def bounds(self):
        ends = np.stack([self.vesicle.bud_center, self.vesicle.mouth])
        return ends.min(axis=0) - self.radius, ends.max(axis=0) + self.radius

    def to_json(self):
        return {"label": self.label, "type": "invagination", "membranes": [self.vesicle.label],
                "center_nm": rounded_list(self.vesicle.bud_center), "mouth_nm": rounded_list(self.vesicle.mouth),
                "bud_diameter_nm": float(2 * self.vesicle.bud_radius), "radius_nm": float(self.radius),
                "opening_axis": self.vesicle.opening_axis, "margin_nm": float(self.margin)}
