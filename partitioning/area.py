"""Planning one area: study area → cells → contiguity graph → balanced partition → grid polygons →
grid codes → metrics (:func:`plan_area`), the step a whole plan (:func:`partitioning.pipeline.make_plan`)
and every community of the parallel path (:func:`partitioning.parallel.plan_community`) run; and the
pieces of a plan made from it: the grids layer (:func:`grids_frame`), the emergency grids, the
input layers and the metadata.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from geo.errors import InfeasibleError
from geo.load import Inputs
from partitioning import engine
from partitioning.codes import code_prefix, grid_codes
from partitioning.graph import grid_graph
from partitioning.hierarchy import (
    assign_units,
    emergency_layout,
    level_layer,
    nested_codes,
    partition_levels,
    unit_column,
)
from partitioning.metrics import grid_figures, summarise_figures
from partitioning.nested import nested_emergency, nested_levels
from partitioning.settings import PlanSettings, balance_target, bridge_households, settings_error
from partitioning.tessellation import coverage_report, grid_polygons, study_area, tessellate

__all__ = ["AreaPlan", "plan_area", "grids_frame", "emergency_grids", "input_layers", "plan_meta"]

logger = logging.getLogger(__name__)


def grids_frame(buildings: gpd.GeoDataFrame, assignment: pd.Series, polygons: gpd.GeoDataFrame,
                status: pd.Series, codes: pd.Series) -> gpd.GeoDataFrame:
    """The grids layer: code, households, buildings (and persons), status and polygon by ``grid_id``,
    in code order.  ``assignment`` gives each building's grid; the other series are by grid."""
    grouped = buildings.groupby(assignment)
    frame = pd.DataFrame({"grid_code": codes,
                          "households": grouped["households"].sum(),
                          "n_buildings": grouped.size(),
                          "status": status})
    if "persons" in buildings.columns:
        frame["persons"] = grouped["persons"].sum()
    frame.index.name = "grid_id"
    grids = gpd.GeoDataFrame(frame, geometry=polygons.geometry.reindex(frame.index), crs=buildings.crs)
    return grids.sort_values("grid_code")


@dataclass
class AreaPlan:
    """One area planned: what :func:`plan_area` returns.

    Attributes
    ----------
    boundaries : GeoDataFrame or None
        The boundaries the graph respects: the given ones intersected with every given level.
    area : shapely.Polygon or shapely.MultiPolygon
        The study area the grids cover.
    cells : GeoDataFrame
        The cell of every building (index ``building_id``, ``enclosure_id``).
    graph : networkx.Graph
        The contiguity graph the area was partitioned on.
    assignment : pandas.Series
        ``grid_id`` of every building, in the buildings' order.
    grids : GeoDataFrame
        One row per grid, indexed by ``grid_id`` in code order: ``grid_code``, ``households``,
        ``n_buildings``, ``status`` (and ``persons`` when the buildings have it), the grid polygon.
    units : pandas.DataFrame or None
        With levels: the unit of every building at every upper level (``unit_<level>`` columns).
    levels : GeoDataFrame or None
        With levels: the ``levels`` layer (:func:`partitioning.hierarchy.level_layer`).
    metrics, coverage : dict
        :func:`partitioning.metrics.partition_metrics` and
        :func:`partitioning.tessellation.coverage_report` of the grids.
    timings : dict
        Seconds of ``tessellation_s`` (study area and cells), ``graph_s``, ``partition_s`` (partition,
        grid polygons, codes) and of it ``engine_s`` (the partition alone: the engine, levels, emergency
        layout), ``total_s`` (wall) and ``cpu_s`` (this process's CPU), not rounded.
    code_prefix : str
        The administrative prefix of the codes (:func:`partitioning.codes.code_prefix`).
    figures, totals : pandas.DataFrame, dict
        The grids' figures and the totals the metrics summarise (:func:`partitioning.metrics.grid_figures`).
    emergency : tuple or None
        With ``settings.emergency_target``: the emergency grid of every building and the emergency
        grids' frame (``parent_id``, ``households``, ``n_buildings``, ``status``), made with the normal
        grids (:func:`partitioning.nested.nested_emergency`).
    """

    boundaries: gpd.GeoDataFrame | None
    area: shapely.Geometry
    cells: gpd.GeoDataFrame
    graph: nx.Graph
    assignment: pd.Series
    grids: gpd.GeoDataFrame
    units: pd.DataFrame | None
    levels: gpd.GeoDataFrame | None
    metrics: dict
    coverage: dict
    timings: dict
    code_prefix: str | None = None
    figures: pd.DataFrame | None = None
    totals: dict | None = None
    emergency: tuple[pd.Series, pd.DataFrame] | None = None


def plan_area(buildings: gpd.GeoDataFrame, *, settings: PlanSettings, boundaries: gpd.GeoDataFrame | None = None,
              barriers: gpd.GeoDataFrame | None = None, seed: int | None = None, prefix: str | None = None,
              progress: bool = False) -> AreaPlan:
    """Plan one area: study area → cells → contiguity graph → partition → grid polygons → codes
    → metrics and coverage. The steps :func:`partitioning.pipeline.make_plan` and
    :func:`partitioning.parallel.plan_community` share.

    Parameters
    ----------
    buildings : GeoDataFrame
        Footprints indexed by ``building_id`` with ``households``, metric CRS.
    settings : PlanSettings
        ``target``, ``tolerance``, ``n_grids``, ``gap``, ``group_field`` and ``levels`` (given levels are
        boundaries: no graph edge crosses them and the cells follow their outlines).
    boundaries, barriers : GeoDataFrame, optional
        Boundary polygons and barrier lines in the buildings' CRS.
    seed : int, optional
        The engine's seed (default ``settings.seed``).
    prefix : str, optional
        Administrative prefix of the grid codes (default ``settings.code_prefix``, else the
        boundaries' community division code, else none: :func:`partitioning.codes.code_prefix`).
    progress : bool, default False
        Progress bars of the cells and the engine.

    Returns
    -------
    AreaPlan

    Raises
    ------
    geo.errors.InfeasibleError
        For ``n_grids`` in a plan with levels, or a partition the engine cannot make.
    """
    t0, cpu0 = time.perf_counter(), time.process_time()
    seed = settings.seed if seed is None else seed
    levels = list(settings.levels)
    given = [lv for lv in levels if lv.given]
    prefix = code_prefix([boundaries, *(lv.boundaries for lv in given)],
                         prefix=settings.code_prefix if prefix is None else prefix)
    if levels and settings.n_grids is not None:
        raise settings_error(InfeasibleError, "a plan with levels takes the grids' size from the target of its last "
                             "level, not from a number of grids (n_grids)", "n_grids", "levels")
    # Given units are boundaries: no graph edge crosses them and cells follow their outlines.
    boundaries = _unit_boundaries(boundaries, given)
    cell_barriers = _with_outlines(barriers, given, buildings.crs)
    # Cells first: the partition only joins buildings whose cells touch, so every grid of
    # connected buildings is one polygon (see partitioning.tessellation.keep_adjacent_cells).
    area = study_area(buildings, boundary=boundaries)
    cells = tessellate(buildings, area=area, barriers=cell_barriers, progress=progress)
    t_tess = time.perf_counter()
    graph = grid_graph(buildings, cells, gap=settings.gap, barriers=barriers, boundaries=boundaries,
                       group_field=settings.group_field,
                       bridge_households=bridge_households(balance_target(settings, int(buildings["households"].sum()))))
    t_graph = time.perf_counter()
    units = layer = None
    if levels:
        units, assignment, info = partition_levels(
            graph, levels, {lv.name: assign_units(buildings, lv.boundaries) for lv in given},
            target=settings.target, tolerance=settings.tolerance, seed=seed, progress=progress)
        if levels[-1].target is not None:  # the grids redrawn with the generated level above them
            name, col = levels[-1].name, unit_column(levels[-1].name)
            above = units[unit_column(levels[-2].name)] if len(levels) > 1 else None
            units[col], status, assignment, info["grids"] = nested_levels(
                graph, units[col], assignment, info[name]["status"], info["grids"], parent_target=levels[-1].target,
                target=settings.target, tolerance=settings.tolerance, seed=seed, within=above, progress=progress)
            info[name] = info[name].assign(status=status.reindex(info[name].index))
        units = units.reindex(buildings.index)
        status = info["grids"]["status"]
        layer = level_layer(cells, buildings, units, levels, info, prefix=prefix)
    else:
        result = engine.partition(graph, target=settings.target, tolerance=settings.tolerance,
                           n_grids=settings.n_grids, seed=seed, progress=progress)
        assignment, status = result.assignment, result.grids["status"]
    emergency = None
    if settings.emergency_target is not None:
        # both layouts redrawn together where the emergency grids are out of balance (docs/hierarchy.md)
        within = units[unit_column(levels[-1].name)] if levels and units is not None else None
        assignment, status, *em = nested_emergency(graph, assignment, status, target=settings.target,
                                                   emergency_target=settings.emergency_target,
                                                   tolerance=settings.tolerance, seed=seed, within=within,
                                                   progress=progress)
        emergency = (em[0].reindex(buildings.index), em[1])
    t_engine = time.perf_counter()
    assignment = assignment.reindex(buildings.index)
    polygons = grid_polygons(cells, assignment)
    if levels:
        assert layer is not None  # made above for a plan with levels
        unit_codes = layer.set_index("unit_id")["unit_code"]
        codes = nested_codes(polygons, prefix=prefix, minimum_width=3,
                             parent_code=info["grids"]["parent_id"].map(unit_codes))
    else:
        codes = grid_codes(polygons, prefix=prefix)
    grids = grids_frame(buildings, assignment, polygons, status, codes)
    t_part = time.perf_counter()
    target = balance_target(settings, int(buildings["households"].sum()))
    figures, totals = grid_figures(graph, assignment, target=target, tolerance=settings.tolerance)
    metrics = summarise_figures(figures, totals, target=target, tolerance=settings.tolerance,
                                runtime_s=round(t_part - t_tess, 3))
    coverage = coverage_report(grids, buildings, assignment, area=area)
    timings = {"tessellation_s": t_tess - t0, "graph_s": t_graph - t_tess, "partition_s": t_part - t_graph,
               "engine_s": t_engine - t_graph,
               "total_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0}
    return AreaPlan(boundaries=boundaries, area=area, cells=cells, graph=graph, assignment=assignment, grids=grids,
                    units=units, levels=layer, metrics=metrics, coverage=coverage, timings=timings,
                    code_prefix=prefix, figures=figures, totals=totals, emergency=emergency)


def input_layers(inputs: Inputs, *, barriers, boundaries) -> dict:
    """The plan's layers of its inputs: household points, barrier lines, boundaries by ``boundary_id``."""
    layers = {}
    if inputs.household_points is not None:
        layers["households"] = inputs.household_points
    if barriers is not None:
        layers["barriers"] = barriers
    if boundaries is not None:
        layers["boundaries"] = boundaries.set_index("boundary_id")
    return layers


def plan_meta(inputs: Inputs, settings: PlanSettings, *, metrics: dict, coverage: dict,
              extra_files: list | None, timings: dict | None = None) -> dict:
    """The plan's metadata: settings, inputs and figures (see ``docs/plan-format.md``)."""
    return {
        "target": metrics["target"], "tolerance": settings.tolerance, "n_grids_requested": settings.n_grids,
        "seed": settings.seed, "gap_m": settings.gap, "code_prefix": settings.code_prefix,
        "group_field": settings.group_field,
        "crs": inputs.crs.to_string(), "source_crs": inputs.source_crs,
        "households_method": inputs.households_method,
        "inputs": inputs.files + list(extra_files or []),
        "notes": inputs.report.notes, "input_figures": inputs.report.figures,
        "metrics": metrics, "coverage": coverage, "timings": timings,
        "levels": [lv.describe() for lv in settings.levels], "grid_level": settings.level_name,
        "emergency": None if settings.emergency_target is None else {"target": settings.emergency_target},
        "created": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    }


def _unit_boundaries(boundaries, given):
    """Boundaries the graph respects: the given ``boundaries`` intersected with every given level."""
    frames = ([boundaries[["boundary_id", "name", "geometry"]]] if boundaries is not None else [])
    frames += [lv.boundaries[["boundary_id", "name", "geometry"]] for lv in given]
    if not frames:
        return None
    out = frames[0].copy()
    for other in frames[1:]:
        other = other.to_crs(out.crs)
        out = gpd.overlay(out, other, how="intersection", keep_geom_type=True)
        out["boundary_id"] = out["boundary_id_1"].astype(str) + "/" + out["boundary_id_2"].astype(str)
        out["name"] = out["name_2"]
        out = out[["boundary_id", "name", "geometry"]]
    return out.reset_index(drop=True)


def _with_outlines(barriers, given, crs):
    """Barrier lines plus the outlines of given units, which the cells must follow."""
    if not given:
        return barriers
    parts = [] if barriers is None else [barriers[["geometry"]]]
    parts += [lv.boundaries[["geometry"]].to_crs(crs) for lv in given]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=crs)


def emergency_grids(graph, cells, buildings, grids, *, target, tolerance, seed, prefix=None, progress=False,
                    layout=None):
    """The ``grids_emergency`` layer: each normal grid split on its own into grids of about ``target``
    (or the emergency grid of every building and their frame given as ``layout``, from :func:`plan_area`).

    Columns as the ``grids`` layer (``grid_code`` extends the normal grid's code) plus
    ``parent_grid_id``; indexed by ``grid_id`` (``E0001`` …); and the emergency grid of every
    building.
    """
    assignment, info = layout or emergency_layout(graph, buildings["grid_id"], target=target, tolerance=tolerance,
                                                  seed=seed, progress=progress)
    assignment = assignment.reindex(buildings.index)
    polygons = grid_polygons(cells, assignment)
    codes = nested_codes(polygons, prefix=prefix, parent_code=info["parent_id"].map(grids["grid_code"]))
    frame = grids_frame(buildings, assignment, polygons, info["status"], codes)
    frame["parent_grid_id"] = info["parent_id"].reindex(frame.index)
    return frame, assignment


