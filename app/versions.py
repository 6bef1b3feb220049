"""Plan versions and edit sessions, stored in SQLite — the editor's memory, without Flask.

A :class:`VersionStore` keeps, per plan, every saved **version**: the whole plan (its GeoPackage
bytes, compressed), its author, comment, parent and the diff against its parent
(:func:`partitioning.diff.diff_plans`); and each user's stored edit session (base version,
operations, position, revision). A save is one SQLite transaction (``BEGIN IMMEDIATE``: one
writer at a time) around the atomic rewrite of the plan file (:func:`geo.plan.atomic_path`): a
failed save leaves neither a version nor a changed plan file. A plan file changed outside the
editor (for example by ``gridplan update``) is recorded as a new version the next time the store
reads it, so a session based on the old file cannot overwrite the change.

An :class:`EditSession` is one user's operations of :mod:`partitioning.editing` on one plan and
the plans they made (undo/redo move a position). The Flask routes are :mod:`app.editor`; this
module lives in ``app/`` and not in ``geo/`` because it is the web editor's state (users,
sessions, a database in the instance folder), not the plan file's format.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import tempfile
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geo
from geo.errors import GridplanError
from geo.plan import atomic_path
from partitioning import editing
from partitioning.diff import diff_plans

__all__ = ["VersionStore", "VersionConflict", "SessionConflict", "EditSession", "FILE_AUTHOR", "FIRST_COMMENT",
           "OUTSIDE_COMMENT"]

logger = logging.getLogger(__name__)

#: Author and comment of a version recorded from the plan file itself.
FILE_AUTHOR = "gridplan"
FIRST_COMMENT = "the plan file"
OUTSIDE_COMMENT = "the plan file was changed outside the editor"


class VersionConflict(GridplanError):
    """A save based on a version that is no longer the latest."""

    def __init__(self, base: int, latest: int):
        self.base, self.latest = base, latest
        super().__init__(f"version {base} is not the latest ({latest} was saved since); reload the latest "
                         "version and apply your changes again")


class SessionConflict(GridplanError):
    """An edit session changed by another request (another window or tab) since it was read."""

    def __init__(self):
        super().__init__("your edit session was changed in another window; reload the editor")


# --- the version store -------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    plan TEXT NOT NULL, version INTEGER NOT NULL, parent INTEGER, author TEXT, comment TEXT,
    created TEXT NOT NULL, diff TEXT, snapshot BLOB NOT NULL, PRIMARY KEY (plan, version)
);
CREATE TABLE IF NOT EXISTS sessions (
    plan TEXT NOT NULL, user TEXT NOT NULL, base INTEGER NOT NULL, ops TEXT NOT NULL, pos INTEGER NOT NULL,
    rev INTEGER NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (plan, user)
);
"""

#: SHA-256 of plan files by (path, size, modification time): a request costs a ``stat``.
_DIGESTS: dict = {}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        if len(_DIGESTS) > 64:
            _DIGESTS.clear()
        _DIGESTS[key] = _digest(path.read_bytes())
    return _DIGESTS[key]


def _plan_bytes(plan: geo.Plan) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = geo.write_plan(plan, Path(tmp) / "plan.gpkg")
        return path.read_bytes()


_GPKG_MAGIC = b"SQLite format 3\x00"


def _pack(data: bytes) -> bytes:
    """A plan's GeoPackage bytes as stored in a version: zlib level 1 (a third of the size, ~0.1 s
    for Suzhou's 7.6 MB)."""
    return zlib.compress(data, 1)


def _unpack(blob: bytes) -> bytes:
    """The GeoPackage bytes of a stored version (stores of the first release kept them as they were)."""
    return bytes(blob) if bytes(blob[:16]) == _GPKG_MAGIC else zlib.decompress(blob)


def _bytes_plan(data: bytes) -> geo.Plan:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.gpkg"
        path.write_bytes(data)
        return geo.read_plan(path)


def _diff(parent: geo.Plan, new: geo.Plan) -> str:
    return json.dumps(diff_plans(parent, new).to_dict(), ensure_ascii=False, default=str)


class VersionStore:
    """Versions of plans, and the editors' sessions, in one SQLite database.

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
            con.execute("PRAGMA journal_mode=WAL")  # readers never wait for a save
            if "sha256" not in {r["name"] for r in con.execute("PRAGMA table_info(versions)")}:
                con.execute("ALTER TABLE versions ADD COLUMN sha256 TEXT")  # a store of the first release
                for plan, version, blob in con.execute("SELECT plan, version, snapshot FROM versions").fetchall():
                    con.execute("UPDATE versions SET sha256 = ? WHERE plan = ? AND version = ?",
                                (_digest(_unpack(blob)), plan, version))

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

    @staticmethod
    def _latest_digest(con, plan: str) -> tuple[int | None, str | None]:
        row = con.execute("SELECT version, sha256 FROM versions WHERE plan = ? ORDER BY version DESC LIMIT 1",
                          (plan,)).fetchone()
        return (None, None) if row is None else (row["version"], row["sha256"])

    def latest(self, plan: str) -> int | None:
        """Number of the latest version of ``plan`` (None before the first)."""
        with self._connect() as con:
            return self._latest(con, plan)

    def ensure(self, plan: str, path) -> int:
        """The latest version of ``plan``, after recording the plan file as a version when it is not
        the latest one: version 1 for a new plan, a new version when the file was changed outside
        the editor (``gridplan update``, a copy from elsewhere)."""
        path = Path(path)
        with self._connect() as con:
            latest, digest = self._latest_digest(con, plan)
        if latest is not None and digest == _file_digest(path):
            return latest
        with self._write() as con:  # saves rewrite the file inside their transaction: read it again here
            data = path.read_bytes()
            latest, digest = self._latest_digest(con, plan)
            if latest is not None and digest == _digest(data):
                return latest
            version = 1 if latest is None else latest + 1
            diff = None
            if latest is not None:
                old = con.execute("SELECT snapshot FROM versions WHERE plan = ? AND version = ?",
                                  (plan, latest)).fetchone()[0]
                diff = _diff(_bytes_plan(_unpack(old)), _bytes_plan(data))
                logger.warning("plan %s: %s; recorded as version %d", plan, OUTSIDE_COMMENT, version)
            con.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (plan, version, latest, FILE_AUTHOR, OUTSIDE_COMMENT if latest else FIRST_COMMENT,
                         _now(), diff, _pack(data), _digest(data)))
        return version

    def save(self, plan: str, new: geo.Plan, *, base: int, author: str, comment: str = "",
             parent_plan: geo.Plan | None = None, path=None) -> int:
        """Store ``new`` as the version after ``base``, and write it to the plan file ``path``.

        The author's edit session of the plan starts again, empty, on the new version (in the
        same transaction).

        Raises
        ------
        VersionConflict
            When ``base`` is not the latest version.
        """
        data = _plan_bytes(new)
        diff = None if parent_plan is None else _diff(parent_plan, new)
        with self._write() as con:  # the check, the insert and the plan file: all or nothing
            latest = self._latest(con, plan)
            if latest != base:
                raise VersionConflict(base, latest)
            version = base + 1
            con.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (plan, version, base, author, comment, _now(), diff, _pack(data), _digest(data)))
            self._put_session(con, plan, author, base=version, ops=[], pos=0)
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
        return _bytes_plan(_unpack(row[0]))

    # sessions

    def session(self, plan: str, user: str) -> dict | None:
        """The stored edit session of ``user`` on ``plan``: ``base``, ``ops``, ``pos``, ``rev``."""
        with self._connect() as con:
            row = con.execute("SELECT base, ops, pos, rev FROM sessions WHERE plan = ? AND user = ?",
                              (plan, user)).fetchone()
        return None if row is None else {**dict(row), "ops": json.loads(row["ops"])}

    def put_session(self, plan: str, user: str, *, base: int, ops: list, pos: int, rev: int) -> int:
        """Store a session read at revision ``rev``; returns its new revision.

        Raises
        ------
        SessionConflict
            When the stored session is no longer at revision ``rev``.
        """
        with self._write() as con:
            row = con.execute("SELECT rev FROM sessions WHERE plan = ? AND user = ?", (plan, user)).fetchone()
            if (row["rev"] if row else 0) != rev:
                raise SessionConflict()
            return self._put_session(con, plan, user, base=base, ops=ops, pos=pos)

    @staticmethod
    def _put_session(con, plan, user, *, base, ops, pos) -> int:
        row = con.execute("SELECT rev FROM sessions WHERE plan = ? AND user = ?", (plan, user)).fetchone()
        rev = (row["rev"] if row else 0) + 1
        con.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (plan, user, base, json.dumps(ops, ensure_ascii=False), pos, rev, _now()))
        return rev


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --- edit sessions -----------------------------------------------------------------------------------

@dataclass
class EditSession:
    """One user's edits of one plan: the operations and the plans they made.

    ``plans[0]`` is version ``base`` as loaded; ``plans[i + 1]`` is what ``ops[i]`` made of
    ``plans[i]``; ``plans[pos]`` is the current plan (undo lowers ``pos``, redo raises it, a new
    operation drops the redo tail). ``rev`` is the revision of the stored session these match.
    """

    base: int
    plans: list
    make_graph: Callable = editing.edit_graph
    ops: list = field(default_factory=list)
    pos: int = 0
    rev: int = 0
    graph: object = None

    @property
    def plan(self) -> geo.Plan:
        return self.plans[self.pos]

    @property
    def notices(self) -> list:
        """The warnings of the operation that made the current plan (``EditResult.notices``)."""
        return self.ops[self.pos - 1]["notices"] if self.pos else []

    def contiguity(self):
        """The contiguity graph of the plans (their buildings and cells never change)."""
        if self.graph is None:
            self.graph = self.make_graph(self.plans[0])
        return self.graph

    def apply(self, op: str, args: dict) -> editing.EditResult:
        """Apply an operation to the current plan; the redo tail is dropped when it succeeds."""
        result = self._run(op, args, self.plan)
        del self.plans[self.pos + 1:], self.ops[self.pos:]
        self._append(op, args, result)
        return result

    def _run(self, op: str, args: dict, plan: geo.Plan) -> editing.EditResult:
        func, needs_graph = editing.OPERATIONS[op]
        return func(plan, self.contiguity(), **args) if needs_graph else func(plan, **args)

    def _append(self, op: str, args: dict, result: editing.EditResult) -> None:
        self.plans.append(result.plan)
        self.ops.append({"op": op, "args": args, "notices": result.notices})
        self.pos = len(self.ops)

    def sync(self, stored: dict) -> None:
        """Catch up with the stored session (same base): keep the plans of the operations both
        share, replay the others."""
        same = 0
        for mine, theirs in zip(self.ops, stored["ops"]):
            if (mine["op"], mine["args"]) != (theirs["op"], theirs["args"]):
                break
            same += 1
        del self.plans[same + 1:], self.ops[same:]
        for o in stored["ops"][same:]:
            self._append(o["op"], o["args"], self._run(o["op"], o["args"], self.plans[-1]))
        self.pos, self.rev = stored["pos"], stored["rev"]

    def stored(self) -> dict:
        return {"base": self.base, "ops": self.ops, "pos": self.pos}
