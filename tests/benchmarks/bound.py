"""The bound of the corpus benchmark: the best share of grids within the band that any plan with the
same number of grids could reach, given the groups that force a grid out of the band.

The buildings a plan balances fall into *pieces*: the connected groups of the graph once oversize
buildings are set aside (what :mod:`partitioning.engine` splits one by one).  A piece forces ``f``
grids out of the band when no partition of it into connected grids of whole buildings has fewer:

- ``f = 1`` when it holds fewer households than the band's low end (``undersize``: it cannot grow),
  unless it holds none and touches another grid (it joins that grid);
- ``f = 1`` when no number of grids ``k`` has ``k × low ≤ H ≤ k × high`` (with the ±20 % band, a
  piece of 61–79 households: one grid is too many households, two too few) — the *relaxation*, exact
  if households could be divided at will;
- otherwise, on pieces of at most :data:`EXACT_MAX` buildings where the engine left a grid outside
  the band and at most :data:`MAX_KS` numbers of grids fit the households, OR-Tools CP-SAT decides whether some ``k`` splits the piece into connected grids all within
  the band (``f = 0``) or proves that none does (``f = 1``); an undecided search (time limit) counts as
  ``f = 0``, which keeps the bound a bound;
- pieces of at most :data:`EXACT_MAX` buildings where more than :data:`MAX_KS` numbers of grids fit
  get one CP-SAT model for every ``k`` (:func:`fewest_outside`): ``f`` is its proven lower bound on
  the grids outside the band, or 1 when it proves no ``k`` puts every grid in the band (coarse
  pieces of walk-up units and towers: 36-household nodes cannot always pack into 40–60);
- before those CP-SAT questions, a piece whose connected groups within the band can all be listed
  (at most :data:`PACKING_MAX_SETS`: coarse walk-up and tower units) gets the *packing bound*
  (:func:`packing_bound`), exact where it says 0 and a proven lower bound above, without CP-SAT;
- larger pieces (and pieces left once the time budget is spent) get the relaxation only (``f = 0``
  where it allows it): the bound is then optimistic, never too low.

With ``F = Σ f`` over the pieces and ``G`` grids that are not oversize, no plan with ``G`` such
grids has more than ``1 − F / G`` of them within the band.  Sharing the G grids among the pieces
(:func:`in_band_bound`, a knapsack) can say less; the smaller of the two is the **bound**
(:func:`area_bound`: one function for the corpus and the scale benchmark).
"""

from __future__ import annotations

import math
import time

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from partitioning.graph import subgraph

__all__ = ["EXACT_MAX", "MAX_KS", "PACKING_MAX_SETS", "area_bound", "forced_out", "all_in_band", "fewest_outside",
           "packing_bound", "same_k_outside", "same_k_note"]

#: Pieces of at most this many buildings are decided exactly (CP-SAT) ...
EXACT_MAX = 300
#: ... when at most this many numbers of grids fit their households (each is one CP-SAT question).
MAX_KS = 3
#: Pieces with at most this many connected groups within the band get the packing bound.
PACKING_MAX_SETS = 20_000


def _connected(m, member, root, arcs) -> None:
    """Constraints making the members of one grid connected: every member other than the grid's root
    needs a net inflow of one unit of a flow that runs only on arcs inside the grid."""
    n = len(member)
    into: list[list] = [[] for _ in range(n)]
    out: list[list] = [[] for _ in range(n)]
    for a, b in arcs:
        f = m.new_int_var(0, n - 1, "")
        m.add(f <= (n - 1) * member[a])
        m.add(f <= (n - 1) * member[b])
        out[a].append(f)
        into[b].append(f)
    for v in range(n):
        m.add(sum(into[v]) - sum(out[v]) >= member[v] - n * root[v])


def all_in_band(piece: nx.Graph, k: int, lo: int, hi: int, time_limit: float) -> bool | None:
    """Whether ``piece`` splits into ``k`` connected grids of whole buildings, each holding ``lo`` to
    ``hi`` households (overlapping footprints together); None when the search ran out of time.

    Connectivity by single-commodity flows: each grid has one root; every other member needs a net
    inflow of one unit of a flow that runs only on edges inside its grid.
    """
    from ortools.sat.python import cp_model

    nodes = list(piece.nodes)
    n = len(nodes)
    index = {v: i for i, v in enumerate(nodes)}
    h = [int(piece.nodes[v]["households"]) for v in nodes]
    m = cp_model.CpModel()
    x = [[m.new_bool_var("") for _ in range(k)] for _ in range(n)]
    r = [[m.new_bool_var("") for _ in range(k)] for _ in range(n)]
    for v in range(n):
        m.add_exactly_one(x[v])
    arcs = [(index[a], index[b]) for a, b in piece.edges] + [(index[b], index[a]) for a, b in piece.edges]
    for g in range(k):
        m.add_exactly_one(r[v][g] for v in range(n))
        for v in range(n):
            m.add_implication(r[v][g], x[v][g])
        load = sum(h[v] * x[v][g] for v in range(n))
        m.add(load >= lo)
        m.add(load <= hi)
        _connected(m, [x[v][g] for v in range(n)], [r[v][g] for v in range(n)], arcs)
    if k > 1:  # the grid of the first node is grid 0: fewer symmetric labellings
        m.add(x[0][0] == 1)
    for a, b, o in piece.edges(data="overlap"):
        if o:
            for g in range(k):
                m.add(x[index[a]][g] == x[index[b]][g])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = 0
    status = solver.solve(m)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return True
    if status == cp_model.INFEASIBLE:
        return False
    return None


def fewest_outside(piece: nx.Graph, ks: list[int], lo: int, hi: int, time_limit: float, *,
                   at_least_one: bool = False) -> int:
    """A proven lower bound on the grids outside ``lo``–``hi`` of any split of ``piece`` into
    ``k ∈ ks`` connected grids of whole buildings (CP-SAT's objective bound, or its optimum).

    One model for every ``k``: ``max(ks)`` grid slots, the first ``k`` used; each used slot has one
    root and the connectivity flows of :func:`all_in_band`; the objective counts the used slots
    outside the band.
    """
    from ortools.sat.python import cp_model

    nodes = list(piece.nodes)
    n, kmax = len(nodes), max(ks)
    index = {v: i for i, v in enumerate(nodes)}
    h = [int(piece.nodes[v]["households"]) for v in nodes]
    m = cp_model.CpModel()
    used = [m.new_bool_var("") for _ in range(kmax)]
    for g in range(1, kmax):
        m.add_implication(used[g], used[g - 1])
    m.add(sum(used) >= min(ks))
    x = [[m.new_bool_var("") for _ in range(kmax)] for _ in range(n)]
    r = [[m.new_bool_var("") for _ in range(kmax)] for _ in range(n)]
    for v in range(n):
        m.add_exactly_one(x[v])
    arcs = [(index[a], index[b]) for a, b in piece.edges] + [(index[b], index[a]) for a, b in piece.edges]
    outside = []
    # with ``at_least_one`` the answer is 1 (proven: no k puts every grid in the band) or 0
    for g in range(kmax):
        m.add(sum(r[v][g] for v in range(n)) == used[g])
        for v in range(n):
            m.add_implication(r[v][g], x[v][g])
            m.add_implication(x[v][g], used[g])
        _connected(m, [x[v][g] for v in range(n)], [r[v][g] for v in range(n)], arcs)
        load = sum(h[v] * x[v][g] for v in range(n))
        o = m.new_bool_var("")
        m.add(load >= lo).only_enforce_if([used[g], o.Not()])
        m.add(load <= hi).only_enforce_if(o.Not())
        outside.append(o)
    for a, b, o in piece.edges(data="overlap"):
        if o:
            for g in range(kmax):
                m.add(x[index[a]][g] == x[index[b]][g])
    if at_least_one:  # the cheaper question first: can every grid be within the band?
        m.add(sum(outside) == 0)
    else:
        m.minimize(sum(outside))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = 0
    status = solver.solve(m)
    if status == cp_model.OPTIMAL:
        return int(round(solver.objective_value))
    if status == cp_model.INFEASIBLE:  # only with at_least_one: no k puts every grid in the band
        return 1 if at_least_one else 0
    if at_least_one:
        return 0
    return max(0, math.ceil(solver.best_objective_bound - 1e-6))


def _adjacency(piece: nx.Graph):
    """(node index, neighbour lists as :mod:`partitioning._exact` takes them, households) of ``piece``."""
    nodes = list(piece.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    adj = [[(index[u], 0.0) for u in piece[v]] for v in nodes]
    return index, adj, np.array([int(piece.nodes[v]["households"]) for v in nodes])


def _band_sets(piece: nx.Graph, lo: int, hi: int):
    """(node index, every connected group of ``lo``–``hi`` households as index lists), or None past
    :data:`PACKING_MAX_SETS` groups."""
    from partitioning._exact import connected_sets

    index, adj, h = _adjacency(piece)
    found = connected_sets(adj, h, hi, limit=PACKING_MAX_SETS)
    if found is None:
        return None
    return index, [s for s in found if h[s].sum() >= lo]


def most_in_band(piece: nx.Graph, lo: int, hi: int) -> int | None:
    """The most grids within ``lo``–``hi`` any split of ``piece`` can have, whatever its number of
    grids: the largest set of disjoint connected groups of ``lo``–``hi`` households (HiGHS); None past
    :data:`PACKING_MAX_SETS` groups."""
    from scipy.optimize import LinearConstraint, milp

    from partitioning._exact import incidence

    listed = _band_sets(piece, lo, hi)
    if listed is None:
        return None
    index, sets = listed
    if not sets:
        return 0
    cover = incidence(sets, len(index))
    result = milp(-np.ones(len(sets)), constraints=LinearConstraint(cover, 0, 1), integrality=np.ones(len(sets)),
                  bounds=(0, 1), options={"mip_rel_gap": 0.0, "presolve": False, "time_limit": 60.0})
    return int(round(-result.fun)) if result.status == 0 else None


def in_band_bound(pieces: list[tuple[int, int, int, int | None]], grids: int, lo: float, hi: float) -> int | None:
    """The most grids within the band of any plan with ``grids`` grids in all (none oversize), given
    each piece as ``(households, buildings, f, p)``: ``f`` grids proven outside for every number of
    grids, ``p`` the most grids within the band (None: not known).  A piece without households may
    also make no grid of its own (its buildings join a neighbouring grid), or several.

    A piece split into ``k`` grids has at most ``min(k − f, p, ⌊H / lo⌋, buildings)`` of them within
    the band, and ``k − 1`` if all ``k`` would need ``k·lo ≤ H ≤ k·hi`` and do not have it; the
    numbers of grids of the pieces add up to ``grids`` (a max-plus knapsack over the pieces).  None
    when the pieces cannot make ``grids`` grids.

    Examples
    --------
    >>> in_band_bound([(100, 4, 0, None), (90, 3, 1, None)], 4, 40, 60)   # 2 + (2 − f)
    3
    """
    best = np.full(grids + 1, -np.inf)
    best[0] = 0.0
    for total, n, f, p in pieces:
        kmax = min(n, grids)
        k = np.arange(1, kmax + 1)
        ub = np.minimum.reduce([k - f, np.full(kmax, p if p is not None else kmax), np.full(kmax, total // lo),
                                np.full(kmax, n)]).astype(float)
        ub = np.where((ub >= k) & ~((k * lo <= total) & (total <= k * hi)), k - 1, ub)
        new = best.copy() if total == 0 else np.full(grids + 1, -np.inf)
        for kk, u in zip(k.tolist(), np.maximum(ub, 0).tolist()):
            new[kk:] = np.maximum(new[kk:], best[:-kk] + u)
        best = new
    return None if not np.isfinite(best[grids]) else int(best[grids])


def packing_bound(piece: nx.Graph, lo: int, hi: int) -> int | None:
    """A proven lower bound on the grids outside ``lo``–``hi`` of any split of ``piece`` into connected
    grids (any number of them); ``None`` when its connected groups within the band are more than
    :data:`PACKING_MAX_SETS`.

    In any split, the grids within the band are disjoint connected groups of ``lo`` to ``hi``
    households (a *packing*); the buildings left over, ``R``, are covered by the grids outside the
    band, each connected, so there are at least as many of those as ``R`` has connected parts — at
    least ``|R| − |E(R)|`` (a graph has at least as many parts as nodes minus edges), and at least one
    when ``R`` is not empty.  The integer programme (HiGHS, :func:`scipy.optimize.milp`) chooses the
    packing that makes this smallest; 0 means some split puts every grid in the band.
    """
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import coo_matrix, hstack, identity, vstack

    from partitioning._exact import incidence

    listed = _band_sets(piece, lo, hi)
    if listed is None:
        return None
    index, sets = listed
    nodes = list(piece.nodes)
    edges = [(index[a], index[b]) for a, b in piece.edges if a != b]
    n, m, e = len(nodes), len(sets), len(edges)
    # variables: x (a group is a grid), u (a building is left over), w (an edge between two left over), c
    rows = [hstack([incidence(sets, n), identity(n), coo_matrix((n, e + 1))])]  # Σ x + u = 1
    lo_b, hi_b = [np.ones(n)], [np.ones(n)]
    if e:
        a, b = np.array(edges).T
        k = np.arange(e)
        for end in (a, b):  # w ≤ u_end
            u_part = coo_matrix((-np.ones(e), (k, end)), shape=(e, n))
            rows.append(hstack([coo_matrix((e, m)), u_part, identity(e), coo_matrix((e, 1))]))
            lo_b.append(np.full(e, -np.inf))
            hi_b.append(np.zeros(e))
    # c ≥ Σ u − Σ w and c ≥ u_v
    rows.append(hstack([coo_matrix((1, m)), coo_matrix(np.ones((1, n))), coo_matrix(-np.ones((1, e))),
                        coo_matrix(-np.ones((1, 1)))]))
    lo_b.append(np.full(1, -np.inf))
    hi_b.append(np.zeros(1))
    rows.append(hstack([coo_matrix((n, m)), identity(n), coo_matrix((n, e)), coo_matrix(-np.ones((n, 1)))]))
    lo_b.append(np.full(n, -np.inf))
    hi_b.append(np.zeros(n))
    cost = np.zeros(m + n + e + 1)
    cost[-1] = 1.0
    integrality = np.r_[np.ones(m + n), np.zeros(e), 1]
    result = milp(cost, constraints=LinearConstraint(vstack(rows).tocsc(), np.concatenate(lo_b), np.concatenate(hi_b)),
                  integrality=integrality, bounds=(0, np.r_[np.ones(m + n + e), n]),
                  options={"mip_rel_gap": 0.0, "presolve": False, "time_limit": 60.0})
    if result.status != 0:
        return None
    return int(round(result.fun))


def _pieces(graph: nx.Graph, hi: float) -> tuple[list, set]:
    """The pieces (lists of nodes) once oversize buildings (and overlapping groups) are set aside."""
    nodes = list(graph.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    linked = nx.Graph()
    linked.add_nodes_from(nodes)
    linked.add_edges_from((u, v) for u, v, o in graph.edges(data="overlap") if o)
    heavy = set()
    for comp in nx.connected_components(linked):
        if sum(graph.nodes[v]["households"] for v in comp) > hi:
            heavy |= comp
    edges = [(index[u], index[v]) for u, v in graph.edges if u not in heavy and v not in heavy]
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    adjacency = csr_matrix((np.ones(len(edges)), (a, b)), shape=(len(nodes), len(nodes)))
    _, label = connected_components(adjacency, directed=False)
    groups: dict[int, list] = {}
    for v, lab in zip(nodes, label.tolist()):
        if v not in heavy:
            groups.setdefault(lab, []).append(v)
    return list(groups.values()), heavy


def forced_out(graph: nx.Graph, assignment, *, target: float, tolerance: float,
               time_limit: float = 10.0, budget: float = float("inf"), grids: int | None = None,
               pieces: list | None = None, oversize_above: float | None = None) -> dict:
    """``F`` (grids forced out of the band) and how it was decided, for the bound ``1 − F / G``.

    ``time_limit`` is CP-SAT's limit per question (a piece and a number of grids), ``budget`` the
    seconds of all questions together: once spent, the remaining pieces get the relaxation.  With
    ``grids`` (G, the plan's grids that are not oversize), also the most grids within the band of any
    plan with G such grids (:func:`in_band_bound`, with :func:`most_in_band` on the pieces the
    packing bound was computed for).  ``pieces``, when a list, gets a record of every piece where the
    engine left a grid outside the band or that forces one out: ``buildings``, ``households``,
    ``grids`` and ``out`` (the engine's grids there, and those outside the band), ``forced`` (its
    ``f``), ``how`` (the count that decided it, ``engine`` when the engine's grids there are all
    within the band) and ``same_k`` (:func:`same_k_outside` with the engine's number of grids there).
    ``oversize_above`` (households) sets apart the buildings the plan made oversize grids when the
    band asked about is not the plan's (the ±10 % bound of a plan made for ±20 %: a building of 58
    households is in a piece, and no grid holding it is within ±10 %); by default the band's top.

    Returns
    -------
    dict
        ``forced`` (F), ``undersize`` (pieces below the band), ``gap`` (pieces no ``k`` fits),
        ``exact_infeasible`` (proven by CP-SAT), ``exact_feasible``, ``undecided`` (time limit),
        ``many_k_forced`` (grids proven outside by :func:`fewest_outside` on pieces where more than
        :data:`MAX_KS` numbers of grids fit), ``packing_forced`` (grids proven outside by
        :func:`packing_bound`) and ``relaxed`` (pieces too large for the exact model, or
        where the proof found nothing, counted by the relaxation); with ``grids``, ``in_band_max``
        (None when it could not be computed).
    """
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    ilo, ihi = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    grid_h = {}
    for v, g in assignment.items():
        grid_h[g] = grid_h.get(g, 0) + int(graph.nodes[v]["households"])
    deadline = time.perf_counter() + budget
    counts = dict.fromkeys(("forced", "undersize", "gap", "exact_infeasible", "exact_feasible", "undecided",
                            "many_k_forced", "packing_forced", "relaxed"), 0)
    records = []  # (households, buildings, f, most within the band) of every piece that makes grids
    for piece in _pieces(graph, hi if oversize_above is None else oversize_above)[0]:
        total = sum(int(graph.nodes[v]["households"]) for v in piece)
        members = set(piece)
        if total == 0 and any(u not in members for v in piece for u in graph[v]):
            records.append((0, len(piece), 0, 0))  # buildings without households may join a neighbouring grid
            continue
        f, most, kind = _piece_forced(graph, piece, total, assignment, grid_h, lo, hi, ilo, ihi,
                                      time_limit, time.perf_counter() > deadline, grids is not None)
        if kind:
            counts[kind] += f if kind in ("many_k_forced", "packing_forced") else 1
        counts["forced"] += f
        records.append((total, len(piece), f, most))
        own = {assignment[v] for v in piece}
        out = sum(not lo <= grid_h[g] <= hi for g in own)
        if pieces is not None and (out or f):
            pieces.append({"buildings": len(piece), "households": total, "grids": len(own), "out": out,
                           "forced": f, "how": kind or "engine",
                           "same_k": same_k_outside(subgraph(graph, piece), len(own), target, tolerance,
                                                    worst=max(abs(grid_h[g] - target) for g in own))
                           if out else None})
    if grids is not None:
        counts["in_band_max"] = in_band_bound(records, grids, lo, hi)
    return counts


def area_bound(graph: nx.Graph, assignment, *, target: float, tolerance: float, n_normal: int,
               time_limit: float = 10.0, budget: float = float("inf"), pieces: list | None = None,
               oversize_above: float | None = None) -> dict:
    """The bound of one planned area, as the corpus and the scale benchmarks report it:
    :func:`forced_out`'s counts (with G = ``n_normal``, the plan's grids that are not oversize), plus
    ``grids`` (G), ``in_band`` (the most grids within the band: the smaller of ``G − F`` and
    ``in_band_max``), ``bound`` (``in_band / G``; 1 without such grids) and ``seconds``.  Areas
    planned apart (the communities of a city) add up: ΣF and Σ ``in_band`` over ΣG bound the city
    (each area keeps its own number of grids)."""
    start = time.perf_counter()
    counts = forced_out(graph, assignment, target=target, tolerance=tolerance, time_limit=time_limit,
                        budget=budget, grids=n_normal, pieces=pieces, oversize_above=oversize_above)
    in_band = n_normal - counts["forced"]
    if counts["in_band_max"] is not None:  # None: the knapsack found no sharing of G grids
        in_band = min(in_band, counts["in_band_max"])
    return {**counts, "grids": n_normal, "in_band": in_band, "bound": in_band / n_normal if n_normal else 1.0,
            "seconds": time.perf_counter() - start}


def same_k_outside(piece: nx.Graph, k: int, target: float, tolerance: float, *,
                   worst: float | None = None) -> int | None:
    """The fewest grids outside the band of a split of ``piece`` into ``k`` connected grids, none
    holding more than the band's top plus the piece's largest building (with ``worst``: none further
    from the target than that): the engine's own exact re-split
    (:func:`partitioning._exact.exact_split`) asked with the engine's number of grids there.  With
    ``worst`` the engine's worst grid on the piece, a count below the engine's is a better plan with as
    many grids and no worse grid: an engine miss.  None when the piece's candidate grids are too many
    to list, or its buildings overlap (the split would divide them)."""
    from partitioning._exact import exact_split

    lo, hi = target * (1 - tolerance) - 1e-9, target * (1 + tolerance) + 1e-9
    if k > len(piece) or any(o for _, _, o in piece.edges(data="overlap")):
        return None
    if k == len(piece):  # a grid of every building
        return sum(not lo <= h <= hi for _, h in piece.nodes(data="households"))
    index, adj, h = _adjacency(piece)
    xy = np.array([(piece.nodes[v]["x"], piece.nodes[v]["y"]) for v in index], dtype=float)
    labels = exact_split(adj, xy, h, k, target=target, tolerance=tolerance, crossing_weight=0.0, worst=worst)
    if labels is None:
        return None
    loads = np.bincount(labels, weights=h)
    return int(((loads < lo) | (loads > hi)).sum())


def same_k_note(pieces: list[dict]) -> str:
    """What the engine misses against the exact split with its own number of grids and its own worst
    grid on each piece (``same_k`` of :func:`forced_out`'s records), as a sentence of the benchmarks'
    notes."""
    same = [p for p in pieces if p.get("same_k") is not None]
    better = [p for p in same if p["same_k"] < p["out"]]
    return (f"with the engine's own number of grids on each piece (the exact split of `partitioning._exact`, no "
            f"grid further from the target than the engine's worst on the piece): on {len(same)} pieces holding "
            f"{sum(p['out'] for p in same)} of its grids outside the band, the optimum has "
            f"{sum(p['same_k'] for p in same)}; the engine misses {sum(p['out'] - p['same_k'] for p in better)} on "
            f"{len(better)} pieces (the other pieces' candidate grids are too many to list)")


def _piece_forced(graph, piece, total, assignment, grid_h, lo, hi, ilo, ihi, time_limit, late, want_most):
    """(f, most grids within the band or None, the count it goes to or None) of one piece."""
    if total < lo:
        return 1, 0, "undersize"
    ks = [k for k in range(max(1, math.ceil(total / hi)), math.floor(total / lo) + 1) if k <= len(piece)]
    if not ks:
        return 1, None, "gap"
    if all(lo <= grid_h[g] <= hi for g in {assignment[v] for v in piece}):
        return 0, None, None  # the engine's own plan of the piece is within the band
    if len(piece) > EXACT_MAX or late:
        return 0, None, "relaxed"
    sub = subgraph(graph, piece)
    f = packing_bound(sub, ilo, ihi)
    if f is not None:
        most = most_in_band(sub, ilo, ihi) if want_most and f else None
        return f, most, "packing_forced" if f else "exact_feasible"
    if len(ks) > MAX_KS:  # one model for every k: a lower bound on the grids outside the band
        f = fewest_outside(sub, ks, ilo, ihi, time_limit)
        if f == 0:
            f = fewest_outside(sub, ks, ilo, ihi, time_limit, at_least_one=True)
        return f, None, "many_k_forced" if f else "relaxed"
    answers = []
    for k in ks:
        answer = all_in_band(sub, k, ilo, ihi, time_limit)
        answers.append(answer)
        if answer:
            break
    if any(answers):
        return 0, None, "exact_feasible"
    if all(a is False for a in answers):
        return 1, None, "exact_infeasible"
    return 0, None, "undecided"
