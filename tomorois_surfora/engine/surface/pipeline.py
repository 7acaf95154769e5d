"""The SurfORA surface chain on one membrane crop: extract → orient → gap-aware mesh, per membrane label."""
import numpy as np

from .extract import extract_cloud
from .mesh import mesh_cloud
from .orient import OrientParameters, orient_normals


def mesh_labels(points, normals, labels, crop=None, origin_nm=None, voxel_size_nm=None, params=None,
                source="cloud"):
    """Mesh every label of an oriented cloud on its own, against its own mask in ``crop`` when given.

    Returns
    -------
    points : ndarray (n, 3)
        The vertices, in the input order (moved only if ``params`` asks for smoothing).
    faces : ndarray (m, 3)
        Indices into ``points``; no triangle joins two labels.
    info : dict
        ``mesh_cloud``'s info per label.
    """
    points = np.array(points, dtype=np.float64)
    faces, info = [], {}
    for label in np.unique(labels):
        mine = np.flatnonzero(labels == label)
        support = None if crop is None else label_support(crop, label, points[mine], origin_nm, voxel_size_nm)
        points[mine], tri, info[int(label)] = mesh_cloud(points[mine], None if normals is None else normals[mine],
                                                         params, support, voxel_size_nm, f"{source}, label {label}")
        faces.append(mine[tri])
    return points, np.concatenate(faces), info


def label_support(crop, label, points, origin_nm, voxel_size_nm, margin=2):
    """The mask of ``label`` over the box of its ``points`` (plus ``margin`` voxels), with that box's origin.

    Mesh edges join the points, so they stay inside the box and the gap filter reads the same occupancy as
    on the whole crop, at a cost that follows the membrane (``crop`` may be memory-mapped).
    """
    origin = np.asarray(origin_nm, dtype=np.float64)
    index = np.floor((np.asarray(points) - origin) / voxel_size_nm).astype(int)[:, ::-1]  # z y x
    lo = np.clip(index.min(axis=0) - margin, 0, crop.shape)
    hi = np.clip(index.max(axis=0) + margin + 2, lo, crop.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
    return np.asarray(crop[box]) == label, origin + lo[::-1] * voxel_size_nm


def crop_to_mesh(crop, voxel_size_nm, origin_nm=(0.0, 0.0, 0.0), method="medial", convention="partner",
                 source="mask"):
    """Medial (or iso) cloud of every membrane label in ``crop``, oriented normals, gap-aware mesh.

    Returns
    -------
    points, normals : ndarray (n, 3), nm
    labels : ndarray (n,)
    faces : ndarray (m, 3)
    info : dict
        ``extract``: extraction info; ``mesh``: meshing info per label.
    """
    points, normals, labels, extract_info = extract_cloud(crop, voxel_size_nm, method, origin_nm=origin_nm,
                                                          source=source)
    normals, _ = orient_normals(points, normals, OrientParameters(convention=convention), labels, source=source)
    points, faces, mesh_info = mesh_labels(points, normals, labels, crop, origin_nm, voxel_size_nm, source=source)
    return points, normals, labels, faces, {"extract": extract_info, "mesh": mesh_info}
