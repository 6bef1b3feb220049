"""The 新建方案 page: a plan made in the browser, from uploaded footprints and a ledger.

Editors and admins only (others get 403; visitors not signed in go to the login page). Two steps,
each a background job (:mod:`app.jobs`), the page polling its status:

1. **检查 (check)** — ``POST /new`` stores the uploads (:mod:`app.uploads`) in a new job folder
   and reads them (:func:`app.jobwork.check`); ``/new/<job>`` shows the report — what was
   repaired and dropped, the ledger's match summary with every row not matched (line, key,
   candidates) — before anything is written. The ledger's columns and the footprints' field
   they match are chosen there from the headers found, and checked again (``/new/<job>/check``).
2. **生成方案 (plan)** — ``/new/<job>/plan`` plans (:func:`app.jobwork.plan`) into
   ``NEW_PLANS_DIR`` under the name given (a new, safe name: letters, digits, ``-``), with a
   progress bar; the page then links to the plan and shows its check. The plan list picks the new
   file up without a restart (:func:`refresh_plans`).

The views are thin: the work is the job's. Job pages and statuses are their owner's only (404 to
anybody else). Each start and each plan made is written to the audit log.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from app import jobs
from app._data import body_limit, lang
from app.audit import audit
from app.auth import words
from app.jobpages import (
    OPTION_FIELDS,
    form_options,
    job_folder,
    new_job,
    progress_config,
    require_planner,
    status_words,
)
from app.uploads import ROUTE_CEILING, UploadRefused
from geo.plan import is_temporary

__all__ = ["PLAN_NAME", "bp", "init_app", "refresh_plans"]

bp = Blueprint("newplan", __name__)

#: A new plan's name: a letter or digit (Chinese ones too) first, then letters, digits, - and _.
PLAN_NAME = re.compile(r"[^\W_][\w-]{0,63}")
_MAX_TARGET = 10_000


def _refused(exc: UploadRefused, status: int = 422):
    message = words()(f"upload_{exc.reason}").format(**exc.params)
    return render_template("newplan.html", lang=lang(), t=words(), error=message, form=request.form,
                           limit_mb=_limit_mb()), status


def _limit_mb() -> int:
    return int(current_app.config["UPLOAD_LIMIT"]) // 2**20


@bp.get("/new")
def form():
    return require_planner() or render_template("newplan.html", lang=lang(), t=words(), form={}, error=None,
                                                limit_mb=_limit_mb())


@bp.post("/new")
@body_limit(ROUTE_CEILING)  # lowered to UPLOAD_LIMIT by app.uploads.init_app, before the CSRF check
def create():
    """Store the uploads and start the check."""
    if (refusal := require_planner()) is not None:
        return refusal
    if not request.files.get("footprints") or not request.files["footprints"].filename:
        return _refused(UploadRefused("missing", "give the footprints", field="footprints"))
    try:
        folder, _ = new_job("newplan", ("footprints", "ledger", "boundary", "barriers"),
                             options=form_options(request.form), name=request.form.get("name", "").strip()[:64],
                             target=request.form.get("target", "50"))
    except UploadRefused as exc:
        return _refused(exc)
    jobs.update_job(folder, checked_options=jobs.read_job(folder)["options"])
    jobs.start(folder, "check")
    audit("plan_new_check", target=folder.name)
    return redirect(url_for("newplan.job", job_id=folder.name))


@bp.get("/new/<job_id>")
def job(job_id: str, *, error: str | None = None, code: int = 200):
    if (refusal := require_planner()) is not None:
        return refusal
    folder = job_folder(job_id, "newplan")
    status, info = jobs.read_status(folder), jobs.read_job(folder)
    report = jobs.result(folder, "check") if status.get("state") != "running" else None
    made = jobs.result(folder, "plan")
    return render_template("newplan_job.html", lang=lang(), t=words(), job=info, status=status, report=report, made=made,
                           failure=status_words(status), error=error,
                           config=progress_config(job_id, status)), code


@bp.post("/new/<job_id>/check")
def recheck(job_id: str):
    """Check again with the columns (or CRS, encoding) chosen on the report."""
    if (refusal := require_planner()) is not None:
        return refusal
    folder = job_folder(job_id, "newplan")
    if jobs.read_status(folder).get("state") in ("queued", "running"):
        abort(409, description=words()("job_busy"))
    options = form_options(request.form, jobs.read_job(folder).get("options"))
    jobs.update_job(folder, options=options, checked_options=options, **_name_target(request.form))
    jobs.start(folder, "check")
    return redirect(url_for("newplan.job", job_id=job_id))


def _effective(options: dict | None, report: dict) -> dict:
    """``options`` with the ledger columns the check detected filled in (choosing the detected
    column is no change)."""
    out, ledger = {k: (options or {}).get(k) for k in OPTION_FIELDS}, report.get("ledger") or {}
    for key, found in (("ledger_key", "key"), ("ledger_count", "count")):
        out[key] = out[key] or ledger.get(found)
    return out


def _name_target(form) -> dict:
    return {"name": form.get("name", "").strip()[:200], "target": form.get("target", "50").strip()[:20]}


@bp.post("/new/<job_id>/plan")
def make(job_id: str):
    """Plan the checked inputs into the plans folder under a new name."""
    if (refusal := require_planner()) is not None:
        return refusal
    folder = job_folder(job_id, "newplan")
    info, status = jobs.read_job(folder), jobs.read_status(folder)
    if status.get("state") in ("queued", "running"):
        abort(409, description=words()("job_busy"))
    if jobs.result(folder, "check") is None:
        return job(job_id, error=words()("newplan_check_first"), code=409)
    options = form_options(request.form, info.get("options"))
    fields = _name_target(request.form)
    report = jobs.result(folder, "check")
    if _effective(options, report) != _effective(info.get("checked_options"), report):
        # the report shown must be the one of these options: check them first
        jobs.update_job(folder, options=options, checked_options=options, **fields)
        jobs.start(folder, "check")
        return redirect(url_for("newplan.job", job_id=job_id))
    name, target = fields["name"], fields["target"]
    if not PLAN_NAME.fullmatch(name):
        return job(job_id, error=words()("newplan_bad_name").format(name=name), code=422)
    plans_dir = Path(current_app.config["NEW_PLANS_DIR"])
    if name in current_app.config["PLAN_FILES"] or (plans_dir / f"{name}.gpkg").exists():
        return job(job_id, error=words()("job_name_exists").format(name=name), code=409)
    if not target.isdigit() or not 1 <= int(target) <= _MAX_TARGET:
        return job(job_id, error=words()("newplan_bad_target").format(most=_MAX_TARGET), code=422)
    jobs.update_job(folder, name=name, target=int(target), plans_dir=str(plans_dir), options=options)
    jobs.start(folder, "plan")
    audit("plan_create", target=name)
    return redirect(url_for("newplan.job", job_id=job_id))


def refresh_plans(app) -> None:
    """Serve the plan files of ``PLANS`` and ``NEW_PLANS_DIR`` as they are now (a plan made in the
    browser is listed without a restart): re-read when a folder's modification time changed."""
    from app import (
        find_plans,  # app/__init__ imports this module: a cycle at import time
    )

    folders = [p for p in map(Path, app.config["PLANS"]) if p.is_dir()] + [Path(app.config["NEW_PLANS_DIR"])]
    stamp = tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in folders)
    if app.extensions.get("gridplan_plan_stamp") == stamp:
        return
    found = find_plans(app.config["PLANS"])
    known = set(found.values())
    new_dir = Path(app.config["NEW_PLANS_DIR"])
    extra = [f for f in sorted(new_dir.glob("*.gpkg")) if not is_temporary(f) and f.resolve() not in known]
    app.config["PLAN_FILES"] = find_plans([*app.config["PLANS"], *extra]) if extra else found
    app.extensions["gridplan_plan_stamp"] = stamp


def init_app(app) -> None:
    """The new plans folder's default, the plan list's refresh, the routes."""
    if not app.config.get("NEW_PLANS_DIR"):
        first = Path(app.config["PLANS"][0])
        app.config["NEW_PLANS_DIR"] = str(first if first.is_dir() else first.parent)
    Path(app.config["NEW_PLANS_DIR"]).mkdir(parents=True, exist_ok=True)
    refresh_plans(app)
    app.before_request(lambda: refresh_plans(app))
    app.register_blueprint(bp)
