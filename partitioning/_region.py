"""Regional re-split of fine-grained pieces with a constraint solver (OR-Tools CP-SAT).

Where a grid is still outside the band after the moves, the ejection chains and the recombination,
the usual cause is that every plan one or two moves away is worse: the grid and its neighbours must
all shift a few buildings at once.  :func:`repair_region` takes the grid outside the band and the grids
around it (a *region* of whole grids, so no grid outside it changes), lets the buildings near the
region's inner boundaries change grid, and asks CP-SAT for an assignment, its search led by the
engine's order:

1. fewer grids outside the band than now (a constraint: nothing else is worth a solve), then the
   least households outside it (the band excess) and the fewest grids outside the half band (±10 %
   for ±20 %);
2. least Σ|h − target|;
3. fewest buildings moved and barrier edges inside grids (a plan close to the one the moves made,
   which was compact).

The first assignment it finds with fewer grids outside the band is kept; the moves that follow
tighten its balance and compactness.

Every grid stays connected: a flow from a root building of each grid reaches every building of the
grid along edges inside it (single-commodity flow, as in contiguity-constrained districting,
Validi, Buchanan & Lykhovyd 2022).  No grid of the region gets further from the target than the
region's worst grid was.  A region whose candidate grids can be listed (coarse buildings: at most
2,500 connected groups within the guard) is re-split exactly instead
(:func:`partitioning._exact.exact_split`, any building to any grid of the region).

The solve is deterministic: one worker, a fixed seed and a *deterministic* time limit (CP-SAT's work
count, not the clock), so the same piece gives the same plan on every machine.  Only regions where
fewer grids outside the band are possible by their households are tried (a region of ``k`` grids
holding more than ``k`` times the band's top needs one outside).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from partitioning._exact import band_of_loads, connected_sets, exact_split

__all__ = ["repair_region"]

logger = logging.getLogger(__name__)

_MAX_NODES = 80  # a region stops growing before it holds more buildings than this
_REACH = 2  # buildings at most this many edges from another grid of the region may change grid
_EFFORT = 0.2  # CP-SAT deterministic time a region (its work units; 0.2–0.4 s on this machine)
_MAX_MISSES = 1  # solver calls in a row out of effort before a piece is left alone
_SCALE = 4  # |h − t| in quarters of a household (the target need not be whole with n_grids)


def _grid_neighbours(adj, labels, grids):
    """Grids adjacent to any of ``grids``."""
    members = np.flatnonzero(np.isin(labels, list(grids)))
    return {int(labels[u]) for v in members.tolist() for u, _ in adj[v]}


def _region(adj, labels, grid_size, grid, max_nodes):
    """The grids of the region around ``grid``: the grid and its neighbours, ring by ring, as long as
    the region holds at most ``max_nodes`` buildings (neighbours taken smallest first)."""
    region = {grid}
    size = int(grid_size[grid])
    for _ in range(2):
        ring = sorted(_grid_neighbours(adj, labels, region) - region, key=lambda g: (grid_size[g], g))
        grown = False
        for g in ring:
            if size + grid_size[g] <= max_nodes:
                region.add(g)
                size += int(grid_size[g])
                grown = True
        if not grown:
            break
    return sorted(region)


def _within(adj, sources, allowed, limit):
    """The nodes of ``allowed`` at most ``limit`` edges from ``sources`` (through ``allowed``)."""
    seen = set(sources)
    frontier = list(sources)
    for _ in range(limit):
        frontier = [u for v in frontier for u, _ in adj[v] if u in allowed and u not in seen]
        seen.update(frontier)
    return seen


def _solve(adj, xy, h, labels, nodes, grids, *, target, lo, hi, worst, most_out, seed, effort):
    """New grids of ``nodes`` (whole grids ``grids``) by CP-SAT, as ``{node: grid}`` (``None`` when no
    assignment with at most ``most_out`` grids outside the band was found), and whether the solver
    ran out of its effort (rather than proving there is none).  The first assignment found is
    returned: the moves that follow tighten it, and searching on for a better one took a third of
    the solver's time on Suzhou and changed no corpus figure."""
    from ortools.sat.python import cp_model

    node_set = set(nodes)
    member = {g: [v for v in nodes if labels[v] == g] for g in grids}
    # candidate grids: its own, and those of the region's buildings within _REACH edges of it
    candidates = {v: {int(labels[v])} for v in nodes}
    for g in grids:
        others = node_set - set(member[g])
        border = [v for v in member[g] if any(u in others for u, _ in adj[v])]
        for v in _within(adj, border, node_set, _REACH):
            if labels[v] != g:
                candidates[v].add(g)
    # each grid's root: a building that keeps its grid (nearest the grid's centre); a grid all of whose
    # buildings may move gets a root chosen by the solver
    root = {}
    for g in grids:
        fixed = [v for v in member[g] if len(candidates[v]) == 1]
        if fixed:
            centre = xy[member[g]].mean(axis=0)
            root[g] = min(fixed, key=lambda v: (float(np.hypot(*(xy[v] - centre))), v))

    model = cp_model.CpModel()
    x = {(v, g): model.NewBoolVar("") for v in nodes for g in sorted(candidates[v])}
    for v in nodes:
        model.AddExactlyOne(x[v, g] for g in sorted(candidates[v]))
    lo_i, hi_i = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    t_s = round(_SCALE * target)
    cap_dev = math.floor(_SCALE * worst + 1e-6)
    total = int(h[nodes].sum())
    outs, looses, excesses, devs = [], [], [], []
    half_lo = math.ceil((target + lo) / 2 - 1e-9)
    half_hi = math.floor((target + hi) / 2 + 1e-9)
    for g in grids:
        can = [v for v in nodes if (v, g) in x]
        H = model.NewIntVar(0, total, "")
        model.Add(H == sum(int(h[v]) * x[v, g] for v in can))
        out = model.NewBoolVar("")
        model.Add(H >= lo_i).OnlyEnforceIf(out.Not())
        model.Add(H <= hi_i).OnlyEnforceIf(out.Not())
        exc = model.NewIntVar(0, total, "")
        model.Add(exc >= lo_i - H)
        model.Add(exc >= H - hi_i)
        dev = model.NewIntVar(0, cap_dev, "")  # the guard: no grid further from the target than the worst
        model.Add(dev >= _SCALE * H - t_s)
        model.Add(dev >= t_s - _SCALE * H)
        loose = model.NewBoolVar("")  # outside the half band (±10 % for ±20 %)
        model.Add(H >= half_lo).OnlyEnforceIf(loose.Not())
        model.Add(H <= half_hi).OnlyEnforceIf(loose.Not())
        outs.append(out)
        looses.append(loose)
        excesses.append(exc)
        devs.append(dev)
        # connectivity: one unit of flow from the root to every other building of the grid
        can_set = set(can)
        arcs = [(v, u) for v in can for u, _ in adj[v] if u in can_set]
        big = len(can)
        flow = {a: model.NewIntVar(0, big, "") for a in arcs}
        into: dict[int, list] = {v: [] for v in can}
        out_of: dict[int, list] = {v: [] for v in can}
        for (v, u), f in flow.items():
            model.Add(f <= big * x[v, g])
            model.Add(f <= big * x[u, g])
            out_of[v].append(f)
            into[u].append(f)
        if g in root:
            for v in can:
                if v != root[g]:
                    model.Add(sum(into[v]) - sum(out_of[v]) == x[v, g])
        else:  # the root is a variable: the one building whose inflow may fall short of its x
            is_root = {v: model.NewBoolVar("") for v in can}
            model.AddExactlyOne(is_root.values())
            for v in can:
                model.AddImplication(is_root[v], x[v, g])
                model.Add(sum(into[v]) - sum(out_of[v]) >= x[v, g] - big * is_root[v])
    moved = [x[v, int(labels[v])].Not() for v in nodes if len(candidates[v]) > 1]
    inside = []
    for v in nodes:
        for u, c in adj[v]:
            if c and u > v and u in node_set and (len(candidates[v]) > 1 or len(candidates[u]) > 1):
                same = model.NewBoolVar("")
                for g in candidates[v] & candidates[u]:
                    model.AddBoolOr([x[v, g].Not(), x[u, g].Not(), same])
                inside.append(same)
    # lexicographic by weights: grids outside, excess, grids outside ±tol/2, Σ|h − t|, then moves and crossings
    w_dev = len(moved) + len(inside) + 1
    w_loose = w_dev * (cap_dev * len(grids) + 1)
    w_exc = w_loose * (len(grids) + 1)
    w_out = w_exc * (total + 1)
    model.Add(sum(outs) <= most_out)  # only a plan with fewer grids outside the band is of use
    model.Minimize(w_out * sum(outs) + w_exc * sum(excesses) + w_loose * sum(looses)
                   + w_dev * sum(devs) + sum(moved) + sum(inside))
    for (v, g), var in x.items():
        model.AddHint(var, int(labels[v] == g))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed) % 2**31  # CP-SAT's seed is a 32-bit int; plans' seeds are any int
    solver.parameters.max_deterministic_time = float(effort)
    solver.parameters.stop_after_first_solution = True
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, status == cp_model.UNKNOWN
    return {v: next(g for g in sorted(candidates[v]) if solver.Value(x[v, g])) for v in nodes}, False


def _listed(adj, xy, h, nodes, grids, *, target, tolerance, worst, most_out, crossing_weight):
    """New labels of ``nodes`` by :func:`partitioning._exact.exact_split` when the region's candidate
    grids can be listed (coarse buildings: exact and faster than the solver; ``{}`` when no split
    within the guard exists), else ``None``.  The groups are listed once and handed to the split."""
    local = {v: i for i, v in enumerate(nodes)}
    sub = [[(local[u], c) for u, c in adj[v] if u in local] for v in nodes]
    sets = connected_sets(sub, h[nodes], target + worst)
    if sets is None:
        return None
    split = exact_split(sub, xy[nodes], h[nodes], len(grids), target=target, tolerance=tolerance,
                        crossing_weight=crossing_weight, worst=worst, most_out=most_out, sets=sets)
    return {} if split is None else {v: grids[int(g)] for v, g in zip(nodes, split)}


def repair_region(adj, xy, households, labels, *, target, tolerance, crossing_weight=0.0, seed=0,
                  max_nodes=_MAX_NODES, effort=_EFFORT, max_rounds=2, max_misses=_MAX_MISSES):
    """Re-split the region around each grid outside the band exactly where its candidate grids can be
    listed, else with CP-SAT (see the module's text); return the labels (``0 .. k-1``, the same
    number of grids).

    Parameters
    ----------
    adj : list of list of tuple(int, float)
        Neighbours and crossing costs of each node (see :class:`partitioning._refine.LocalSearch`).
    xy, households, labels : numpy.ndarray
        Node coordinates, households and current grid of each node (every grid connected).
    target, tolerance : float
        The band is ``target × (1 ± tolerance)``.
    crossing_weight : float, default 0
        Weight of the barrier edges inside grids in the exact re-split of listed regions (as for
        :func:`partitioning._exact.exact_split`).
    seed : int, default 0
        CP-SAT's seed.
    max_nodes : int
        The most buildings of a region.
    effort : float
        CP-SAT's deterministic time a region.
    max_rounds : int, default 2
        Sweeps over the grids outside the band.
    max_misses : int
        The solver is not called again after this many calls in a row that ran out of effort without
        an answer (a region that can be mended is mended quickly; a nested or emergency layout has
        thousands of small regions where the solver can neither mend nor prove it cannot).

    Examples
    --------
    A path of five buildings split 10 | 40 30 | 20 50 by the moves; the band 40–60 needs 50 | 50 | 50:

    >>> adj = [[(1, 0)], [(0, 0), (2, 0)], [(1, 0), (3, 0)], [(2, 0), (4, 0)], [(3, 0)]]
    >>> xy = np.array([[0.0, 0], [10, 0], [20, 0], [30, 0], [40, 0]])
    >>> repair_region(adj, xy, [10, 40, 30, 20, 50], [0, 1, 1, 2, 2], target=50, tolerance=0.2).tolist()
    [0, 0, 1, 1, 2]
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    h = np.asarray(households, dtype=np.int64)
    xy = np.asarray(xy, dtype=float)
    k = int(labels.max()) + 1
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    lo_i, hi_i = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    if k < 2:
        return labels
    tried: set[tuple] = set()
    misses = 0  # solver calls in a row that ran out of effort: past max_misses the piece is left as it is
    for _ in range(max_rounds):
        grid_h = np.bincount(labels, weights=h, minlength=k)
        excess = np.maximum(0.0, np.maximum(lo - grid_h, grid_h - hi))
        bad = sorted(np.flatnonzero(excess > 1e-9).tolist(), key=lambda g: (-excess[g], g))
        changed = False
        for grid in bad:
            grid_h = np.bincount(labels, weights=h, minlength=k)
            if lo - 1e-9 <= grid_h[grid] <= hi + 1e-9:
                continue
            grid_size = np.bincount(labels, minlength=k)
            grids = _region(adj, labels, grid_size, grid, max_nodes)
            nodes = np.flatnonzero(np.isin(labels, grids)).tolist()
            key = tuple(nodes) + tuple(labels[nodes].tolist())
            if len(grids) < 2 or key in tried:
                continue
            tried.add(key)
            before = band_of_loads(grid_h[grids], lo, hi)
            total = float(grid_h[grids].sum())
            forced = int(total < len(grids) * lo_i or total > len(grids) * hi_i)
            if before[0] <= forced:
                continue
            worst = float(np.abs(grid_h[grids] - target).max())
            # few candidate grids (coarse buildings): listed, exact and faster; too many: the solver
            new = _listed(adj, xy, h, nodes, grids, target=target, tolerance=tolerance, worst=worst,
                          most_out=before[0] - 1, crossing_weight=crossing_weight)
            if new is None:
                if misses >= max_misses:
                    continue
                new, timed_out = _solve(adj, xy, h, labels, nodes, grids, target=target, lo=lo, hi=hi,
                                        worst=worst, most_out=before[0] - 1, seed=seed, effort=effort)
                misses = misses + 1 if timed_out else 0
            if not new:
                continue
            trial = labels.copy()
            for v, g in new.items():
                trial[v] = g
            after = band_of_loads(np.bincount(trial, weights=h, minlength=k)[grids], lo, hi)
            if after < before:
                logger.debug("regional re-split of %d building(s) in %d grids: %d → %d grid(s) outside the band",
                             len(nodes), len(grids), before[0], after[0])
                labels = trial
                changed = True
        if not changed:
            break
    return labels
