"""The audit log written off the request path (app.audit): queued per process, written in batches.

Uses the hand-made two-grid plan of tests/test_auth.py (``plan_file``) and a viewer signed in
through the login form.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app import create_app
from app.audit import flush, read_audit, writer
from tests.test_app import signed_in

CARD = "/api/plans/tiny/grids/320508001001002"


@pytest.fixture()
def app(plan_file, tmp_path):
    app = create_app({"TESTING": True, "PLANS": [str(plan_file)], "USERS_DB": str(tmp_path / "users.sqlite"),
                      "BASEMAP": "none", "SECRET_KEY": "test-key", "AUDIT_FLUSH_SECONDS": 3600})
    yield app
    flush()


def _rows(app) -> list[tuple]:
    """The audit_log table as it is on disk, read without flushing."""
    with sqlite3.connect(app.config["USERS_DB"]) as con:
        return con.execute("SELECT username, role, action, path FROM audit_log ORDER BY id").fetchall()


def test_a_view_is_queued_not_written_on_the_request_then_flushed(app):
    viewer = signed_in(app, "viewer")
    flush()
    before = _rows(app)
    assert viewer.get(CARD).status_code == 200
    assert _rows(app) == before  # the request did not wait for SQLite
    assert flush() == 1
    assert _rows(app) == before + [("viewer", "viewer", "view", CARD)]


def test_a_burst_of_1000_audited_requests_is_written_whole_and_in_order(app):
    viewer = signed_in(app, "viewer")
    flush()
    n_before = len(_rows(app))
    for i in range(1000):
        assert viewer.get(f"{CARD}?i={i}").status_code == 200
    entries = read_audit(app.config["USERS_DB"], limit=2000)  # flushes first
    views = [e for e in reversed(entries) if e["action"] == "view"][-1000:]
    assert len(_rows(app)) == n_before + 1000
    assert [e["path"] for e in views] == [f"{CARD}?i={i}" for i in range(1000)]
    assert all(e["username"] == "viewer" and e["role"] == "viewer" and e["address"] == "127.0.0.1"
               and e["target"] == "320508001001002" and e["time"] for e in views)


def test_the_writer_waits_out_a_database_locked_by_another_connection(app):
    viewer = signed_in(app, "viewer")
    flush()
    n_before = len(_rows(app))
    blocker = sqlite3.connect(app.config["USERS_DB"], timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    con = writer()._connection(app.config["USERS_DB"])
    con.execute("PRAGMA busy_timeout = 50")  # do not wait 10 s for the lock in a test
    for _ in range(3):
        assert viewer.get(CARD).status_code == 200  # requests do not wait for the lock either
    assert flush() == 0  # locked: the entries stay queued
    blocker.rollback()
    blocker.close()
    assert flush() == 3
    assert len(_rows(app)) == n_before + 3
    con.execute("PRAGMA busy_timeout = 10000")


def test_nothing_is_lost_on_a_clean_exit(plan_file, tmp_path):
    db = tmp_path / "users.sqlite"
    script = textwrap.dedent(f"""
        from app import create_app
        from tests.test_app import signed_in
        app = create_app({{"TESTING": True, "PLANS": [{str(plan_file)!r}], "USERS_DB": {str(db)!r},
                           "BASEMAP": "none", "SECRET_KEY": "k", "AUDIT_FLUSH_SECONDS": 3600}})
        viewer = signed_in(app, "viewer")
        for _ in range(5):
            assert viewer.get({CARD!r}).status_code == 200
    """)  # exits without flushing: atexit must write the queue
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", script], cwd=root, check=True, timeout=120,
                   env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    with sqlite3.connect(db) as con:
        actions = [a for (a,) in con.execute("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["login"] + ["view"] * 5


def test_the_users_database_is_in_wal_mode_and_made_once_per_process(tmp_path, monkeypatch):
    from app import auth

    db = tmp_path / "users.sqlite"
    auth.init_db(db)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # readers do not wait for the writer
    monkeypatch.setattr(auth, "_SCHEMA", "syntax error")  # a request's connection no longer runs the schema
    auth.connect(db).close()
