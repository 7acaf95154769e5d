"""Inter-membrane distances: from each vertex to the closest point on the partner mesh's triangles (S3g).

The closest point lies anywhere on a triangle, not only at its vertices, so the distance does not depend
on the partner's point spacing. Open3D's RaycastingScene (a BVH over the triangles) answers the queries.
"""
import numpy as np

from ..errors import InputError


def closest_points(queries, vertices, faces):
    """Exact closest points on a triangle mesh.

    Parameters
    ----------
    queries : ndarray (n, 3)
    vertices : ndarray (m, 3)
    faces : ndarray (f, 3)

    Returns
    -------
    distance : ndarray (n,)
    closest : ndarray (n, 3)
    face : ndarray (n,) of int
        The triangle holding each closest point.
    """
    import open3d as o3d

    if len(faces) == 0:
        raise InputError("the partner mesh has no triangles")
    # Queries are taken relative to the mesh's centre so float32 keeps ~1e-4 nm precision far from the origin.
    centre = np.asarray(vertices, dtype=np.float64).mean(axis=0)
    mesh = o3d.t.geometry.TriangleMesh()
    mesh.vertex.positions = o3d.core.Tensor((np.asarray(vertices) - centre).astype(np.float32))
    mesh.triangle.indices = o3d.core.Tensor(np.asarray(faces, dtype=np.int32))
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(mesh)
    answer = scene.compute_closest_points(o3d.core.Tensor((np.asarray(queries) - centre).astype(np.float32)))
    closest = answer["points"].numpy().astype(np.float64) + centre
    distance = np.linalg.norm(closest - queries, axis=1)
    return distance, closest, answer["primitive_ids"].numpy().astype(np.int64)


def submesh(points, faces, keep):
    """The faces whose three vertices are all kept, re-indexed, and the kept vertices."""
    index = np.full(len(points), -1)
    index[keep] = np.arange(int(keep.sum()))
    inside = keep[faces].all(axis=1)
    return points[keep], index[faces[inside]]


def partner_distances(points, faces, labels, label, partner):
    """Distance (nm) from every vertex of ``label`` to the triangles of ``partner`` (NaN elsewhere)."""
    present = set(np.unique(labels).tolist())
    missing = [value for value in (label, partner) if value not in present]
    if missing:
        raise InputError(f"label {missing[0]} does not exist in the mesh (labels: "
                         f"{', '.join(str(v) for v in sorted(present))})")
    vertices, partner_faces = submesh(points, faces, labels == partner)
    if len(partner_faces) == 0:
        raise InputError(f"the partner label {partner} has no triangles")
    out = np.full(len(points), np.nan)
    mine = labels == label
    out[mine] = closest_points(points[mine], vertices, partner_faces)[0]
    return out


def statistics(values):
    """n, mean, std, min, median, max of the finite values (NaN statistics when there are none)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return {"n": 0, **{k: float("nan") for k in ("mean", "std", "min", "median", "max")}}
    return {"n": int(len(finite)), "mean": float(finite.mean()), "std": float(finite.std()),
            "min": float(finite.min()), "median": float(np.median(finite)), "max": float(finite.max())}
