"""The rules every edit keeps, as checks that raise :class:`~partitioning.editing.messages.EditError`:
known buildings and grids (by id or printed code), locked grids untouched, overlapping footprints
together, grids connected; and the plan's band and level columns they are checked against."""

from __future__ import annotations

import networkx as nx
import pandas as pd

from geo.plan import Plan
from partitioning.editing.messages import EditError
from partitioning.hierarchy import unit_column
from partitioning.settings import PlanSettings

LOCKED = "locked"


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
    return [unit_column(d["name"]) for d in plan.meta.get("levels") or []]


def _connected(graph: nx.Graph, plan: Plan, assignment: pd.Series, grids) -> None:
    for g in grids:
        members = list(assignment.index[assignment.to_numpy() == g])
        if members and not nx.is_connected(graph.subgraph(members)):
            pieces = nx.number_connected_components(graph.subgraph(members))
            raise EditError("falls_apart", grid=g, code=plan.grids.at[g, "grid_code"] if g in plan.grids.index else g,
                            pieces=pieces)
