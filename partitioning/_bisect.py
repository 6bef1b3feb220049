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

_SMALL = 200  # below this many nodes a pure-Python Kruskal beats scipy's per-call overhead


def _random_tree_small(n, a, b, cost, rng, root):
    """BFS order and predecessors of the MST of randomly perturbed costs (Kruskal, union-find)."""
    noisy = cost * (1.0 + rng.random(len(cost)))
    parent = list(range(n))
    tree = [[] for _ in range(n)]
    joined = 0
    for e in np.argsort(noisy, kind="stable").tolist():
        u, v = a[e], b[e]
        ru = u
        while parent[ru] != ru:
            parent[ru] = parent[parent[ru]]
            ru = parent[ru]
        rv = v
        while parent[rv] != rv:
            parent[rv] = parent[parent[rv]]
            rv = parent[rv]
        if ru != rv:
            parent[ru] = rv
            tree[u].append(v)
            tree[v].append(u)
            joined += 1
            if joined == n - 1:
                break
    order, pred = [root], [-1] * n
    seen = [False] * n
    seen[root] = True
    for u in order:
        for v in tree[u]:
            if not seen[v]:
                seen[v] = True
                pred[v] = u
                order.append(v)
    return order, pred


def _random_tree_large(n, a, b, cost, rng, root):
    noisy = cost * (1.0 + rng.random(len(cost)))
    tree = minimum_spanning_tree(sp.csr_matrix((noisy, (a, b)), shape=(n, n)))
    order, pred = breadth_first_order(tree, root, directed=False, return_predecessors=True)
    return order.tolist(), pred.tolist()


def _best_cut(n, a, b, cost, weight, k, t, rng, n_trees):
    """The best single-edge cut over ``n_trees`` random spanning trees: (side mask, k of side, score)."""
    total = float(sum(weight))
    random_tree = _random_tree_small if n <= _SMALL else _random_tree_large
    al, bl = (a.tolist(), b.tolist()) if n <= _SMALL else (a, b)
    if len(cost) == n - 1:  # the graph is a tree: there is no other to draw
        n_trees = 1
    trees, subs, sizes = [], [], []
    for _ in range(n_trees):
        order, pred = random_tree(n, al, bl, cost, rng, int(rng.integers(n)))
        sub = list(weight)
        size = [1] * n
        for v in reversed(order[1:]):
            p = pred[v]
            sub[p] += sub[v]
            size[p] += size[v]
        rest = order[1:]
        trees.append((order, pred))
        subs.append([sub[v] for v in rest])
        sizes.append([size[v] for v in rest])
    # the cuts of all trees scored at once (row i: the edges of tree i, in its BFS order)
    s = np.asarray(subs, dtype=float)
    c = np.asarray(sizes, dtype=float)
    lo, hi = np.maximum(1, k - (n - c)), np.minimum(k - 1, c)  # each part needs a node
    ka1 = np.clip(np.floor(s / t), lo, hi)
    ka2 = np.clip(np.ceil(s / t), lo, hi)
    dev1 = np.maximum(np.abs(s / ka1 - t), np.abs((total - s) / (k - ka1) - t))
    dev2 = np.maximum(np.abs(s / ka2 - t), np.abs((total - s) / (k - ka2) - t))
    ka = np.where(dev1 <= dev2, ka1, ka2)
    # among near-equal cuts prefer halving (compact parts) over peeling one part off
    score = np.minimum(dev1, dev2) / t + 0.01 * np.abs(ka / k - 0.5)
    pos = np.argmin(score, axis=1)
    best, low = None, np.inf
    for i in range(len(trees)):  # the first tree with the lowest score wins
        if score[i, pos[i]] < low:
            best, low = i, score[i, pos[i]]
    if best is None:
        return None, 1, np.inf
    order, pred = trees[best]
    cut = int(pos[best])
    inside = np.zeros(n, dtype=bool)
    inside[order[1 + cut]] = True
    for u in order[2 + cut:]:  # BFS order: a node's parent comes first
        if inside[pred[u]]:
            inside[u] = True
    return inside, int(ka[best, cut]), float(low)


def recursive_bisection(n: int, edges: np.ndarray, cost: np.ndarray, weight: np.ndarray, k: int, t: float,
                        rng: np.random.Generator, *, n_trees: int = 6) -> np.ndarray:
    """Split a connected graph into ``k`` connected parts holding about ``t`` each.

    Parameters
    ----------
    n : int
        Number of nodes.
    edges : numpy.ndarray
        ``(m, 2)`` node pairs of a connected graph, each once.
    cost : numpy.ndarray
        Edge costs (> 0): spanning trees prefer cheap edges.
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
    labels = np.zeros(n, dtype=np.int64)
    stack = [(np.arange(n), k)]
    next_label = 0
    local = np.full(n, -1, dtype=np.int64)
    weight = np.asarray(weight)
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
        local[:] = -1
        local[nodes] = np.arange(len(nodes))
        keep = (local[edges[:, 0]] >= 0) & (local[edges[:, 1]] >= 0)
        a, b = local[edges[keep, 0]], local[edges[keep, 1]]
        inside, ka, _ = _best_cut(len(nodes), a, b, cost[keep], weight[nodes].tolist(), kk, t, rng, n_trees)
        stack.append((nodes[~inside], kk - ka))
        stack.append((nodes[inside], ka))
    return labels
