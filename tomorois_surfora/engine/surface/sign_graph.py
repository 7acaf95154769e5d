"""Signs of unoriented normals over a graph of edges whose relation says agree (> 0) or disagree (< 0).

The primitives :mod:`.orient` builds on: a maximum spanning tree that propagates signs, the global Z2
synchronisation (leading eigenvector) that lets every edge vote, the trust a set of signs satisfies, and
point-wise sign voting.
"""
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

DENSE_EIGEN_POINTS = 500  # below this the eigenvector is computed densely (ARPACK needs a few more points)


def sparse_matrix(n, i, j, values):
    """The n × n CSR matrix with ``values`` at (i, j)."""
    return coo_matrix((values, (i, j)), shape=(n, n)).tocsr()


def propagate_signs(n, i, j, weights, relation, root):
    """Signs (±1) of ``n`` normals that make them agree along the maximum-weight spanning tree from ``root``;
    ``relation`` is each edge's ``edge_relation``.

    Only the nodes reached from ``root`` get a sign; the others stay 0.
    """
    cost = sparse_matrix(n, i, j, 2.0 - weights)  # max-weight tree = min-cost tree; costs stay > 0
    tree = minimum_spanning_tree(cost)
    order, predecessors = breadth_first_order(tree, root, directed=False)
    signs = np.zeros(n)
    signs[root] = 1.0
    agree = np.sign(relation[edge_index(n, i, j, order[1:], predecessors[order[1:]])])
    agree[agree == 0] = 1.0
    for node, parent, agreement in zip(order[1:].tolist(), predecessors[order[1:]].tolist(), agree.tolist()):
        signs[node] = signs[parent] * agreement
    return signs


def edge_index(n, i, j, a, b):
    """Index in the edge arrays (i, j) of each edge (a, b), given either way round; every (a, b) must be one."""
    keys = np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j)
    order = np.argsort(keys)
    wanted = np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)
    return order[np.searchsorted(keys[order], wanted)]


def synchronised_signs(n, i, j, weights, relation):
    """Signs (±1) from the whole graph at once: the leading eigenvector of the degree-normalised matrix of
    signed edge weights wᵢⱼ·sign(relationᵢⱼ), which maximises Σ wᵢⱼ relᵢⱼ sᵢsⱼ over real s (the Z2
    synchronisation relaxation); every edge votes, where a spanning tree follows single edges. None where
    the sparse eigensolver does not converge."""
    from scipy.sparse.linalg import ArpackNoConvergence, eigsh

    signed = weights * np.sign(relation)
    degree = np.bincount(i, np.abs(signed), n) + np.bincount(j, np.abs(signed), n)
    scale = 1.0 / np.sqrt(np.maximum(degree, 1e-12))
    values = signed * scale[i] * scale[j]
    # + identity: the spectrum moves from [−1, 1] to [0, 2], so the largest eigenvalue is also the largest
    # in magnitude and Lanczos converges to it
    matrix = sparse_matrix(n, np.concatenate([i, j, np.arange(n)]), np.concatenate([j, i, np.arange(n)]),
                           np.concatenate([values, values, np.ones(n)]))
    if n <= DENSE_EIGEN_POINTS:
        vector = np.linalg.eigh(matrix.toarray())[1][:, -1:]
    else:
        try:
            _, vector = eigsh(matrix, k=1, which="LA", v0=np.ones(n), tol=1e-6)
        except ArpackNoConvergence:  # the tree's signs stand
            return None
    return np.where(vector[:, 0] < 0, -1.0, 1.0)


def satisfied_trust(i, j, weights, relation, signs):
    """Σ wᵢⱼ relᵢⱼ sᵢsⱼ: the edge trust the signs satisfy, less the trust they violate."""
    return float(np.sum(weights * relation * signs[i] * signs[j]))


def vote_signs(n, i, j, weights, relation, signs, rounds):
    """``signs`` (±1) after flipping points whose weighted neighbours mostly point the other way, until none
    does; ``relation`` is each edge's ``edge_relation`` before the signs."""
    votes = weights * relation
    signs = np.asarray(signs, dtype=float).copy()
    for _ in range(rounds):
        signed = votes * signs[i] * signs[j]
        agreement = np.bincount(i, signed, n) + np.bincount(j, signed, n)
        flip = agreement < 0
        if not flip.any():
            break
        signs[flip] *= -1
    return signs
