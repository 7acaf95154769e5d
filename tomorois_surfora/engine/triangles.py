"""Triangle-mesh basics shared by the surface and measure stages: edges, the edge graph, connected pieces,
triangle areas and area-weighted vertex normals. Meshes are ``points`` (n, 3) and ``faces`` (m, 3) vertex indices."""
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components


def mesh_edges(faces):
    """Undirected edges (e, 2) with the smaller vertex first, how many faces use each, and each face's three
    edge ids (m, 3)."""
    faces = np.asarray(faces).reshape(-1, 3)
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1).astype(np.int64)
    # one integer key per edge: a 1-D unique is several times faster than np.unique(axis=0), same order
    stride = int(edges.max()) + 1 if len(edges) else 1
    keys, inverse, counts = np.unique(edges[:, 0] * stride + edges[:, 1], return_inverse=True, return_counts=True)
    unique = np.stack([keys // stride, keys % stride], axis=1).astype(faces.dtype, copy=False)
    return unique, counts, inverse.reshape(3, -1).T


def edge_graph(n_points, faces, points=None):
    """The mesh's symmetric edge graph as a CSR matrix (sorted indices): weight 1 per edge, or its length in
    the points' units when ``points`` are given."""
    edges = mesh_edges(faces)[0]
    weights = np.ones(len(edges)) if points is None else np.linalg.norm(points[edges[:, 0]] - points[edges[:, 1]],
                                                                         axis=1)
    graph = sparse.csr_matrix((np.r_[weights, weights], (np.r_[edges[:, 0], edges[:, 1]],
                                                         np.r_[edges[:, 1], edges[:, 0]])), shape=(n_points, n_points))
    graph.sort_indices()
    return graph


def mesh_components(n_points, faces):
    """Connected-piece id of every vertex (a vertex in no face is a piece of its own)."""
    return connected_components(edge_graph(n_points, faces), directed=False)[1]


def _face_cross(points, faces):
    """Each triangle's edge cross product: its normal, with twice its area as length."""
    return np.cross(points[faces[:, 1]] - points[faces[:, 0]], points[faces[:, 2]] - points[faces[:, 0]])


def triangle_areas(points, faces):
    """Area of every triangle, in the points' units squared."""
    return 0.5 * np.linalg.norm(_face_cross(points, faces), axis=1)


def vertex_normals(points, faces, reference=None):
    """Area-weighted triangle normals at the vertices, unit length.

    With ``reference`` normals (n, 3), each is flipped to agree with its reference, and a vertex in no face
    takes its reference; without, such a vertex gets a zero vector.
    """
    face_normals = _face_cross(points, faces)
    normals = np.zeros_like(points, dtype=np.float64)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1)
    used = length > 0
    normals[used] /= length[used, None]
    if reference is not None:
        normals[~used] = reference[~used]
        normals[np.einsum("ij,ij->i", normals, reference) < 0] *= -1
    return normals
