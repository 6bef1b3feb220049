"""The contiguity graph of buildings: who may share a grid with whom.

Nodes are buildings (keyed by ``building_id``); an edge joins two buildings that touch or lie within
``gap`` metres of each other, unless the straight gap between them crosses a *major* barrier (trunk,
primary and secondary roads, rivers, canals) or they lie in different *boundary units* (communities or
compounds, a grid never crosses one) or in different *groups* (the values of an attribute of the
buildings, e.g. the compound a building is in when no polygon says so: ``group_field``).  Edges that
cross a *minor* barrier (other roads, streams) are kept but marked, so that the partition engine crosses
them only when it has to.

Islands (groups of buildings with no edge to the rest of their boundary unit) are joined to the rest of
the unit through the shortest possible edges (a minimum spanning tree over the groups, Borůvka/Kruskal);
such *bridges* may cross minor and major barriers — there is no other way to reach the island — but never
a boundary.  The joined groups are listed in ``graph.graph["islands"]``.

Buildings whose footprints overlap (positive intersection area, e.g. a podium drawn under a tower) get an
edge with ``overlap=True``: the partition engine keeps them in one grid, since any grid boundary between
them would cut a building.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.errors import CRSError, InputError, PlanFileError
from geo.plan import Plan
from partitioning._links import CROSSING_LEVELS, crossings, join_empty_groups, link_islands
from partitioning.settings import DEFAULT_GAP, PlanSettings, bridge_households
from partitioning.tessellation import cell_adjacency, keep_adjacent_cells

__all__ = ["CROSSING_LEVELS", "CROSSING_COST", "crossing_cost", "build_contiguity_graph", "grid_graph",
           "plan_graph", "subgraph", "group_values", "empty_groups"]

logger = logging.getLogger(__name__)

#: What an edge inside a grid costs the engine and the repairs of an update, by its ``crosses``
#: level: its position in :data:`CROSSING_LEVELS` (an unknown level costs as a major one).
CROSSING_COST: dict[str, float] = {name: float(level) for level, name in enumerate(CROSSING_LEVELS)}


def crossing_cost(crosses: str | None) -> float:
    """The cost of an edge by its ``crosses`` attribute (:data:`CROSSING_COST`).

    Examples
    --------
    >>> crossing_cost("none"), crossing_cost("minor"), crossing_cost("major"), crossing_cost(None)
    (0.0, 1.0, 2.0, 0.0)
    """
    return CROSSING_COST.get("none" if crosses is None else crosses, CROSSING_COST["major"])


def _check_buildings(buildings: gpd.GeoDataFrame) -> None:
    if buildings.crs is None:
        raise CRSError("buildings have no CRS: label them (set_crs) and project them to a metric CRS first")
    if not buildings.crs.is_projected:
        raise CRSError(
            f"buildings are in the geographic CRS {buildings.crs.to_string()}: gaps would be measured in "
            "degrees; project them to a metric CRS first (e.g. geo.load_buildings does)"
        )
    if "households" not in buildings.columns:
        raise InputError("buildings have no 'households' column: estimate households before building the graph")
    if not buildings.index.is_unique:
        dup = buildings.index[buildings.index.duplicated()].unique()[:5].tolist()
        raise InputError(f"building ids are not unique (e.g. {dup}); every building needs its own id")
    if buildings.geometry.isna().any() or buildings.geometry.is_empty.any():
        raise InputError("some buildings have no geometry; validate the buildings first (geo.load_buildings)")


def _same_crs(frame: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise CRSError(f"{what} have no CRS: label them and project them to {buildings.crs.to_string()}")
    if frame.crs != buildings.crs:
        logger.info("projecting %s from %s to %s", what, frame.crs.to_string(), buildings.crs.to_string())
        frame = frame.to_crs(buildings.crs)
    return frame


def _boundary_ids(buildings: gpd.GeoDataFrame, points: np.ndarray, boundaries: gpd.GeoDataFrame) -> np.ndarray:
    """The ``boundary_id`` of the unit holding each building's representative point (None outside)."""
    boundaries = _same_crs(boundaries, buildings, "boundaries")
    if "boundary_id" in boundaries.columns:
        ids = boundaries["boundary_id"].astype(str).to_numpy()
    else:
        ids = boundaries.index.astype(str).to_numpy()
    order = np.argsort(ids, kind="stable")  # a point in two overlapping units goes to the smaller id
    tree = shapely.STRtree(boundaries.geometry.values[order])
    pt_idx, poly_idx = tree.query(points, predicate="within")
    out = np.full(len(points), None, dtype=object)
    first = np.full(len(points), len(order))
    np.minimum.at(first, pt_idx, poly_idx)
    inside = first < len(order)
    out[inside] = ids[order][first[inside]]
    if (~inside).any():
        logger.warning(
            "%d buildings lie outside every boundary; they form a unit of their own", int((~inside).sum())
        )
    return out


def group_values(buildings: gpd.GeoDataFrame, group_field: str) -> np.ndarray:
    """The group of each building: its ``group_field`` value as text (None where it has none).

    Examples
    --------
    >>> b = pd.DataFrame({"compound": [" 北泰花园", None, "", 7]})
    >>> group_values(b, "compound").tolist()
    ['北泰花园', None, None, '7']
    """
    if group_field not in buildings.columns:
        fields = [str(c) for c in buildings.columns if c != getattr(buildings, "_geometry_column_name", None)]
        raise InputError(f"the buildings have no field '{group_field}' to group them by; their fields are: "
                         + (", ".join(fields) or "none"))
    values = buildings[group_field]
    out = np.full(len(values), None, dtype=object)
    known = values.notna().to_numpy() & (values.astype(str).str.strip() != "").to_numpy()
    out[known] = values[known].astype(str).str.strip().to_numpy()
    if (~known).any():
        logger.warning("%d buildings have no '%s' value; they form a group of their own",
                       int((~known).sum()), group_field)
    return out


def empty_groups(group: np.ndarray, households: np.ndarray) -> np.ndarray:
    """Whether each building is in a group holding no households (offices, schools, roofs): such a
    group bars nobody (:func:`build_contiguity_graph`)."""
    total = pd.Series(households).groupby(pd.Series(group).fillna("\0").to_numpy()).transform("sum")
    return total.to_numpy() == 0


def _units(boundary: np.ndarray | None, group: np.ndarray | None) -> np.ndarray | None:
    """The unit no edge leaves: the boundary unit and the group together."""
    if group is None:
        return boundary
    if boundary is None:
        return group
    return np.array([f"{b}\x1f{g}" for b, g in zip(boundary, group)], dtype=object)


def build_contiguity_graph(
    buildings: gpd.GeoDataFrame,
    *,
    gap: float = DEFAULT_GAP,
    barriers: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    join_islands: bool = True,
    group_field: str | None = None,
    bridge_households: float | None = None,
) -> nx.Graph:
    """Build the graph of buildings that may share a grid.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprints in a projected metric CRS, indexed by ``building_id`` (unique), with an integer
        ``households`` column.
    gap : float, default :data:`DEFAULT_GAP`
        Two buildings closer than this (metres, footprint to footprint) are neighbours.
    barriers : geopandas.GeoDataFrame, optional
        Barrier lines with ``barrier_class`` (``major`` or ``minor``).  Major barriers are never crossed by
        an ordinary edge; edges across minor ones get ``crosses="minor"``.
    boundaries : geopandas.GeoDataFrame, optional
        Polygons of communities or compounds with ``boundary_id``.  Each building belongs to the unit
        holding its representative point; no edge joins two units (buildings outside every unit form one
        unit of their own).
    join_islands : bool, default True
        Join each group of buildings without a neighbour to the rest of its unit through the shortest
        edges (``bridge=True``; these may cross barriers but never a boundary).
    group_field : str, optional
        A field of the buildings naming the group each belongs to (e.g. its compound, 小区): no edge
        joins two groups, as none joins two boundary units, except from a group holding no
        households (an office park, a school), whose buildings may join a neighbouring grid rather
        than make an empty one.  Buildings without a value form one group of their own.
    bridge_households : float, optional
        Two groups that both hold at least this many households are never joined by a link across a
        major barrier: each can make grids of its own (:func:`partitioning.settings.bridge_households`:
        the low end of the wide band, target × 0.6).  Without it, every island is joined.

    Returns
    -------
    networkx.Graph
        Nodes: building ids (str) with ``households`` (int), ``x``, ``y`` (metres, a representative point
        inside the footprint), ``boundary_id`` (when boundaries are given) and ``group`` (with
        ``group_field``).  Edges: ``length``
        (footprint-to-footprint gap in metres), ``crosses`` (``"none"``, ``"minor"`` or ``"major"``),
        ``bridge`` (bool) and ``overlap`` (bool: the footprints overlap and must stay together).
        ``graph.graph`` holds ``gap``, ``crs``, ``islands`` (list of the joined groups, each a sorted list
        of building ids), ``n_components_before`` (connected components before joining) and
        ``group_field``.

    Raises
    ------
    geo.errors.CRSError
        If the buildings have no CRS or a geographic one.
    geo.errors.InputError
        If ``households`` is missing, ids repeat, geometries are missing or ``group_field`` is not a
        field of the buildings.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"households": [30, 20, 10]},
    ...     geometry=[box(0, 0, 10, 10), box(15, 0, 25, 10), box(500, 0, 510, 10)],
    ...     index=pd.Index(["a", "b", "c"], name="building_id"), crs=32650)
    >>> g = build_contiguity_graph(b)
    >>> sorted(g.edges("a", data="length"))
    [('a', 'b', 5.0)]
    >>> g.edges["b", "c"]["bridge"], g.graph["islands"]
    (True, [['c']])
    """
    _check_buildings(buildings)
    if not gap >= 0:
        raise InputError(f"gap must be a distance in metres >= 0, got {gap!r}")
    ids = buildings.index.astype(str).to_numpy()
    geoms = buildings.geometry.values
    n = len(ids)
    points = shapely.point_on_surface(geoms)
    xy = shapely.get_coordinates(points)
    households = buildings["households"].to_numpy()
    if pd.isna(households).any() or (households < 0).any():
        raise InputError("households must be whole numbers >= 0 for every building")
    households = households.astype(np.int64)

    boundary = _boundary_ids(buildings, points, boundaries) if boundaries is not None else None
    group = group_values(buildings, group_field) if group_field is not None else None
    unit = _units(boundary, group)
    if barriers is not None:
        barriers = _same_crs(barriers, buildings, "barriers")

    # Candidate neighbours: every pair within the gap.
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=gap)
    keep = i < j
    i, j = i[keep], j[keep]
    free = None if group is None else empty_groups(group, households)
    if unit is not None:
        same = unit[i] == unit[j]
        if free is not None:  # a group without households bars nobody: its buildings join a neighbour
            same |= (free[i] | free[j]) & (True if boundary is None else boundary[i] == boundary[j])
        i, j = i[same], j[same]
    length = shapely.distance(geoms[i], geoms[j])
    level = crossings(shapely.shortest_line(geoms[i], geoms[j]), barriers)
    ordinary = level < 2
    i, j, length, level = i[ordinary], j[ordinary], length[ordinary], level[ordinary]
    overlap = np.zeros(len(i), dtype=bool)
    touching = np.flatnonzero(length == 0)
    if len(touching):
        overlap[touching] = shapely.area(shapely.intersection(geoms[i[touching]], geoms[j[touching]])) > 0

    graph = nx.Graph(gap=float(gap), crs=buildings.crs.to_string(), islands=[], n_components_before=0,
                     group_field=group_field)
    for k in range(n):
        attrs = {"households": int(households[k]), "x": float(xy[k, 0]), "y": float(xy[k, 1])}
        if boundary is not None:
            attrs["boundary_id"] = boundary[k]
        if group is not None:
            attrs["group"] = group[k]
        graph.add_node(ids[k], **attrs)
    for a, b, d, c, o in zip(i.tolist(), j.tolist(), length.tolist(), level.tolist(), overlap.tolist()):
        graph.add_edge(ids[a], ids[b], length=d, crosses=CROSSING_LEVELS[c], bridge=False, overlap=o)

    components = list(nx.connected_components(graph))
    graph.graph["n_components_before"] = len(components)
    logger.info(
        "contiguity graph: %d buildings, %d edges (%d across minor barriers, %d overlapping pairs), "
        "%d connected components",
        n, graph.number_of_edges(), int((level == 1).sum()), int(overlap.sum()), len(components),
    )
    if join_islands and len(components) > 1:
        link_islands(graph, ids, geoms, unit, components, barriers, households, bridge_households)
    if join_islands and free is not None and free.any():
        join_empty_groups(graph, ids, geoms, boundary, free, barriers)
    return graph


def grid_graph(buildings: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, *, gap: float = DEFAULT_GAP,
               barriers: gpd.GeoDataFrame | None = None,
               boundaries: gpd.GeoDataFrame | None = None, group_field: str | None = None,
               bridge_households: float | None = None) -> nx.Graph:
    """The graph grids are drawn on: buildings within ``gap`` metres that no barrier, boundary or
    group separates (:func:`build_contiguity_graph`), and whose cells touch
    (:func:`partitioning.tessellation.keep_adjacent_cells`).

    A partition of this graph into connected grids gives grid polygons in one piece each; a
    partition of the bare contiguity graph does not (a grid can hold two buildings whose cells a
    third building's cell separates).  A group of buildings without households that is left with no
    edge is bridged to a building holding households in its boundary unit (listed in
    ``graph.graph["islands"]``), one whose cell borders the group's where there is one, else the
    nearest, so that it joins a grid instead of making one of 0 households.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprints indexed by ``building_id`` with ``households``, metric CRS.
    cells : geopandas.GeoDataFrame
        The buildings' cells (:func:`partitioning.tessellation.tessellate`).
    gap : float, default :data:`partitioning.settings.DEFAULT_GAP`
    barriers, boundaries : geopandas.GeoDataFrame, optional
    group_field, bridge_households : optional
        As for :func:`build_contiguity_graph`.

    Returns
    -------
    networkx.Graph
    """
    graph = build_contiguity_graph(buildings, gap=gap, barriers=barriers, boundaries=boundaries,
                                   group_field=group_field, bridge_households=bridge_households)
    adjacency = cell_adjacency(cells)
    graph = keep_adjacent_cells(graph, cells, adjacency=adjacency, copy=False)
    _join_empty_components(graph, buildings, barriers, adjacency)
    return graph


def _join_empty_components(graph: nx.Graph, buildings: gpd.GeoDataFrame,
                           barriers: gpd.GeoDataFrame | None, adjacency: pd.DataFrame) -> None:
    """Bridge every connected component without households (a shed whose cell touches no other
    building's cell once the edges between cells that do not touch are dropped; a campus of schools
    enclosed by major roads) to a building holding households in its boundary unit, one whose cell
    borders the component's where there is one (``adjacency``:
    :func:`partitioning.tessellation.cell_adjacency`), else the nearest: it joins that grid instead
    of making a grid of 0 households (issue 14)."""
    ids = buildings.index.to_numpy()
    position = {bid: k for k, bid in enumerate(ids)}
    free = np.zeros(len(ids), dtype=bool)
    for comp in nx.connected_components(graph):
        if all(graph.nodes[v]["households"] == 0 for v in comp):
            free[[position[v] for v in comp]] = True
    if not free.any() or free.all():
        return
    boundary = None
    if any("boundary_id" in d for _, d in graph.nodes(data=True)):
        boundary = np.array([graph.nodes[v].get("boundary_id") for v in ids], dtype=object)
    if barriers is not None:
        barriers = _same_crs(barriers, buildings, "barriers")
    touching: dict = {}
    for a, b in zip(adjacency["a"].tolist(), adjacency["b"].tolist()):
        touching.setdefault(a, set()).add(b)
        touching.setdefault(b, set()).add(a)
    join_empty_groups(graph, ids, buildings.geometry.to_numpy(), boundary, free, barriers, touching)


def plan_graph(plan: Plan, *, buildings: gpd.GeoDataFrame | None = None,
               cells: gpd.GeoDataFrame | None = None) -> nx.Graph:
    """The graph a plan was made on, rebuilt from the plan: its buildings and ``cells``, its
    ``barriers`` and ``boundaries`` layers, its own gap and group field (:meth:`PlanSettings.from_meta`).

    Checking (:func:`partitioning.check.check_plan`), updating (:func:`partitioning.update.update_plan`)
    and editing (:mod:`partitioning.editing`) a plan all use this graph, so they follow the rules
    the plan was made with: a plan made with ``gap=0`` is edited and checked on a 0 m graph.

    Parameters
    ----------
    plan : geo.plan.Plan
    buildings, cells : geopandas.GeoDataFrame, optional
        Buildings and cells that replace the plan's (an update's changed buildings); the plan's
        settings, barriers and boundaries still apply.

    Returns
    -------
    networkx.Graph

    Raises
    ------
    geo.errors.PlanFileError
        When the plan has no ``cells`` layer (a plan file from another tool, or damaged).
    """
    if cells is None:
        if "cells" not in plan.layers:
            raise PlanFileError("the plan has no 'cells' layer, which its grids are drawn from; "
                                "partition the buildings again to make a complete plan")
        cells = plan.layers["cells"]
    boundaries = plan.layers.get("boundaries")
    if boundaries is not None:
        boundaries = boundaries.reset_index()
    settings = PlanSettings.from_meta(plan.meta)
    return grid_graph(plan.buildings if buildings is None else buildings, cells,
                      gap=settings.gap, barriers=plan.layers.get("barriers"),
                      boundaries=boundaries, group_field=settings.group_field,
                      bridge_households=bridge_households(settings.target))


def subgraph(graph: nx.Graph, nodes) -> nx.Graph:
    """The graph induced on ``nodes``, as a new graph that lists them in the order given.

    The engine reads its nodes in the graph's order.  A view from ``graph.subgraph(nodes)`` lists them
    in the order of a Python set when it holds fewer than half the nodes, and that order changes with
    every interpreter (string hashing is salted), so a partition of such a view changed from run to run.
    Edges follow the nodes' order and each node's adjacency in ``graph``.  Attributes are copied
    (shallow), as by :meth:`networkx.Graph.copy`.

    Examples
    --------
    >>> g = nx.path_graph(["d", "c", "b", "a"])
    >>> list(subgraph(g, ["a", "c", "b"]).edges)
    [('a', 'b'), ('c', 'b')]
    """
    order = list(nodes)
    keep = set(order)
    if len(keep) != len(order):
        raise ValueError(f"{len(order) - len(keep)} node(s) are given twice")
    sub = graph.__class__()
    sub.graph.update(graph.graph)
    sub.add_nodes_from((v, graph.nodes[v]) for v in order)
    adj = graph.adj
    sub.add_edges_from((v, u, d) for v in order for u, d in adj[v].items() if u in keep)
    return sub
