"""The work of the browser's jobs (:mod:`app.jobs`): the library calls, run in the job's process.

``check``
    Reads and validates the uploaded footprints with their ledger, boundaries and barriers
    (:func:`geo.load_buildings` …) and reports what was repaired, dropped and matched, with the
    ledger's headers and every row not matched (line, key, candidates). Writes nothing.
``plan``
    The same reading, then the plan (:func:`make_plan_from`, the one place the planning calls
    are made), its check (:func:`partitioning.check.check_plan`), and the plan published
    into the plans folder under the name asked for, never replacing a file (:func:`publish`).
``update``
    The new ledger joined to the plan's buildings and the minimal-change update
    (:func:`partitioning.update.update_plan`) written to the job's ``output/updated.gpkg``, its
    diff against the plan (:func:`partitioning.diff.diff_plans`) and the diff's map layers. The
    plan file is not touched: the page saves the update as a version when the planner accepts.

Each takes ``(folder, job, progress)`` and returns the JSON-ready result the pages show.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd

import geo
from geo.csvfile import read_table
from geo.errors import InputError
from geo.headers import find_column
from geo.load import input_record
from geo.plan import atomic_path
from maps.i18n import LANGUAGES
from maps.names import building_labels
from partitioning.check import check_plan
from partitioning.diff import diff_plans
from partitioning.pipeline import partition
from partitioning.settings import PlanSettings
from partitioning.update import read_household_changes, update_plan

__all__ = ["check", "load_inputs", "make_plan_from", "name_exists", "plan", "publish", "update"]

logger = logging.getLogger(__name__)

#: Ledger rows not matched listed in a report (the rest are counted).
MAX_LISTED = 200


def _path(folder: Path, job: dict, role: str):
    rel = (job.get("inputs") or {}).get(role)
    return None if not rel else folder / rel


def load_inputs(folder: Path, job: dict):
    """The job's footprints (with households from its ledger), boundaries and barriers."""
    opts = job.get("options") or {}
    footprints = _path(folder, job, "footprints")
    inputs = geo.load_buildings(footprints, crs=opts.get("crs") or None, households_path=_path(folder, job, "ledger"),
                                encoding=opts.get("encoding") or None, sheet=opts.get("sheet") or None,
                                ledger_key=opts.get("ledger_key") or None,
                                ledger_count=opts.get("ledger_count") or None,
                                building_key=opts.get("building_key") or None)
    boundary = barriers = None
    if _path(folder, job, "boundary"):
        boundary = geo.load_boundaries(_path(folder, job, "boundary"), inputs.crs, crs=opts.get("crs") or None)
    if _path(folder, job, "barriers"):
        barriers = geo.load_barriers(_path(folder, job, "barriers"), inputs.crs, crs=opts.get("crs") or None)
    return inputs, boundary, barriers


def _records(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _ledger_report(folder: Path, job: dict, inputs) -> dict | None:
    """The ledger's headers, the columns used, the match counts and the rows not matched."""
    path = _path(folder, job, "ledger")
    if path is None:
        return None
    opts = job.get("options") or {}
    table = read_table(path, sheet=opts.get("sheet") or None, encoding=opts.get("encoding") or None)
    out = {"headers": [str(c) for c in table.columns],
           "key": opts.get("ledger_key") or find_column(table, "building"),
           "count": opts.get("ledger_count") or find_column(table, "households"),
           "building_fields": [str(c) for c in inputs.buildings.columns
                               if c not in ("geometry", "households", "households_source")],
           "building_key": opts.get("building_key") or None}
    rows = inputs.ledger_rows
    if rows is None:
        return {**out, "points": True}
    by = rows.groupby("status")["households"]
    out["rows"] = {str(k): int(v) for k, v in by.size().items()}
    out["households"] = {str(k): int(v) for k, v in by.sum().items()}
    problems = rows[~rows["status"].isin(["matched"])]
    out["problems"] = _records(problems.head(MAX_LISTED))
    out["problems_total"] = len(problems)
    return out


def check(folder, job: dict, progress) -> dict:
    """Read and validate the inputs; the report."""
    folder = Path(folder)
    progress("read", 0.1, until=0.8)
    inputs, boundary, barriers = load_inputs(folder, job)
    progress("report", 0.9)
    b = inputs.buildings
    return {"buildings": len(b), "households": int(b["households"].sum()), "crs": inputs.crs.to_string(),
            "source_crs": inputs.source_crs, "households_method": inputs.households_method,
            "sources": {str(k): int(v) for k, v in b["households_source"].value_counts().items()},
            "notes": list(inputs.report.notes), "figures": inputs.report.figures,
            "ledger": _ledger_report(folder, job, inputs),
            "boundaries": None if boundary is None else len(boundary),
            "barriers": None if barriers is None else len(barriers)}


def make_plan_from(inputs, *, target: int, tolerance: float, seed: int, boundary=None, barriers=None,
                   extra_files=(), code_prefix=None):
    """The plan of ``inputs``: the library calls ``gridplan partition`` makes (one place to change).

    :func:`partitioning.pipeline.partition`, as on the command line: without boundaries a big file
    is cut into parts planned on two worker processes.
    """
    settings = PlanSettings(target=int(target), tolerance=float(tolerance), seed=int(seed),
                            code_prefix=code_prefix or None)
    return partition(inputs, settings, barriers=barriers, boundaries=boundary, extra_files=list(extra_files))


def name_exists(name: str) -> InputError:
    """The refusal of a plan name already taken (``reason`` for the page's language)."""
    exc = InputError(f"a plan named {name} exists; choose another name")
    exc.reason, exc.params = "name_exists", {"name": name}
    return exc


def publish(source: Path, target: Path) -> Path:
    """Put the finished plan ``source`` into the plans folder as ``target``, never over a file: a
    hidden temporary copy beside the target (as :func:`geo.plan.atomic_path` names them, which the
    plan list skips), hard-linked to the target's name, which fails when that name exists."""
    exists = name_exists(target.stem)
    if target.exists():
        raise exists
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-publish{target.suffix}")
    shutil.copyfile(source, tmp)
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise exists from None
        except OSError:  # a file system without hard links: the check, then a rename
            if target.exists():
                raise exists from None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def plan(folder, job: dict, progress) -> dict:
    """Make the plan, check it, publish it; its name and figures."""
    folder = Path(folder)
    target = Path(job["plans_dir"]) / f"{job['name']}.gpkg"
    if target.exists():
        raise name_exists(job["name"])  # before any work
    progress("read", 0.05, until=0.2)
    inputs, boundary, barriers = load_inputs(folder, job)
    extra = [input_record(role, _path(folder, job, role)) for role in ("boundary", "barriers") if _path(folder, job, role)]
    progress("plan", 0.2, until=0.85)
    made, _metrics = make_plan_from(inputs, target=job["target"], tolerance=job.get("tolerance", 0.2),
                                   seed=job.get("seed", 0), boundary=boundary, barriers=barriers, extra_files=extra,
                                   code_prefix=job.get("code_prefix"))
    made.meta["command"] = f"gridplan web: new plan {job['name']} by {job['owner']}"
    progress("write", 0.86)
    out = geo.write_plan(made, folder / "output" / "plan.gpkg")
    progress("check", 0.9, until=0.97)
    result = check_plan(geo.read_plan(out))
    progress("publish", 0.98)
    publish(out, target)
    return {"name": job["name"], "ok": result.ok, "violations": result.violations, "totals": result.totals(),
            "metrics": {k: v for k, v in result.metrics.items() if isinstance(v, (int, float, str, type(None)))},
            "households_method": inputs.households_method, "notes": list(inputs.report.notes)}


def update(folder, job: dict, progress) -> dict:
    """The minimal-change update of the plan to the new ledger, its diff and its map."""
    folder = Path(folder)
    opts = job.get("options") or {}
    progress("read", 0.05)
    old = geo.read_plan(job["plan_path"])
    notes: list = []
    progress("ledger", 0.15)
    households = read_household_changes(_path(folder, job, "ledger"), old.buildings,
                                        key=opts.get("ledger_key") or None, count=opts.get("ledger_count") or None,
                                        building_key=opts.get("building_key") or None,
                                        sheet=opts.get("sheet") or None, encoding=opts.get("encoding") or None,
                                        notes=notes)
    progress("update", 0.25, until=0.85)
    result = update_plan(old, households=households)
    result.plan.meta["command"] = f"gridplan web: households of {job['plan']} updated by {job['owner']}"
    progress("write", 0.86)
    geo.write_plan(result.plan, folder / "output" / "updated.gpkg")
    progress("diff", 0.92)
    diff = diff_plans(old, result.plan)
    moved = diff.moved["building_id"].astype(str).tolist()
    labels = {lang: building_labels(result.plan, moved, lang=lang) for lang in LANGUAGES}
    _write_diff_map(old, result.plan, diff, folder / "output" / "diff.geojson")
    changed = (old.buildings["households"].reindex(result.plan.buildings.index)
               != result.plan.buildings["households"]).sum()
    return {"plan": job["plan"], "summary": result.summary, "diff": diff.to_dict(), "labels": labels,
            "notes": notes, "buildings_recounted": int(changed),
            "before": _figures(old), "after": _figures(result.plan)}


def _figures(p) -> dict:
    g = p.grids["households"]
    settings = PlanSettings.from_meta(p.meta)
    target = settings.target
    inside = g.between(*settings.band())
    return {"grids": len(p.grids), "households": int(p.buildings["households"].sum()),
            "households_min": int(g.min()), "households_max": int(g.max()),
            "share_within_tolerance": round(float(inside.mean()), 4), "target": target}


def _write_diff_map(old, new, diff, path: Path) -> None:
    """The diff as GeoJSON (EPSG:4326): the new grids with their change, the removed grids, and
    the moved buildings with their grids before and after."""
    grids = diff.grids
    kept = new.grids[["grid_code", "households", "geometry"]].copy()
    kept["change"] = grids["change"].reindex(kept.index).fillna("added").to_numpy()
    kept["households_before"] = grids["households_before"].reindex(kept.index).to_numpy()
    kept["kind"] = "grid"
    gone = old.grids.loc[[g for g in old.grids.index if g not in new.grids.index], ["grid_code", "households", "geometry"]]
    gone = gone.assign(change="removed", households_before=gone["households"], households=0, kind="grid")
    moved = new.buildings.loc[diff.moved["building_id"].astype(str).tolist(), ["households", "geometry"]].copy()
    moved["kind"] = "moved"
    moved["from_grid"] = diff.moved["from_number"].astype(str).to_numpy()
    moved["to_grid"] = diff.moved["to_number"].astype(str).to_numpy()
    frame = pd.concat([kept.reset_index(names="id"), gone.reset_index(names="id"), moved.reset_index(names="id")],
                      ignore_index=True)
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=new.grids.crs)
    out["geometry"] = out.geometry.simplify(0.5)
    out = out.to_crs(4326)
    with atomic_path(path) as tmp:
        tmp.write_text(out.to_json(drop_id=True, ensure_ascii=False), encoding="utf-8")
