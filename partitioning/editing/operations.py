"""The edits: move buildings, merge, split, re-run and lock grids. Each is a pure function of a
plan and its graph returning an :class:`~partitioning.editing.recompute.EditResult`, or raising
:class:`~partitioning.editing.messages.EditError` with the reason."""

from __future__ import annotations

import logging

import networkx as nx
import numpy as np

from geo.plan import Plan
from partitioning.diff import match_grids
from partitioning.editing.messages import EditError
from partitioning.editing.recompute import EditResult, _apply, _new_grids
from partitioning.editing.rules import (
    LOCKED,
    _band,
    _buildings,
    _connected,
    _grid,
    _locked,
    _overlap_partners,
    _unit_columns,
    _unlocked,
)
from partitioning.engine import partition
from partitioning.graph import subgraph
from partitioning.metrics import spread

__all__ = ["move_targets", "move_buildings", "merge_grids", "split_grid", "rerun_grids", "lock_grids", "OPERATIONS"]

logger = logging.getLogger(__name__)


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
    side: frozenset = frozenset(halves.index[(halves != halves.iloc[0]).to_numpy()])
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
