"""The pipeline: from loaded inputs to a plan, and checking a plan: the steps ``gridplan partition`` and
``gridplan check`` run, kept here so the command line and the web app stay thin.

``plan_area``: study area → cells → contiguity graph → balanced partition → grid polygons → grid
codes → metrics, the steps ``make_plan`` (one area → :class:`geo.plan.Plan`) and the per-community
parallel path (:func:`partitioning.parallel.plan_community`) share. ``check_plan`` rebuilds the
graph from the plan's own layers and parameters and verifies every guarantee.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from geo.errors import InfeasibleError, PlanFileError, ids_text, plain
from geo.load import Inputs
from geo.plan import Plan
from partitioning.codes import code_prefix, grid_codes
from partitioning.engine import partition
from partitioning.graph import DEFAULT_GAP, build_contiguity_graph
from partitioning.hierarchy import (EMERGENCY_COLUMN, assign_units, check_hierarchy, emergency_layout,
                                    level_layer, nested_codes, partition_levels)
from partitioning.metrics import partition_metrics, validate_partition
from partitioning.tessellation import coverage_report, grid_polygons, keep_adjacent_cells, study_area, tessellate

__all__ = ["PlanSettings", "AreaPlan", "plan_area", "balance_target", "make_plan", "plan_graph", "emergency_grids",
           "grids_frame", "input_layers", "plan_meta", "CheckResult", "check_plan", "summary_lines"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanSettings:
    """What the user asked for; stored in the plan's metadata.

    Attributes
    ----------
    target : int
        Households per grid ("1包50": 50).
    tolerance : float
        A grid is balanced within target × (1 ± tolerance).
    n_grids : int, optional
        Ask for this many grids instead of deriving it from the households.
    seed : int
        Seed of every random choice; the same input and seed give the same plan.
    gap : float
        Buildings this close (m) are neighbours in the contiguity graph.
    code_prefix : str, optional
        Administrative prefix of the grid codes (county + street + community codes).
    levels : tuple of partitioning.hierarchy.Level
        Upper levels (coarsest first) the grids nest in; empty for a flat plan.
    level_name : str
        Name of the grids' own level (e.g. ``small``), stored in the metadata.
    emergency_target : int, optional
        Households per emergency grid: adds an emergency layout nested in the grids.
    """

    target: int = 50
    tolerance: float = 0.2
    n_grids: int | None = None
    seed: int = 0
    gap: float = DEFAULT_GAP
    code_prefix: str | None = None
    levels: tuple = ()
    level_name: str = "grid"
    emergency_target: int | None = None


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
        grid polygons, codes), ``total_s`` (wall) and ``cpu_s`` (this process's CPU), not rounded.
    code_prefix : str
        The administrative prefix of the codes (:func:`partitioning.codes.code_prefix`).
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


def plan_area(buildings: gpd.GeoDataFrame, *, settings: PlanSettings, boundaries: gpd.GeoDataFrame | None = None,
              barriers: gpd.GeoDataFrame | None = None, seed: int | None = None, prefix: str | None = None,
              progress: bool = False) -> AreaPlan:
    """Plan one area: study area → cells → contiguity graph → partition → grid polygons → codes
    → metrics and coverage. The steps :func:`make_plan` and
    :func:`partitioning.parallel.plan_community` share.

    Parameters
    ----------
    buildings : GeoDataFrame
        Footprints indexed by ``building_id`` with ``households``, metric CRS.
    settings : PlanSettings
        ``target``, ``tolerance``, ``n_grids``, ``gap`` and ``levels`` (given levels are
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
        raise InfeasibleError("give the grids' size by their target in --levels, not --grids, in a plan with levels")
    # Given units are boundaries: no graph edge crosses them and cells follow their outlines.
    boundaries = _unit_boundaries(boundaries, given)
    cell_barriers = _with_outlines(barriers, given, buildings.crs)
    # Cells first: the partition only joins buildings whose cells touch, so every grid of
    # connected buildings is one polygon (see partitioning.tessellation.keep_adjacent_cells).
    area = study_area(buildings, boundary=boundaries)
    cells = tessellate(buildings, area=area, barriers=cell_barriers, progress=progress)
    t_tess = time.perf_counter()
    graph = plan_graph(buildings, cells, gap=settings.gap, barriers=barriers, boundaries=boundaries)
    t_graph = time.perf_counter()
    units = layer = None
    if levels:
        units, assignment, info = partition_levels(
            graph, levels, {lv.name: assign_units(buildings, lv.boundaries) for lv in given},
            target=settings.target, tolerance=settings.tolerance, seed=seed, progress=progress)
        units = units.reindex(buildings.index)
        status = info["grids"]["status"]
        layer = level_layer(cells, buildings, units, levels, info, prefix=prefix)
    else:
        result = partition(graph, target=settings.target, tolerance=settings.tolerance,
                           n_grids=settings.n_grids, seed=seed, progress=progress)
        assignment, status = result.assignment, result.grids["status"]
    assignment = assignment.reindex(buildings.index)
    polygons = grid_polygons(cells, assignment)
    if levels:
        unit_codes = layer.set_index("unit_id")["unit_code"]
        codes = nested_codes(polygons, prefix=prefix, minimum_width=3,
                             parent_code=info["grids"]["parent_id"].map(unit_codes))
    else:
        codes = grid_codes(polygons, prefix=prefix)
    grids = grids_frame(buildings, assignment, polygons, status, codes)
    t_part = time.perf_counter()
    target = balance_target(settings, int(buildings["households"].sum()))
    metrics = partition_metrics(graph, assignment, target=target, tolerance=settings.tolerance,
                                runtime_s=round(t_part - t_tess, 3))
    coverage = coverage_report(grids, buildings, assignment, area=area)
    timings = {"tessellation_s": t_tess - t0, "graph_s": t_graph - t_tess, "partition_s": t_part - t_graph,
               "total_s": time.perf_counter() - t0, "cpu_s": time.process_time() - cpu0}
    return AreaPlan(boundaries=boundaries, area=area, cells=cells, graph=graph, assignment=assignment, grids=grids,
                    units=units, levels=layer, metrics=metrics, coverage=coverage, timings=timings,
                    code_prefix=prefix)


def make_plan(inputs: Inputs, settings: PlanSettings, *, barriers: gpd.GeoDataFrame | None = None,
              boundaries: gpd.GeoDataFrame | None = None, extra_files: list | None = None,
              progress: bool = False) -> tuple[Plan, dict]:
    """Partition the buildings into grids and draw the grid polygons (:func:`plan_area`), with the
    emergency layout when asked, into a plan.

    Parameters
    ----------
    inputs : geo.load.Inputs
        Loaded buildings (metric CRS, ``households``).
    settings : PlanSettings
    barriers, boundaries : GeoDataFrame, optional
        Barrier lines and boundary polygons in the same CRS (see ``docs/architecture.md``).
    extra_files : list of dict, optional
        Records of the barrier/boundary files for the metadata.

    Returns
    -------
    plan : geo.plan.Plan
    metrics : dict
        The partition metrics and the coverage figures, with timings.
    """
    t0 = time.perf_counter()
    buildings = inputs.buildings
    area = plan_area(buildings, settings=settings, boundaries=boundaries, barriers=barriers, progress=progress)
    out = buildings.copy()
    layers = {"cells": area.cells}
    if area.levels is not None:
        for col in area.units.columns:
            out[col] = area.units[col]
        layers["levels"] = area.levels
    out["grid_id"] = area.assignment
    grids = area.grids
    if settings.emergency_target is not None:
        layers["grids_emergency"], out[EMERGENCY_COLUMN] = emergency_grids(
            area.graph, area.cells, out, grids, target=settings.emergency_target, tolerance=settings.tolerance,
            seed=settings.seed, prefix=area.code_prefix, progress=progress)
    out["grid_code"] = grids["grid_code"].reindex(area.assignment).to_numpy()
    metrics, coverage = area.metrics, area.coverage
    timings = {**{key: round(area.timings[key], 3) for key in ("tessellation_s", "graph_s", "partition_s")},
               "total_s": round(time.perf_counter() - t0, 3)}
    layers.update(input_layers(inputs, barriers=barriers, boundaries=area.boundaries))
    meta = plan_meta(inputs, settings, metrics=metrics, coverage=coverage, extra_files=extra_files, timings=timings)
    meta["code_prefix"] = area.code_prefix  # the prefix used: given, from the boundary, or none
    plan = Plan(buildings=out, grids=grids, meta=meta, layers=layers)
    logger.info("plan: %d grids in %.2f s", len(grids), timings["total_s"])
    return plan, {**metrics, "coverage": coverage, "timings": timings}


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


def emergency_grids(graph, cells, buildings, grids, *, target, tolerance, seed, prefix=None, progress=False):
    """The ``grids_emergency`` layer: each normal grid split on its own into grids of about ``target``.

    Columns as the ``grids`` layer (``grid_code`` extends the normal grid's code) plus
    ``parent_grid_id``; indexed by ``grid_id`` (``E0001`` …); and the emergency grid of every
    building.
    """
    assignment, info = emergency_layout(graph, buildings["grid_id"], target=target, tolerance=tolerance,
                                        seed=seed, progress=progress)
    assignment = assignment.reindex(buildings.index)
    polygons = grid_polygons(cells, assignment)
    codes = nested_codes(polygons, prefix=prefix, parent_code=info["parent_id"].map(grids["grid_code"]))
    frame = grids_frame(buildings, assignment, polygons, info["status"], codes)
    frame["parent_grid_id"] = info["parent_id"].reindex(frame.index)
    return frame, assignment


def plan_graph(buildings: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, *, gap: float,
               barriers: gpd.GeoDataFrame | None = None, boundaries: gpd.GeoDataFrame | None = None):
    """The contiguity graph a plan is partitioned on and checked against: buildings within
    ``gap`` metres that no barrier or boundary separates, and whose cells touch."""
    graph = build_contiguity_graph(buildings, gap=gap, barriers=barriers, boundaries=boundaries)
    return keep_adjacent_cells(graph, cells)


def balance_target(settings: PlanSettings, households: int) -> int:
    """The households per grid a plan is balanced to: ``target``, or households ÷ ``n_grids``
    when a number of grids was asked for (stored as the plan's ``target``)."""
    if settings.n_grids is None:
        return settings.target
    return max(1, round(households / settings.n_grids))


@dataclass
class CheckResult:
    """What ``check_plan`` found: ``violations`` empty means the plan keeps every guarantee.

    ``totals()`` is the verdict and the plan's size (what ``gridplan check`` prints first);
    ``metrics``, ``coverage``, ``levels`` and ``emergency`` the figures; ``grids`` one entry per
    grid (printed only with ``--verbose``).
    """

    violations: list[str] = field(default_factory=list)
    n_buildings: int = 0
    metrics: dict = field(default_factory=dict)
    coverage: dict = field(default_factory=dict)
    grids: list = field(default_factory=list)
    levels: dict = field(default_factory=dict)
    emergency: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def totals(self) -> dict:
        """``ok``, the number of ``violations``, and the plan's ``grids``, ``buildings`` and
        ``households``."""
        return {"ok": self.ok, "violations": len(self.violations), "grids": len(self.grids),
                "buildings": int(self.n_buildings),
                "households": int(sum(g["households"] for g in self.grids))}

    def to_dict(self) -> dict:
        return {"ok": self.ok, "totals": self.totals(), "violations": self.violations, "metrics": self.metrics,
                "coverage": self.coverage, "grids": self.grids, "levels": self.levels,
                "emergency": self.emergency}


def check_plan(plan: Plan) -> CheckResult:
    """Verify a plan: every building in exactly one grid, grids connected, figures consistent,
    polygons a gap- and overlap-free coverage that cuts no building; with levels or an emergency
    layout, the same at every level and the nesting (:func:`partitioning.hierarchy.check_hierarchy`).

    The contiguity graph is rebuilt from the plan's buildings, barriers and boundaries with the
    plan's own ``gap_m``, so a plan edited elsewhere is checked against the same rules.
    """
    meta, buildings, grids = plan.meta, plan.buildings, plan.grids
    res = CheckResult(n_buildings=len(buildings))
    assignment = buildings["grid_id"]
    unassigned = assignment.isna() | (assignment.astype(str) == "")
    if unassigned.any():
        res.violations.append(f"{int(unassigned.sum())} building(s) are in no grid: "
                              + ids_text(buildings.index[unassigned]))
    if buildings.index.duplicated().any():
        dup = sorted(set(buildings.index[buildings.index.duplicated()]))
        res.violations.append(f"building(s) listed more than once (in two grids): {ids_text(dup)}")
    unknown = sorted(set(assignment.dropna()) - set(grids.index))
    if unknown:
        res.violations.append(f"buildings refer to grid(s) missing from the grids layer: {ids_text(unknown)}")
    empty = sorted(set(grids.index) - set(assignment.dropna()))
    if empty:
        res.violations.append(f"grid(s) without buildings: {ids_text(empty)}")
    hh = buildings.groupby("grid_id")["households"].sum()
    stored = grids["households"].reindex(hh.index)
    wrong = hh.index[stored.to_numpy() != hh.to_numpy()]
    if len(wrong):
        res.violations.append("grids whose households figure disagrees with their buildings: "
                              + ids_text(f"{g} ({plain(stored[g])} ≠ {plain(hh[g])})" for g in wrong))
    layers = plan.layers
    boundaries = layers.get("boundaries")
    if boundaries is not None:
        boundaries = boundaries.reset_index()
    if "cells" not in layers:
        raise PlanFileError("the plan has no 'cells' layer; re-make it with `gridplan partition`")
    graph = plan_graph(buildings, layers["cells"], gap=meta.get("gap_m", DEFAULT_GAP),
                       barriers=layers.get("barriers"), boundaries=boundaries)
    clean = assignment[~unassigned]
    res.violations.extend(validate_partition(graph, clean))
    res.metrics = partition_metrics(graph, clean, target=int(meta.get("target", 50)),
                                    tolerance=float(meta.get("tolerance", 0.2)))
    area = study_area(buildings, boundary=boundaries)
    res.coverage = coverage_report(grids, buildings, clean, area=area)
    cov = res.coverage
    for key, label in (("overlap_area_m2", "m² of grids overlap"), ("gap_area_m2", "m² of the area is in no grid")):
        if cov.get(key, 0) > 1.0:
            res.violations.append(f"{cov[key]:.1f} {label}")
    if cov.get("multipart_grids"):
        res.violations.append(f"{len(cov['multipart_grids'])} grid(s) are in several pieces: "
                              + ids_text(cov["multipart_grids"]))
    if cov.get("cut_buildings"):
        res.violations.append(f"{len(cov['cut_buildings'])} building(s) are cut by a grid boundary: "
                              + ids_text(cov["cut_buildings"]))
    hierarchy_problems, res.levels, res.emergency = check_hierarchy(plan, graph, area=area)
    res.violations.extend(hierarchy_problems)
    res.grids = [{"grid_id": str(g), "grid_code": str(r.grid_code), "households": int(r.households),
                  "n_buildings": int(r.n_buildings), "status": str(r.status)}
                 for g, r in grids.sort_values("grid_code").iterrows()]
    return res


def summary_lines(metrics: dict, *, target: int) -> list[str]:
    """The human-readable summary ``gridplan partition`` and ``gridplan check`` print."""
    m = metrics
    lines = [
        f"grids:              {m['n_grids']}",
        f"households:         {m['households_total']}  (target {target} per grid)",
        f"households/grid:    min {m['households_min']}, median {m['households_median']:g}, "
        f"max {m['households_max']}",
        f"within tolerance:   {m['share_within_tolerance']:.1%} of non-oversize grids "
        f"(worst deviation {m['worst_deviation']:.0%})",
        f"oversize/undersize: {m['oversize_grids']} / {m['undersize_grids']} grid(s)",
        f"disconnected grids: {m['disconnected_grids']}   split buildings: {m['split_buildings']}",
    ]
    lines.append(f"compactness:        {m['mean_distance_m']:.0f} m household-weighted mean distance to "
                 f"grid centre; largest grid diameter {m['max_diameter_m']:.0f} m")
    lines.append(f"barrier crossings:  {m['barrier_crossing_grids']} grid(s) ({m['major_crossing_grids']} "
                 "across a major barrier)")
    cov = m.get("coverage")
    if cov:
        lines.append(f"polygons:           overlap {cov.get('overlap_area_m2', 0):.1f} m², gap "
                     f"{cov.get('gap_area_m2', 0):.1f} m², multipart {len(cov.get('multipart_grids', []))}, "
                     f"cut buildings {len(cov.get('cut_buildings', []))}")
    t = m.get("timings")
    if t:
        lines.append(f"runtime:            {t['total_s']:.2f} s (cells {t['tessellation_s']:.2f}, graph "
                     f"{t['graph_s']:.2f}, partition and grid polygons {t['partition_s']:.2f})")
    return lines
