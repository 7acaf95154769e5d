"""Consistent global orientation of unoriented surface normals (SurfORA S3c).

Two normals are compared across an edge by their *relation* ⟨nᵢ, Rᵢⱼ nⱼ⟩, Rᵢⱼ the reflection through the
plane that bisects the edge: on a sphere or a circle through both points the outward normal at one end is
exactly the reflection of the outward normal at the other, and to second order on any smooth surface, so
a tight fold's edges (normals 90° apart) still relate with certainty where ⟨nᵢ,nⱼ⟩ ≈ 0 says nothing. On an
edge that lies in the tangent planes the relation is ⟨nᵢ,nⱼ⟩.

First, directions that the neighbours' tangent planes clearly contradict (an estimate whose neighbourhood
straddled a fold's two arms or half a rim, lying 70–90° off in the sheet) are refitted to the plane most
neighbours agree with (:mod:`.plane_consensus`); no sign can mend a wrong direction, and the graph below
judges edges by the directions.

Both methods work on one graph: k-nearest-neighbour edges kept only where the relation is clear
(|relation| ≥ τ) *and* the edge is not steep against either tangent plane (slope ≤ 0.8). The second test is
ours: across a narrow gap (a hairpin fold, two apposed membranes) an edge runs along the normals, so it is
no surface edge and does not join pieces or carry a spanning tree; between slopes ½ and 0.8 the relation
itself is near 0 and τ drops them. Noisy normals let some through; those have empty space at their middle,
so each edge's trust is |relation| times its *clearance* (how close its midpoint is to a point of the cloud)
and the emptiest are dropped. Each connected piece of the graph is oriented on its own.

*Facing edges* (steep at both ends, between two points of one piece) still say something: where one
connected surface faces itself across a gap that no part of it crosses (the arms of a hairpin, the walls of
a pocket, the two faces of a flattened vesicle) the gap lies wholly inside or wholly outside what the surface
encloses, so the two normals point both into it or both away from it, which is what ⟨nᵢ, Rᵢⱼnⱼ⟩ > 0 says.
They vote in the global sign solve and the final voting at ``facing_weight`` × |relation| (a prior from the
surface's topology, weaker than the surface edges: it fails for a sheet rolled into a spiral, whose turns
face each other with parallel normals). Only edges of at least two point spacings count: the two faces of
a 1–2 voxel mask's isosurface lie closer, and the conventions treat each face as a sheet of its own.

* ``geodesic``: heat-method geodesic distance g from a seed (potpourri3d); edge weights
  w = exp(−|gᵢ−gⱼ| / (α‖pᵢ−pⱼ‖))·trust; signs propagate along the maximum spanning tree.
* ``dipole``: the piece is cut into patches grown along trusted edges, each oriented along its own
  spanning tree; patches are then taken strongest link first and flipped to agree with the edges joining
  them to the patches already oriented, or, where those edges disagree among themselves, with the dipole
  field of those patches.

A spanning tree trusts single edges: on a narrow, noisy fold one wrong edge flips a whole arm. On pieces of at
most 30,000 points the signs are therefore also solved globally (the leading eigenvector of the trust-
weighted relation matrix) and that solution is kept where it satisfies more edge trust than the tree's.
Both finish with weighted sign voting (flip a point whose neighbours disagree with it) and neighbour
smoothing of the normals; points whose normal contradicts all their neighbours (a straddling or noise-
tilted estimate) take their neighbours' oriented normal; then the chosen convention is applied per
membrane label.
"""
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from ..errors import InputError, raise_problems
from .geometry import query_neighbours, require_neighbourhood
from .plane_consensus import consensus_directions
from .sign_graph import (propagate_signs, satisfied_trust, sparse_matrix, synchronised_signs,
                         vote_signs)

METHODS = ("geodesic", "dipole")
CONVENTIONS = ("outward", "inward", "partner", "none")
MIN_HEAT_POINTS = 40
MIN_CLEARANCE = 0.1  # edges whose midpoint is this empty (over 2.1 clearance spacings from any point) go
FACING_MIN_SPACINGS = 2.0  # shorter ones may join the two faces of a thin mask's isosurface (sheets, by convention)
MAX_SPECTRAL_POINTS = 30000  # the global sign solve: 0.3 s at 10k points, 2 s at 30k, 12 s at 100k


@dataclass
class OrientParameters:
    """Orientation settings.

    neighbours : k of the k-NN graph.
    min_alignment : τ, edges need a relation |⟨nᵢ, Rᵢⱼnⱼ⟩| ≥ τ (see ``edge_relation``).
    max_tangent_slope : edges need |⟨pⱼ−pᵢ, nᵢ⟩| ≤ slope·‖pⱼ−pᵢ‖ at both ends (0.8 ≈ 53°: a quarter turn
        of a fold between two points, 45° at each end, passes; an edge across a gap does not).
    alpha : geodesic weight scale α.
    patch_size : dipole patches hold about this many points.
    smoothing : neighbour-smoothing passes over the oriented normals (0 to keep the estimated ones).
    clearance : an edge's trust falls as exp(−½ (d/(clearance·spacing))²) with the distance d from its
        midpoint to the nearest point (see ``surface_graph``).
    min_piece_points : points in graph pieces smaller than this, and points contradicting their
        neighbours, take the oriented normal of the large pieces around them.
    facing_weight : trust of a facing edge (across a narrow gap within one piece) relative to |relation|;
        0 ignores them.
    consensus_neighbours : before orienting, directions that the tangent planes of this many neighbours
        clearly contradict are refitted to the plane most of them agree with (``plane_consensus``); 0 keeps
        the directions given.
    convention : outward / inward (from each membrane label's centroid), partner (toward the nearest point
        of another label), none (keep the propagated signs).
    """

    method: str = "geodesic"
    neighbours: int = 12
    min_alignment: float = 0.5
    max_tangent_slope: float = 0.8
    alpha: float = 1.0
    patch_size: int = 300
    smoothing: int = 1
    voting_rounds: int = 10
    clearance: float = 0.5
    min_piece_points: int = 10
    facing_weight: float = 0.5
    consensus_neighbours: int = 24
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
        if self.clearance <= 0:
            found.append(f"clearance must be positive, got {self.clearance}")
        if self.consensus_neighbours < 0:
            found.append(f"consensus_neighbours must be ≥ 0, got {self.consensus_neighbours}")
        if self.facing_weight < 0:
            found.append(f"facing_weight must be ≥ 0, got {self.facing_weight}")
        if self.patch_size < 10:
            found.append(f"patch_size must be at least 10, got {self.patch_size}")
        return found


def edge_relation(points, normals, i, j):
    """How the normals at the two ends of each edge relate: ⟨nᵢ, Rᵢⱼ nⱼ⟩ in [−1, 1].

    Rᵢⱼ reflects through the plane bisecting the edge: Rn = n − 2⟨n, ê⟩ê, ê the unit edge. Positive: the
    signs agree (as on any sphere through both points, where Rᵢⱼ maps one outward normal onto the other);
    negative: one of them should flip; near 0: the edge cannot tell.
    """
    edge = points[j] - points[i]
    edge = edge / np.maximum(np.linalg.norm(edge, axis=1, keepdims=True), 1e-12)
    return (np.sum(normals[i] * normals[j], axis=1)
            - 2.0 * np.sum(edge * normals[i], axis=1) * np.sum(edge * normals[j], axis=1))


def surface_graph(points, normals, params):
    """The filtered k-NN graph and its facing edges.

    Returns
    -------
    surface : tuple (i, j, trust, relation)
        Edge arrays with i < j, each edge's trust in (0, 1] and its signed relation (``edge_relation`` of the
        normals given, whatever their signs). Trust is |relation| times the edge's *clearance*:
        exp(−½ (d/(c·s))²), d the distance from the edge's midpoint to the nearest cloud point, s the point
        spacing and c = ``params.clearance``. An edge along a sheet has points near its middle; one across the
        gap between two sheets has empty space there. A noisy normal can let such an edge through the slope
        test, but the spanning tree and the votes then hardly use it.
    facing : tuple (i, j, trust, relation)
        Edges steeper than ``max_tangent_slope`` at both ends, at least ``FACING_MIN_SPACINGS`` point
        spacings long, with a clear relation; trust ``facing_weight`` × |relation| (see the module's notes).
        Which of them lie within one piece is the caller's to decide.
    """
    tree = cKDTree(points)
    distances, indices = query_neighbours(tree, points, params.neighbours + 1)
    i = np.repeat(np.arange(len(points)), indices.shape[1] - 1)
    j = indices[:, 1:].ravel()
    i, j = np.minimum(i, j), np.maximum(i, j)
    unique = np.unique(i * len(points) + j)
    i, j = unique // len(points), unique % len(points)
    edge = points[j] - points[i]
    length = np.maximum(np.linalg.norm(edge, axis=1), 1e-12)
    relation = edge_relation(points, normals, i, j)
    alignment = np.abs(relation)
    slope_i = np.abs(np.sum(edge * normals[i], axis=1)) / length
    slope_j = np.abs(np.sum(edge * normals[j], axis=1)) / length
    clear_relation = alignment >= params.min_alignment
    keep = clear_relation & (slope_i <= params.max_tangent_slope) & (slope_j <= params.max_tangent_slope)
    spacing = max(float(np.median(distances[:, 1])), 1e-12)
    facing = clear_relation & (slope_i > params.max_tangent_slope) & (slope_j > params.max_tangent_slope) & \
        (length >= FACING_MIN_SPACINGS * spacing)
    facing_edges = (i[facing], j[facing], params.facing_weight * alignment[facing], relation[facing])
    i, j, alignment, relation = i[keep], j[keep], alignment[keep], relation[keep]
    gap = tree.query(0.5 * (points[i] + points[j]), workers=-1)[0]
    clearance = np.exp(-0.5 * (gap / (params.clearance * spacing)) ** 2)
    clear = clearance >= MIN_CLEARANCE
    return (i[clear], j[clear], alignment[clear] * clearance[clear], relation[clear]), facing_edges


def heat_geodesic(points, root):
    """Heat-method geodesic distance on the point cloud (potpourri3d) from one point."""
    import potpourri3d as pp3d

    return pp3d.PointCloudHeatSolver(points).compute_distance(int(root))


def geodesic_weights(points, i, j, alignment, alpha):
    """w = exp(−|gᵢ−gⱼ| / (α‖pᵢ−pⱼ‖))·trust with g the heat geodesic distance from a central point."""
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


def graph_voronoi(points, i, j, trust, centres, min_trust=0.3):
    """Patch id of every point: its nearest centre along the graph, patches split into connected parts.

    Patches grow along well-trusted edges first, so that a patch does not spill over a stray edge onto the
    other side of a gap (and then carry that edge inside its own spanning tree); points those edges do
    not reach join their nearest centre along any edge.
    """
    n = len(points)
    if len(centres) == 1:
        return np.zeros(n, dtype=int)
    length = np.linalg.norm(points[i] - points[j], axis=1) + 1e-9
    patch = np.full(n, -1)
    for usable in (trust >= min_trust, np.ones(len(i), dtype=bool)):
        graph = sparse_matrix(n, np.concatenate([i[usable], j[usable]]), np.concatenate([j[usable], i[usable]]),
                              np.tile(length[usable], 2))
        distance, _, source = dijkstra(graph, indices=centres, min_only=True, return_predecessors=True)
        todo = (patch < 0) & np.isfinite(distance)
        patch[todo] = np.searchsorted(np.sort(centres), source[todo])
    patch = np.where(patch < 0, 0, patch)
    # a patch must be connected through its own edges (its spanning tree reaches only those): split it
    inside = patch[i] == patch[j]
    return connected_components(sparse_matrix(n, i[inside], j[inside], np.ones(int(inside.sum()))), directed=False)[1]


def orient_piece_dipole(points, normals, i, j, trust, relation, patch_size):
    """Signs for one connected piece: per-patch spanning trees, then patch flips by the edges between
    patches, or by the dipole field where those do not agree."""
    n = len(points)
    centres = np.random.default_rng(0).choice(n, max(1, n // patch_size), replace=False)
    patch = graph_voronoi(points, i, j, trust, centres)
    n_patches = int(patch.max()) + 1
    sizes = np.bincount(patch, minlength=n_patches)
    order = np.argsort(patch, kind="stable")
    members_of = np.split(order, np.cumsum(sizes)[:-1])
    local = np.empty(n, dtype=int)  # each point's index within its patch
    local[order] = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    same = patch[i] == patch[j]
    inner = np.flatnonzero(same)
    inner = inner[np.argsort(patch[i[inner]], kind="stable")]
    inner_of = np.split(inner, np.cumsum(np.bincount(patch[i[inner]], minlength=n_patches))[:-1])
    signs = np.zeros(n)
    for members, edges in zip(members_of, inner_of):
        part = propagate_signs(len(members), local[i[edges]], local[j[edges]], trust[edges], relation[edges], 0)
        signs[members] = np.where(part == 0, 1.0, part)
    oriented = normals * signs[:, None]
    # Patches are taken strongest link first (the undone patch with the most edge trust to those already
    # oriented). Where the edges to those patches clearly agree on its sign (trust-weighted consensus at
    # least half their total) they decide; otherwise the dipole field of the patches it is tightly joined to
    # does. (Fields alone were fragile on folds: a facing sheet seen obliquely gives either sign.)
    a, b = i[~same], j[~same]
    link_relation = relation[~same]  # of the unsigned normals; times both signs below
    link_trust = trust[~same]
    links = sparse_matrix(n_patches, patch[a], patch[b], link_trust).toarray()
    links = links + links.T
    done = np.zeros(n_patches, dtype=bool)
    to_done = np.zeros(n_patches)  # total link trust from each patch to the oriented ones

    def mark_done(p):
        done[p] = True
        to_done[:] += links[:, p]

    mark_done(int(np.argmax(sizes)))
    while not done.all():
        p = int(np.argmax(np.where(done, -1.0, to_done)))
        if to_done[p] <= 0:  # joined to nothing oriented: a new start
            mark_done(int(np.argmax(np.where(done, -1, sizes))))
            continue
        members = members_of[p]
        mine = ((patch[a] == p) & done[patch[b]]) | ((patch[b] == p) & done[patch[a]])
        agreement = np.sign(link_relation[mine] * signs[a[mine]] * signs[b[mine]])
        consensus = float(np.sum(link_trust[mine] * agreement))
        if abs(consensus) >= 0.5 * to_done[p]:
            flip = consensus < 0
        else:
            strength = np.where(done, links[p], 0.0)
            sources = np.flatnonzero(np.isin(patch, np.flatnonzero(strength >= 0.25 * strength.max())))
            # Beside a dipole sheet the field runs against the moments: a consistent patch sees Σ⟨E, n⟩ < 0.
            flip = np.sum(dipole_field(points[sources], oriented[sources], points[members]) * oriented[members]) > 0
        if flip:
            signs[members] *= -1
            oriented[members] *= -1
        mark_done(p)
    return signs


def smooth_normals(points, normals, i, j, passes):
    """Average each normal with its graph neighbours (Gaussian in distance), ``passes`` times."""
    if passes <= 0 or len(i) == 0:
        return normals
    n = len(points)
    length = np.linalg.norm(points[i] - points[j], axis=1)
    weights = np.exp(-0.5 * (length / max(float(np.median(length)), 1e-12)) ** 2)
    matrix = sparse_matrix(n, np.concatenate([i, j]), np.concatenate([j, i]), np.tile(weights, 2))
    for _ in range(passes):
        normals = normals + matrix @ normals
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return normals


def repair_outliers(points, normals, labels, piece, min_piece_points, neighbours=16, min_cosine=0.5):
    """Give points whose normal the surface around them contradicts that surface's normal.

    A point whose estimated normal is far off (its neighbourhood straddled two sheets, or noise tilted it)
    either shares no graph edge with its neighbours (a piece of fewer than ``min_piece_points``, oriented by
    nothing) or disagrees with them (cosine below ``min_cosine`` with their weighted mean). Only neighbours
    whose tangent plane passes within one point spacing of the point speak for its surface: across a narrow
    gap the other sheet's points lie a gap away from their own planes' continuation, and their oriented
    normals, opposite on a fold, would cancel the mean. Where those neighbours (nearest points in large
    pieces, same label) agree among themselves (mean of unit normals at least 0.5 long), the point takes
    their mean, direction and sign, and joins the nearest one's piece.

    Returns the normals, the pieces and how many points were repaired.
    """
    sizes = np.bincount(piece)
    loose = sizes[piece] < min_piece_points
    normals = normals.copy()
    piece = piece.copy()
    repaired = 0
    for label in np.unique(labels):
        anchors = np.flatnonzero(~loose & (labels == label))
        mine = np.flatnonzero(labels == label)
        if len(anchors) <= neighbours:
            continue
        distance, nearest = query_neighbours(cKDTree(points[anchors]), points[mine], neighbours + 1)
        own = anchors[nearest] == mine[:, None]  # an anchor's own normal does not vote for itself
        scale = np.maximum(np.where(own, np.inf, distance).min(axis=1, keepdims=True), 1e-12)
        around = normals[anchors[nearest]]
        off_plane = np.abs(np.einsum("nki,nki->nk", points[mine][:, None, :] - points[anchors[nearest]], around))
        same_sheet = off_plane <= float(np.median(scale))
        weights = np.exp(-0.5 * (distance / (2 * scale)) ** 2) * ~own * same_sheet
        mean = np.einsum("nk,nki->ni", weights, around) / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        length = np.linalg.norm(mean, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cosine = np.sum(normals[mine] * mean, axis=1) / length
        fix = (length >= 0.5) & (loose[mine] | (cosine < min_cosine))
        normals[mine[fix]] = mean[fix] / length[fix, None]
        first = np.argmax(~own, axis=1)
        piece[mine[fix]] = piece[anchors[nearest[fix, first[fix]]]]
        repaired += int(fix.sum())
    return normals, piece, repaired


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
    normals, refitted = consensus_directions(points, normals, params.consensus_neighbours)
    (i, j, trust, relation), facing = surface_graph(points, normals, params)
    same_label = labels[i] == labels[j]
    i, j, trust, relation = i[same_label], j[same_label], trust[same_label], relation[same_label]
    n_pieces, piece = connected_components(sparse_matrix(len(points), i, j, np.ones(len(i))), directed=False)
    fi, fj, facing_trust, facing_relation = facing
    within = (piece[fi] == piece[fj]) & (facing_trust > 0)  # one piece: one label too
    fi, fj, facing_trust, facing_relation = fi[within], fj[within], facing_trust[within], facing_relation[within]
    signs = np.ones(len(points))
    weights = trust.copy()
    for p in range(n_pieces):
        members = np.flatnonzero(piece == p)
        if len(members) < 2:
            continue
        local = np.full(len(points), -1)
        local[members] = np.arange(len(members))
        inner = piece[i] == p
        li, lj = local[i[inner]], local[j[inner]]
        if params.method == "geodesic":
            w, root = geodesic_weights(points[members], li, lj, trust[inner], params.alpha)
            weights[inner] = w
            signs[members] = propagate_signs(len(members), li, lj, w, relation[inner], root)
        else:
            signs[members] = orient_piece_dipole(points[members], normals[members], li, lj, trust[inner],
                                                 relation[inner], params.patch_size)
        if 3 < len(members) <= MAX_SPECTRAL_POINTS:
            faces = piece[fi] == p
            edges = (np.concatenate([li, local[fi[faces]]]), np.concatenate([lj, local[fj[faces]]]),
                     np.concatenate([trust[inner], facing_trust[faces]]),
                     np.concatenate([relation[inner], facing_relation[faces]]))
            solved = synchronised_signs(len(members), *edges)
            if solved is not None and satisfied_trust(*edges, solved) > satisfied_trust(*edges, signs[members]):
                signs[members] = solved
    signs = vote_signs(len(points), np.concatenate([i, fi]), np.concatenate([j, fj]),
                       np.concatenate([weights, facing_trust]), np.concatenate([relation, facing_relation]),
                       signs, params.voting_rounds)
    oriented = normals * signs[:, None]
    oriented = smooth_normals(points, oriented, i, j, params.smoothing)
    oriented, piece, repaired = repair_outliers(points, oriented, labels, piece, params.min_piece_points)
    oriented = apply_convention(points, oriented, labels, piece, params.convention, partner_points)
    return oriented, {"edges": int(len(i)), "facing_edges": int(len(fi)), "pieces": int(len(np.unique(piece))),
                      "points": int(len(points)), "repaired": repaired, "refitted": int(refitted.sum())}
