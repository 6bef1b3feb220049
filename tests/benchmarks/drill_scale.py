"""Drill-down pages at city scale (issue 16): synthetic cities of 150k and 1.5M households served
by ``gridplan serve --production``.

Run with ``make bench-scale`` (after ``scale.py``), or
``python tests/benchmarks/drill_scale.py [HOUSEHOLDS ...] [--keep DIR] [--clients N] [--seconds S]``.

For each size a city is generated and partitioned as in ``scale.py`` (``gridplan synth``, seed 0,
no household points; ``gridplan partition … --boundary city.gpkg --boundary-layer communities
--workers 2``): its buildings carry ``street_id`` and ``community_id``, so the plan drills
city → street → community → grid. Then, with ``gridplan serve PLAN --production --offline --public``
in a subprocess on 127.0.0.1:

- **production start**: seconds from the command to ``/healthz`` answering, and the first drill
  page after it (made on that request: nothing is pre-rendered);
- **first paint** in headless Chromium (Debian's), a fresh context each time (no browser cache), of
  the top page and of the largest community's page: from the navigation until the page's script has
  drawn the unit's children (``body[data-drawn]``), and the bytes the browser received for it (HTTP
  bodies as sent, gzip where the server compressed, plus headers: the page, its scripts and styles
  from ``app/static/vendor``, the unit's GeoJSON and, on a community page, its buildings);
- **load**: 50 clients × 30 s (keep-alive, seeded random choice; the loop of ``test_web_bench``) over
  the drill pages and their API: the top page and document, every street's, a sample of 200
  communities' pages, documents and buildings — p50/p95/p99, errors; twice: just after the start
  (every page made on its first request in each worker) and again (a server up for a while); then both
  passes by signed-in viewers on a server without ``PUBLIC_MAP`` (as ``test_signed_in_bench``).

Results go to ``tests/benchmarks/results/drill.md`` (and ``drill.json``) after every size. Goals
(reported, never asserted): first paint < 2 s and < 1 MB for either page, production start < 10 s,
p95 < 200 ms with 0 errors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.test_web_bench import CHROMIUM_ARGS, _free_port, _get, _load, _stats, stop  # noqa: E402

RESULTS = ROOT / "tests" / "benchmarks" / "results"
SIZES = (150_000, 1_500_000)
GOALS = {"paint_s": 2.0, "bytes": 1_000_000, "start_s": 10.0, "p95_ms": 200.0}


def _gridplan() -> list[str]:
    """The command line of this checkout (run from its root, so its own code is imported)."""
    return [sys.executable, "-m", "app.cli"]


def build(households: int, folder: Path, *, workers: int) -> tuple[Path, float]:
    """The plan of a synthetic city of ``households`` in ``folder`` (reused when there); seconds to build."""
    plan = folder / f"plan{households}" / "plan.gpkg"
    if plan.exists():
        return plan, 0.0
    plan.parent.mkdir(parents=True, exist_ok=True)
    city = folder / f"city{households}.gpkg"
    t0 = time.perf_counter()
    subprocess.run([*_gridplan(), "synth", "--households", str(households), "--seed", "0", "--no-household-points",
                    "-o", str(city)], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    subprocess.run([*_gridplan(), "partition", str(city), "--layer", "buildings", "--id-field", "building_id",
                    "--households-field", "households", "--barriers", str(city), "--barriers-layer", "roads",
                    "--boundary", str(city), "--boundary-layer", "communities", "--workers", str(workers),
                    "-o", str(plan)], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return plan, time.perf_counter() - t0


def serve(plan: Path, log: Path):
    """``gridplan serve --production``; (process, port, seconds until /healthz answered)."""
    port = _free_port()
    t0 = time.perf_counter()
    with open(log, "wb") as err:
        proc = subprocess.Popen([*_gridplan(), "serve", str(plan), "--production", "--offline", "--public",
                                 "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if _get(port, "/healthz", timeout=2)[0] == 200:
                return proc, port, time.perf_counter() - t0
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("the server did not start within 900 s")


def paint(base: str, path: str, *, repeats: int = 5) -> dict:
    """Median seconds from navigation to the unit's children drawn, and bytes received, over fresh contexts."""
    from playwright.sync_api import sync_playwright

    times, sizes, data = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=CHROMIUM_ARGS)
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
            page = context.new_page()
            got: list = []
            page.on("requestfinished", lambda r, got=got: got.append(r))
            t0 = time.perf_counter()
            page.goto(base + path, wait_until="commit")
            page.wait_for_selector("body[data-drawn]", timeout=60_000)
            times.append(time.perf_counter() - t0)
            page.wait_for_load_state("networkidle")
            sized = [(r.url, r.sizes()) for r in got]
            sizes.append(sum(s["responseBodySize"] + s["responseHeadersSize"] for _, s in sized))
            data.append(sum(s["responseBodySize"] for u, s in sized if "/api/" in u))
            context.close()
        browser.close()
    return {"paint_s": float(np.median(times)), "paint_first_s": times[0], "bytes": int(np.median(sizes)),
            "data_bytes": int(np.median(data)), "times": [round(t, 2) for t in times]}


def measure(households: int, *, folder: Path, workers: int, clients: int, seconds: float) -> dict:
    import geo
    from maps.web.drill import plan_units

    plan_path, build_s = build(households, folder, workers=workers)
    plan = geo.read_plan(plan_path)
    units = plan_units(plan)
    communities = units.units[units.units["level"] == units.levels[-1]]
    largest = max(communities.index, key=lambda k: len(units.children(k)[1]))
    name = plan_path.stem
    row = {"households": int(plan.grids["households"].sum()), "grids": len(plan.grids),
           "buildings": len(plan.buildings), "streets": int((units.units["level"] == "street").sum()),
           "communities": len(communities), "build_s": round(build_s, 1),
           "largest_community": str(communities.at[largest, "code"]),
           "largest_community_grids": len(units.children(largest)[1])}
    proc, port, start = serve(plan_path, folder / f"server{households}.log")
    try:
        row["start_s"] = round(start, 2)
        t0 = time.perf_counter()
        status, body, _ = _get(port, f"/plans/{name}/units/")
        row["first_page_s"] = round(time.perf_counter() - t0, 2)
        assert status == 200, body[:300]
        base = f"http://127.0.0.1:{port}"
        row["top"] = paint(base, f"/plans/{name}/units/")
        row["community"] = paint(base, f"/plans/{name}/units/{row['largest_community']}")
        rng = np.random.default_rng(0)
        streets = list(units.units.loc[units.units["level"] == "street", "code"])
        sample = list(rng.choice(communities["code"].to_numpy(), size=min(200, len(communities)), replace=False))
        paths = [f"/plans/{name}/units/", f"/api/plans/{name}/units/"]
        for code in streets:
            paths += [f"/plans/{name}/units/{code}", f"/api/plans/{name}/units/{code}"]
        for code in sample:
            paths += [f"/plans/{name}/units/{code}", f"/api/plans/{name}/units/{code}",
                      f"/api/plans/{name}/units/{code}/buildings.geojson"]
        for phase in ("load", "load_warm"):  # just after the start, every page made on its first request; then again
            row[phase] = _pass(port, paths, clients=clients, seconds=seconds, seed=len(phase))
    finally:
        stop(proc)
    row.update(signed_in(plan_path, paths, folder=folder / f"signed-in{households}", clients=clients, seconds=seconds))
    row["load_avg"] = round(os.getloadavg()[0], 1)
    return row


def _pass(port: int, paths: list[str], *, clients: int, seconds: float, seed: int, headers=None) -> dict:
    load = _load(port, paths, clients=clients, seconds=seconds, seed=seed, headers=headers)
    stats = _stats(load["records"])
    return {"clients": clients, "seconds": seconds, "paths": len(paths), "requests": stats["n"],
            "rps": round(stats["n"] / load["elapsed"], 1), "errors": stats["errors"],
            **{k: round(float(stats[k]), 1) for k in ("p50", "p95", "p99", "max")}}


def signed_in(plan_path: Path, paths: list[str], *, folder: Path, clients: int, seconds: float) -> dict:
    """The two load passes again for signed-in viewers (their own cache level, issue 19): the server of
    ``test_signed_in_bench`` (``serve --production`` without ``PUBLIC_MAP``), each client signed in
    through the login form."""
    from app.auth import add_user
    from tests.benchmarks.test_signed_in_bench import PASSWORD, _serve, _sign_in

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "users.sqlite"
    add_user(db, "viewer", PASSWORD, role="viewer", replace=True)
    proc, port, start = _serve(plan_path, db, public=False, log=folder / "server.log")
    try:
        headers = [_sign_in(port, "viewer") for _ in range(clients)]
        return {"signed_in_start_s": round(start, 2),
                **{f"signed_in_{phase}": _pass(port, paths, clients=clients, seconds=seconds, seed=len(phase),
                                               headers=headers) for phase in ("load", "load_warm")}}
    finally:
        stop(proc)


def write(rows: list[dict], *, sizes) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "drill.json").write_text(json.dumps(rows, indent=2) + "\n")
    mb = 1_000_000
    lines = [
        "# Drill-down pages at city scale (issue 16)",
        "",
        f"Produced by `make bench-scale` (`tests/benchmarks/drill_scale.py`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Machine: {platform.platform()}, "
        f"{os.cpu_count()} cores shared with the load clients, Chromium and other jobs. Sizes asked: "
        f"{', '.join(f'{s:,}' for s in sizes)}; load average {', '.join(str(r['load_avg']) for r in rows)} after each.",
        "",
        "Plans: `gridplan synth` (seed 0) partitioned with `--boundary … communities --workers 2` (build: both "
        "commands; `reused`: the plan of an earlier run, `--keep`); served by "
        "`gridplan serve PLAN --production --offline --public` (gunicorn gthread, one worker per core). "
        "Start: command to `/healthz` answering (plans read before forking, nothing pre-rendered); first page: "
        "the top drill page, made on that request. Paint: headless Chromium, fresh context (no cache), "
        "navigation → the unit's children drawn, median of 5; bytes: everything the browser received "
        "for the page (HTTP bodies as sent, gzip, and headers; scripts and styles included), data: the "
        "unit's API documents alone. Load: 50 keep-alive clients × 30 s over the top page and document, every "
        "street's, and 200 communities' pages, documents and buildings.",
        "",
        "| households | grids | streets / communities | build s | start s | first page s | top: paint s | top: bytes (data) "
        "| community (grids): paint s | community: bytes (data) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        top, com = r["top"], r["community"]
        lines.append(
            f"| {r['households']:,} | {r['grids']:,} | {r['streets']} / {r['communities']} "
            f"| {r['build_s'] or 'reused'} | {r['start_s']} "
            f"| {r['first_page_s']} | {top['paint_s']:.2f} | {top['bytes'] / mb:.2f} MB ({top['data_bytes'] / 1000:.0f} kB) "
            f"| {com['paint_s']:.2f} ({r['largest_community_grids']}) | {com['bytes'] / mb:.2f} MB "
            f"({com['data_bytes'] / 1000:.0f} kB) |")
    lines += ["", "Load, 50 clients × 30 s: first just after the start (every page and document made on its first "
              "request in each worker), then the same again (a server that has been up a while); then the same two "
              "passes by 50 viewers signed in through the login form, on a server without `PUBLIC_MAP` (their own "
              "cache level, issue 19).", "",
              "| households | pass | paths | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        for phase, label in (("load", "after the start"), ("load_warm", "again"),
                             ("signed_in_load", "signed-in viewers, after the start"),
                             ("signed_in_load_warm", "signed-in viewers, again")):
            ld = r[phase]
            lines.append(f"| {r['households']:,} | {label} | {ld['paths']} | {ld['rps']} | {ld['p50']} | {ld['p95']} "
                         f"| {ld['p99']} | {ld['max']} | {ld['errors']} |")
    lines += ["", "## Goals", ""]
    for r in rows:
        top, com, ld, cold, viewers = r["top"], r["community"], r["load_warm"], r["load"], r["signed_in_load_warm"]
        checks = [
            ("first paint < 2 s", max(top["paint_s"], com["paint_s"]) < GOALS["paint_s"],
             f"top {top['paint_s']:.2f} s, community {com['paint_s']:.2f} s"),
            ("< 1 MB sent for either page", max(top["bytes"], com["bytes"]) < GOALS["bytes"],
             f"top {top['bytes'] / mb:.2f} MB, community {com['bytes'] / mb:.2f} MB"),
            ("production start < 10 s", r["start_s"] < GOALS["start_s"], f"{r['start_s']} s"),
            ("50 clients × 30 s: 0 errors, p95 < 200 ms", ld["errors"] == 0 and ld["p95"] < GOALS["p95_ms"],
             f"{ld['errors']} errors, p95 {ld['p95']} ms (just after the start: {cold['errors']} errors, "
             f"p95 {cold['p95']} ms; signed-in viewers: {viewers['errors']} errors, p95 {viewers['p95']} ms)"),
        ]
        lines.append(f"- {r['households']:,} households ({r['grids']:,} grids): "
                     + "; ".join(f"{what}: {got} ({'met' if ok else 'NOT met'})" for what, ok, got in checks) + ".")
    missing = [s for s in sizes if not any(abs(r["households"] - s) < 0.01 * s + 200 for r in rows)]
    if missing:
        lines.append(f"- Not measured in this run: {', '.join(f'{s:,}' for s in missing)} households.")
    (RESULTS / "drill.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--keep", type=Path, help="Folder for the cities and plans, reused by later runs "
                                                   "(default: a temporary folder, removed).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=int(os.environ.get("GRIDPLAN_BENCH_CLIENTS", "50")))
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("GRIDPLAN_BENCH_SECONDS", "30")))
    args = parser.parse_args(argv)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            rows.append(measure(size, folder=folder, workers=args.workers, clients=args.clients,
                                seconds=args.seconds))
            print(json.dumps(rows[-1]), flush=True)
            write(rows, sizes=args.sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
