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
import shutil
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
from flask_login import current_user

from app import jobs
from app._data import body_limit, lang
from app.audit import audit
from app.auth import words
from app.uploads import ROUTE_CEILING, UploadRefused, save_upload
from geo.plan import is_temporary
from maps.i18n import has_text, text

__all__ = [
    "OPTION_FIELDS",
    "PLAN_NAME",
    "bp",
    "init_app",
    "job_folder",
    "refresh_plans",
    "require_planner",
    "status_words",
]

bp = Blueprint("newplan", __name__)

#: A new plan's name: a letter or digit (Chinese ones too) first, then letters, digits, - and _.
PLAN_NAME = re.compile(r"[^\W_][\w-]{0,63}")
#: Form fields kept as the job's options (of :func:`geo.load_buildings`).
OPTION_FIELDS = ("crs", "encoding", "sheet", "ledger_key", "ledger_count", "building_key")
PLANNER_ROLES = ("editor", "admin")
_MAX_TARGET = 10_000


def _t():
    return words()


def require_planner():
    """``None`` for an editor or admin; a redirect to the login page for a visitor; else 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in PLANNER_ROLES:
        abort(403, description=_t()("newplan_forbidden"))
    return None


def jobs_dir() -> Path:
    return Path(current_app.config["JOBS_DIR"])


def job_folder(job_id: str, kind: str) -> Path:
    """The folder of the current user's job ``job_id`` of ``kind``; 404 otherwise (another user's too)."""
    folder = jobs.folder_of(jobs_dir(), job_id, current_user.username)
    if folder is None or jobs.read_job(folder).get("kind") != kind:
        abort(404, description=f"{_t()('job')} {job_id}: {_t()('not_found')}")
    return folder


def status_words(status: dict) -> str | None:
    """A failed job's error in the page's language: its ``reason`` said by ``maps.i18n``, else the
    error's own text (the library's message, naming the file, row and fix)."""
    if status.get("state") != "failed":
        return None
    reason, language = status.get("reason"), lang()
    if reason:
        for key in (reason, f"job_{reason}", f"upload_{reason}"):
            if has_text(key):
                return text(key, language).format(**(status.get("params") or {}))
    return f"{text('job_failed', language)}: {status.get('error') or ''}"


def _options(form, old: dict | None = None) -> dict:
    out = dict(old or {})
    for key in OPTION_FIELDS:
        if key in form:
            out[key] = form.get(key, "").strip()[:200] or None
    return out


def _refused(exc: UploadRefused, status: int = 422):
    message = _t()(f"upload_{exc.reason}").format(**exc.params)
    return render_template("newplan.html", lang=lang(), t=_t(), error=message, form=request.form,
                           limit_mb=_limit_mb()), status


def _limit_mb() -> int:
    return int(current_app.config["UPLOAD_LIMIT"]) // 2**20


def _new_job(kind: str, roles, **fields) -> tuple[Path, dict]:
    """A job folder holding the uploaded files of ``roles``; refused files leave no folder."""
    jobs.clean(jobs_dir(), max_age_hours=float(current_app.config["JOB_KEEP_HOURS"]))
    folder = jobs.create(jobs_dir(), owner=current_user.username, kind=kind, **fields)
    inputs, names = {}, {}
    try:
        for role in roles:
            saved = save_upload(request.files.get(role), folder / "inputs", role,
                                unzip_limit=int(current_app.config["UNZIP_LIMIT"]))
            if saved is not None:
                inputs[role] = str(saved.relative_to(folder))
                names[role] = shown_name(request.files[role].filename, saved)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        close_uploads()
    return folder, jobs.update_job(folder, inputs=inputs, names=names)


def close_uploads() -> None:
    """Close the request's spooled upload files now (a refused one is not left to the collector)."""
    for _, storage in request.files.items(multi=True):  # noqa: PERF102 - every file of a field (multi)
        storage.close()


def shown_name(filename: str, saved: Path) -> str:
    """The name a file is shown by in messages: the browser's name without folders, cut to 80
    characters (never used to store anything), with the part of a zipped Shapefile read."""
    name = re.split(r"[\\/]", filename or "")[-1].strip()[:80] or saved.name
    return f"{name} ({saved.suffix.lstrip('.')})" if saved.parent.name != "inputs" else name


@bp.get("/new")
def form():
    return require_planner() or render_template("newplan.html", lang=lang(), t=_t(), form={}, error=None,
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
        folder, _ = _new_job("newplan", ("footprints", "ledger", "boundary", "barriers"),
                             options=_options(request.form), name=request.form.get("name", "").strip()[:64],
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
    return render_template("newplan_job.html", lang=lang(), t=_t(), job=info, status=status, report=report, made=made,
                           failure=status_words(status), error=error,
                           config={"status": url_for("newplan.status", job_id=job_id),
                                   "running": status.get("state") in ("queued", "running"),
                                   "words": {k: _t()(k) for k in STAGE_KEYS}}), code


@bp.post("/new/<job_id>/check")
def recheck(job_id: str):
    """Check again with the columns (or CRS, encoding) chosen on the report."""
    if (refusal := require_planner()) is not None:
        return refusal
    folder = job_folder(job_id, "newplan")
    if jobs.read_status(folder).get("state") in ("queued", "running"):
        abort(409, description=_t()("job_busy"))
    options = _options(request.form, jobs.read_job(folder).get("options"))
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
        abort(409, description=_t()("job_busy"))
    if jobs.result(folder, "check") is None:
        return job(job_id, error=_t()("newplan_check_first"), code=409)
    options = _options(request.form, info.get("options"))
    fields = _name_target(request.form)
    report = jobs.result(folder, "check")
    if _effective(options, report) != _effective(info.get("checked_options"), report):
        # the report shown must be the one of these options: check them first
        jobs.update_job(folder, options=options, checked_options=options, **fields)
        jobs.start(folder, "check")
        return redirect(url_for("newplan.job", job_id=job_id))
    name, target = fields["name"], fields["target"]
    if not PLAN_NAME.fullmatch(name):
        return job(job_id, error=_t()("newplan_bad_name").format(name=name), code=422)
    plans_dir = Path(current_app.config["NEW_PLANS_DIR"])
    if name in current_app.config["PLAN_FILES"] or (plans_dir / f"{name}.gpkg").exists():
        return job(job_id, error=_t()("job_name_exists").format(name=name), code=409)
    if not target.isdigit() or not 1 <= int(target) <= _MAX_TARGET:
        return job(job_id, error=_t()("newplan_bad_target").format(most=_MAX_TARGET), code=422)
    jobs.update_job(folder, name=name, target=int(target), plans_dir=str(plans_dir), options=options)
    jobs.start(folder, "plan")
    audit("plan_create", target=name)
    return redirect(url_for("newplan.job", job_id=job_id))


@bp.get("/jobs/<job_id>/status")
def status(job_id: str):
    """The job's status for the page's progress bar (its owner's only)."""
    if (refusal := require_planner()) is not None:
        return refusal
    folder = jobs.folder_of(jobs_dir(), job_id, current_user.username)
    if folder is None:
        abort(404)
    s = jobs.read_status(folder)
    return {"state": s.get("state"), "step": s.get("step"), "stage": s.get("stage"),
            "fraction": s.get("fraction"), "error": status_words(s)}


#: Words of the progress bar (stages of :mod:`app.jobwork`).
STAGE_KEYS = tuple(f"stage_{s}" for s in ("queued", "start", "read", "report", "plan", "write", "check", "publish",
                                           "ledger", "update", "diff", "done"))


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
    """The settings' defaults (jobs and new plans folders), the plan list's refresh, the routes."""
    from app import (
        recount,  # recount imports this module's helpers: a cycle at import time
    )

    if not app.config.get("JOBS_DIR"):
        app.config["JOBS_DIR"] = str(Path(app.config["USERS_DB"]).with_name("gridplan-jobs"))
    if not app.config.get("NEW_PLANS_DIR"):
        first = Path(app.config["PLANS"][0])
        app.config["NEW_PLANS_DIR"] = str(first if first.is_dir() else first.parent)
    Path(app.config["NEW_PLANS_DIR"]).mkdir(parents=True, exist_ok=True)
    refresh_plans(app)
    app.before_request(lambda: refresh_plans(app))
    app.context_processor(lambda: {"may_plan": current_user.is_authenticated
                                   and current_user.role in PLANNER_ROLES})
    app.register_blueprint(bp)
    app.register_blueprint(recount.bp)
