"""The 更新户数 page: a new ledger for a served plan, the minimal-change update shown as a diff,
saved as a new version only when the planner accepts.

``/plans/<name>/update`` takes the ledger (CSV or XLSX; its building and households columns and
the buildings' field they match are detected, or named); a background job
(:func:`app.jobwork.update`) joins it to the plan's buildings and runs
:func:`partitioning.update.update_plan`, writing the updated plan into the job's folder only.
The job's page shows the result on the map — grids changed, added, removed, buildings moved —
with the figures before and after and every move by building name (or its number in its grid).

**Accept** saves the update through the editor's version store (a new version with the planner
as author and their comment, the plan file rewritten atomically inside the same transaction);
when the plan got another version since the upload, 409 and nothing is saved. **Discard** removes
the job and leaves the plan as it was. Both are in the audit log.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

import geo
from app import _data, jobs
from app._data import body_limit, lang
from app.audit import audit
from app.auth import words
from app.editor import version_store
from app.jobpages import form_options, job_folder, new_job, progress_config, require_planner, status_words
from app.store import VersionConflict
from app.uploads import ROUTE_CEILING, UploadRefused
from app.views import map_options, map_parts
from geo.crs import to_datum
from maps.web.basemaps import basemap_datum
from maps.web.pages import editor_map

__all__ = ["MAX_COMMENT", "bp"]

bp = Blueprint("recount", __name__)
MAX_COMMENT = 500


def _form(name: str, *, error=None, code=200):
    p, _ = _data.plan(name)
    fields = [c for c in p.buildings.columns if c not in ("geometry", "grid_id", "households", "households_source")]
    return render_template("recount.html", lang=lang(), t=words(), name=name, error=error, fields=fields,
                           limit_mb=int(current_app.config["UPLOAD_LIMIT"]) // 2**20), code


@bp.get("/plans/<name>/update")
def form(name: str):
    return require_planner() or _form(name)


@bp.post("/plans/<name>/update")
@body_limit(ROUTE_CEILING)  # lowered to UPLOAD_LIMIT by app.uploads.init_app, before the CSRF check
def create(name: str):
    """Store the new ledger and start the update."""
    if (refusal := require_planner()) is not None:
        return refusal
    path = _data.plan_path(name)
    if not request.files.get("ledger") or not request.files["ledger"].filename:
        return _form(name, error=words()("upload_missing").format(field="ledger"), code=422)
    base = version_store().ensure(name, path)
    try:
        folder, _ = new_job("update", ("ledger",), plan=name, plan_path=str(path), base_version=base,
                            options=form_options(request.form))
    except UploadRefused as exc:
        return _form(name, error=words()(f"upload_{exc.reason}").format(**exc.params), code=422)
    jobs.start(folder, "update")
    audit("plan_update_start", target=name)
    return redirect(url_for("recount.job", name=name, job_id=folder.name))


def _folder(name: str, job_id: str):
    folder = job_folder(job_id, "update")
    if jobs.read_job(folder).get("plan") != name:
        abort(404)
    return folder


@bp.get("/plans/<name>/update/<job_id>")
def job(name: str, job_id: str):
    if (refusal := require_planner()) is not None:
        return refusal
    folder = _folder(name, job_id)
    status, language = jobs.read_status(folder), lang()
    done = status.get("state") == "done"
    parts, result = {}, None
    config = {**progress_config(job_id, status, DIFF_KEYS), "lang": language}
    if done:
        result = status["result"]
        fmap = editor_map(_data.plan(name)[0], lang=language, **map_options())
        parts = map_parts(fmap)
        config.update(map=fmap.get_name(), diff=url_for("recount.diff", name=name, job_id=job_id))
        labels = result["labels"].get(language) or {}
        for m in result["diff"]["moved"]:
            m["label"] = m.get("name") or labels.get(str(m["building_id"])) or m["building_id"]
    return render_template("recount_job.html", lang=language, t=words(), name=name, job_id=job_id, status=status,
                           failure=status_words(status), result=result, config=config, **parts)


#: Words of the diff map's legend and tooltips.
DIFF_KEYS = ("change_unchanged", "change_changed", "change_households", "change_added", "change_removed",
             "recount_moved", "households", "grid")


@bp.get("/plans/<name>/update/<job_id>/diff.geojson")
def diff(name: str, job_id: str):
    """The diff's map layers (EPSG:4326, or shifted to GCJ-02 for an Amap basemap)."""
    if (refusal := require_planner()) is not None:
        return refusal
    folder = _folder(name, job_id)
    path = folder / "output" / "diff.geojson"
    if not path.is_file():
        abort(404)
    if basemap_datum(current_app.config["BASEMAP"]) != "wgs84":
        gdf = to_datum(gpd.read_file(path), basemap_datum(current_app.config["BASEMAP"]))
        return current_app.response_class(gdf.to_json(drop_id=True, ensure_ascii=False),
                                          mimetype="application/geo+json")
    return send_file(path, mimetype="application/geo+json", max_age=0)


@bp.post("/plans/<name>/update/<job_id>/accept")
def accept(name: str, job_id: str):
    """Save the update as a new version of the plan (409 when the plan changed since the upload)."""
    if (refusal := require_planner()) is not None:
        return refusal
    folder = _folder(name, job_id)
    if jobs.read_status(folder).get("state") != "done":
        abort(409, description=words()("recount_not_done"))
    info = jobs.read_job(folder)
    comment = request.form.get("comment", "").strip()[:MAX_COMMENT] or words()("recount_default_comment")
    path = _data.plan_path(name)
    store = version_store()
    base = int(info["base_version"])
    try:
        old = store.load(name, base)
        version = store.save(name, geo.read_plan(folder / "output" / "updated.gpkg"), base=base,
                             author=current_user.username, comment=comment, parent_plan=old, path=path)
    except VersionConflict:
        abort(409, description=words()("recount_conflict"))
    audit("plan_update", target=f"{name} v{version}")
    shutil.rmtree(folder, ignore_errors=True)
    return redirect(url_for("maps.plan_map", name=name))


@bp.post("/plans/<name>/update/<job_id>/discard")
def discard(name: str, job_id: str):
    """Drop the update: the job goes, the plan stays as it was."""
    if (refusal := require_planner()) is not None:
        return refusal
    folder = _folder(name, job_id)
    if jobs.read_status(folder).get("state") in ("queued", "running"):
        abort(409, description=words()("job_busy"))
    shutil.rmtree(folder, ignore_errors=True)
    audit("plan_update_discarded", target=name)
    return redirect(url_for("maps.plan_map", name=name))
