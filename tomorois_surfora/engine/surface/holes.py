"""Closing the small holes ball pivoting leaves in a mesh, without new vertices.

Ball pivoting on an irregular, noisy cloud (a medial surface of a thin staircase mask) misses triangles here
and there; every such hole is a boundary the curvature's geodesic balls must stay clear of. A hole is a
boundary loop that the surrounding faces wind around in their own orientation: triangles that close it
wind round the point normals on the loop the way the faces do. The rim of an open membrane, or of a small
piece, winds the other way, and the end of a tube has normals at right angles to its opening (their mean
is near zero, or the projected loop folds over itself); these are left open.
"""
import numpy as np

from ..triangles import mesh_edges


def boundary_loops(faces, n_points):
    """Boundary loops of a triangle mesh, each as vertex indices in the order that closes the hole with the
    faces' orientation, no vertex twice in a loop.

    A boundary edge is used by one face; walking each such edge against its face's direction goes round
    the hole in the sense a filling triangle must have. Where holes touch at a vertex (a pinch: several
    boundary edges leave it) the walk takes any unused one and the closed walk is then cut at every
    repeated vertex into simple loops.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    edges, counts, face_edges = mesh_edges(faces)
    directed = np.stack([faces, np.roll(faces, -1, axis=1)], axis=-1).reshape(-1, 2)  # a→b, b→c, c→a
    reverse = directed[counts[face_edges.reshape(-1)] == 1][:, ::-1]
    outgoing = {}
    for a, b in reverse.tolist():
        outgoing.setdefault(a, []).append(b)
    loops = []
    for start in list(outgoing):
        while outgoing.get(start):
            walk, vertex = [start], outgoing[start].pop()
            while vertex != start and outgoing.get(vertex):
                walk.append(vertex)
                vertex = outgoing[vertex].pop()
            if vertex == start:
                loops.extend(_simple_cycles(walk))
    return [np.array(loop) for loop in loops if len(loop) >= 3]


def _simple_cycles(walk):
    """Cut a closed walk (first vertex not repeated at the end) into simple cycles at repeated vertices."""
    cycles, stack, position = [], [], {}
    for vertex in walk:
        if vertex in position:
            cut = position[vertex]
            cycles.append(stack[cut:])
            for v in stack[cut + 1:]:
                del position[v]
            stack = stack[:cut + 1]
        else:
            position[vertex] = len(stack)
            stack.append(vertex)
    cycles.append(stack)
    return cycles


def fill_loop(points, normals, loop):
    """Triangles closing one hole loop, or ``None`` when it is not a hole.

    The loop is projected on the plane across its mean normal and triangulated there by ear clipping
    (an ear is a convex corner with no other loop vertex inside it; the best-shaped ear goes first). A
    loop that winds the wrong way round the mean normal is a rim, one that folds over itself in the plane
    is not a hole of this surface: both give ``None``.
    """
    loop = np.asarray(loop)
    normal = loop_normal(normals, loop)
    if normal is None:
        return None
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(normal, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    flat = np.stack([points[loop] @ e1, points[loop] @ e2], axis=1)
    if _signed_area(flat) <= 0:
        return None
    remaining = list(range(len(loop)))
    triangles = []
    while len(remaining) > 3:
        best, best_quality = None, 0.0
        for position in range(len(remaining)):
            a, b, c = remaining[position - 1], remaining[position], remaining[(position + 1) % len(remaining)]
            quality = _ear_quality(flat, a, b, c, remaining)
            if quality > best_quality:
                best, best_quality = position, quality
        if best is None:
            return None
        triangles.append((remaining[best - 1], remaining[best], remaining[(best + 1) % len(remaining)]))
        del remaining[best]
    if _signed_area(flat[remaining]) <= 0:
        return None
    triangles.append(tuple(remaining))
    return loop[np.array(triangles, dtype=np.int64)]


def loop_normal(normals, loop, min_length=0.5):
    """The unit mean of the loop's normals, or ``None`` where they disagree so much (a tube's end, a loop
    round both sides of a fold) that the mean is shorter than ``min_length``."""
    mean = normals[loop].mean(axis=0)
    length = np.linalg.norm(mean)
    return None if length < min_length else mean / length


def _signed_area(flat):
    x, y = flat[:, 0], flat[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _ear_quality(flat, a, b, c, remaining):
    """0 unless (a, b, c) is a convex corner with no other remaining vertex inside; else the triangle's
    shape quality (4√3·area / sum of squared sides, 1 for equilateral)."""
    pa, pb, pc = flat[a], flat[b], flat[c]
    area = 0.5 * ((pb[0] - pa[0]) * (pc[1] - pa[1]) - (pc[0] - pa[0]) * (pb[1] - pa[1]))
    if area <= 1e-12:
        return 0.0
    for other in remaining:
        if other in (a, b, c):
            continue
        p = flat[other]
        if all(((q1[0] - q0[0]) * (p[1] - q0[1]) - (p[0] - q0[0]) * (q1[1] - q0[1])) >= 0
               for q0, q1 in ((pa, pb), (pb, pc), (pc, pa))):
            return 0.0
    sides = np.sum((pa - pb) ** 2) + np.sum((pb - pc) ** 2) + np.sum((pc - pa) ** 2)
    return 4.0 * np.sqrt(3.0) * area / sides


def fill_small_holes(points, normals, faces, max_edges, accept=None):
    """Close every hole loop of at most ``max_edges`` edges.

    Parameters
    ----------
    points, normals : ndarray (n, 3)
        Vertices and their oriented normals.
    faces : ndarray (m, 3)
    max_edges : int
        Longer loops (open rims, large gaps) stay open.
    accept : callable, optional
        ``accept(triangles, normal) -> bool``: a last check on each loop's filling, given the loop's mean
        normal (e.g. that it crosses no gap between membranes); a rejected loop stays open.

    Returns
    -------
    faces : ndarray
        The input faces followed by the new ones.
    filled : int
        Number of holes closed.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    new, filled = [], 0
    for loop in boundary_loops(faces, len(points)):
        if len(loop) > max_edges:
            continue
        triangles = fill_loop(points, normals, loop)
        if triangles is None or (accept is not None and not accept(triangles, loop_normal(normals, loop))):
            continue
        new.append(triangles)
        filled += 1
    if new:
        faces = np.concatenate([faces] + new)
    return faces, filled
