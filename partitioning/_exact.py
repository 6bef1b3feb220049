"""Exact re-split of coarse regions: set partitioning over every connected group of buildings.

Where buildings are coarse (walk-up units of 20–40 households, tower units of 36), moving one building
at a time cannot find the packing that puts one more grid in the band: the local search and the
recombination stop at plans with a few grids just outside it.  Such a region has few connected groups
of buildings small enough to be a grid, so all of them can be listed (ESU, Wernicke 2006: every
connected induced subgraph once, grown from its smallest node) and the best choice of ``k`` of them
covering every building once is a small integer programme (set partitioning, solved by HiGHS through
:func:`scipy.optimize.milp`).  Its objective follows the engine's order: fewest grids outside the band,
then least band excess, then least Σ|h − t|, then compactness and barrier edges inside grids.  The
number of grids may be left free (``k=None``): coarse buildings often pack into more or fewer grids
than households / target rounded, and the count that leaves fewest grids outside the band (then most
within it) is chosen.

The whole piece is re-split (regions of two rings of grids around a grid outside the band, tried on
the corpus, never found a better split than the moves); the new split replaces the engine's only
when it has fewer grids outside the band, or as many and less excess, and its candidate grids are
never further from the target than the piece's worst grid (on the synthetic cities, a re-split free
to make one grid of 100–120 households would put one more grid in the band).  Only coarse pieces are tried
(at most :data:`_COARSE` buildings a grid on average); pieces whose groups are too many to list
(fine-grained buildings, where the moves work well) are left alone, so the cost is bounded: listing
stops at :data:`_MAX_SETS` groups, the programmes of such sizes take well under a second (HiGHS
without presolve, which alone took ten times longer on them), and up to :data:`_SEARCH_SETS`
candidates a depth-first search is faster still.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["connected_sets", "incidence", "exact_split", "repair"]

logger = logging.getLogger(__name__)

_MAX_SETS = 2_500  # a piece with more candidate grids than this is left to the moves
_COARSE = 2.0  # a piece is coarse when it has at most this many buildings a grid on average
_SEARCH_SETS = 60  # with at most this many candidate grids, a depth-first search instead of HiGHS


def connected_sets(adj, households, cap, limit=_MAX_SETS):
    """Every connected set of nodes holding at most ``cap`` households, each once (ESU), as sorted
    lists; ``None`` when there are more than ``limit``.

    ``adj`` lists each node's neighbours (``(node, crossing cost)`` pairs, as for
    :class:`partitioning._refine.LocalSearch`).

    Examples
    --------
    >>> adj = [[(1, 0)], [(0, 0), (2, 0)], [(1, 0)]]          # a path 0 – 1 – 2
    >>> sorted(connected_sets(adj, [20, 30, 20], cap=50))
    [[0], [0, 1], [1], [1, 2], [2]]
    """
    nbrs = [{u for u, _ in a} for a in adj]
    h = [int(v) for v in households]
    found: list[list[int]] = []
    for root in range(len(adj)):
        if h[root] > cap:
            continue
        # ESU with an explicit stack (a run of buildings without households can be long): each entry is
        # a set, its closed neighbourhood, the nodes it may still grow by, and its households
        stack = [([root], nbrs[root] | {root}, [u for u in sorted(nbrs[root]) if u > root], h[root])]
        while stack:
            sub, closed, ext, weight = stack.pop()
            found.append(sorted(sub))
            if len(found) > limit:
                return None
            for i in range(len(ext) - 1, -1, -1):
                w = ext[i]
                if weight + h[w] > cap:
                    continue
                more = [u for u in sorted(nbrs[w]) if u > root and u not in closed]
                stack.append((sub + [w], closed | nbrs[w], ext[:i] + more, weight + h[w]))
    return found


def incidence(sets, n: int):
    """The ``n × len(sets)`` 0/1 matrix (scipy CSC) of which node is in which set: the covering
    constraints of a set partitioning or packing over ``sets``.

    Examples
    --------
    >>> incidence([[0], [0, 1], [2]], 3).toarray().astype(int).tolist()
    [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    from scipy.sparse import csc_matrix

    rows = np.concatenate([np.asarray(s, dtype=np.int64) for s in sets]) if sets else np.zeros(0, dtype=np.int64)
    cols = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    return csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, len(sets)))


def _labels(sets, chosen, n: int):
    """Labels ``0 ..`` of the ``n`` nodes from the indices of the ``chosen`` sets; ``None`` when some
    node is in none of them."""
    labels = np.full(n, -1, dtype=np.int64)
    for g, j in enumerate(chosen):
        labels[sets[j]] = g
    return labels if (labels >= 0).all() else None


def _set_costs(sets, adj, xy, households, *, target, lo, hi, crossing_weight):
    """(outside, excess, |h − t|, compactness) of every candidate grid."""
    h = np.asarray(households, dtype=float)
    w = np.maximum(h, 0.5)
    costs = np.zeros((len(sets), 4))
    for j, s in enumerate(sets):
        hh = h[s].sum()
        ws = w[s]
        px, py = xy[s, 0], xy[s, 1]
        total = ws.sum()
        inertia = float((ws * (px * px + py * py)).sum() - ((ws * px).sum() ** 2 + (ws * py).sum() ** 2) / total)
        members = set(s)
        crossing = sum(c for v in s for u, c in adj[v] if c and u > v and u in members)
        excess = max(0.0, lo - hh, hh - hi)
        costs[j] = (excess > 1e-9, excess, abs(hh - target), max(inertia, 0.0) + crossing_weight * crossing)
    return costs


def exact_split(adj, xy, households, k, *, target, tolerance, crossing_weight, worst=None, most_out=None,
                time_limit=10.0, sets=None):
    """The best split of a connected region into ``k`` connected grids, by the engine's order; labels
    ``0 .. k-1`` or ``None`` when the region's groups are too many to list, no split was proven
    optimal in ``time_limit`` seconds, or none exists.  With ``k=None``, into any number of grids:
    the number is then part of the choice (fewest grids outside the band first).

    The candidate grids hold at most ``target × (1 + tolerance)`` households plus the region's largest
    building (a grid further above the band is no grid a planner wants); with ``worst``, only grids
    holding ``target ± worst`` households (no grid further from the target than that); with
    ``most_out``, only splits with at most that many grids outside the band.  The split is the best of
    those.  ``sets``: the candidate grids when the caller has listed them already
    (:func:`connected_sets` with that cap).  The time limit only guards against a runaway solve: the
    programmes that listing allows take well under it, so the result does not depend on the
    machine's speed.
    """
    from scipy.optimize import LinearConstraint, milp

    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    h = np.asarray(households)
    if sets is None:
        sets = connected_sets(adj, h, hi + float(h.max()) if worst is None else target + worst)
    if sets is None:
        return None
    if worst is not None:
        sets = [g for g in sets if abs(float(h[g].sum()) - target) <= worst + 1e-9]
        if not sets:
            return None
    costs = _set_costs(sets, adj, np.asarray(xy, dtype=float), h, target=target, lo=lo, hi=hi,
                       crossing_weight=crossing_weight)
    n, m = len(adj), len(sets)
    if m <= _SEARCH_SETS:
        labels = _search(sets, costs, n, k)
        if labels is None or most_out is None or _band_cost(labels, h, lo, hi)[0] <= most_out:
            return labels
        return None
    constraints = [LinearConstraint(incidence(sets, n), 1, 1)]
    if k is not None:
        constraints.append(LinearConstraint(np.ones((1, m)), k, k))
    if most_out is not None:
        constraints.append(LinearConstraint(costs[None, :, 0], 0, most_out))
    most = n if k is None else k  # the most grids a split can have
    options = {"time_limit": time_limit, "mip_rel_gap": 0.0, "presolve": False}
    # lexicographic, in two integer stages: (grids outside, grids within the band taken negatively,
    # excess), then (Σ|h − t|, compactness); with k fixed the second term is the same for every split
    step = float(most * costs[:, 1].max() + 1)
    band_cost = costs[:, 0] * (most + 2) * step - (1 - costs[:, 0]) * step + costs[:, 1]
    first = milp(band_cost, constraints=constraints, integrality=np.ones(m), bounds=(0, 1), options=options)
    if first.status != 0:
        return None
    band = LinearConstraint(band_cost[None, :], -np.inf, float(first.fun) + 1e-6)
    second_cost = costs[:, 2] + costs[:, 3] / (most * float(costs[:, 3].max()) + 1.0)
    second = milp(second_cost, constraints=constraints + [band], integrality=np.ones(m), bounds=(0, 1),
                  options=options)
    chosen = second.x if second.status == 0 else first.x
    return _labels(sets, np.flatnonzero(chosen > 0.5).tolist(), n)


def _search(sets, costs, n, k):
    """Depth-first search over the candidate grids holding the first building not yet covered: the
    split by the same order as the integer programme (few candidates: faster than building it);
    ``k=None`` for any number of grids."""
    by_first: list[list[int]] = [[] for _ in range(n)]
    for j, s in enumerate(sets):
        by_first[s[0]].append(j)
    best: list = [None, None]
    covered = [False] * n
    chosen: list[int] = []

    def total():
        c = costs[chosen]
        out = c[:, 0].sum()
        return (out, out - len(chosen), round(float(c[:, 1].sum()), 9), round(float(c[:, 2].sum()), 9),
                float(c[:, 3].sum()))

    def grow(first):
        while first < n and covered[first]:
            first += 1
        if first == n:
            if k is None or len(chosen) == k:
                cost = total()
                if best[0] is None or cost < best[0]:
                    best[0], best[1] = cost, list(chosen)
            return
        if len(chosen) == k:
            return
        for j in by_first[first]:
            if any(covered[v] for v in sets[j]):
                continue
            for v in sets[j]:
                covered[v] = True
            chosen.append(j)
            grow(first + 1)
            chosen.pop()
            for v in sets[j]:
                covered[v] = False

    grow(0)
    return None if best[1] is None else _labels(sets, best[1], n)


def _band_cost(labels, households, lo, hi):
    """(grids outside the band, minus the grids within it, excess) of a split."""
    return band_of_loads(np.bincount(labels, weights=households), lo, hi)


def band_of_loads(grid_h, lo, hi):
    """(grids outside the band, minus the grids within it, excess) of grids holding ``grid_h``."""
    grid_h = np.asarray(grid_h, dtype=float)
    excess = np.maximum(0.0, np.maximum(lo - grid_h, grid_h - hi))
    out = int((excess > 1e-9).sum())
    return out, out - len(grid_h), round(float(excess.sum()), 9)


def repair(adj, xy, households, labels, *, target, tolerance, crossing_weight, free_k=False):
    """Re-split a piece exactly (:func:`exact_split`) when some of its grids are outside the band and its
    candidate grids can be listed; the new split is kept only when it has fewer grids outside the
    band, or as many and more within it, or then less excess.  No grid of the new split is further
    from the target than the piece's worst grid was: one grid fewer outside the band is not worth a
    grid of twice the target.  With ``free_k`` the number of grids is part of the choice (the engine
    without ``n_grids``); otherwise it is kept.  Returns the labels."""
    labels = np.asarray(labels, dtype=np.int64)
    h = np.asarray(households)
    k = int(labels.max()) + 1
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    before = _band_cost(labels, h, lo, hi)
    if before[0] == 0 or not k < len(labels) <= _COARSE * k:  # in the band, one building a grid, or fine
        return labels
    worst = float(np.abs(np.bincount(labels, weights=h) - target).max())
    new = exact_split(adj, xy, h, None if free_k else k, target=target, tolerance=tolerance,
                      crossing_weight=crossing_weight, worst=worst)
    if new is None:
        return labels
    after = _band_cost(new, h, lo, hi)
    if after >= before:
        return labels
    logger.debug("exact re-split of %d building(s) into %d grids (%d before): %d → %d grid(s) outside the band",
                 len(labels), int(new.max()) + 1, k, before[0], after[0])
    return new
