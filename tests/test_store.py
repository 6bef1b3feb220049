"""The version stores (app.store), each test on both backends — SQLite beside the plan file and a
throw-away PostGIS server — on a synthetic city of eight communities: versions, conflicts per
community, fresh ids for grids two saves both made, changes outside the editor, sessions; and what
only PostGIS does: versions of changed rows, SRIDs, the schema's version."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import geo
from app.store import SessionConflict, VersionConflict, open_store
from app.store.changes import WHOLE_PLAN, building_communities, plan_changes
from partitioning import editing
from partitioning.metrics import partition_metrics
from partitioning.settings import PlanSettings
from tests.plans import single_moves


@pytest.fixture()
def plan_copy(city_plan_path, tmp_path):
    copy = tmp_path / "city.gpkg"
    shutil.copy(city_plan_path, copy)
    return copy


@pytest.fixture(scope="module")
def ground(city_plan_path):
    """The plan, its contiguity graph, and one possible move per community: ``{community: (building,
    from grid, to grid)}``."""
    plan = geo.read_plan(city_plan_path)
    graph = editing.edit_graph(plan)
    moves = {}
    for move in single_moves(plan, graph):
        community = building_communities(plan, [move[0]]).iloc[0]
        moves.setdefault(community, move)
    assert len(moves) >= 3, moves
    return plan, graph, moves


def _moved(plan, graph, move):
    building, _, target = move
    return editing.move_buildings(plan, graph, [building], target).plan


def _figures(plan):
    return (plan.buildings["grid_id"].sort_index(), plan.grids[["grid_code", "households", "n_buildings"]].sort_index())


def test_a_plan_round_trips_and_each_save_is_a_version(store_at, plan_copy, ground):
    plan, graph, moves = ground
    store = open_store(store_at)
    assert store.ensure("city", plan_copy) == 1 and store.ensure("city", plan_copy) == 1
    first = store.load("city", 1)
    for a, b in zip(_figures(first), _figures(plan)):
        pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b), check_dtype=False)
    assert not any(plan_changes(plan, first).layers.values()) and not plan_changes(plan, first).assignment
    one = next(iter(moves.values()))
    edited = _moved(first, graph, one)
    assert store.save("city", edited, base=1, author="alice", comment="one move", parent_plan=first,
                      path=plan_copy) == 2
    history = store.versions("city")
    assert [(v["version"], v["parent"], v["author"]) for v in history] == [(2, 1, "alice"), (1, None, "gridplan")]
    assert history[0]["comment"] == "one move" and history[0]["diff"]["summary"]["buildings_moved"] == 1
    assert history[0]["communities"] == [building_communities(plan, [one[0]]).iloc[0]]
    assert store.load("city", 2).buildings.at[one[0], "grid_id"] == one[2]
    assert store.load("city", 1).buildings.at[one[0], "grid_id"] == one[1]
    assert geo.read_plan(plan_copy).buildings.at[one[0], "grid_id"] == one[2]
    assert store.ensure("city", plan_copy) == 2  # the file the save wrote is the latest version
    assert store.session("city", "alice") == {"base": 2, "ops": [], "pos": 0, "rev": 1}


def test_two_communities_saved_from_one_version_never_conflict(store_at, plan_copy, ground):
    """Two planners edit two communities from version 1 and save one after the other: the second
    save is applied to version 2, keeping both edits, with the metrics of both."""
    plan, graph, moves = ground
    store = open_store(store_at)
    store.ensure("city", plan_copy)
    base = store.load("city", 1)
    (ca, a), (cb, b) = list(moves.items())[:2]
    mine, theirs = _moved(base, graph, a), _moved(base, graph, b)
    assert store.save("city", mine, base=1, author="alice", parent_plan=base, path=plan_copy) == 2
    assert store.save("city", theirs, base=1, author="bob", parent_plan=base, path=plan_copy) == 3
    final = store.load("city", 3)
    assert final.buildings.at[a[0], "grid_id"] == a[2] and final.buildings.at[b[0], "grid_id"] == b[2]
    expected = _moved(_moved(base, graph, a), graph, b)
    for x, y in zip(_figures(final), _figures(expected)):
        pd.testing.assert_frame_equal(pd.DataFrame(x), pd.DataFrame(y), check_dtype=False)
    settings = PlanSettings.from_meta(plan.meta)
    assert final.meta["metrics"] == partition_metrics(graph, final.buildings["grid_id"], target=settings.target,
                                                      tolerance=settings.tolerance)
    assert [v["communities"] for v in store.versions("city")[:2]] == [[cb], [ca]]
    on_file = geo.read_plan(plan_copy)
    assert on_file.buildings.at[a[0], "grid_id"] == a[2] and on_file.buildings.at[b[0], "grid_id"] == b[2]


def test_the_same_community_saved_twice_from_one_version_conflicts(store_at, plan_copy, ground):
    plan, graph, moves = ground
    store = open_store(store_at)
    store.ensure("city", plan_copy)
    base = store.load("city", 1)
    community, move = next(iter(moves.items()))
    locked = editing.lock_grids(base, [move[1]]).plan  # the grid the move takes a building from
    assert store.save("city", locked, base=1, author="alice", parent_plan=base, path=plan_copy) == 2
    before = plan_copy.read_bytes()
    with pytest.raises(VersionConflict) as refused:
        store.save("city", _moved(base, graph, move), base=1, author="bob", parent_plan=base, path=plan_copy)
    assert "not the latest" in str(refused.value) and refused.value.communities == [community]
    assert store.latest("city") == 2 and plan_copy.read_bytes() == before
    with pytest.raises(VersionConflict):
        store.save("city", locked, base=0, author="bob", path=plan_copy)  # no such version


def test_grids_two_saves_both_split_off_get_different_ids(store_at, plan_copy, ground):
    """Two splits in two communities both make the next free grid id: the later save takes the one after."""
    plan, graph, moves = ground
    store = open_store(store_at)
    store.ensure("city", plan_copy)
    base = store.load("city", 1)
    splits = []
    for community in list(moves)[:2]:
        grids = base.grids.index[base.grids.index.isin(
            base.buildings["grid_id"][building_communities(base, base.buildings.index) == community])]
        big = base.grids.loc[grids].sort_values("n_buildings").index[-1]
        splits.append(editing.split_grid(base, graph, big))
    fresh = [set(s.plan.grids.index) - set(base.grids.index) for s in splits]
    assert fresh[0] == fresh[1] and fresh[0]  # the same new id in both
    for k, split in enumerate(splits):
        store.save("city", split.plan, base=1, author=f"planner{k}", parent_plan=base, path=plan_copy)
    final = store.load("city", 3)
    assert len(final.grids) == len(base.grids) + 2 and final.grids.index.is_unique
    assert final.grids["grid_code"].is_unique
    counted = final.buildings.groupby("grid_id")["households"].sum()
    assert counted.reindex(final.grids.index).tolist() == final.grids["households"].tolist()
    assert set(final.buildings["grid_id"]) == set(final.grids.index)


def test_a_file_changed_outside_is_a_version_of_the_whole_plan(store_at, plan_copy, ground):
    plan, graph, moves = ground
    store = open_store(store_at)
    store.ensure("city", plan_copy)
    base = store.load("city", 1)
    geo.write_plan(editing.lock_grids(base, [base.grids.index[0]]).plan, plan_copy)
    assert store.ensure("city", plan_copy) == 2
    assert store.versions("city")[0]["communities"] == [WHOLE_PLAN]
    with pytest.raises(VersionConflict):  # whatever community it is in
        store.save("city", _moved(base, graph, list(moves.values())[-1]), base=1, author="bob", parent_plan=base)
    assert store.load("city", 2).grids["locked"].sum() == 1


def test_a_stale_session_revision_is_refused(store_at):
    store = open_store(store_at)
    rev = store.put_session("p", "alice", base=1, ops=[], pos=0, rev=0)
    ops = [{"op": "lock", "args": {"grids": ["G1"], "locked": True}, "notices": []}]
    assert store.put_session("p", "alice", base=1, ops=ops, pos=1, rev=rev) == rev + 1
    with pytest.raises(SessionConflict):
        store.put_session("p", "alice", base=1, ops=[], pos=0, rev=rev)  # another window wrote since
    assert store.session("p", "alice") == {"base": 1, "ops": ops, "pos": 1, "rev": rev + 1}
    assert store.session("p", "bob") is None


# --- PostGIS only ------------------------------------------------------------------------------------

def test_postgis_versions_hold_only_what_changed(pg_server, plan_copy, ground):
    import psycopg

    plan, graph, moves = ground
    url = pg_server.database()
    store = open_store(url)
    store.ensure("city", plan_copy)
    base = store.load("city", 1)
    move = next(iter(moves.values()))
    store.save("city", _moved(base, graph, move), base=1, author="alice", parent_plan=base)
    with psycopg.connect(url) as con:
        rows = dict(con.execute("SELECT version, count(*) FROM assignments GROUP BY version").fetchall())
        layers = dict(con.execute("SELECT layer, count(*) FROM features WHERE version = 2 GROUP BY layer").fetchall())
        srids = con.execute("SELECT DISTINCT ST_SRID(geom) FROM features WHERE geom IS NOT NULL").fetchall()
        plan_srid = con.execute("SELECT srid FROM plans WHERE plan = 'city'").fetchone()[0]
    assert rows == {1: len(plan.buildings), 2: 1}  # one building changed its grid
    assert layers == {"grids": 2}  # the two grids it left and joined
    assert srids == [(plan_srid,)] and f"EPSG:{plan_srid}" == plan.crs.to_string()


def test_postgis_schema_is_versioned(pg_server):
    import psycopg

    from app.store.postgis import SCHEMA_VERSION, PostgisStore, StoreError

    url = pg_server.database()
    PostgisStore(url)
    PostgisStore(url)  # opening again migrates nothing
    with psycopg.connect(url, autocommit=True) as con:
        assert con.execute("SELECT version FROM gridplan_schema").fetchall() == [(SCHEMA_VERSION,)]
        con.execute("UPDATE gridplan_schema SET version = version + 1")
    with pytest.raises(StoreError, match="newer than this gridplan"):
        PostgisStore(url)
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL"):
        PostgisStore(url.replace("gridplan_", "no_such_database_"))
    with pytest.raises(StoreError) as refused:  # a password never shows in a message
        PostgisStore("postgresql://gridplan:s3cret@/nothing?host=/nonexistent")
    assert "s3cret" not in str(refused.value) and "gridplan:***@" in str(refused.value)


def test_editors_of_two_communities_on_postgis_both_save_and_of_one_get_409(pg_server, tmp_path, ground):
    """The editor's API with ``serve --db``: the plans the database holds are written for the app
    (``write_plans``); two editors who start on one version and save moves in two communities both
    get 201; two who then edit one community: the second to save gets 409, reloads and saves."""
    from app import create_app
    from app.store.postgis import PostgisStore, write_plans
    from tests.test_editor_api import Editor

    plan, graph, moves = ground
    url = pg_server.database()
    PostgisStore(url).add_plan("city", plan)
    folder = tmp_path / "served"
    assert write_plans(PostgisStore(url), folder) == [folder / "city.gpkg"]
    app = create_app({"TESTING": True, "PLANS": [str(folder)], "USERS_DB": str(tmp_path / "users.sqlite"),
                      "VERSIONS_DB": url})
    (_, a), (_, b) = list(moves.items())[:2]
    alice, bob = Editor(app, "editor", name="city"), Editor(app, "admin", name="city")
    assert alice.state["base_version"] == bob.state["base_version"] == 1
    alice.post("/edit/move", {"buildings": [a[0]], "to_grid": a[2]})
    bob.post("/edit/move", {"buildings": [b[0]], "to_grid": b[2]})
    assert alice.post("/versions", {"comment": "alice", "base_version": 1}, status=201)["version"] == 2
    assert bob.post("/versions", {"comment": "bob", "base_version": 1}, status=201)["version"] == 3
    assert bob.get("/edit")["base_version"] == 3 and not bob.get("/edit")["can_undo"]
    served = geo.read_plan(folder / "city.gpkg")
    assert served.buildings.at[a[0], "grid_id"] == a[2] and served.buildings.at[b[0], "grid_id"] == b[2]
    alice.post("/edit/lock", {"grids": [b[2]]})  # both in bob's community, from version 3
    bob.post("/edit/lock", {"grids": [b[1]]})
    assert bob.post("/versions", {"comment": "bob again", "base_version": 3}, status=201)["version"] == 4
    assert "not the latest" in alice.post("/versions", {"base_version": 3}, status=409)["error"]
    assert alice.post("/edit/reload")["refused"] == []
    assert alice.post("/versions", {"comment": "after reload", "base_version": 4}, status=201)["version"] == 5
    assert [v["author"] for v in alice.get("/versions")["versions"]] == ["editor", "admin", "admin", "editor",
                                                                         "gridplan"]
    assert geo.read_plan(folder / "city.gpkg").grids.loc[[b[1], b[2]], "locked"].tolist() == [1, 1]


def test_db_import_and_export_round_trip_the_figures(pg_server, city_plan_path, tmp_path):
    from click.testing import CliRunner

    from app.cli import cli

    url = pg_server.database()
    run = CliRunner().invoke
    done = run(cli, ["db", "import", str(city_plan_path), "--db", url, "--name", "city"])
    assert done.exit_code == 0 and "plan city: version 1" in done.output, done.output
    out = tmp_path / "out" / "city.gpkg"
    done = run(cli, ["db", "export", "city", "-o", str(out), "--db", url])
    assert done.exit_code == 0, done.output
    a, b = geo.read_plan(city_plan_path), geo.read_plan(out)
    for x, y in zip(_figures(a), _figures(b)):
        pd.testing.assert_frame_equal(pd.DataFrame(x), pd.DataFrame(y))
    assert a.meta["metrics"] == b.meta["metrics"] and set(a.layers) == set(b.layers)
    assert not any(plan_changes(a, b).layers.values())
    assert [p.name for p in out.parent.iterdir()] == ["city.gpkg"]  # written atomically: no temporary left
    assert "city: version 1 by gridplan" in run(cli, ["db", "list", "--db", url]).output
    locked = tmp_path / "locked.gpkg"  # the plan changed elsewhere, imported again: a new version of the whole plan
    geo.write_plan(editing.lock_grids(a, [a.grids.index[0]]).plan, locked)
    done = run(cli, ["db", "import", str(locked), "--db", url, "--name", "city"])
    assert done.exit_code == 0 and "plan city: version 2" in done.output, done.output
    assert open_store(url).versions("city")[0]["communities"] == [WHOLE_PLAN]
    assert run(cli, ["db", "export", "city", "-o", str(out), "--db", url, "--version", "1"]).exit_code == 0
    assert "locked" not in geo.read_plan(out).grids.columns
    assert run(cli, ["db", "export", "city", "-o", str(out), "--db", url]).exit_code == 0
    assert geo.read_plan(out).grids["locked"].sum() == 1
    missing = run(cli, ["db", "export", "nope", "-o", str(tmp_path / "x.gpkg"), "--db", url])
    assert missing.exit_code == 1 and "no plan 'nope' (plans: city)" in missing.output
    assert "Traceback" not in missing.output and not (tmp_path / "x.gpkg").exists()
    bad = run(cli, ["db", "export", "city", "-o", str(tmp_path / "x.txt"), "--db", url])
    assert bad.exit_code != 0 and "name it *.gpkg" in bad.output


def test_postgis_plan_file_follows_the_database(pg_server, plan_copy, ground, tmp_path):
    """Another worker's (or machine's) copy of the plan file, older than the latest version, is
    written again when read; a failed write of the file leaves the version saved and the file
    written on the next read (logged, not an error of the save)."""
    from app.store.postgis import PostgisStore

    plan, graph, moves = ground
    url = pg_server.database()
    store = PostgisStore(url)
    store.ensure("city", plan_copy)
    other = tmp_path / "machine2" / "city.gpkg"
    assert store.ensure("city", other) == 1 and other.exists()  # written from the database
    base = store.load("city", 1)
    move = next(iter(moves.values()))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the plan's folder should be")
    assert store.save("city", _moved(base, graph, move), base=1, author="alice", parent_plan=base,
                      path=blocker / "city.gpkg") == 2  # saved in the database: the file is a copy
    assert geo.read_plan(other).buildings.at[move[0], "grid_id"] == move[1]
    assert PostgisStore(url).ensure("city", other) == 2 and PostgisStore(url).latest("city") == 2
    assert geo.read_plan(other).buildings.at[move[0], "grid_id"] == move[2]


def test_serve_needs_plans_or_a_database_that_holds_one(pg_server, tmp_path):
    from click.testing import CliRunner

    from app.cli import cli

    none = CliRunner().invoke(cli, ["serve"])
    assert none.exit_code == 2 and "--db postgresql://" in none.output
    empty = CliRunner().invoke(cli, ["serve", "--db", pg_server.database(), "--db-folder", str(tmp_path / "served")])
    assert empty.exit_code == 1 and "holds no plan" in empty.output and "gridplan db import" in empty.output
    assert "Traceback" not in empty.output


def test_users_and_the_audit_log_in_postgis(pg_server, plan_copy, tmp_path):
    """``serve --db`` keeps the users and the audit log in the database too: a user added with
    ``gridplan users add --db URL`` signs in, failed sign-ins lock the name, entries are logged."""
    from click.testing import CliRunner

    from app import create_app
    from app.audit import read_audit
    from app.auth import list_users
    from app.cli import cli

    url = pg_server.database()
    added = CliRunner().invoke(cli, ["users", "add", "lin", "--role", "editor", "--db", url],
                               input="correct-horse-1\ncorrect-horse-1\n")
    assert added.exit_code == 0, added.output
    app = create_app({"TESTING": True, "PLANS": [str(plan_copy)], "USERS_DB": url, "VERSIONS_DB": url,
                      "JOBS_DIR": str(tmp_path / "jobs"), "LOGIN_ATTEMPTS": 2})

    def sign_in(password):
        client = app.test_client()
        token = client.get("/login").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
        return client, client.post("/login", data={"username": "lin", "password": password, "csrf_token": token})

    client, resp = sign_in("correct-horse-1")
    assert resp.status_code == 302 and client.get("/api/plans/city/edit").status_code == 200
    assert [(u["username"], u["role"], u["locked_until"]) for u in list_users(url)] == [("lin", "editor", None)]
    for _ in range(2):
        assert sign_in("wrong-horse-99")[1].status_code != 302
    assert sign_in("correct-horse-1")[1].status_code != 302  # locked for this address now
    assert list_users(url)[0]["locked_until"] is not None
    actions = [e["action"] for e in read_audit(url)]
    assert actions.count("login") == 1 and actions.count("login_failed") >= 2
