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

Up to 150k households the run is followed by its *bound* (:func:`city_bound`): every community is
planned again in this process as the command's workers planned it (same buildings, boundary,
barriers, seed and code prefix: the same plan, which is checked), and
:func:`tests.benchmarks.bound.area_bound` is run on the graph the engine saw; the city's bound is the
communities' most grids within the band, summed, over ΣG (they are planned apart: no grid spans two).

Results are written after every size to ``tests/benchmarks/results/scale.md`` (table), ``scale.json``
(every figure, and the bound's per community and per piece) and ``scale.png`` (time and memory
against households), so a run cut short keeps what it measured. A run of some sizes keeps the rows
of the sizes it did not run, from ``scale.json``, each with the date it was measured. Speed goals
are reported, never asserted.
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
if str(ROOT) not in sys.path:  # run as a script: the bound's modules come from this checkout
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "tests" / "benchmarks" / "results"
SIZES = (10_000, 50_000, 150_000, 1_500_000)
CHECK_UP_TO = 150_000
#: The bound is computed up to this size: above it, planning every community again in one process
#: (the bound needs the graphs the workers made and dropped) would double a run of many minutes.
BOUND_UP_TO = 150_000
BOUND_LIMIT = float(os.environ.get("GRIDPLAN_SCALE_EXACT_S", "4"))  # CP-SAT seconds per question
BOUND_BUDGET = float(os.environ.get("GRIDPLAN_SCALE_EXACT_BUDGET_S", "240"))  # and per city
TARGET, TOLERANCE = 50, 0.2  # the command's defaults
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


def _kinds(buildings) -> str:
    """The kinds of building holding at least a tenth of a community's households."""
    hh = buildings.groupby("kind")["households"].sum()
    return " + ".join(sorted(k for k, v in hh.items() if v >= 0.1 * hh.sum())) or "none"


def city_bound(city: Path, *, time_limit: float = BOUND_LIMIT, budget: float = BOUND_BUDGET) -> dict:
    """The bound of a synthetic city planned as :func:`measure` plans it, community by community.

    Each community is planned again here as a worker of ``gridplan partition --workers`` planned it
    (:func:`partitioning.parallel.plan_community`'s call of :func:`partitioning.area.plan_area`, on
    the same tasks) and :func:`tests.benchmarks.bound.area_bound` is run on its graph and plan;
    ``budget`` seconds are shared by all communities.  Communities are planned apart (no grid spans
    two), so the city's most grids within the band is the sum of theirs.

    Returns
    -------
    dict
        ``bound`` (Σ of the communities' grids within the band at most, over ΣG), ``bound_grids``
        (ΣG), ``same_k_share`` (the share within the band of the engine's plan with every piece
        where the exact split with the engine's number of grids has fewer grids outside replaced by
        it: what the engine misses), ``forced`` (ΣF, Σ ``in_band_max`` and how the pieces were
        decided, summed), ``bound_s``, ``replanned_share`` (the share within the band of the plans
        made here: equal to the command's when the plan is the same), ``replan_s``,
        ``bound_communities`` (per community: ``community``, ``kinds`` (:func:`_kinds`),
        ``households``, ``grids`` (not oversize), ``out`` (outside the band), ``forced``) and
        ``bound_pieces`` (the pieces' records of :func:`tests.benchmarks.bound.forced_out`, with
        their ``community``).
    """
    import geo
    from partitioning.area import plan_area
    from partitioning.parallel import _prefixes, _tasks, community_of, community_seed
    from partitioning.settings import PlanSettings
    from tests.benchmarks.bound import area_bound

    settings = PlanSettings(target=TARGET, tolerance=TOLERANCE)
    inputs = geo.load_buildings(city, layer="buildings", id_field="building_id", households_field="households")
    barriers = geo.load_barriers(city, inputs.crs, layer="roads")
    communities = geo.load_boundaries(city, inputs.crs, layer="communities")
    buildings = inputs.buildings
    member = community_of(buildings, communities)
    prefixes = _prefixes(sorted(member.unique()), settings.code_prefix)
    lo, hi = TARGET * (1 - TOLERANCE), TARGET * (1 + TOLERANCE)
    per, pieces, forced = [], [], {}
    replan_s = bound_s = 0.0
    in_band = 0
    for cid, own, boundary, near, _ in _tasks(buildings, communities, barriers, member):
        start = time.perf_counter()
        area = plan_area(own, settings=settings, boundaries=boundary, barriers=near,
                         seed=community_seed(settings.seed, cid), prefix=prefixes[cid])
        replan_s += time.perf_counter() - start
        normal = area.figures[~area.figures["oversize"].to_numpy(dtype=bool)]
        found: list = []
        res = area_bound(area.graph, area.assignment, target=TARGET, tolerance=TOLERANCE, n_normal=len(normal),
                         time_limit=time_limit, budget=max(0.0, budget - bound_s), pieces=found)
        bound_s += res.pop("seconds")
        in_band += res["in_band"]
        for key, value in res.items():
            if key not in ("in_band_max", "in_band", "grids", "bound"):
                forced[key] = forced.get(key, 0) + value
        pieces += [{"community": cid, **p} for p in found]
        per.append({"community": cid, "kinds": _kinds(own), "households": int(own["households"].sum()),
                    "grids": len(normal), "out": int((~normal["households"].between(lo, hi)).sum()),
                    "forced": res["forced"]})
    forced["in_band_max"] = in_band
    grids = sum(c["grids"] for c in per)
    out = sum(c["out"] for c in per)
    missed = sum(p["out"] - p["same_k"] for p in pieces if p["same_k"] is not None and p["same_k"] < p["out"])

    def share(outside: int) -> float:  # of the grids that are not oversize, those within the band
        return round(1 - outside / grids, 4) if grids else 1.0

    return {"bound": share(grids - in_band), "bound_grids": grids, "same_k_share": share(out - missed),
            "forced": forced, "bound_s": round(bound_s, 1), "replanned_share": share(out),
            "replan_s": round(replan_s, 1), "bound_communities": per, "bound_pieces": pieces}


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
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if households <= CHECK_UP_TO:
        t_check, _, out = run([*_gridplan(), "check", str(plan), "--json"])
        row["check_ok"] = json.loads(out)["ok"]
        row["check_s"] = round(t_check, 1)
    if households <= BOUND_UP_TO:
        row.update(city_bound(city))
    for path in (city, plan):
        path.unlink(missing_ok=True)
    return row


def _same_size(row: dict, size: int) -> bool:
    """Whether a row measured the city asked with ``size`` households (it holds at least that many,
    and less than one building more)."""
    return abs(row["households"] - size) < 0.01 * size + 200


def merged_rows(new: list[dict]) -> list[dict]:
    """The rows of this run, and those of ``scale.json`` for the sizes it has not measured (with the
    date they were measured: a run cut short keeps the old rows of the sizes it did not reach), by
    households."""
    path = RESULTS / "scale.json"
    old = json.loads(path.read_text()) if path.exists() else []
    kept = [r for r in old if not any(_same_size(r, n["households"]) for n in new)]
    return sorted(kept + new, key=lambda r: r["households"])


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _where_out(rows: list[dict]) -> list[str]:
    """Lines of the note on the grids outside the band: by the kinds of building of the communities,
    and by how their pieces were decided."""
    from tests.benchmarks.bound import same_k_note

    lines = []
    for r in rows:
        if "bound_communities" not in r:
            continue
        by_kind: dict[str, list[int]] = {}
        for c in r["bound_communities"]:
            acc = by_kind.setdefault(c["kinds"], [0, 0, 0, 0])
            for i, key in enumerate(("grids", "out", "forced")):
                acc[i] += c[key]
            acc[3] += 1
        out = sum(v[1] for v in by_kind.values())
        lines.append(f"- {r['households']:,} households: {out} grids outside the band, of which {r['forced']['forced']} "
                     f"forced (F). By the kinds of building holding the communities' households (≥ 10 % each):")
        for kinds, (grids, n_out, n_forced, n) in sorted(by_kind.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"  - {kinds}: {n} communities, {grids} grids, {n_out} outside ({n_out / max(grids, 1):.1%}), "
                         f"{n_forced} forced")
        by_how: dict[str, list[int]] = {}
        for piece in r["bound_pieces"]:
            acc = by_how.setdefault(piece["how"], [0, 0, 0])
            acc[0] += 1
            acc[1] += piece["out"]
            acc[2] += piece["forced"]
        lines.append("  - by how each piece was decided (pieces, grids outside, forced): " + "; ".join(
            f"{how.replace('_', ' ')} {n}, {n_out}, {n_forced}"
            for how, (n, n_out, n_forced) in sorted(by_how.items(), key=lambda kv: -kv[1][1])) + ".")
        lines.append(f"  - {same_k_note(r['bound_pieces'])}.")
    return lines


def write_results(rows: list[dict], *, sizes, workers: int) -> None:
    """Write ``scale.json``, ``scale.png`` and ``scale.md`` from ``rows`` (those of this run merged
    with the kept ones, :func:`merged_rows`); ``sizes`` are the sizes this run asked."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    _atomic_write(RESULTS / "scale.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    _plot(rows)
    lines = [
        "# Scaling: synthetic cities through `gridplan partition --workers N`",
        "",
        f"Produced by `make bench-scale` (`tests/benchmarks/scale.py`); the last run asked "
        f"{', '.join(f'{s:,}' for s in sorted(sizes))} households; rows of other sizes are kept from earlier runs "
        "(the date of each row in the *measured* column; the engine may have changed since).",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {psutil.cpu_count()} cores "
        f"(shared with other jobs: see the load averages), {psutil.virtual_memory().total / 2**30:.1f} GB RAM. "
        f"{workers} local Dask workers, one thread each.",
        "",
        "Wall: the whole command (read the city, plan every community, assemble, write the plan). Plan: "
        "planning and assembly only. Worker: seconds spent in the communities, summed. Peak RSS: the "
        "largest sum over the process tree (command, scheduler, nannies, workers). Grids/s: grids over wall time. "
        "The machine is shared: CPU seconds are the fairer measure of the work when the load average is above "
        "the core count.",
        "",
        f"Balance, target {TARGET} ± {TOLERANCE:.0%}: *within tolerance* is the share of the grids that are not "
        "oversize (one building above the band) holding 40–60 households; *(reachable)* leaves out the undersize "
        "grids too (a connected group below the band, which no plan can grow). *bound* is the best share any "
        "plan with as many grids that are not oversize could reach: `1 − F / G`, F the grids that the city's "
        "pieces (connected groups of buildings once the oversize ones are set aside) force out of the band "
        "whatever the plan — undersize pieces, pieces no number of grids fits (61–79 households: one grid too "
        "many, two too few) and pieces proven to hold grids outside the band (the *packing* bound where their "
        "connected groups within the band can be listed, else CP-SAT); then the grids are shared among the pieces "
        "(a knapsack: a piece of k grids has at most k − f within the band, no more than its largest packing) and "
        "the bound is the smaller of the two (`tests/benchmarks/bound.py` `area_bound`, the corpus's too; "
        "docs/partitioning.md). Pieces CP-SAT could not decide in its time "
        f"({BOUND_LIMIT:g} s a question, {BOUND_BUDGET:g} s a city) count as splittable within the band, so the "
        "bound is optimistic where they are many, never too low; CP-SAT stops at its time limit, so on a loaded "
        "machine F may differ by a few grids between runs, each proven. *reachable* leaves out only the undersize "
        f"grids the engine made; *bound* counts every forced grid and compares with the plan's own G. Up to "
        f"{BOUND_UP_TO:,} households only (–: above, the bound would plan the whole city once more in one "
        "process, doubling a run of many minutes).",
        "",
        "| households | buildings | communities | grids | wall s | plan s | worker s (CPU s) | slowest community s "
        "| peak RSS GB | grids/s | within tolerance | (reachable) | bound | worst dev. | oversize | undersize "
        "| disconnected | coverage ok | check | load before/after | measured |",
        "|" + "---:|" * 17 + ":---:|:---:|---:|---:|",
    ]
    for r in rows:
        check = f"{'ok' if r['check_ok'] else 'FAILED'} ({r['check_s']} s)" if "check_ok" in r else "–"
        bound = f"{r['bound']:.1%}" if "bound" in r else "–"
        lines.append(
            f"| {r['households']:,} | {r['buildings']:,} | {r['communities']} | {r['grids']:,} | {r['wall_s']} "
            f"| {r['plan_s']} | {r['worker_s']} ({r.get('worker_cpu_s') or '–'}) | {r['slowest_community_s']} | {r['peak_rss_gb']} | {r['grids_per_s']} "
            f"| {r['share_within_tolerance']:.1%} | {r['share_within_tolerance_reachable']:.1%} | {bound} "
            f"| {r['worst_deviation']:.0%} | {r['oversize_grids']} | {r['undersize_grids']} "
            f"| {r['disconnected_grids']} | {'yes' if r['coverage_ok'] else 'NO'} | {check} "
            f"| {r['load_before']} / {r['load_after']} | {r.get('date', '–')} |")
    notes = []
    for r in rows:
        if "bound" not in r:
            continue
        f = r["forced"]
        parts = [f"{k.replace('_', ' ')} {v}" for k, v in f.items() if k not in ("forced", "in_band_max") and v]
        same = abs(r["replanned_share"] - r["share_within_tolerance"]) < 1e-4
        notes.append(f"- {r['households']:,} households: F = {f['forced']} ({', '.join(parts) or 'none'}), "
                     f"G = {r['bound_grids']:,}"
                     + (f", at most {f['in_band_max']:,} of them within the band" if "in_band_max" in f else "")
                     + f"; bound in {r['bound_s']} s after planning the communities again in "
                     f"{r['replan_s']} s ({'the same plan' if same else 'NOT the same plan'}: "
                     f"{r['replanned_share']:.1%} within tolerance)."
                     + (f" With every piece where the engine misses a better split with its own number of grids "
                        f"split that way: {r['same_k_share']:.1%}." if "same_k_share" in r else ""))
    if notes:
        lines += ["", "How the bound was decided (counts of pieces; *many k forced* and *packing forced* count grids; *at most … within the band*: the knapsack's, summed over the communities):",
                  "", *notes]
    where = _where_out(rows)
    if where:
        lines += ["", "## Where the grids outside the band come from", "", *where]
    missing = [s for s in sizes if not any(_same_size(r, s) for r in rows)]
    lines += ["", "![time and memory against households](scale.png)", "", "## Goals", ""]
    for size, goal in GOALS.items():
        hit = [r for r in rows if _same_size(r, size)]
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
                        if a.get("worker_cpu_s") and b.get("worker_cpu_s") else "")
                     + ("" if a.get("date", "")[:10] == b.get("date", "")[:10] else " (rows measured on different days)")
                     + ".")
    if missing:
        lines.append(f"- Not measured in this run: {', '.join(f'{s:,}' for s in missing)} households.")
    _atomic_write(RESULTS / "scale.md", "\n".join(lines) + "\n")


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
            write_results(merged_rows(rows), sizes=args.sizes, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
