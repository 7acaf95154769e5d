"""One surface point cloud per membrane label of a (cropped) label map, by either method."""
import numpy as np

from ..errors import InputError
from ..sparse import label_values, voxel_groups
from .iso import IsoParameters, isosurface
from .medial import MedialParameters, inside_distances_nm, medial_surface, membrane_thickness_nm

MIN_ISO_THICKNESS_SPACINGS = 2.5  # thinner: the two isosurface faces are too close to orient apart

METHODS = ("medial", "iso")


def extract_cloud(labels, voxel_size_nm, method="medial", origin_nm=(0.0, 0.0, 0.0), spacing_nm=None,
                  radius_nm=None, adaptive=False, upsample=1, min_area_nm2=None, source="mask"):
    """Surface points and normals of every membrane label in ``labels``.

    Each label is worked on per group of nearby voxels (pieces closer than the method reaches stay
    together), each in its own padded crop, so memory follows the membrane, not the volume; ``labels`` may
    be memory-mapped. A label whose surface fails (too few voxels, nothing surface-like) is reported in
    ``info['problems']`` and the other labels are still returned; if every label fails,
    :class:`InputError` lists them all.

    Returns
    -------
    points, normals : ndarray (n, 3)
        nm; normals unoriented (medial) or out of the membrane (iso).
    label : ndarray (n,) of int
        Membrane label per point.
    info : dict
        ``labels``: per label, the method's own record (counts summed over its groups); ``problems``: one
        line per failed label; ``warnings``: labels whose isosurface faces lie too close together for
        orientation to keep apart (masks under 2.5 point spacings thick, where the medial method is the
        one to use).
    """
    if method not in METHODS:
        raise InputError(f"{source}: method must be one of {', '.join(METHODS)}, got {method!r}")
    labels = np.asanyarray(labels)
    values = label_values(labels)
    if not values:
        raise InputError(f"{source}: the mask is empty (no membrane voxels)")
    vs = float(voxel_size_nm)
    pieces, info = [], {"labels": {}, "problems": [], "warnings": []}
    for value in values:
        where = f"{source}, label {value}"
        try:
            thickness = label_thickness_nm(labels, value, vs)
            if method == "medial":
                params = MedialParameters(spacing_nm=spacing_nm, radius_nm=radius_nm)
                if min_area_nm2 is not None:
                    params.min_area_nm2 = min_area_nm2
                radius = params.radius_nm or max(1.5 * thickness, 3.0 * vs)
                reach = int(np.ceil(max(radius, 2.0 * thickness) / vs)) + 4
                align = max(1, int(round(0.75 * thickness / vs)))  # medial_surface's seed grid

                def surface(mask, origin, where):
                    return medial_surface(mask, vs, params, origin, where, thickness_nm=thickness)
            else:
                params = IsoParameters(spacing_nm=spacing_nm, adaptive=adaptive, upsample=upsample)
                reach, align = int(np.ceil(4.0 * params.sigma_nm / vs)) + params.flow_steps + 4, 1

                def surface(mask, origin, where):
                    points, normals, mesh = isosurface(mask, vs, params, origin, where)
                    return points, normals, {"points": len(points), "mesh_vertices": len(mesh[0])}
                spacing = spacing_nm or vs
                if thickness < MIN_ISO_THICKNESS_SPACINGS * spacing:
                    info["warnings"].append(
                        f"{where}: the membrane is {thickness:.1f} nm thick, {thickness / spacing:.1f} point spacings, "
                        "so its two isosurface faces are too close for orientation to keep apart; use the medial "
                        "method for masks this thin")
            points, normals, record = per_group(labels, value, vs, origin_nm, reach, align, surface, where)
        except InputError as exc:
            info["problems"].append(str(exc))
            continue
        pieces.append((points, normals, np.full(len(points), value)))
        info["labels"][value] = record
    if not pieces:
        raise InputError("; ".join(info["problems"]))
    points, normals, label = (np.concatenate(parts) for parts in zip(*pieces))
    return points, normals, label, info


def selector(labels, value):
    """``select(z0, z1)`` for :func:`voxel_groups`: the voxels of ``value`` in sections z0..z1-1."""
    return lambda z0, z1: np.asarray(labels[z0:z1]) == value


def label_mask(labels, value, groups, group, box):
    """The voxels of ``value`` in ``box`` that belong to ``group``."""
    return (np.asarray(labels[box]) == value) & groups.members(group, box)


def label_thickness_nm(labels, value, voxel_size_nm):
    """The thickness of membrane ``value`` (see :func:`membrane_thickness_nm`), piece by piece."""
    groups = voxel_groups(labels.shape, selector(labels, value), 2)
    inside = [inside_distances_nm(label_mask(labels, value, groups, g, groups.padded_box(g, 1)), voxel_size_nm)
              for g in range(1, len(groups) + 1)]
    return membrane_thickness_nm(None, inside=np.concatenate(inside))


def per_group(labels, value, voxel_size_nm, origin_nm, reach, align, surface, source):
    """``surface(mask, origin_nm, source)`` on each group of ``value``'s voxels closer than ``reach``, in its crop
    grown by ``reach`` (start rounded down to a multiple of ``align``).

    A group that fails (a speck, a line of voxels) is left out, as the whole-volume method drops such
    parts; when every group fails the first failure is raised. Returns the concatenated points and
    normals and the records with their counts summed.
    """
    groups = voxel_groups(labels.shape, selector(labels, value), reach)
    results, failures = [], []
    for group in range(1, len(groups) + 1):
        box = groups.padded_box(group, reach, align)
        origin = np.asarray(origin_nm, dtype=np.float64) + np.array([s.start for s in box[::-1]]) * voxel_size_nm
        where = source if len(groups) == 1 else f"{source}, piece {group} of {len(groups)}"
        try:
            results.append(surface(label_mask(labels, value, groups, group, box), origin, where))
        except InputError as exc:
            failures.append(exc)
    if not results:
        raise failures[0]
    record = dict(results[0][2])
    for _, _, other in results[1:]:
        for key, value in other.items():
            if isinstance(value, (int, np.integer)) and key in record:
                record[key] += value
    record.update(groups=len(groups), groups_failed=len(failures))
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results]), record
