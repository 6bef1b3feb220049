"""The audit log: who saw personal data, and sign-ins, written off the request path.

:func:`audit` puts one entry (time, user, role, action, path, target, address) on a queue of
this process and returns; a background thread writes what is queued to the ``audit_log`` table of
the users database in one SQLite transaction every ``AUDIT_FLUSH_SECONDS`` (or sooner, when
:data:`BATCH` entries are waiting). The queue is flushed at exit (``atexit``, and gunicorn's
``worker_exit`` hook in :func:`app.wsgi.run_production`) and before :func:`read_audit` reads.

What a crash can lose: the entries of the last flush interval of a process killed with ``kill -9``
(at most ``AUDIT_FLUSH_SECONDS``, 1 s by default). While another connection holds the database
locked, entries stay queued and are written at a later flush, in their order.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import sqlite3
import threading
import time
from datetime import datetime, timezone

from app.store.sql import DATABASE_ERRORS

__all__ = ["SCHEMA", "BATCH", "audit", "flush", "read_audit", "writer"]

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    username TEXT,
    role TEXT,
    action TEXT NOT NULL,
    path TEXT,
    target TEXT,
    address TEXT
);
"""
#: Entries waiting that make the writer flush before its interval is over.
BATCH = 500
_INSERT = ("INSERT INTO audit_log (time, username, role, action, path, target, address) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")


class _Writer:
    """A queue of entries per database and the thread that writes them in batches."""

    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self._reset()

    def _reset(self) -> None:
        # after a fork the child gets a fresh queue, lock and thread (the parent's thread is not there)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: list[tuple[str, tuple]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._connections: dict[str, sqlite3.Connection] = {}

    def put(self, db: str, row: tuple) -> None:
        self._queue.put((db, row))
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                    self._thread.start()
        if self._queue.qsize() >= BATCH:
            self._wake.set()

    def _run(self) -> None:
        while True:
            # waits in short steps, so that a new ``interval`` (a new app in this process) counts
            # at once, not after the wait begun with the old one
            started = time.monotonic()
            while not self._wake.is_set() and time.monotonic() - started < self.interval:
                self._wake.wait(min(0.1, self.interval))
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the writer must outlive any one failed batch
                logger.exception("audit log: a batch could not be written; it stays queued")

    def flush(self) -> int:
        """Write every queued entry now; the number written (entries of a locked database stay queued)."""
        with self._lock:
            while True:
                try:
                    self._pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not self._pending:
                return 0
            written, kept = 0, []
            for db in dict.fromkeys(d for d, _ in self._pending):
                rows = [r for d, r in self._pending if d == db]
                try:
                    con = self._connection(db)
                    with con:
                        con.executemany(_INSERT, rows)
                    written += len(rows)
                except DATABASE_ERRORS as exc:
                    logger.warning("audit log %s: %d entries wait (%s)", db, len(rows), exc)
                    kept += [(db, r) for r in rows]
            self._pending = kept
            return written

    def _connection(self, db: str) -> sqlite3.Connection:
        if db not in self._connections:
            from app.auth import connect  # inside: app.auth imports this module (its audit log)
            from app.store import is_database_url

            self._connections[db] = connect(db, **({} if is_database_url(db) else {"check_same_thread": False}))
        return self._connections[db]


_WRITER = _Writer()
os.register_at_fork(after_in_child=_WRITER._reset)
atexit.register(lambda: _WRITER.flush())


def writer() -> _Writer:
    """This process's writer (its ``interval`` is set from ``AUDIT_FLUSH_SECONDS`` by the app)."""
    return _WRITER


def audit(action: str, *, target: str | None = None) -> None:
    """Queue one entry of the audit log: the current user, role, path and address (inside a request;
    none for the server's own warm-up, :func:`app.wsgi.warm`)."""
    from flask import current_app, g, request
    from flask_login import current_user

    if g.get("warming"):
        return
    user = current_user if current_user.is_authenticated else None
    _WRITER.put(str(current_app.config["USERS_DB"]),
                (datetime.now(timezone.utc).isoformat(timespec="seconds"), user.username if user else None,
                 user.role if user else None, action, request.full_path.rstrip("?"), target, request.remote_addr))


def flush() -> int:
    """Write this process's queued entries now (see :meth:`_Writer.flush`)."""
    return _WRITER.flush()


def read_audit(path, *, limit: int = 100) -> list[dict]:
    """The latest entries of the audit log, newest first (this process's queue flushed first; other
    processes' entries appear after their next flush, within ``AUDIT_FLUSH_SECONDS``)."""
    from app.auth import connect  # inside: app.auth imports this module (its audit log)

    _WRITER.flush()
    with connect(path) as con:
        return [dict(r) for r in con.execute("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))]
