"""The embedded version store: plan versions and edit sessions in SQLite, beside the plan files.

A :class:`FileStore` keeps, per plan, every saved **version**: the whole plan (its GeoPackage
bytes, compressed), its author, comment, parent, the diff against its parent
(:func:`partitioning.diff.diff_plans`) and the communities it changed; and each user's stored edit
session (base version, operations, position, revision). A save is one SQLite transaction (``BEGIN
IMMEDIATE``: one writer at a time) around the atomic rewrite of the plan file
(:func:`geo.plan.atomic_path`): a failed save leaves neither a version nor a changed plan file. A
plan file changed outside the editor (for example by ``gridplan update``) is recorded as a new
version the next time the store reads it, so a session based on the old file cannot overwrite the
change. Saves based on an older version follow :func:`app.store.base.settle`.
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
from datetime import datetime, timezone
from pathlib import Path

import geo
from app.store.base import FILE_AUTHOR, FIRST_COMMENT, OUTSIDE_COMMENT, SessionConflict, diff_json, settle
from app.store.changes import WHOLE_PLAN
from geo.plan import atomic_path

__all__ = ["FileStore"]

logger = logging.getLogger(__name__)

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
#: Columns a store of an earlier release lacks, with what its rows get (see ``FileStore.__init__``).
_ADDED = {"sha256": "TEXT", "communities": "TEXT"}

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


class FileStore:
    """Versions of plans, and the editors' sessions, in one SQLite database (whole plans per version).

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
            have = {r["name"] for r in con.execute("PRAGMA table_info(versions)")}
            for column, kind in _ADDED.items():
                if column not in have:
                    con.execute(f"ALTER TABLE versions ADD COLUMN {column} {kind}")
            if "sha256" not in have:  # a store of the first release
                for plan, version, blob in con.execute("SELECT plan, version, snapshot FROM versions").fetchall():
                    con.execute("UPDATE versions SET sha256 = ? WHERE plan = ? AND version = ?",
                                (_digest(_unpack(blob)), plan, version))
            # versions of an earlier release changed, as far as anyone knows, the whole plan
            con.execute("UPDATE versions SET communities = ? WHERE communities IS NULL", (json.dumps([WHOLE_PLAN]),))

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
                diff = diff_json(_bytes_plan(_unpack(old)), _bytes_plan(data))
                logger.warning("plan %s: %s; recorded as version %d", plan, OUTSIDE_COMMENT, version)
            self._insert(con, plan, version, latest, FILE_AUTHOR, OUTSIDE_COMMENT if latest else FIRST_COMMENT,
                         diff, data, [WHOLE_PLAN])
        return version

    def save(self, plan: str, new: geo.Plan, *, base: int, author: str, comment: str = "",
             parent_plan: geo.Plan | None = None, path=None, make_graph: Callable | None = None) -> int:
        """Store ``new`` as the version after the latest, made from ``base``, and write it to the plan
        file ``path``.

        The author's edit session of the plan starts again, empty, on the new version (in the
        same transaction). When versions were saved since ``base`` in other communities, ``new``'s
        changes are applied to the latest version (:func:`app.store.base.settle`).

        Raises
        ------
        VersionConflict
            When a version since ``base`` changed a community ``new`` changes.
        """
        with self._write() as con:  # the check, the insert and the plan file: all or nothing
            latest = self._latest(con, plan)
            loaded: dict = {}

            def load(v: int) -> geo.Plan:
                if v not in loaded:
                    loaded[v] = self._load(con, plan, v)
                return loaded[v]

            parent = parent_plan
            if parent is None:
                parent = load(base) if isinstance(base, int) and 1 <= base <= (latest or 0) else new
            settled = settle(
                base=base, latest=latest, parent=parent, new=new, make_graph=make_graph, load=load,
                since=lambda: [set(json.loads(r[0])) for r in con.execute(
                    "SELECT communities FROM versions WHERE plan = ? AND version > ?", (plan, base))])
            data = _plan_bytes(settled.plan)
            diff = None if parent_plan is None and latest == base else diff_json(settled.old, settled.plan)
            version = latest + 1
            self._insert(con, plan, version, latest, author, comment, diff, data, sorted(settled.communities))
            self._put_session(con, plan, author, base=version, ops=[], pos=0)
            if path is not None:
                with atomic_path(path) as tmp:
                    tmp.write_bytes(data)
        logger.info("plan %s: version %d saved by %s", plan, version, author)
        return version

    @staticmethod
    def _insert(con, plan, version, parent, author, comment, diff, data, communities) -> None:
        con.execute("INSERT INTO versions (plan, version, parent, author, comment, created, diff, snapshot, sha256, "
                    "communities) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (plan, version, parent, author, comment, _now(), diff, _pack(data), _digest(data),
                     json.dumps(communities, ensure_ascii=False)))

    def versions(self, plan: str) -> list[dict]:
        """Every version of ``plan``, newest first: number, parent, author, comment, time, diff."""
        with self._connect() as con:
            rows = con.execute("SELECT version, parent, author, comment, created, diff, communities FROM versions "
                               "WHERE plan = ? ORDER BY version DESC", (plan,)).fetchall()
        return [{**dict(r), "diff": json.loads(r["diff"]) if r["diff"] else None,
                 "communities": json.loads(r["communities"])} for r in rows]

    def load(self, plan: str, version: int) -> geo.Plan:
        """The plan as it was at ``version``."""
        with self._connect() as con:
            return self._load(con, plan, version)

    @staticmethod
    def _load(con, plan: str, version: int) -> geo.Plan:
        row = con.execute("SELECT snapshot FROM versions WHERE plan = ? AND version = ?", (plan, version)).fetchone()
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
