"""Quality figures of a partition and the check that it is valid.

Both functions take the contiguity graph (:func:`partitioning.graph.build_contiguity_graph`) and an
assignment (``grid_id`` per ``building_id``); they work for any partition, the engine's or a peer's.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist

__all__ = ["partition_metrics", "grid_figures", "summarise_figures", "figure_status", "FIGURE_COLUMNS", "validate_partition"]

logger = logging.getLogger(__name__)


def _grid_members(graph: nx.Graph, assignment: pd.Series) -> dict[str, list]:
    known = assignment[assignment.index.isin(list(graph.nodes)) & assignment.notna()]
    known = known[~known.index.duplicated(keep=False)]
    members: dict[str, list] = {}
    # through object arrays: iterating a pandas string array goes element by element (10× slower)
    for bid, gid in zip(known.index.to_numpy(dtype=object).tolist(), known.to_numpy(dtype=object).tolist()):
        members.setdefault(str(gid), []).append(bid)
    return dict(sorted(members.items()))


def _overlap_groups(graph: nx.Graph) -> nx.Graph:
    linked = nx.Graph()
    linked.add_edges_from((u, v) for u, v, o in graph.edges(data="overlap") if o)
    return linked


def validate_partition(graph: nx.Graph, assignment: pd.Series, *, allow_cross_boundary: bool = False) -> list[str]:
    """Everything that makes a partition invalid, one human-readable line per violation.

    Parameters
    ----------
    graph : networkx.Graph
        The contiguity graph the partition was made on.
    assignment : pandas.Series
        ``grid_id`` indexed by ``building_id``.
    allow_cross_boundary : bool, default False
        Accept grids made of several pieces when all but one are whole connected components of the
        graph (isolated groups joined on purpose, see :func:`partitioning.engine.partition`).

    Returns
    -------
    list of str
        Empty when every building is in exactly one grid, every grid is connected in the graph and no
        two overlapping footprints are in different grids.

    Examples
    --------
    >>> import networkx as nx, pandas as pd
    >>> g = nx.path_graph(["a", "b", "c"])
    >>> validate_partition(g, pd.Series({"a": "G1", "b": "G2", "c": "G1"}))
    ['grid G1 is not connected: 2 pieces (a | c)']
    """
    problems = []
    index = assignment.index
    unknown = sorted(set(map(str, index[~index.isin(list(graph.nodes))])))
    if unknown:
        problems.append(f"{len(unknown)} building(s) not in the graph: {', '.join(unknown[:10])}")
    twice = sorted(set(map(str, index[index.duplicated()])))
    if twice:
        problems.append(f"{len(twice)} building(s) assigned more than once: {', '.join(twice[:10])}")
    assigned = set(index[assignment.notna()])
    missing = [v for v in graph.nodes if v not in assigned]
    if missing:
        problems.append(f"{len(missing)} building(s) in no grid: {', '.join(map(str, missing[:10]))}")
    whole = {frozenset(c) for c in nx.connected_components(graph)} if allow_cross_boundary else set()
    for gid, nodes in _grid_members(graph, assignment).items():
        pieces = [sorted(map(str, c)) for c in nx.connected_components(graph.subgraph(nodes))]
        if len(pieces) > 1:
            partial = [p for p in pieces if frozenset(p) not in whole]
            if allow_cross_boundary and len(partial) <= 1:
                continue
            shown = " | ".join(", ".join(p[:3]) + (" …" if len(p) > 3 else "") for p in sorted(pieces)[:4])
            problems.append(f"grid {gid} is not connected: {len(pieces)} pieces ({shown})")
    grid_of = assignment[~index.duplicated(keep=False)]
    for u, v in _overlap_groups(graph).edges:
        if u in grid_of.index and v in grid_of.index and grid_of[u] != grid_of[v]:
            problems.append(f"overlapping buildings {u} and {v} are in different grids "
                            f"({grid_of[u]}, {grid_of[v]}): the grid boundary would cut a building")
    return problems


def spread(graph: nx.Graph, vs) -> tuple[float, float, np.ndarray]:
    """A group of buildings' household-weighted sum of distances to its household-weighted centre
    (the compactness measure: ``mean_distance_m`` is its total over the households), its
    households, and the buildings' coordinates."""
    nodes = graph.nodes
    xy = np.array([(nodes[v]["x"], nodes[v]["y"]) for v in vs], dtype=float)
    h = np.array([nodes[v]["households"] for v in vs], dtype=float)
    centre = (h @ xy) / h.sum() if h.sum() > 0 else xy.mean(axis=0)
    return float(h @ np.hypot(*(xy - centre).T)), float(h.sum()), xy


def _grid_figures(graph: nx.Graph, vs: list) -> tuple:
    """One grid's household-weighted distance sum, households, diameter, barrier levels crossed
    and whether it is connected."""
    distance, households, xy = spread(graph, vs)
    sub = graph.subgraph(vs)
    return (distance, households, float(pdist(xy).max()) if len(vs) > 1 else 0.0,
            frozenset(c for _, _, c in sub.edges(data="crosses", default="none")), nx.is_connected(sub))


def _graph_figures(graph: nx.Graph) -> tuple[nx.Graph, dict, dict]:
    """The overlap graph, each overlapping building's group (named by its first id) and each
    building's households."""
    overlap = _overlap_groups(graph)
    unit_of = {}
    for comp in nx.connected_components(overlap):
        first = min(comp, key=str)
        unit_of.update(dict.fromkeys(comp, first))
    return overlap, unit_of, {v: int(h) for v, h in graph.nodes(data="households")}


#: Columns of :func:`grid_figures`' per-grid table, what :func:`summarise_figures` needs.
FIGURE_COLUMNS = ("households", "oversize", "undersize", "distance", "weight", "diameter", "crossing", "major",
                  "connected")


def grid_figures(graph: nx.Graph, assignment: pd.Series, *, target: float, tolerance: float,
                 cache: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """The figures of every grid of a partition, and of its buildings: what
    :func:`partition_metrics` summarises (:func:`summarise_figures`).

    Figures of separate areas (the communities of :mod:`partitioning.parallel`, planned apart)
    are summarised together by concatenating their tables and adding their totals.

    Parameters
    ----------
    graph, assignment, target, tolerance, cache
        As for :func:`partition_metrics`.

    Returns
    -------
    grids : pandas.DataFrame
        By ``grid_id`` (sorted): :data:`FIGURE_COLUMNS`: ``households``; ``oversize`` (one
        building or overlapping group above the band); ``undersize`` (below the band and a whole
        connected group once oversize buildings are set aside); ``distance`` (household-weighted sum
        of distances to the grid's centre) and ``weight`` (its households, as floats); ``diameter``
        (m); ``crossing`` and ``major`` (an edge inside the grid crosses a barrier, a major one);
        ``connected``.
    totals : dict
        ``n_buildings``, ``households_total``, ``split_buildings``, ``unassigned_buildings``.
    """
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    members = _grid_members(graph, assignment)
    cache = {} if cache is None else cache
    if "graph" not in cache:  # what depends on the graph alone
        cache["graph"] = _graph_figures(graph)
    overlap, unit_of, households = cache["graph"]
    hh = {g: sum(households[v] for v in vs) for g, vs in members.items()}

    def units(vs):
        return {unit_of.get(v, v) for v in vs}
    # one unit holding households: sheds and shops (no households) joined to a tower keep it oversize
    oversize = {g for g, vs in members.items() if hh[g] > hi and len(units(v for v in vs if households[v])) == 1}
    heavy = {v for g in oversize for v in members[g]}
    key: object = ("isolated", frozenset(heavy))
    if key not in cache:
        rest = graph.subgraph([v for v in graph.nodes if v not in heavy])
        cache[key] = {frozenset(c) for c in nx.connected_components(rest)}
    isolated = cache[key]
    rows = []
    for g, vs in members.items():
        key = frozenset(vs)
        if key not in cache:
            cache[key] = _grid_figures(graph, vs)
        distance, h_sum, size, levels, connected = cache[key]
        rows.append((hh[g], g in oversize, g not in oversize and hh[g] < lo and key in isolated, distance, h_sum,
                     size, bool(levels - {"none"}), "major" in levels, connected))
    grids = pd.DataFrame(rows, columns=list(FIGURE_COLUMNS), index=pd.Index(list(members), name="grid_id"))
    index = assignment.index
    split = int(index[index.duplicated()].nunique())
    grid_of = {v: g for g, vs in members.items() for v in vs}
    split += sum(1 for u, v in overlap.edges if u in grid_of and v in grid_of and grid_of[u] != grid_of[v])
    assigned = set(index[assignment.notna().to_numpy()].to_numpy(dtype=object).tolist())
    totals = {"n_buildings": graph.number_of_nodes(), "households_total": sum(households.values()),
              "split_buildings": split, "unassigned_buildings": sum(1 for v in graph.nodes if v not in assigned)}
    return grids, totals


def figure_status(grids: pd.DataFrame, *, target: float, tolerance: float) -> pd.Series:
    """Each grid's ``status`` (:data:`partitioning.engine.GRID_STATUSES`) from its figures
    (:func:`grid_figures`): ``oversize``, ``undersize``, else ``ok`` within the band and
    ``out_of_tolerance`` outside it."""
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    hh = grids["households"]
    status = np.where((hh >= lo) & (hh <= hi), "ok", "out_of_tolerance")
    status = np.where(grids["undersize"].to_numpy(dtype=bool), "undersize", status)
    status = np.where(grids["oversize"].to_numpy(dtype=bool), "oversize", status)
    return pd.Series(status, index=grids.index, name="status")


def summarise_figures(grids: pd.DataFrame, totals: dict, *, target: float, tolerance: float,
                      runtime_s: float | None = None) -> dict:
    """The partition metrics (:func:`partition_metrics`) from the grids' figures and the totals of
    :func:`grid_figures` (of one area, or concatenated and added over several)."""
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    hh = grids["households"].to_numpy(dtype=np.int64)
    normal = ~grids["oversize"].to_numpy(dtype=bool)
    undersize = grids["undersize"].to_numpy(dtype=bool)
    within = normal & (hh >= lo) & (hh <= hi)
    reachable = normal & ~undersize
    deviations = [abs(h - target) / target for h in hh[normal].tolist()]
    weight = sum(grids["weight"].tolist(), 0.0)  # in grid order, as the grids were added up
    counts = sorted(hh.tolist())
    result: dict[str, Any] = {
        "n_grids": len(grids),
        "n_buildings": int(totals["n_buildings"]),
        "households_total": int(totals["households_total"]),
        "target": target,
        "tolerance": tolerance,
        "households_min": int(counts[0]) if counts else 0,
        "households_median": float(np.median(counts)) if counts else 0.0,
        "households_max": int(counts[-1]) if counts else 0,
        "share_within_tolerance": int(within.sum()) / int(normal.sum()) if normal.any() else 1.0,
        "share_within_tolerance_reachable": (int((within & ~undersize).sum()) / int(reachable.sum())
                                             if reachable.any() else 1.0),
        "share_within_tolerance_all": int(within.sum()) / len(hh) if len(hh) else 1.0,
        "share_households_within": int(hh[within].sum()) / int(hh.sum()) if hh.sum() else 1.0,
        "oversize_households": int(hh[~normal].sum()),
        "worst_deviation": max(deviations) if deviations else 0.0,
        "oversize_grids": int((~normal).sum()),
        "undersize_grids": int(undersize.sum()),
        "mean_distance_m": sum(grids["distance"].tolist(), 0.0) / weight if weight else 0.0,
        "max_diameter_m": max(grids["diameter"].tolist(), default=0.0),
        "barrier_crossing_grids": int(grids["crossing"].sum()),
        "major_crossing_grids": int(grids["major"].sum()),
        "disconnected_grids": int((~grids["connected"].to_numpy(dtype=bool)).sum()),
        "split_buildings": int(totals["split_buildings"]),
        "unassigned_buildings": int(totals["unassigned_buildings"]),
        "runtime_s": None if runtime_s is None else float(runtime_s),
    }
    for key in ("households_median", "share_within_tolerance", "share_within_tolerance_reachable",
                "share_within_tolerance_all", "share_households_within", "worst_deviation", "mean_distance_m", "max_diameter_m"):
        result[key] = round(float(result[key]), 4) if math.isfinite(result[key]) else None
    return result


def partition_metrics(graph: nx.Graph, assignment: pd.Series, *, target: int, tolerance: float,
                      runtime_s: float | None = None, cache: dict | None = None) -> dict:
    """Balance, compactness, barrier and validity figures of a partition.

    Parameters
    ----------
    graph : networkx.Graph
        The contiguity graph (nodes with ``households``, ``x``, ``y``; edges with ``crosses``).
    assignment : pandas.Series
        ``grid_id`` indexed by ``building_id``.
    target : int
        Households per grid aimed at.
    tolerance : float
        Relative band around ``target``.
    runtime_s : float, optional
        Seconds the partition took, copied into the result.
    cache : dict, optional
        Figures of the graph (overlap groups, households) and of each grid by its set of buildings,
        kept between calls on the same, unchanged graph: the editor recomputes only the grids an
        edit changed.

    Returns
    -------
    dict
        JSON-serialisable: ``n_grids``, ``n_buildings``, ``households_total``, ``households_min``,
        ``households_median``, ``households_max`` (per grid), ``share_within_tolerance`` (of the grids that
        are not oversize), ``share_within_tolerance_reachable`` (also leaving out undersize grids),
        ``share_within_tolerance_all`` (of all grids, oversize ones counting as outside),
        ``share_households_within`` (households living in a grid within tolerance, over all households),
        ``oversize_households`` (households of the oversize grids),
        ``worst_deviation`` (largest ``|h − target| / target`` of a grid that is not oversize),
        ``oversize_grids`` (one building above the band), ``undersize_grids`` (below the band and a whole
        connected group once oversize buildings are set aside: it cannot grow), ``mean_distance_m``
        (household-weighted mean distance from a building to its grid's centre), ``max_diameter_m``,
        ``barrier_crossing_grids`` (a grid holding an edge that crosses a barrier),
        ``major_crossing_grids``, ``disconnected_grids``, ``split_buildings`` (buildings in more than one
        grid or overlapping footprints in different grids), ``unassigned_buildings``, ``runtime_s``.
    """
    grids, totals = grid_figures(graph, assignment, target=target, tolerance=tolerance, cache=cache)
    return summarise_figures(grids, totals, target=target, tolerance=tolerance, runtime_s=runtime_s)
