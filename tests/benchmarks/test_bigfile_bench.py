"""Big-file benchmark: 652,112 buildings in one GeoJSON, no boundaries, through ``gridplan partition``.

Run with ``python tests/benchmarks/test_bigfile_bench.py [COPIES] [--workers N]`` (212 copies of
the 3,076 Suzhou footprints = 652,112 buildings, about 280 MB). The file is made by tiling
``data/suzhou_gusu/buildings.geojson`` side by side with a seeded jitter (:mod:`tiled`), then
planned as a user would::

    gridplan -v partition city.geojson --workers 2 --json -o plan.gpkg

(no ``--boundary``: the command splits the file into tiles itself). Wall time, the peak of the
summed RSS of the whole process tree (psutil, every 0.5 s), the plan's figures and the machine
load are written to ``tests/benchmarks/results/bigfile.md``. Goal: < 15 min, < 8 GB on 2 cores;
reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))
from tiled import SUZHOU_SMALL, make_tiled  # noqa: E402


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(copies: int, workers: int, seed: int, tmp: Path, check: bool = True) -> dict:
    src = tmp / f"city{copies}.geojson"
    if src.exists():  # kept from an earlier run with --dir
        import pyogrio

        n = int(pyogrio.read_info(src)["features"])
    else:
        n = make_tiled(ROOT / SUZHOU_SMALL, src, copies, seed=seed)
    out = tmp / "plan.gpkg"
    cmd = [sys.executable, "-m", "app.cli", "-v", "partition", str(src), "--workers", str(workers),
           "--json", "-o", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    load = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=(tmp / "stderr.txt").open("w"), text=True)
    peak = [0]

    def sample():
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(ps))
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - t0
    row = {"buildings": n, "file_mb": round(src.stat().st_size / 1e6, 1), "workers": workers,
           "wall_s": round(wall, 1), "peak_rss_gb": round(peak[0] / 1e9, 2), "exit": proc.returncode,
           "load_before": " ".join(f"{x:.2f}" for x in load)}
    if proc.returncode == 0:
        m = json.loads(stdout)
        row.update(grids=m["n_grids"], share_within_tolerance=m["share_within_tolerance"],
                   parts=m.get("communities"), coverage_ok=m["coverage"]["ok"])
    if proc.returncode == 0 and check:
        t1 = time.perf_counter()
        chk = subprocess.run([sys.executable, "-m", "app.cli", "check", str(out)], cwd=ROOT, env=env,
                             capture_output=True, text=True)
        row.update(check="pass" if chk.returncode == 0 else "FAIL", check_s=round(time.perf_counter() - t1, 1))
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("copies", nargs="?", type=int, default=212)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-check", action="store_true", help="skip `gridplan check` of the plan")
    ap.add_argument("--dir", type=Path, help="work here and keep the city, the plan and stderr.txt "
                    "(default: a temporary folder, removed)")
    args = ap.parse_args(argv)
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
        row = run(args.copies, args.workers, args.seed, args.dir, check=not args.no_check)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            row = run(args.copies, args.workers, args.seed, Path(tmp), check=not args.no_check)
    row["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    res = ROOT / "tests" / "benchmarks" / "results" / "bigfile.md"
    lines = ["# Big single file (no boundaries)", "",
             f"`python tests/benchmarks/test_bigfile_bench.py {args.copies} --workers {args.workers}` "
             f"on {os.cpu_count()} cores (shared: see the load averages). Goal: < 900 s, < 8 GB.", "",
             "| " + " | ".join(row) + " |", "|" + "---|" * len(row), "| " + " | ".join(map(str, row.values())) + " |", ""]
    res.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
