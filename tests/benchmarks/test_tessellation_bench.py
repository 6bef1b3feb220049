"""Benchmark: tessellation, grid polygons and coverage report on the real data sets.

Run with ``make bench``; writes ``tests/benchmarks/results/tessellation.md``. Speed is
measured and written down here, never asserted (goal: Suzhou tessellation under 10 s).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from partitioning.tessellation import (
    coverage_report,
    grid_polygons,
    study_area,
    tessellate,
)
from tests.plans import square_assignment

RESULTS = Path(__file__).parent / "results" / "tessellation.md"
REPEAT = 3
ROWS: list[dict] = []


def _timed(fn, repeat=1):
    """Result, median wall time, all wall times and the median CPU time of this process."""
    times, cpu, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return out, statistics.median(times), times, statistics.median(cpu)


@pytest.mark.parametrize("name", ["suzhou", "kunming", "kotka"])
def test_tessellation_benchmark(name, request):
    barriers = None
    if name == "kotka":
        buildings = request.getfixturevalue("kotka_buildings")
        barriers = request.getfixturevalue("kotka_barriers")
    else:
        buildings = request.getfixturevalue(f"{name}_buildings")
    area, t_area, *_ = _timed(lambda: study_area(buildings))
    cells, t_tess, runs, cpu_tess = _timed(lambda: tessellate(buildings, area=area, barriers=barriers), REPEAT)
    assignment, _ = square_assignment(cells, buildings)
    grids, t_grids, *_ = _timed(lambda: grid_polygons(cells, assignment))
    report, t_report, *_ = _timed(lambda: coverage_report(grids, buildings, assignment, area=area))
    assert report["overlap_area_m2"] < 0.01 and report["gap_area_m2"] == 0
    assert report["coverage_valid"]
    ROWS.append({
        "data": name + (" + roads" if barriers is not None else ""),
        "buildings": len(buildings),
        "enclosures": int(cells["enclosure_id"].nunique()),
        "study_area_s": t_area,
        "tessellate_s": t_tess,
        "tessellate_runs": ", ".join(f"{t:.2f}" for t in runs),
        "tessellate_cpu_s": cpu_tess,
        "grid_polygons_s": t_grids,
        "coverage_report_s": t_report,
        "grids": len(grids),
        "overlap_m2": report["overlap_area_m2"],
        "gap_m2": report["gap_area_m2"],
        "rounding_m2": report["rounding_area_m2"],
        "multipart": len(report["multipart_grids"]),
        "cut": len(report["cut_buildings"]),
    })
    if len(ROWS) == 3:
        _write()


def _write():
    lines = [
        "# Tessellation benchmark",
        "",
        "Written by `make bench` (`tests/benchmarks/test_tessellation_bench.py`). Times in seconds,",
        f"wall clock; `tessellate` is the median of {REPEAT} runs (`cpu`: CPU time of the process, less",
        "sensitive to other jobs sharing the 2 cores).",
        "Grids here come from a simple",
        "assignment (cells connected within 300 m squares), not from the partition engine.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()},"
        f" shapely {shapely.__version__}, GEOS {'.'.join(map(str, shapely.geos_version))}",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "- goal: Suzhou tessellation under 10 s",
        f"- load: {os.getloadavg()[0]:.1f} (1-minute load average when written; 2 means both cores busy)",
        "",
        "| data | buildings | enclosures with buildings | study_area | tessellate | runs | cpu | grid_polygons "
        "| coverage_report | grids | overlap m² | gap m² | rounding m² | multipart | cut |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in ROWS:
        lines.append(
            f"| {r['data']} | {r['buildings']} | {r['enclosures']} | {r['study_area_s']:.2f} | "
            f"{r['tessellate_s']:.2f} | {r['tessellate_runs']} | {r['tessellate_cpu_s']:.2f} | "
            f"{r['grid_polygons_s']:.2f} | "
            f"{r['coverage_report_s']:.2f} | {r['grids']} | {r['overlap_m2']:.3f} | {r['gap_m2']:.3f} | "
            f"{r['rounding_m2']:.3f} | {r['multipart']} | {r['cut']} |"
        )
    lines += ["", "`rounding m²`: slivers under 2 mm wide between the study area's outline and the grids,",
              "left by snapping the coverage to the 1 mm grid (not counted as gap).", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    assert np.isfinite([r["tessellate_s"] for r in ROWS]).all()
