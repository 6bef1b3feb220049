"""Benchmark: staffing the Suzhou demo (609 grids, 3,076 buildings) from the bundled made-up roster.

Run with ``make bench``; writes ``tests/benchmarks/results/people.md``: wall and CPU time of
``gridplan people import`` and ``people assign`` (1+1+N), posts required/filled/missing, and the
distance from home to post. Measured, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

import geo
from app.cli import cli

REPO = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).parent / "results" / "people.md"


def _timed(args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result, time.perf_counter() - wall, time.process_time() - cpu


def test_staff_suzhou(tmp_path):
    plan = tmp_path / "suzhou.gpkg"
    _timed(["partition", str(REPO / "data" / "suzhou_gusu" / "buildings.geojson"), "-o", str(plan)])
    _, imp_wall, imp_cpu = _timed(["people", "import", str(plan), str(REPO / "data" / "suzhou_gusu" / "roster.csv")])
    out, wall, cpu = _timed(["people", "assign", str(plan), "--template", "1+1+N", "--json"])
    report = json.loads(out.output)
    _, again_wall, again_cpu = _timed(["people", "assign", str(plan), "--template", "1+1+N", "--json"])
    people = pd.DataFrame(geo.read_plan(plan).layers["people"])
    posted = people[people["grid_id"].notna()]
    dist = pd.to_numeric(posted["distance_m"], errors="coerce")
    t = report["totals"]
    lines = [
        "# Staffing benchmark (Suzhou demo, 1+1+N)", "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} (shared machine). "
        "`make bench` → `tests/benchmarks/test_people_bench.py`.", "",
        "| step | wall s | CPU s |", "|---|---|---|",
        f"| people import (4,195 people) | {imp_wall:.1f} | {imp_cpu:.1f} |",
        f"| people assign (optimal, per role) | {wall:.1f} | {cpu:.1f} |",
        f"| people assign again (all posts kept) | {again_wall:.1f} | {again_cpu:.1f} |", "",
        f"Posts: {t['required']:,} required, {t['filled']:,} filled, {t['missing']:,} still needed; "
        f"{t['grids_complete']} of {t['grids']} grids complete.", "",
        "| role | required | filled | missing |", "|---|---|---|---|",
        *[f"| {r} | {v['required']:,} | {v['filled']:,} | {v['missing']:,} |" for r, v in t["by_role"].items()], "",
        f"Home → post distance (m): median {dist.median():.0f}, 90th percentile {dist.quantile(0.9):.0f}, "
        f"max {dist.max():.0f}; building leaders living in their building: "
        f"{int((posted['home'] == posted['building_id']).sum()):,} of {int(posted['building_id'].notna().sum()):,}.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
