"""Benchmark: signed-in officials against anonymous visitors, Suzhou served in production mode (issue 19).

Run with ``pytest tests/benchmarks/test_signed_in_bench.py``; writes
``tests/benchmarks/results/signed_in.md``. Goal, measured here and never asserted: 50 signed-in
viewers for 30 s on grid pages and the API, 0 errors, p95 < 200 ms, with the anonymous
(``PUBLIC_MAP``) figure beside it.

The plan is the bundled Suzhou footprints partitioned, with the bundled roster imported and
assigned (``gridplan people import/assign``), so grid pages and cards carry staff names and
phones. Two servers, one after the other, as ``gridplan serve --production`` starts them
(:func:`app.create_app` then :func:`app.wsgi.run_production`, in a subprocess on 127.0.0.1): one
with ``PUBLIC_MAP`` for anonymous clients, one signed-in only, for 50 clients each signed in as a
viewer through the login form. The load (the bounded loop of ``test_web_bench``) runs on the same 2
cores. After the signed-in server stops, the audit log must hold one entry per audited response.
Settings by environment: ``GRIDPLAN_BENCH_CLIENTS`` (50), ``GRIDPLAN_BENCH_SECONDS`` (30).
"""

from __future__ import annotations

import http.client
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

import geo
from tests.benchmarks.test_web_bench import CLIENTS, SECONDS, _free_port, _load, _stats, stop, wait_ready

REPO = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).parent / "results" / "signed_in.md"
DEMO = REPO / "data" / "suzhou_gusu"
PASSWORD = "bench-viewer-1"
SERVER = """
import sys
from app import create_app
from app.wsgi import run_production
plan, db, public, port = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
app = create_app({"PLANS": [plan], "USERS_DB": db, "PUBLIC_MAP": public, "OFFLINE": True,
                  "SECRET_KEY": "benchmark"}, instance_config=False)
run_production(app, port=port)
"""


@pytest.fixture(scope="module")
def staffed_plan(tmp_path_factory):
    from app.cli import cli

    out = tmp_path_factory.mktemp("signedin") / "suzhou.gpkg"
    for args in (["partition", str(DEMO / "buildings.geojson"), "-o", str(out)],
                 ["people", "import", str(out), str(DEMO / "roster.csv")], ["people", "assign", str(out)]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
    return out


def _serve(plan: Path, db: Path, *, public: bool, log: Path):
    """Start a production server; (process, port, seconds until /healthz answered)."""
    port = _free_port()
    t0 = time.perf_counter()
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(plan), str(db), "1" if public else "0", str(port)],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
    return proc, port, wait_ready(proc, port, log, t0)


def _sign_in(port: int, username: str) -> dict:
    """The Cookie header of a session signed in through the login form (its CSRF token included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    resp = conn.getresponse()
    page = resp.read().decode()
    cookie = resp.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = f"username={username}&password={PASSWORD}&csrf_token={token}"
    conn.request("POST", "/login", body=body, headers={"Cookie": cookie,
                                                         "Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 302, resp.status
    conn.close()
    return {"Cookie": [c for c in resp.getheader("Set-Cookie").split(", ") if c.startswith("session=")][0]
            .split(";")[0]}


def _audited(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'view'").fetchone()[0]


def test_signed_in_bench(staffed_plan, tmp_path):
    from app.auth import add_user

    plan = geo.read_plan(staffed_plan)
    codes = list(plan.grids["grid_code"].astype(str))
    paths = ([f"/plans/suzhou/grids/{c}" for c in codes] + [f"/api/plans/suzhou/grids/{c}" for c in codes]
             + ["/api/plans/suzhou", "/api/plans", "/api/plans/suzhou/grids.geojson",
                f"/api/plans/suzhou/search?q={codes[7][-3:]}"])
    db = tmp_path / "users.sqlite"
    add_user(db, "viewer", PASSWORD, role="viewer")
    runs = {}
    for mode, public in (("anonymous (`PUBLIC_MAP`)", True), ("signed-in viewers", False)):
        proc, port, startup = _serve(staffed_plan, db, public=public, log=tmp_path / f"server-{public}.log")
        try:
            headers = None if public else [_sign_in(port, "viewer") for _ in range(CLIENTS)]
            before = _audited(db)
            load = os.getloadavg()[0]
            run = _load(port, paths, clients=CLIENTS, seconds=SECONDS, headers=headers)
        finally:
            stop(proc)
        audited_ok = sum(1 for p, _, ok in run["records"] if ok and (p.startswith("/plans/") or "/grids" in p))
        runs[mode] = {**run, "startup": startup, "load": load, "audited": _audited(db) - before,
                      "expected": 0 if public else audited_ok}

    lines = ["# Signed-in officials against anonymous visitors (issue 19)", "",
             f"Suzhou demo ({len(plan.buildings):,} buildings, {len(plan.grids)} grids) with the bundled roster "
             "imported and assigned; `serve --production` (gunicorn gthread, one worker per core, 8 threads), "
             f"{os.cpu_count()} cores shared with the load clients (and other users of the machine); "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Command: "
             "`pytest tests/benchmarks/test_signed_in_bench.py`.", "",
             f"Load: {CLIENTS} clients for {SECONDS:.0f} s each, random grid pages and grid cards over all "
             f"{len(codes)} grids, plan figures, the grids GeoJSON and a search; gzip, keep-alive. "
             "Goal: 0 errors, p95 < 200 ms.", "",
             "| mode | server start s | load avg | req/s | requests | errors | p50 ms | p95 ms | p99 ms | "
             "grid pages p95 | API p95 | audit rows / audited responses |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for mode, r in runs.items():
        s = _stats(r["records"])
        pages = _stats(r["records"], lambda p: p.startswith("/plans/"))
        api = _stats(r["records"], lambda p: p.startswith("/api/"))
        lines.append(f"| {mode} | {r['startup']:.1f} | {r['load']:.1f} | {len(r['records']) / r['elapsed']:.0f} | "
                     f"{s['n']:,} | {s['errors']} | {s['p50']:.1f} | **{s['p95']:.1f}** | {s['p99']:.1f} | "
                     f"{pages['p95']:.1f} | {api['p95']:.1f} | {r['audited']:,} / {r['expected']:,} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    assert all(r["records"] for r in runs.values()), "a load run made no request"
