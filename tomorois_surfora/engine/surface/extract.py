"""One surface point cloud per membrane label of a (cropped) label map, by either method."""
import numpy as np

from ..errors import InputError
from .iso import IsoParameters, isosurface
from .medial import MedialParameters, medial_surface, membrane_thickness_nm

MIN_ISO_THICKNESS_SPACINGS = 2.5  # thinner: the two isosurface faces are too close to orient apart

METHODS = ("medial", "iso")


def extract_cloud(labels, voxel_size_nm, method="medial", origin_nm=(0.0, 0.0, 0.0), spacing_nm=None,
                  radius_nm=None, adaptive=False, upsample=1, min_area_nm2=None, source="mask"):
    """Surface points and normals of every membrane label in ``labels``.

    A label whose surface fails (too few voxels, nothing surface-like) is reported in ``info['problems']``
    and the other labels are still returned; if every label fails, :class:`InputError` lists them all.

    Returns
    -------
    points, normals : ndarray (n, 3)
        nm; normals unoriented (medial) or out of the membrane (iso).
    label : ndarray (n,) of int
        Membrane label per point.
    info : dict
        ``labels``: per label, the method's own record; ``problems``: one line per failed label;
        ``warnings``: labels whose isosurface faces lie too close together for orientation to keep apart
        (masks under 2.5 point spacings thick, where the medial method is the one to use).
    """
    if method not in METHODS:
        raise InputError(f"{source}: method must be one of {', '.join(METHODS)}, got {method!r}")
    labels = np.asarray(labels)
    values = [int(v) for v in np.unique(labels) if v != 0]
    if not values:
        raise InputError(f"{source}: the mask is empty (no membrane voxels)")
    pieces, info = [], {"labels": {}, "problems": [], "warnings": []}
    for value in values:
        where = f"{source}, label {value}"
        try:
            if method == "medial":
                params = MedialParameters(spacing_nm=spacing_nm, radius_nm=radius_nm)
                if min_area_nm2 is not None:
                    params.min_area_nm2 = min_area_nm2
                points, normals, record = medial_surface(labels == value, voxel_size_nm, params, origin_nm, where)
            else:
                params = IsoParameters(spacing_nm=spacing_nm, adaptive=adaptive, upsample=upsample)
                points, normals, mesh = isosurface(labels == value, voxel_size_nm, params, origin_nm, where)
                record = {"points": len(points), "mesh_vertices": len(mesh[0])}
                thickness = membrane_thickness_nm(labels == value, voxel_size_nm)
                spacing = spacing_nm or voxel_size_nm
                if thickness < MIN_ISO_THICKNESS_SPACINGS * spacing:
                    info["warnings"].append(
                        f"{where}: the membrane is {thickness:.1f} nm thick, {thickness / spacing:.1f} point spacings, "
                        "so its two isosurface faces are too close for orientation to keep apart; use the medial "
                        "method for masks this thin")
        except InputError as exc:
            info["problems"].append(str(exc))
            continue
        pieces.append((points, normals, np.full(len(points), value)))
        info["labels"][value] = record
    if not pieces:
        raise InputError("; ".join(info["problems"]))
    points, normals, label = (np.concatenate(parts) for parts in zip(*pieces))
    return points, normals, label, info
