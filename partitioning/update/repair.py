"""The repair stages of an update, on the assignment of buildings to grids (:class:`State`):
placing added buildings (:func:`place_added`), reconnecting grids that fell apart
(:func:`reconnect`), local ejection chains then neighbourhood re-partitions (:func:`repair`). The
order and the rules are those of :mod:`partitioning.update`; the grids' status at the end is the
metrics' (:func:`partitioning.metrics.figure_status`)."""

from __future__ import annotations

import logging

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from partitioning._refine import LocalSearch
from partitioning.engine import partition
from partitioning.graph import crossing_cost, subgraph

__all__ = ["State", "place_added", "reconnect", "repair"]

logger = logging.getLogger(__name__)


class State:
    """The assignment being repaired: grid of each building, members and households of each grid."""

    def __init__(self, graph, assign, parent, locked, *, target, tolerance):
        self.graph = graph
        self.assign = assign  # dict building -> grid id
        self.parent = parent  # dict grid -> parent unit key ("" when flat)
        self.locked = locked
        self.t, self.tol = float(target), tolerance
        self.lo, self.hi = target * (1 - tolerance), target * (1 + tolerance)
        self.h = {v: int(d) for v, d in graph.nodes(data="households")}
        linked = nx.Graph()
        linked.add_nodes_from(graph)
        linked.add_edges_from((u, v) for u, v, o in graph.edges(data="overlap") if o)
        self.group = {v: min(c) for c in nx.connected_components(linked) for v in c}
        self.members: dict[str, set] = {}
        for v, g in assign.items():
            self.members.setdefault(g, set()).add(v)
        self.reason: dict = {}
        self.next_id = 0
        self.baseline: dict = {}  # excess of each grid before the change

    def hh(self, g) -> int:
        return sum(self.h[v] for v in self.members[g])

    def move(self, v, to, reason):
        old = self.assign.get(v)
        if old == to:
            return
        if old is not None:
            self.members[old].discard(v)
            if not self.members[old]:
                del self.members[old]
        self.members.setdefault(to, set()).add(v)
        self.assign[v] = to
        self.reason[v] = reason

    def neighbours(self, g) -> set:
        """Unlocked grids of the same parent unit that share a graph edge with grid ``g``."""
        out = set()
        for v in self.members[g]:
            for u in self.graph[v]:
                o = self.assign.get(u)
                if o is not None and o != g and o not in self.locked and self.parent.get(o) == self.parent.get(g):
                    out.add(o)
        return out

    def region(self, g, hops) -> list:
        seen, frontier = {g}, {g}
        for _ in range(hops):
            frontier = set().union(*(self.neighbours(x) for x in frontier)) - seen
            seen |= frontier
        return sorted(seen)

    def excess(self, g) -> float:
        hh = self.hh(g)
        return max(0.0, self.lo - hh, hh - self.hi)

    def indivisible(self, g) -> bool:
        """One building (or overlapping group) above the band: a grid of its own, never split (sheds
        without households in its grid, as the engine puts them, do not count)."""
        return self.hh(g) > self.hi and len({self.group[v] for v in self.members[g] if self.h[v]}) == 1

    def fixable(self, g) -> bool:
        """Outside the band, unlocked, divisible, and with a neighbour to trade with (a grid that is
        one building above the band takes nothing: it stays alone)."""
        if g in self.locked or self.excess(g) <= 0 or self.indivisible(g):
            return False
        return any(not self.indivisible(o) for o in self.neighbours(g))

    def bad(self) -> list:
        """Fixable grids the change put outside the band (or further outside), worst first; grids
        that were already outside before the change are left as the engine made them."""
        worse = [g for g in self.members if self.excess(g) > self.baseline.get(g, 0.0) + 1e-9 and self.fixable(g)]
        return sorted(worse, key=lambda g: (-self.excess(g), g))

    def new_grid(self) -> str:
        self.next_id += 1
        return f"\0new{self.next_id:05d}"


def place_added(state: State, added: list, inside_locked: dict) -> None:
    """Give each added building a grid: the one it stands in when locked, else the grid of an
    overlapping building, else the neighbouring unlocked grid with the fewest households (never a
    grid that is one building above the band); groups of added buildings that reach no such grid
    become grids of their own."""
    graph = state.graph
    for v in added:
        if v in inside_locked:
            state.move(v, inside_locked[v], "added")
    todo = [v for v in sorted(added) if v not in state.assign]
    while todo:
        progress = False
        for v in todo:
            overlap = [state.assign[u] for u in graph[v] if graph[v][u].get("overlap") and u in state.assign]
            options = overlap or sorted({state.assign[u] for u in graph[v] if u in state.assign
                                         and state.assign[u] not in state.locked
                                         and not state.indivisible(state.assign[u])})
            if options:
                state.move(v, min(options, key=lambda g: (state.hh(g), g)) if not overlap else overlap[0], "added")
                progress = True
        todo = [v for v in todo if v not in state.assign]
        if not progress:
            break
    rest = graph.subgraph(todo)
    for comp in sorted(nx.connected_components(rest), key=min):
        g = state.new_grid()
        state.parent[g] = _nearest_parent(state, sorted(comp))
        for v in sorted(comp):
            state.move(v, g, "added")
        logger.info("%d added building(s) reach no grid: a new grid", len(comp))


def _nearest_parent(state: State, nodes: list) -> str:
    """Parent unit of the nearest assigned building (by coordinates)."""
    assigned = [u for u in state.assign if not str(state.assign[u]).startswith("\0")]
    if not assigned:
        return ""
    g = state.graph.nodes
    xy = np.array([(g[u]["x"], g[u]["y"]) for u in assigned])
    x, y = g[nodes[0]]["x"], g[nodes[0]]["y"]
    nearest = assigned[int(np.argmin(np.hypot(xy[:, 0] - x, xy[:, 1] - y)))]
    return state.parent.get(state.assign[nearest], "")


def reconnect(state: State) -> None:
    """Split grids that fell apart: the piece with the most households keeps the grid."""
    for g in sorted(state.members):
        pieces = list(nx.connected_components(state.graph.subgraph(state.members[g])))
        if len(pieces) < 2:
            continue
        if g in state.locked:
            logger.warning("locked grid %s is in %d pieces after the change; left as it is", g, len(pieces))
            continue
        pieces.sort(key=lambda c: (-sum(state.h[v] for v in c), min(c)))
        for piece in pieces[1:]:
            options = sorted({state.assign[u] for v in piece for u in state.graph[v]
                              if u not in piece and state.assign.get(u) not in (None, g)
                              and state.assign[u] not in state.locked
                              and state.parent.get(state.assign[u]) == state.parent.get(g)})
            to = min(options, key=lambda o: (state.hh(o), o)) if options else state.new_grid()
            state.parent.setdefault(to, state.parent.get(g, ""))
            for v in piece:
                state.move(v, to, "connectivity")


def _eject(state: State, grids: list, gap: float) -> bool:
    """Ejection chains among ``grids``; returns whether their total excess fell."""
    before = sum(state.excess(g) for g in grids)
    nodes = sorted(set().union(*(state.members[g] for g in grids)))
    groups = sorted({state.group[v] for v in nodes})
    index = {s: i for i, s in enumerate(groups)}
    n = len(groups)
    gx = state.graph.nodes
    h = np.zeros(n)
    w = np.zeros(n)
    xy = np.zeros((n, 2))
    for v in nodes:
        i = index[state.group[v]]
        h[i] += state.h[v]
        wv = max(state.h[v], 0.5)
        w[i] += wv
        xy[i] += wv * np.array([gx[v]["x"], gx[v]["y"]])
    xy /= w[:, None]
    cost: list[dict] = [dict() for _ in range(n)]
    for v in nodes:
        i = index[state.group[v]]
        for u, data in state.graph[v].items():
            j = index.get(state.group.get(u))
            if j is not None and j != i:
                c = crossing_cost(data.get("crosses", "none"))
                cost[i][j] = min(c, cost[i].get(j, c))
    adj = [sorted(d.items()) for d in cost]
    label_of = {g: k for k, g in enumerate(grids)}
    labels = np.array([label_of[state.assign[s]] for s in groups])
    search = LocalSearch(adj, xy, h.astype(np.int64), labels, target=state.t, tolerance=state.tol,
                         balance_weight=0.25 * gap**2, crossing_weight=0.5 * state.t * gap**2)
    search.eject_chains(depth=3)
    new = search.lab
    members_of: dict[str, list] = {}
    for v in nodes:
        members_of.setdefault(state.group[v], []).append(v)
    changed = [(s, grids[new[index[s]]]) for s in groups if new[index[s]] != labels[index[s]]]
    if not changed:
        return False
    snapshot = {v: state.assign[v] for s, _ in changed for v in members_of[s]}
    for s, to in changed:
        for v in members_of[s]:
            state.move(v, to, "balance")
    if sum(state.excess(g) for g in grids if g in state.members) < before - 1e-9:
        return True
    for v, g in snapshot.items():  # no gain: undo
        state.move(v, g, state.reason.get(v, "balance"))
    return False


def _repartition(state: State, grids: list, seed: int) -> tuple[dict, float, int]:
    """Engine partition of the buildings of ``grids``; new grids matched to old by shared buildings.

    Returns the proposed assignment of those buildings, its excess and the buildings it moves."""
    nodes = sorted(set().union(*(state.members[g] for g in grids)))
    result = partition(subgraph(state.graph, nodes), target=int(round(state.t)), tolerance=state.tol, seed=seed)
    new = result.assignment.reindex(nodes)
    old = pd.Series([state.assign[v] for v in nodes], index=nodes)
    table = pd.crosstab(old, new)
    rows, cols = linear_sum_assignment(-table.to_numpy())
    names = {table.columns[c]: table.index[r] for r, c in zip(rows, cols)}
    for label in table.columns:
        if label not in names:
            names[label] = state.new_grid()
    proposal = _pull_back(state, nodes, {v: names[new[v]] for v in nodes})
    oversize = {names[label] for label in result.grids.index[result.grids["status"] == "oversize"]}
    hh: dict = {}
    for v, g in proposal.items():
        hh[g] = hh.get(g, 0) + state.h[v]
    excess = sum(max(0.0, state.lo - x, x - state.hi) for g, x in hh.items() if g not in oversize)
    moved = sum(1 for v in nodes if proposal[v] != state.assign[v])
    return proposal, excess, moved


def _pull_back(state: State, nodes: list, proposal: dict) -> dict:
    """Move buildings of a re-partitioned neighbourhood back to their old grid wherever that keeps both
    grids connected and puts no more households outside the band: the engine ignores the old plan,
    this undoes the moves the new balance does not need."""
    proposal = dict(proposal)
    members: dict = {}
    for v, g in proposal.items():
        members.setdefault(g, set()).add(v)
    hh = {g: sum(state.h[v] for v in m) for g, m in members.items()}
    groups: dict = {}
    for v in nodes:
        groups.setdefault(state.group[v], []).append(v)

    def excess(x):
        return max(0.0, state.lo - x, x - state.hi)

    def connected_without(g, gone):
        rest = members[g] - gone
        return bool(rest) and nx.is_connected(state.graph.subgraph(rest))

    changed = True
    while changed:
        changed = False
        for key in sorted(groups):
            vs = groups[key]
            a, b = proposal[vs[0]], state.assign[vs[0]]
            if a == b or b not in members:
                continue
            if not any(proposal.get(u) == b for v in vs for u in state.graph[v]):
                continue
            h = sum(state.h[v] for v in vs)
            if excess(hh[a] - h) + excess(hh[b] + h) > excess(hh[a]) + excess(hh[b]) + 1e-9:
                continue
            if not connected_without(a, set(vs)):
                continue
            for v in vs:
                proposal[v] = b
            members[a] -= set(vs)
            members[b] |= set(vs)
            hh[a] -= h
            hh[b] += h
            changed = True
    return proposal


def repair(state: State, *, gap: float, seed: int, max_hops: int = 3, allow_global: bool = False) -> dict:
    """Stages 3 and 4: local ejection chains, then neighbourhood re-partitions (up to ``max_hops``
    grids away; the whole parent unit only with ``allow_global``)."""
    stages = {"ejection_chains": 0, "repartitions": 0}
    for g in state.bad():
        for hops in (1, 2):
            if g not in state.members or not state.fixable(g):
                break
            if _eject(state, state.region(g, hops), gap):
                stages["ejection_chains"] += 1
    for g in state.bad():
        if g not in state.members or not state.fixable(g):
            continue
        best = None
        for hops in [*range(1, max_hops + 1), *([None] if allow_global else [])]:
            if hops is None:
                grids = sorted(x for x in state.members if x not in state.locked
                               and state.parent.get(x) == state.parent.get(g))
            else:
                grids = state.region(g, hops)
            current = sum(state.excess(x) for x in grids if not state.indivisible(x))
            proposal, excess, moved = _repartition(state, grids, seed)
            if excess < current - 1e-9 and (best is None or excess < best[0] - 1e-9):
                best = (excess, moved, proposal, grids)
            if best is not None and best[0] <= 1e-9:
                break
        if best is None:
            continue
        parent = state.parent.get(g, "")
        for v, to in best[2].items():
            state.parent.setdefault(to, parent)
            state.move(v, to, "rebalance")
        stages["repartitions"] += 1
        logger.info("grid %s: re-partitioned %d grid(s) around it, %d building(s) moved", g, len(best[3]), best[1])
    return stages
