"""Why grids are undersize, on Kotka with its roads: every undersize grid and every grid without
households is reported with what keeps it from growing (partitioning.undersize)."""

from __future__ import annotations

import geo
from partitioning.graph import plan_graph
from partitioning.metrics import partition_metrics
from partitioning.settings import bridge_households
from partitioning.undersize import UNDERSIZE_REASONS, major_crossings, undersize_reasons
from tests.clirun import run
from tests.realdata import KOTKA


def test_kotka_undersize_grids_name_what_encloses_them(tmp_path):
    out = tmp_path / "kotka.gpkg"
    code, text = run("partition", KOTKA, "--barriers", KOTKA, "-o", out)
    assert code == 0, text
    plan = geo.read_plan(out)
    reasons = undersize_reasons(plan, plan_graph(plan))
    flagged = plan.grids[(plan.grids["status"] == "undersize") | (plan.grids["households"] == 0)]
    assert sorted(r["grid_code"] for r in reasons) == sorted(flagged["grid_code"])
    assert {r["reason"] for r in reasons} <= set(UNDERSIZE_REASONS)
    barrier = [r for r in reasons if r["reason"] == "barrier"]
    assert barrier, "Kotka has blocks enclosed by roads"
    names = set(plan.layers["barriers"]["name"].dropna().astype(str))
    for r in barrier:  # the road in the way, by name
        assert any(f" {n}," in r["detail"] for n in names), r["detail"]
    for r in reasons:
        if r["reason"] == "oversize":
            code_ = r["detail"].rsplit(" ", 1)[-1].split(",")[0]
            assert plan.grids.set_index("grid_code").loc[code_, "status"] == "oversize"
    code, text = run("check", out)
    assert code == 0 and f"undersize grids:    {len(reasons)}" in text
    # a main road is crossed only to join a block too small for a grid, and the road is named
    graph = plan_graph(plan)
    crossings = major_crossings(plan, graph)
    metrics = partition_metrics(graph, plan.buildings["grid_id"], target=50, tolerance=0.2)
    assert len({c["grid_code"] for c in crossings}) == metrics["major_crossing_grids"] <= 2
    for c in crossings:
        assert c["block_households"] < bridge_households(50)
        assert any(n in c["barrier"] for n in names), c
        assert f"{c['grid_code']}: {c['detail']}" in text
