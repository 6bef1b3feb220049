"""The update itself (:func:`update_plan`): apply the change, repair the assignment, then redraw
what follows from it -- ids and codes of new grids, cells and polygons, the levels layer, the
emergency grids of changed grids -- and report the moves (see :mod:`partitioning.update`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geo.plan import Plan
from partitioning.area import grids_frame
from partitioning.codes import PLACEHOLDER, new_ids, next_codes
from partitioning.graph import plan_graph, subgraph
from partitioning.hierarchy import EMERGENCY_COLUMN, count_status, emergency_layout, nested_codes, unit_column
from partitioning.metrics import figure_status, grid_figures, summarise_figures
from partitioning.settings import PlanSettings
from partitioning.tessellation import coverage_report, grid_polygons, study_area, tessellate
from partitioning.towers import refresh_subgrids
from partitioning.update.changes import apply_changes, resolve_locks
from partitioning.update.repair import State, place_added, reconnect, repair

__all__ = ["MOVE_REASONS", "UpdateResult", "update_plan"]

logger = logging.getLogger(__name__)

#: Why a building moved (the ``reason`` column of :attr:`UpdateResult.moves`).
MOVE_REASONS = {
    "added": "a new building joined a grid",
    "demolished": "the building is gone",
    "connectivity": "its grid fell apart into pieces; this piece joined a neighbour",
    "balance": "local repair by a chain of moves between neighbouring grids",
    "rebalance": "its neighbourhood was re-partitioned (local moves could not repair it)",
}


@dataclass
class UpdateResult:
    """What :func:`update_plan` made.

    Attributes
    ----------
    plan : geo.plan.Plan
        The updated plan.
    moves : pandas.DataFrame
        One row per building that changed grid: ``building_id``, ``from_grid`` and ``from_code``
        (empty for an added building), ``to_grid`` and ``to_code`` (empty for a demolished one),
        ``reason`` (see :data:`MOVE_REASONS`).
    summary : dict
        ``buildings_moved`` (existing buildings that changed grid), ``buildings_added``,
        ``buildings_demolished``, ``grids_changed``, ``grids_added``, ``grids_removed``,
        ``grids_unchanged``, ``locked``, ``out_of_tolerance_before`` / ``_after`` (fixable grids outside
        the band after the change was applied / at the end), ``stages`` (repairs made at each stage).
    """

    plan: Plan
    moves: pd.DataFrame
    summary: dict = field(default_factory=dict)


def _cells(plan: Plan, buildings: gpd.GeoDataFrame, boundaries, locked: set) -> gpd.GeoDataFrame:
    """Cells of the changed buildings. The outlines of locked grids (and of given units) are barriers,
    so locked grids keep their polygons and given units their outlines."""
    barriers = plan.layers.get("barriers")
    lines = [] if barriers is None else [barriers[["geometry"]]]
    if boundaries is not None and any(d.get("source") not in (None, "generated") for d in plan.meta.get("levels") or []):
        lines.append(boundaries[["geometry"]])
    if locked:
        lines.append(plan.grids.loc[sorted(locked), ["geometry"]])
    cell_barriers = (gpd.GeoDataFrame(pd.concat(lines, ignore_index=True), geometry="geometry", crs=buildings.crs)
                     if lines else None)
    return tessellate(buildings, area=study_area(buildings, boundary=boundaries), barriers=cell_barriers)


def update_plan(plan: Plan, *, households: pd.Series | None = None, buildings: gpd.GeoDataFrame | None = None,
                lock=(), seed: int | None = None, max_hops: int = 3, allow_global: bool = False) -> UpdateResult:
    """Update a plan to changed households or buildings, moving as few buildings as possible.

    Parameters
    ----------
    plan : geo.plan.Plan
        The plan in force (with its ``cells`` layer).
    households : pandas.Series, optional
        New household counts by ``building_id`` (returns, move-outs); buildings not listed keep theirs.
    buildings : geopandas.GeoDataFrame, optional
        The buildings as they stand now, indexed by ``building_id`` (same ids as the plan), with a
        ``households`` column: ids not in the plan are added, plan buildings missing here are
        demolished. Existing buildings keep the plan's households unless ``households`` changes them.
    lock : iterable of str
        Grid ids or codes that must not change.
    seed : int, optional
        Seed of the engine in re-partitions (default the plan's).
    max_hops : int, default 3
        Largest neighbourhood (grids within this many grid-to-grid steps) re-partitioned around a grid
        that local moves cannot repair.
    allow_global : bool, default False
        As a last resort, re-partition the whole parent unit (the whole plan when flat). This can
        move many buildings; without it such a grid stays outside the band and is reported.

    Returns
    -------
    UpdateResult

    Raises
    ------
    geo.errors.InputError
        For unknown building ids in ``households``, unknown locked grids, buildings without a metric
        CRS or without ``households``, or a plan without cells.
    """
    meta = dict(plan.meta)
    settings = PlanSettings.from_meta(meta)
    target, tolerance, gap = settings.target, settings.tolerance, settings.gap
    seed = settings.seed if seed is None else int(seed)
    if "cells" not in plan.layers:
        plan_graph(plan)  # raises the error of a plan without cells
    old = plan.buildings
    grids_old = plan.grids
    locked = resolve_locks(grids_old, lock)
    levels = [d["name"] for d in meta.get("levels") or []]
    unit_cols = [unit_column(n) for n in levels]

    new, added, demolished = apply_changes(old, buildings, households, unit_cols)

    layers = dict(plan.layers)
    boundaries = layers.get("boundaries")
    boundaries = boundaries.reset_index() if boundaries is not None else None
    cells = _cells(plan, new, boundaries, locked) if added or demolished else layers["cells"]
    graph = plan_graph(plan, buildings=new, cells=cells)

    parent_col = unit_cols[-1] if unit_cols else None
    parent = {}
    if parent_col:
        parent = old.groupby("grid_id")[parent_col].first().astype(str).to_dict()
    else:
        parent = {g: "" for g in grids_old.index}
    assign = {v: str(g) for v, g in old["grid_id"].items() if v in new.index}
    state = State(graph, assign, parent, locked, target=target, tolerance=tolerance)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    state.baseline = {g: max(0.0, lo - h, h - hi) for g, h in grids_old["households"].items()}
    inside_locked = {}
    if added and locked:
        pts = shapely.point_on_surface(new.loc[added].geometry.values)
        lk = grids_old.loc[sorted(locked)]
        i, j = shapely.STRtree(lk.geometry.values).query(pts, predicate="within")
        inside_locked = {added[a]: lk.index[b] for a, b in zip(i, j)}
    place_added(state, added, inside_locked)
    reconnect(state)
    before = len(state.bad())
    stages = repair(state, gap=gap, seed=seed, max_hops=max_hops, allow_global=allow_global)
    after = len(state.bad())

    # ids, codes, layers
    fresh = sorted(g for g in state.members if g.startswith("\0"))
    ids = new_ids(grids_old.index, fresh, prefix="G")
    final = pd.Series({v: ids.get(g, g) for v, g in state.assign.items()}).reindex(new.index)
    final.index.name = "building_id"
    parent = {ids.get(g, g): p for g, p in state.parent.items()}
    figures, totals = grid_figures(graph, final, target=target, tolerance=tolerance)
    status = figure_status(figures, target=target, tolerance=tolerance)  # the engine's and check's rule
    out = new.copy()
    out["grid_id"] = final
    if parent_col:  # units follow the grid's parent unit (the lowest level determines the others)
        out[parent_col] = final.map(parent)
        for col in unit_cols[:-1]:
            out[col] = out[parent_col].map(old.groupby(parent_col)[col].first())
    polygons = grid_polygons(cells, final)
    codes = grids_old["grid_code"].astype(str).reindex(polygons.index)
    fresh_ids = [ids[g] for g in fresh if ids[g] in polygons.index]
    if fresh_ids:
        if parent_col:
            unit_codes = layers["levels"].set_index("unit_id")["unit_code"].astype(str)
            pcode = pd.Series({g: unit_codes[parent[g]] for g in fresh_ids})
        else:
            prefix = meta.get("code_prefix")  # None: a plan from before partitioning.codes.code_prefix
            pcode = pd.Series(PLACEHOLDER if prefix is None else str(prefix), index=fresh_ids)
        codes.update(pd.Series(next_codes(grids_old["grid_code"].astype(str), pcode, fresh_ids, 3)))
    grids = grids_frame(out, final, polygons, status, codes)
    out["grid_code"] = grids["grid_code"].reindex(final).to_numpy()
    layers["cells"] = cells
    if "levels" in layers:
        layers["levels"] = _update_levels(layers["levels"], out, cells, meta.get("levels") or [], tolerance)
    changed = _changed_grids(old, out)
    if "grids_emergency" in layers:
        layers["grids_emergency"], out[EMERGENCY_COLUMN] = _update_emergency(
            layers["grids_emergency"], plan.buildings, out, grids, graph, cells, changed,
            target=int((meta.get("emergency") or {}).get("target") or max(1, target // 2)),
            tolerance=tolerance, seed=seed, prefix=meta.get("code_prefix"))
        layers = refresh_subgrids(layers, out, meta, tolerance=tolerance)

    moves = _moves(old, out, demolished, added, state.reason)
    metrics = summarise_figures(figures, totals, target=target, tolerance=tolerance)
    area = study_area(out, boundary=boundaries)
    coverage = coverage_report(grids, out, final, area=area)
    existing = [v for v in old.index if v in out.index]
    summary: dict[str, Any] = {
        "buildings_moved": int((old.loc[existing, "grid_id"].astype(str) != final[existing].astype(str)).sum()),
        "buildings_total": int(len(out)),
        "buildings_added": len(added),
        "buildings_demolished": len(demolished),
        "grids_changed": len(changed & set(grids_old.index) & set(grids.index)),
        "grids_added": sorted(set(grids.index) - set(grids_old.index)),
        "grids_removed": sorted(set(grids_old.index) - set(grids.index)),
        "grids_unchanged": int(len(set(grids.index) - changed)),
        "locked": sorted(locked),
        "out_of_tolerance_before": before,
        "out_of_tolerance_after": after,
        "unrepaired": sorted(ids.get(g, g) for g in state.bad()),
        "stages": stages,
    }
    summary["share_moved"] = round(summary["buildings_moved"] / max(1, len(existing)), 4)
    meta.update(metrics=metrics, coverage=coverage, update=summary,
                updated=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"))
    logger.info("update: %d of %d buildings moved, %d grid(s) changed, %d added, %d removed",
                summary["buildings_moved"], len(existing), summary["grids_changed"],
                len(summary["grids_added"]), len(summary["grids_removed"]))
    return UpdateResult(plan=Plan(buildings=out, grids=grids, meta=meta, layers=layers), moves=moves,
                        summary=summary)


def _changed_grids(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> set:
    """Grids of the new plan whose set of buildings differs from the old plan's (or is new)."""
    before = old.groupby("grid_id").groups
    after = new.groupby("grid_id").groups
    return {g for g, members in after.items() if g not in before or set(before[g]) != set(members)}


def _moves(old, out, demolished, added, reason) -> pd.DataFrame:
    """A row per building that changed grid, with the grids' ids and the codes people know them by."""
    def grid(frame, v):
        return str(frame.at[v, "grid_id"]), str(frame.at[v, "grid_code"])

    rows: list[tuple] = [(v, *grid(old, v), None, None, "demolished") for v in demolished]
    rows += [(v, None, None, *grid(out, v), "added") for v in added]
    for v in old.index:
        if v in out.index and str(old.at[v, "grid_id"]) != str(out.at[v, "grid_id"]):
            rows.append((v, *grid(old, v), *grid(out, v), reason.get(v, "rebalance")))
    return pd.DataFrame(rows, columns=["building_id", "from_grid", "from_code", "to_grid", "to_code", "reason"])


def _update_levels(levels: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, cells, described: list,
                   tolerance: float) -> gpd.GeoDataFrame:
    """The levels layer with polygons, figures and status recomputed from the buildings; ids and codes kept."""
    frames = []
    for d in described:
        name, col = d["name"], unit_column(d["name"])
        rows = levels[levels["level"] == name].set_index("unit_id")
        unit = buildings[col].astype(str)
        polys = grid_polygons(cells, unit)
        grouped = buildings["households"].groupby(unit)
        frame = rows.reindex(polys.index).drop(columns="geometry")
        frame.index.name = "unit_id"
        frame["households"] = grouped.sum().reindex(polys.index).astype("int64")
        frame["n_buildings"] = grouped.size().reindex(polys.index).astype("int64")
        frame["level"] = name
        if d.get("target"):
            occupied = buildings["households"].gt(0).groupby(unit).sum()
            frame["status"] = count_status(frame["households"], occupied.reindex(polys.index), d["target"], tolerance)
        frames.append(gpd.GeoDataFrame(frame.reset_index(), geometry=polys.geometry.to_numpy(), crs=cells.crs))
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=cells.crs)
    out.index = pd.Index(out["level"] + "/" + out["unit_id"], name="unit_key")
    return out


def _update_emergency(emergency, old, out, grids, graph, cells, changed, *, target, tolerance, seed, prefix):
    """Keep the emergency grids of unchanged normal grids; split changed and new grids afresh."""
    keep = ~out["grid_id"].isin(changed)
    assignment = old[EMERGENCY_COLUMN].reindex(out.index).where(keep)
    redo = out.index[~keep]
    frames = emergency.loc[emergency.index.isin(assignment.dropna().unique())]
    if len(redo):
        sub, info = emergency_layout(subgraph(graph, redo), out.loc[redo, "grid_id"], target=target,
                                     tolerance=tolerance, seed=seed)
        ids = new_ids(emergency.index, list(info.index), prefix="E")
        assignment.loc[redo] = sub.map(ids).reindex(redo)
        info = info.rename(index=ids)
        polys = grid_polygons(cells.loc[redo], sub.map(ids).reindex(redo))
        codes = nested_codes(polys, prefix=prefix, parent_code=info["parent_id"].map(grids["grid_code"]))
        made = grids_frame(out.loc[redo], sub.map(ids).reindex(redo), polys, info["status"], codes)
        made["parent_grid_id"] = info["parent_id"].reindex(made.index)
        frames = pd.concat([frames, made])
    polys = grid_polygons(cells, assignment)
    grouped = out.groupby(assignment)
    frames = frames.drop(columns="geometry").assign(households=grouped["households"].sum(),
                                                    n_buildings=grouped.size())
    if "persons" in out.columns:
        frames["persons"] = grouped["persons"].sum()
    frames = gpd.GeoDataFrame(frames, geometry=polys.geometry.reindex(frames.index), crs=cells.crs)
    frames.index.name = "grid_id"
    return frames.sort_values("grid_code"), assignment
