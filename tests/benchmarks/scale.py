"""Scaling benchmark: synthetic cities of 10k to 1.5M households through ``gridplan partition``.

Run with ``make bench-scale`` (not part of ``make test`` or ``make bench``), or
``python tests/benchmarks/scale.py [HOUSEHOLDS ...] [--workers N] [--seed S]``.

For each size a city is generated (``gridplan synth``, seed 0, no household points: the
households come from the buildings' field) and partitioned with the command a district office
would run::

    gridplan partition city.gpkg --layer buildings --id-field building_id --households-field households \\
        --barriers city.gpkg --barriers-layer roads --boundary city.gpkg --boundary-layer communities \\
        --workers 2 --json -o plan.gpkg

in a subprocess. Wall time covers reading, planning and writing the plan; peak memory is the
largest sum of the resident set sizes of the whole process tree (the command, the Dask scheduler,
nannies and workers), sampled every 0.2 s with psutil. Validity and balance are the command's
own figures (per-community coverage, connectivity, balance); up to 150k households the written
plan is also verified by ``gridplan check`` (whole-city graph), timed apart.

Results are written after every size to ``tests/benchmarks/results/scale.md`` (table) and
``scale.png`` (time and memory against households), so a run cut short keeps what it measured.
Speed goals are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "tests" / "benchmarks" / "results"
SIZES = (10_000, 50_000, 150_000, 1_500_000)
CHECK_UP_TO = 150_000
GOALS = {150_000: 60.0, 1_500_000: 600.0}  # seconds
MEMORY_GOAL_GB = 8.0


def _gridplan():
    exe = Path(sys.executable).with_name("gridplan")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "app.cli"]


class TreeMemory:
    """Peak summed RSS of a process and all its descendants, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run(cmd, *, cwd=None) -> tuple[float, int, str]:
    """Run ``cmd``; return wall seconds, peak tree RSS (bytes) and stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    mem = TreeMemory(proc.pid)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    peak = mem.stop()
    if proc.returncode not in (0, 4):
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, peak, out


def measure(households: int, *, workers: int, seed: int, work: Path) -> dict:
    city = work / f"city_{households}.gpkg"
    plan = work / f"plan_{households}.gpkg"
    t_synth, _, out = run([*_gridplan(), "synth", "--households", str(households), "--seed", str(seed),
                           "--no-household-points", "-o", str(city)])
    print(out.strip(), flush=True)
    cmd = [*_gridplan(), "partition", str(city), "--layer", "buildings", "--id-field", "building_id",
           "--households-field", "households", "--barriers", str(city), "--barriers-layer", "roads",
           "--boundary", str(city), "--boundary-layer", "communities", "--workers", str(workers),
           "--json", "-o", str(plan)]
    load = os.getloadavg()[0]
    wall, peak, out = run(cmd)
    m = json.loads(out)
    row = {
        "households": m["households_total"], "buildings": m["n_buildings"], "communities": m["communities"],
        "grids": m["n_grids"], "workers": workers, "synth_s": round(t_synth, 1), "wall_s": round(wall, 1),
        "plan_s": m["timings"]["total_s"], "worker_s": m["timings"]["worker_s"],
        "worker_cpu_s": m["timings"].get("worker_cpu_s"),
        "slowest_community_s": m["timings"]["slowest_community_s"],
        "peak_rss_gb": round(peak / 2**30, 2), "grids_per_s": round(m["n_grids"] / wall, 1),
        "share_within_tolerance": m["share_within_tolerance"],
        "share_within_tolerance_reachable": m["share_within_tolerance_reachable"],
        "worst_deviation": m["worst_deviation"], "oversize_grids": m["oversize_grids"],
        "undersize_grids": m["undersize_grids"], "disconnected_grids": m["disconnected_grids"],
        "split_buildings": m["split_buildings"], "coverage_ok": m["coverage"]["ok"],
        "load_before": round(load, 1), "load_after": round(os.getloadavg()[0], 1),
    }
    if households <= CHECK_UP_TO:
        t_check, _, out = run([*_gridplan(), "check", str(plan), "--json"])
        row["check_ok"] = json.loads(out)["ok"]
        row["check_s"] = round(t_check, 1)
    for path in (city, plan):
        path.unlink(missing_ok=True)
    return row


def write_results(rows: list[dict], *, sizes, workers: int) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(rows, indent=2) + "\n")
    _plot(rows)
    lines = [
        "# Scaling: synthetic cities through `gridplan partition --workers N`",
        "",
        f"Produced by `make bench-scale` (`tests/benchmarks/scale.py`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {psutil.cpu_count()} cores "
        f"(shared with other jobs: see the load averages), {psutil.virtual_memory().total / 2**30:.1f} GB RAM. "
        f"Sizes asked: {', '.join(f'{s:,}' for s in sizes)}; {workers} local Dask workers, one thread each.",
        "",
        "Wall: the whole command (read the city, plan every community, assemble, write the plan). Plan: "
        "planning and assembly only. Worker: seconds spent in the communities, summed. Peak RSS: the "
        "largest sum over the process tree (command, scheduler, nannies, workers). Grids/s: grids over wall time. "
        "The machine is shared: CPU seconds are the fairer measure of the work when the load average is above "
        "the core count.",
        "",
        "| households | buildings | communities | grids | wall s | plan s | worker s (CPU s) | slowest community s "
        "| peak RSS GB | grids/s | within tolerance | (reachable) | worst dev. | oversize | undersize "
        "| disconnected | coverage ok | check | load before/after |",
        "|" + "---:|" * 16 + ":---:|:---:|---:|",
    ]
    for r in rows:
        check = f"{'ok' if r['check_ok'] else 'FAILED'} ({r['check_s']} s)" if "check_ok" in r else "–"
        lines.append(
            f"| {r['households']:,} | {r['buildings']:,} | {r['communities']} | {r['grids']:,} | {r['wall_s']} "
            f"| {r['plan_s']} | {r['worker_s']} ({r.get('worker_cpu_s') or '–'}) | {r['slowest_community_s']} | {r['peak_rss_gb']} | {r['grids_per_s']} "
            f"| {r['share_within_tolerance']:.1%} | {r['share_within_tolerance_reachable']:.1%} "
            f"| {r['worst_deviation']:.0%} | {r['oversize_grids']} | {r['undersize_grids']} "
            f"| {r['disconnected_grids']} | {'yes' if r['coverage_ok'] else 'NO'} | {check} "
            f"| {r['load_before']} / {r['load_after']} |")
    missing = [s for s in sizes if not any(abs(r["households"] - s) < 0.01 * s + 200 for r in rows)]
    lines += ["", "![time and memory against households](scale.png)", "", "## Goals", ""]
    for size, goal in GOALS.items():
        hit = [r for r in rows if abs(r["households"] - size) < 0.01 * size + 200]
        if hit:
            r = hit[0]
            lines.append(f"- {size:,} households in under {goal:.0f} s: measured {r['wall_s']} s wall "
                         f"({'met' if r['wall_s'] < goal else 'NOT met'}).")
        else:
            lines.append(f"- {size:,} households in under {goal:.0f} s: not measured in this run.")
    if rows:
        worst = max(r["peak_rss_gb"] for r in rows)
        lines.append(f"- Peak memory under {MEMORY_GOAL_GB:.0f} GB: largest {worst} GB "
                     f"({'met' if worst < MEMORY_GOAL_GB else 'NOT met'}).")
    for a, b in zip(rows, rows[1:]):
        ratio = b["households"] / a["households"]
        lines.append(f"- From {a['households']:,} to {b['households']:,} households ({ratio:.1f}×): "
                     f"{b['wall_s'] / a['wall_s']:.1f}× the wall time"
                     + (f", {b['worker_cpu_s'] / a['worker_cpu_s']:.1f}× the workers' CPU time"
                        if a.get("worker_cpu_s") and b.get("worker_cpu_s") else "") + ".")
    if missing:
        lines.append(f"- Not measured in this run: {', '.join(f'{s:,}' for s in missing)} households.")
    (RESULTS / "scale.md").write_text("\n".join(lines) + "\n")


def _plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    hh = [r["households"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.loglog(hh, [r["wall_s"] for r in rows], "o-", color="tab:blue", label="wall time (s)")
    ref = rows[-1]["wall_s"] / rows[-1]["households"]
    ax.loglog(hh, [ref * h for h in hh], ":", color="tab:blue", alpha=0.6, label="linear through the largest")
    if all(r.get("worker_cpu_s") for r in rows):
        ax.loglog(hh, [r["worker_cpu_s"] for r in rows], "^-", color="tab:orange", label="workers' CPU time (s)")
    for size, goal in GOALS.items():
        ax.plot([size], [goal], "x", color="tab:red")
    ax.set_xlabel("households")
    ax.set_ylabel("seconds")
    ax2 = ax.twinx()
    ax2.semilogx(hh, [r["peak_rss_gb"] for r in rows], "s--", color="tab:green", label="peak RSS (GB)")
    ax2.set_ylabel("peak RSS of the process tree (GB)")
    ax2.set_ylim(0, max(MEMORY_GOAL_GB, max(r["peak_rss_gb"] for r in rows)) * 1.1)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    ax.set_title("gridplan partition --workers 2 on synthetic cities (x: goals)")
    fig.tight_layout()
    fig.savefig(RESULTS / "scale.png", dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES), help="households per city")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gridplan-scale-") as tmp:
        for size in args.sizes:
            print(f"--- {size:,} households", flush=True)
            row = measure(size, workers=args.workers, seed=args.seed, work=Path(tmp))
            print(json.dumps(row), flush=True)
            rows.append(row)
            write_results(rows, sizes=args.sizes, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
