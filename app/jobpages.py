"""What the two pages that run background jobs share — 新建方案 (:mod:`app.newplan`) and 更新户数
(:mod:`app.recount`): who may use them, the current user's job folders, uploads into a new job,
the form's loading options, a job's status and its words.

Jobs (:mod:`app.jobs`) are their owner's only: another user's job is 404, as an unknown one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user

from app import jobs
from app._data import lang
from app.auth import words
from app.uploads import save_upload
from maps.i18n import has_text, text

__all__ = [
    "OPTION_FIELDS",
    "PLANNER_ROLES",
    "STAGE_KEYS",
    "bp",
    "close_uploads",
    "form_options",
    "init_app",
    "job_folder",
    "jobs_dir",
    "new_job",
    "progress_config",
    "require_planner",
    "shown_name",
    "status_words",
]

bp = Blueprint("jobpages", __name__)

#: Form fields kept as the job's options (of :func:`geo.load_buildings`).
OPTION_FIELDS = ("crs", "encoding", "sheet", "ledger_key", "ledger_count", "building_key")
#: The roles that may make and update plans.
PLANNER_ROLES = ("editor", "admin")
#: Words of the progress bar (stages of :mod:`app.jobwork`).
STAGE_KEYS = tuple(f"stage_{s}" for s in ("queued", "start", "read", "report", "plan", "write", "check", "publish",
                                           "ledger", "update", "diff", "done"))


def require_planner():
    """``None`` for an editor or admin; a redirect to the login page for a visitor; else 403."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.role not in PLANNER_ROLES:
        abort(403, description=words()("newplan_forbidden"))
    return None


def jobs_dir() -> Path:
    return Path(current_app.config["JOBS_DIR"])


def job_folder(job_id: str, kind: str) -> Path:
    """The folder of the current user's job ``job_id`` of ``kind``; 404 otherwise (another user's too)."""
    folder = jobs.folder_of(jobs_dir(), job_id, current_user.username)
    if folder is None or jobs.read_job(folder).get("kind") != kind:
        t = words()
        abort(404, description=f"{t('job')} {job_id}: {t('not_found')}")
    return folder


def new_job(kind: str, roles, **fields) -> tuple[Path, dict]:
    """A new job of the current user holding the request's uploaded files of ``roles`` (form
    fields), with ``fields`` in its record; old jobs are cleaned first.

    Raises :class:`app.uploads.UploadRefused` for a refused file, leaving no folder behind.
    """
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


def form_options(form, old: dict | None = None) -> dict:
    """The loading options (:data:`OPTION_FIELDS`) the form gives, over ``old``; blank is none."""
    out = dict(old or {})
    for key in OPTION_FIELDS:
        if key in form:
            out[key] = form.get(key, "").strip()[:200] or None
    return out


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


def progress_config(job_id: str, status: dict, keys=()) -> dict:
    """What a job page's progress bar (``static/jobs.js``) reads: the status URL, whether the job
    runs, and the words of its stages (and of ``keys``)."""
    t = words()
    return {"status": url_for("jobpages.status", job_id=job_id),
            "running": status.get("state") in ("queued", "running"),
            "words": {k: t(k) for k in (*STAGE_KEYS, *keys)}}


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


def init_app(app) -> None:
    """The jobs folder's default (beside the users' database), ``may_plan`` in every template, the
    status route."""
    if not app.config.get("JOBS_DIR"):
        app.config["JOBS_DIR"] = str(Path(app.config["USERS_DB"]).with_name("gridplan-jobs"))
    app.context_processor(lambda: {"may_plan": current_user.is_authenticated
                                   and current_user.role in PLANNER_ROLES})
    app.register_blueprint(bp)
