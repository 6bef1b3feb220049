"""Background jobs: the checking, planning and updating the browser pages start, run in a process
of their own.

A job is a folder under ``JOBS_DIR`` (one per upload, named by a random id), holding

``job.json``
    Who started it (``owner``: jobs are shown to that user only), its kind (``newplan``,
    ``update``), the plan it updates, the inputs (paths inside the folder) and their options.
``status.json``
    Written by the job, atomically (temporary file, then rename): ``state`` (``queued``,
    ``running``, ``done``, ``failed``), ``step`` (``check``, ``plan``, ``update``), ``stage`` and
    ``fraction`` (the progress bar), ``error`` (a :class:`geo.errors.GridplanError`'s text, or its
    ``reason``/``params`` for a page to say it in zh or en) and ``result``.
``inputs/``, ``output/``
    The uploaded files (:mod:`app.uploads`) and what the job wrote.

:func:`start` runs ``python -m app.jobs FOLDER STEP`` as a child process (the work of
:mod:`app.jobwork`), so a long job never holds a server thread or worker, and every worker of
``serve --production`` (gunicorn) reads the same status file. A job whose process is gone while
its status says running (killed, the machine restarted) reads as failed. Folders older than
``JOB_KEEP_HOURS`` are removed when a new job starts (:func:`clean`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from geo.errors import GridplanError
from geo.plan import atomic_path

__all__ = [
    "STEPS",
    "Progress",
    "clean",
    "create",
    "folder_of",
    "read_job",
    "read_status",
    "result",
    "run",
    "scrub",
    "start",
    "update_job",
    "write_status",
]

logger = logging.getLogger(__name__)

#: The steps a job runs (functions of :mod:`app.jobwork`).
STEPS = ("check", "plan", "update")
_ID = re.compile(r"[0-9a-f]{16}")
_ROOT = Path(__file__).resolve().parents[1]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")


def create(jobs_dir, *, owner: str, kind: str, **fields) -> Path:
    """A new job folder (made under a hidden name, then renamed: never seen half made)."""
    jobs_dir = Path(jobs_dir)
    jobs_dir.mkdir(parents=True, exist_ok=True)
    job_id = secrets.token_hex(8)
    tmp = jobs_dir / f".{job_id}"
    (tmp / "inputs").mkdir(parents=True)
    (tmp / "output").mkdir()
    _write_json(tmp / "job.json", {"id": job_id, "owner": owner, "kind": kind, "created": _now(), **fields})
    _write_json(tmp / "status.json", {"state": "new", "step": None, "stage": None, "fraction": 0.0,
                                      "updated": _now()})
    folder = jobs_dir / job_id
    os.replace(tmp, folder)
    return folder


def folder_of(jobs_dir, job_id: str, owner: str) -> Path | None:
    """The folder of job ``job_id`` when it exists and ``owner`` started it; else ``None``."""
    if not _ID.fullmatch(job_id or ""):
        return None
    folder = Path(jobs_dir) / job_id
    try:
        job = read_job(folder)
    except (OSError, ValueError):
        return None
    return folder if job.get("owner") == owner else None


def read_job(folder) -> dict:
    return json.loads((Path(folder) / "job.json").read_text(encoding="utf-8"))


def result(folder, step: str) -> dict | None:
    """The result of the job's last ``step`` that ended well (kept when a later step fails)."""
    path = Path(folder) / "output" / f"{step}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def update_job(folder, **fields) -> dict:
    """Change fields of ``job.json`` (the options of the next step)."""
    job = {**read_job(folder), **fields}
    _write_json(Path(folder) / "job.json", job)
    return job


def write_status(folder, **status) -> None:
    """Replace the job's status (atomically: a reader sees the old one or the new one)."""
    _write_json(Path(folder) / "status.json", {**status, "updated": _now()})


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError, TypeError):
        return False
    except PermissionError:
        pass
    return True


def read_status(folder) -> dict:
    """The job's status; a running job whose process is gone reads as failed."""
    status = json.loads((Path(folder) / "status.json").read_text(encoding="utf-8"))
    if status.get("state") in ("queued", "running") and status.get("pid") and not _alive(status["pid"]):
        status = {**status, "state": "failed", "reason": "job_gone", "error": "the job stopped before it ended"}
    return status


def start(folder, step: str) -> int:
    """Run ``step`` of the job in a child process; its process id. The step's earlier result goes."""
    if step not in STEPS:
        raise ValueError(step)
    folder = Path(folder)
    (folder / "output" / f"{step}.json").unlink(missing_ok=True)
    write_status(folder, state="queued", step=step, stage="queued", fraction=0.0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with open(folder / "job.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "app.jobs", str(folder), step], cwd=_ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    write_status(folder, state="queued", step=step, stage="queued", fraction=0.0, pid=proc.pid)
    # reap the child when it ends (no zombie left behind for the server's lifetime)
    threading.Thread(target=proc.wait, name=f"gridplan-job-{folder.name}", daemon=True).start()
    logger.info("job %s: %s started (process %d)", folder.name, step, proc.pid)
    return proc.pid


class Progress:
    """What the running job says: ``progress(stage, fraction)`` writes the status file.

    While a stage runs, each log record of ``partitioning`` moves the bar a little towards the
    next stage's start (the work's own messages as a heartbeat: an estimate, not a measure).
    """

    def __init__(self, folder, step: str):
        self.folder, self.step, self.stage, self.fraction, self.ceiling = Path(folder), step, None, 0.0, 0.0
        self._last = 0.0

    def __call__(self, stage: str, fraction: float, until: float | None = None) -> None:
        self.stage, self.fraction = stage, float(fraction)
        self.ceiling = self.fraction if until is None else float(until)
        self._write()

    def _write(self) -> None:
        write_status(self.folder, state="running", step=self.step, stage=self.stage,
                     fraction=round(self.fraction, 3), pid=os.getpid())
        self._last = time.monotonic()

    def tick(self) -> None:
        if self.ceiling > self.fraction:
            self.fraction += (self.ceiling - self.fraction) * 0.08
            if time.monotonic() - self._last > 0.3:
                self._write()


class _Heartbeat(logging.Handler):
    def __init__(self, progress: Progress):
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record) -> None:
        self.progress.tick()


def run(folder, step: str) -> int:
    """Run ``step`` of the job in ``folder`` (in this process); 0 when done, 1 when failed."""
    from app import jobwork

    folder = Path(folder)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    progress = Progress(folder, step)
    heartbeat = _Heartbeat(progress)
    logging.getLogger("partitioning").addHandler(heartbeat)
    progress("start", 0.01)
    job = read_job(folder)
    try:
        result = scrub(getattr(jobwork, step)(folder, job, progress), folder, job)
    except GridplanError as exc:
        logger.warning("job %s: %s failed: %s", folder.name, step, exc)
        write_status(folder, state="failed", step=step, stage=progress.stage, fraction=progress.fraction,
                     error=scrub(str(exc), folder, job), reason=getattr(exc, "reason", None),
                     params=scrub(getattr(exc, "params", None), folder, job))
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug: said in one line on the page, the traceback in job.log
        traceback.print_exc()
        write_status(folder, state="failed", step=step, stage=progress.stage, fraction=progress.fraction,
                     reason="job_internal", error=f"internal error: {type(exc).__name__}: {exc}"[:500],
                     params={"kind": type(exc).__name__})
        return 1
    _write_json(folder / "output" / f"{step}.json", result)
    write_status(folder, state="done", step=step, stage="done", fraction=1.0, result=result)
    logger.info("job %s: %s done", folder.name, step)
    return 0


def scrub(value, folder, job: dict):
    """``value`` (text, or lists and dicts of it) with the job's files named as the user uploaded
    them and no server path: messages name ``ledger.xlsx``, never ``/srv/…/inputs/ledger.xlsx``."""
    folder = Path(folder)
    pairs = [(str(folder / rel), name) for role, rel in (job.get("inputs") or {}).items()
             if (name := (job.get("names") or {}).get(role))]
    pairs += [(str(folder / "inputs") + os.sep, ""), (str(folder / "output") + os.sep, ""), (str(folder), "…")]
    if job.get("plan_path"):
        pairs.append((str(job["plan_path"]), str(job.get("plan"))))
    if isinstance(value, str):
        for old, new in pairs:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [scrub(v, folder, job) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, folder, job) for k, v in value.items()}
    return value


def clean(jobs_dir, *, max_age_hours: float) -> list[str]:
    """Remove job folders untouched for ``max_age_hours`` (none that is running); their ids."""
    jobs_dir, removed = Path(jobs_dir), []
    if not jobs_dir.is_dir():
        return removed
    cutoff = time.time() - max_age_hours * 3600
    for folder in jobs_dir.iterdir():
        try:
            if not folder.is_dir() or max(folder.stat().st_mtime, (folder / "status.json").stat().st_mtime) > cutoff:
                continue
            if read_status(folder).get("state") in ("queued", "running"):
                continue
        except (OSError, ValueError):
            if folder.stat().st_mtime > cutoff:
                continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder.name)
    if removed:
        logger.info("removed %d old job folder(s)", len(removed))
    return removed


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2]))
