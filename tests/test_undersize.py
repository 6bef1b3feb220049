"""Why grids are undersize, on Kotka with its roads: every undersize grid and every grid without
households is reported with what keeps it from growing (partitioning.undersize)."""

from __future__ import annotations

import geo
from partitioning.graph import plan_graph
from partitioning.undersize import UNDERSIZE_REASONS, undersize_reasons
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
