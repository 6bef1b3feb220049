"""Benchmark: the web app on Suzhou (3,076 buildings) served in production mode.

Run with ``make bench``; writes ``tests/benchmarks/results/web.md``. Goals of issue 6, measured
here and never asserted:

- the community map of Suzhou served and rendered in under 1 s (headless Chromium: from the
  navigation to every grid drawn), its GeoJSON under 1 MB;
- p95 latency under 200 ms for the grid page and the API with 50 concurrent clients for 30 s on
  loopback, 0 errors (a bounded Python load script: 50 threads with keep-alive connections,
  each stopping at the deadline; seeded choice of grids).

The server is ``gridplan serve --production --offline --public`` in a subprocess on 127.0.0.1; the load
clients run on the same 2 cores, so the figures are conservative. Settings by environment:
``GRIDPLAN_BENCH_CLIENTS`` (50), ``GRIDPLAN_BENCH_SECONDS`` (30).
"""

from __future__ import annotations

import gzip
import http.client
import os
import platform
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import geo

REPO = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).parent / "results" / "web.md"
SUZHOU_DEMO = REPO / "data" / "suzhou_gusu" / "buildings.geojson"
CLIENTS = int(os.environ.get("GRIDPLAN_BENCH_CLIENTS", "50"))
SECONDS = float(os.environ.get("GRIDPLAN_BENCH_SECONDS", "30"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def suzhou_plan(tmp_path_factory):
    from app.cli import cli

    out = tmp_path_factory.mktemp("webbench") / "suzhou.gpkg"
    result = CliRunner().invoke(cli, ["partition", str(SUZHOU_DEMO), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def wait_ready(proc, port: int, log: Path, t0: float) -> float:
    """Seconds from ``t0`` until the server at ``port`` answers ``/healthz`` (fails the benchmark
    with the end of its ``log`` when it exits or takes over 600 s)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if _get(port, "/healthz", timeout=2)[0] == 200:
                return time.perf_counter() - t0
        except OSError:
            time.sleep(0.5)
    proc.kill()
    proc.wait()
    pytest.fail("server did not start within 600 s")


def stop(proc) -> None:
    """SIGTERM (gunicorn's clean shutdown), then kill after 60 s."""
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def production_server(suzhou_plan, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("webbench-log") / "server.log"
    t0 = time.perf_counter()
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", str(suzhou_plan), "--production",
                                 "--offline", "--public", "--port", str(port)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
    startup = wait_ready(proc, port, log, t0)
    yield {"base": f"http://127.0.0.1:{port}", "port": port, "startup_s": startup}
    stop(proc)


def _get(port: int, path: str, *, timeout: float = 30) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


def _render_times(base: str, n_grids: int, *, repeats: int = 5) -> list[float]:
    """Seconds from navigation to every grid drawn, in a fresh browser context each time."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=CHROMIUM_ARGS)
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(f"{base}/plans/suzhou/", wait_until="commit")
            page.wait_for_function(f"document.querySelectorAll('path.leaflet-interactive').length >= {n_grids}",
                                   timeout=30_000)
            times.append(time.perf_counter() - t0)
            context.close()
        browser.close()
    return times


def _load(port: int, paths: list[str], *, clients: int, seconds: float, seed: int = 0,
          headers: list[dict] | None = None) -> dict:
    """``clients`` threads requesting random ``paths`` over keep-alive connections for ``seconds``
    (client ``i`` sends ``headers[i % len(headers)]`` too, e.g. its session cookie)."""
    results: list[list] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    deadline_box: list[float] = []

    def client(i: int) -> None:
        rng = np.random.default_rng([seed, i])
        sent = {"Accept-Encoding": "gzip", **(headers[i % len(headers)] if headers else {})}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        start.wait()
        deadline = deadline_box[0]
        while time.perf_counter() < deadline and len(results[i]) < 100_000:
            path = paths[int(rng.integers(len(paths)))]
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=sent)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            results[i].append((path, time.perf_counter() - t0, ok))
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    deadline_box.append(time.perf_counter() + seconds)
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - t0
    flat = [r for rs in results for r in rs]
    return {"elapsed": elapsed, "records": flat}


def _stats(records, kind=None) -> dict:
    lat = np.array([r[1] for r in records if kind is None or kind(r[0])]) * 1000
    errors = sum(1 for r in records if (kind is None or kind(r[0])) and not r[2])
    if len(lat) == 0:
        return {"n": 0, "errors": errors}
    return {"n": len(lat), "errors": errors, "p50": np.percentile(lat, 50), "p95": np.percentile(lat, 95),
            "p99": np.percentile(lat, 99), "max": lat.max()}


def test_web_bench(production_server, suzhou_plan):
    plan = geo.read_plan(suzhou_plan)
    port, base = production_server["port"], production_server["base"]
    lines = [
        "# Web app benchmark (issue 6)",
        "",
        f"Suzhou demo ({len(plan.buildings):,} buildings, {len(plan.grids)} grids), "
        f"`gridplan serve --production --offline --public` (the public map as anonymous visitors see it; "
        f"gunicorn gthread, one worker per core), on "
        f"{platform.machine()} with {os.cpu_count()} cores shared with the load clients (load average "
        f"{os.getloadavg()[0]:.1f} at the end of the server start); "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Command: `make bench` "
        "(`pytest tests/benchmarks/test_web_bench.py`).",
        "",
        f"Server start (read the plan, render the community map, GeoJSON and all {len(plan.grids)} grid "
        f"pages and cards, fork the workers): **{production_server['startup_s']:.1f} s**.",
        "",
        "## Sizes",
        "",
        "| document | bytes | gzip bytes | goal |",
        "|---|---:|---:|---|",
    ]
    for label, path, goal in [("community grids GeoJSON (`/api/plans/suzhou/grids.geojson`)",
                               "/api/plans/suzhou/grids.geojson", "< 1 MB"),
                              ("community map page (`/plans/suzhou/`, grids embedded)", "/plans/suzhou/", ""),
                              ("buildings GeoJSON (fetched by the map after the grids)",
                               "/api/plans/suzhou/buildings.geojson", ""),
                              ("a grid page", f"/plans/suzhou/grids/{plan.grids['grid_code'].iloc[0]}", "")]:
        status, body, headers = _get(port, path)
        assert status == 200, path
        raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
        lines.append(f"| {label} | {len(raw):,} | {len(body):,} | {goal} |")

    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        times = _render_times(base, len(plan.grids))
        lines += ["", "## Community map served and rendered (goal < 1 s)", "",
                  "Headless Chromium, a fresh context each time (no browser cache), from the navigation "
                  f"to all {len(plan.grids)} grid polygons in the page: "
                  + ", ".join(f"{t:.2f}" for t in times)
                  + f" s — **median {np.median(times):.2f} s**, first {times[0]:.2f} s."]
    else:
        lines += ["", "## Community map served and rendered", "", "Not measured: chromium is not installed."]

    codes = list(plan.grids["grid_code"].astype(str))
    paths = ([f"/plans/suzhou/grids/{c}" for c in codes] + [f"/api/plans/suzhou/grids/{c}" for c in codes]
             + ["/api/plans/suzhou", "/api/plans", "/api/plans/suzhou/grids.geojson",
                f"/api/plans/suzhou/search?q={codes[7][-3:]}"])
    run = _load(port, paths, clients=CLIENTS, seconds=SECONDS)
    records = run["records"]
    rows = [("all", _stats(records)),
            ("grid pages `/plans/suzhou/grids/{code}`", _stats(records, lambda p: p.startswith("/plans/"))),
            ("API `/api/...`", _stats(records, lambda p: p.startswith("/api/")))]
    lines += ["", f"## Load: {CLIENTS} concurrent clients for {SECONDS:.0f} s (goal p95 < 200 ms, 0 errors)", "",
              f"{len(records):,} requests in {run['elapsed']:.1f} s = **{len(records) / run['elapsed']:.0f} req/s**; "
              f"random grid pages and grid cards over all {len(codes)} grids, plus plan figures, the grids "
              "GeoJSON and a search, gzip accepted, keep-alive.", "",
              "| requests | n | errors | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, s in rows:
        if s["n"]:
            lines.append(f"| {label} | {s['n']:,} | {s['errors']} | {s['p50']:.1f} | **{s['p95']:.1f}** | "
                         f"{s['p99']:.1f} | {s['max']:.0f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    assert records, "the load run made no request"
