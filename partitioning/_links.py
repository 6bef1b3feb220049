"""Links between buildings that no gap makes: which barriers a gap line crosses
(:func:`crossings`), and the bridges that join islands to the rest of their unit
(:func:`link_islands`, :func:`join_empty_groups`) — the parts of
:func:`partitioning.graph.build_contiguity_graph` that decide where a grid may reach across a road.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import Delaunay, QhullError

__all__ = ["CROSSING_LEVELS", "crossings", "link_islands", "join_empty_groups"]

logger = logging.getLogger("partitioning.graph")

#: Values of the ``crosses`` edge attribute, from harmless to worst.
CROSSING_LEVELS: tuple[str, ...] = ("none", "minor", "major")
_MAJOR_LINK = 1e9  # added to the length of an island link across a major barrier: the last resort


def crossings(lines: np.ndarray, barriers: gpd.GeoDataFrame | None) -> np.ndarray:
    """0/1/2 (none/minor/major) for each gap line: the worst barrier class it crosses."""
    level = np.zeros(len(lines), dtype=np.int8)
    if barriers is None or len(barriers) == 0 or len(lines) == 0:
        return level
    if "barrier_class" in barriers.columns:
        cls = np.where(barriers["barrier_class"].astype(str).str.lower().to_numpy() == "minor", 1, 2)
    else:
        logger.warning("barriers have no 'barrier_class' column: every barrier is treated as major")
        cls = np.full(len(barriers), 2)
    tree = shapely.STRtree(barriers.geometry.values)
    # "crosses": a barrier that only touches a footprint (a road drawn along a wall) does not separate
    # two buildings; a zero-length gap (shared wall) is never crossed.
    line_idx, bar_idx = tree.query(lines, predicate="crosses")
    np.maximum.at(level, line_idx, cls[bar_idx].astype(np.int8))
    return level


def _bridge_candidates(geoms: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of buildings (indices into ``geoms``) that are Delaunay neighbours through their vertices.

    The Delaunay triangulation of all footprint vertices contains the Euclidean minimum spanning tree of
    the vertices, hence (up to vertex-to-edge distances) the shortest link between any two groups.
    """
    coords, owner = shapely.get_coordinates(geoms[members], return_index=True)
    # One owner per distinct vertex: buildings sharing a vertex touch, so they are in one group already.
    coords, first = np.unique(np.round(coords - coords.mean(axis=0), 3), axis=0, return_index=True)
    owner = owner[first]
    if len(coords) < 3:
        a, b = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    else:
        try:
            simplices = Delaunay(coords).simplices
            a = np.concatenate([simplices[:, 0], simplices[:, 1], simplices[:, 2]])
            b = np.concatenate([simplices[:, 1], simplices[:, 2], simplices[:, 0]])
        except QhullError:  # all vertices on one line: consecutive ones are the nearest
            a, b = np.arange(len(coords) - 1), np.arange(1, len(coords))
    if len(coords) == 2:
        a, b = np.array([0]), np.array([1])
    oa, ob = owner[a], owner[b]
    keep = oa != ob
    pairs = np.unique(np.sort(np.column_stack([oa[keep], ob[keep]]), axis=1), axis=0)
    return members[pairs[:, 0]], members[pairs[:, 1]]


def join_empty_groups(graph, ids, geoms, boundary, free, barriers, touching=None) -> None:
    """Bridge each component made only of ``free`` buildings (groups without households) to a building
    of its boundary unit that is not free, so that it joins a grid rather than make an empty one.

    With ``touching`` (building id → the buildings whose cells share an edge with its cell), the
    bridge goes to a building whose cell borders the group's (the one across the lowest barrier, then
    the nearest): the grid that takes the group stays one polygon.  Without such a neighbour, or
    without ``touching``, to the nearest building."""
    position = {bid: k for k, bid in enumerate(ids)}
    shapes = np.asarray(geoms)
    held = np.flatnonzero(~free)
    trees: dict = {}  # boundary unit → (its buildings that are not free, their tree), made once
    for comp in list(nx.connected_components(graph)):
        members = np.array(sorted(position[v] for v in comp))
        if not free[members].all():
            continue
        key = None if boundary is None else boundary[members[0]]
        bordering = _bordering(members, ids, position, touching, free, boundary, key)
        if len(bordering):
            m = np.repeat(np.arange(len(members)), len(bordering))
            o = np.tile(np.arange(len(bordering)), len(members))
            lines = shapely.shortest_line(shapes[members[m]], shapes[bordering[o]])
            d, levels = shapely.length(lines), crossings(lines, barriers)
            best = np.lexsort((o, m, d, levels))[0]  # the lowest barrier, the nearest, then the first
            u, v, gap, level = members[m[best]], bordering[o[best]], float(d[best]), int(levels[best])
        else:
            if key not in trees:
                others = held if boundary is None else held[boundary[held] == key]
                trees[key] = (others, shapely.STRtree(shapes[others]) if len(others) else None)
            others, tree = trees[key]
            if tree is None:
                continue
            m, o = tree.query_nearest(shapes[members], all_matches=True)
            d = shapely.distance(shapes[members[m]], shapes[others[o]])
            best = np.lexsort((o, m, d))[0]  # the nearest pair; ties to the first member, then the first other
            u, v, gap = members[m[best]], others[o[best]], float(d[best])
            level = crossings(shapely.shortest_line(geoms[[u]], geoms[[v]]), barriers)[0]
        graph.add_edge(ids[u], ids[v], length=gap, crosses=CROSSING_LEVELS[level], bridge=True, overlap=False)
        graph.graph["islands"].append(sorted(ids[members].tolist()))
        logger.info("a group of %d building(s) without households bridged to building %s, %.0f m away%s",
                    len(members), ids[v], gap, "" if len(bordering) else " (no bordering cell: two polygons)")


def _bordering(members, ids, position, touching, free, boundary, key) -> np.ndarray:
    """Positions of the buildings holding households, in unit ``key``, whose cells border a cell of
    ``members`` (sorted; empty without ``touching``)."""
    if touching is None:
        return np.zeros(0, dtype=np.int64)
    near = {position[b] for k in members for b in touching.get(ids[k], ()) if b in position}
    return np.array(sorted(k for k in near if not free[k] and (boundary is None or boundary[k] == key)),
                    dtype=np.int64)


def link_islands(graph, ids, geoms, unit, components, barriers, households=None, bridge_households=None) -> None:
    """Join the components of each boundary unit by a minimum spanning tree of shortest links, a link
    across a major barrier only where no other joins the group; with ``bridge_households``, never a
    link across a major barrier between two groups that both hold at least that many households."""
    position = {bid: k for k, bid in enumerate(ids)}
    comp = np.empty(len(ids), dtype=np.int64)
    for c, nodes in enumerate(components):
        comp[[position[v] for v in nodes]] = c
    comp_h = np.bincount(comp, weights=households, minlength=len(components)) if households is not None else None
    units = np.zeros(len(ids), dtype=np.int64) if unit is None else pd.factorize(pd.Series(unit).fillna("\0"))[0]
    islands = []
    bridges = []  # (i, j, length)
    kept_apart = 0
    for u in np.unique(units):
        members = np.flatnonzero(units == u)
        comps_here = np.unique(comp[members])
        if len(comps_here) < 2:
            continue
        a, b = _bridge_candidates(geoms, members)
        across = comp[a] != comp[b]
        a, b = a[across], b[across]
        d = shapely.distance(geoms[a], geoms[b])
        major = crossings(shapely.shortest_line(geoms[a], geoms[b]), barriers) == 2
        frame = pd.DataFrame({"ca": np.minimum(comp[a], comp[b]), "cb": np.maximum(comp[a], comp[b]),
                              "a": a, "b": b, "d": d, "major": major})
        if bridge_households is not None and comp_h is not None:
            both = np.minimum(comp_h[frame["ca"]], comp_h[frame["cb"]]) >= bridge_households
            kept_apart += int(frame.loc[frame["major"] & both, ["ca", "cb"]].drop_duplicates().shape[0])
            frame = frame[~(frame["major"] & both)]
        best = frame.sort_values(["major", "d", "a", "b"], kind="stable").drop_duplicates(["ca", "cb"])
        meta = nx.Graph()
        meta.add_nodes_from(comps_here.tolist())
        for row in best.itertuples(index=False):
            # a link across a major barrier only where no other joins the group (then the shortest)
            meta.add_edge(int(row.ca), int(row.cb), weight=float(row.d) + (_MAJOR_LINK if row.major else 0.0),
                          d=float(row.d), a=int(row.a), b=int(row.b))
        tree = nx.Graph()
        tree.add_nodes_from(comps_here.tolist())
        for ca, cb, data in nx.minimum_spanning_edges(meta, algorithm="kruskal", data=True):
            bridges.append((data["a"], data["b"], data["d"]))
            tree.add_edge(ca, cb)
        for joined in nx.connected_components(tree):
            largest = max(joined, key=lambda c: (len(components[c]), -c))
            islands += [sorted(components[c]) for c in sorted(joined) if c != largest]
    if kept_apart:
        logger.info("%d pair(s) of groups holding enough households for grids of their own are kept apart "
                    "by a major barrier (not bridged)", kept_apart)
    if bridges:
        bi = np.array([t[0] for t in bridges])
        bj = np.array([t[1] for t in bridges])
        level = crossings(shapely.shortest_line(geoms[bi], geoms[bj]), barriers)
        for (a, b, d), c in zip(bridges, level.tolist()):
            graph.add_edge(ids[a], ids[b], length=float(d), crosses=CROSSING_LEVELS[c], bridge=True, overlap=False)
    islands.sort(key=lambda group: group[0])
    graph.graph["islands"] = islands
    logger.info(
        "joined %d island group(s) (%d buildings) through %d bridge edge(s) (%d across a barrier)",
        len(islands), sum(map(len, islands)), len(bridges), int(np.count_nonzero(level)) if bridges else 0,
    )
