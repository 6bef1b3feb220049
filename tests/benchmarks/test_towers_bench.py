"""Benchmark: towers split by unit and floor in the emergency layout (partitioning.towers).

Run with ``make bench`` (or ``pytest tests/benchmarks/test_towers_bench.py``); writes
``tests/benchmarks/results/towers.md``: for Kunming Panlong (households estimated) at emergency
targets 50 and 25, and Suzhou Gusu at 25, the towers split, their sub-grids, the share within
±20%, sub-grids spanning tiny units, the time of the split; the emergency layout's share of all its
units within ±20% with the towers whole and with them split; and the normal layout's honest
figures (all grids, households, oversize grids). Measured, never asserted.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

import geo
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings
from partitioning.towers import subgrid_figures, tower_subgrids
from tests.realdata import KUNMING, SUZHOU

RESULTS = Path(__file__).parent / "results" / "towers.md"
CASES = [("Kunming Panlong", KUNMING, {"id_field": "id"}, 50), ("Kunming Panlong", KUNMING, {"id_field": "id"}, 25),
         ("Suzhou Gusu", SUZHOU, {}, 25)]


def _band_share(households, target, tolerance=0.2) -> float:
    h = households.astype(int)
    return float(h.between(target * (1 - tolerance), target * (1 + tolerance)).mean()) if len(h) else 0.0


def test_towers_bench():
    rows, normal = [], {}
    for name, path, kwargs, target in CASES:
        if not Path(path).exists():
            pytest.skip(f"{path} is missing (../shared/data/real)")
        inputs = geo.load_buildings(path, **kwargs)
        t0 = time.perf_counter()
        plan, metrics = make_plan(inputs, PlanSettings(emergency_target=target))
        total = time.perf_counter() - t0
        em, b = plan.layers["grids_emergency"], plan.buildings
        t1 = time.perf_counter()
        sub, _ = tower_subgrids(b, em, b["grid_id_emergency"], target=target, tolerance=0.2)
        split_s = time.perf_counter() - t1
        fig = subgrid_figures(sub, target=target, tolerance=0.2)
        whole = _band_share(em["households"], target)
        rest = em.drop(index=sub["emergency_grid_id"].unique())["households"]
        with_split = _band_share(pd.concat([rest, sub["households"]]), target)
        rows.append((name, target, len(em), fig, whole, with_split, split_s, total))
        normal[name] = metrics
    lines = [
        "# Towers in the emergency layout: split by unit and floor", "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} (shared machine). "
        "`pytest tests/benchmarks/test_towers_bench.py`. Households estimated from footprint area × floors; "
        "units estimated along the long axis (20 m a unit, `geo.storeys`).", "",
        "| area | emergency target | emergency grids | towers split | sub-grids | sub-grids within ±20% "
        "| across tiny units | emergency units within ±20%, towers whole → split | split s | plan s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, target, n_em, fig, whole, with_split, split_s, total in rows:
        lines.append(f"| {name} | {target} | {n_em} | {fig['towers_split']} | {fig['n_subgrids']} | "
                     f"{fig['share_within_tolerance']:.1%} | {fig['crossing_units']} | {whole:.1%} → {with_split:.1%} | "
                     f"{split_s:.2f} | {total:.1f} |")
    lines += ["", "Normal layout (target 50; towers never split): the figures over all grids beside today's "
              "figure, which leaves oversize grids out.", "",
              "| area | grids | within ±20% (non-oversize) | within ±20% (all grids) | households in such a grid "
              "| oversize grids | their households | split buildings |", "|---|---|---|---|---|---|---|---|"]
    for name, m in normal.items():
        lines.append(f"| {name} | {m['n_grids']} | {m['share_within_tolerance']:.1%} | "
                     f"{m['share_within_tolerance_all']:.1%} | {m['share_households_within']:.1%} | "
                     f"{m['oversize_grids']} | {m['oversize_households']:,} ({m['oversize_households'] / m['households_total']:.0%}) | "
                     f"{m['split_buildings']} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
