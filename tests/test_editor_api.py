"""The editor's API (app.editor) on a copy of the real Kunming plan: every operation and its
refusals, undo/redo, versions with their diffs, restore, and two editors saving concurrently."""

from __future__ import annotations

import gzip
import json
import shutil
import threading

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import shape

import geo
from app import create_app
from maps.web.colours import grid_adjacency
from partitioning import editing
from partitioning.codes import short_code
from partitioning.editing import edit_graph
from tests.plans import single_moves
from tests.test_app import signed_in


def app_on_copy(plan_path, tmp_path):
    """A test app serving a copy of ``plan_path`` (edits never touch the module's plan), with its
    own users and versions databases in ``tmp_path``."""
    copy = tmp_path / "kunming.gpkg"
    shutil.copy(plan_path, copy)
    return create_app({"TESTING": True, "PLANS": [str(copy)], "USERS_DB": str(tmp_path / "users.sqlite"),
                       "VERSIONS_DB": str(tmp_path / "versions.sqlite")})


@pytest.fixture()
def app(plan_path, tmp_path):
    return app_on_copy(plan_path, tmp_path)


@pytest.fixture(scope="module")
def moves(plan_path):
    """Buildings (no overlapping partner) that can move to a neighbouring grid, and one that cannot."""
    plan = geo.read_plan(plan_path)
    graph = edit_graph(plan)
    ok = next(single_moves(plan, graph), None)
    breaking = next(single_moves(plan, graph, keeps_connected=False), None)
    assert ok and breaking
    return {"ok": ok, "breaking": breaking}


class Editor:
    """A signed-in client that posts JSON with the CSRF token the editor API hands out."""

    def __init__(self, app, role="editor", name="kunming"):
        self.client, self.name = signed_in(app, role), name
        self.state = self.get("/edit")

    def get(self, path):
        resp = self.client.get(f"/api/plans/{self.name}{path}")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def post(self, path, body=None, *, status=200):
        resp = self.client.post(f"/api/plans/{self.name}{path}", json=body or {},
                                headers={"X-CSRFToken": self.state["csrf_token"]})
        assert resp.status_code == status, resp.get_json()
        data = resp.get_json()
        if status == 200 and "grids" in data:
            self.state = data
        return data

    def grid(self, grid_id):
        return next(g for g in self.state["grids"] if g["grid_id"] == grid_id)


def test_viewers_and_posts_without_token_are_refused(app):
    viewer = signed_in(app, "viewer")
    assert viewer.get("/api/plans/kunming/edit").status_code == 404
    assert viewer.get("/api/plans/kunming/versions").get_json()["error"].endswith("editor or admin role")
    editor = Editor(app)
    resp = editor.client.post("/api/plans/kunming/edit/undo", json={})
    assert resp.status_code == 400 and "CSRF" in resp.get_json()["error"]


def test_move_updates_figures_and_polygons_then_undo_redo(app, moves):
    building, source, target = moves["ok"]
    ed = Editor(app)
    before = {g: ed.grid(g)["households"] for g in (source, target)}
    out = ed.post("/edit/move", {"buildings": [building], "to_grid": target})
    changed = {f["id"]: f for f in out["changed"]["features"]}
    assert set(changed) == {source, target}
    moved_hh = before[source] - ed.grid(source)["households"]
    assert moved_hh == ed.grid(target)["households"] - before[target]
    assert changed[target]["properties"]["households"] == before[target] + moved_hh
    assert changed[target]["geometry"]["type"] == "Polygon"
    assert out["can_undo"] and not out["can_redo"] and out["operations"][0]["op"] == "move"
    undone = ed.post("/edit/undo")
    assert ed.grid(target)["households"] == before[target] and undone["can_redo"]
    assert {f["id"] for f in undone["changed"]["features"]} == {source, target}
    ed.post("/edit/redo")
    assert ed.grid(target)["households"] == before[target] + moved_hh
    ed.post("/edit/redo", status=409)


def test_refusals_give_the_reason(app, moves):
    """A refused edit: 422 with the reason's key and its message in the page's language (Chinese by default)."""
    building, source, target = moves["breaking"]
    ed = Editor(app)
    refused = ed.post("/edit/move", {"buildings": [building], "to_grid": target}, status=422)
    number = short_code(ed.grid(source)["grid_code"])
    assert refused["reason"] == "falls_apart" and f"网格 {number} 将断开成 2 块" in refused["error"]
    assert source not in refused["error"] and refused["fields"]["grid"] == source  # ids for programs only
    far = next(g["grid_id"] for g in ed.state["grids"] if g["grid_id"] not in (source, target))
    ok_building, ok_source, ok_target = moves["ok"]
    assert ed.post("/edit/move", {"buildings": [ok_building], "to_grid": far}, status=422)["reason"] == "not_touching" \
        or far == ok_source
    assert ed.post("/edit/move", {"buildings": ["nope"], "to_grid": target}, status=422)["reason"] == "unknown_building"
    ed.post("/edit/lock", {"grids": [ok_target]})
    assert ed.grid(ok_target)["locked"] == 1
    locked = ed.post("/edit/move", {"buildings": [ok_building], "to_grid": ok_target}, status=422)
    assert locked["reason"] == "locked" and "已锁定" in locked["error"]
    assert ed.post("/edit/split", {"grid": ok_target}, status=422)["reason"] == "locked"
    ed.post("/edit/unlock", {"grids": [ok_target]})
    ed.post("/edit/move", {"buildings": [ok_building], "to_grid": ok_target})
    ed.post("/edit/merge", {"grids": [source]}, status=400)
    ed.post("/edit/teleport", {}, status=404)
    assert ed.state["operations"][-1]["op"] == "move"
    english = ed.post("/edit/move?lang=en", {"buildings": [building], "to_grid": target}, status=422)
    assert f"grid {number} would fall apart into 2 pieces" in english["error"] and english["reason"] == "falls_apart"


def test_every_refusal_is_said_in_chinese_and_english():
    """Each reason the editing library may give has both texts, with (some of) the library's fields."""
    import string

    from maps.i18n import text
    from partitioning.editing import REFUSALS

    for reason, english in REFUSALS.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(english) if f}
        for lang in ("zh", "en"):
            said = text(f"refused_{reason}", lang)
            assert said != f"refused_{reason}" and {f for _, f, _, _ in string.Formatter().parse(said) if f} <= fields


def test_merge_split_rerun(app, moves):
    _, a, b = moves["ok"]
    ed = Editor(app)
    n = len(ed.state["grids"])
    total = sum(g["households"] for g in ed.state["grids"])
    merged = ed.post("/edit/merge", {"grids": [a, b]})
    assert merged["removed"] == [b] and len(ed.state["grids"]) == n - 1
    assert ed.grid(a)["households"] == sum(x["households"] for x in ed.post("/edit/undo")["grids"]
                                           if x["grid_id"] in (a, b))
    ed.post("/edit/redo")
    split = ed.post("/edit/split", {"grid": a, "seed": 1})
    assert len(ed.state["grids"]) == n and len(split["changed"]["features"]) == 2
    rerun = ed.post("/edit/rerun", {"grids": [f["id"] for f in split["changed"]["features"]]})
    assert sum(g["households"] for g in rerun["grids"]) == total
    codes = [g["grid_code"] for g in rerun["grids"]]
    assert len(set(codes)) == len(codes)


def test_save_versions_diff_and_restore(app, moves):
    building, source, target = moves["ok"]
    ed = Editor(app)
    ed.post("/edit/move", {"buildings": [building], "to_grid": target})
    saved = ed.post("/versions", {"comment": "move one building", "base_version": 1}, status=201)
    assert saved["version"] == 2
    history = ed.get("/versions")["versions"]
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["author"] == "editor" and history[0]["comment"] == "move one building"
    moved = history[0]["diff"]["moved"]
    assert [(m["building_id"], m["from_grid"], m["to_grid"]) for m in moved] == [(building, source, target)]
    # the served plan is the saved version
    on_map = ed.client.get(f"/api/plans/kunming/buildings/{building}").get_json()
    assert target in str(on_map)
    restored = ed.post("/versions/1/restore", {"base_version": 2}, status=201)
    assert restored["version"] == 3
    history = ed.get("/versions")["versions"]
    assert history[0]["comment"] == "恢复版本 1"  # the default comment, in the page's language
    assert [(m["building_id"], m["to_grid"]) for m in history[0]["diff"]["moved"]] == [(building, source)]
    assert geo.read_plan(app.config["PLAN_FILES"]["kunming"]).buildings.at[building, "grid_id"] == source
    ed.post("/versions/9/restore", {"base_version": 3}, status=404)


def test_concurrent_saves_stale_refused_then_reloaded(app, moves):
    """Two editors start on version 1; the second save is stale (409), reload replays its edits."""
    building, source, target = moves["ok"]
    alice, bob = Editor(app, "editor"), Editor(app, "admin")
    alice.post("/edit/move", {"buildings": [building], "to_grid": target})
    bob.post("/edit/lock", {"grids": [source]})
    assert alice.post("/versions", {"comment": "alice", "base_version": 1}, status=201)["version"] == 2
    conflict = bob.post("/versions", {"comment": "bob", "base_version": 1}, status=409)
    assert "not the latest" in conflict["error"]
    assert [v["version"] for v in bob.get("/versions")["versions"]] == [2, 1]
    reloaded = bob.post("/edit/reload")
    assert reloaded["base_version"] == 2 and reloaded["refused"] == []
    assert bob.grid(source)["locked"] == 1 and bob.grid(target)["households"] == alice.grid(target)["households"]
    assert bob.post("/versions", {"comment": "bob", "base_version": 2}, status=201)["version"] == 3
    history = bob.get("/versions")["versions"]
    assert [(v["version"], v["author"], v["parent"]) for v in history] == [(3, "admin", 2), (2, "editor", 1),
                                                                         (1, "gridplan", None)]
    final = geo.read_plan(app.config["PLAN_FILES"]["kunming"])
    assert final.buildings.at[building, "grid_id"] == target and final.grids.at[source, "locked"] == 1


def test_a_failed_save_leaves_no_version_and_the_plan_file_as_it_was(plan_path, tmp_path):
    from app.store import VersionConflict
    from app.store.files import FileStore

    store = FileStore(tmp_path / "versions.sqlite")
    assert store.ensure("kunming", plan_path) == 1 and store.ensure("kunming", plan_path) == 1
    plan = store.load("kunming", 1)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the plan's folder should be")
    with pytest.raises(OSError):
        store.save("kunming", plan, base=1, author="a", path=blocker / "kunming.gpkg")
    assert store.latest("kunming") == 1 and [v["version"] for v in store.versions("kunming")] == [1]
    target = tmp_path / "kunming.gpkg"
    shutil.copy(plan_path, target)
    before = target.read_bytes()
    with pytest.raises(VersionConflict):
        store.save("kunming", plan, base=0, author="a", path=target)
    assert target.read_bytes() == before and store.latest("kunming") == 1
    assert store.save("kunming", plan, base=1, author="a", comment="same plan", path=target) == 2
    assert geo.read_plan(target).buildings["grid_id"].equals(plan.buildings["grid_id"])


def test_page_data_targets_buildings_and_datum(app, moves):
    """What the editor page draws: buildings with their grids, the grids a selection may move to,
    the moved buildings' new grids, and GeoJSON shifted for GCJ-02 basemaps."""
    building, source, target = moves["ok"]
    ed = Editor(app)
    assert ed.state["user"] == "editor" and ed.state["role"] == "editor"
    features = {f["id"]: f["properties"] for f in ed.get("/edit/buildings.geojson")["features"]}
    assert len(features) == 140 and features[building]["grid_id"] == source
    targets = ed.get(f"/edit/targets?buildings={building}")
    assert targets["from"] == [source] and target in {t["grid_id"] for t in targets["targets"]}
    assert ed.client.get("/api/plans/kunming/edit/targets").status_code == 400
    assert ed.client.get("/api/plans/kunming/edit/targets?buildings=nope").get_json()["reason"] == "unknown_building"
    out = ed.post("/edit/move", {"buildings": [building], "to_grid": target})
    assert out["buildings"][building] == target
    assert set(out["buildings"].values()) == {source, target}
    assert {f["id"]: f["properties"] for f in ed.get("/edit/buildings.geojson")["features"]}[building]["grid_id"] == target
    wgs = ed.get("/edit/grids.geojson")["features"][0]["geometry"]["coordinates"][0][0]
    gcj = ed.get("/edit/grids.geojson?datum=gcj02")["features"][0]["geometry"]["coordinates"][0][0]
    assert 0.001 < abs(gcj[0] - wgs[0]) + abs(gcj[1] - wgs[1]) < 0.02  # GCJ-02 is a few hundred metres off
    assert ed.client.get("/api/plans/kunming/edit/grids.geojson?datum=bd09").status_code == 400


def _worker(app):
    """Another server process on the same plan file, users and version store (as gunicorn forks)."""
    return create_app({**{k: app.config[k] for k in ("TESTING", "USERS_DB", "VERSIONS_DB")},
                       "PLANS": [str(app.config["PLAN_FILES"]["kunming"])]})


def test_layers_are_sent_exact_at_six_decimals_and_gzipped(app, plan_path):
    """The editor draws the exact grid polygons (no simplification), rounded to 6 decimals (about
    0.1 m, which cut the Suzhou grids' GeoJSON from 4.1 to 2.4 MB): still a valid coverage, and
    within 0.2 m of the plan's polygons, coloured unlike their neighbours. Grids and buildings are
    sent gzipped, with an ETag."""
    ed = Editor(app)
    features = ed.get("/edit/grids.geojson")["features"]
    geoms = np.array([shape(f["geometry"]) for f in features])
    xy = shapely.get_coordinates(geoms)
    assert np.abs(xy - np.round(xy, 6)).max() < 1e-9
    assert shapely.is_valid(geoms).all() and shapely.coverage_is_valid(geoms)
    plan = geo.read_plan(plan_path)
    exact = plan.grids.geometry.loc[[f["id"] for f in features]]
    sent = gpd.GeoSeries(geoms, index=exact.index, crs=4326).to_crs(plan.crs)
    assert len(sent) > 10 and sent.hausdorff_distance(exact).max() < 0.2
    colour = {f["id"]: f["properties"]["colour"] for f in features}  # the web maps' colours
    assert all(colour[a] != colour[b] for a, b in grid_adjacency(plan.grids).edges)
    # both layers go gzipped to a browser that accepts it, and not again while the session is unchanged
    for layer in ("grids", "buildings"):
        url = f"/api/plans/kunming/edit/{layer}.geojson"
        plain = ed.client.get(url)
        packed = ed.client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert packed.headers["Content-Encoding"] == "gzip" and len(packed.data) < len(plain.data) / 3
        assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
        assert ed.client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
        assert plain.headers["Cache-Control"] == "private, no-cache"


def test_opening_the_editor_builds_the_graph_in_the_background(app, moves, monkeypatch):
    """GET /edit starts the contiguity graph's build; the first selection and move use it."""
    def wait_for_builds():
        for thread in threading.enumerate():
            if thread.name.startswith("gridplan-graph-"):
                thread.join(60)

    wait_for_builds()  # those started by other tests' apps
    built = []
    real = editing.edit_graph
    monkeypatch.setattr(editing, "edit_graph", lambda plan: built.append(plan) or real(plan))
    ed = Editor(app)
    wait_for_builds()
    assert len(built) == 1 and "kunming" in app.extensions["gridplan_edit_graphs"]
    building, _, target = moves["ok"]
    assert target in {t["grid_id"] for t in ed.get(f"/edit/targets?buildings={building}")["targets"]}
    ed.post("/edit/move", {"buildings": [building], "to_grid": target})
    assert len(built) == 1


def test_sessions_are_shared_by_worker_processes_and_survive_a_restart(app, moves):
    """gunicorn sends each request to any worker: the session is the same in all of them."""
    building, source, target = moves["ok"]
    one = Editor(app)
    two = Editor(_worker(app))
    one.post("/edit/move", {"buildings": [building], "to_grid": target})
    seen = two.get("/edit")
    assert seen["can_undo"] and [o["op"] for o in seen["operations"]] == ["move"]
    assert {g["grid_id"]: g["households"] for g in seen["grids"]} == {g["grid_id"]: g["households"]
                                                                     for g in one.state["grids"]}
    two.state = seen
    two.post("/edit/lock", {"grids": [source]})
    one.post("/edit/undo")  # undoes the lock made in the other worker
    assert one.grid(source).get("locked", 0) == 0 and one.state["can_redo"]
    assert one.post("/versions", {"comment": "from worker one", "base_version": 1}, status=201)["version"] == 2
    restarted = Editor(_worker(app))  # a fresh process: empty session on the saved version
    assert restarted.state["base_version"] == 2 and not restarted.state["can_undo"]
    saved = geo.read_plan(app.config["PLAN_FILES"]["kunming"])
    assert saved.buildings.at[building, "grid_id"] == target and "locked" not in saved.grids.columns


def test_a_stale_session_revision_is_refused(tmp_path):
    from app.store import SessionConflict
    from app.store.files import FileStore

    store = FileStore(tmp_path / "versions.sqlite")
    rev = store.put_session("p", "alice", base=1, ops=[], pos=0, rev=0)
    assert store.put_session("p", "alice", base=1, ops=[{"op": "lock", "args": {}}], pos=1, rev=rev) == rev + 1
    with pytest.raises(SessionConflict):
        store.put_session("p", "alice", base=1, ops=[], pos=0, rev=rev)  # another window wrote since
    assert store.session("p", "alice")["pos"] == 1


def test_a_plan_file_changed_outside_the_editor_becomes_a_version(app, moves):
    """`gridplan update` (or a copy) rewrites the file: the editor records it, and a session based on the
    file as it was cannot overwrite it (409, then reload and re-apply)."""
    from partitioning.editing import lock_grids

    building, source, target = moves["ok"]
    ed = Editor(app)
    ed.post("/edit/move", {"buildings": [building], "to_grid": target})
    path = app.config["PLAN_FILES"]["kunming"]
    geo.write_plan(lock_grids(geo.read_plan(path), [source]).plan, path)
    history = ed.get("/versions")["versions"]
    assert [(v["version"], v["author"]) for v in history] == [(2, "gridplan"), (1, "gridplan")]
    assert history[0]["comment"] == "方案文件在编辑器之外被修改" and history[0]["diff"] is not None
    assert ed.get("/edit")["latest_version"] == 2
    assert "not the latest" in ed.post("/versions", {"base_version": 1}, status=409)["error"]
    reloaded = ed.post("/edit/reload")
    assert reloaded["refused"][0]["op"] == "move" and reloaded["refused"][0]["reason_key"] == "locked"
    assert "已锁定" in reloaded["refused"][0]["reason"]
    assert ed.get("/edit")["base_version"] == 2 and len(ed.get("/versions")["versions"]) == 2


def test_versions_are_stored_compressed_and_a_first_release_store_still_opens(plan_path, tmp_path):
    """Each version holds the whole plan, compressed; a store written before digests and compression
    (raw GeoPackage bytes, no sha256 column) is migrated when opened and its versions still load."""
    import sqlite3

    from app.store.files import FileStore

    raw = plan_path.read_bytes()
    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as con:  # the schema and row of the first release
        con.execute("CREATE TABLE versions (plan TEXT NOT NULL, version INTEGER NOT NULL, parent INTEGER, "
                    "author TEXT, comment TEXT, created TEXT NOT NULL, diff TEXT, snapshot BLOB NOT NULL, "
                    "PRIMARY KEY (plan, version))")
        con.execute("INSERT INTO versions VALUES ('kunming', 1, NULL, 'gridplan', 'the plan file', "
                    "'2026-11-01T00:00:00+00:00', NULL, ?)", (raw,))
    store = FileStore(db)
    assert store.ensure("kunming", plan_path) == 1  # the same file: no new version
    old = store.load("kunming", 1)
    assert old.buildings["grid_id"].equals(geo.read_plan(plan_path).buildings["grid_id"])
    assert store.save("kunming", old, base=1, author="a") == 2
    with sqlite3.connect(db) as con:
        sizes = dict(con.execute("SELECT version, length(snapshot) FROM versions WHERE plan = 'kunming'"))
    assert sizes[1] == len(raw) and sizes[2] < len(raw) / 2
    assert store.load("kunming", 2).grids["households"].equals(old.grids["households"])


def test_edit_warnings_are_said_in_the_page_language(app, moves):
    """A grid an edit leaves outside the band is a warning, said in Chinese by default and in English on request."""
    from maps.i18n import text
    from partitioning.editing import WARNINGS, edit_graph, move_buildings

    building, source, target = moves["ok"]
    plan = geo.read_plan(app.config["PLAN_FILES"]["kunming"])
    result = move_buildings(plan, edit_graph(plan), [building], target)
    assert result.notices and [WARNINGS[n["reason"]].format(**n) for n in result.notices] == result.warnings
    ed = Editor(app)
    chinese = ed.post("/edit/move", {"buildings": [building], "to_grid": target})["warnings"]
    english = ed.client.get("/api/plans/kunming/edit?lang=en").get_json()["warnings"]
    for n, zh, en in zip(result.notices, chinese, english, strict=True):
        number = short_code(n["code"])
        assert zh.startswith(f"网格 {number}：") and f"{n['households']} 户，超出" in zh and n["grid"] not in zh
        assert zh.endswith(f"（{text('status_' + n['status'], 'zh')}）")
        assert en == text("warning_out_of_band", "en").format(
            **{**n, "grid": number, "status": text("status_" + n["status"], "en")})


def _neighbours_apart(plan):
    """Two grids of ``plan`` that do not touch."""
    adjacency = grid_adjacency(plan.grids)
    a = sorted(adjacency.nodes)[0]
    b = next(g for g in sorted(adjacency.nodes) if g != a and not adjacency.has_edge(a, g))
    return a, b


def test_refusals_name_grids_by_number_and_buildings_by_name(app, moves):
    """Issue 18: "网格 G0337 和 G0364 不相邻" while the panel shows 344/342. Refusals name grids by the
    number the panel shows and buildings by name (or number in their grid), never by internal id."""
    plan = geo.read_plan(app.config["PLAN_FILES"]["kunming"])
    ed = Editor(app)
    a, b = _neighbours_apart(plan)
    na, nb = (short_code(plan.grids.at[g, "grid_code"]) for g in (a, b))
    refused = ed.post("/edit/merge", {"grids": [a, b]}, status=422)
    assert refused["reason"] == "grids_not_touching"
    assert refused["error"] == f"网格 {na} 和 {nb} 不相邻；只能合并相邻网格", refused["error"]
    english = ed.post("/edit/merge?lang=en", {"grids": [a, b]}, status=422)["error"]
    assert english == f"grids {na} and {nb} do not touch; merge neighbouring grids"
    # a named building is named; an unnamed one by its grid's number and its number on the grid page
    from maps.web.queries import grid_card

    named = plan.buildings.index[plan.buildings["name"].fillna("").str.strip() != ""][0]
    far = next(g for g in plan.grids.index if g != plan.buildings.at[named, "grid_id"]
               and not grid_adjacency(plan.grids).has_edge(g, plan.buildings.at[named, "grid_id"]))
    said = ed.post("/edit/move?lang=zh", {"buildings": [named], "to_grid": far}, status=422)  # (the cookie says en)
    assert said["reason"] == "not_touching" and str(plan.buildings.at[named, "name"]).strip() in said["error"]
    assert named not in said["error"] and far not in said["error"]
    building, source, _ = moves["ok"]
    card = grid_card(plan, source)
    no = next(r["no"] for r in card["buildings"] if r["building_id"] == building)
    far = next(g for g in plan.grids.index if g != source and not grid_adjacency(plan.grids).has_edge(g, source))
    said = ed.post("/edit/move", {"buildings": [building], "to_grid": far}, status=422)["error"]
    label = card["buildings"][no - 1]["name"] or f"{card['number']}号网格第{no}栋"
    assert said.startswith(f"楼栋 {label} 与网格 {short_code(plan.grids.at[far, 'grid_code'])} 不相邻"), said


def test_version_list_in_chinese_and_diff_names_grids_by_code(app, moves):
    """Version 1 is "方案文件" on a Chinese page (not "the plan file"); after a merge the saved
    diff names the removed grid by its number and code, as the change table shows it."""
    _, a, b = moves["ok"]
    ed = Editor(app)
    first = ed.get("/versions")["versions"][-1]
    assert first["version"] == 1 and first["comment"] == "方案文件"
    en = ed.client.get("/api/plans/kunming/versions?lang=en").get_json()["versions"][-1]
    assert en["comment"] == "the plan file"
    code_b = ed.grid(b)["grid_code"]
    ed.post("/edit/merge", {"grids": [a, b]})
    ed.post("/versions", {"comment": "合并", "base_version": 1}, status=201)
    diff = ed.get("/versions")["versions"][0]["diff"]
    gone = next(g for g in diff["grids"] if g["change"] == "removed")
    assert gone["grid_id"] == b and gone["grid_code"] == code_b and gone["number"] == short_code(code_b)
    assert all(m["to_number"] == short_code(ed.grid(a)["grid_code"]) for m in diff["moved"])
    restored = ed.post("/versions/1/restore", {"base_version": 2}, status=201)
    assert ed.get("/versions?lang=zh")["versions"][0]["comment"] == "恢复版本 1" and restored["version"] == 3


def test_an_undersize_grid_says_why_it_cannot_grow(app, plan_path):
    """Issue 14: what remains undersize is reported with its reason on the editor's warnings too, as
    on its grid page and in ``gridplan check``; and an edit says a grid is undersize by the rule the
    engine and check use (a grid cut off by towers, not only one with no neighbour at all)."""
    from maps.web.queries import undersize_text
    from partitioning.undersize import undersize_reasons

    plan = geo.read_plan(plan_path)
    reasons = undersize_reasons(plan, edit_graph(plan))
    small = next(e for e in reasons if plan.grids.at[e["grid_id"], "status"] == "undersize")
    ed = Editor(app)
    state = ed.post("/edit/rerun", {"grids": [small["grid_id"]]})  # the engine redraws it as it was
    row = ed.grid(small["grid_id"])
    assert row["status"] == "undersize" and row["households"] == small["households"]
    assert row["why"] == undersize_text(small, "zh") and small["reason"] in ("oversize", "barrier", "isolated")
    warning = next(w for w in state["warnings"] if f"{small['households']} 户" in w)
    assert warning.endswith("户数不足原因：" + undersize_text(small, "zh"))
    english = ed.client.get("/api/plans/kunming/edit?lang=en").get_json()
    assert any(w.endswith("why it is small: " + undersize_text(small, "en")) for w in english["warnings"])
    result = editing.rerun_grids(plan, edit_graph(plan), [small["grid_id"]])
    assert result.warnings[0].endswith(small["detail"]) and result.notices[0]["why"]["reason"] == small["reason"]
