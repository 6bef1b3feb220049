"""The partition engine: buildings → balanced, compact, connected grids of about ``target`` households.

The algorithm (see ``docs/partitioning.md`` for the literature):

1. **Must-link groups.**  Buildings joined by an ``overlap`` edge (their footprints overlap) are
   contracted into one node: no grid boundary may run between them.
2. **Oversize buildings.**  A node holding more than ``target × (1 + tolerance)`` households is a grid
   of its own (status ``oversize``); it is never split and never shares its grid.
3. **Pieces.**  Without the oversize nodes the graph falls into connected pieces (boundary units,
   groups cut off by major barriers, groups behind an oversize building).  A piece holding fewer than
   ``target × (1 − tolerance)`` households is one grid (status ``undersize``), unless
   ``allow_cross_boundary`` lets it join the nearest grid (only a group isolated by boundaries,
   not one cut off by an oversize building).  Otherwise the piece gets the number of grids
   that fits its households best.
4. **Initial split** by recursive spanning-tree bisection (:mod:`partitioning._bisect`).
5. **Refinement** by moving boundary buildings between neighbouring grids, keeping every grid connected
   (:mod:`partitioning._refine`): balance first, then compactness and barrier crossings; ejection
   chains through neighbouring grids; recombination of the neighbourhood of each grid still outside
   the band (:mod:`partitioning._recombine`).
   The second round of local search and ejection chains, after recombination, weighs the squared
   deviation from the target ten times more (``_POLISH_WEIGHT``): the band excess still comes first, so no grid leaves the band, but among
   plans as balanced, grids closer to the target are preferred (tighter balance, issue 14).
   Last, :meth:`partitioning._refine.LocalSearch.tighten` makes the moves and
   :meth:`~partitioning._refine.LocalSearch.swap` the exchanges of two boundary buildings and
   :meth:`~partitioning._refine.LocalSearch.deviation_chains` the chains of moves through up to three
   grids that lower Σ|h − target| without adding band excess, and a final local search restores compactness where that
   does not raise Σ|h − target|.  Between moves as good on the band excess, the one leaving fewer grids
   outside the band is made.  A piece of coarse buildings that still has grids outside the band is
   re-split exactly when its candidate grids can be listed (:mod:`partitioning._exact`), into the
   number of grids that leaves fewest outside the band (then most within it), which need not be
   households / target rounded: 70 walk-ups of 36 and 24 make 35 grids of 60, not 42 with some
   outside.  With ``n_grids`` the number of grids of every piece is kept.
   In a piece of more than :data:`_REGION_UNITS` units, the grids still outside the band and the grids
   around them are then re-split together by a constraint solver (:mod:`partitioning._region`), and
   the moves tighten the balance again.
   Of the two numbers of grids tried on a small piece, the split with less band excess, then fewer
   grids outside the band, then less Σ|h − target| is kept.
6. **No empty grids.**  A grid holding no households (a piece of shops, schools or sheds cut off by an
   oversize building) joins the neighbouring grid it shares the cheapest edge with, an oversize one
   included: a grid leader with nobody to serve is worse than a tower's grid with a shed in it.  Only
   a group of such buildings with no edge to any other grid stays alone.

Every random choice draws from ``numpy.random.default_rng([seed, piece])``: the same graph and seed give
the same plan.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from geo.errors import InfeasibleError, InputError
from partitioning._bisect import recursive_bisection
from partitioning._exact import repair
from partitioning._recombine import recombine
from partitioning._refine import LocalSearch
from partitioning._region import repair_region
from partitioning.graph import crossing_cost
from partitioning.settings import DEFAULT_GAP, DEFAULT_TARGET, DEFAULT_TOLERANCE

__all__ = ["GRID_STATUSES", "PartitionResult", "partition"]

logger = logging.getLogger(__name__)

#: Values of the ``status`` column of :attr:`PartitionResult.grids`.
GRID_STATUSES: tuple[str, ...] = ("ok", "oversize", "undersize", "out_of_tolerance")

# Weights of the secondary objective, in units of the moment of inertia (household·m²), scaled by the
# graph's gap: a squared deviation of one household² weighs like one household moved by
# sqrt(_BALANCE_WEIGHT) × gap; a barrier edge inside a grid like the grid's households moved by
# sqrt(_CROSSING_WEIGHT) × gap.
_BALANCE_WEIGHT = 0.05
_CROSSING_WEIGHT = 0.1
_POLISH_WEIGHT = 0.5  # the second round: squared deviation weighs 10× (tighter balance, compactness −1 %)
_TRY_BOTH_K = 60  # pieces of at most this many units are split both ways when two numbers of grids fit
_REGION_UNITS = 60  # pieces of more units than this get the regional re-split (not the thousands of
# small pieces of a nested or emergency layout, where it would cost minutes)


@dataclass(frozen=True)
class _Units:
    """The units the engine balances (buildings joined by must-link edges): households ``h``,
    household-weighted centres ``xy``, and the edges between units ``a``–``b`` with their crossing
    cost ``crossing`` and length ``length`` (m)."""

    h: np.ndarray
    xy: np.ndarray
    a: np.ndarray
    b: np.ndarray
    crossing: np.ndarray
    length: np.ndarray


@dataclass(frozen=True)
class PartitionResult:
    """A partition of buildings into grids.

    Attributes
    ----------
    assignment : pandas.Series
        ``grid_id`` (str, ``"G0001"`` …) of every building, indexed by ``building_id``.
    grids : pandas.DataFrame
        One row per ``grid_id``: ``households``, ``n_buildings`` and ``status`` (``ok``, ``oversize``: one
        building above the band; ``undersize``: an isolated group below it; ``out_of_tolerance``).
    """

    assignment: pd.Series
    grids: pd.DataFrame


def _check_request(graph: nx.Graph, target, tolerance, n_grids) -> None:
    if graph.number_of_nodes() == 0:
        raise InfeasibleError("the graph has no buildings to partition")
    if not isinstance(target, (int, np.integer)) or isinstance(target, bool) or target < 1:
        raise InfeasibleError(f"target must be a whole number of households >= 1, got {target!r}")
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise InfeasibleError(f"tolerance must be a fraction in [0, 1), got {tolerance!r}")
    if n_grids is not None:
        if not isinstance(n_grids, (int, np.integer)) or isinstance(n_grids, bool) or n_grids < 1:
            raise InfeasibleError(f"n_grids must be a whole number >= 1, got {n_grids!r}")
        if n_grids > graph.number_of_nodes():
            raise InfeasibleError(
                f"{n_grids} grids asked for {graph.number_of_nodes()} buildings: a building is never split, "
                "so there cannot be more grids than buildings"
            )
    for attr in ("households", "x", "y"):
        missing = [v for v, d in graph.nodes(data=True) if attr not in d]
        if missing:
            raise InputError(
                f"{len(missing)} graph node(s) lack '{attr}' (e.g. {missing[:3]}); "
                "build the graph with partitioning.graph.build_contiguity_graph"
            )


def _must_link(graph: nx.Graph, index: dict) -> np.ndarray:
    """Group number of each node: nodes joined by ``overlap`` edges share one (numbered by first node)."""
    linked = nx.Graph()
    linked.add_nodes_from(range(len(index)))
    linked.add_edges_from((index[u], index[v]) for u, v, o in graph.edges(data="overlap") if o)
    group = np.empty(len(index), dtype=np.int64)
    for comp in nx.connected_components(linked):
        group[list(comp)] = min(comp)
    _, group = np.unique(group, return_inverse=True)
    return group


def _choose_k(households: float, t: float, tolerance: float, cap: int) -> list[int]:
    """Numbers of grids worth trying for a piece, best first: fewest households outside the band on
    average, then mean closest to ``t``."""
    lo, hi = t * (1 - tolerance), t * (1 + tolerance)
    keyed = []
    for k in {min(cap, max(1, math.floor(households / t))), min(cap, max(1, math.ceil(households / t)))}:
        mean = households / k
        keyed.append(((k * max(0.0, lo - mean, mean - hi), abs(mean - t), k), k))
    keyed.sort()
    return [k for key, k in keyed if key[0] <= keyed[0][0][0] + 1e-9]


def _allocate(piece_h: np.ndarray, piece_cap: np.ndarray, total: int) -> np.ndarray:
    """Share ``total`` grids among pieces in proportion to households (D'Hondt), at least one each."""
    k = np.ones(len(piece_h), dtype=np.int64)
    for _ in range(total - len(piece_h)):
        quotient = np.where(k < piece_cap, piece_h / (k + 1.0), -1.0)
        k[int(np.argmax(quotient))] += 1
    return k


def partition(
    graph: nx.Graph,
    *,
    target: int = DEFAULT_TARGET,
    tolerance: float = DEFAULT_TOLERANCE,
    n_grids: int | None = None,
    seed: int = 0,
    allow_cross_boundary: bool = False,
    regional: bool = True,
    progress: bool = False,
) -> PartitionResult:
    """Partition the buildings of a contiguity graph into grids of about ``target`` households.

    Parameters
    ----------
    graph : networkx.Graph
        From :func:`partitioning.graph.build_contiguity_graph`: nodes with ``households``, ``x``, ``y``;
        edges with ``crosses`` and ``overlap``.
    target : int, default 50
        Households per grid ("1包50").
    tolerance : float, default 0.2
        Grids should hold between ``target × (1 − tolerance)`` and ``target × (1 + tolerance)``.
    n_grids : int, optional
        Number of grids wanted instead of ``target``; the target becomes households / ``n_grids``.
    seed : int, default 0
        Seed of every random choice; the same graph and seed give the same plan.
    allow_cross_boundary : bool, default False
        Let a group too small for a grid that no edge joins to anything else (an isolated compound)
        join the grid of the nearest building, across its boundary.  Such grids are not connected in
        ``graph`` (see ``validate_partition(..., allow_cross_boundary=True)``).  Groups cut off only by
        an oversize building stay ``undersize``: the oversize building stays alone.
    regional : bool, default True
        Re-split the regions around grids still outside the band with a constraint solver
        (:mod:`partitioning._region`).  The nested layouts turn it off for their many trial
        partitions, where it found nothing better and made Suzhou's plan with levels 60 % slower.
    progress : bool, default False
        Show a progress bar over the pieces.

    Returns
    -------
    PartitionResult

    Raises
    ------
    geo.errors.InfeasibleError
        If the request cannot be met: empty graph, ``target < 1``, ``tolerance`` outside [0, 1),
        more grids than buildings, fewer grids than oversize buildings plus separate groups.
    geo.errors.InputError
        If graph nodes lack ``households``, ``x`` or ``y``.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.path_graph(["a", "b", "c", "d"])
    >>> for k, v in enumerate(g.nodes):
    ...     g.nodes[v].update(households=25, x=10.0 * k, y=0.0)
    >>> result = partition(g, target=50)
    >>> result.assignment.to_dict()
    {'a': 'G0001', 'b': 'G0001', 'c': 'G0002', 'd': 'G0002'}
    >>> result.grids["status"].tolist()
    ['ok', 'ok']
    """
    _check_request(graph, target, tolerance, n_grids)
    ids = list(graph.nodes)
    index = {v: k for k, v in enumerate(ids)}
    households = np.array([int(graph.nodes[v]["households"]) for v in ids], dtype=np.int64)
    xy = np.array([(float(graph.nodes[v]["x"]), float(graph.nodes[v]["y"])) for v in ids]).reshape(-1, 2)
    total = int(households.sum())
    if n_grids is not None:
        if total == 0:
            raise InfeasibleError("the buildings hold no households: there is nothing to balance")
        t = total / n_grids
    else:
        t = float(target)
    lo, hi = t * (1 - tolerance), t * (1 + tolerance)

    # 1. must-link groups → super nodes
    group = _must_link(graph, index)
    m = int(group.max()) + 1
    sh = np.bincount(group, weights=households, minlength=m).astype(np.int64)
    w = np.maximum(households, 0.5)
    sw = np.bincount(group, weights=w, minlength=m)
    sxy = np.column_stack([np.bincount(group, weights=w * xy[:, c], minlength=m) / sw for c in (0, 1)])
    pair_cross: dict[tuple[int, int], float] = {}
    for u, v, crosses in graph.edges(data="crosses", default="none"):
        a, b = int(group[index[u]]), int(group[index[v]])
        if a != b:
            key = (a, b) if a < b else (b, a)
            c = crossing_cost(crosses)
            pair_cross[key] = min(c, pair_cross.get(key, c))
    if pair_cross:
        ea, eb = np.array(list(pair_cross)).T
        ec = np.fromiter(pair_cross.values(), dtype=float, count=len(pair_cross))
    else:
        ea = eb = np.zeros(0, dtype=np.int64)
        ec = np.zeros(0)

    # 2. oversize nodes, 3. pieces
    oversize = sh > hi
    keep = ~oversize[ea] & ~oversize[eb]
    adjacency = sp.csr_matrix((np.ones(int(keep.sum())), (ea[keep], eb[keep])), shape=(m, m))
    _, piece = connected_components(adjacency, directed=False)
    piece[oversize] = -1
    piece_ids = [p for p in pd.unique(piece) if p >= 0]  # numbered by first node: deterministic
    light = piece >= 0
    piece_h = np.bincount(piece[light], weights=sh[light], minlength=m)[piece_ids].astype(float)
    piece_n = np.bincount(piece[light], minlength=m)[piece_ids]
    n_over = int(oversize.sum())
    if n_grids is None:
        choices = [[1] if hp < lo else _choose_k(hp, t, tolerance, cap) for hp, cap in zip(piece_h, piece_n)]
    else:
        free = n_grids - n_over
        if free < len(piece_ids) or n_grids > m:
            raise InfeasibleError(
                f"{n_grids} grids cannot be made: {n_over} building(s) above {hi:.0f} households are grids "
                f"of their own, {len(piece_ids)} separate group(s) need one grid each, and buildings that "
                f"overlap count as one ({m} units in all)"
            )
        choices = [[k] for k in _allocate(piece_h, piece_n, free).tolist()]
    undersize_piece = [hp < lo and c == [1] for hp, c in zip(piece_h, choices)]
    # pieces reaching an oversize building are not cut off by a boundary: they may not be merged away
    one_heavy = oversize[ea] != oversize[eb]
    behind_tower = set(piece[np.r_[ea[one_heavy], eb[one_heavy]]].tolist()) - {-1}
    mergeable = []

    # 4.–5. split and refine each piece
    super_label = np.full(m, -1, dtype=np.int64)
    super_label[oversize] = np.arange(n_over)
    next_label = n_over
    grid_status = ["oversize"] * n_over
    units = _Units(sh, sxy, ea, eb, ec, np.hypot(*(sxy[ea] - sxy[eb]).T))
    gap = float(graph.graph.get("gap", DEFAULT_GAP)) or DEFAULT_GAP
    for p_no, p in enumerate(tqdm(piece_ids, desc="grids", unit="group", disable=not progress)):
        nodes = np.flatnonzero(piece == p)
        if len(nodes) > _TRY_BOTH_K:  # a large piece does not depend much on k: take the first
            choices[p_no] = choices[p_no][:1]
        best: tuple | None = None
        for k in choices[p_no]:
            if k == 1:
                labels = np.zeros(len(nodes), dtype=np.int64)
            else:
                labels = _split_piece(units, nodes, k, target=t, tolerance=tolerance, gap=gap, seed=seed,
                                      p_no=p_no, free_k=n_grids is None, regional=regional)
            grid_h = np.bincount(labels, weights=sh[nodes])
            outside = np.maximum(0, np.maximum(lo - grid_h, grid_h - hi))
            # the band first (excess, grids outside), then the total deviation from the target
            rank = (round(float(outside.sum()), 9), int((outside > 0).sum()),
                    round(float(np.abs(grid_h - t).sum()), 9))
            if best is None or rank < best[0]:
                best = (rank, k, labels)
        assert best is not None  # every piece has at least one number of grids to try
        _, k, labels = best
        k = int(labels.max()) + 1  # the exact re-split may choose another number of grids
        super_label[nodes] = next_label + labels
        grid_status += ["undersize" if undersize_piece[p_no] else "ok"] * k
        mergeable += [next_label] if undersize_piece[p_no] and p not in behind_tower else []
        next_label += k

    super_label = _merge_empty(super_label, grid_status, units)
    label = super_label[group]
    if allow_cross_boundary:
        label = _merge_undersize(label, grid_status, mergeable, xy)
    return _result(ids, households, xy, label, grid_status, t, tolerance)


def _split_piece(units: _Units, nodes, k, *, target, tolerance, gap, seed, p_no, free_k=False, regional=True):
    """Labels ``0 .. k-1`` of the units ``nodes`` of one connected piece (``p_no``: its number, for
    its random stream)."""
    t, sh, sxy = target, units.h, units.xy
    rng = np.random.default_rng([seed, p_no])
    local = np.full(len(sh), -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    inside = (local[units.a] >= 0) & (local[units.b] >= 0)
    a, b = local[units.a[inside]], local[units.b[inside]]
    c, d = units.crossing[inside], units.length[inside]
    n = len(nodes)
    edges = np.column_stack([a, b])
    cost = (d + 1.0) * (1.0 + 2.0 * c)
    labels = recursive_bisection(n, edges, cost, sh[nodes], k, t, rng)
    adj: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for u, v, cc in zip(a.tolist(), b.tolist(), c.tolist()):
        adj[u].append((v, cc))
        adj[v].append((u, cc))
    weights = dict(target=t, tolerance=tolerance, balance_weight=_BALANCE_WEIGHT * gap**2,
                   crossing_weight=_CROSSING_WEIGHT * t * gap**2)
    # the second round is the polish: the band excess still comes first, the deviation weighs more
    polish = dict(weights, balance_weight=_POLISH_WEIGHT * gap**2)
    for step in range(2):
        search = LocalSearch(adj, sxy[nodes], sh[nodes], labels, **(weights if step == 0 else polish))
        search.run(rng)
        search.eject_chains()
        labels = search.run(rng)
        if step == 0:
            labels = recombine(adj, edges, cost, sxy[nodes], sh[nodes], labels, rng=rng, **weights)
    # tighter balance (issue 14): moves that lower Σ|h − t| without leaving the band, then compactness again
    labels = search.settle(rng)
    # coarse buildings: an exact re-split of the piece when grids are still outside the band
    labels = repair(adj, sxy[nodes], sh[nodes], labels, target=t, tolerance=tolerance,
                    crossing_weight=weights["crossing_weight"], free_k=free_k)
    # then the regions around the grids still outside it, with a constraint solver
    if regional and n > _REGION_UNITS:
        repaired = repair_region(adj, sxy[nodes], sh[nodes], labels, target=t, tolerance=tolerance,
                                 crossing_weight=weights["crossing_weight"], seed=seed)
        if (repaired != labels).any():  # compactness restored where it costs no balance
            labels = LocalSearch(adj, sxy[nodes], sh[nodes], repaired, **polish).settle(rng)
    return labels


def _merge_empty(label, grid_status, units: _Units):
    """Join every grid without households to a neighbouring grid: across the cheapest edge (least
    crossing, then shortest), to a grid with households when one is adjacent.  Repeated until no empty
    grid has a neighbour, so a chain of empty grids ends in a grid with households."""
    label = label.copy()
    while True:
        grid_h = np.bincount(label, weights=units.h, minlength=len(grid_status))
        a, b = label[units.a], label[units.b]
        across = a != b
        if not across.any():
            return label
        # each empty grid's candidate neighbours, best first: has households, crossing, length, label
        frm = np.r_[a[across], b[across]]
        to = np.r_[b[across], a[across]]
        cost = np.r_[units.crossing[across], units.crossing[across]]
        length = np.r_[units.length[across], units.length[across]]
        empty = grid_h[frm] == 0
        if not empty.any():
            return label
        frm, to, cost, length = frm[empty], to[empty], cost[empty], length[empty]
        order = np.lexsort((to, length, cost, grid_h[to] == 0, frm))
        first = np.unique(frm[order], return_index=True)[1]
        merged = set()
        for g, into in zip(frm[order][first].tolist(), to[order][first].tolist()):
            if g in merged or into in merged:  # two empty grids pointing at each other: one at a time
                continue
            label[label == g] = into
            grid_status[g] = "merged"
            merged.add(g)
            logger.info("a grid without households joined a neighbouring grid")
        if not merged:
            return label


def _merge_undersize(label, grid_status, mergeable, xy):
    """Join each mergeable undersize grid (a whole isolated group) to the grid of the nearest building
    outside it that is not an oversize one."""
    label = label.copy()
    for g in mergeable:
        mine = label == g
        others = np.flatnonzero(~mine & ~np.isin(label, [h for h, s in enumerate(grid_status) if s == "oversize"]))
        if not mine.any() or len(others) == 0:
            continue
        dist, nearest = cKDTree(xy[others]).query(xy[mine])
        into = int(label[others[nearest[int(np.argmin(dist))]]])
        label[mine] = into
        grid_status[g] = "merged"
        logger.info("undersize group of %d building(s) joined to a neighbouring grid", int(mine.sum()))
    return label


def _result(ids, households, xy, label, grid_status, t, tolerance) -> PartitionResult:
    """Number the grids north→south in rows, west→east in a row, and build the result."""
    # sums per grid with numpy (called once per piece: thousands of times for nested layouts)
    used, k = np.unique(label, return_inverse=True)
    w = np.maximum(households, 0.5)
    hh_sum = np.bincount(k, weights=households, minlength=len(used))
    n_buildings = np.bincount(k, minlength=len(used))
    w_sum = np.bincount(k, weights=w, minlength=len(used))
    cx = np.bincount(k, weights=w * xy[:, 0], minlength=len(used)) / w_sum
    cy = np.bincount(k, weights=w * xy[:, 1], minlength=len(used)) / w_sum
    extent = max(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1]), 1.0)
    row_height = max(math.sqrt(extent / len(used)), 1.0)
    row = np.floor((cy.max() - cy) / row_height)
    order = np.lexsort((used, cx, row))
    width = max(4, len(str(len(used))))
    names = {int(used[o]): f"G{rank + 1:0{width}d}" for rank, o in enumerate(order)}
    lo, hi = t * (1 - tolerance), t * (1 + tolerance)
    status = []
    for g, hh in zip(used, hh_sum):
        s = grid_status[int(g)]
        if s == "ok" and not lo <= hh <= hi:
            s = "out_of_tolerance"
        status.append(s)
    grids = pd.DataFrame(
        {"households": np.rint(hh_sum).astype("int64"), "n_buildings": n_buildings.astype("int64"),
         "status": status},
        index=pd.Index([names[int(g)] for g in used], name="grid_id"),
    ).sort_index()
    assignment = pd.Series([names[int(g)] for g in label], index=pd.Index(ids, name="building_id"),
                           name="grid_id")
    counts = grids["status"].value_counts().to_dict()
    logger.info("partitioned %d buildings into %d grids (%s)", len(ids), len(grids),
                ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return PartitionResult(assignment=assignment, grids=grids)
