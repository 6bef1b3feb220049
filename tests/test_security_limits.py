"""Request limits (issue 19, finding 2), crash debris and unreadable plans (finding 5), and the
editor's argument bounds (finding 7, editor part), on a copy of the real Kunming plan."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pytest

import geo
from app import create_app
from tests.test_editor_api import Editor


@pytest.fixture()
def folder(plan_path, tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(plan_path, plans / "kunming.gpkg")
    return plans


def _app(folder, tmp_path, **settings):
    return create_app({"TESTING": True, "PLANS": [str(folder)], "USERS_DB": str(tmp_path / "users.sqlite"),
                       "VERSIONS_DB": str(tmp_path / "versions.sqlite"), **settings})


class _Unreadable(io.RawIOBase):
    """A 1 GiB request body that fails the test if anyone reads it (seekable, so that the test
    client takes its Content-Length from it)."""

    size, pos = 1024 ** 3, 0

    def readable(self):
        return True

    def seek(self, offset, whence=0):
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def readinto(self, b):
        raise AssertionError("the body was read")


def test_large_body_refused_from_content_length_without_reading(folder, tmp_path):
    app = _app(folder, tmp_path)
    client = app.test_client()
    resp = client.post("/login", input_stream=_Unreadable(), content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 413
    assert "请求过大" in resp.get_data(as_text=True)
    resp = client.post("/api/plans/kunming/edit/split?lang=en", input_stream=_Unreadable(),
                       content_type="application/json")
    assert resp.status_code == 413 and "request too large" in resp.get_json()["error"]


def test_body_limit_raises_the_limit_for_one_route(folder, tmp_path):
    from app._data import body_limit

    app = _app(folder, tmp_path, MAX_CONTENT_LENGTH=1000, WTF_CSRF_ENABLED=False, PUBLIC_MAP=True)

    @app.post("/upload-test")
    @body_limit(10_000)
    def upload():
        from flask import request

        return {"got": len(request.get_data())}

    client = app.test_client()
    assert client.post("/upload-test", data=b"x" * 5000).get_json() == {"got": 5000}
    assert client.post("/upload-test", data=b"x" * 20_000).status_code == 413


def test_long_password_refused_before_hashing(folder, tmp_path, monkeypatch):
    from app import auth
    from geo.errors import InputError

    app = _app(folder, tmp_path)
    auth.add_user(app.config["USERS_DB"], "viewer", "correct-horse-1", role="viewer")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    calls = []
    monkeypatch.setattr(auth, "check_password_hash", lambda *a: calls.append(a) or False)
    resp = client.post("/login", data={"username": "viewer", "password": "x" * 1_000_000, "csrf_token": token})
    assert resp.status_code == 413 and calls == []
    with pytest.raises(InputError, match="at most"):
        auth.add_user(app.config["USERS_DB"], "big", "x" * (auth.MAX_PASSWORD + 1))


@pytest.mark.parametrize("body", [{"grid": "G", "seed": -1}, {"grid": "G", "seed": 10 ** 30},
                                  {"grid": "G", "seed": True}, {"grid": "G", "seed": 1.5}])
def test_bad_seed_is_422_in_the_page_language(folder, tmp_path, body):
    app = _app(folder, tmp_path)
    ed = Editor(app)
    grid = ed.state["grids"][0]["grid_id"]
    out = ed.post("/edit/split?lang=en", {**body, "grid": grid}, status=422)
    assert "seed must be a whole number" in out["error"]


def test_library_split_refuses_negative_seed(plan_path):
    from partitioning import editing

    plan = geo.read_plan(plan_path)
    grid = plan.buildings["grid_id"].value_counts().index[0]
    with pytest.raises(editing.EditError, match="seed -1"):
        editing.split_grid(plan, editing.edit_graph(plan), grid, seed=-1)


def test_long_comment_and_long_id_lists_are_422(folder, tmp_path):
    from app import editor

    ed = Editor(_app(folder, tmp_path))
    out = ed.post("/versions?lang=en", {"base_version": 1, "comment": "x" * (editor.MAX_COMMENT + 1)}, status=422)
    assert "comment" in out["error"]
    out = ed.post("/edit/lock?lang=en", {"grids": ["G"] * (editor.MAX_IDS + 1)}, status=422)
    assert "at most" in out["error"]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_crash_debris_is_not_served_and_is_cleaned_at_start(folder, tmp_path):
    from geo.plan import atomic_path

    with atomic_path(folder / "kunming.gpkg") as tmp:  # the name a writer uses, with its live PID
        live = tmp.name
        shutil.copy(folder / "kunming.gpkg", tmp)
    assert f".tmp-{os.getpid()}-" in live
    dead = folder / f".kunming.gpkg.tmp-{_dead_pid()}-abc123.gpkg"
    shutil.copy(folder / "kunming.gpkg", dead)  # as kill -9 during write_plan leaves it
    (folder / (dead.name + "-journal")).write_bytes(b"x")
    running = folder / f".kunming.gpkg.tmp-{os.getpid()}-xyz789.gpkg"  # a write in progress
    running.write_bytes(b"partial")
    app = _app(folder, tmp_path, PUBLIC_MAP=True)
    assert list(app.config["PLAN_FILES"]) == ["kunming"]
    assert not dead.exists() and not (folder / (dead.name + "-journal")).exists() and running.exists()
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert [p["name"] for p in client.get("/api/plans").get_json()] == ["kunming"]


def test_corrupt_plan_does_not_take_down_the_others(folder, tmp_path):
    data = (folder / "kunming.gpkg").read_bytes()
    (folder / "broken.gpkg").write_bytes(data[: len(data) // 2] + b"\0" * 4096)
    app = _app(folder, tmp_path, PUBLIC_MAP=True)
    client = app.test_client()
    index = client.get("/")
    assert index.status_code == 200 and "kunming" in index.get_data(as_text=True)
    assert [p["name"] for p in client.get("/api/plans").get_json()] == ["kunming"]
    for url in ("/plans/broken/", "/api/plans/broken"):
        resp = client.get(url)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 500 and "broken" in body and "无法读取" in body
        assert str(tmp_path) not in body
