"""Benchmark: planners saving at once on the PostGIS store (issue 16).

Run with ``make bench``; writes ``tests/benchmarks/results/store.md``. On a synthetic city
(``gridplan synth --households 50000``, planned with its roads and community boundaries) served
from a throw-away PostGIS server (:mod:`tests.pgserver`) through the editor's API (Flask test
clients, one thread per planner, one app: the server side of a save):

1. **10 editors in 10 communities** each split the largest grid of their community (that can be
   split) from version 1
   and press Save at the same moment. Every split makes the same next grid id, so every save but
   the first is applied to a later version with fresh ids. Counted: lost edits (an editor's split
   not in the final plan as the editor made it), false conflicts (409s: no two saves share a
   community), p50/p95 of the save requests. Goal (issue 16): 0 lost edits, 0 false conflicts.
2. **A move in one community while another planner saves in another**: the move's latency while
   the save runs, and that both end in the plan (the mover then saves without a conflict).
"""

from __future__ import annotations

import os
import platform
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import geo
from app import create_app
from app.auth import add_user
from app.cli import cli
from app.store.changes import building_communities
from app.store.postgis import PostgisStore, write_plans
from geo.synth import synth_city, write_city
from partitioning import editing
from tests.plans import single_moves

RESULTS = Path(__file__).parent / "results" / "store.md"
HOUSEHOLDS = 50_000
EDITORS = 10


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store-bench")
    source = write_city(synth_city(HOUSEHOLDS, seed=0, household_points=False), folder / "city.gpkg")
    out = folder / "plan.gpkg"
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["partition", str(source), "--layer", "buildings", "--id-field", "building_id",
                                      "--households-field", "households", "--barriers", str(source),
                                      "--barriers-layer", "roads", "--boundary", str(source), "--boundary-layer",
                                      "communities", "--workers", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out, time.perf_counter() - t0


class _Planner:
    """A signed-in editor client of the app (its own user), posting JSON with the CSRF token."""

    def __init__(self, app, name: str):
        add_user(app.config["USERS_DB"], name, "correct-horse-1", role="editor", replace=True)
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        assert self.client.post("/login", data={"username": name, "password": "correct-horse-1",
                                                "csrf_token": token}).status_code == 302
        self.state = self.client.get("/api/plans/plan/edit").get_json()

    def post(self, path: str, body: dict):
        t0 = time.perf_counter()
        resp = self.client.post(f"/api/plans/plan{path}", json=body, headers={"X-CSRFToken": self.state["csrf_token"]})
        return resp.status_code, resp.get_json(), time.perf_counter() - t0


def _at_once(jobs):
    """Run the callables at the same moment (one thread each); their results in order."""
    barrier = threading.Barrier(len(jobs))
    out = [None] * len(jobs)

    def run(k, job):
        barrier.wait()
        out[k] = job()

    threads = [threading.Thread(target=run, args=(k, j)) for k, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _groups(plan, buildings) -> set:
    """How ``plan`` groups ``buildings`` into grids (ids aside): a set of frozensets."""
    grid = plan.buildings.loc[list(buildings), "grid_id"]
    return {frozenset(grid.index[grid == g]) for g in set(grid)}


def test_ten_editors_in_ten_communities_save_at_once(city, pg_server, tmp_path):
    path, partition_s = city
    plan = geo.read_plan(path)
    community = building_communities(plan, plan.buildings.index)
    sizes = plan.grids.assign(community=community.groupby(plan.buildings["grid_id"]).first())
    communities = sorted(sizes["community"].unique())
    url = pg_server.database()
    store = PostgisStore(url)
    t0 = time.perf_counter()
    store.add_plan("plan", plan)
    import_s = time.perf_counter() - t0
    folder = tmp_path / "served"
    write_plans(store, folder)
    app = create_app({"TESTING": True, "PLANS": [str(folder)], "USERS_DB": str(tmp_path / "users.sqlite"),
                      "VERSIONS_DB": url})

    # 1. ten splits, ten communities, one version, one moment
    planners, split = [], {}
    for c in communities:  # the first ten communities with a grid that splits (towers' grids are one building)
        if len(planners) == EDITORS:
            break
        p = _Planner(app, f"planner{len(planners)}")
        grids = sizes[(sizes["community"] == c) & (sizes["n_buildings"] > 1)].sort_values(["n_buildings", "grid_code"])
        for grid in grids.index[::-1][:5]:
            status, _, _ = p.post("/edit/split", {"grid": grid})
            if status == 200:  # else 422: its buildings overlap one another, try the next largest
                members = plan.buildings.index[plan.buildings["grid_id"] == grid]
                split[len(planners)] = (members, _groups(geo.Plan(buildings=_session_buildings(app, p),
                                                                  grids=plan.grids), members))
                planners.append(p)
                break
    assert len(planners) == EDITORS, f"{len(planners)} communities with a grid that splits"
    results = _at_once([lambda p=p: p.post("/versions", {"base_version": 1, "comment": "split"}) for p in planners])
    statuses = [r[0] for r in results]
    save_ms = np.array([r[2] for r in results]) * 1000
    final = store.load("plan", store.latest("plan"))
    lost = sum(_groups(final, members) != groups for members, groups in split.values())
    false_conflicts = statuses.count(409)
    assert false_conflicts == 0 and statuses.count(201) == EDITORS
    assert lost == 0 and len(final.grids) == len(plan.grids) + EDITORS
    assert final.grids.index.is_unique and final.grids["grid_code"].is_unique

    # 2. a move in one community while another planner saves in another
    moves = {}
    for m in single_moves(final, editing.edit_graph(final)):
        moves.setdefault(building_communities(final, [m[0]]).iloc[0], m)
        if len(moves) == 2:
            break
    (_, saved), (_, moved) = list(moves.items())[:2]
    saver, mover = _Planner(app, "saver"), _Planner(app, "mover")
    assert saver.post("/edit/move", {"buildings": [saved[0]], "to_grid": saved[2]})[0] == 200
    solo_move = mover.post("/edit/move", {"buildings": [moved[0]], "to_grid": moved[2]})
    assert solo_move[0] == 200
    assert mover.post("/edit/undo", {})[0] == 200
    base = store.latest("plan")
    (save_status, _, save_s), (move_status, _, move_s) = _at_once([
        lambda: saver.post("/versions", {"base_version": base, "comment": "while another moves"}),
        lambda: mover.post("/edit/move", {"buildings": [moved[0]], "to_grid": moved[2]})])
    assert save_status == 201 and move_status == 200
    after_status, _, after_save_s = mover.post("/versions", {"base_version": base, "comment": "the move"})
    assert after_status == 201
    last = store.load("plan", store.latest("plan"))
    both = last.buildings.at[saved[0], "grid_id"] == saved[2] and last.buildings.at[moved[0], "grid_id"] == moved[2]
    assert both

    lines = [
        "# PostGIS store: planners saving at once",
        "",
        f"City: `gridplan synth --households {HOUSEHOLDS}` planned with its roads and community boundaries "
        f"({len(plan.buildings):,} buildings, {len(plan.grids):,} grids, {len(communities)} communities; "
        f"partition {partition_s:.0f} s). Store: PostgreSQL + PostGIS from Debian's packages "
        "(`tests/pgserver.py`, Unix socket). "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, "
        f"Python {platform.python_version()}.",
        "Command: `.venv/bin/python -m pytest tests/benchmarks/test_store_bench.py -q -p no:cacheprovider "
        "-o testpaths=tests/benchmarks` (or `make bench`). Requests through the editor's API (Flask test "
        "clients, one thread each, one app process).",
        "",
        "Goal (issue 16): 10 editors in 10 communities of one plan saving at once: 0 lost edits, 0 false conflicts.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| `db import` of the plan (version 1: every feature) | {import_s:.1f} s |",
        f"| editors saving at once (each split the largest grid of its own community that splits, from version 1) | {EDITORS} |",
        f"| saves accepted (201) | {statuses.count(201)} |",
        f"| false conflicts (409) | {false_conflicts} |",
        f"| lost edits (a split not in the final plan as its editor made it) | {lost} |",
        f"| grids after the saves (before + {EDITORS}; ids and codes unique) | {len(final.grids):,} |",
        f"| save request p50 / p95 / max (waiting for the plan's row lock included) | {np.median(save_ms):.0f} / "
        f"{np.percentile(save_ms, 95):.0f} / {save_ms.max():.0f} ms |",
        f"| a move alone | {solo_move[2] * 1000:.0f} ms |",
        f"| the same move while another planner saves in another community | {move_s * 1000:.0f} ms (the save: "
        f"{save_s * 1000:.0f} ms, 201) |",
        f"| the mover's save afterwards, from the version before the other save | {after_status}, "
        f"{after_save_s * 1000:.0f} ms; both edits in the plan: {'yes' if both else 'no'} |",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")


def _session_buildings(app, planner):
    """The buildings of ``planner``'s current edit session (in this process)."""
    key = next(k for k in app.extensions["gridplan_edit_sessions"] if k[0] == planner.state["user"])
    return app.extensions["gridplan_edit_sessions"][key].plan.buildings
