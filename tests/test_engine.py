"""The partition engine: invariants on hand-made, random and real graphs."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InfeasibleError, InputError
from partitioning.engine import GRID_STATUSES, PartitionResult, partition
from partitioning.graph import build_contiguity_graph, subgraph
from partitioning.metrics import partition_metrics, validate_partition


def _graph(nodes, edges, *, overlaps=(), crossings=None):
    """A graph from ``{id: (households, x, y)}`` and a list of edges."""
    g = nx.Graph(gap=25.0)
    for v, (h, x, y) in nodes.items():
        g.add_node(v, households=h, x=float(x), y=float(y))
    crossings = crossings or {}
    for u, v in edges:
        g.add_edge(u, v, length=1.0, crosses=crossings.get((u, v), "none"), bridge=False, overlap=False)
    for u, v in overlaps:
        g.add_edge(u, v, length=0.0, crosses="none", bridge=False, overlap=True)
    return g


def _must_link(graph):
    linked = nx.Graph()
    linked.add_nodes_from(graph)
    linked.add_edges_from((u, v) for u, v, o in graph.edges(data="overlap") if o)
    return [set(c) for c in nx.connected_components(linked)]


def _check_invariants(graph, result, *, target, tolerance):
    """Everything partition() promises, checked from the outside."""
    assert isinstance(result, PartitionResult)
    a, grids = result.assignment, result.grids
    assert list(a.index) == list(graph.nodes) and a.index.name == "building_id"
    assert a.notna().all() and set(a) == set(grids.index)
    assert validate_partition(graph, a) == []
    hi, lo = target * (1 + tolerance), target * (1 - tolerance)
    h = pd.Series(dict(graph.nodes(data="households")))
    assert (h.groupby(a).sum().reindex(grids.index) == grids["households"]).all()
    assert (a.value_counts().reindex(grids.index) == grids["n_buildings"]).all()
    assert set(grids["status"]) <= set(GRID_STATUSES)
    for group in _must_link(graph):
        assert a[list(group)].nunique() == 1  # overlapping footprints never separated
        if h[list(group)].sum() > hi:  # oversize: a grid of its own, with at most buildings of no households
            gid = a[next(iter(group))]
            others = set(a.index[a == gid]) - group
            assert h[list(others)].sum() == 0 and grids.loc[gid, "status"] == "oversize"
    ok = grids["status"] == "ok"
    assert grids.loc[ok, "households"].between(lo, hi).all()
    assert not grids.loc[grids["status"] == "out_of_tolerance", "households"].between(lo, hi).any()
    assert (grids.loc[grids["status"] == "undersize", "households"] < lo).all()
    # no empty grid, unless it is a whole connected group of buildings without households
    for gid in grids.index[grids["households"] == 0]:
        members = set(a.index[a == gid])
        assert any(members == c for c in nx.connected_components(graph)), f"{gid} is empty but has neighbours"
    if "boundary_id" in next(iter(graph.nodes.values())):
        assert (pd.Series(dict(graph.nodes(data="boundary_id"))).groupby(a).nunique() == 1).all()


def test_path_splits_in_two():
    """Four buildings in a row, 25 households each::

        a(25) - b(25) - c(25) - d(25)   →   [a b] [c d]
    """
    g = _graph({v: (25, 10 * k, 0) for k, v in enumerate("abcd")}, [("a", "b"), ("b", "c"), ("c", "d")])
    result = partition(g, target=50)
    assert result.assignment.to_dict() == {"a": "G0001", "b": "G0001", "c": "G0002", "d": "G0002"}
    assert result.grids["households"].tolist() == [50, 50]
    assert result.grids["status"].tolist() == ["ok", "ok"]
    _check_invariants(g, result, target=50, tolerance=0.2)


def test_a_block_between_one_and_two_grids_leaves_one_grid_outside():
    """73 households cannot make one grid (above 60) nor two within 40–60::

        a(30) - b(6) - c(4) - d(33)   →   [a b c] [d] (40 / 33), not [a b] [c d] (36 / 37)

    both leave 7 households outside the band; the engine keeps the split with fewer grids outside
    (Kotka's 73-household block of houses was split 36 / 37 before)."""
    g = _graph({"a": (30, 0, 0), "b": (6, 10, 0), "c": (4, 20, 0), "d": (33, 30, 0)},
               [("a", "b"), ("b", "c"), ("c", "d")])
    result = partition(g, target=50)
    assert sorted(result.grids["households"].tolist()) == [33, 40]
    assert result.grids["status"].value_counts().to_dict() == {"ok": 1, "out_of_tolerance": 1}
    _check_invariants(g, result, target=50, tolerance=0.2)


def test_oversize_building_is_alone_and_cuts_the_row():
    """A 200-household tower in the middle of a row::

        a(30) - b(20) - T(200) - c(25) - d(30)   →   [a b] [T] [c d]
    """
    nodes = {"a": (30, 0, 0), "b": (20, 10, 0), "T": (200, 20, 0), "c": (25, 30, 0), "d": (30, 40, 0)}
    g = _graph(nodes, [("a", "b"), ("b", "T"), ("T", "c"), ("c", "d")])
    result = partition(g, target=50)
    a = result.assignment
    assert a["a"] == a["b"] and a["c"] == a["d"] and len({a["a"], a["T"], a["c"]}) == 3
    assert result.grids.loc[a["T"], "status"] == "oversize"
    assert result.grids.loc[a["a"], "status"] == "ok" and result.grids.loc[a["c"], "status"] == "ok"
    _check_invariants(g, result, target=50, tolerance=0.2)


def test_isolated_small_compound_is_undersize_unless_allowed():
    """Two groups with no edge between them (a boundary); the east one holds 10 households::

        a(30) - b(25)        |        e(10)
    """
    g = _graph({"a": (30, 0, 0), "b": (25, 10, 0), "e": (10, 100, 0)}, [("a", "b")])
    result = partition(g, target=50)
    assert result.grids.loc[result.assignment["e"], "status"] == "undersize"
    assert result.assignment["e"] != result.assignment["a"]
    _check_invariants(g, result, target=50, tolerance=0.2)

    joined = partition(g, target=50, allow_cross_boundary=True)
    assert joined.assignment.nunique() == 1
    assert joined.grids["households"].tolist() == [65]
    assert joined.grids["status"].tolist() == ["out_of_tolerance"]
    assert validate_partition(g, joined.assignment) != []  # not connected in the graph ...
    assert validate_partition(g, joined.assignment, allow_cross_boundary=True) == []  # ... on purpose


def test_overlapping_buildings_stay_together():
    """b and c overlap; splitting between them would balance best but would cut a building::

        a(40) - b(10) = c(40) - d(10)        (= : overlapping footprints)
    """
    nodes = {"a": (40, 0, 0), "b": (10, 10, 0), "c": (40, 20, 0), "d": (10, 30, 0)}
    g = _graph(nodes, [("a", "b"), ("c", "d")], overlaps=[("b", "c")])
    result = partition(g, target=50)
    assert result.assignment["b"] == result.assignment["c"]
    _check_invariants(g, result, target=50, tolerance=0.2)


def test_grids_avoid_a_minor_barrier_when_balance_allows():
    """A 2×4 block with a lane between columns 1 and 2; the two grids take a side each::

        a0 - a1 : a2 - a3
        |    |    |    |
        b0 - b1 : b2 - b3        (: edges across a minor barrier)
    """
    nodes = {f"{r}{c}": (12, 10 * c, -10 * i) for i, r in enumerate("ab") for c in range(4)}
    edges = [(f"{r}{c}", f"{r}{c + 1}") for r in "ab" for c in range(3)] + [(f"a{c}", f"b{c}") for c in range(4)]
    g = _graph(nodes, edges, crossings={("a1", "a2"): "minor", ("b1", "b2"): "minor"})
    result = partition(g, target=50)
    a = result.assignment
    assert a["a0"] == a["a1"] == a["b0"] == a["b1"] and a["a2"] == a["a3"] == a["b2"] == a["b3"]
    assert a["a0"] != a["a3"]
    assert partition_metrics(g, a, target=50, tolerance=0.2)["barrier_crossing_grids"] == 0


def test_grid_ids_read_north_to_south_then_west_to_east():
    """Six 50-household buildings in two rows far apart; ids follow the reading order::

        n0   n1   n2        (north)
        s0   s1   s2        (south)
    """
    nodes = {f"{r}{c}": (50, 500 * c, 0 if r == "s" else 2000) for r in "ns" for c in range(3)}
    edges = [(f"{r}{c}", f"{r}{c + 1}") for r in "ns" for c in range(2)] + [("n0", "s0")]
    result = partition(_graph(nodes, edges), target=50)
    assert result.assignment[["n0", "n1", "n2", "s0", "s1", "s2"]].tolist() == [
        "G0001", "G0002", "G0003", "G0004", "G0005", "G0006"]


def test_n_grids_sets_the_number_of_grids():
    g = _graph({f"v{k}": (20, 10 * k, 0) for k in range(6)}, [(f"v{k}", f"v{k + 1}") for k in range(5)])
    result = partition(g, n_grids=3, progress=True)
    assert len(result.grids) == 3 and result.grids["households"].tolist() == [40, 40, 40]
    assert (result.grids["status"] == "ok").all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"target": 0}, "target"),
        ({"target": 2.5}, "target"),
        ({"tolerance": 1.5}, "tolerance"),
        ({"n_grids": 5}, "more grids than buildings"),
        ({"n_grids": 0}, "n_grids"),
    ],
)
def test_impossible_requests_are_refused(kwargs, message):
    g = _graph({"a": (30, 0, 0), "b": (30, 10, 0)}, [("a", "b")])
    with pytest.raises(InfeasibleError, match=message):
        partition(g, **kwargs)


def test_too_few_grids_for_the_oversize_buildings():
    """With 2 grids the target is 160: T is oversize and cuts b from c, so 3 grids are needed::

        b(10) - T(300) - c(10)
    """
    g = _graph({"b": (10, 0, 0), "T": (300, 10, 0), "c": (10, 20, 0)}, [("b", "T"), ("T", "c")])
    with pytest.raises(InfeasibleError, match="grids of their own"):
        partition(g, target=50, n_grids=2)


def test_nodes_without_coordinates_are_refused():
    g = nx.path_graph(["a", "b"])
    nx.set_node_attributes(g, 10, "households")
    with pytest.raises(InputError, match="'x'"):
        partition(g)


# --- property tests on random small graphs --------------------------------------------------------------


@st.composite
def random_graphs(draw, *, zeros=False):
    """Nodes on a lattice (side 10 m), random households (some oversize; with ``zeros`` about a third
    without households: shops, schools, sheds), random lattice edges, a few overlaps, an optional
    boundary down the middle that no edge crosses."""
    cols = draw(st.integers(1, 6))
    rows = draw(st.integers(1, 5))
    count = st.one_of(st.just(0), st.integers(0, 90), st.integers(0, 90)) if zeros else st.integers(0, 90)
    households = draw(st.lists(count, min_size=rows * cols, max_size=rows * cols))
    with_boundary = draw(st.booleans())
    g = nx.Graph(gap=25.0)
    for k, h in enumerate(households):
        r, c = divmod(k, cols)
        attrs = {"households": h, "x": 10.0 * c, "y": 10.0 * r}
        if with_boundary:
            attrs["boundary_id"] = "west" if c < cols / 2 else "east"
        g.add_node(f"n{k:02d}", **attrs)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        for other, ok in ((k + 1, c + 1 < cols), (k + cols, r + 1 < rows)):
            u, v = f"n{k:02d}", f"n{other:02d}"
            if ok and draw(st.integers(0, 9)) < 8:
                if with_boundary and g.nodes[u]["boundary_id"] != g.nodes[v]["boundary_id"]:
                    continue
                kind = draw(st.sampled_from(["none"] * 6 + ["minor", "overlap"]))
                g.add_edge(u, v, length=5.0, bridge=False, overlap=kind == "overlap",
                           crosses="minor" if kind == "minor" else "none")
    return g


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_graphs(), target=st.sampled_from([30, 50, 80]), seed=st.integers(0, 2**16))
def test_invariants_on_random_graphs(graph, target, seed):
    result = partition(graph, target=target, tolerance=0.2, seed=seed)
    _check_invariants(graph, result, target=target, tolerance=0.2)
    again = partition(graph, target=target, tolerance=0.2, seed=seed)
    pd.testing.assert_series_equal(result.assignment, again.assignment)
    pd.testing.assert_frame_equal(result.grids, again.grids)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=random_graphs(zeros=True), target=st.sampled_from([30, 50, 80]), seed=st.integers(0, 2**16))
def test_no_empty_grid_on_random_graphs_with_non_residential_buildings(graph, target, seed):
    """A grid of 0 households only where a whole connected group holds none; everywhere else buildings
    without households join a neighbouring grid (an oversize one too)."""
    result = partition(graph, target=target, tolerance=0.2, seed=seed)
    _check_invariants(graph, result, target=target, tolerance=0.2)
    a = result.assignment
    for component in nx.connected_components(graph):
        if sum(graph.nodes[v]["households"] for v in component) > 0:
            empty = result.grids.index[result.grids["households"] == 0]
            assert not a[list(component)].isin(empty).any()


def test_sheds_behind_a_tower_join_it():
    """::

        a(20) - b(20) - T(200) - s(0) - t(0)

    the sheds s, t are cut off by the tower T: they join its grid instead of making an empty one."""
    g = _graph({"a": (20, 0, 0), "b": (20, 10, 0), "T": (200, 20, 0), "s": (0, 30, 0), "t": (0, 40, 0)},
               [("a", "b"), ("b", "T"), ("T", "s"), ("s", "t")])
    result = partition(g, target=50)
    assert result.assignment["s"] == result.assignment["t"] == result.assignment["T"]
    assert result.grids.loc[result.assignment["T"], "status"] == "oversize"
    assert result.grids["households"].min() > 0
    m = partition_metrics(g, result.assignment, target=50, tolerance=0.2)
    assert m["oversize_grids"] == 1 and m["households_min"] == 40


# --- real data -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def suzhou_graph(suzhou_buildings):
    return build_contiguity_graph(suzhou_buildings)


@pytest.fixture(scope="module")
def suzhou_plan(suzhou_graph):
    return partition(suzhou_graph, target=50, tolerance=0.2, seed=0)


def test_suzhou_plan(suzhou_graph, suzhou_plan):
    _check_invariants(suzhou_graph, suzhou_plan, target=50, tolerance=0.2)
    metrics = partition_metrics(suzhou_graph, suzhou_plan.assignment, target=50, tolerance=0.2)
    assert metrics["split_buildings"] == 0 and metrics["disconnected_grids"] == 0
    assert metrics["oversize_grids"] == (suzhou_plan.grids["status"] == "oversize").sum()
    # measured 0.96 (tests/benchmarks/results/partition.md); a drop below 0.93 is a regression
    assert metrics["share_within_tolerance"] >= 0.93
    normal = suzhou_plan.grids[suzhou_plan.grids["status"] != "oversize"]
    assert 47 <= normal["households"].mean() <= 53
    overlapping = [(u, v) for u, v, o in suzhou_graph.edges(data="overlap") if o]
    assert len(overlapping) == 18
    assert all(suzhou_plan.assignment[u] == suzhou_plan.assignment[v] for u, v in overlapping)


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(start=st.integers(0, 3075), size=st.integers(5, 60), seed=st.integers(0, 1000))
def test_invariants_on_suzhou_subsets(suzhou_graph, start, size, seed):
    """Connected pieces of up to 60 real buildings around a random one."""
    first = list(suzhou_graph.nodes)[start]
    nodes = list(nx.bfs_tree(suzhou_graph, first, depth_limit=8))[:size]
    sub = subgraph(suzhou_graph, nodes)
    result = partition(sub, seed=seed)
    _check_invariants(sub, result, target=50, tolerance=0.2)
    assert partition(sub, seed=seed).assignment.equals(result.assignment)


def test_kotka_plan_respects_roads(kotka_buildings, kotka_barriers):
    g = build_contiguity_graph(kotka_buildings, barriers=kotka_barriers)
    result = partition(g, target=50, tolerance=0.2, seed=3)
    _check_invariants(g, result, target=50, tolerance=0.2)
    metrics = partition_metrics(g, result.assignment, target=50, tolerance=0.2)
    assert metrics["share_within_tolerance"] >= 0.88  # measured 0.93
    # a grid holds an edge across a major road only where a bridge had to join an island
    for u, v, d in g.edges(data=True):
        if d["crosses"] == "major" and result.assignment[u] == result.assignment[v]:
            assert d["bridge"]


def test_kunming_compounds_are_never_merged(kunming_buildings):
    hulls = kunming_buildings.dissolve("community").convex_hull.buffer(1)
    compounds = gpd.GeoDataFrame({"boundary_id": hulls.index.astype(str)}, geometry=hulls.values,
                                 crs=kunming_buildings.crs)
    g = build_contiguity_graph(kunming_buildings, boundaries=compounds)
    result = partition(g, target=50)
    _check_invariants(g, result, target=50, tolerance=0.2)
    heavy = [group for group in _must_link(g) if kunming_buildings.loc[list(group), "households"].sum() > 60]
    assert (result.grids["status"] == "oversize").sum() == len(heavy) > 50
    merged = partition(g, target=50, allow_cross_boundary=True)
    assert len(merged.grids) < len(result.grids)
    # what stays undersize is cut off by an oversize building (which stays alone), not by a boundary
    oversize_ids = set(merged.assignment.index[merged.assignment.isin(
        merged.grids.index[merged.grids["status"] == "oversize"])])
    for gid in merged.grids.index[merged.grids["status"] == "undersize"]:
        members = merged.assignment.index[merged.assignment == gid]
        assert any(u in oversize_ids for v in members for u in g[v])
    assert validate_partition(g, merged.assignment, allow_cross_boundary=True) == []
    groups = {frozenset(group) for group in _must_link(g)}
    hh = kunming_buildings["households"]
    groups = {frozenset(v for v in group if hh[v] > 0) for group in groups}
    for gid in merged.grids.index[merged.grids["status"] == "oversize"]:  # still alone, but for sheds
        members = merged.assignment.index[merged.assignment == gid]
        assert frozenset(members[hh[members].to_numpy() > 0]) in groups


def test_kotka_has_no_grid_of_zero_households(kotka_buildings, kotka_barriers):
    """Issue 14: in Kotka a shed (w424098795) whose cell touches no other building's cell was a grid
    of 0 households; it now joins the grid of the nearest building through a bridge edge."""
    from partitioning.area import plan_area
    from partitioning.settings import PlanSettings

    area = plan_area(kotka_buildings, settings=PlanSettings(target=50, tolerance=0.2), barriers=kotka_barriers)
    assert area.grids["households"].min() > 0
    assert validate_partition(area.graph, area.assignment) == []
    assert ["w424098795"] in area.graph.graph["islands"]
