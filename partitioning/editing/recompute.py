"""What an edit recomputes (:func:`apply_assignment`): the touched grids' polygons (dissolved
from the plan's cells, no re-tessellation), figures and status, the plan's metrics on its graph
(:func:`edit_graph`), and the emergency grids of the touched grids; ids and codes of the grids an
edit adds."""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field

import geopandas as gpd
import networkx as nx
import pandas as pd

from geo.plan import Plan
from partitioning.area import emergency_grids
from partitioning.codes import PLACEHOLDER, new_ids, next_codes
from partitioning.editing.messages import WARNINGS
from partitioning.editing.rules import LOCKED, _band
from partitioning.graph import plan_graph, subgraph
from partitioning.hierarchy import EMERGENCY_COLUMN
from partitioning.metrics import figure_status, grid_figures, summarise_figures
from partitioning.settings import PlanSettings
from partitioning.tessellation import grid_polygons
from partitioning.towers import refresh_subgrids
from partitioning.undersize import undersize_reasons

__all__ = ["EditResult", "edit_graph"]

logger = logging.getLogger(__name__)

#: Figures of grids by their buildings, per edit graph (an edit graph is never changed): an edit
#: recomputes the metrics of the grids it touched only.
_METRICS_CACHE: weakref.WeakKeyDictionary[nx.Graph, dict] = weakref.WeakKeyDictionary()


@dataclass
class EditResult:
    """What an edit made.

    Attributes
    ----------
    plan : geo.plan.Plan
        The edited plan (a new object; the input plan is not modified).
    changed : list of str
        Grids whose buildings, polygon or lock changed (ids in the new plan).
    removed : list of str
        Grids that no longer exist.
    warnings : list of str
        Grids the change left outside the tolerance band, and other things the planner should know.
    notices : list of dict
        The same warnings as ``{"reason": key of WARNINGS, **fields}``, for a user interface to say
        in the user's language.
    """

    plan: Plan
    changed: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notices: list = field(default_factory=list)


def edit_graph(plan: Plan) -> nx.Graph:
    """The graph edits are checked on: the plan's own graph (:func:`partitioning.graph.plan_graph`,
    with the plan's gap, cells, barriers and boundaries), the one the plan was made and is checked on.

    Raises
    ------
    geo.errors.PlanFileError
        When the plan has no ``cells`` layer.
    """
    return plan_graph(plan)


def _apply(plan: Plan, graph: nx.Graph, assignment: pd.Series, touched, *, codes=None,
           note: str) -> EditResult:
    """A new plan with ``assignment``: the ``touched`` grids' polygons and figures recomputed."""
    target, tolerance = _band(plan)
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    buildings = plan.buildings.copy()
    buildings["grid_id"] = assignment.reindex(buildings.index).astype(str).to_numpy()
    present = set(buildings["grid_id"].unique().tolist())
    touched = sorted(set(touched))
    alive = [g for g in touched if g in present]
    removed = [g for g in touched if g not in present and g in plan.grids.index]
    cells = plan.layers["cells"]
    mask = buildings["grid_id"].isin(alive).to_numpy()
    polygons = grid_polygons(cells.loc[buildings.index[mask]], buildings["grid_id"][mask]) if alive else None
    grids = plan.grids.drop(index=removed + alive, errors="ignore").copy()
    figures, totals = grid_figures(graph, buildings["grid_id"], target=target, tolerance=tolerance,
                                   cache=_METRICS_CACHE.setdefault(graph, {}))
    status = figure_status(figures, target=target, tolerance=tolerance)  # as check and the engine say it
    notices = []
    rows = []
    for g in alive:
        members = list(buildings.index[buildings["grid_id"].to_numpy() == g])
        part = buildings.loc[members]
        hh = int(part["households"].sum())
        row = {"grid_code": (codes or {}).get(g, plan.grids.at[g, "grid_code"] if g in plan.grids.index else g),
               "households": hh, "n_buildings": len(members),
               "status": status[g]}
        if "persons" in grids.columns:
            row["persons"] = int(part["persons"].sum()) if "persons" in part else 0
        if LOCKED in grids.columns:
            row[LOCKED] = int(plan.grids.at[g, LOCKED]) if g in plan.grids.index and pd.notna(
                plan.grids.at[g, LOCKED]) else 0
        row["grid_id"] = g
        rows.append(row)
        if row["status"] != "ok":
            notices.append({"reason": "out_of_band", "grid": g, "code": str(row["grid_code"]), "households": hh,
                            "lo": lo, "hi": hi, "status": row["status"]})
    if rows and polygons is not None:
        fresh = gpd.GeoDataFrame(pd.DataFrame(rows).set_index("grid_id"),
                                 geometry=polygons.geometry.reindex([r["grid_id"] for r in rows]).to_numpy(),
                                 crs=plan.grids.crs)
        fresh.index.name = "grid_id"
        grids = pd.concat([grids, fresh[[c for c in grids.columns if c in fresh.columns]]])
        grids = gpd.GeoDataFrame(grids, geometry=plan.grids.geometry.name, crs=plan.grids.crs)
        for col in grids.columns:
            if col in plan.grids.columns and plan.grids[col].dtype.kind in "iu":
                grids[col] = grids[col].fillna(0).astype(plan.grids[col].dtype)
    grids = grids.sort_values("grid_code")
    grids.index.name = "grid_id"
    buildings["grid_code"] = grids["grid_code"].reindex(buildings["grid_id"]).to_numpy()
    meta = dict(plan.meta)
    meta["metrics"] = summarise_figures(figures, totals, target=target, tolerance=tolerance)
    layers = dict(plan.layers)
    if "grids_emergency" in layers:
        redrawn = _emergency(plan, graph, buildings, grids, alive + removed)
        if redrawn is None:
            notices.append({"reason": "emergency_stale"})
        else:
            layers["grids_emergency"], buildings[EMERGENCY_COLUMN] = redrawn
            layers = refresh_subgrids(layers, buildings, meta, tolerance=tolerance)
    meta["edited"] = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    logger.info("edit: %s (%d grids recomputed, %d removed)", note, len(alive), len(removed))
    plan = Plan(buildings=buildings, grids=grids, meta=meta, layers=layers)
    _explain(plan, graph, notices)
    return EditResult(plan, changed=alive, removed=removed, notices=notices,
                      warnings=[WARNINGS[n["reason"]].format(**n) + (f": {n['why']['detail']}" if "why" in n else "")
                                for n in notices])


def _explain(plan: Plan, graph: nx.Graph, notices: list) -> None:
    """Give each notice of an undersize grid the reason it cannot grow
    (``why``: an entry of :func:`partitioning.undersize.undersize_reasons`), as ``check`` gives it."""
    asked = [n for n in notices if n.get("status") == "undersize"]
    if not asked:
        return
    why = {e["grid_id"]: e for e in undersize_reasons(plan, graph, grid_ids=[n["grid"] for n in asked])}
    for n in asked:
        if n["grid"] in why:
            n["why"] = why[n["grid"]]


def _emergency(plan: Plan, graph: nx.Graph, buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, touched):
    """The emergency layout with the ``touched`` grids split again (the others' emergency grids
    unchanged): new ids after the highest in use, codes extending the grids' codes. ``None`` for a
    plan that does not record its emergency target."""
    target = (plan.meta.get("emergency") or {}).get("target")
    layer = plan.layers["grids_emergency"]
    if target is None or "parent_grid_id" not in layer.columns:
        return None
    kept = layer[~layer["parent_grid_id"].astype(str).isin(touched)]
    members = buildings.index[buildings["grid_id"].isin(touched).to_numpy()]
    fresh, assignment = emergency_grids(
        subgraph(graph, members), plan.layers["cells"].loc[members], buildings.loc[members],
        grids.loc[sorted(set(buildings.loc[members, "grid_id"]))], target=int(target),
        tolerance=_band(plan)[1], seed=PlanSettings.from_meta(plan.meta).seed,
        prefix=plan.meta.get("code_prefix"))
    ids = new_ids(layer.index, list(fresh.index), prefix="E")
    fresh = fresh.rename(index=ids)
    fresh.index.name = layer.index.name
    out = pd.concat([kept, fresh[[c for c in layer.columns if c in fresh.columns]]]).sort_values("grid_code")
    column = plan.buildings[EMERGENCY_COLUMN].astype(str).copy()
    column[members] = assignment.reindex(members).map(ids).to_numpy()
    return gpd.GeoDataFrame(out, geometry=layer.geometry.name, crs=layer.crs), column.to_numpy()


def _new_grids(plan: Plan, fresh: list, beside) -> tuple[dict, dict]:
    """Ids and codes for the grids ``fresh`` (temporary names) an edit adds beside grid ``beside``:
    the next free ids, and the codes after the last sibling of ``beside``'s code (same parent:
    all but its last 3 digits)."""
    ids = new_ids(plan.grids.index, fresh, prefix="G")
    code = str(plan.grids.at[beside, "grid_code"])
    prefix = plan.meta.get("code_prefix")
    parent = code[:-3] if len(code) > 3 and code[-3:].isdigit() else (PLACEHOLDER if prefix is None else str(prefix))
    codes = next_codes(plan.grids["grid_code"].astype(str), dict.fromkeys(ids.values(), parent), list(ids.values()))
    return ids, codes
