"""Redrawing a plan with minimal change: households return or move out, buildings are added or
demolished, and the grids follow while moving as few buildings as possible.

Every building moved between grids breaks a relationship a grid leader built, so
:func:`update_plan` works outward from the change and stops as soon as the plan is valid and
balanced again:

1. **Apply the change.** New household counts; demolished buildings leave their grid; added
   buildings join the neighbouring grid with the fewest households (a building overlapping an
   assigned one joins that one's grid; one inside a locked grid joins it; a group of added
   buildings with no assigned neighbour becomes a grid of its own). Cells are re-tessellated only
   when buildings were added or demolished, with locked grids' outlines as barriers, so locked grids
   keep their polygons.
2. **Reconnect.** A grid split in two by a demolition or a new cell keeps its largest piece; the
   other pieces join a neighbouring grid.
3. **Repair locally.** Each grid outside ``target × (1 ± tolerance)`` is repaired by ejection chains
   (:meth:`partitioning._refine.LocalSearch.eject_chains`: one building passed to a neighbour, which
   may pass one on) among the grids within one, then two, hops of it.
4. **Re-partition a neighbourhood.** Only grids the chains cannot repair are re-partitioned by the
   engine together with their neighbours (1, 2, 3 hops, then the whole parent unit); the new grids
   are matched to the old ones by the most shared buildings (Hungarian algorithm), so matched grids
   keep their ids and codes, and the smallest neighbourhood that puts every grid in the band wins.

Locked grids never change: no building enters or leaves them (except demolished buildings and new
buildings standing inside them). Grids whose buildings did not change keep their ids, codes and
polygons; new grids get new ids (after the largest) and the next free code in their parent unit.
With levels, buildings move only between grids of the same lowest-level unit; emergency grids are
redrawn only inside normal grids that changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from geo.errors import InputError, ids_text
from geo.plan import Plan
from partitioning._refine import LocalSearch
from partitioning.codes import PLACEHOLDER, new_ids, next_codes
from partitioning.engine import partition
from partitioning.graph import crossing_cost, plan_graph, subgraph
from partitioning.hierarchy import EMERGENCY_COLUMN, emergency_layout, nested_codes, unit_column
from partitioning.metrics import partition_metrics
from partitioning.area import grids_frame
from partitioning.settings import PlanSettings, settings_error
from partitioning.tessellation import coverage_report, grid_polygons, study_area, tessellate

__all__ = ["UpdateResult", "update_plan", "read_household_changes", "MOVE_REASONS"]

logger = logging.getLogger(__name__)

#: Why a building moved (the ``reason`` column of :attr:`UpdateResult.moves`).
MOVE_REASONS = {
    "added": "a new building joined a grid",
    "demolished": "the building is gone",
    "connectivity": "its grid fell apart into pieces; this piece joined a neighbour",
    "balance": "local repair by a chain of moves between neighbouring grids",
    "rebalance": "its neighbourhood was re-partitioned (local moves could not repair it)",
}


@dataclass
class UpdateResult:
    """What :func:`update_plan` made.

    Attributes
    ----------
    plan : geo.plan.Plan
        The updated plan.
    moves : pandas.DataFrame
        One row per building that changed grid: ``building_id``, ``from_grid`` (empty for an added
        building), ``to_grid`` (empty for a demolished one), ``reason`` (see :data:`MOVE_REASONS`).
    summary : dict
        ``buildings_moved`` (existing buildings that changed grid), ``buildings_added``,
        ``buildings_demolished``, ``grids_changed``, ``grids_added``, ``grids_removed``,
        ``grids_unchanged``, ``locked``, ``out_of_tolerance_before`` / ``_after`` (fixable grids outside
        the band after the change was applied / at the end), ``stages`` (repairs made at each stage).
    """

    plan: Plan
    moves: pd.DataFrame
    summary: dict = field(default_factory=dict)


def read_household_changes(path, buildings: pd.DataFrame | None = None, *, key: str | None = None,
                           count: str | None = None, building_key: str | None = None, sheet=None,
                           encoding: str | None = None, notes: list | None = None) -> pd.Series:
    """Households by building from a ledger table: the same rule as ``gridplan partition --households``.

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8 or GBK) or spreadsheet with a building column (``building_id``, ``楼栋号`` …) and
        a households column (``households``, ``户数``), or one row per household (see
        :mod:`geo.ledger`).
    buildings : DataFrame, optional
        The plan's buildings: rows are matched to them by :func:`geo.ledger.match_ledger`
        (building numbers in any address form, or IDs). Without them, the building column is
        taken as building IDs as written.
    key, count, building_key, sheet, encoding
        See :func:`geo.ledger.read_ledger` and :func:`geo.ledger.match_ledger`.
    notes : list, optional
        Receives the ledger's summary and its rows that matched nothing (left out).

    Returns
    -------
    pandas.Series
        ``households`` (int64) indexed by ``building_id`` (str), for the buildings the table names.
    """
    from geo.ledger import ledger_households, read_ledger

    if buildings is None:
        ledger = read_ledger(path, key=key, count=count, sheet=sheet, encoding=encoding)
        ids = ledger.table[ledger.key].dropna().astype(str).str.strip()
        buildings = pd.DataFrame(index=pd.Index(sorted(set(ids) - {""}), name="building_id"))
        from geo.ledger import match_ledger

        match = match_ledger(ledger, buildings, building_key="building_id", others="keep the plan's households")
    else:
        match = ledger_households(path, buildings, key=key, count=count, building_key=building_key,
                                  sheet=sheet, encoding=encoding, others="keep the plan's households")
    if notes is not None:
        notes.extend(match.notes)
    return match.households


class _State:
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
        """One building (or overlapping group) above the band: a grid of its own, never split."""
        return self.hh(g) > self.hi and len({self.group[v] for v in self.members[g]}) == 1

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


def _place_added(state: _State, added: list, inside_locked: dict) -> None:
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


def _nearest_parent(state: _State, nodes: list) -> str:
    """Parent unit of the nearest assigned building (by coordinates)."""
    assigned = [u for u in state.assign if not str(state.assign[u]).startswith("\0")]
    if not assigned:
        return ""
    g = state.graph.nodes
    xy = np.array([(g[u]["x"], g[u]["y"]) for u in assigned])
    x, y = g[nodes[0]]["x"], g[nodes[0]]["y"]
    nearest = assigned[int(np.argmin(np.hypot(xy[:, 0] - x, xy[:, 1] - y)))]
    return state.parent.get(state.assign[nearest], "")


def _reconnect(state: _State) -> None:
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


def _eject(state: _State, grids: list, gap: float) -> bool:
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
    members_of = {}
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


def _repartition(state: _State, grids: list, seed: int) -> tuple[dict, float, int]:
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


def _pull_back(state: _State, nodes: list, proposal: dict) -> dict:
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


def _repair(state: _State, *, gap: float, seed: int, max_hops: int = 3, allow_global: bool = False) -> dict:
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


def _status(state: _State) -> dict:
    out = {}
    for g in state.members:
        hh = state.hh(g)
        if state.indivisible(g):
            out[g] = "oversize"
        elif state.lo <= hh <= state.hi:
            out[g] = "ok"
        elif hh < state.lo and all(state.indivisible(o) for o in
                                   {state.assign[u] for v in state.members[g] for u in state.graph[v]} - {g}):
            out[g] = "undersize"  # cut off: no neighbour, or only buildings that are grids of their own
        else:
            out[g] = "out_of_tolerance"
    return out


def _resolve_locks(grids: gpd.GeoDataFrame, lock) -> set:
    """Grid ids of the locked grids, given by id or by code."""
    code_to_id = dict(zip(grids["grid_code"].astype(str), grids.index.astype(str)))
    locked = set()
    for item in lock:
        item = str(item).strip()
        if item in grids.index:
            locked.add(item)
        elif item in code_to_id:
            locked.add(code_to_id[item])
        elif item:
            raise settings_error(InputError, f"locked grid {item}: no grid with this id or code in the plan",
                                 "lock")
    return locked


def _cells(plan: Plan, buildings: gpd.GeoDataFrame, boundaries, locked: set) -> gpd.GeoDataFrame:
    """Cells of the changed buildings. The outlines of locked grids (and of given units) are barriers,
    so locked grids keep their polygons and given units their outlines."""
    barriers = plan.layers.get("barriers")
    lines = [] if barriers is None else [barriers[["geometry"]]]
    if boundaries is not None and any(d.get("source") not in (None, "generated") for d in plan.meta.get("levels") or []):
        lines.append(boundaries[["geometry"]])
    if locked:
        lines.append(plan.grids.loc[sorted(locked), ["geometry"]])
    cell_barriers = (gpd.GeoDataFrame(pd.concat(lines, ignore_index=True), geometry="geometry", crs=buildings.crs)
                     if lines else None)
    return tessellate(buildings, area=study_area(buildings, boundary=boundaries), barriers=cell_barriers)


def _apply_changes(old: gpd.GeoDataFrame, buildings, households, unit_cols) -> tuple[gpd.GeoDataFrame, list, list]:
    """The plan's buildings with the new household counts, without the demolished buildings and with
    the added ones (their grid still empty)."""
    new = old.copy()
    added, demolished = [], []
    if buildings is not None:
        if "households" not in buildings.columns:
            raise InputError("the new buildings have no 'households' column")
        if buildings.crs is None:
            raise InputError("the new buildings have no CRS")
        if buildings.crs != old.crs:
            buildings = buildings.to_crs(old.crs)
        ids = buildings.index.astype(str)
        if ids.duplicated().any():
            raise InputError(f"building ids repeat in the new buildings: "
                             f"{ids_text(sorted(set(ids[ids.duplicated()])))}")
        buildings = buildings.set_axis(ids)
        demolished = sorted(set(old.index) - set(ids))
        added = sorted(set(ids) - set(old.index))
        extra = buildings.loc[added].drop(columns=["grid_id", "grid_code", EMERGENCY_COLUMN, *unit_cols],
                                          errors="ignore")
        extra = extra.rename_geometry(old.geometry.name) if extra.geometry.name != old.geometry.name else extra
        new = pd.concat([old.drop(index=demolished), extra[[c for c in extra.columns if c in old.columns]]])
        new = gpd.GeoDataFrame(new, geometry=old.geometry.name, crs=old.crs)
        new.index.name = "building_id"
        new["households"] = new["households"].astype("int64")
        if "households_source" in new.columns:
            new.loc[added, "households_source"] = new.loc[added, "households_source"].fillna("estimate")
    if households is not None:
        households = households.copy()
        households.index = households.index.astype(str)
        unknown = sorted(set(households.index) - set(new.index))
        if unknown:
            raise InputError(f"{len(unknown)} building id(s) with new households are not in the plan: {unknown[:10]}")
        new.loc[households.index, "households"] = households.astype("int64").to_numpy()
    return new, added, demolished


def update_plan(plan: Plan, *, households: pd.Series | None = None, buildings: gpd.GeoDataFrame | None = None,
                lock=(), seed: int | None = None, max_hops: int = 3, allow_global: bool = False) -> UpdateResult:
    """Update a plan to changed households or buildings, moving as few buildings as possible.

    Parameters
    ----------
    plan : geo.plan.Plan
        The plan in force (with its ``cells`` layer).
    households : pandas.Series, optional
        New household counts by ``building_id`` (returns, move-outs); buildings not listed keep theirs.
    buildings : geopandas.GeoDataFrame, optional
        The buildings as they stand now, indexed by ``building_id`` (same ids as the plan), with a
        ``households`` column: ids not in the plan are added, plan buildings missing here are
        demolished. Existing buildings keep the plan's households unless ``households`` changes them.
    lock : iterable of str
        Grid ids or codes that must not change.
    seed : int, optional
        Seed of the engine in re-partitions (default the plan's).
    max_hops : int, default 3
        Largest neighbourhood (grids within this many grid-to-grid steps) re-partitioned around a grid
        that local moves cannot repair.
    allow_global : bool, default False
        As a last resort, re-partition the whole parent unit (the whole plan when flat). This can
        move many buildings; without it such a grid stays outside the band and is reported.

    Returns
    -------
    UpdateResult

    Raises
    ------
    geo.errors.InputError
        For unknown building ids in ``households``, unknown locked grids, buildings without a metric
        CRS or without ``households``, or a plan without cells.
    """
    meta = dict(plan.meta)
    settings = PlanSettings.from_meta(meta)
    target, tolerance, gap = settings.target, settings.tolerance, settings.gap
    seed = settings.seed if seed is None else int(seed)
    if "cells" not in plan.layers:
        plan_graph(plan)  # raises the error of a plan without cells
    old = plan.buildings
    grids_old = plan.grids
    locked = _resolve_locks(grids_old, lock)
    levels = [d["name"] for d in meta.get("levels") or []]
    unit_cols = [unit_column(n) for n in levels]

    new, added, demolished = _apply_changes(old, buildings, households, unit_cols)

    layers = dict(plan.layers)
    boundaries = layers.get("boundaries")
    boundaries = boundaries.reset_index() if boundaries is not None else None
    cells = _cells(plan, new, boundaries, locked) if added or demolished else layers["cells"]
    graph = plan_graph(plan, buildings=new, cells=cells)

    parent_col = unit_cols[-1] if unit_cols else None
    parent = {}
    if parent_col:
        parent = old.groupby("grid_id")[parent_col].first().astype(str).to_dict()
    else:
        parent = {g: "" for g in grids_old.index}
    assign = {v: str(g) for v, g in old["grid_id"].items() if v in new.index}
    state = _State(graph, assign, parent, locked, target=target, tolerance=tolerance)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    state.baseline = {g: max(0.0, lo - h, h - hi) for g, h in grids_old["households"].items()}
    inside_locked = {}
    if added and locked:
        pts = shapely.point_on_surface(new.loc[added].geometry.values)
        lk = grids_old.loc[sorted(locked)]
        i, j = shapely.STRtree(lk.geometry.values).query(pts, predicate="within")
        inside_locked = {added[a]: lk.index[b] for a, b in zip(i, j)}
    _place_added(state, added, inside_locked)
    _reconnect(state)
    before = len(state.bad())
    stages = _repair(state, gap=gap, seed=seed, max_hops=max_hops, allow_global=allow_global)
    after = len(state.bad())

    # ids, codes, layers
    fresh = sorted(g for g in state.members if g.startswith("\0"))
    ids = new_ids(grids_old.index, fresh, prefix="G")
    final = pd.Series({v: ids.get(g, g) for v, g in state.assign.items()}).reindex(new.index)
    final.index.name = "building_id"
    parent = {ids.get(g, g): p for g, p in state.parent.items()}
    status = {ids.get(g, g): s for g, s in _status(state).items()}
    out = new.copy()
    out["grid_id"] = final
    if parent_col:  # units follow the grid's parent unit (the lowest level determines the others)
        out[parent_col] = final.map(parent)
        for col in unit_cols[:-1]:
            out[col] = out[parent_col].map(old.groupby(parent_col)[col].first())
    polygons = grid_polygons(cells, final)
    codes = grids_old["grid_code"].astype(str).reindex(polygons.index)
    fresh_ids = [ids[g] for g in fresh if ids[g] in polygons.index]
    if fresh_ids:
        if parent_col:
            unit_codes = layers["levels"].set_index("unit_id")["unit_code"].astype(str)
            pcode = pd.Series({g: unit_codes[parent[g]] for g in fresh_ids})
        else:
            prefix = meta.get("code_prefix")  # None: a plan from before partitioning.codes.code_prefix
            pcode = pd.Series(PLACEHOLDER if prefix is None else str(prefix), index=fresh_ids)
        codes.update(pd.Series(next_codes(grids_old["grid_code"].astype(str), pcode, fresh_ids, 3)))
    grids = grids_frame(out, final, polygons, pd.Series(status), codes)
    out["grid_code"] = grids["grid_code"].reindex(final).to_numpy()
    layers["cells"] = cells
    if "levels" in layers:
        layers["levels"] = _update_levels(layers["levels"], out, cells, meta.get("levels") or [], tolerance)
    changed = _changed_grids(old, out)
    if "grids_emergency" in layers:
        layers["grids_emergency"], out[EMERGENCY_COLUMN] = _update_emergency(
            layers["grids_emergency"], plan.buildings, out, grids, graph, cells, changed,
            target=int((meta.get("emergency") or {}).get("target") or max(1, target // 2)),
            tolerance=tolerance, seed=seed, prefix=meta.get("code_prefix"))

    moves = _moves(old, out, demolished, added, state.reason)
    metrics = partition_metrics(graph, final, target=target, tolerance=tolerance)
    area = study_area(out, boundary=boundaries)
    coverage = coverage_report(grids, out, final, area=area)
    existing = [v for v in old.index if v in out.index]
    summary = {
        "buildings_moved": int((old.loc[existing, "grid_id"].astype(str) != final[existing].astype(str)).sum()),
        "buildings_total": int(len(out)),
        "buildings_added": len(added),
        "buildings_demolished": len(demolished),
        "grids_changed": len(changed & set(grids_old.index) & set(grids.index)),
        "grids_added": sorted(set(grids.index) - set(grids_old.index)),
        "grids_removed": sorted(set(grids_old.index) - set(grids.index)),
        "grids_unchanged": int(len(set(grids.index) - changed)),
        "locked": sorted(locked),
        "out_of_tolerance_before": before,
        "out_of_tolerance_after": after,
        "unrepaired": sorted(ids.get(g, g) for g in state.bad()),
        "stages": stages,
    }
    summary["share_moved"] = round(summary["buildings_moved"] / max(1, len(existing)), 4)
    meta.update(metrics=metrics, coverage=coverage, update=summary,
                updated=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"))
    logger.info("update: %d of %d buildings moved, %d grid(s) changed, %d added, %d removed",
                summary["buildings_moved"], len(existing), summary["grids_changed"],
                len(summary["grids_added"]), len(summary["grids_removed"]))
    return UpdateResult(plan=Plan(buildings=out, grids=grids, meta=meta, layers=layers), moves=moves,
                        summary=summary)


def _changed_grids(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> set:
    """Grids of the new plan whose set of buildings differs from the old plan's (or is new)."""
    before = old.groupby("grid_id").groups
    after = new.groupby("grid_id").groups
    return {g for g, members in after.items() if g not in before or set(before[g]) != set(members)}


def _moves(old, out, demolished, added, reason) -> pd.DataFrame:
    rows = [(v, str(old.at[v, "grid_id"]), None, "demolished") for v in demolished]
    rows += [(v, None, str(out.at[v, "grid_id"]), "added") for v in added]
    for v in old.index:
        if v in out.index and str(old.at[v, "grid_id"]) != str(out.at[v, "grid_id"]):
            rows.append((v, str(old.at[v, "grid_id"]), str(out.at[v, "grid_id"]), reason.get(v, "rebalance")))
    return pd.DataFrame(rows, columns=["building_id", "from_grid", "to_grid", "reason"])


def _update_levels(levels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, cells, described: list,
                   tolerance: float) -> gpd.GeoDataFrame:
    """The levels layer with polygons, figures and status recomputed from the buildings; ids and codes kept."""
    frames = []
    for d in described:
        name, col = d["name"], unit_column(d["name"])
        rows = levels[levels["level"] == name].set_index("unit_id")
        polys = grid_polygons(cells, buildings[col].astype(str))
        grouped = buildings["households"].groupby(buildings[col].astype(str))
        frame = rows.reindex(polys.index).drop(columns="geometry")
        frame.index.name = "unit_id"
        frame["households"] = grouped.sum().reindex(polys.index).astype("int64")
        frame["n_buildings"] = grouped.size().reindex(polys.index).astype("int64")
        frame["level"] = name
        if d.get("target"):
            lo, hi = d["target"] * (1 - tolerance), d["target"] * (1 + tolerance)
            single = frame["n_buildings"] == 1
            frame["status"] = np.where(frame["households"].between(lo, hi), "ok",
                                       np.where(single & (frame["households"] > hi), "oversize", "out_of_tolerance"))
        frames.append(gpd.GeoDataFrame(frame.reset_index(), geometry=polys.geometry.to_numpy(), crs=cells.crs))
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=cells.crs)
    out.index = pd.Index(out["level"] + "/" + out["unit_id"], name="unit_key")
    return out


def _update_emergency(emergency, old, out, grids, graph, cells, changed, *, target, tolerance, seed, prefix):
    """Keep the emergency grids of unchanged normal grids; split changed and new grids afresh."""
    keep = ~out["grid_id"].isin(changed)
    assignment = old[EMERGENCY_COLUMN].reindex(out.index).where(keep)
    redo = out.index[~keep]
    frames = emergency.loc[emergency.index.isin(assignment.dropna().unique())]
    if len(redo):
        sub, info = emergency_layout(subgraph(graph, redo), out.loc[redo, "grid_id"], target=target,
                                     tolerance=tolerance, seed=seed)
        ids = new_ids(emergency.index, list(info.index), prefix="E")
        assignment.loc[redo] = sub.map(ids).reindex(redo)
        info = info.rename(index=ids)
        polys = grid_polygons(cells.loc[redo], sub.map(ids).reindex(redo))
        codes = nested_codes(polys, prefix=prefix, parent_code=info["parent_id"].map(grids["grid_code"]))
        made = grids_frame(out.loc[redo], sub.map(ids).reindex(redo), polys, info["status"], codes)
        made["parent_grid_id"] = info["parent_id"].reindex(made.index)
        frames = pd.concat([frames, made])
    polys = grid_polygons(cells, assignment)
    grouped = out.groupby(assignment)
    frames = frames.drop(columns="geometry").assign(households=grouped["households"].sum(),
                                                    n_buildings=grouped.size())
    if "persons" in out.columns:
        frames["persons"] = grouped["persons"].sum()
    frames = gpd.GeoDataFrame(frames, geometry=polys.geometry.reindex(frames.index), crs=cells.crs)
    frames.index.name = "grid_id"
    return frames.sort_values("grid_code"), assignment
