"""Partition metrics and validation, on hand-computed cases and on the real Suzhou graph."""

from __future__ import annotations

import json

import networkx as nx
import pandas as pd
import pytest

from partitioning.graph import build_contiguity_graph
from partitioning.metrics import partition_metrics, validate_partition


def _row():
    """Five buildings in a row, 10 m apart; a minor lane between c and d; f stands alone::

        a(20) - b(30) - c(45) : d(5) - e(100)        f(10)
        x=0     10      20      30     40            500
    """
    g = nx.Graph(gap=25.0)
    for v, h, x in [("a", 20, 0), ("b", 30, 10), ("c", 45, 20), ("d", 5, 30), ("e", 100, 40), ("f", 10, 500)]:
        g.add_node(v, households=h, x=float(x), y=0.0)
    for u, v, c in [("a", "b", "none"), ("b", "c", "none"), ("c", "d", "minor"), ("d", "e", "none")]:
        g.add_edge(u, v, length=2.0, crosses=c, bridge=False, overlap=False)
    return g


def test_metrics_by_hand():
    g = _row()
    assignment = pd.Series({"a": "G1", "b": "G1", "c": "G2", "d": "G2", "e": "G3", "f": "G4"})
    m = partition_metrics(g, assignment, target=50, tolerance=0.2, runtime_s=1.5)
    assert json.loads(json.dumps(m)) == m
    assert m["n_grids"] == 4 and m["n_buildings"] == 6 and m["households_total"] == 210
    assert (m["households_min"], m["households_median"], m["households_max"]) == (10, 50.0, 100)
    assert m["oversize_grids"] == 1  # e: one building above 60
    assert m["undersize_grids"] == 1  # f: below 40 and nothing to grow into
    assert m["share_within_tolerance"] == pytest.approx(2 / 3, abs=1e-4)  # G1, G2 of G1, G2, G4
    assert m["share_within_tolerance_reachable"] == 1.0
    assert m["worst_deviation"] == pytest.approx(0.8)  # f: |10 - 50| / 50
    # G1 centre x = 6: a 6 m, b 4 m; G2 centre x = 21: c 1 m, d 9 m → (120 + 120 + 45 + 45) / 210
    assert m["mean_distance_m"] == pytest.approx(330 / 210, abs=1e-4)
    assert m["max_diameter_m"] == pytest.approx(10.0)
    assert m["barrier_crossing_grids"] == 1 and m["major_crossing_grids"] == 0
    assert m["disconnected_grids"] == 0 and m["split_buildings"] == 0 and m["unassigned_buildings"] == 0
    assert m["runtime_s"] == 1.5


def test_out_of_band_grid_that_could_grow_is_not_undersize():
    g = _row()
    assignment = pd.Series({"a": "G1", "b": "G2", "c": "G2", "d": "G2", "e": "G3", "f": "G4"})
    m = partition_metrics(g, assignment, target=50, tolerance=0.2)
    assert m["undersize_grids"] == 1  # only f; a (20) has neighbours
    assert m["share_within_tolerance"] == pytest.approx(0.0)
    assert m["share_within_tolerance_reachable"] == pytest.approx(0.0)


def test_validation_names_every_problem():
    g = _row()
    g.add_edge("a", "b", length=0.0, crosses="none", bridge=False, overlap=True)
    assignment = pd.Series(["G1", "G2", "G1", "G2", "G3", "G3", "G9"], index=["a", "b", "c", "d", "e", "x", "x"])
    problems = validate_partition(g, assignment)
    text = "\n".join(problems)
    assert "not in the graph: x" in text
    assert "assigned more than once: x" in text
    assert "in no grid: f" in text
    assert "grid G1 is not connected: 2 pieces (a | c)" in text
    assert "grid G2 is not connected" in text
    assert "overlapping buildings a and b are in different grids" in text
    m = partition_metrics(g, assignment, target=50, tolerance=0.2)
    assert m["disconnected_grids"] == 2 and m["unassigned_buildings"] == 1 and m["split_buildings"] == 2


def test_joined_islands_pass_only_when_allowed():
    g = _row()
    assignment = pd.Series({"a": "G1", "b": "G1", "c": "G2", "d": "G2", "e": "G3", "f": "G2"})
    assert validate_partition(g, assignment) == ["grid G2 is not connected: 2 pieces (c, d | f)"]
    assert validate_partition(g, assignment, allow_cross_boundary=True) == []
    # but two pieces of one connected group are never accepted
    cut = pd.Series({"a": "G1", "b": "G2", "c": "G1", "d": "G2", "e": "G3", "f": "G4"})
    assert len(validate_partition(g, cut, allow_cross_boundary=True)) == 2


@pytest.fixture(scope="module")
def suzhou_graph(suzhou_buildings):
    return build_contiguity_graph(suzhou_buildings)


def test_one_grid_per_building_on_suzhou(suzhou_graph, suzhou_buildings):
    assignment = pd.Series(suzhou_buildings.index, index=suzhou_buildings.index)
    m = partition_metrics(suzhou_graph, assignment, target=50, tolerance=0.2)
    assert m["n_grids"] == 3076 and m["disconnected_grids"] == 0 and m["mean_distance_m"] == 0
    assert m["oversize_grids"] == int((suzhou_buildings["households"] > 60).sum())
    within = suzhou_buildings["households"].between(40, 60).sum()
    assert m["share_within_tolerance"] == pytest.approx(within / (3076 - m["oversize_grids"]), abs=1e-4)
    assert m["split_buildings"] == 18  # each overlapping pair sits in two grids
    assert sum("overlapping buildings" in p for p in validate_partition(suzhou_graph, assignment)) == 18


def test_a_far_building_breaks_its_grid_on_suzhou(suzhou_graph):
    nodes = list(suzhou_graph.nodes)
    assignment = pd.Series("G1", index=pd.Index(nodes, name="building_id"))
    far = max(nodes, key=lambda v: suzhou_graph.nodes[v]["x"])
    rest = [v for v in nodes if v != far]
    assignment[rest] = "G2"
    # G2 loses the eastmost building: still connected only if that building is no cut vertex
    expected = 0 if nx.is_connected(suzhou_graph.subgraph(rest)) else 1
    assert partition_metrics(suzhou_graph, assignment, target=50, tolerance=0.2)["disconnected_grids"] == expected
    # one grid of the whole city joined by the islands' bridges is connected; without them it is not
    assert validate_partition(suzhou_graph, pd.Series("G1", index=nodes)) == []
    no_bridges = suzhou_graph.edge_subgraph([(u, v) for u, v, b in suzhou_graph.edges(data="bridge") if not b])
    plain = nx.Graph(no_bridges)
    plain.add_nodes_from(suzhou_graph.nodes(data=True))
    problems = validate_partition(plain, pd.Series("G1", index=nodes))
    assert problems == [p for p in problems if p.startswith("grid G1 is not connected")] and len(problems) == 1
