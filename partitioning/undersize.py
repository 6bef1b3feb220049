"""Why a grid is undersize, and why a grid crosses a major barrier: in words a planner can act on
(:func:`undersize_reasons` and :func:`major_crossings`, reported by ``gridplan check`` and its JSON).

A grid is ``undersize`` when the buildings it could join are out of reach.  The reasons, checked in
this order:

``oversize``
    it touches only oversize grids (towers): they stay alone, so the group behind them cannot grow;
``group``
    its compound (the plan's ``group_field``) holds fewer households than the band;
``boundary``
    its boundary unit (community, compound polygon) holds fewer households than the band;
``barrier``
    the way to the nearest other building crosses a barrier (named, with its class): the group is
    enclosed by roads, rivers or railways;
``isolated``
    no other building lies within the plan's gap and no barrier is in the way (the data's edge, a
    lone hamlet).
"""

from __future__ import annotations

import logging

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.plan import Plan
from partitioning.settings import PlanSettings, bridge_households

__all__ = ["UNDERSIZE_REASONS", "needs_reason", "undersize_reasons", "major_crossings"]

logger = logging.getLogger(__name__)

#: The ``reason`` codes of :func:`undersize_reasons`, in the order they are tested.
UNDERSIZE_REASONS: tuple[str, ...] = ("oversize", "group", "boundary", "barrier", "isolated")


def _unit_short(graph: nx.Graph, vs: list, attr: str, totals: dict, lo: float):
    """The unit (``group`` or ``boundary_id``) all of ``vs`` share, and its households (``totals``
    by unit), when it holds fewer than ``lo``; else None."""
    values = {graph.nodes[v].get(attr) for v in vs}
    if len(values) != 1 or None in values:
        return None
    value = values.pop()
    total = int(totals.get(value, 0))
    return (value, total) if total < lo else None


def _barrier_params(barrier) -> dict:
    """``name``, ``kind`` (None where the layer has none) and ``barrier_class`` of a row of the barriers layer."""
    def value(key):
        v = barrier.get(key)
        return None if v is None or pd.isna(v) or not str(v).strip() else str(v).strip()
    return {"name": value("name"), "kind": value("kind"), "barrier_class": value("barrier_class") or "major"}


def _barrier_words(barrier) -> str:
    """``the major barrier NAME, KIND`` of a row of the barriers layer."""
    p = _barrier_params(barrier)
    name = f" {p['name']}" if p["name"] else ""
    kind = f", {p['kind']}" if p["kind"] else ""
    return f"the {p['barrier_class']} barrier{name}{kind}"


class _Nearest:
    """The nearest building outside a group, and the barrier the way to it crosses: the trees of the
    plan's buildings and barriers, built once."""

    def __init__(self, plan: Plan):
        self.ids = plan.buildings.index
        self.geoms = plan.buildings.geometry.values
        self.tree = shapely.STRtree(self.geoms)
        barriers = plan.layers.get("barriers")
        self.barriers = barriers if barriers is not None and len(barriers) else None
        self.barrier_tree = None if self.barriers is None else shapely.STRtree(self.barriers.geometry.values)

    def __call__(self, vs: list):
        """(distance in m, barrier row or None) from the buildings ``vs`` to the nearest other one
        (None, None when there is none)."""
        inside = self.ids.isin(vs)
        if inside.all():
            return None, None
        mine = shapely.union_all(self.geoms[inside])
        others = np.flatnonzero(~inside)
        for reach in (100.0, 1000.0):  # look near first: a city holds many buildings
            near = self.tree.query(mine, predicate="dwithin", distance=reach)
            near = near[~inside[near]]
            if len(near):
                others = near
                break
        d = shapely.distance(mine, self.geoms[others])
        k = others[int(np.argmin(d))]
        if self.barriers is None or self.barrier_tree is None:
            return float(d.min()), None
        line = shapely.shortest_line(mine, self.geoms[k])
        hits = self.barriers.iloc[self.barrier_tree.query(line, predicate="crosses")]
        if len(hits) == 0:
            return float(d.min()), None
        if "barrier_class" in hits.columns:
            hits = hits.assign(_major=hits["barrier_class"].astype(str) != "minor").sort_values("_major",
                                                                                                ascending=False)
        return float(d.min()), hits.iloc[0]


def needs_reason(grids: pd.DataFrame) -> pd.Series:
    """The grids :func:`undersize_reasons` explains, by grid: undersize, or holding no households."""
    return (grids["status"] == "undersize") | (grids["households"] == 0)


def undersize_reasons(plan: Plan, graph: nx.Graph, grid_ids=None) -> list[dict]:
    """The reason each undersize grid (and each grid without households) of ``plan`` cannot grow.

    Parameters
    ----------
    plan : geo.plan.Plan
    graph : networkx.Graph
        The plan's graph (:func:`partitioning.graph.plan_graph`).
    grid_ids : iterable of str, optional
        Explain only these grids (those an edit touched); default every grid that needs it.

    Returns
    -------
    list of dict
        One per such grid, in code order: ``grid_id``, ``grid_code``, ``households``, ``reason``
        (one of :data:`UNDERSIZE_REASONS`), ``detail`` (a sentence naming what is in the way:
        the oversize grids' codes, the compound, the barrier's name and class) and ``params`` (the
        same as values, for pages in other languages: ``codes``; ``compound``, ``field``,
        ``households``; ``unit``, ``households``; ``distance_m``, ``name``, ``kind``,
        ``barrier_class``; ``gap_m``, ``distance_m``).
    """
    settings = PlanSettings.from_meta(plan.meta)
    lo, _ = settings.band()
    grids, b = plan.grids, plan.buildings
    households = b["households"]
    picked = grids[needs_reason(grids)]
    if grid_ids is not None:
        picked = picked[picked.index.isin(list(grid_ids))]
    if picked.empty:  # the sums below walk every building: nothing to explain, nothing to walk
        return []
    members = b.index.to_series().groupby(b["grid_id"]).apply(list)
    codes = grids["grid_code"]
    unit_households = {attr: pd.Series(households.to_numpy(), index=b.index).groupby(
        pd.Series({v: graph.nodes[v].get(attr) for v in b.index if v in graph})).sum().to_dict()
        for attr in ("group", "boundary_id")}
    nearest = _Nearest(plan)
    out = []
    for gid, row in picked.sort_values("grid_code").iterrows():
        vs = [v for v in members.get(gid, []) if v in graph]
        around = {b.at[u, "grid_id"] for v in vs for u in graph[v]} - {gid}
        heavy = sorted(str(codes[g]) for g in around if grids.at[g, "status"] == "oversize")
        group = _unit_short(graph, vs, "group", unit_households["group"], lo)
        boundary = _unit_short(graph, vs, "boundary_id", unit_households["boundary_id"], lo)
        if heavy and len(heavy) == len(around):
            reason, detail = "oversize", f"cut off by oversize grid(s) {', '.join(heavy)}"
            params: dict = {"codes": heavy}
        elif group is not None:
            reason = "group"
            detail = f"its compound '{group[0]}' ({settings.group_field}) holds only {group[1]} households"
            params = {"compound": str(group[0]), "field": settings.group_field, "households": group[1]}
        elif boundary is not None:
            reason, detail = "boundary", f"its boundary unit {boundary[0]} holds only {boundary[1]} households"
            params = {"unit": str(boundary[0]), "households": boundary[1]}
        else:
            distance, barrier = nearest(vs)
            if barrier is not None:
                reason = "barrier"
                detail = (f"enclosed by barriers: the way to the nearest building ({distance:.0f} m) crosses "
                          + _barrier_words(barrier))
                params = {"distance_m": round(distance), **_barrier_params(barrier)}
            else:
                where = "" if distance is None else f" (the nearest other building is {distance:.0f} m away)"
                reason, detail = "isolated", f"no neighbour within the plan's gap of {settings.gap:g} m{where}"
                params = {"gap_m": settings.gap, "distance_m": None if distance is None else round(distance)}
        out.append({"grid_id": str(gid), "grid_code": str(row["grid_code"]), "households": int(row["households"]),
                    "reason": reason, "detail": detail, "params": params})
    return out


def major_crossings(plan: Plan, graph: nx.Graph) -> list[dict]:
    """Every grid holding a link across a major barrier, with the barrier's name and why: the link
    joins a block too small for a grid of its own (below the wide band,
    :func:`partitioning.settings.bridge_households`) to its neighbours.

    Returns
    -------
    list of dict
        One per link, in code order: ``grid_code``, ``barrier`` (its name, else its kind),
        ``length_m``, ``block_households`` (the smaller of the two groups the link joins) and
        ``detail``.
    """
    b = plan.buildings
    grid_of = b["grid_id"]
    limit = bridge_households(PlanSettings.from_meta(plan.meta).target)
    links = [(u, v, d) for u, v, d in graph.edges(data=True)
             if d.get("crosses") == "major" and grid_of.get(u) == grid_of.get(v)]
    if not links:
        return []
    ordinary = nx.Graph()
    ordinary.add_nodes_from(graph)
    ordinary.add_edges_from((u, v) for u, v, d in graph.edges(data=True) if not d.get("bridge"))
    barriers = plan.layers.get("barriers")
    tree = None if barriers is None or len(barriers) == 0 else shapely.STRtree(barriers.geometry.values)
    out = []
    for u, v, d in links:
        block = min(sum(graph.nodes[x]["households"] for x in nx.node_connected_component(ordinary, w)) for w in (u, v))
        words = "a major barrier"
        if tree is not None and barriers is not None:
            line = shapely.shortest_line(b.geometry[u], b.geometry[v])
            hits = barriers.iloc[tree.query(line, predicate="crosses")]
            if "barrier_class" in hits.columns:
                hits = hits[hits["barrier_class"].astype(str) != "minor"]
            if len(hits):
                words = _barrier_words(hits.iloc[0])
        code = str(plan.grids.at[grid_of[u], "grid_code"])
        out.append({"grid_code": code, "barrier": words.split("barrier", 1)[-1].strip(" ,") or words,
                    "length_m": round(float(d.get("length", 0.0)), 1), "block_households": int(block),
                    "detail": f"crosses {words} ({d.get('length', 0.0):.0f} m): the block across holds "
                              f"{int(block)} households"
                              + (f", fewer than {limit:g}: too few for a grid of its own" if block < limit else "")})
    return sorted(out, key=lambda r: r["grid_code"])
