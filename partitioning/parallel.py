"""City scale: plan every community on its own, in parallel on Dask, and assemble one plan.

Communities are independent -- no grid crosses a community boundary -- so a city is planned
community by community: the buildings are split by the community polygon holding their
representative point (the rule of :func:`partitioning.graph.build_contiguity_graph`), each
community runs study area → cells → contiguity graph → partition → grid polygons → codes on a
Dask worker (:func:`plan_community`), and returns a compact result (grid of each building, grid
polygons and cells as geometry arrays, figures). Results are gathered as they complete, with at
most a few communities in flight per worker, so no process ever holds the whole city's graphs.

The plan does not depend on the number of workers: each community's seed is derived from the
plan's seed and the community id (:func:`community_seed`), and grids are numbered in sorted
community order. ``workers=0`` runs the same steps in this process, without Dask.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from geo.errors import InfeasibleError, InputError, ids_text
from geo.load import Inputs
from geo.plan import Plan
from partitioning.area import AreaPlan, grids_frame, input_layers, plan_area, plan_meta
from partitioning.codes import DEFAULT_PREFIX
from partitioning.metrics import summarise_figures
from partitioning.settings import PlanSettings, settings_error
from partitioning.tessellation import DEFAULT_BUFFER, SETTLEMENT_CLOSING, settlement_envelope

__all__ = ["CommunityResult", "community_of", "community_seed", "plan_community", "make_plan_parallel"]

logger = logging.getLogger(__name__)

#: Communities submitted ahead of the results gathered, per worker: keeps every worker busy
#: while bounding what the scheduler holds.
IN_FLIGHT_PER_WORKER = 4


def community_seed(seed: int, community_id: str) -> int:
    """The engine's seed for one community: from the plan's seed and the community's id only.

    Examples
    --------
    >>> community_seed(0, "320508001001") == community_seed(0, "320508001001")
    True
    >>> community_seed(0, "320508001001") != community_seed(1, "320508001001")
    True
    """
    key = zlib.crc32(str(community_id).encode("utf-8"))
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, key]).generate_state(1)[0])


def community_of(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> pd.Series:
    """The ``boundary_id`` of the community holding each building's representative point.

    Parameters
    ----------
    buildings : GeoDataFrame
        Footprints indexed by ``building_id``, metric CRS.
    communities : GeoDataFrame
        Polygons with ``boundary_id``, same CRS.

    Returns
    -------
    pandas.Series
        ``boundary_id`` (str) by ``building_id``. Where communities overlap, the first in
        ``boundary_id`` order.

    Raises
    ------
    geo.errors.InputError
        For buildings whose representative point lies in no community (names them).
    """
    comms = communities.sort_values("boundary_id", kind="stable")
    ids = comms["boundary_id"].astype(str).to_numpy()
    points = shapely.point_on_surface(buildings.geometry.values)
    b, c = shapely.STRtree(comms.geometry.values).query(points, predicate="within")
    first = pd.Series(c, index=b).groupby(level=0).min()
    out = pd.Series(None, index=buildings.index, dtype=object, name="community_id")
    out.iloc[first.index.to_numpy()] = ids[first.to_numpy()]
    if out.isna().any():
        lost = ids_text(buildings.index[out.isna()])
        raise InputError(f"{int(out.isna().sum())} building(s) lie in no community ({lost}); clip "
                         "the buildings to the communities or give a boundary layer that covers them")
    return out


@dataclass
class CommunityResult:
    """What a worker returns for one community: compact, no graph.

    Attributes
    ----------
    community_id : str
    building_ids : numpy.ndarray of str
    grid : numpy.ndarray of int
        Position of each building's grid in ``grids`` (0-based).
    grids : pandas.DataFrame
        One row per grid in code order: ``grid_code``, ``households``, ``status``, ``geometry``
        (shapely polygons).
    cells : numpy.ndarray of shapely geometries
        The cell of each building, in ``building_ids`` order.
    enclosure : numpy.ndarray of int
    metrics, coverage, timings : dict
        The community's partition metrics, coverage figures (``multipart_grids`` and
        ``detached_grids`` as positions in ``grids``) and seconds per step.
    area : shapely geometry
        The area its grids cover.
    figures : pandas.DataFrame
        The figures of its grids, in ``grids`` order, and ``totals`` those of its buildings
        (:func:`partitioning.metrics.grid_figures`): the city's metrics summarise them.
    """

    community_id: str
    building_ids: np.ndarray
    grid: np.ndarray
    grids: pd.DataFrame
    cells: np.ndarray
    enclosure: np.ndarray
    metrics: dict
    coverage: dict
    timings: dict
    area: object = None
    figures: pd.DataFrame | None = None
    totals: dict | None = None


def plan_community(community_id: str, buildings: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame,
                   barriers: gpd.GeoDataFrame | None, *, settings: PlanSettings,
                   prefix: str, context: np.ndarray | None = None) -> CommunityResult:
    """Plan one community: :func:`partitioning.area.plan_area` on its buildings, with the
    community's own seed and code prefix, returned compact.

    Parameters
    ----------
    community_id : str
    buildings : GeoDataFrame
        The community's buildings (index ``building_id``, ``households``), metric CRS.
    boundary : GeoDataFrame
        The community's polygon (one row: ``boundary_id``, ``name``).
    barriers : GeoDataFrame or None
        Barrier lines near the community.
    settings : PlanSettings
        ``target``, ``tolerance``, ``gap``; the seed is :func:`community_seed` of ``settings.seed``.
    prefix : str
        Grid codes are ``prefix`` + a 3-digit sequence in reading order.
    context : numpy.ndarray of shapely geometries, optional
        For parts that are not real communities (tiles of :mod:`partitioning.split`): the
        footprints in and around the part. The part's area is then clipped to their settlement
        envelope (:func:`partitioning.tessellation.settlement_envelope`), as the study area of a
        plan without boundaries would be, instead of covering the whole rectangle.

    Returns
    -------
    CommunityResult
    """
    if context is not None:
        boundary = _clip_to_settlement(boundary, buildings, context)
    area = plan_area(buildings, settings=settings, boundaries=boundary, barriers=barriers,
                     seed=community_seed(settings.seed, community_id), prefix=prefix)
    grids = area.grids
    position = pd.Series(np.arange(len(grids)), index=grids.index)
    coverage = {**area.coverage, **{key: [int(position[g]) for g in area.coverage[key]]
                                    for key in ("multipart_grids", "detached_grids")}}
    cells = area.cells.reindex(buildings.index)
    return CommunityResult(
        community_id=community_id, building_ids=buildings.index.to_numpy(),
        grid=position.reindex(area.assignment.to_numpy()).to_numpy(),
        grids=pd.DataFrame({col: grids[col].to_numpy() for col in ("grid_code", "households", "status", "geometry")}),
        cells=cells.geometry.to_numpy(), enclosure=cells["enclosure_id"].to_numpy(),
        metrics=area.metrics, coverage=coverage, timings=area.timings, area=area.area,
        figures=_figures_of(area).reindex(grids.index).reset_index(drop=True), totals=area.totals)


def _prefixes(ids: list[str], code_prefix: str | None) -> dict[str, str]:
    """Grid code prefix of each community: its own 12-digit division code when it has one and no
    ``code_prefix`` is given, else ``code_prefix`` (or nothing) + the community's 3-digit number."""
    if code_prefix is None and all(i.isdigit() and len(i) == 12 for i in ids):
        return {i: i for i in ids}
    base = DEFAULT_PREFIX if code_prefix is None else str(code_prefix)
    width = max(3, len(str(len(ids))))
    return {i: f"{base}{k + 1:0{width}d}" for k, i in enumerate(ids)}


def _community_area(polygon, rows, geoms, tree, owner):
    """The area a community's grids cover: its polygon, plus its own buildings' footprints that
    cross the outline, less the footprints of other communities' buildings that reach into it.
    The areas of communities that tile the city tile the city's study area."""
    own_cross = rows[~shapely.covered_by(geoms[rows], polygon)]
    near = tree.query(polygon, predicate="intersects")
    others = near[owner[near] != owner[rows[0]]]
    if not len(own_cross) and not len(others):
        return polygon
    area = shapely.union_all(np.append(geoms[own_cross], polygon))
    return shapely.difference(area, shapely.union_all(geoms[others])) if len(others) else area


def _clip_to_settlement(boundary, buildings, context):
    """The part's polygon within the settlement envelope of the footprints around it, keeping the
    pieces that hold its own buildings (whose footprints it always covers)."""
    polygon = boundary.geometry.iloc[0]
    clipped = shapely.intersection(polygon, settlement_envelope(context))
    own = buildings.geometry.values
    pieces = shapely.get_parts(clipped)
    keep = np.unique(shapely.STRtree(pieces).query(own, predicate="intersects")[1])
    area = shapely.union_all(np.append(pieces[keep], own))
    return boundary.set_geometry([area], crs=boundary.crs)


def _tasks(buildings, communities, barriers, member, *, context_margin=None):
    """(community_id, buildings, boundary, barriers, context) of each community, the most
    households first (the longest tasks start first, so that no worker ends with a large community
    alone). With ``context_margin`` (metres), ``context`` holds the footprints within that distance
    of the community (see :func:`plan_community`), else None."""
    comms = communities.set_index(communities["boundary_id"].astype(str)).sort_index()
    codes, owner = np.unique(member.to_numpy().astype(str), return_inverse=True)
    groups = dict(zip(codes, np.split(np.argsort(owner, kind="stable"), np.cumsum(np.bincount(owner))[:-1])))
    geoms = buildings.geometry.values
    b_tree = shapely.STRtree(geoms)
    tree = None
    if barriers is not None and len(barriers):
        tree = shapely.STRtree(barriers.geometry.values)
    weight = buildings["households"].groupby(member.to_numpy()).sum()
    for cid in sorted(comms.index.intersection(weight.index), key=lambda c: (-weight[c], c)):
        rows = groups[cid]
        area = _community_area(comms.geometry[cid], rows, geoms, b_tree, owner)
        boundary = gpd.GeoDataFrame({"boundary_id": [cid], "name": [comms["name"][cid]]},
                                    geometry=[area], crs=communities.crs)
        near = None
        if tree is not None:
            hit = np.sort(tree.query(shapely.buffer(area, 1.0), predicate="intersects"))
            near = barriers.iloc[hit] if len(hit) else None
        context = None
        if context_margin is not None:
            context = geoms[np.sort(b_tree.query(area, predicate="dwithin", distance=context_margin))]
        yield cid, buildings.iloc[rows], boundary, near, context


def _run(tasks, *, settings, prefixes, workers, scheduler, progress, n_total,
         units=("communities", "community")):
    """Yield each community's result as it completes (in any order)."""
    bar = tqdm(total=n_total, desc=units[0], unit=units[1], disable=not progress)
    try:
        if workers == 0 and scheduler is None:
            for cid, b, boundary, near, context in tasks:
                yield plan_community(cid, b, boundary, near, settings=settings, prefix=prefixes[cid],
                                     context=context)
                bar.update()
            return
        yield from _run_dask(tasks, settings=settings, prefixes=prefixes, workers=workers,
                             scheduler=scheduler, bar=bar)
    finally:
        bar.close()


def _run_dask(tasks, *, settings, prefixes, workers, scheduler, bar):
    from dask.distributed import Client, LocalCluster, as_completed

    if not logger.isEnabledFor(logging.DEBUG):  # dask's own chatter (workers starting, closing) only in debug
        logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if scheduler is None:
        # the scheduler's HTTP server on a free port: several plans may run at once
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0",
                               silence_logs=False if logger.isEnabledFor(logging.DEBUG) else logging.CRITICAL)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        n_workers = max(1, len(client.nthreads()))
        window = IN_FLIGHT_PER_WORKER * n_workers
        logger.info("dask: %d worker(s) at %s", n_workers, client.scheduler.address)
        pending = as_completed()
        tasks = iter(tasks)

        def submit(k):
            for cid, b, boundary, near, context in tasks:
                # pure=False: a unique key per call, even for the same community on a shared cluster
                pending.add(client.submit(plan_community, cid, b, boundary, near, settings=settings,
                                          prefix=prefixes[cid], context=context, pure=False))
                k -= 1
                if k == 0:
                    return

        submit(window)
        for future in pending:
            result = future.result()
            future.release()
            bar.update()
            yield result
            submit(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _figures_of(area: AreaPlan) -> pd.DataFrame:
    if area.figures is None:  # pragma: no cover - plan_area always computes them
        raise RuntimeError("plan_area returned no grid figures")
    return area.figures


def _aggregate(results: list[CommunityResult], settings: PlanSettings) -> tuple[dict, dict]:
    """City-wide partition metrics (:func:`partitioning.metrics.summarise_figures` of every community's
    grid figures, the definitions of a plan made in one piece) and coverage figures."""
    figures = pd.concat([r.figures for r in results], ignore_index=True)
    totals = {key: sum((r.totals or {})[key] for r in results) for key in (results[0].totals or {})}
    metrics = summarise_figures(figures, totals, target=settings.target, tolerance=settings.tolerance)
    cs = [r.coverage for r in results]
    coverage: dict[str, Any] = {key: float(sum(c[key] for c in cs)) for key in
                ("area_m2", "grids_area_m2", "overlap_area_m2", "gap_area_m2", "outside_area_m2", "rounding_area_m2")}
    coverage["n_grids"] = metrics["n_grids"]
    for key in ("multipart_grids", "detached_grids", "cut_buildings", "unassigned_buildings"):
        coverage[key] = []  # filled with plan-wide ids by the caller
    coverage["coverage_valid"] = all(c["coverage_valid"] for c in cs)
    coverage["ok"] = all(c["ok"] for c in cs)
    return metrics, coverage


def make_plan_parallel(inputs: Inputs, settings: PlanSettings, *, boundaries: gpd.GeoDataFrame,
                       barriers: gpd.GeoDataFrame | None = None, workers: int = 2,
                       scheduler: str | None = None, extra_files: list | None = None,
                       progress: bool = False, tiles: bool = False) -> tuple[Plan, dict]:
    """Partition a city community by community, in parallel, into one plan.

    Parameters
    ----------
    inputs : geo.load.Inputs
        Loaded buildings (metric CRS, ``households``).
    settings : PlanSettings
        ``target``, ``tolerance``, ``seed``, ``gap``, ``code_prefix``; ``n_grids``, ``levels`` and
        ``emergency_target`` are not supported here (use :func:`partitioning.pipeline.make_plan`).
    boundaries : GeoDataFrame
        Community polygons with ``boundary_id``, ``name``, same CRS: the units planned apart.
    barriers : GeoDataFrame, optional
        Barrier lines; each community gets those that touch it.
    workers : int, default 2
        Local Dask worker processes (one thread each); 0 runs in this process without Dask.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``): use its workers instead of a
        local cluster. The workers need gridplan installed.
    extra_files : list of dict, optional
        Records of the barrier/boundary files for the metadata.
    progress : bool, default False
        A progress bar over the communities.
    tiles : bool, default False
        The ``boundaries`` are not communities but parts cut to plan a big file apart
        (:func:`partitioning.split.make_plan_split`): each part's area is clipped to the
        settlement envelope of the footprints around it, the plan's ``boundaries`` layer holds
        those areas (so that checking and editing the plan follow the same edges), and grids
        carry no ``community_id``.

    Returns
    -------
    plan : geo.plan.Plan
        As :func:`~partitioning.pipeline.make_plan`'s; grids also carry ``community_id`` (not with
        ``tiles``). Grid ids are ``G0001`` … in community order, codes the community's code (or the
        prefix + its number) + a sequence.
    metrics : dict
        City-wide partition metrics and coverage (summed over communities), timings, and
        ``communities``: the number of communities and the slowest one's seconds.

    Raises
    ------
    geo.errors.InfeasibleError
        For ``n_grids``, levels or an emergency layout, which need the whole city at once.
    geo.errors.InputError
        For buildings in no community.
    """
    if settings.n_grids is not None or settings.levels or settings.emergency_target is not None:
        raise settings_error(InfeasibleError, "planning each community apart takes a target only: a number of "
                             "grids (n_grids), levels and an emergency layout (emergency_target) need the whole "
                             "plan at once; plan it in one piece, without workers or a scheduler",
                             "n_grids", "levels", "emergency_target", "workers", "scheduler")
    if workers < 0:
        raise InputError(f"workers must be >= 0, got {workers}")
    t0 = time.perf_counter()
    buildings = inputs.buildings
    boundaries = boundaries.to_crs(buildings.crs)
    member = community_of(buildings, boundaries)
    ids = sorted(member.unique())
    prefixes = _prefixes(ids, settings.code_prefix)
    logger.info("%d buildings in %d %s; %s", len(buildings), len(ids), "parts" if tiles else "communities",
                "in this process" if workers == 0 and scheduler is None else
                f"Dask scheduler {scheduler}" if scheduler else f"{workers} local Dask workers")
    gathered = {}
    margin = DEFAULT_BUFFER + 2 * SETTLEMENT_CLOSING if tiles else None
    tasks = _tasks(buildings, boundaries, barriers, member, context_margin=margin)
    for res in _run(tasks, settings=settings, prefixes=prefixes, workers=workers, scheduler=scheduler,
                    progress=progress, n_total=len(ids),
                    units=("parts", "part") if tiles else ("communities", "community")):
        gathered[res.community_id] = res
    t_run = time.perf_counter()
    results = [gathered[c] for c in ids]
    if tiles:
        boundaries = gpd.GeoDataFrame({"boundary_id": ids, "name": ""}, geometry=[r.area for r in results],
                                      crs=buildings.crs)
    plan, metrics = _assemble(inputs, settings, results, boundaries, barriers, extra_files, tiles=tiles)
    # wall seconds of the whole run; the steps' seconds (wall and CPU) are summed over the communities
    timings = {"total_s": round(time.perf_counter() - t0, 3), "communities_s": round(t_run - t0, 3),
               "assemble_s": round(time.perf_counter() - t_run, 3),
               **{key: round(sum(r.timings[key] for r in results), 3)
                  for key in ("tessellation_s", "graph_s", "partition_s")},
               "worker_s": round(sum(r.timings["total_s"] for r in results), 3),
               "worker_cpu_s": round(sum(r.timings["cpu_s"] for r in results), 3),
               "slowest_community_s": round(max(r.timings["total_s"] for r in results), 3)}
    metrics["timings"] = plan.meta["timings"] = timings
    metrics["communities"] = len(results)
    plan.meta["parallel"] = {"communities": len(results), "workers": workers, "scheduler": scheduler,
                             "seeds": "per community, from the seed and the community id"}
    logger.info("plan: %d grids in %d communities in %.1f s", len(plan.grids), len(results), timings["total_s"])
    return plan, metrics


def _assemble(inputs, settings, results, boundaries, barriers, extra_files, *, tiles=False):
    """One plan from the communities' results: grids numbered ``G0001`` … in community order, the
    grids layer by :func:`partitioning.area.grids_frame` (as a plan made in one piece, plus
    ``community_id``), the cells, the city's metrics and coverage."""
    buildings = inputs.buildings
    n_grids = sum(len(r.grids) for r in results)
    width = max(4, len(str(n_grids)))
    offsets = np.cumsum([0] + [len(r.grids) for r in results])
    grid_ids = np.array([f"G{k + 1:0{width}d}" for k in range(n_grids)], dtype=object)
    b_ids = np.concatenate([r.building_ids for r in results])
    b_grid = np.concatenate([off + r.grid for off, r in zip(offsets, results)])
    assignment = pd.Series(grid_ids[b_grid], index=pd.Index(b_ids, name="building_id"), name="grid_id")
    assignment = assignment.reindex(buildings.index)
    frame = pd.concat([r.grids.assign(community_id=r.community_id) for r in results], ignore_index=True)
    frame.index = pd.Index(grid_ids, name="grid_id")
    polygons = gpd.GeoDataFrame(geometry=frame["geometry"].to_numpy(), index=frame.index, crs=buildings.crs)
    # codes as objects, as partitioning.codes gives them to a plan made in one piece
    grids = grids_frame(buildings, assignment, polygons, frame["status"], frame["grid_code"].astype(object))
    if not tiles:
        grids.insert(grids.columns.get_loc("status") + 1, "community_id", frame["community_id"].reindex(grids.index))
    out = buildings.copy()
    out["grid_id"] = assignment
    out["grid_code"] = grids["grid_code"].reindex(assignment).to_numpy()
    enclosure = np.concatenate([r.enclosure for r in results])
    enc_offset = np.repeat(np.cumsum([0] + [int(r.enclosure.max()) + 1 for r in results])[:-1],
                           [len(r.building_ids) for r in results])
    cells = gpd.GeoDataFrame({"enclosure_id": (enclosure + enc_offset).astype("int64")},
                             geometry=np.concatenate([r.cells for r in results]),
                             index=pd.Index(b_ids, name="building_id"), crs=buildings.crs).reindex(buildings.index)
    metrics, coverage = _aggregate(results, settings)
    for key in ("multipart_grids", "detached_grids"):
        coverage[key] = sorted(grid_ids[off + g] for off, r in zip(offsets, results) for g in r.coverage[key])
    coverage["cut_buildings"] = sorted(b for r in results for b in r.coverage["cut_buildings"])
    coverage["unassigned_buildings"] = sorted(b for r in results for b in r.coverage["unassigned_buildings"])
    used = boundaries[boundaries["boundary_id"].astype(str).isin([r.community_id for r in results])]
    layers = {"cells": cells, **input_layers(inputs, barriers=barriers, boundaries=used)}
    meta = plan_meta(inputs, settings, metrics=metrics, coverage=coverage, extra_files=extra_files)
    return Plan(buildings=out, grids=grids, meta=meta, layers=layers), {**metrics, "coverage": coverage}
