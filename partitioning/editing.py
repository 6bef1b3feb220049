"""Hand edits of a plan: move buildings, merge, split, lock and re-run grids, with validation.

The engine's plan is a draft the planner finishes. Each edit is a pure function: it takes a
:class:`geo.plan.Plan` and its contiguity graph (:func:`edit_graph`) and returns an
:class:`EditResult` with a new plan and the warnings of the change, or raises
:class:`EditError` with the reason the change is refused:

- a building is never split: a building is one node of the graph, and overlapping footprints
  (``overlap`` edges) must stay in one grid;
- a grid never falls apart: every grid the change touches must stay connected in the graph,
  and buildings only move into a grid they touch;
- a locked grid (``locked`` column of the grids) never changes;
- with levels, buildings stay in their lowest-level unit.

A grid left outside ``target × (1 ± tolerance)`` is allowed, flagged by its ``status`` and
returned as a warning. Only the grids a change touches are recomputed: their polygons are
dissolved from the plan's ``cells`` layer (no re-tessellation), their figures summed from the
buildings; the plan's ``metrics`` are recomputed on the graph.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from geo.errors import GridplanError
from geo.plan import Plan
from partitioning.codes import PLACEHOLDER, new_ids, next_codes
from partitioning.diff import match_grids
from partitioning.engine import partition
from partitioning.graph import plan_graph, subgraph
from partitioning.hierarchy import EMERGENCY_COLUMN
from partitioning.metrics import partition_metrics, spread
from partitioning.area import emergency_grids
from partitioning.settings import PlanSettings
from partitioning.tessellation import grid_polygons

__all__ = ["EditError", "REFUSALS", "WARNINGS", "GRID_FIELDS", "BUILDING_FIELDS",
           "EditResult", "edit_graph", "move_targets", "move_buildings", "merge_grids", "split_grid",
           "rerun_grids", "lock_grids", "OPERATIONS"]

logger = logging.getLogger(__name__)

LOCKED = "locked"
#: Figures of grids by their buildings, per edit graph (an edit graph is never changed): an edit
#: recomputes the metrics of the grids it touched only.
_METRICS_CACHE: "weakref.WeakKeyDictionary[nx.Graph, dict]" = weakref.WeakKeyDictionary()


#: Why an edit is refused: reason → message (English; ``maps.i18n`` has each in Chinese as
#: ``refused_<reason>``, with the same fields).
REFUSALS = {
    "unknown_grid": "no grid '{grid}' in the plan",
    "unknown_building": "no building {buildings} in the plan",
    "locked": "grid {grids} is locked; unlock it first",
    "falls_apart": "grid {grid} ({code}) would fall apart into {pieces} pieces; move buildings that keep it connected",
    "no_building": "select at least one building to move",
    "already_there": "the selected buildings are already in grid {grid}",
    "overlap_left": ("building(s) {moving} overlap {left}: a grid boundary between them would cut a building; "
                     "select them together"),
    "other_unit": "the buildings are in another {level} unit than grid {grid}; a grid stays inside its unit",
    "not_touching": "building(s) {buildings} do not touch grid {grid} ({code}); move them to a neighbouring grid",
    "same_grid": "choose two different grids to merge",
    "different_units": "grids {a} and {b} are in different {level} units",
    "grids_not_touching": "grids {a} and {b} do not touch; merge neighbouring grids",
    "bad_seed": "grid {grid}: seed {seed} is not a whole number 0, 1, 2, …",
    "one_building": "grid {grid} is one building (or overlapping footprints): it cannot be split",
    "no_other_cut": ("grid {grid}: no other cut number {seed} (the engine found {found} other cut(s) into two "
                     "connected halves)"),
    "no_grid": "select at least one grid to re-run",
}


#: What an edit that is allowed warns about: reason → message (English; ``maps.i18n`` has each as
#: ``warning_<reason>``, with the same fields).
WARNINGS = {
    "out_of_band": "grid {grid} ({code}): {households} households, outside {lo:g}–{hi:g} ({status})",
    "emergency_stale": "the emergency layout was drawn before this edit; redraw it with `gridplan update`",
}


#: Fields of :data:`REFUSALS` and :data:`WARNINGS` that hold grid ids, and building ids (one id or
#: a list): a user interface names them as people know them (a grid's number, a building's name).
GRID_FIELDS = ("grid", "grids", "a", "b")
BUILDING_FIELDS = ("buildings", "moving", "left")


def _said(params: dict) -> dict:
    """Fields as the English message writes them: lists joined by commas."""
    return {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in params.items()}


class EditError(GridplanError):
    """A hand edit refused: it would split a building, break a grid apart, or touch a locked grid.

    ``reason`` is a key of :data:`REFUSALS` and ``params`` its fields, so that a user interface
    can say it in the user's language. Grids and buildings are given by id in ``params``
    (:data:`GRID_FIELDS`, :data:`BUILDING_FIELDS`; a list where several), for the interface to name.
    """

    exit_code = 4

    def __init__(self, reason: str, **params):
        self.reason, self.params = reason, params
        super().__init__(REFUSALS[reason].format(**_said(params)))


@dataclass
class EditResult:
    """What an edit made.

    Attributes
    ----------
    plan : geo.plan.Plan
        The edited plan (a new object; the input plan is not modified).
    changed : list of str
        Grids whose buildings, polygon or lock changed (ids in the new plan).
    removed : list of str
        Grids that no longer exist.
    warnings : list of str
        Grids the change left outside the tolerance band, and other things the planner should know.
    notices : list of dict
        The same warnings as ``{"reason": key of WARNINGS, **fields}``, for a user interface to say
        in the user's language.
    """

    plan: Plan
    changed: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notices: list = field(default_factory=list)


def edit_graph(plan: Plan) -> nx.Graph:
    """The graph edits are checked on: the plan's own graph (:func:`partitioning.graph.plan_graph`,
    with the plan's gap, cells, barriers and boundaries), the one the plan was made and is checked on.

    Raises
    ------
    geo.errors.PlanFileError
        When the plan has no ``cells`` layer.
    """
    return plan_graph(plan)


# --- checks ----------------------------------------------------------------------------------------

def _band(plan: Plan) -> tuple[int, float]:
    """The plan's target households per grid and its tolerance."""
    settings = PlanSettings.from_meta(plan.meta)
    return settings.target, settings.tolerance


def _buildings(plan: Plan, building_ids) -> list[str]:
    """Building ids as strings, each once, in the order given; unknown ones are refused."""
    ids = [str(b) for b in dict.fromkeys(building_ids)]
    unknown = [b for b in ids if b not in plan.buildings.index]
    if unknown:
        raise EditError("unknown_building", buildings=unknown[:5])
    return ids


def _locked(plan: Plan) -> set:
    if LOCKED not in plan.grids.columns:
        return set()
    flags = plan.grids[LOCKED].fillna(0).astype(bool)
    return set(plan.grids.index[flags.to_numpy()].astype(str))


def _grid(plan: Plan, grid) -> str:
    """A grid id from an id or a printed code."""
    grid = str(grid)
    if grid in plan.grids.index:
        return grid
    by_code = plan.grids.index[plan.grids["grid_code"].astype(str) == grid]
    if len(by_code) == 1:
        return str(by_code[0])
    raise EditError("unknown_grid", grid=grid)


def _unlocked(plan: Plan, grids) -> None:
    locked = sorted(set(grids) & _locked(plan))
    if locked:
        raise EditError("locked", grids=locked)


def _overlap_partners(graph: nx.Graph, nodes) -> set:
    """Buildings that overlap one of ``nodes`` (directly or through a chain of overlaps)."""
    seen, todo = set(nodes), list(nodes)
    while todo:
        v = todo.pop()
        for u in graph[v]:
            if graph[v][u].get("overlap") and u not in seen:
                seen.add(u)
                todo.append(u)
    return seen


def _unit_columns(plan: Plan) -> list:
    from partitioning.hierarchy import unit_column

    return [unit_column(d["name"]) for d in plan.meta.get("levels") or []]


def _connected(graph: nx.Graph, plan: Plan, assignment: pd.Series, grids) -> None:
    for g in grids:
        members = list(assignment.index[assignment.to_numpy() == g])
        if members and not nx.is_connected(graph.subgraph(members)):
            pieces = nx.number_connected_components(graph.subgraph(members))
            raise EditError("falls_apart", grid=g, code=plan.grids.at[g, "grid_code"] if g in plan.grids.index else g,
                            pieces=pieces)


# --- recomputing -----------------------------------------------------------------------------------

def _status(graph: nx.Graph, members: list, households: int, lo: float, hi: float) -> str:
    if households > hi and len(_overlap_partners(graph, members[:1])) >= len(members):
        return "oversize"
    inside = set(members)
    if households < lo and not any(u not in inside for v in members for u in graph[v]):
        return "undersize"  # a whole connected group: it cannot grow
    return "ok" if lo <= households <= hi else "out_of_tolerance"


def _apply(plan: Plan, graph: nx.Graph, assignment: pd.Series, touched, *, codes=None,
           note: str) -> EditResult:
    """A new plan with ``assignment``: the ``touched`` grids' polygons and figures recomputed."""
    target, tolerance = _band(plan)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    buildings = plan.buildings.copy()
    buildings["grid_id"] = assignment.reindex(buildings.index).astype(str).to_numpy()
    present = set(buildings["grid_id"].unique().tolist())
    touched = sorted(set(touched))
    alive = [g for g in touched if g in present]
    removed = [g for g in touched if g not in present and g in plan.grids.index]
    cells = plan.layers["cells"]
    mask = buildings["grid_id"].isin(alive).to_numpy()
    polygons = grid_polygons(cells.loc[buildings.index[mask]], buildings["grid_id"][mask]) if alive else None
    grids = plan.grids.drop(index=removed + alive, errors="ignore").copy()
    notices = []
    rows = []
    for g in alive:
        members = list(buildings.index[buildings["grid_id"].to_numpy() == g])
        part = buildings.loc[members]
        hh = int(part["households"].sum())
        row = {"grid_code": (codes or {}).get(g, plan.grids.at[g, "grid_code"] if g in plan.grids.index else g),
               "households": hh, "n_buildings": len(members),
               "status": _status(graph, members, hh, lo, hi)}
        if "persons" in grids.columns:
            row["persons"] = int(part["persons"].sum()) if "persons" in part else 0
        if LOCKED in grids.columns:
            row[LOCKED] = int(plan.grids.at[g, LOCKED]) if g in plan.grids.index and pd.notna(
                plan.grids.at[g, LOCKED]) else 0
        row["grid_id"] = g
        rows.append(row)
        if row["status"] != "ok":
            notices.append({"reason": "out_of_band", "grid": g, "code": str(row["grid_code"]), "households": hh,
                            "lo": lo, "hi": hi, "status": row["status"]})
    if rows:
        fresh = gpd.GeoDataFrame(pd.DataFrame(rows).set_index("grid_id"),
                                 geometry=polygons.geometry.reindex([r["grid_id"] for r in rows]).to_numpy(),
                                 crs=plan.grids.crs)
        fresh.index.name = "grid_id"
        grids = pd.concat([grids, fresh[[c for c in grids.columns if c in fresh.columns]]])
        grids = gpd.GeoDataFrame(grids, geometry=plan.grids.geometry.name, crs=plan.grids.crs)
        for col in grids.columns:
            if col in plan.grids.columns and plan.grids[col].dtype.kind in "iu":
                grids[col] = grids[col].fillna(0).astype(plan.grids[col].dtype)
    grids = grids.sort_values("grid_code")
    grids.index.name = "grid_id"
    buildings["grid_code"] = grids["grid_code"].reindex(buildings["grid_id"]).to_numpy()
    meta = dict(plan.meta)
    meta["metrics"] = partition_metrics(graph, buildings["grid_id"], target=target, tolerance=tolerance,
                                        cache=_METRICS_CACHE.setdefault(graph, {}))
    layers = dict(plan.layers)
    if "grids_emergency" in layers:
        redrawn = _emergency(plan, graph, buildings, grids, alive + removed)
        if redrawn is None:
            notices.append({"reason": "emergency_stale"})
        else:
            layers["grids_emergency"], buildings[EMERGENCY_COLUMN] = redrawn
    meta["edited"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    logger.info("edit: %s (%d grids recomputed, %d removed)", note, len(alive), len(removed))
    return EditResult(Plan(buildings=buildings, grids=grids, meta=meta, layers=layers),
                      changed=alive, removed=removed, notices=notices,
                      warnings=[WARNINGS[n["reason"]].format(**n) for n in notices])


def _emergency(plan: Plan, graph: nx.Graph, buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, touched):
    """The emergency layout with the ``touched`` grids split again (the others' emergency grids
    unchanged): new ids after the highest in use, codes extending the grids' codes. ``None`` for a
    plan that does not record its emergency target."""
    target = (plan.meta.get("emergency") or {}).get("target")
    layer = plan.layers["grids_emergency"]
    if target is None or "parent_grid_id" not in layer.columns:
        return None
    kept = layer[~layer["parent_grid_id"].astype(str).isin(touched)]
    members = buildings.index[buildings["grid_id"].isin(touched).to_numpy()]
    fresh, assignment = emergency_grids(
        subgraph(graph, members), plan.layers["cells"].loc[members], buildings.loc[members],
        grids.loc[sorted(set(buildings.loc[members, "grid_id"]))], target=int(target),
        tolerance=_band(plan)[1], seed=PlanSettings.from_meta(plan.meta).seed,
        prefix=plan.meta.get("code_prefix"))
    ids = new_ids(layer.index, list(fresh.index), prefix="E")
    fresh = fresh.rename(index=ids)
    fresh.index.name = layer.index.name
    out = pd.concat([kept, fresh[[c for c in layer.columns if c in fresh.columns]]]).sort_values("grid_code")
    column = plan.buildings[EMERGENCY_COLUMN].astype(str).copy()
    column[members] = assignment.reindex(members).map(ids).to_numpy()
    return gpd.GeoDataFrame(out, geometry=layer.geometry.name, crs=layer.crs), column.to_numpy()


def _new_grids(plan: Plan, fresh: list, beside) -> tuple[dict, dict]:
    """Ids and codes for the grids ``fresh`` (temporary names) an edit adds beside grid ``beside``:
    the next free ids, and the codes after the last sibling of ``beside``'s code (same parent:
    all but its last 3 digits)."""
    ids = new_ids(plan.grids.index, fresh, prefix="G")
    code = str(plan.grids.at[beside, "grid_code"])
    prefix = plan.meta.get("code_prefix")
    parent = code[:-3] if len(code) > 3 and code[-3:].isdigit() else (PLACEHOLDER if prefix is None else str(prefix))
    codes = next_codes(plan.grids["grid_code"].astype(str), dict.fromkeys(ids.values(), parent), list(ids.values()))
    return ids, codes


# --- operations ------------------------------------------------------------------------------------

def move_targets(plan: Plan, graph: nx.Graph, building_ids) -> dict:
    """Where a selection of buildings may go: what an editor offers before :func:`move_buildings`.

    Buildings overlapping the selection (directly or through a chain of overlaps) join it: a grid
    boundary between them would cut a building. The targets are the grids the selection touches
    in the graph, besides the one grid it is all in; :func:`move_buildings` still checks the rest
    (locks, a grid falling apart, units).

    Returns
    -------
    dict
        ``buildings`` (the selection and its partners), ``partners`` (the buildings added),
        ``from`` (their grids), ``targets`` (``grid_id``, ``grid_code``, ``households``,
        ``locked`` of each grid, by code).

    Raises
    ------
    EditError
        Unknown buildings.
    """
    ids = _buildings(plan, building_ids)
    partners = sorted(_overlap_partners(graph, ids) - set(ids))
    selection = ids + partners
    assignment = plan.buildings["grid_id"].astype(str)
    sources = sorted(set(assignment[selection]))
    touched = {assignment[u] for v in selection for u in graph[v]} | set(sources)
    if len(sources) == 1:
        touched -= set(sources)
    locked = _locked(plan)
    grids = plan.grids.loc[sorted(touched)].sort_values("grid_code")
    return {"buildings": selection, "partners": partners, "from": sources,
            "targets": [{"grid_id": str(g), "grid_code": str(row["grid_code"]), "households": int(row["households"]),
                         "locked": str(g) in locked} for g, row in grids.iterrows()]}


def move_buildings(plan: Plan, graph: nx.Graph, building_ids, to_grid) -> EditResult:
    """Move buildings to a neighbouring grid.

    Parameters
    ----------
    plan : geo.plan.Plan
    graph : networkx.Graph
        From :func:`edit_graph`.
    building_ids : list of str
        Buildings to move; a grid emptied by the move disappears.
    to_grid : str
        Id or code of the grid they join; it must touch them (a graph edge).

    Raises
    ------
    EditError
        Unknown buildings or grid; a building overlapping one left behind (the grid boundary would
        cut a building); a grid locked; the moved buildings not reaching ``to_grid``; a grid that
        would fall apart; buildings leaving their lowest-level unit.

    Examples
    --------
    >>> result = move_buildings(plan, edit_graph(plan), ["w123"], "G0002")   # doctest: +SKIP
    >>> result.warnings                                                      # doctest: +SKIP
    """
    to_grid = _grid(plan, to_grid)
    ids = _buildings(plan, building_ids)
    if not ids:
        raise EditError("no_building")
    assignment = plan.buildings["grid_id"].astype(str)
    moving = [b for b in ids if assignment[b] != to_grid]
    if not moving:
        raise EditError("already_there", grid=to_grid)
    partners = _overlap_partners(graph, moving) - set(ids)
    left = sorted(b for b in partners if assignment[b] != to_grid)
    if left:
        raise EditError("overlap_left", moving=moving[:3], left=left[:3])
    sources = sorted({assignment[b] for b in moving})
    _unlocked(plan, sources + [to_grid])
    for col in _unit_columns(plan):
        target_units = set(plan.buildings.loc[assignment == to_grid, col].astype(str))
        if set(plan.buildings.loc[moving, col].astype(str)) - target_units:
            raise EditError("other_unit", level=col[5:], grid=to_grid)
    new = assignment.copy()
    new[moving] = to_grid
    members = set(new.index[new.to_numpy() == to_grid])
    if not nx.is_connected(graph.subgraph(members)):
        raise EditError("not_touching", buildings=moving[:5], grid=to_grid,
                        code=plan.grids.at[to_grid, "grid_code"])
    _connected(graph, plan, new, sources)
    return _apply(plan, graph, new, sources + [to_grid],
                  note=f"moved {len(moving)} building(s) to {to_grid}")


def merge_grids(plan: Plan, graph: nx.Graph, a, b) -> EditResult:
    """Merge grid ``b`` into its neighbour ``a`` (``a`` keeps its id and code).

    Raises
    ------
    EditError
        Unknown or locked grids, the same grid twice, grids that do not touch, grids of different
        lowest-level units.
    """
    a, b = _grid(plan, a), _grid(plan, b)
    if a == b:
        raise EditError("same_grid")
    _unlocked(plan, [a, b])
    assignment = plan.buildings["grid_id"].astype(str)
    for col in _unit_columns(plan):
        if set(plan.buildings.loc[assignment == a, col]) != set(plan.buildings.loc[assignment == b, col]):
            raise EditError("different_units", a=a, b=b, level=col[5:])
    new = assignment.where(assignment != b, a)
    members = list(new.index[new.to_numpy() == a])
    if not nx.is_connected(graph.subgraph(members)):
        raise EditError("grids_not_touching", a=a, b=b)
    return _apply(plan, graph, new, [a, b], note=f"merged {b} into {a}")


def split_grid(plan: Plan, graph: nx.Graph, grid, *, seed: int = 0) -> EditResult:
    """Split a grid in two: the engine proposes the cut (two connected, balanced halves).

    ``seed=0`` gives the engine's cut (:func:`partitioning.engine.partition` with two grids).
    A planner who wants another cut asks again with ``seed=1, 2, …``: the other cuts into two
    connected halves (overlapping footprints kept together), found on random spanning trees of the
    grid's graph and ranked best first — both halves inside the tolerance band, then the more
    even, then the more compact (household-weighted distance to each half's centre). The larger
    half keeps the grid's id and code; the other gets the next free id and the next code in the
    grid's parent.

    Raises
    ------
    EditError
        Unknown or locked grid; a grid that cannot be cut (one building, or overlapping footprints
        only); a seed that is not a whole number ≥ 0; no ``seed``-th other cut.
    """
    grid = _grid(plan, grid)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise EditError("bad_seed", grid=grid, seed=seed)
    _unlocked(plan, [grid])
    assignment = plan.buildings["grid_id"].astype(str)
    members = list(assignment.index[assignment.to_numpy() == grid])
    if len(_overlap_partners(graph, members[:1])) >= len(members):
        raise EditError("one_building", grid=grid)
    target, tolerance = _band(plan)
    result = partition(subgraph(graph, members), target=target, tolerance=tolerance, n_grids=2, seed=0)
    halves = result.assignment.reindex(members)
    side = set(halves.index[(halves != halves.iloc[0]).to_numpy()])
    if seed:
        others = [cut for cut in _cuts(graph, members, lo=target * (1 - tolerance), hi=target * (1 + tolerance))
                  if cut != _cut_key(side, members)]
        if seed > len(others):
            raise EditError("no_other_cut", grid=grid, seed=seed, found=len(others))
        side = others[seed - 1]
    big_side = len(side) > len(members) - len(side)
    ids, codes = _new_grids(plan, ["half"], grid)
    new_id = ids["half"]
    new = assignment.copy()
    new[members] = [grid if (b in side) == big_side else new_id for b in members]
    return _apply(plan, graph, new, [grid, new_id], codes=codes, note=f"split {grid} into {grid} and {new_id}")


def _cut_key(side, members) -> frozenset:
    """A cut of ``members`` named by the half without the first building."""
    side = set(side)
    return frozenset(set(members) - side if members[0] in side else side)


def _cuts(graph: nx.Graph, members: list, *, lo: float, hi: float, trees: int = 200) -> list[frozenset]:
    """Distinct cuts of a connected grid into two connected halves (see :func:`split_grid`), best
    first; each named by :func:`_cut_key`. Found on ``trees`` minimum spanning trees of randomly
    weighted edges (fixed seed): removing a tree edge leaves two connected halves."""
    units: dict = {}  # building → its overlap group (they never part)
    for b in members:
        if b not in units:
            group = frozenset(_overlap_partners(graph, [b]) & set(members))
            units.update(dict.fromkeys(group, group))
    groups = list(dict.fromkeys(units.values()))
    index = {g: i for i, g in enumerate(groups)}
    quotient = nx.Graph()
    quotient.add_nodes_from(range(len(groups)))
    quotient.add_edges_from({tuple(sorted((index[units[u]], index[units[v]])))
                             for u, v in graph.subgraph(members).edges if units[u] is not units[v]})
    edges = list(quotient.edges)
    rng = np.random.default_rng(0)
    sides = set()
    for _ in range(trees):
        for (u, v), w in zip(edges, rng.random(len(edges))):
            quotient[u][v]["w"] = w
        tree = nx.minimum_spanning_tree(quotient, weight="w")
        order = list(nx.dfs_preorder_nodes(tree, 0))
        parent = dict(nx.dfs_predecessors(tree, 0))
        below = {v: {v} for v in order}
        for v in reversed(order[1:]):
            below[parent[v]] |= below[v]
            sides.add(frozenset().union(*(groups[i] for i in below[v])))
    nodes = graph.nodes
    total = sum(int(nodes[b]["households"]) for b in members)

    def rank(side):
        h = sum(int(nodes[b]["households"]) for b in side)
        inside = lo <= h <= hi and lo <= total - h <= hi
        rest = [b for b in members if b not in side]
        compact = spread(graph, list(side))[0] + spread(graph, rest)[0]
        return (not inside, abs(2 * h - total), round(compact, 6), sorted(map(str, side)))

    return [_cut_key(side, members) for side in sorted(sides, key=rank)]


def rerun_grids(plan: Plan, graph: nx.Graph, grids, *, seed: int = 0) -> EditResult:
    """Re-run the engine on the buildings of the selected grids only (other grids do not change).

    New grids are matched to the old ones by shared buildings (they keep their ids and codes);
    extra grids get new ids and codes, grids left over disappear.

    Raises
    ------
    EditError
        Unknown or locked grids.
    """
    chosen = sorted({_grid(plan, g) for g in grids})
    if not chosen:
        raise EditError("no_grid")
    _unlocked(plan, chosen)
    assignment = plan.buildings["grid_id"].astype(str)
    members = list(assignment.index[assignment.isin(chosen).to_numpy()])
    target, tolerance = _band(plan)
    result = partition(subgraph(graph, members), target=target, tolerance=tolerance, seed=seed)
    fresh = result.assignment.reindex(members).astype(str)
    matched = match_grids(assignment[members], fresh)
    extra, codes = _new_grids(plan, sorted(set(fresh) - set(matched)), chosen[0])
    ids = dict(matched) | extra
    new = assignment.copy()
    new[members] = fresh.map(ids).to_numpy()
    return _apply(plan, graph, new, chosen + list(extra.values()), codes=codes,
                  note=f"re-ran the engine on {len(chosen)} grid(s)")


def lock_grids(plan: Plan, grids, *, locked: bool = True) -> EditResult:
    """Lock (or unlock) grids: a locked grid refuses every edit that would change it."""
    chosen = sorted({_grid(plan, g) for g in grids})
    out = plan.grids.copy()
    if LOCKED not in out.columns:
        out[LOCKED] = 0
    out[LOCKED] = out[LOCKED].fillna(0).astype("int64")
    out.loc[chosen, LOCKED] = int(locked)
    logger.info("edit: %s %s", "locked" if locked else "unlocked", ", ".join(chosen))
    return EditResult(Plan(buildings=plan.buildings, grids=out, meta=dict(plan.meta), layers=dict(plan.layers)),
                      changed=chosen)


#: Operation name → (function, whether it takes the graph): the editor's undo log replays these.
OPERATIONS = {
    "move": (move_buildings, True),
    "merge": (merge_grids, True),
    "split": (split_grid, True),
    "rerun": (rerun_grids, True),
    "lock": (lock_grids, False),
}
