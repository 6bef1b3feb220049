"""Repair of unbalanced grids by recombination (ReCom, DeFord, Duchin & Solomon 2021).

Single-building moves stall when every neighbour of an overfull grid is itself nearly full.  For each
grid outside the band, the grid and its neighbouring grids (then up to three grids away) are merged
into one connected region, which is split again into as many grids by several random spanning-tree
bisections, each refined by local search; the best split replaces the region when it is better
(balance first, then the secondary objective).
"""

from __future__ import annotations

import numpy as np

from partitioning._bisect import recursive_bisection
from partitioning._refine import LocalSearch, better

__all__ = ["recombine"]

_MAX_REGION_GRIDS = 12  # a region stops growing once it holds more grids than this
_SMALL_REGION = 30  # regions of at most this many nodes get three times the attempts


def _region(adj, labels, grid, radius):
    region = {grid}
    frontier = {grid}
    for _ in range(radius):
        if len(region) > _MAX_REGION_GRIDS:
            break
        nodes = np.flatnonzero(np.isin(labels, list(frontier)))
        touching = {int(labels[u]) for v in nodes.tolist() for u, _ in adj[v]}
        frontier = touching - region
        region |= touching
    return sorted(region)


def recombine(adj, edges, cost, xy, households, labels, *, target, tolerance, balance_weight,
              crossing_weight, rng, attempts=4, max_rounds=3):
    """Re-split the neighbourhood of each grid outside the band; return the improved labels.

    Parameters
    ----------
    adj : list of list of tuple(int, float)
        Neighbours and crossing costs of each node (see :class:`partitioning._refine.LocalSearch`).
    edges, cost : numpy.ndarray
        The same edges as ``(m, 2)`` pairs and their spanning-tree costs.
    xy, households, labels : numpy.ndarray
        Node coordinates, households and current part labels.
    target, tolerance, balance_weight, crossing_weight : float
        As for :class:`partitioning._refine.LocalSearch`.
    rng : numpy.random.Generator
        Randomness of the bisections and of the local search.
    attempts : int, default 4
        Random re-splits tried per region.
    max_rounds : int, default 3
        Sweeps over the grids outside the band.
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    households = np.asarray(households)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    local = np.full(len(labels), -1, dtype=np.int64)
    options = dict(target=target, tolerance=tolerance, balance_weight=balance_weight,
                   crossing_weight=crossing_weight)

    def outside(grid_h):
        return (grid_h < lo - 1e-9) | (grid_h > hi + 1e-9)

    hopeless = set()  # regions (as node tuples) where no attempt helped: not tried again
    for _ in range(max_rounds):
        grid_h = np.bincount(labels, weights=households)
        bad = np.flatnonzero(outside(grid_h))
        if len(bad) == 0:
            break
        changed = False
        for grid in bad.tolist():
            if not outside(np.bincount(labels, weights=households)[grid]):
                continue
            previous = [grid]
            for radius in (1, 2, 3):
                region = _region(adj, labels, grid, radius)
                if region == previous:  # nothing more to reach
                    break
                previous = region
                nodes = np.flatnonzero(np.isin(labels, region))
                key = tuple(nodes.tolist())
                if key in hopeless:
                    continue
                local[:] = -1
                local[nodes] = np.arange(len(nodes))
                keep = (local[edges[:, 0]] >= 0) & (local[edges[:, 1]] >= 0)
                sub_edges = local[edges[keep]]
                sub_adj = [[(int(local[u]), c) for u, c in adj[v] if local[u] >= 0] for v in nodes.tolist()]
                current = np.searchsorted(region, labels[nodes])
                best_cost = LocalSearch(sub_adj, xy[nodes], households[nodes], current, **options).cost()
                best = None
                for _ in range(attempts if len(nodes) > _SMALL_REGION else 3 * attempts):
                    start = recursive_bisection(len(nodes), sub_edges, cost[keep], households[nodes],
                                                len(region), target, rng, n_trees=3)
                    search = LocalSearch(sub_adj, xy[nodes], households[nodes], start, **options)
                    found = search.run(rng)
                    found_cost = search.cost()
                    if better(found_cost, best_cost):
                        best, best_cost = found, found_cost
                        if best_cost[0] == 0:  # every grid of the region in the band
                            break
                if best is None:
                    hopeless.add(key)
                else:
                    labels[nodes] = np.asarray(region)[best]
                    changed = True
                    break
        if not changed:
            break
    return labels
