"""Geodesic neighbourhoods on triangle meshes: mesh edge graphs and bounded shortest-path balls (numba).

A per-vertex neighbourhood of radius r is every vertex whose shortest edge-path distance from it is at most
r. Walking the mesh (not Euclidean space) keeps a neighbourhood on its own sheet where two membranes, or
the two sides of a fold, come closer than r. Edge paths overestimate the true geodesic distance by a few
per cent on triangle meshes (zig-zag paths), i.e. balls are slightly smaller than asked; the heat method
would be exact but costs a global sparse solve per source vertex, far too slow for one ball per vertex.
"""
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra

from ..parallel import blocks, numba
from ..triangles import edge_graph, mesh_edges


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
def geodesic_ball(source, radius, indptr, indices, lengths, dist, in_queue, queue, out_vertices,
                  out_distances):  # pragma: no cover (compiled)
    """Vertices within edge-path distance ``radius`` of ``source`` (in the order they were reached).

    Writes them to ``out_vertices`` / ``out_distances`` and returns their count. ``dist`` must be all inf
    and ``in_queue`` all 0 on entry; both are so again on return (only the touched entries are reset).

    A label-correcting search with a first-in-first-out queue, not Dijkstra's heap: a vertex may be
    relaxed more than once, but on a mesh wave fronts rarely overtake each other, and without the heap's
    sifting a ball is searched about 3× faster. The distances are the exact shortest edge paths either way.
    """
    capacity = len(queue)
    dist[source] = 0.0
    queue[0], head, tail = source, 0, 1
    in_queue[source] = 1
    out_vertices[0], count = source, 1
    while head != tail:
        v = queue[head]
        head = head + 1 if head + 1 < capacity else 0
        in_queue[v] = 0
        d = dist[v]
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            candidate = d + lengths[e]
            if candidate <= radius and candidate < dist[u]:
                if dist[u] == np.inf:
                    out_vertices[count] = u
                    count += 1
                dist[u] = candidate
                if in_queue[u] == 0:  # each vertex is queued at most once at a time: n + 1 slots suffice
                    in_queue[u] = 1
                    queue[tail] = u
                    tail = tail + 1 if tail + 1 < capacity else 0
    for k in range(count):
        out_distances[k] = dist[out_vertices[k]]
        dist[out_vertices[k]] = np.inf
    return count


@numba.njit(cache=True)
def new_workspace(n_points, n_edges):  # pragma: no cover (compiled)
    """Scratch arrays for :func:`geodesic_ball`: dist, in-queue flags, queue, out vertices, out distances."""
    return (np.full(n_points, np.inf), np.zeros(n_points, dtype=np.uint8), np.empty(n_points + 1, dtype=np.int64),
            np.empty(n_points, dtype=np.int64), np.empty(n_points))


BALL_STORE_BYTES = 128 * 2 ** 20  # balls kept between two passes over the same radius (12 B per ball vertex)


def empty_ball_store(n_points, entries=0):
    """A store of geodesic balls: (vertex ids, distances, start per vertex or -1, size per vertex).

    The two flat arrays are allocated uninitialised, so memory is only committed as balls are written.
    """
    return (np.empty(entries, dtype=np.int32), np.empty(entries), np.full(n_points, -1, dtype=np.int64),
            np.zeros(n_points, dtype=np.int64))


@numba.njit(cache=True)
def stored_or_new_ball(source, radius, indptr, indices, lengths, dist, in_queue, queue, out_vertices,
                       out_distances, store_vertices, store_distances, store_start, store_size):  # pragma: no cover
    """:func:`geodesic_ball`, read from the store when ``source``'s ball of this radius was kept there."""
    first = store_start[source]
    if first < 0:
        return geodesic_ball(source, radius, indptr, indices, lengths, dist, in_queue, queue, out_vertices,
                             out_distances)
    count = store_size[source]
    for k in range(count):
        out_vertices[k] = store_vertices[first + k]
        out_distances[k] = store_distances[first + k]
    return count


@numba.njit(parallel=True, cache=True)
def _smooth_vertex_normals(normals, areas, radius, vertices, keep, indptr, indices, lengths, bounds,
                           store_vertices, store_distances, store_start, store_size):  # pragma: no cover
    out = normals.copy()
    capacity = len(store_vertices) // (len(bounds) - 1)  # each block fills its own share: no shared counter
    for b in numba.prange(len(bounds) - 1):
        dist, keys, values, ball, ball_d = new_workspace(len(normals), len(indices))
        used = 0
        for v in range(bounds[b], bounds[b + 1]):
            i = vertices[v]
            count = geodesic_ball(i, radius, indptr, indices, lengths, dist, keys, values, ball, ball_d)
            sx = sy = sz = 0.0  # scalars: a 3-vector temporary per ball vertex would allocate
            for k in range(count):
                j = ball[k]
                w = areas[j]
                sx += w * normals[j, 0]
                sy += w * normals[j, 1]
                sz += w * normals[j, 2]
            norm = np.sqrt(sx * sx + sy * sy + sz * sz)
            if norm > 0:
                out[i, 0], out[i, 1], out[i, 2] = sx / norm, sy / norm, sz / norm
            if keep[i] and used + count <= capacity:
                first = b * capacity + used
                for k in range(count):
                    store_vertices[first + k] = ball[k]
                    store_distances[first + k] = ball_d[k]
                store_start[i], store_size[i] = first, count
                used += count
    return out


def smooth_vertex_normals(normals, areas, radius, vertices, graph, keep=None, store_bytes=None):
    """Area-weighted mean of the normals within the geodesic ball of each of ``vertices``, normalised.

    Parameters
    ----------
    normals, areas : ndarray (n, 3), (n,)
    radius : float
    vertices : ndarray of int
        Where to smooth; the input normals are kept elsewhere.
    graph : tuple
        :func:`mesh_graph`'s arrays.
    keep : ndarray (n,) of bool, optional
        Vertices whose balls a second pass at the same radius will read: they are kept in the returned
        store (while it has room; ``store_bytes`` bounds it), so that pass need not search them again.

    Returns
    -------
    smoothed : ndarray (n, 3)
    store : tuple
        The kept balls, for :func:`stored_or_new_ball`.
    """
    n = len(normals)
    store_bytes = BALL_STORE_BYTES if store_bytes is None else store_bytes
    kept = int(keep.sum()) if keep is not None else 0
    # no ball holds more than every vertex: on small meshes a smaller store saves touching fresh pages
    entries = min(store_bytes // 12, kept * n)
    store = empty_ball_store(n, entries)
    keep = np.zeros(n, dtype=bool) if keep is None else keep
    smoothed = _smooth_vertex_normals(normals, areas, float(radius), np.asarray(vertices, dtype=np.int64), keep,
                                      *graph, blocks(len(vertices)), *store)
    return smoothed, store


def within(graph, sources, radius):
    """True for every vertex within edge-path distance ``radius`` of any of ``sources``."""
    indptr, indices, lengths = graph
    n = len(indptr) - 1
    if len(sources) == 0:
        return np.zeros(n, dtype=bool)
    matrix = sparse.csr_matrix((lengths, indices, indptr), shape=(n, n))
    return np.isfinite(dijkstra(matrix, directed=False, indices=sources, limit=radius, min_only=True))
