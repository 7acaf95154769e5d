"""Consistent global orientation of unoriented surface normals (SurfORA S3c).

Both methods work on one graph: k-nearest-neighbour edges kept only where the two normals are nearly
parallel (|⟨nᵢ,nⱼ⟩| ≥ τ) *and* the edge lies close to both tangent planes. The second test is ours: across
a narrow gap (a hairpin fold, two apposed membranes) normals are parallel too, so τ alone keeps those
edges, but they run along the normal, not the tangent plane, and are dropped. Each connected piece of the
graph is oriented on its own.

* ``geodesic``: heat-method geodesic distance g from a seed (potpourri3d); edge weights
  w = exp(−|gᵢ−gⱼ| / (α‖pᵢ−pⱼ‖))·|⟨nᵢ,nⱼ⟩|; signs propagate along the maximum spanning tree.
* ``dipole``: the piece is cut into patches, each oriented along its own spanning tree, and patches are
  flipped one by one to agree with the dipole field of the patches already oriented.

Both finish with weighted sign voting (flip a point whose neighbours disagree with it) and neighbour
smoothing of the normals, then apply the chosen global convention per membrane label.
"""
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import cKDTree

from ..errors import InputError, raise_problems
from .geometry import query_neighbours, require_neighbourhood

METHODS = ("geodesic", "dipole")
CONVENTIONS = ("outward", "inward", "partner", "none")
MIN_HEAT_POINTS = 40


@dataclass
class OrientParameters:
    """Orientation settings.

    neighbours : k of the k-NN graph.
    min_alignment : τ, edges need |⟨nᵢ,nⱼ⟩| ≥ τ.
    max_tangent_slope : edges need |⟨pⱼ−pᵢ, nᵢ⟩| ≤ slope·‖pⱼ−pᵢ‖ at both ends (0.5 ≈ 30°).
    alpha : geodesic weight scale α.
    patch_size : dipole patches hold about this many points.
    smoothing : neighbour-smoothing passes over the oriented normals (0 to keep the estimated ones).
    convention : outward / inward (from each membrane label's centroid), partner (toward the nearest point
        of another label), none (keep the propagated signs).
    """

    method: str = "geodesic"
    neighbours: int = 12
    min_alignment: float = 0.5
    max_tangent_slope: float = 0.5
    alpha: float = 1.0
    patch_size: int = 300
    smoothing: int = 1
    voting_rounds: int = 10
    convention: str = "outward"

    def problems(self):
        found = []
        if self.method not in METHODS:
            found.append(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.convention not in CONVENTIONS:
            found.append(f"convention must be one of {', '.join(CONVENTIONS)}, got {self.convention!r}")
        if self.neighbours < 3:
            found.append(f"neighbours must be at least 3, got {self.neighbours}")
        if not 0 <= self.min_alignment < 1:
            found.append(f"min_alignment must be in [0, 1), got {self.min_alignment}")
        if self.max_tangent_slope <= 0:
            found.append(f"max_tangent_slope must be positive, got {self.max_tangent_slope}")
        if self.alpha <= 0:
            found.append(f"alpha must be positive, got {self.alpha}")
        if self.patch_size < 10:
            found.append(f"patch_size must be at least 10, got {self.patch_size}")
        return found


def surface_graph(points, normals, params):
    """The filtered k-NN graph: (i, j) edge arrays with i < j, and |⟨nᵢ,nⱼ⟩| per edge."""
    _, indices = query_neighbours(cKDTree(points), points, params.neighbours + 1)
    i = np.repeat(np.arange(len(points)), indices.shape[1] - 1)
    j = indices[:, 1:].ravel()
    i, j = np.minimum(i, j), np.maximum(i, j)
    unique = np.unique(i * len(points) + j)
    i, j = unique // len(points), unique % len(points)
    edge = points[j] - points[i]
    length = np.maximum(np.linalg.norm(edge, axis=1), 1e-12)
    alignment = np.abs(np.sum(normals[i] * normals[j], axis=1))
    slope_i = np.abs(np.sum(edge * normals[i], axis=1)) / length
    slope_j = np.abs(np.sum(edge * normals[j], axis=1)) / length
    keep = (alignment >= params.min_alignment) & (slope_i <= params.max_tangent_slope) & \
           (slope_j <= params.max_tangent_slope)
    return i[keep], j[keep], alignment[keep]


def _sparse(n, i, j, values):
    return coo_matrix((values, (i, j)), shape=(n, n)).tocsr()


def propagate_signs(n, i, j, weights, normals, root):
    """Signs (±1) that make normals agree along the maximum-weight spanning tree from ``root``.

    Only the nodes reached from ``root`` get a sign; the others stay 0.
    """
    cost = _sparse(n, i, j, 2.0 - weights)  # max-weight tree = min-cost tree; costs stay > 0
    tree = minimum_spanning_tree(cost)
    order, predecessors = breadth_first_order(tree, root, directed=False)
    signs = np.zeros(n)
    signs[root] = 1.0
    agree = np.sign(np.sum(normals[order[1:]] * normals[predecessors[order[1:]]], axis=1))
    agree[agree == 0] = 1.0
    for node, parent, relation in zip(order[1:].tolist(), predecessors[order[1:]].tolist(), agree.tolist()):
        signs[node] = signs[parent] * relation
    return signs


def heat_geodesic(points, root):
    """Heat-method geodesic distance on the point cloud (potpourri3d) from one point."""
    import potpourri3d as pp3d

    return pp3d.PointCloudHeatSolver(points).compute_distance(int(root))


def geodesic_weights(points, normals, i, j, alignment, alpha):
    """w = exp(−|gᵢ−gⱼ| / (α‖pᵢ−pⱼ‖))·|⟨nᵢ,nⱼ⟩| with g the heat geodesic distance from a central point."""
    centre = int(np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1)))
    # potpourri3d builds local triangulations from 30 neighbours; tiny pieces fall back to |⟨nᵢ,nⱼ⟩| alone.
    g = heat_geodesic(points, centre) if len(points) > MIN_HEAT_POINTS else np.zeros(len(points))
    length = np.maximum(np.linalg.norm(points[i] - points[j], axis=1), 1e-12)
    return np.exp(-np.abs(g[i] - g[j]) / (alpha * length)) * alignment, centre


def dipole_field(sources, moments, targets):
    """Field of point dipoles (moment = normal) at the targets: Σ (3(m·r̂)r̂ − m) / r³."""
    r = targets[:, None, :] - sources[None, :, :]
    distance = np.maximum(np.linalg.norm(r, axis=2), 1e-9)
    unit = r / distance[..., None]
    projection = np.sum(moments[None, :, :] * unit, axis=2)
    field = (3 * projection[..., None] * unit - moments[None, :, :]) / distance[..., None] ** 3
    return field.sum(axis=1)


def orient_piece_dipole(points, normals, i, j, alignment, patch_size):
    """Signs for one connected piece: per-patch spanning trees, then patch flips by the dipole field."""
    n = len(points)
    graph = _sparse(n, np.concatenate([i, j]), np.concatenate([j, i]),
                    np.tile(np.linalg.norm(points[i] - points[j], axis=1) + 1e-9, 2))
    n_patches = max(1, n // patch_size)
    centres = np.random.default_rng(0).choice(n, n_patches, replace=False)
    _, _, patch = dijkstra(graph, indices=centres, min_only=True, return_predecessors=True)
    patch = np.searchsorted(np.sort(centres), patch) if n_patches > 1 else np.zeros(n, dtype=int)
    same = patch[i] == patch[j]
    signs = np.zeros(n)
    for p in range(n_patches):
        members = np.flatnonzero(patch == p)
        if len(members) == 0:
            continue
        local = np.full(n, -1)
        local[members] = np.arange(len(members))
        inner = same & (patch[i] == p)
        part = propagate_signs(len(members), local[i[inner]], local[j[inner]], alignment[inner], normals[members], 0)
        signs[members] = np.where(part == 0, 1.0, part)
    oriented = normals * signs[:, None]
    adjacency = _sparse(n_patches, patch[i[~same]], patch[j[~same]], np.ones(int((~same).sum())))
    adjacency = ((adjacency + adjacency.T) > 0).astype(float)
    sizes = np.bincount(patch, minlength=n_patches)
    order, _ = breadth_first_order(adjacency, int(np.argmax(sizes)), directed=False)
    done = np.zeros(n_patches, dtype=bool)
    done[order[0]] = True
    for p in order[1:]:
        neighbours = [q for q in adjacency[p].indices if done[q]]
        members = np.flatnonzero(patch == p)
        sources = np.flatnonzero(np.isin(patch, neighbours))
        # Beside a dipole sheet the field runs against the moments, so a consistent patch sees Σ⟨E, n⟩ < 0.
        if np.sum(dipole_field(points[sources], oriented[sources], points[members]) * oriented[members]) > 0:
            signs[members] *= -1
            oriented[members] *= -1
        done[p] = True
    return signs


def vote_signs(normals, i, j, weights, rounds):
    """Flip points whose weighted neighbours mostly point the other way, until none does."""
    n = len(normals)
    matrix = _sparse(n, np.concatenate([i, j]), np.concatenate([j, i]), np.tile(weights, 2))
    for _ in range(rounds):
        agreement = np.sum(normals * (matrix @ normals), axis=1)
        flip = agreement < 0
        if not flip.any():
            break
        normals[flip] *= -1
    return normals


def smooth_normals(points, normals, i, j, passes):
    """Average each normal with its graph neighbours (Gaussian in distance), ``passes`` times."""
    if passes <= 0 or len(i) == 0:
        return normals
    n = len(points)
    length = np.linalg.norm(points[i] - points[j], axis=1)
    weights = np.exp(-0.5 * (length / max(float(np.median(length)), 1e-12)) ** 2)
    matrix = _sparse(n, np.concatenate([i, j]), np.concatenate([j, i]), np.tile(weights, 2))
    for _ in range(passes):
        normals = normals + matrix @ normals
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return normals


def apply_convention(points, normals, labels, pieces, convention, partner_points=None):
    """Flip each connected piece's normals to follow the convention; returns the new normals.

    Pieces are oriented independently, so each gets the convention on its own, measured against its whole
    membrane label: ``outward``/``inward`` relative to the label's centroid (Σ⟨n, p − c⟩ > 0 is outward,
    which also holds for each of two parallel sheets or each cap of a vesicle cut by the missing wedge);
    ``partner``: toward the nearest point of any other label (or of ``partner_points``), judged mostly on
    the points closest to the partner.
    """
    if convention == "none":
        return normals
    normals = normals.copy()
    for label in np.unique(labels):
        in_label = labels == label
        centroid = points[in_label].mean(axis=0)
        others = points[~in_label] if partner_points is None else np.asarray(partner_points, dtype=np.float64)
        if convention == "partner" and len(others) == 0:
            raise InputError("convention 'partner' needs a second membrane label in the cloud or a partner "
                             "cloud; this cloud holds only one membrane")
        tree = cKDTree(others) if convention == "partner" else None
        for piece in np.unique(pieces[in_label]):
            members = np.flatnonzero(in_label & (pieces == piece))
            if convention == "partner":
                distance, nearest = tree.query(points[members], workers=-1)
                toward = (others[nearest] - points[members]) / np.maximum(distance, 1e-12)[:, None]
                # 1/d² weights: the side facing the partner decides, not the far side of a wrapped membrane
                score = np.sum(np.sum(normals[members] * toward, axis=1) / np.maximum(distance, 1e-12) ** 2)
            else:
                score = np.sum(normals[members] * (points[members] - centroid))
                score = -score if convention == "inward" else score
            if score < 0:
                normals[members] *= -1
    return normals


def orient_normals(points, normals, params=None, labels=None, partner_points=None, source="cloud"):
    """Consistently orient ``normals`` (unit, any sign) of a surface point cloud.

    Parameters
    ----------
    points, normals : ndarray (n, 3)
    params : OrientParameters
    labels : ndarray (n,), optional
        Membrane label per point; every label is oriented separately and gets its own convention.
    partner_points : ndarray (m, 3), optional
        For ``convention='partner'`` with a single membrane: the partner membrane's points.
    source : str
        Named in error messages.

    Returns
    -------
    normals : ndarray (n, 3)
        Oriented unit normals.
    info : dict
        Graph edges kept and connected pieces.
    """
    params = params or OrientParameters()
    raise_problems([f"{source}: {p}" for p in params.problems()])
    points = np.asarray(points, dtype=np.float64)
    if normals is None:
        raise InputError(f"{source}: the cloud has no normals; estimate them first (JET)")
    normals = np.asarray(normals, dtype=np.float64)
    require_neighbourhood(len(points), params.neighbours + 1, source)
    if not np.all(np.isfinite(normals)):
        raise InputError(f"{source}: {int((~np.isfinite(normals).all(1)).sum())} normals are not finite")
    normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    labels = np.zeros(len(points), dtype=int) if labels is None else np.asarray(labels)
    i, j, alignment = surface_graph(points, normals, params)
    same_label = labels[i] == labels[j]
    i, j, alignment = i[same_label], j[same_label], alignment[same_label]
    n_pieces, piece = connected_components(_sparse(len(points), i, j, np.ones(len(i))), directed=False)
    signs = np.ones(len(points))
    weights = alignment.copy()
    for p in range(n_pieces):
        members = np.flatnonzero(piece == p)
        if len(members) < 2:
            continue
        local = np.full(len(points), -1)
        local[members] = np.arange(len(members))
        inner = piece[i] == p
        li, lj = local[i[inner]], local[j[inner]]
        if params.method == "geodesic":
            w, root = geodesic_weights(points[members], normals[members], li, lj, alignment[inner], params.alpha)
            weights[inner] = w
            signs[members] = propagate_signs(len(members), li, lj, w, normals[members], root)
        else:
            signs[members] = orient_piece_dipole(points[members], normals[members], li, lj, alignment[inner],
                                                 params.patch_size)
    oriented = vote_signs(normals * signs[:, None], i, j, weights, params.voting_rounds)
    oriented = smooth_normals(points, oriented, i, j, params.smoothing)
    oriented = apply_convention(points, oriented, labels, piece, params.convention, partner_points)
    return oriented, {"edges": int(len(i)), "pieces": int(n_pieces), "points": int(len(points))}
