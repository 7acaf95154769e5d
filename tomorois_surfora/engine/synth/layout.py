"""Random, non-overlapping placement of membranes in a tomogram: contact-site and invagination scenes.

Objects are drawn one group at a time (a contact pair, a vesicle-in-vesicle pair, a lone tube, ...) and
kept only if they fit in the volume and stay ``separation`` nm away from every group already placed, so
that distractors never form accidental contact sites. Everything is in nm, points as (x, y, z).
"""
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

from .geometry import BuddedVesicle, Tube, Vesicle, segment_distance, unit
from .rois import ContactRoi, InvaginationRoi

MAX_ATTEMPTS = 400
WALL_PAD_NM = 3.0          # half a membrane's thickness, plus a little: membranes stay inside the volume
MAX_ELEVATION_DEG = 20.0   # tubes and contact directions stay near the slab's plane, as in real lamellae


@dataclass
class ContactSceneSpec:
    """What a contact-site tomogram holds; ranges are (low, high) in nm."""

    contacts: int = 2
    vesicle_in_vesicle: int = 1
    isolated_tubes: int = 1
    isolated_vesicles: int = 1
    vesicle_radius: Tuple[float, float] = (20.0, 60.0)
    tube_radius: Tuple[float, float] = (8.0, 20.0)
    gap: Tuple[float, float] = (10.0, 30.0)
    tube_half_length: Tuple[float, float] = (40.0, 100.0)
    margin: float = 8.0
    separation: float = 36.0


@dataclass
class InvaginationSceneSpec:
    """What an invagination tomogram holds; ranges are (low, high) in nm."""

    budded_vesicles: int = 2
    plain_vesicles: int = 1
    vesicle_radius: Tuple[float, float] = (30.0, 90.0)
    bud_diameter: Tuple[float, float] = (20.0, 80.0)
    neck_length: Tuple[float, float] = (6.0, 12.0)
    neck_radius_ratio: Tuple[float, float] = (0.35, 0.6)
    min_neck_radius: float = 5.0
    margin: float = 8.0
    separation: float = 30.0


@dataclass
class Scene:
    """Placed membranes, ground-truth ROIs, distractor records, what was requested versus placed, and dense
    particles (centre (x, y, z) nm, radius nm; density only, not labelled)."""

    membranes: List[object] = field(default_factory=list)
    rois: List[object] = field(default_factory=list)
    distractors: List[dict] = field(default_factory=list)
    decoys: List[object] = field(default_factory=list)
    requested: dict = field(default_factory=dict)
    placed: dict = field(default_factory=dict)
    particles: List[Tuple[np.ndarray, float]] = field(default_factory=list)


class _Placer:
    """Keeps the capsules of placed groups and tests candidates against the volume and each other."""

    def __init__(self, extent, separation):
        self.extent = np.asarray(extent, dtype=float)
        self.separation = separation
        self.keepouts = []

    def largest_radius(self):
        """Largest sphere radius that fits inside the volume with the wall pad."""
        return float(self.extent.min() / 2 - WALL_PAD_NM)

    def random_center(self, rng, radius):
        lo, hi = radius + WALL_PAD_NM, self.extent - radius - WALL_PAD_NM
        if np.any(hi < lo):
            return None
        return rng.uniform(lo, hi)

    def inside(self, point, radius, axes=(0, 1, 2)):
        return all(radius + WALL_PAD_NM <= point[a] <= self.extent[a] - radius - WALL_PAD_NM for a in axes)

    def accept_if_clear(self, capsules):
        for placed in self.keepouts:
            for (p0, p1, pr) in placed:
                for (q0, q1, qr) in capsules:
                    if segment_distance(p0, p1, q0, q1) - pr - qr < self.separation:
                        return False
        self.keepouts.append(capsules)
        return True


def _direction(rng, max_elevation_deg=MAX_ELEVATION_DEG):
    azimuth = rng.uniform(0, 2 * np.pi)
    elevation = np.deg2rad(rng.uniform(-max_elevation_deg, max_elevation_deg))
    return np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])


def _perpendicular_axis(rng, u, max_tilt_deg=15.0):
    """A unit axis perpendicular to ``u``, tilted at most ``max_tilt_deg`` out of the x–y plane's direction."""
    e1 = unit(np.cross(u, [0.0, 0.0, 1.0]))
    e2 = np.cross(u, e1)
    beta = np.deg2rad(rng.uniform(-max_tilt_deg, max_tilt_deg))
    return np.cos(beta) * e1 + np.sin(beta) * e2


def _tube_through(placer, rng, point, axis, radius, half_length_range):
    """A tube through ``point`` along ``axis`` whose ends stay inside the slab (z); None if too short."""
    lengths = []
    for sign in (-1.0, 1.0):
        length = rng.uniform(*half_length_range)
        dz = sign * axis[2]
        if dz > 1e-9:
            length = min(length, (placer.extent[2] - radius - WALL_PAD_NM - point[2]) / dz)
        elif dz < -1e-9:
            length = min(length, (point[2] - radius - WALL_PAD_NM) / -dz)
        lengths.append(length)
    if min(lengths) < 20.0:
        return None
    return Tube(0, point - lengths[0] * axis, point + lengths[1] * axis, radius)


def _vesicle_radius(placer, rng, radius_range, minimum=None):
    lo = radius_range[0] if minimum is None else max(radius_range[0], minimum)
    hi = min(radius_range[1], placer.largest_radius())
    return None if hi < lo else rng.uniform(lo, hi)


def _contact_pair(placer, rng, spec):
    radius = _vesicle_radius(placer, rng, spec.vesicle_radius)
    if radius is None:
        return None
    center = placer.random_center(rng, radius)
    if center is None:
        return None
    tube_radius, gap = rng.uniform(*spec.tube_radius), rng.uniform(*spec.gap)
    u = _direction(rng)
    closest = center + (radius + gap + tube_radius) * u
    if not placer.inside(closest, tube_radius + spec.margin):
        return None
    tube = _tube_through(placer, rng, closest, _perpendicular_axis(rng, u), tube_radius, spec.tube_half_length)
    if tube is None:
        return None
    vesicle = Vesicle(0, center, radius, role="contact")
    tube.role = "contact"
    return [vesicle, tube], {"gap": gap, "point_a": center + radius * u, "point_b": closest - tube_radius * u}


def _vesicle_in_vesicle(placer, rng, spec):
    gap = rng.uniform(*spec.gap)
    outer_radius = _vesicle_radius(placer, rng, spec.vesicle_radius, minimum=gap + 15.0)
    if outer_radius is None:
        return None
    center = placer.random_center(rng, outer_radius)
    if center is None:
        return None
    inner_radius = rng.uniform(12.0, outer_radius - gap - 3.0)
    offset = outer_radius - inner_radius - gap
    v = unit(rng.normal(size=3))
    inner_center = center + offset * v
    outer, inner = Vesicle(0, center, outer_radius, "outer"), Vesicle(0, inner_center, inner_radius, "inner")
    return [outer, inner], {"gap": gap, "point_a": center + outer_radius * v,
                            "point_b": inner_center + inner_radius * v}


def _isolated_tube(placer, rng, spec):
    radius = rng.uniform(*spec.tube_radius)
    center = placer.random_center(rng, radius)
    if center is None:
        return None
    axis = _direction(rng, max_elevation_deg=15.0)
    tube = _tube_through(placer, rng, center, axis, radius, (spec.tube_half_length[0], 1.5 * spec.tube_half_length[1]))
    return None if tube is None else ([tube], {})


def _isolated_vesicle(placer, rng, spec):
    radius = _vesicle_radius(placer, rng, spec.vesicle_radius)
    center = None if radius is None else placer.random_center(rng, radius)
    return None if center is None else ([Vesicle(0, center, radius)], {})


def _budded_vesicle(placer, rng, spec, along_z):
    neck_length = rng.uniform(*spec.neck_length)
    min_bud_radius = spec.bud_diameter[0] / 2
    radius = _vesicle_radius(placer, rng, spec.vesicle_radius, minimum=min_bud_radius + neck_length + 6.0)
    center = None if radius is None else placer.random_center(rng, radius)
    if center is None:
        return None
    bud_radius = rng.uniform(min_bud_radius, min(spec.bud_diameter[1] / 2, radius - neck_length - 6.0))
    neck_radius = max(spec.min_neck_radius, rng.uniform(*spec.neck_radius_ratio) * bud_radius)
    if along_z:
        opening = np.array([0.0, 0.0, rng.choice([-1.0, 1.0])])
    else:
        azimuth = rng.uniform(0, 2 * np.pi)
        opening = np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
    vesicle = BuddedVesicle(0, center, radius, opening, bud_radius, neck_length, neck_radius,
                            opening_axis="z" if along_z else "xy")
    return [vesicle], {}


LAYOUT_TRIES = 8


def _place_round_robin(scene, placer, groups):
    """Place groups in round-robin order over their kinds, so that no kind crowds out the others.

    ``groups`` is a list of (name, count, build, on_placed); ``build(index)`` makes a candidate
    (membranes, info) or None, and ``on_placed(membranes, info)`` records ROIs or distractors.
    """
    placed = {name: 0 for name, *_ in groups}
    for round_index in range(max(count for _, count, _, _ in groups)):
        for name, count, build, on_placed in groups:
            if round_index >= count:
                continue
            for _ in range(MAX_ATTEMPTS):
                candidate = build(round_index)
                if candidate is None:
                    continue
                membranes, info = candidate
                if placer.accept_if_clear([c for m in membranes for c in m.keepout()]):
                    for membrane in membranes:
                        membrane.label = len(scene.membranes) + 1
                        scene.membranes.append(membrane)
                    on_placed(membranes, info)
                    placed[name] += 1
                    break
    scene.requested = {name: count for name, count, _, _ in groups}
    scene.placed = placed


def _best_layout(make_scene, rng):
    """Run ``make_scene(rng)`` up to LAYOUT_TRIES times; keep the first scene that placed everything, or
    the one that placed the most objects. Deterministic for a given ``rng`` state."""
    best = None
    for _ in range(LAYOUT_TRIES):
        scene = make_scene(rng)
        if best is None or sum(scene.placed.values()) > sum(best.placed.values()):
            best = scene
        if best.placed == best.requested:
            break
    return best


def layout_contacts(extent, rng, spec=None):
    """Place contact pairs (vesicle beside tube) and distractors in a volume of ``extent`` (x, y, z) nm.

    Returns
    -------
    Scene
        One :class:`ContactRoi` per placed contact pair; vesicle-in-vesicle pairs, lone tubes and lone
        vesicles are recorded as distractors (the first at the same gaps, but not contact sites).
    """
    spec = spec or ContactSceneSpec()

    def make_scene(rng):
        scene, placer = Scene(), _Placer(extent, spec.separation)

        def add_contact(membranes, info):
            vesicle, tube = membranes
            scene.rois.append(ContactRoi(len(scene.rois) + 1, vesicle, tube, info["gap"],
                                         info["point_a"], info["point_b"], spec.margin))

        def add_distractor(kind):
            def record(membranes, info):
                entry = {"type": kind, "membranes": [m.label for m in membranes]}
                if "gap" in info:
                    entry["gap_nm"] = float(info["gap"])
                    # The region a contact would occupy: what a user flags with a penalty mask.
                    scene.decoys.append(ContactRoi(len(scene.decoys) + 1, *membranes, info["gap"],
                                                   info["point_a"], info["point_b"], spec.margin))
                    entry["decoy_label"] = len(scene.decoys)
                scene.distractors.append(entry)
            return record

        _place_round_robin(scene, placer, [
            ("contacts", spec.contacts, lambda i: _contact_pair(placer, rng, spec), add_contact),
            ("vesicle_in_vesicle", spec.vesicle_in_vesicle, lambda i: _vesicle_in_vesicle(placer, rng, spec),
             add_distractor("vesicle_in_vesicle")),
            ("isolated_tubes", spec.isolated_tubes, lambda i: _isolated_tube(placer, rng, spec),
             add_distractor("isolated_tube")),
            ("isolated_vesicles", spec.isolated_vesicles, lambda i: _isolated_vesicle(placer, rng, spec),
             add_distractor("isolated_vesicle")),
        ])
        return scene

    return _best_layout(make_scene, rng)


def layout_invaginations(extent, rng, spec=None):
    """Place vesicles with inward buds (openings alternately along z and in the x–y plane) and plain vesicles."""
    spec = spec or InvaginationSceneSpec()

    def make_scene(rng):
        scene, placer = Scene(), _Placer(extent, spec.separation)

        def add_bud(membranes, info):
            scene.rois.append(InvaginationRoi(len(scene.rois) + 1, membranes[0], spec.margin))

        def add_plain(membranes, info):
            scene.distractors.append({"type": "plain_vesicle", "membranes": [membranes[0].label]})

        _place_round_robin(scene, placer, [
            ("budded_vesicles", spec.budded_vesicles,
             lambda i: _budded_vesicle(placer, rng, spec, along_z=(i % 2 == 0)), add_bud),
            ("plain_vesicles", spec.plain_vesicles, lambda i: _isolated_vesicle(placer, rng, spec), add_plain),
        ])
        return scene

    return _best_layout(make_scene, rng)
