"""The contiguity graph: gaps, barriers, boundaries, islands and overlapping footprints."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from geo.errors import CRSError, InputError
from partitioning.graph import DEFAULT_GAP, build_contiguity_graph

CRS = "EPSG:4549"


def _buildings(geoms, households=None, ids=None):
    ids = ids or [f"b{i}" for i in range(len(geoms))]
    households = households if households is not None else [10] * len(geoms)
    return gpd.GeoDataFrame(
        {"households": np.asarray(households, dtype="int64")},
        geometry=list(geoms),
        crs=CRS,
        index=pd.Index(ids, name="building_id"),
    )


def _barriers(lines, classes):
    return gpd.GeoDataFrame({"barrier_class": classes}, geometry=lines, crs=CRS)


def test_row_of_buildings_and_an_island():
    """Four 10 m boxes; a, b, c 5 m apart, d 300 m from c (an island joined by a bridge)::

        [a] [b] [c] .................................. [d]
    """
    b = _buildings([box(0, 0, 10, 10), box(15, 0, 25, 10), box(30, 0, 40, 10), box(340, 0, 350, 10)],
                   households=[5, 6, 7, 8], ids=["a", "b", "c", "d"])
    g = build_contiguity_graph(b)
    assert list(g.nodes) == ["a", "b", "c", "d"]
    assert g.nodes["b"]["households"] == 6
    assert 15 <= g.nodes["b"]["x"] <= 25 and 0 <= g.nodes["b"]["y"] <= 10
    # a and c are 20 m apart: neighbours too
    assert sorted(map(sorted, g.edges)) == [["a", "b"], ["a", "c"], ["b", "c"], ["c", "d"]]
    assert g.edges["a", "b"]["length"] == pytest.approx(5.0)
    assert g.edges["a", "b"]["crosses"] == "none" and not g.edges["a", "b"]["bridge"]
    bridge = g.edges["c", "d"]
    assert bridge["bridge"] and bridge["length"] == pytest.approx(300.0)
    assert g.graph["islands"] == [["d"]]
    assert g.graph["n_components_before"] == 2
    assert g.graph["gap"] == DEFAULT_GAP and g.graph["crs"] == "EPSG:4549"


def test_without_joining_islands_they_stay_alone():
    b = _buildings([box(0, 0, 10, 10), box(500, 0, 510, 10)])
    g = build_contiguity_graph(b, join_islands=False)
    assert g.number_of_edges() == 0 and g.number_of_nodes() == 2
    assert g.graph["islands"] == []


def test_gap_decides_neighbours():
    b = _buildings([box(0, 0, 10, 10), box(30, 0, 40, 10)])
    assert build_contiguity_graph(b, gap=25, join_islands=False).number_of_edges() == 1
    assert build_contiguity_graph(b, gap=15, join_islands=False).number_of_edges() == 0


def test_major_barrier_cuts_minor_barrier_marks():
    """A major road between a and b, a minor lane between b and c, nothing between c and d::

        [a] | [b] : [c] [d]
            major   minor
    """
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10), box(55, 0, 65, 10)],
                   ids=["a", "b", "c", "d"])
    roads = _barriers([LineString([(15, -50), (15, 60)]), LineString([(35, -50), (35, 60)])], ["major", "minor"])
    g = build_contiguity_graph(b, barriers=roads, join_islands=False)
    assert not g.has_edge("a", "b")
    assert g.edges["b", "c"]["crosses"] == "minor"
    assert g.edges["c", "d"]["crosses"] == "none"
    # joined, "a" is an island that can only be reached across the major road
    g = build_contiguity_graph(b, barriers=roads)
    assert g.edges["a", "b"]["bridge"] and g.edges["a", "b"]["crosses"] == "major"
    assert g.graph["islands"] == [["a"]]


def test_road_along_a_wall_does_not_separate():
    """A road drawn along the shared wall of two touching buildings only touches the gap line."""
    b = _buildings([box(0, 0, 10, 10), box(10, 0, 20, 10)])
    roads = _barriers([LineString([(10, -20), (10, 30)])], ["major"])
    g = build_contiguity_graph(b, barriers=roads, join_islands=False)
    assert g.edges["b0", "b1"]["length"] == 0 and g.edges["b0", "b1"]["crosses"] == "none"


def test_boundaries_are_never_crossed_not_even_by_bridges():
    """Two compounds side by side; b sits alone in the east compound with d, far from d::

        +---------+---------------------------+
        | [a] [c] | [b]        ...        [d] |
        +---------+---------------------------+
         west       east             e: outside both
    """
    b = _buildings([box(0, 0, 10, 10), box(25, 0, 35, 10), box(12, 0, 18, 10), box(300, 0, 310, 10),
                    box(1000, 0, 1010, 10)], ids=["a", "b", "c", "d", "e"])
    compounds = gpd.GeoDataFrame({"boundary_id": ["west", "east"]},
                                 geometry=[box(-5, -5, 20, 15), box(20, -5, 320, 15)], crs=CRS)
    g = build_contiguity_graph(b, boundaries=compounds)
    assert {v: g.nodes[v]["boundary_id"] for v in g} == {"a": "west", "b": "east", "c": "west", "d": "east",
                                                         "e": None}
    assert not g.has_edge("b", "c")  # 7 m apart but in different compounds
    for u, v in g.edges:
        assert g.nodes[u]["boundary_id"] == g.nodes[v]["boundary_id"]
    assert g.edges["b", "d"]["bridge"]
    assert nx.number_connected_components(g) == 3


def test_boundaries_in_another_crs_are_projected():
    b = _buildings([box(0, 0, 10, 10), box(15, 0, 25, 10)])
    compounds = gpd.GeoDataFrame({"boundary_id": ["x"]}, geometry=[box(-5, -5, 30, 15)], crs=CRS).to_crs(4326)
    g = build_contiguity_graph(b, boundaries=compounds)
    assert [g.nodes[v]["boundary_id"] for v in g] == ["x", "x"]


def test_overlapping_footprints_are_flagged():
    b = _buildings([box(0, 0, 10, 10), box(8, 0, 18, 10), box(18, 0, 28, 10)])
    g = build_contiguity_graph(b)
    assert g.edges["b0", "b1"]["overlap"] is True
    assert g.edges["b1", "b2"]["overlap"] is False  # touching is not overlapping


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda b: b.set_crs(None, allow_override=True), CRSError),
        (lambda b: b.to_crs(4326), CRSError),
        (lambda b: b.drop(columns="households"), InputError),
        (lambda b: b.set_axis(["x", "x"]), InputError),
    ],
    ids=["no-crs", "geographic", "no-households", "duplicate-ids"],
)
def test_bad_input_is_refused(change, error):
    b = _buildings([box(0, 0, 10, 10), box(15, 0, 25, 10)])
    with pytest.raises(error):
        build_contiguity_graph(change(b))


@pytest.fixture(scope="module")
def suzhou_graph(suzhou_buildings):
    return build_contiguity_graph(suzhou_buildings)


def test_suzhou_graph(suzhou_buildings, suzhou_graph):
    g = suzhou_graph
    assert list(g.nodes) == list(suzhou_buildings.index)
    assert nx.is_connected(g)
    assert g.graph["n_components_before"] == len(g.graph["islands"]) + 1
    assert {v for group in g.graph["islands"] for v in group} < set(g.nodes)
    # the 18 overlapping pairs of the data are the overlap edges
    overlaps = [(u, v) for u, v, o in g.edges(data="overlap") if o]
    assert len(overlaps) == 18
    geoms = suzhou_buildings.geometry
    for u, v in overlaps:
        assert geoms[u].intersection(geoms[v]).area > 0
    # ordinary edges are within the gap and carry the true footprint distance
    ordinary = [(u, v, d) for u, v, d in g.edges(data=True) if not d["bridge"]]
    lengths = np.array([d["length"] for *_, d in ordinary])
    assert lengths.max() <= DEFAULT_GAP + 1e-6
    sample = ordinary[::97]
    expected = shapely.distance(geoms[[u for u, _, _ in sample]].values, geoms[[v for _, v, _ in sample]].values)
    assert np.allclose([d["length"] for *_, d in sample], expected)
    bridges = [d["length"] for *_, d in g.edges(data=True) if d["bridge"]]
    assert len(bridges) == len(g.graph["islands"]) and min(bridges) > DEFAULT_GAP


def test_kotka_roads(kotka_buildings, kotka_barriers):
    g = build_contiguity_graph(kotka_buildings, barriers=kotka_barriers)
    assert nx.is_connected(g)
    geoms = kotka_buildings.geometry
    major = kotka_barriers[kotka_barriers["barrier_class"] == "major"].geometry.union_all()
    ordinary = [(u, v) for u, v, d in g.edges(data=True) if not d["bridge"]]
    lines = shapely.shortest_line(geoms[[u for u, _ in ordinary]].values, geoms[[v for _, v in ordinary]].values)
    assert not shapely.crosses(lines, major).any()
    levels = {c for *_, c in g.edges(data="crosses")}
    assert "minor" in levels  # Kotka's residential streets lie between many neighbours
    # were every road major, exactly the edges across minor roads would go
    strict = build_contiguity_graph(kotka_buildings, barriers=kotka_barriers.assign(barrier_class="major"),
                                    join_islands=False)
    assert strict.number_of_edges() == sum(1 for *_, d in g.edges(data=True)
                                           if not d["bridge"] and d["crosses"] == "none")


def test_kunming_compounds_as_boundaries(kunming_buildings):
    hulls = kunming_buildings.dissolve("community").convex_hull.buffer(1)
    # the hulls may overlap: a building belongs to the compound holding its representative point
    compounds = gpd.GeoDataFrame({"boundary_id": hulls.index.astype(str)}, geometry=hulls.values,
                                 crs=kunming_buildings.crs)
    g = build_contiguity_graph(kunming_buildings, boundaries=compounds)
    for u, v in g.edges:
        assert g.nodes[u]["boundary_id"] == g.nodes[v]["boundary_id"]
    assert nx.number_connected_components(g) == len({d for _, d in g.nodes(data="boundary_id")})


# --- major barriers: crossed only to join a block too small for a grid ------------------------------------


@st.composite
def blocks_between_roads(draw):
    """Rows of touching 10 m buildings, 30 m apart (so rows are neighbours within the 25 m gap), with
    main roads between some rows: each road encloses a block of rows."""
    rows = draw(st.integers(2, 6))
    cols = draw(st.integers(1, 4))
    households = draw(st.lists(st.integers(0, 25), min_size=rows * cols, max_size=rows * cols))
    roads = draw(st.lists(st.integers(0, rows - 2), min_size=1, max_size=rows - 1, unique=True))
    geoms = [box(10 * c, 30 * r, 10 * c + 10, 30 * r + 10) for r in range(rows) for c in range(cols)]
    buildings = gpd.GeoDataFrame({"households": households}, geometry=geoms, crs=32650,
                                 index=pd.Index([f"b{k:02d}" for k in range(len(geoms))], name="building_id"))
    lines = [LineString([(-50, 30 * r + 20), (10 * cols + 50, 30 * r + 20)]) for r in roads]
    barriers = gpd.GeoDataFrame({"barrier_class": ["major"] * len(lines)}, geometry=lines, crs=32650)
    return buildings, barriers


@settings(max_examples=40, deadline=None, database=None)
@given(case=blocks_between_roads())
def test_major_roads_are_crossed_only_to_join_a_block_too_small_for_a_grid(case):
    buildings, barriers = case
    g = build_contiguity_graph(buildings, barriers=barriers, bridge_households=30)
    ordinary = nx.Graph()
    ordinary.add_nodes_from(g)
    ordinary.add_edges_from((u, v) for u, v, d in g.edges(data=True) if not d["bridge"])
    block = {}
    for comp in nx.connected_components(ordinary):
        total = int(buildings.loc[sorted(comp), "households"].sum())
        block.update(dict.fromkeys(comp, total))
    for u, v, d in g.edges(data=True):
        assert d["crosses"] != "major" or d["bridge"]  # no ordinary edge across a main road
        if d["crosses"] == "major":
            assert min(block[u], block[v]) < 30, "two blocks that can each make a grid were joined"
    # every block below the wide band is joined to a neighbour (when there is one)
    for comp in nx.connected_components(g):
        small = [v for v in comp if block[v] < 30]
        assert not small or len(comp) > len(small) or len(comp) == len(g)
    # without the limit every block is joined, as before
    assert nx.is_connected(build_contiguity_graph(buildings, barriers=barriers))


@st.composite
def sheds_apart(draw):
    """A row of 10 m houses and sheds (0 households) whose cells are their own footprints: houses
    side by side share a wall (their cells touch), a gap of 2–6 m (within the graph's gap) leaves
    their cells apart, so that edge is dropped and a shed can end up with no edge at all."""
    n = draw(st.integers(3, 9))
    households = draw(st.lists(st.sampled_from([0, 0, 12, 30, 45]), min_size=n, max_size=n))
    if not any(households):
        households[draw(st.integers(0, n - 1))] = 30
    gaps = draw(st.lists(st.sampled_from([0.0, 2.0, 6.0]), min_size=n - 1, max_size=n - 1))
    x, geoms = 0.0, []
    for k in range(n):
        geoms.append(box(x, 0, x + 10, 10))
        x += 10 + (gaps[k] if k < n - 1 else 0)
    return _buildings(geoms, households=households)


@settings(max_examples=40, deadline=None, database=None, derandomize=True)
@given(buildings=sheds_apart())
def test_no_group_without_households_is_left_without_a_link(buildings):
    """Issue 14: a shed whose cell touches no other cell would be a grid of 0 households; the grid
    graph bridges it to the nearest building holding households, and the engine puts it in that grid."""
    from partitioning.engine import partition
    from partitioning.graph import grid_graph

    g = grid_graph(buildings, buildings[["geometry"]])
    for comp in nx.connected_components(g):
        assert buildings.loc[sorted(comp), "households"].sum() > 0
    result = partition(g, target=50, tolerance=0.2)
    assert (result.grids["households"] > 0).all()


def test_a_group_without_households_is_bridged_to_a_building_whose_cell_borders_it():
    """The nearest building (5 m) would leave the grid in two polygons; the one whose cell borders the
    group's (30 m, across the road between their cells) keeps it whole.  Without cells, the nearest."""
    from partitioning._links import join_empty_groups

    ids = np.array(["shed", "near", "across"], dtype=object)
    geoms = np.array([box(0, 0, 10, 10), box(15, 0, 25, 10), box(0, 40, 10, 50)], dtype=object)
    free = np.array([True, False, False])
    for touching, other in (({"shed": {"across"}, "across": {"shed"}}, "across"), (None, "near")):
        g = nx.Graph(islands=[])
        g.add_nodes_from(ids.tolist())
        join_empty_groups(g, ids, geoms, None, free, None, touching)
        assert list(g.edges) == [("shed", other)] and g.edges["shed", other]["bridge"]
