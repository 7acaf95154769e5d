"""Layout of plasma-membrane contact scenes: one sheet crossing the field, partner tubes at different depths
that each come close to it at one place, and look-alikes (cisternae, lone tubes, vesicles, particles).

Candidates are kept only when they stay ``separation`` nm from everything already placed, except a contact
tube's own approach to the sheet; look-alikes stay ``sheet_separation`` nm from the sheet, beyond the reach of
the family's own contact definition (a gap up to the largest contact gap, plus the ROI's margins), so that
none of them is an unlabelled contact. Everything is in nm, points as (x, y, z).
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .geometry import Vesicle, segment_distance, unit
from .layout import Scene
from .sheets import BentTube, Cisterna, CisternaLumen, SheetContactRegion, UndulatingSheet

PAD_NM = 4.0
ATTEMPTS = 300


@dataclass
class PmContactSceneSpec:
    """What a plasma-membrane contact tomogram holds; ranges are (low, high) in nm or degrees."""

    contacts: int = 3
    cisternae: int = 1
    lone_tubes: int = 1
    vesicles: int = 2
    particles: int = 40
    tube_radius: Tuple[float, float] = (10.0, 22.0)
    gap: Tuple[float, float] = (10.0, 30.0)
    arm_length: Tuple[float, float] = (40.0, 90.0)
    arm_angle_deg: Tuple[float, float] = (15.0, 35.0)
    vesicle_radius: Tuple[float, float] = (15.0, 45.0)
    cisterna_radius: Tuple[float, float] = (30.0, 60.0)
    sheet_tilt_deg: float = 12.0
    margin: float = 6.0
    separation: float = 20.0
    sheet_separation: float = 42.0  # ≥ the largest gap + 2 · margin: no look-alike is a contact by definition


def _sheet(extent, rng, spec):
    azimuth = rng.uniform(0, 2 * np.pi)
    tilt = np.deg2rad(rng.uniform(-spec.sheet_tilt_deg, spec.sheet_tilt_deg))
    normal = np.array([np.cos(tilt) * np.cos(azimuth), np.cos(tilt) * np.sin(azimuth), np.sin(tilt)])
    tangent = unit(np.cross([0.0, 0.0, 1.0], normal))
    origin = extent / 2 + rng.uniform(-0.15, 0.15) * extent * np.array([1, 1, 0]) * np.abs(normal)
    return UndulatingSheet(1, origin, normal, tangent, amplitude=rng.uniform(3.0, 10.0),
                           wavelength=rng.uniform(250.0, 500.0), phase=rng.uniform(0, 2 * np.pi),
                           extent=np.asarray(extent, dtype=float))


def _arm_end(start, direction, length, extent, reach, shortest=40.0):
    """End of an arm from ``start`` along unit ``direction``, shortened to stay ``reach`` inside the volume;
    None when less than ``shortest`` nm fits."""
    lo, hi = np.full(3, reach + PAD_NM), extent - reach - PAD_NM
    for axis in range(3):
        if direction[axis] > 1e-9:
            length = min(length, (hi[axis] - start[axis]) / direction[axis])
        elif direction[axis] < -1e-9:
            length = min(length, (start[axis] - lo[axis]) / -direction[axis])
    return None if length < shortest else start + length * direction


def _inside(points, extent, reach):
    points = np.atleast_2d(points)
    return bool(np.all(points >= reach + PAD_NM) and np.all(points <= extent - reach - PAD_NM))


class _Room:
    """What is placed so far: capsules of objects (to keep apart) and the sheet (kept away from distractors)."""

    def __init__(self, extent, sheet, separation, sheet_separation):
        self.extent, self.sheet, self.separation = np.asarray(extent, float), sheet, separation
        self.sheet_separation = sheet_separation
        self.capsules = []

    def clear_of_objects(self, capsules):
        return all(segment_distance(p0, p1, q0, q1) - pr - qr >= self.separation
                   for (p0, p1, pr) in self.capsules for (q0, q1, qr) in capsules)

    def clear_of_sheet(self, points, reach):
        distances = np.abs(self.sheet.sdf(points[:, 0], points[:, 1], points[:, 2]))
        return bool(np.all(distances - reach >= self.sheet_separation))

    def add(self, capsules):
        self.capsules.extend(capsules)


def _contact_tube(room, rng, spec, side):
    """A bent tube whose vertex lies ``gap`` from the sheet on ``side``, arms leaving the sheet at an angle."""
    radius, gap = rng.uniform(*spec.tube_radius), rng.uniform(*spec.gap)
    extent = room.extent
    depth = rng.uniform(radius + PAD_NM + spec.margin, extent[2] - radius - PAD_NM - spec.margin)
    span = np.abs(room.sheet.tangent[:2]) @ extent[:2]
    on_sheet = room.sheet.point_at(rng.uniform(-0.45, 0.45) * span, depth)
    normal = side * room.sheet.local_normal(on_sheet)
    vertex = on_sheet + (gap + radius) * normal
    along = unit(np.cross([0.0, 0.0, 1.0], normal))
    arms = []
    for sign in (-1.0, 1.0):
        angle = np.deg2rad(rng.uniform(*spec.arm_angle_deg))
        dip = np.deg2rad(rng.uniform(-8.0, 8.0))
        direction = unit(np.cos(angle) * sign * along + np.sin(angle) * normal + np.sin(dip) * np.array([0, 0, 1.0]))
        arms.append(_arm_end(vertex, direction, rng.uniform(*spec.arm_length), extent, radius))
    if any(a is None for a in arms) or not _inside(vertex, extent, radius) or not _inside(on_sheet, extent, 0.0):
        return None
    tube = BentTube(0, arms[0], vertex, arms[1], radius, role="contact")
    axis = tube.axis_points()
    to_sheet = side * room.sheet.sdf(axis[:, 0], axis[:, 1], axis[:, 2]) - radius
    far = np.linalg.norm(axis - vertex, axis=1) > 70.0
    # the tube touches the sheet's neighbourhood only at its vertex: no second contact further along
    if np.any(to_sheet < gap - 0.5) or np.any(to_sheet[far] < gap + 2 * spec.margin):
        return None
    if not room.clear_of_objects(tube.keepout()):
        return None
    return tube, gap, on_sheet, vertex - radius * normal


def _free_point(room, rng, reach):
    point = rng.uniform(reach + PAD_NM, room.extent - reach - PAD_NM)
    return point if room.clear_of_sheet(point[None], reach) else None


def _cisterna(room, rng, spec):
    gap = rng.uniform(*spec.gap)
    radius = rng.uniform(*spec.cisterna_radius)
    radius = min(radius, room.extent[2] / 2 - PAD_NM - gap)
    if radius < 20.0:
        return None
    center = _free_point(room, rng, radius + gap / 2)
    if center is None:
        return None
    azimuth, elevation = rng.uniform(0, 2 * np.pi), np.deg2rad(rng.uniform(-20, 20))
    normal = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    cisterna = Cisterna(0, center, normal, radius, gap)
    # the rim must stay inside the volume and away from the sheet: check points around it
    e1 = unit(np.cross(normal, [0.0, 0.0, 1.0]))
    e2 = np.cross(normal, e1)
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    rim = center + radius * (np.cos(angles)[:, None] * e1 + np.sin(angles)[:, None] * e2)
    if not _inside(rim, room.extent, gap / 2) or not room.clear_of_sheet(rim, gap / 2):
        return None
    return cisterna if room.clear_of_objects(cisterna.keepout()) else None


def _lone_tube(room, rng, spec):
    radius = rng.uniform(*spec.tube_radius)
    vertex = _free_point(room, rng, radius)
    if vertex is None:
        return None
    ends = []
    azimuth = rng.uniform(0, 2 * np.pi)
    for turn in (0.0, np.pi - np.deg2rad(rng.uniform(20, 70))):
        dip = np.deg2rad(rng.uniform(-10, 10))
        direction = np.array([np.cos(dip) * np.cos(azimuth + turn), np.cos(dip) * np.sin(azimuth + turn), np.sin(dip)])
        ends.append(_arm_end(vertex, direction, rng.uniform(*spec.arm_length), room.extent, radius))
    if any(e is None for e in ends):
        return None
    tube = BentTube(0, ends[0], vertex, ends[1], radius)
    if not room.clear_of_sheet(tube.axis_points(), radius):
        return None
    return tube if room.clear_of_objects(tube.keepout()) else None


def _vesicle(room, rng, spec):
    radius = rng.uniform(spec.vesicle_radius[0], min(spec.vesicle_radius[1], room.extent[2] / 2 - PAD_NM - 1))
    center = _free_point(room, rng, radius)
    if center is None:
        return None
    vesicle = Vesicle(0, center, radius)
    return vesicle if room.clear_of_objects(vesicle.keepout()) else None


def layout_pm_contacts(extent, rng, spec=None):
    """Place a plasma membrane, its contact tubes and the look-alikes in a volume of ``extent`` (x, y, z) nm.

    Returns
    -------
    Scene
        One :class:`~.sheets.SheetContactRegion` ROI per contact tube; cisternae, lone tubes and vesicles
        are recorded as distractors, the cisternae's lumens as decoys (a ready-made penalty mask).
    """
    spec = spec or PmContactSceneSpec()
    extent = np.asarray(extent, dtype=float)
    scene = Scene()
    sheet = _sheet(extent, rng, spec)
    scene.membranes.append(sheet)
    room = _Room(extent, sheet, spec.separation, spec.sheet_separation)
    # the tubes sit on the roomier side of the sheet (the cytoplasm): the side of the farthest corner
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=float) * extent
    corner_sdf = sheet.sdf(corners[:, 0], corners[:, 1], corners[:, 2])
    side = float(np.sign(corner_sdf[np.argmax(np.abs(corner_sdf))]))

    def place(build, count, on_placed):
        placed = 0
        for _ in range(count):
            for _ in range(ATTEMPTS):
                made = build()
                if made is not None:
                    on_placed(made)
                    placed += 1
                    break
        return placed

    def add_membrane(membrane):
        membrane.label = len(scene.membranes) + 1
        scene.membranes.append(membrane)
        room.add(membrane.keepout())

    def add_contact(made):
        tube, gap, on_sheet, on_tube = made
        add_membrane(tube)
        scene.rois.append(SheetContactRegion(len(scene.rois) + 1, sheet, tube, side, gap, on_sheet, on_tube,
                                             spec.margin))

    def add_distractor(kind):
        def record(membrane):
            add_membrane(membrane)
            entry = {"type": kind, "membranes": [membrane.label]}
            if isinstance(membrane, Cisterna):
                entry["gap_nm"] = float(membrane.gap)
                scene.decoys.append(CisternaLumen(len(scene.decoys) + 1, membrane))
                entry["decoy_label"] = len(scene.decoys)
            scene.distractors.append(entry)
        return record

    requested = {"contacts": spec.contacts, "cisternae": spec.cisternae, "lone_tubes": spec.lone_tubes,
                 "vesicles": spec.vesicles}
    scene.placed = {
        "contacts": place(lambda: _contact_tube(room, rng, spec, side), spec.contacts, add_contact),
        "cisternae": place(lambda: _cisterna(room, rng, spec), spec.cisternae, add_distractor("cisterna")),
        "lone_tubes": place(lambda: _lone_tube(room, rng, spec), spec.lone_tubes, add_distractor("lone_tube")),
        "vesicles": place(lambda: _vesicle(room, rng, spec), spec.vesicles, add_distractor("vesicle")),
    }
    scene.requested = requested
    scene.particles = _particles(room, rng, spec, scene.membranes)
    return scene


def _particles(room, rng, spec, membranes):
    """Dense particles (ribosome-like, 5–12 nm) away from every membrane: texture the network must ignore."""
    particles = []
    for _ in range(spec.particles * 5):
        if len(particles) >= spec.particles:
            break
        radius = rng.uniform(5.0, 12.0)
        center = rng.uniform(radius, room.extent - radius)
        if all(abs(float(m.sdf(*center))) > radius + 6.0 for m in membranes):
            particles.append((center, radius))
    return particles
