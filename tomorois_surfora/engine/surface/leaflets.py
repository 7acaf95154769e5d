"""Poisson proxy of a mid-surface (S3e) and the split of a membrane's isosurface into leaflets (S3f).

The isosurface wraps both faces of a membrane. A closed membrane (a vesicle) gives two closed sheets,
which connectivity separates; an open one (a patch, a contact site) gives one surface whose two faces
meet at the rim. Both cases are split by the side of the *proxy*: a Poisson reconstruction of the
mid-surface mesh, which extends a little past the mid-surface's own boundary so that the rim is cut
cleanly. Each isosurface vertex gets the sign of (p − c)·n, c its closest point on the proxy and n the
proxy normal there (oriented like the mid-surface normals): +1 on the side the normals point to (e.g.
the outer leaflet of a vesicle with outward normals), −1 on the other. Triangles whose vertices
disagree straddle the cut and are removed.
"""
import numpy as np
from scipy.spatial import cKDTree

from ..errors import InputError
from ..triangles import mesh_components

CONNECTIVITY_AGREEMENT = 0.95  # a component this one-sided counts as a whole leaflet


def poisson_proxy(points, normals, depth=8, trim_quantile=0.01, source="mesh"):
    """Poisson surface (Open3D) of oriented points, with the lowest-density vertices removed.

    Returns
    -------
    vertices : ndarray (n, 3)
    faces : ndarray (m, 3)
    normals : ndarray (n, 3)
        Per vertex, the normal of the nearest input point (so the proxy keeps the input's orientation).
    """
    import open3d as o3d

    points = np.asarray(points, dtype=np.float64)
    if normals is None:
        raise InputError(f"{source}: a Poisson proxy needs oriented normals")
    if len(points) < 10:
        raise InputError(f"{source}: {len(points)} points are too few for a Poisson surface")
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.normals = o3d.utility.Vector3dVector(np.asarray(normals, dtype=np.float64))
    mesh, density = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(cloud, depth=depth)
    density = np.asarray(density)
    mesh.remove_vertices_by_mask(density < np.quantile(density, trim_quantile))
    mesh.remove_degenerate_triangles()
    mesh.remove_duplicated_triangles()
    mesh.remove_duplicated_vertices()
    mesh.remove_non_manifold_edges()
    mesh.remove_unreferenced_vertices()
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.triangles, dtype=np.int64)
    if len(faces) == 0:
        raise InputError(f"{source}: the Poisson proxy came out empty")
    nearest = cKDTree(points).query(vertices, workers=-1)[1]
    return vertices, faces, np.asarray(normals)[nearest]


def proxy_sides(points, proxy_vertices, proxy_faces, proxy_normals):
    """+1 / −1 per point: on the side of the proxy its normals point to, or the other."""
    from ..measure.distance import closest_points

    _, closest, face = closest_points(points, proxy_vertices, proxy_faces)
    corners = proxy_vertices[proxy_faces[face]]
    face_normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    reference = proxy_normals[proxy_faces[face]].sum(axis=1)
    face_normal *= np.sign(np.einsum("ij,ij->i", face_normal, reference))[:, None]
    side = np.sign(np.einsum("ij,ij->i", points - closest, face_normal))
    side[side == 0] = 1
    return side.astype(np.int8)


def split_leaflets(points, faces, proxy_vertices, proxy_faces, proxy_normals):
    """Leaflet of every isosurface vertex and the triangles that stay within one leaflet.

    Returns
    -------
    leaflet : ndarray (n,) of int8
        +1 (the side the proxy normals point to) or −1.
    faces : ndarray (k, 3)
        The triangles whose three vertices share a leaflet.
    info : dict
        ``by_connectivity``: components assigned whole; ``cut_faces``: triangles removed along the cut.
    """
    points = np.asarray(points, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    leaflet = proxy_sides(points, proxy_vertices, proxy_faces, proxy_normals)
    component = mesh_components(len(points), faces)
    whole = 0
    for c in np.unique(component):
        mine = component == c
        share = np.mean(leaflet[mine] > 0)
        if max(share, 1 - share) >= CONNECTIVITY_AGREEMENT:  # a closed sheet: one leaflet as a whole
            leaflet[mine] = 1 if share >= 0.5 else -1
            whole += 1
    same = (leaflet[faces] == leaflet[faces[:, :1]]).all(axis=1)
    return leaflet, faces[same], {"components": int(component.max() + 1), "by_connectivity": whole,
                                  "cut_faces": int((~same).sum())}
