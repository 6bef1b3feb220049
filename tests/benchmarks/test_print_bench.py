"""Benchmark: printed wall maps of the Suzhou demo plan (one A3 grid sheet, the A1 overview, --all).

Run with ``make bench``; writes ``tests/benchmarks/results/print.md``. Speed is measured and
written down here, never asserted (goal: every sheet of Suzhou, ``print_all``, under 2 minutes).
"""

from __future__ import annotations

import os
import platform
import resource
import time
from pathlib import Path

import matplotlib
import pytest

import geo
from maps.wallmap import grid_sheet, overview_sheet, print_all, save_sheet
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings

RESULTS = Path(__file__).parent / "results" / "print.md"
JOBS = 2


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the print_all workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn):
    t, c = time.perf_counter(), _cpu()
    out = fn()
    return out, time.perf_counter() - t, _cpu() - c


@pytest.fixture(scope="module")
def suzhou(suzhou_inputs, tmp_path_factory):
    """The Suzhou plan as `gridplan partition` makes it (default settings), read back from its file."""
    plan, _ = make_plan(suzhou_inputs, PlanSettings())
    out = geo.write_plan(plan, tmp_path_factory.mktemp("print") / "suzhou_gusu.gpkg")
    return geo.read_plan(out), out


def test_print_benchmark(suzhou, tmp_path):
    plan, path = suzhou
    name = path.stem
    busiest = str(plan.grids.sort_values(["n_buildings", "grid_code"]).iloc[-1]["grid_code"])
    rows = []
    # the community's name and the web address: an overview without a name is refused
    sheet = dict(plan_name=name, community_name="养育巷社区", base_url="https://grid.example.gov.cn")
    one, t_one, c_one = _timed(lambda: save_sheet(grid_sheet(plan, busiest, paper="A3", **sheet),
                                                  tmp_path / f"{busiest}.pdf"))
    rows.append((f"grid sheet A3 (busiest grid {busiest}, {int(plan.grids.n_buildings.max())} buildings)",
                 1, t_one, c_one, one.stat().st_size, one.name))
    ov, t_ov, c_ov = _timed(lambda: save_sheet(overview_sheet(plan, paper="A1", **sheet),
                                               tmp_path / "overview.pdf"))
    rows.append((f"overview A1 ({len(plan.grids)} grids)", 1, t_ov, c_ov, ov.stat().st_size, ov.name))
    png, t_png, c_png = _timed(lambda: save_sheet(grid_sheet(plan, busiest, paper="A3", **sheet),
                                                  tmp_path / f"{busiest}.png", dpi=300))
    rows.append(("grid sheet A3 as PNG, 300 dpi", 1, t_png, c_png, png.stat().st_size, png.name))
    files, t_all, c_all = _timed(lambda: print_all(plan, tmp_path / "all", paper="A3", overview_paper="A1",
                                                   jobs=JOBS, **sheet))
    size_all = sum(f.stat().st_size for f in files)
    rows.append((f"print_all (--all): A3 per grid + A1 overview, {JOBS} worker processes", len(files), t_all,
                 c_all, size_all, f"{tmp_path.name}/all/"))
    assert len(files) == len(plan.grids) + 1

    lines = [
        "# Wall map (作战图) benchmark",
        "",
        "Written by `make bench` (`tests/benchmarks/test_print_bench.py`) on the Suzhou demo plan",
        "(the Suzhou footprints partitioned with the default settings: 3,076 buildings). Times in seconds:",
        "`wall` is the elapsed time, `cpu` the CPU time of the process and its worker processes (less",
        "sensitive to other jobs sharing the cores). Sheets are vector PDFs with the CJK font embedded",
        "as TrueType; `print_all` sets every sheet in a font cut down to the characters the plan prints.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()},"
        f" matplotlib {matplotlib.__version__}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "- goal: `print_all` (`gridplan print --all`) for Suzhou under 120 s",
        f"- load: {os.getloadavg()[0]:.1f} (1-minute load average when written; 2 means both cores busy)",
        "",
        "| what | sheets | wall s | cpu s | size | file |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for what, n, wall, cpu, size, fname in rows:
        lines.append(f"| {what} | {n} | {wall:.1f} | {cpu:.1f} | {size / 1024:,.0f} KiB | `{fname}` |")
    lines += ["", f"Per sheet in `print_all`: {t_all / len(files):.3f} s wall, {c_all / len(files):.3f} s CPU.", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
