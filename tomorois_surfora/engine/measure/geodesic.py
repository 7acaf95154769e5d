"""Geodesic neighbourhoods on triangle meshes: mesh edge graphs and bounded Dijkstra balls (numba).

A per-vertex neighbourhood of radius r is every vertex whose shortest edge-path distance from it is at most
r. Walking the mesh (not Euclidean space) keeps a neighbourhood on its own sheet where two membranes, or
the two sides of a fold, come closer than r. Edge paths overestimate the true geodesic distance by a few
per cent on triangle meshes (zig-zag paths), i.e. balls are slightly smaller than asked; the heat method
would be exact but costs a global sparse solve per source vertex, far too slow for one ball per vertex.
"""
import numba
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra

from ..triangles import edge_graph, mesh_edges

numba.config.THREADING_LAYER = "workqueue"  # see surface/medial.py


def mesh_graph(points, faces):
    """The mesh's edge graph as CSR arrays: (indptr, indices, lengths), edges both ways, lengths in nm."""
    graph = edge_graph(len(points), faces, points)
    return graph.indptr.astype(np.int64), graph.indices.astype(np.int64), graph.data.astype(np.float64)


def boundary_vertices(faces, n_points, small_hole_edges=0):
    """Vertices on a boundary edge (used by one face) or a non-manifold edge (used by three or more).

    Parameters
    ----------
    small_hole_edges : int
        Boundary pieces (connected runs of boundary edges) of at most this many edges are small holes
        inside the surface, not its rim, and do not count: a neighbourhood with a pin-hole is still a
        surface patch to fit.

    Returns
    -------
    boundary : ndarray (n,) of bool
    non_manifold_edges : int
        Neighbourhoods around such edges are not a disc, so their vertices count as boundary.
    """
    edges, counts, _ = mesh_edges(faces)
    boundary = np.zeros(n_points, dtype=bool)
    open_edges = edges[counts == 1]
    if small_hole_edges > 0 and len(open_edges):
        graph = sparse.coo_matrix((np.ones(len(open_edges)), (open_edges[:, 0], open_edges[:, 1])),
                                  shape=(n_points, n_points))
        piece = connected_components(graph, directed=False)[1][open_edges[:, 0]]
        open_edges = open_edges[np.bincount(piece)[piece] > small_hole_edges]
    boundary[open_edges.ravel()] = True
    boundary[edges[counts > 2].ravel()] = True
    return boundary, int((counts > 2).sum())


def distance_to_boundary(graph, boundary):
    """Edge-path distance (nm) from every vertex to the nearest boundary vertex; inf on closed meshes."""
    if not boundary.any():
        return np.full(len(boundary), np.inf)
    indptr, indices, lengths = graph
    matrix = sparse.csr_matrix((lengths, indices, indptr), shape=(len(boundary),) * 2)
    return dijkstra(matrix, directed=False, indices=np.flatnonzero(boundary), min_only=True)


def vertex_areas(points, faces):
    """A third of the area of every triangle at a vertex (nm²)."""
    from ..triangles import triangle_areas

    areas = np.zeros(len(points))
    third = triangle_areas(points, faces) / 3.0
    for corner in range(3):
        np.add.at(areas, faces[:, corner], third)
    return areas


@numba.njit(cache=True)
def _heap_push(keys, values, size, key, value):  # pragma: no cover (compiled)
    position = size
    keys[position], values[position] = key, value
    while position > 0:
        parent = (position - 1) // 2
        if keys[parent] <= keys[position]:
            break
        keys[parent], keys[position] = keys[position], keys[parent]
        values[parent], values[position] = values[position], values[parent]
        position = parent
    return size + 1


@numba.njit(cache=True)
def _heap_pop(keys, values, size):  # pragma: no cover (compiled)
    key, value = keys[0], values[0]
    size -= 1
    keys[0], values[0] = keys[size], values[size]
    position = 0
    while True:
        left, smallest = 2 * position + 1, position
        if left < size and keys[left] < keys[smallest]:
            smallest = left
        if left + 1 < size and keys[left + 1] < keys[smallest]:
            smallest = left + 1
        if smallest == position:
            break
        keys[smallest], keys[position] = keys[position], keys[smallest]
        values[smallest], values[position] = values[position], values[smallest]
        position = smallest
    return key, value, size


@numba.njit(cache=True)
def geodesic_ball(source, radius, indptr, indices, lengths, dist, heap_keys, heap_values, out_vertices,
                  out_distances):  # pragma: no cover (compiled)
    """Vertices within edge-path distance ``radius`` of ``source``, in increasing distance.

    Writes them to ``out_vertices`` / ``out_distances`` and returns their count. ``dist`` must be all inf
    on entry and is all inf again on return (only the touched entries are reset).
    """
    dist[source] = 0.0
    size = _heap_push(heap_keys, heap_values, 0, 0.0, source)
    count = 0
    while size > 0:
        d, v, size = _heap_pop(heap_keys, heap_values, size)
        if d > dist[v]:
            continue
        out_vertices[count], out_distances[count] = v, d
        count += 1
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            candidate = d + lengths[e]
            if candidate <= radius and candidate < dist[u]:
                dist[u] = candidate
                size = _heap_push(heap_keys, heap_values, size, candidate, u)
    for k in range(count):
        dist[out_vertices[k]] = np.inf
    return count


@numba.njit(cache=True)
def new_workspace(n_points, n_edges):  # pragma: no cover (compiled)
    """Scratch arrays for :func:`geodesic_ball`: dist, heap keys, heap values, out vertices, out distances."""
    return (np.full(n_points, np.inf), np.empty(n_edges + 1), np.empty(n_edges + 1, dtype=np.int64),
            np.empty(n_points, dtype=np.int64), np.empty(n_points))


def blocks(n_items):
    """Block boundaries for parallel loops: a few blocks per thread, each allocating its ball workspace once."""
    count = max(1, min(n_items, 4 * numba.get_num_threads()))
    return np.linspace(0, n_items, count + 1).astype(np.int64)


@numba.njit(parallel=True, cache=True)
def smooth_vertex_normals(normals, areas, radius, vertices, indptr, indices, lengths, bounds):  # pragma: no cover
    """Area-weighted mean of the normals within the geodesic ball of each of ``vertices``, normalised.

    Returns an (n, 3) array: the smoothed normals at ``vertices``, the input normals elsewhere.
    """
    out = normals.copy()
    for b in numba.prange(len(bounds) - 1):
        dist, keys, values, ball, ball_d = new_workspace(len(normals), len(indices))
        for v in range(bounds[b], bounds[b + 1]):
            i = vertices[v]
            count = geodesic_ball(i, radius, indptr, indices, lengths, dist, keys, values, ball, ball_d)
            total = np.zeros(3)
            for k in range(count):
                j = ball[k]
                total += areas[j] * normals[j]
            norm = np.sqrt(np.sum(total * total))
            if norm > 0:
                out[i] = total / norm
    return out


def within(graph, sources, radius):
    """True for every vertex within edge-path distance ``radius`` of any of ``sources``."""
    indptr, indices, lengths = graph
    n = len(indptr) - 1
    if len(sources) == 0:
        return np.zeros(n, dtype=bool)
    matrix = sparse.csr_matrix((lengths, indices, indptr), shape=(n, n))
    return np.isfinite(dijkstra(matrix, directed=False, indices=sources, limit=radius, min_only=True))
