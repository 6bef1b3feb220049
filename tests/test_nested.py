"""The emergency layout redrawn with the normal grids where it is out of balance (partitioning.nested):
a part of Suzhou's old town, and random lattices (hypothesis)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.load import Inputs
from partitioning import engine
from partitioning.check import check_plan
from partitioning.graph import plan_graph
from partitioning.hierarchy import Level, emergency_layout, partition_levels
from partitioning.metrics import partition_metrics, validate_partition
from partitioning.nested import nested_emergency, nested_levels, quotient_graph
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings


@pytest.fixture(scope="module")
def suzhou_part(suzhou_inputs):
    """The ~1,000 Suzhou buildings nearest the old town's centre (households estimated)."""
    b = suzhou_inputs.buildings
    c = b.geometry.centroid
    d = np.hypot(c.x - c.x.median(), c.y - c.y.median())
    part = b.loc[d.sort_values(kind="stable").index[:1000]].sort_index()
    return Inputs(buildings=part, crs=suzhou_inputs.crs, source_crs=suzhou_inputs.source_crs,
                  households_method=suzhou_inputs.households_method)


@pytest.fixture(scope="module")
def suzhou_plan(suzhou_part):
    return make_plan(suzhou_part, PlanSettings(emergency_target=25))[0]


def _within(graph, assignment, target):
    return partition_metrics(graph, assignment, target=target, tolerance=0.2)


def test_suzhou_emergency_better_and_normal_not_worse(suzhou_part, suzhou_plan):
    b, graph = suzhou_plan.buildings, plan_graph(suzhou_plan)
    flat = make_plan(suzhou_part, PlanSettings())[0].buildings["grid_id"]
    top_down, _ = emergency_layout(graph, flat, target=25, tolerance=0.2, seed=0)
    normal, normal_flat = _within(graph, b["grid_id"], 50), _within(graph, flat, 50)
    emergency, emergency_top_down = _within(graph, b["grid_id_emergency"], 25), _within(graph, top_down, 25)
    # the normal layout keeps its number of grids and no fewer within the band; the emergency one gains
    assert normal["n_grids"] == normal_flat["n_grids"]
    assert normal["share_within_tolerance"] >= normal_flat["share_within_tolerance"]
    assert emergency["share_within_tolerance"] >= emergency_top_down["share_within_tolerance"] + 0.05
    assert (b.groupby("grid_id_emergency")["grid_id"].nunique() == 1).all()
    assert validate_partition(graph, b["grid_id"]) == [] and validate_partition(graph, b["grid_id_emergency"]) == []
    em = suzhou_plan.layers["grids_emergency"]
    pd.testing.assert_series_equal(em.groupby("parent_grid_id")["households"].sum().sort_index(),
                                   suzhou_plan.grids["households"].sort_index(), check_names=False,
                                   check_index_type=False)
    assert em["grid_code"].str[:-2].tolist() == suzhou_plan.grids.loc[em["parent_grid_id"], "grid_code"].tolist()
    # a grid keeps the status rule: within the band is ok
    lo, hi = 40, 60
    ok = suzhou_plan.grids["households"].between(lo, hi)
    assert (suzhou_plan.grids.loc[ok, "status"] == "ok").all()
    result = check_plan(suzhou_plan)
    assert result.violations == [] and result.emergency["outside_parent_m2"] < 1.0
    assert result.metrics["split_buildings"] == 0
    # the grids whose households no number of emergency grids of 20–30 adds up to are named (not
    # those too small for even one: they are undersize, with their reason)
    grids = suzhou_plan.grids[(suzhou_plan.grids["status"] != "oversize") & (suzhou_plan.grids["households"] >= 20)]
    fits = grids["households"].map(lambda h: any(20 * k <= h <= 30 * k for k in range(1, 10)))
    assert sorted(result.emergency["no_fitting_count"]) == sorted(grids.loc[~fits, "grid_code"])


def test_suzhou_same_seed_same_layouts(suzhou_part, suzhou_plan):
    again = make_plan(suzhou_part, PlanSettings(emergency_target=25))[0]
    for col in ("grid_id", "grid_code", "grid_id_emergency"):
        pd.testing.assert_series_equal(again.buildings[col], suzhou_plan.buildings[col])


@st.composite
def lattices(draw, roads: bool = False):
    """A lattice of 4–8 × 3–6 buildings, 10 m apart, of 0–40 households, some edges missing; with
    ``roads``, some edges across a minor road and some joining overlapping buildings."""
    cols, rows = draw(st.integers(4, 8)), draw(st.integers(3, 6))
    households = draw(st.lists(st.integers(0, 40), min_size=rows * cols, max_size=rows * cols))
    g = nx.Graph(gap=25.0)
    for k, h in enumerate(households):
        g.add_node(f"n{k:02d}", households=h, x=10.0 * (k % cols), y=10.0 * (k // cols))
    for k in range(rows * cols):
        for other, ok in ((k + 1, (k % cols) + 1 < cols), (k + cols, k // cols + 1 < rows)):
            if ok and draw(st.integers(0, 9)) < 8:
                kind = draw(st.integers(0, 9)) if roads else 9
                g.add_edge(f"n{k:02d}", f"n{other:02d}", overlap=kind == 0,
                           crosses="minor" if kind in (1, 2) else "none")
    return g


@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(graph=lattices(), seed=st.integers(0, 2**16))
def test_every_emergency_grid_nests_in_one_normal_grid(graph, seed):
    flat = engine.partition(graph, target=50, tolerance=0.2, seed=seed)
    normal, status, emergency, grids = nested_emergency(graph, flat.assignment, flat.grids["status"], target=50,
                                                        emergency_target=25, tolerance=0.2, seed=seed)
    hh = pd.Series(dict(graph.nodes(data="households")))
    assert set(normal) == set(flat.assignment) and set(status.index) == set(normal)
    assert (emergency.groupby(emergency).apply(lambda s: normal[s.index].nunique()) == 1).all()
    assert (grids["parent_id"] == normal.groupby(emergency).first().reindex(grids.index)).all()
    assert (grids["households"] == hh.groupby(emergency).sum().reindex(grids.index)).all()
    assert grids["households"].groupby(grids["parent_id"]).sum().equals(hh.groupby(normal).sum())
    assert validate_partition(graph, normal) == [] and validate_partition(graph, emergency) == []
    before = _within(graph, flat.assignment, 50)["share_within_tolerance"]
    assert _within(graph, normal, 50)["share_within_tolerance"] >= before
    # oversize normal grids (a tower) are never redrawn
    towers = status.index[status == "oversize"]
    for t in flat.grids.index[flat.grids["status"] == "oversize"]:
        assert t in towers and set(normal.index[normal == t]) == set(flat.assignment.index[flat.assignment == t])


@settings(max_examples=20, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(graph=lattices(), seed=st.integers(0, 2**16))
def test_redrawn_grids_nest_in_their_units_and_units_in_theirs(graph, seed):
    levels = [Level("block", target=300), Level("grid", target=100)]
    units, grids, info = partition_levels(graph, levels, {}, target=25, tolerance=0.2, seed=seed)
    parent, status, small, frame = nested_levels(graph, units["unit_grid"], grids, info["grid"]["status"],
                                                 info["grids"], parent_target=100, target=25, tolerance=0.2,
                                                 seed=seed, within=units["unit_block"])
    hh = pd.Series(dict(graph.nodes(data="households")))
    assert set(parent) == set(units["unit_grid"]) and set(status.index) == set(parent)
    assert (small.groupby(small).apply(lambda s: parent[s.index].nunique()) == 1).all()
    assert (parent.groupby(parent).apply(lambda s: units.loc[s.index, "unit_block"].nunique()) == 1).all()
    assert (frame["households"] == hh.groupby(small).sum().reindex(frame.index)).all()
    assert validate_partition(graph, parent) == [] and validate_partition(graph, small) == []
    # the level above keeps its number of units and no fewer within the band
    assert parent.nunique() == units["unit_grid"].nunique()
    assert _within(graph, parent, 100)["share_within_tolerance"] >= _within(graph, units["unit_grid"], 100)[
        "share_within_tolerance"]


def test_quotient_graph_sums_households_and_keeps_the_cheapest_crossing():
    g = nx.Graph(gap=25.0)
    for k, (h, x) in enumerate([(10, 0), (20, 10), (30, 20), (0, 30)]):
        g.add_node(f"b{k}", households=h, x=float(x), y=0.0)
    g.add_edges_from([("b0", "b1", {"crosses": "none"}), ("b1", "b2", {"crosses": "major"}),
                      ("b0", "b2", {"crosses": "minor"}), ("b2", "b3", {"crosses": "none"})])
    q = quotient_graph(g, pd.Series({"b0": "A", "b1": "A", "b2": "B", "b3": "B"}))
    assert dict(q.nodes(data="households")) == {"A": 30, "B": 30}
    assert q.edges["A", "B"]["crosses"] == "minor" and q.graph["gap"] == 25.0
    assert q.nodes["A"]["x"] == pytest.approx((10 * 0 + 20 * 10) / 30)
    assert q.nodes["B"]["x"] == pytest.approx((30 * 20 + 0.5 * 30) / 30.5)
