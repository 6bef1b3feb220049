"""Fuzz test of the editor API's JSON (issue 19): arbitrary bodies to every editor POST route,
signed in as an editor on a copy of the real Kunming plan, never get a 500."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from tests.test_editor_api import Editor


def _bodies(real_ids):
    """JSON bodies: junk of every type, and dictionaries of the editor's keys holding junk or the
    plan's real grid ids (so that bad seeds and lists reach real grids)."""
    ids = st.one_of(st.text(max_size=8), st.integers(), st.sampled_from(["B1", "", "0", *real_ids]))
    values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(min_value=-10 ** 30, max_value=10 ** 30),
                                    st.integers(-3, 3), st.floats(allow_nan=False), ids, st.lists(ids, max_size=4)),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                          max_leaves=8)
    return st.one_of(values, st.fixed_dictionaries({}, optional={
        k: values for k in ("grid", "grids", "buildings", "to_grid", "seed", "comment", "base_version")}))


_routes = st.one_of(st.sampled_from(["/edit/move", "/edit/merge", "/edit/split", "/edit/rerun", "/edit/lock",
                                     "/edit/unlock", "/edit/undo", "/edit/redo", "/versions",
                                     "/versions/1/restore", "/versions/99/restore"]),
                    st.text(alphabet="abcxyz", min_size=1, max_size=6).map(lambda op: f"/edit/{op}"))


@pytest.fixture(scope="module")
def editor(plan_path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    shutil.copy(plan_path, tmp / "kunming.gpkg")
    app = create_app({"TESTING": True, "PLANS": [str(tmp / "kunming.gpkg")], "USERS_DB": str(tmp / "users.sqlite"),
                      "VERSIONS_DB": str(tmp / "versions.sqlite")})
    return Editor(app)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=_routes, data=st.data())
def test_editor_api_never_answers_500(editor, route, data):
    body = data.draw(_bodies([g["grid_id"] for g in editor.state["grids"]][:20]))
    resp = editor.client.post(f"/api/plans/kunming{route}", json=body,
                              headers={"X-CSRFToken": editor.state["csrf_token"]})
    assert resp.status_code < 500, (route, body, resp.get_json())
