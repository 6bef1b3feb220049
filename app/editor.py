"""The planner's editor: edit sessions with undo/redo, versions, and safe concurrent saves.

Editors and admins edit a plan through ``/api/plans/<name>/edit…`` (see ``docs/editor.md``):
each user has one edit session per plan, a stack of plans made by the operations of
:mod:`partitioning.editing` (undo and redo walk the stack). Saving makes a new **version** in the
version store, an SQLite database in the instance folder (``gridplan-versions.sqlite``): each
version holds the whole plan (its GeoPackage bytes), its author, comment, parent and the diff
against its parent (:func:`partitioning.diff.diff_plans`). A save whose base version is not the
latest is refused with 409; the editor reloads the latest version and replays its operations.
A save is one SQLite transaction (``BEGIN IMMEDIATE``: one writer at a time) around the atomic
rewrite of the plan file (:func:`geo.plan.atomic_path`): a failed save leaves neither a version
nor a changed plan file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock, RLock

from flask import Blueprint, abort, current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

import geo
from app import _data
from geo.errors import GridplanError
from geo.plan import atomic_path
from partitioning import editing

__all__ = ["bp", "VersionStore", "VersionConflict", "EditSession", "init_app", "EDIT_ROLES"]

logger = logging.getLogger(__name__)

bp = Blueprint("editor", __name__, url_prefix="/api/plans/<name>")

#: Roles that may edit plans.
EDIT_ROLES = ("editor", "admin")
_GRID_COLUMNS = ["grid_code", "households", "n_buildings", "status"]


class VersionConflict(GridplanError):
    """A save based on a version that is no longer the latest."""

    def __init__(self, base: int, latest: int):
        self.base, self.latest = base, latest
        super().__init__(f"version {base} is not the latest ({latest} was saved since); reload the latest "
                         "version and apply your changes again")


# --- the version store -------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    plan TEXT NOT NULL, version INTEGER NOT NULL, parent INTEGER, author TEXT, comment TEXT,
    created TEXT NOT NULL, diff TEXT, snapshot BLOB NOT NULL, PRIMARY KEY (plan, version)
);
"""


def _plan_bytes(plan: geo.Plan) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = geo.write_plan(plan, Path(tmp) / "plan.gpkg")
        return path.read_bytes()


def _bytes_plan(data: bytes) -> geo.Plan:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.gpkg"
        path.write_bytes(data)
        return geo.read_plan(path)


class VersionStore:
    """Versions of plans in one SQLite database.

    Parameters
    ----------
    path : str or Path
        The database file (made when missing).
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self):
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self):
        """A write transaction: ``BEGIN IMMEDIATE`` (one writer at a time), rolled back on any error."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @staticmethod
    def _latest(con, plan: str) -> int | None:
        return con.execute("SELECT MAX(version) FROM versions WHERE plan = ?", (plan,)).fetchone()[0]

    def latest(self, plan: str) -> int | None:
        """Number of the latest version of ``plan`` (None before the first)."""
        with self._connect() as con:
            return self._latest(con, plan)

    def ensure(self, plan: str, path) -> int:
        """The latest version of ``plan``; the plan file becomes version 1 when there is none."""
        latest = self.latest(plan)
        if latest is not None:
            return latest
        data = Path(path).read_bytes()
        with self._write() as con:
            latest = self._latest(con, plan)
            if latest is None:
                latest = 1
                con.execute("INSERT INTO versions VALUES (?, 1, NULL, ?, ?, ?, NULL, ?)",
                            (plan, "gridplan", "the plan file", _now(), data))
        return latest

    def save(self, plan: str, new: geo.Plan, *, base: int, author: str, comment: str = "",
             parent_plan: geo.Plan | None = None, path=None) -> int:
        """Store ``new`` as the version after ``base``, and write it to the plan file ``path``.

        Raises
        ------
        VersionConflict
            When ``base`` is not the latest version.
        """
        data = _plan_bytes(new)
        diff = None
        if parent_plan is not None:
            from partitioning.diff import diff_plans

            diff = json.dumps(diff_plans(parent_plan, new).to_dict(), ensure_ascii=False, default=str)
        with self._write() as con:  # the check, the insert and the plan file: all or nothing
            latest = self._latest(con, plan)
            if latest != base:
                raise VersionConflict(base, latest)
            version = base + 1
            con.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (plan, version, base, author, comment, _now(), diff, data))
            if path is not None:
                with atomic_path(path) as tmp:
                    tmp.write_bytes(data)
        logger.info("plan %s: version %d saved by %s", plan, version, author)
        return version

    def versions(self, plan: str) -> list[dict]:
        """Every version of ``plan``, newest first: number, parent, author, comment, time, diff."""
        with self._connect() as con:
            rows = con.execute("SELECT version, parent, author, comment, created, diff FROM versions "
                               "WHERE plan = ? ORDER BY version DESC", (plan,)).fetchall()
        return [{**dict(r), "diff": json.loads(r["diff"]) if r["diff"] else None} for r in rows]

    def load(self, plan: str, version: int) -> geo.Plan:
        """The plan as it was at ``version``."""
        with self._connect() as con:
            row = con.execute("SELECT snapshot FROM versions WHERE plan = ? AND version = ?",
                              (plan, version)).fetchone()
        if row is None:
            raise KeyError(version)
        return _bytes_plan(row[0])


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- edit sessions -----------------------------------------------------------------------------------

@dataclass
class EditSession:
    """One user's edits of one plan: the plans after each operation, and the operations.

    ``plans[0]`` is version ``base`` as loaded; ``plans[pos]`` is the current plan; operations
    ``ops[:pos]`` made it (undo lowers ``pos``, redo raises it, a new operation drops the redo tail).
    """

    base: int
    plans: list
    graph: object = None
    ops: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    pos: int = 0
    lock: Lock = field(default_factory=Lock)

    @property
    def plan(self) -> geo.Plan:
        return self.plans[self.pos]

    def apply(self, op: str, args: dict) -> editing.EditResult:
        func, needs_graph = editing.OPERATIONS[op]
        if needs_graph and self.graph is None:
            self.graph = editing.edit_graph(self.plans[0])  # the buildings and cells never change
        result = func(self.plan, self.graph, **args) if needs_graph else func(self.plan, **args)
        del self.plans[self.pos + 1:], self.ops[self.pos:]
        self.plans.append(result.plan)
        self.ops.append({"op": op, "args": args, "warnings": result.warnings})
        self.pos += 1
        self.warnings = result.warnings
        return result


def _store() -> VersionStore:
    """The app's version store, opened on first use (``VERSIONS_DB``, default beside ``USERS_DB``)."""
    ext = current_app.extensions
    with ext["gridplan_edit_lock"]:
        if ext.get("gridplan_versions") is None:
            path = (current_app.config.get("VERSIONS_DB")
                    or Path(current_app.config["USERS_DB"]).with_name("gridplan-versions.sqlite"))
            ext["gridplan_versions"] = VersionStore(path)
        return ext["gridplan_versions"]


def _require_editor():
    if not current_user.is_authenticated or current_user.role not in EDIT_ROLES:
        # 404, as for any page a visitor may not see: the editor is not shown to other roles
        abort(404, description="the plan editor needs the editor or admin role")


def _session(name: str, *, fresh: bool = False) -> EditSession:
    """The current user's edit session of plan ``name`` (started on the latest version)."""
    path = _data.plan_path(name)
    sessions = current_app.extensions["gridplan_edit_sessions"]
    key = (current_user.username, name)
    with current_app.extensions["gridplan_edit_lock"]:
        session = sessions.get(key)
        if session is None or fresh:
            base = _store().ensure(name, path)
            plan = _store().load(name, base)
            session = EditSession(base=base, plans=[plan])
            sessions[key] = session
    return session


def _grid_rows(plan: geo.Plan) -> list[dict]:
    grids = plan.grids
    cols = _GRID_COLUMNS + [c for c in ("locked",) if c in grids.columns]
    frame = grids[cols].reset_index()
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def _geojson(plan: geo.Plan, ids) -> dict:
    """The grids ``ids`` as GeoJSON in EPSG:4326 (exact polygons, 6 decimals)."""
    grids = plan.grids.loc[list(ids)]
    cols = _GRID_COLUMNS + [c for c in ("locked",) if c in grids.columns]
    return json.loads(grids[cols + [grids.geometry.name]].to_crs(4326).to_json(drop_id=False, ensure_ascii=False, to_wgs84=False))


def _state(name: str, session: EditSession) -> dict:
    return {"plan": name, "base_version": session.base, "latest_version": _store().latest(name),
            "can_undo": session.pos > 0, "can_redo": session.pos < len(session.plans) - 1,
            "operations": [{"op": o["op"], "args": o["args"]} for o in session.ops[:session.pos]],
            "warnings": session.warnings, "metrics": session.plan.meta.get("metrics"),
            "grids": _grid_rows(session.plan), "csrf_token": generate_csrf()}


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="send a JSON object")
    return body


def _args(op: str, body: dict) -> dict:
    """The arguments of operation ``op`` from a request body; 400 when one is missing."""
    def need(key, kind):
        value = body.get(key)
        if not isinstance(value, kind) or (isinstance(value, list) and not value):
            abort(400, description=f"{op}: give {key!r}")
        return value

    seed = body.get("seed", 0)
    if not isinstance(seed, int):
        abort(400, description=f"{op}: seed must be an integer")
    if op == "move":
        return {"building_ids": [str(b) for b in need("buildings", list)], "to_grid": str(need("to_grid", str))}
    if op == "merge":
        grids = need("grids", list)
        if len(grids) != 2:
            abort(400, description="merge: give two grids")
        return {"a": str(grids[0]), "b": str(grids[1])}
    if op == "split":
        return {"grid": str(need("grid", str)), "seed": seed}
    if op == "rerun":
        return {"grids": [str(g) for g in need("grids", list)], "seed": seed}
    return {"grids": [str(g) for g in need("grids", list)], "locked": op == "lock"}


# --- routes ------------------------------------------------------------------------------------------

@bp.get("/edit")
def edit_state(name: str):
    """The edit session's state (started on the latest version when there is none)."""
    _require_editor()
    return _state(name, _session(name))


@bp.post("/edit/<op>")
def edit(name: str, op: str):
    """An operation (move, merge, split, rerun, lock, unlock), undo, redo, or reload."""
    _require_editor()
    body = _body()
    if op == "reload":
        return _reload(name)
    session = _session(name)
    t0 = time.perf_counter()
    with session.lock:
        if op in ("undo", "redo"):
            step = -1 if op == "undo" else 1
            if not 0 <= session.pos + step < len(session.plans):
                abort(409, description=f"nothing to {op}")
            before = session.plan
            session.pos += step
            session.warnings = session.ops[session.pos - 1]["warnings"] if session.pos else []
            changed = _changed_grids(before, session.plan)
            removed = [g for g in before.grids.index if g not in session.plan.grids.index]
        elif op in ("move", "merge", "split", "rerun", "lock", "unlock"):
            try:
                result = session.apply("lock" if op == "unlock" else op, _args(op, body))
            except GridplanError as exc:  # refused edits, and plans without cells
                abort(422, description=str(exc))
            changed, removed = result.changed, result.removed
        else:
            abort(404, description=f"no edit operation {op!r}")
        out = {**_state(name, session), "changed": _geojson(session.plan, changed), "removed": removed,
               "elapsed_ms": round(1000 * (time.perf_counter() - t0), 1)}
    return out


def _changed_grids(a: geo.Plan, b: geo.Plan) -> list:
    """Grids of ``b`` whose buildings, households or lock differ from ``a``."""
    cols = ["households", "n_buildings"] + [c for c in ("locked",) if c in b.grids.columns]
    old = a.grids.reindex(b.grids.index)
    differs = (old[cols].reindex(columns=cols) != b.grids[cols]).any(axis=1)
    members_a = a.buildings.groupby("grid_id").groups
    members_b = b.buildings.groupby("grid_id").groups
    return [g for g in b.grids.index
            if differs[g] or set(members_a.get(g, [])) != set(members_b.get(g, []))]


def _reload(name: str):
    """Start again on the latest version and replay this session's operations; report the ones refused."""
    old = _session(name)
    ops = [o for o in old.ops[:old.pos]]
    session = _session(name, fresh=True)
    refused = []
    with session.lock:
        for o in ops:
            try:
                session.apply(o["op"], o["args"])
            except editing.EditError as exc:
                refused.append({**{"op": o["op"], "args": o["args"]}, "reason": str(exc)})
        return {**_state(name, session), "refused": refused}


@bp.get("/edit/grids.geojson")
def edit_grids(name: str):
    """Every grid of the edit session's current plan as GeoJSON (EPSG:4326)."""
    _require_editor()
    session = _session(name)
    return _geojson(session.plan, session.plan.grids.index)


@bp.get("/versions")
def versions(name: str):
    """The plan's versions, newest first, each with its diff against its parent."""
    _require_editor()
    _store().ensure(name, _data.plan_path(name))
    return {"plan": name, "versions": _store().versions(name)}


@bp.post("/versions")
def save(name: str):
    """Save the edit session's plan as a new version (409 when its base is not the latest)."""
    _require_editor()
    body = _body()
    session = _session(name)
    with session.lock:
        base = body.get("base_version", session.base)
        if base != session.base:
            abort(409, description=f"this edit session is based on version {session.base}, not {base}")
        version = _commit(name, session.plan, base=base, parent=session.plans[0], comment=body.get("comment", ""))
        plan = session.plan
    _fresh_session(name, version, plan, session.graph)
    return {"version": version, "plan": name}, 201


@bp.post("/versions/<int:version>/restore")
def restore(name: str, version: int):
    """Make version ``version`` the latest again (as a new version; nothing is lost)."""
    _require_editor()
    body = _body()
    latest = _store().ensure(name, _data.plan_path(name))
    base = body.get("base_version", latest)
    try:
        old = _store().load(name, version)
    except KeyError:
        abort(404, description=f"plan {name}: no version {version}")
    parent = _store().load(name, latest)
    new = _commit(name, old, base=base, parent=parent, comment=body.get("comment") or f"restored version {version}")
    _fresh_session(name, new, old, None)
    return {"version": new, "restored": version, "plan": name}, 201


def _commit(name: str, plan: geo.Plan, *, base, parent, comment) -> int:
    if not isinstance(base, int):
        abort(400, description="base_version must be an integer")
    try:
        return _store().save(name, plan, base=base, author=current_user.username, comment=str(comment),
                             parent_plan=parent, path=_data.plan_path(name))
    except VersionConflict as exc:
        abort(409, description=str(exc))


def _fresh_session(name: str, version: int, plan: geo.Plan, graph) -> None:
    with current_app.extensions["gridplan_edit_lock"]:
        current_app.extensions["gridplan_edit_sessions"][(current_user.username, name)] = EditSession(
            base=version, plans=[plan], graph=graph)


def init_app(app) -> None:
    """The edit sessions and the routes; the version store opens on first use."""
    app.extensions["gridplan_versions"] = None
    app.extensions["gridplan_edit_sessions"] = {}
    app.extensions["gridplan_edit_lock"] = RLock()
    app.register_blueprint(bp)
