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


def test_the_battle_map_of_an_undersize_grid_says_why_in_the_visitors_language(tmp_path):
    """Kotka with its roads: an undersize grid enclosed by a road names the road on its page (zh and en)
    and in the API; a balanced grid's page says nothing of it."""
    from app import create_app

    out = tmp_path / "kotka.gpkg"
    code, text = run("partition", KOTKA, "--barriers", KOTKA, "-o", out)
    assert code == 0, text
    plan = geo.read_plan(out)
    reasons = undersize_reasons(plan, plan_graph(plan))
    barrier = next(r for r in reasons if r["reason"] == "barrier" and r["params"]["name"])
    client = create_app({"TESTING": True, "PLANS": [str(out)], "USERS_DB": str(tmp_path / "u.sqlite"),
                         "BASEMAP": "none", "SECRET_KEY": "k", "PUBLIC_MAP": True}).test_client()
    name = barrier["params"]["name"]
    zh = client.get(f"/plans/kotka/grids/{barrier['grid_code']}").get_data(as_text=True)
    assert "户数不足原因" in zh and f"被{name}" in zh and f"({barrier['params']['distance_m']} 米)" in zh
    en = client.get(f"/plans/kotka/grids/{barrier['grid_code']}?lang=en").get_data(as_text=True)
    assert "Why it is small" in en and f"crosses {name}" in en
    card = client.get(f"/api/plans/kotka/grids/{barrier['grid_code']}?lang=en").get_json()
    assert card["undersize_text"].startswith("enclosed: the way to the nearest building")
    ok = plan.grids[plan.grids["status"] == "ok"]["grid_code"].iloc[0]
    assert "户数不足原因" not in client.get(f"/plans/kotka/grids/{ok}").get_data(as_text=True)
    assert client.get(f"/api/plans/kotka/grids/{ok}").get_json()["undersize_text"] is None
