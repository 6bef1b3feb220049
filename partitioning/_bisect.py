"""Initial partition by recursive spanning-tree bisection (as in GerryChain's ``recursive_tree_part``).

A connected group of (indivisible) nodes is split into ``k`` connected parts by cutting one edge of a
random spanning tree: the two sides of a tree edge are both connected.  Of the edges of several trees
the cut whose sides come closest to holding ``k_a × t`` and ``(k − k_a) × t`` households is kept, and
both sides are split again.  Trees are minimum spanning trees of randomly perturbed edge costs that
grow with distance and with barrier crossings, so that the parts are compact and cut along barriers.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

__all__ = ["recursive_bisection"]


def _best_cut(cost: sp.csr_matrix, weight: np.ndarray, k: int, t: float, rng: np.random.Generator,
              n_trees: int) -> tuple[np.ndarray, int, float]:
    """The best single-edge cut over ``n_trees`` random spanning trees: (side mask, k of side, score)."""
    n = len(weight)
    total = float(weight.sum())
    best = (None, 1, np.inf)
    coo = cost.tocoo()
    upper = coo.row < coo.col
    rows, cols, base = coo.row[upper], coo.col[upper], coo.data[upper]
    for _ in range(n_trees):
        noisy = base * (1.0 + rng.random(len(base)))
        tree = minimum_spanning_tree(sp.csr_matrix((noisy, (rows, cols)), shape=(n, n)))
        root = int(rng.integers(n))
        order, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)
        sub = weight.astype(float).copy()
        size = np.ones(n)
        for v in order[:0:-1]:
            sub[pred[v]] += sub[v]
            size[pred[v]] += size[v]
        s, c = sub[order[1:]], size[order[1:]]
        lo, hi = np.maximum(1, k - (n - c)), np.minimum(k - 1, c)  # each part needs a node
        candidates = []
        for ka in (np.floor(s / t), np.ceil(s / t)):
            ka = np.clip(ka, lo, hi)
            dev = np.maximum(np.abs(s / ka - t), np.abs((total - s) / (k - ka) - t)) / t
            candidates.append((dev, ka))
        dev = np.minimum(candidates[0][0], candidates[1][0])
        ka = np.where(candidates[0][0] <= candidates[1][0], candidates[0][1], candidates[1][1])
        # among near-equal cuts prefer halving (compact parts) over peeling one part off
        score = dev + 0.01 * np.abs(ka / k - 0.5)
        pos = int(np.argmin(score))
        if score[pos] < best[2]:
            v = order[1 + pos]
            inside = np.zeros(n, dtype=bool)
            inside[v] = True
            for u in order[1:]:
                if not inside[u] and inside[pred[u]]:
                    inside[u] = True
            best = (inside, int(ka[pos]), float(score[pos]))
    return best


def recursive_bisection(cost: sp.csr_matrix, weight: np.ndarray, k: int, t: float,
                        rng: np.random.Generator, *, n_trees: int = 6) -> np.ndarray:
    """Split a connected graph into ``k`` connected parts holding about ``t`` each.

    Parameters
    ----------
    cost : scipy.sparse.csr_matrix
        Symmetric edge costs (> 0) of a connected graph of ``n`` nodes.
    weight : numpy.ndarray
        Households of each node.
    k : int
        Number of parts, ``1 <= k <= n``.
    t : float
        Households a part should hold.
    rng : numpy.random.Generator
        Source of the spanning trees' randomness.
    n_trees : int, default 6
        Random spanning trees tried at each split.

    Returns
    -------
    numpy.ndarray
        Part label (``0 .. k-1``) of each node.
    """
    n = len(weight)
    labels = np.zeros(n, dtype=np.int64)
    stack = [(np.arange(n), k)]
    next_label = 0
    while stack:
        nodes, kk = stack.pop()
        if kk == 1:
            labels[nodes] = next_label
            next_label += 1
            continue
        if kk >= len(nodes):
            labels[nodes] = next_label + np.arange(len(nodes))
            next_label += len(nodes)
            continue
        sub = cost[nodes][:, nodes]
        inside, ka, _ = _best_cut(sub, weight[nodes], kk, t, rng, n_trees)
        stack.append((nodes[~inside], kk - ka))
        stack.append((nodes[inside], ka))
    return labels
