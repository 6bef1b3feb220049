"""The pipeline: from loaded inputs to a plan, the steps ``gridplan partition`` runs, kept here so
that the command line, the web app and a notebook do exactly the same.

:func:`partition` is the entry point: it plans a big file without community boundaries in parts
(:func:`partitioning.split.make_plan_split`), communities in parallel when workers are asked for
(:func:`partitioning.parallel.make_plan_parallel`), and anything else in one piece
(:func:`make_plan`: :func:`partitioning.area.plan_area` on the whole area, plus the emergency
layout). :func:`levels_from_spec` turns a levels description (``community=FILE,grid=400,small=50``)
into the levels of :class:`partitioning.settings.PlanSettings`. Checking a plan is
:mod:`partitioning.check`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd

from geo.errors import InputError
from geo.load import Inputs, input_record, load_boundaries
from geo.plan import Plan
from partitioning.area import emergency_grids, input_layers, plan_area, plan_meta
from partitioning.hierarchy import EMERGENCY_COLUMN, Level, parse_levels
from partitioning.parallel import make_plan_parallel
from partitioning.settings import PlanSettings, settings_error
from partitioning.split import make_plan_split, needs_split
from partitioning.towers import subgrid_figures, tower_subgrids

__all__ = ["partition", "make_plan", "LevelSpec", "levels_from_spec"]

logger = logging.getLogger(__name__)


def partition(inputs: Inputs, settings: PlanSettings, *, barriers: gpd.GeoDataFrame | None = None,
              boundaries: gpd.GeoDataFrame | None = None, workers: int | None = None,
              scheduler: str | None = None, max_buildings_per_part: int | None = None,
              progress: bool | None = False, extra_files: Sequence[dict] = ()) -> tuple[Plan, dict]:
    """Partition loaded buildings into a plan: what ``gridplan partition`` does.

    - Without ``boundaries`` and with more buildings than ``max_buildings_per_part``
      (:func:`partitioning.split.needs_split`), the buildings are cut into parts planned apart,
      on ``workers`` (default 2) or a ``scheduler`` (:func:`partitioning.split.make_plan_split`).
    - With ``workers`` or a ``scheduler``, each of the ``boundaries`` communities is planned apart
      (:func:`partitioning.parallel.make_plan_parallel`).
    - Otherwise the plan is made in one piece (:func:`make_plan`).

    Parameters
    ----------
    inputs : geo.load.Inputs
        Loaded buildings (metric CRS, ``households``), e.g. from :func:`geo.load_buildings`.
    settings : PlanSettings
        Target, tolerance, seed, gap, levels (:func:`levels_from_spec`), emergency target.
    barriers, boundaries : GeoDataFrame, optional
        Barrier lines (:func:`geo.load_barriers`) and boundary polygons (:func:`geo.load_boundaries`)
        in the buildings' CRS.
    workers : int, optional
        Local Dask worker processes for the parallel paths (0: in this process).
    scheduler : str, optional
        Address of a running Dask scheduler for the parallel paths.
    max_buildings_per_part : int, optional
        Without boundaries, more buildings than this are cut into parts of at most this many
        (default :data:`partitioning.split.DEFAULT_MAX_BUILDINGS`).
    progress : bool or None, default False
        Progress bars; ``None``: a bar only over the parts of a big file (a run of minutes).
    extra_files : sequence of dict
        Records of the barrier, boundary and level files for the metadata
        (:func:`geo.load.input_record`).

    Returns
    -------
    plan : geo.plan.Plan
    metrics : dict
        Partition metrics, coverage and timings (see :func:`make_plan`).

    Raises
    ------
    geo.errors.InputError
        For workers or a scheduler without boundaries, and for a big file without boundaries with
        settings that need the whole plan at once. The error's ``options`` name the settings
        (:func:`partitioning.settings.settings_error`).
    geo.errors.InfeasibleError
        For settings the chosen path cannot meet (e.g. a number of grids in a plan with levels).
    """
    _check_group_field(inputs, settings)
    extra = list(extra_files)
    if boundaries is None and needs_split(len(inputs.buildings), max_buildings=max_buildings_per_part):
        return make_plan_split(inputs, settings, barriers=barriers, workers=2 if workers is None else workers,
                               scheduler=scheduler, max_buildings=max_buildings_per_part, extra_files=extra,
                               progress=True if progress is None else progress)
    progress = bool(progress)
    if workers is not None or scheduler:
        if boundaries is None:
            raise settings_error(InputError, "planning each community apart (on workers or a scheduler) needs the "
                                 "communities: give their boundaries", "workers", "scheduler", "boundaries")
        return make_plan_parallel(inputs, settings, boundaries=boundaries, barriers=barriers,
                                  workers=2 if workers is None else workers, scheduler=scheduler,
                                  extra_files=extra, progress=progress)
    return make_plan(inputs, settings, barriers=barriers, boundaries=boundaries, extra_files=extra,
                     progress=progress)


def _check_group_field(inputs: Inputs, settings: PlanSettings) -> None:
    """Refuse a ``group_field`` the buildings lack, naming their file and their fields."""
    field_name = settings.group_field
    if field_name is None or field_name in inputs.buildings.columns:
        return
    source = next((f["path"] for f in inputs.files if f.get("role") == "buildings"), "the buildings")
    fields = [str(c) for c in inputs.buildings.columns
              if c not in (inputs.buildings.geometry.name, "households", "households_source")]
    raise settings_error(InputError, f"{source}: the buildings have no field '{field_name}' to group them by "
                         f"(their fields: {', '.join(fields) or 'none'}); name one of these", "group_field")


@dataclass
class LevelSpec:
    """Levels assembled by :func:`levels_from_spec`.

    Attributes
    ----------
    levels : tuple of partitioning.hierarchy.Level
        The upper levels, coarsest first (``PlanSettings.levels``).
    level_name : str
        The grids' own level (``PlanSettings.level_name``).
    target : int
        The grids' target households (``PlanSettings.target``).
    files : list of dict
        Records of the boundary files read, for the metadata (``extra_files``).
    """

    levels: tuple
    level_name: str
    target: int
    files: list = field(default_factory=list)


def levels_from_spec(spec: str | Sequence[tuple[str, Any]], crs: Any, *, src_crs: Any = None,
                     datum: str = "wgs84") -> LevelSpec:
    """The levels of a plan from their description, coarsest first, the grids last.

    Parameters
    ----------
    spec : str or sequence of (name, value)
        ``community=communities.geojson,grid=400,small=50`` (:func:`partitioning.hierarchy.parse_levels`),
        or pairs whose value is a target (int), a boundary file (str or Path) or boundary polygons
        (GeoDataFrame with ``boundary_id``, ``name``). The last pair is the grids and takes a target.
    crs : pyproj.CRS or str
        The buildings' metric CRS: boundary files are read into it.
    src_crs, datum
        CRS of boundary files that carry none, and their datum (as :func:`geo.load_boundaries`).

    Returns
    -------
    LevelSpec

    Raises
    ------
    geo.errors.InputError
        For a description that is not NAME=FILE or NAME=TARGET pairs ending with a target, and for
        boundary files that cannot be read.

    Examples
    --------
    >>> spec = levels_from_spec("block=400,small=50", "EPSG:4549")
    >>> [lv.describe() for lv in spec.levels], spec.level_name, spec.target
    ([{'name': 'block', 'target': 400, 'source': 'generated'}], 'small', 50)
    """
    pairs = parse_levels(spec) if isinstance(spec, str) else list(spec)
    if len(pairs) < 2 or not isinstance(pairs[-1][1], int) or isinstance(pairs[-1][1], bool):
        raise settings_error(InputError, "levels: give at least two, coarsest first, the last being the grids "
                             "with a target number of households (e.g. grid=400, small=50)", "levels")
    *upper, (level_name, target) = pairs
    levels, files = [], []
    for name, value in upper:
        if isinstance(value, int):
            levels.append(Level(name, target=value))
        elif isinstance(value, gpd.GeoDataFrame):
            levels.append(Level(name, boundaries=value.to_crs(crs)))
        else:
            levels.append(Level(name, boundaries=load_boundaries(value, crs, crs=src_crs, datum=datum),
                                source=str(value)))
            files.append(input_record(f"level {name}", value))
    return LevelSpec(levels=tuple(levels), level_name=str(level_name), target=int(target), files=files)


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
        The partition metrics and the coverage figures, with timings; with an emergency layout,
        ``subgrids``: the towers split into sub-grids (:func:`partitioning.towers.subgrid_figures`).
    """
    t0 = time.perf_counter()
    buildings = inputs.buildings
    area = plan_area(buildings, settings=settings, boundaries=boundaries, barriers=barriers, progress=progress)
    out = buildings.copy()
    layers = {"cells": area.cells}
    if area.levels is not None and area.units is not None:
        for col in area.units.columns:
            out[col] = area.units[col]
        layers["levels"] = area.levels
    out["grid_id"] = area.assignment
    grids = area.grids
    towers = None
    if settings.emergency_target is not None:
        layers["grids_emergency"], out[EMERGENCY_COLUMN] = emergency_grids(
            area.graph, area.cells, out, grids, target=settings.emergency_target, tolerance=settings.tolerance,
            seed=settings.seed, prefix=area.code_prefix, progress=progress, layout=area.emergency)
        subgrids, storeys = tower_subgrids(out, layers["grids_emergency"], out[EMERGENCY_COLUMN],
                                           target=settings.emergency_target, tolerance=settings.tolerance,
                                           cells=inputs.storeys)
        if len(subgrids):
            layers["subgrids"], layers["storeys"] = subgrids, storeys
        towers = subgrid_figures(subgrids, target=settings.emergency_target, tolerance=settings.tolerance)
    out["grid_code"] = grids["grid_code"].reindex(area.assignment).to_numpy()
    metrics, coverage = area.metrics, area.coverage
    timings = {**{key: round(area.timings[key], 3) for key in ("tessellation_s", "graph_s", "partition_s")},
               "total_s": round(time.perf_counter() - t0, 3)}
    layers.update(input_layers(inputs, barriers=barriers, boundaries=area.boundaries))
    meta = plan_meta(inputs, settings, metrics=metrics, coverage=coverage, extra_files=extra_files, timings=timings)
    meta["code_prefix"] = area.code_prefix  # the prefix used: given, from the boundary, or none
    if towers is not None:
        meta["emergency"]["subgrids"] = towers
    plan = Plan(buildings=out, grids=grids, meta=meta, layers=layers)
    logger.info("plan: %d grids in %.2f s", len(grids), timings["total_s"])
    extra = {} if towers is None else {"subgrids": towers}
    return plan, {**metrics, "coverage": coverage, "timings": timings, **extra}


