"""Cells and grid polygons: a gap-free, overlap-free coverage that never cuts a building."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from geo.errors import CRSError, InputError
from partitioning.tessellation import (
    CUT_TOLERANCE_M2,
    GRID_SIZE,
    cell_adjacency,
    coverage_report,
    grid_polygons,
    keep_adjacent_cells,
    simplify_grids,
    study_area,
    tessellate,
)
from tests.plans import square_assignment

CRS = "EPSG:4549"


def _buildings(geoms, ids=None):
    ids = ids or [f"b{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame(
        {"households": np.ones(len(geoms), dtype="int64")},
        geometry=list(geoms),
        crs=CRS,
        index=pd.Index(ids, name="building_id"),
    )


def _check_cells(cells, buildings, area):
    """Every guarantee of tessellate(): one cell per building, coverage of area, no cut."""
    assert list(cells.index) == list(buildings.index)
    geoms = cells.geometry.values
    assert shapely.is_valid(geoms).all()
    assert set(cells.geom_type) <= {"Polygon", "MultiPolygon"}
    assert shapely.coverage_is_valid(geoms)
    union = shapely.coverage_union_all(geoms)
    # the outline may be bent by snapping to the 1 mm grid, leaving slivers < 2 mm wide
    slivers = shapely.get_parts(shapely.symmetric_difference(union, area))
    assert shapely.is_empty(shapely.buffer(slivers, -GRID_SIZE)).all()
    assert shapely.area(slivers).sum() < GRID_SIZE * area.length
    shared = set(cells.attrs["shared_footprints"])
    footprints = buildings.geometry.values
    outside = shapely.area(shapely.difference(footprints, geoms))
    # cells are snapped to a 1 mm grid: at most a 1 mm band of a footprint may stick out
    tolerance = np.maximum(CUT_TOLERANCE_M2, GRID_SIZE * shapely.length(footprints))
    assert all(o < t for o, t, i in zip(outside, tolerance, buildings.index) if i not in shared)
    # and the coverage stays valid in longitude/latitude (no sub-millimetre edges)
    assert shapely.coverage_is_valid(cells.to_crs(4326).geometry.values)


def test_boundary_between_two_buildings_runs_midway():
    """Two 10 m squares 10 m apart: the cell edge between them is the line x = 15.

    ::

        +----+    |    +----+
        | b0 |    |    | b1 |
        +----+    |    +----+
        0   10   15   20   30
    """
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    area = box(-20, -20, 50, 30)
    cells = tessellate(b, area=area)
    _check_cells(cells, b, area)
    edge = shapely.intersection(cells.geometry["b0"], cells.geometry["b1"])
    xs = shapely.get_coordinates(edge)[:, 0]
    assert edge.length == pytest.approx(50, abs=0.01)
    np.testing.assert_allclose(xs, 15, atol=0.01)  # seeds move by up to 1 mm


def test_cells_follow_a_barrier_not_the_midline():
    """A road at x = 12 (not midway) separates b0 and b1: their cells meet on the road.

    ::

        +----+ |        +----+
        | b0 | |        | b1 |
        +----+ |        +----+
        0   10 12      20   30
    """
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    area = box(-20, -20, 50, 30)
    road = gpd.GeoDataFrame(geometry=[LineString([(12, -40), (12, 40)])], crs=CRS)
    cells = tessellate(b, area=area, barriers=road)
    _check_cells(cells, b, area)
    assert cells.geometry["b0"].bounds[2] == pytest.approx(12)
    assert cells.geometry["b1"].bounds[0] == pytest.approx(12)
    assert cells["enclosure_id"]["b0"] != cells["enclosure_id"]["b1"]


def test_empty_enclosure_joins_a_neighbour_and_building_across_road_stays_whole():
    """A closed loop of road with no building inside, and a road through b1.

    ::

        +--------------+          b0 at left, the loop (40..60 x 0..20) empty,
        | b0   [loop]  b1|        b1 crossed by the line x = 85
        +--------------+
    """
    b = _buildings([box(0, 0, 10, 10), box(80, 0, 90, 10)])
    area = box(-10, -10, 100, 30)
    roads = gpd.GeoDataFrame(
        geometry=[box(40, 0, 60, 20).exterior, LineString([(85, -20), (85, 40)])], crs=CRS
    )
    cells = tessellate(b, area=area, barriers=roads)
    _check_cells(cells, b, area)
    assert (cells.geom_type == "Polygon").all()
    assert cells.geometry["b1"].contains(box(80.01, 0.01, 89.99, 9.99))


def test_overlapping_footprints_split_by_size_and_flagged_when_grids_differ():
    """b1 (small) overlaps b0 (large): the overlap goes to the smaller footprint.

    ::

        +--------+--+
        |  b0    |b1|--+
        +--------+--+  |
                 +-----+
    """
    b = _buildings([box(0, 0, 10, 10), box(8, -2, 12, 4), box(30, 0, 40, 10)])
    area = box(-10, -10, 50, 20)
    cells = tessellate(b, area=area)
    _check_cells(cells, b, area)
    assert cells.attrs["shared_footprints"] == ["b0", "b1"]
    assert cells.geometry["b1"].contains(box(8.01, -1.99, 11.99, 3.99))
    together = pd.Series(["g1", "g1", "g2"], index=b.index)
    grids = grid_polygons(cells, together)
    assert coverage_report(grids, b, together, area=area)["ok"]
    apart = pd.Series(["g1", "g2", "g2"], index=b.index)
    report = coverage_report(grid_polygons(cells, apart), b, apart, area=area)
    assert report["cut_buildings"] == ["b0"]
    assert not report["ok"]


def test_three_in_a_row_adjacency_and_grids():
    """b0 b1 b2 in a row: cells b0-b1 and b1-b2 touch, b0-b2 do not.

    ::

        [b0]   [b1]   [b2]
    """
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)])
    area = box(-10, -10, 60, 20)
    cells = tessellate(b, area=area)
    adj = cell_adjacency(cells)
    assert sorted(zip(adj["a"], adj["b"])) == [("b0", "b1"), ("b1", "b2")]
    assert adj["shared_length"].to_numpy() == pytest.approx([30, 30], abs=0.01)
    # b0 and b2 in one grid around b1: that grid has two parts and the report says so
    asg = pd.Series(["g1", "g2", "g1"], index=b.index)
    grids = grid_polygons(cells, asg)
    assert grids["n_parts"].to_dict() == {"g1": 2, "g2": 1}
    report = coverage_report(grids, b, asg, area=area)
    assert report["multipart_grids"] == ["g1"]
    assert report["overlap_area_m2"] == 0 and report["gap_area_m2"] < 1e-9
    assert report["cut_buildings"] == [] and report["coverage_valid"]


def test_coverage_report_catches_broken_grids():
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)])
    area = box(-10, -10, 60, 20)
    asg = pd.Series(["g1", "g2", "g3"], index=b.index)
    grids = grid_polygons(tessellate(b, area=area), asg)
    assert coverage_report(grids, b, asg, area=area)["ok"]

    shifted = grids.copy()
    shifted.loc["g2", "geometry"] = shapely.affinity.translate(grids.geometry["g2"], 8, 0)
    r = coverage_report(shifted, b, asg, area=area)
    assert r["overlap_area_m2"] == pytest.approx(8 * 30, rel=1e-3)
    assert r["gap_area_m2"] == pytest.approx(8 * 30, rel=1e-3)
    assert r["cut_buildings"] == ["b1", "b2"]
    assert not r["coverage_valid"] and not r["ok"]

    missing = grids.drop(index="g3")
    r = coverage_report(missing, b, asg, area=area)
    assert r["gap_area_m2"] == pytest.approx(grids.geometry["g3"].area)
    assert r["cut_buildings"] == ["b2"]

    r = coverage_report(grids, b, asg.drop("b0"), area=area)
    assert r["unassigned_buildings"] == ["b0"] and not r["ok"]


def test_a_grid_in_two_pieces_is_a_fault_unless_one_piece_holds_no_households():
    """b0 and b2 in one grid, b1's cell between them: two polygons.  A grid with households in both is
    a fault; one whose second piece holds only buildings without households (a campus joined across a
    road because it borders no other grid, :func:`partitioning.graph.grid_graph`) is reported apart."""
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)])
    area = box(-10, -10, 60, 20)
    asg = pd.Series(["g1", "g2", "g1"], index=b.index)
    grids = grid_polygons(tessellate(b, area=area), asg)
    r = coverage_report(grids, b, asg, area=area)
    assert r["multipart_grids"] == ["g1"] and r["detached_grids"] == [] and not r["ok"]
    b.loc["b2", "households"] = 0
    r = coverage_report(grids, b, asg, area=area)
    assert r["multipart_grids"] == [] and r["detached_grids"] == ["g1"] and r["ok"]
    b.loc["b0", "households"] = 0  # no households at all: still a fault
    assert coverage_report(grids, b, asg, area=area)["multipart_grids"] == ["g1"]


def test_coverage_report_of_a_valid_coverage_agrees_with_the_pairwise_checks(kunming_buildings):
    """For a valid coverage the report skips the pairwise grid overlaps and the footprints'
    areas in other grids (a valid coverage has no overlap, so a footprint's area in other grids
    is at most its area outside its own): the pairwise checks find nothing more."""
    b = kunming_buildings
    area = study_area(b)
    cells = tessellate(b, area=area)
    asg, _ = square_assignment(cells, b)
    grids = grid_polygons(cells, asg)
    report = coverage_report(grids, b, asg, area=area)
    assert report["coverage_valid"] and report["overlap_area_m2"] == 0 and report["ok"]
    geoms = grids.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert shapely.area(shapely.intersection(geoms[i[i < j]], geoms[j[i < j]])).sum() < 0.01
    own = pd.Series(np.arange(len(grids)), index=grids.index).reindex(asg.reindex(b.index)).to_numpy()
    fp, g = shapely.STRtree(geoms).query(b.geometry.values, predicate="intersects")
    other = own[fp] != g
    in_other = shapely.area(shapely.intersection(b.geometry.values[fp[other]], geoms[g[other]]))
    assert (in_other <= CUT_TOLERANCE_M2).all()

    # a grid drawn inside another is no valid coverage: the pairwise checks run and find it
    nested = grids.copy()
    inner = shapely.buffer(b.geometry.iloc[0], 1.0)
    first = asg[b.index[0]]
    host = next(gid for gid in grids.index if gid != first)
    nested.loc[host, "geometry"] = shapely.union_all([grids.geometry[host], inner])
    r = coverage_report(nested, b, asg, area=area)
    assert not r["coverage_valid"] and r["overlap_area_m2"] > 1.0
    assert str(b.index[0]) in r["cut_buildings"]


def test_refuses_geographic_crs_and_buildings_outside_area():
    b = _buildings([box(0, 0, 10, 10)])
    with pytest.raises(CRSError, match="geographic"):
        tessellate(b.set_crs(4326, allow_override=True), area=box(-1, -1, 11, 11))
    with pytest.raises(CRSError, match="geographic"):
        study_area(b.set_crs(4326, allow_override=True))
    with pytest.raises(InputError, match="outside the study area"):
        tessellate(b, area=box(5, 5, 20, 20))
    with pytest.raises(InputError, match="no grid"):
        grid_polygons(tessellate(b, area=box(-1, -1, 11, 11)), pd.Series(dtype=object))


def test_study_area_with_boundary():
    b = _buildings([box(0, 0, 10, 10), box(95, 0, 105, 10)])
    boundary = gpd.GeoDataFrame(geometry=[box(-5, -5, 100, 20)], crs=CRS)
    area = study_area(b, boundary=boundary)
    # the building crossing the boundary extends the area by its footprint
    assert area.area == pytest.approx(105 * 25 + 5 * 10)
    assert area.covers(b.geometry.values).all()
    far = _buildings([box(0, 0, 10, 10), box(500, 0, 510, 10)])
    with pytest.raises(InputError, match="outside the boundary"):
        study_area(far, boundary=boundary)
    # the envelope joins distant groups into one polygon with the margin around them
    env = study_area(far, buffer=30)
    assert env.geom_type == "Polygon"
    assert env.covers(shapely.buffer(far.geometry.values, 29.5)).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["suzhou", "kunming", "kotka"])
def test_real_data_grids_are_a_proper_coverage(name, request, kotka_buildings):
    if name == "kotka":
        buildings = kotka_buildings
        barriers = request.getfixturevalue("kotka_barriers")
    else:
        buildings, barriers = request.getfixturevalue(f"{name}_buildings"), None
    area = study_area(buildings)
    assert area.geom_type == "Polygon"
    cells = tessellate(buildings, area=area, barriers=barriers)
    _check_cells(cells, buildings, area)
    assert cells.index.equals(buildings.index)
    if barriers is not None:
        assert cells["enclosure_id"].nunique() > 10

    asg, square = square_assignment(cells, buildings)
    grids = grid_polygons(cells, asg)
    assert len(grids) > 10
    report = coverage_report(grids, buildings, asg, area=area)
    assert report["overlap_area_m2"] < 0.01
    assert report["gap_area_m2"] < 0.01
    assert report["multipart_grids"] == []
    assert report["cut_buildings"] == []
    assert report["coverage_valid"] and report["ok"]
    assert (grids.geom_type == "Polygon").all()

    # any assignment -- here plain squares, ignoring adjacency -- still gives a coverage;
    # only the multipart count may rise, and exactly for grids whose cells are disconnected (those
    # with households in one piece only are reported apart, as detached)
    squares = pd.Series(square.to_numpy(), index=buildings.index)
    grids2 = grid_polygons(cells, squares)
    r2 = coverage_report(grids2, buildings, squares, area=area)
    assert r2["overlap_area_m2"] < 0.01 and r2["gap_area_m2"] < 0.01 and r2["coverage_valid"]
    multipart, detached = set(r2["multipart_grids"]), set(r2["detached_grids"])
    assert not multipart & detached and multipart | detached == set(grids2.index[grids2["n_parts"] > 1])


def test_tessellation_is_deterministic(kunming_buildings):
    area = study_area(kunming_buildings)
    one = tessellate(kunming_buildings, area=area)
    again = tessellate(kunming_buildings, area=area)
    assert shapely.equals_exact(one.geometry.values, again.geometry.values, tolerance=0).all()
    # input order changes only floating-point noise (noding order), not the cells
    two = tessellate(kunming_buildings.iloc[::-1], area=area).reindex(one.index)
    diff = shapely.area(shapely.symmetric_difference(one.geometry.values, two.geometry.values))
    assert diff.max() < 1e-6
    assert (one["enclosure_id"] == two["enclosure_id"]).all()


def test_keep_adjacent_cells_drops_edges_across_a_third_cell():
    """b0 and b2 are within reach but b1's cell lies between them.

    ::

        [b0]   [b1]   [b2]
    """
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)])
    cells = tessellate(b, area=box(-10, -10, 60, 20))
    graph = nx.complete_graph(["b0", "b1", "b2"])
    kept = keep_adjacent_cells(graph, cells)
    assert sorted(map(sorted, kept.edges)) == [["b0", "b1"], ["b1", "b2"]]
    assert graph.number_of_edges() == 3  # the input is not changed
    assert keep_adjacent_cells(graph, cells, copy=False) is graph and graph.number_of_edges() == 2


def test_simplified_grids_stay_a_coverage_and_cut_nothing(kunming_buildings):
    area = study_area(kunming_buildings)
    cells = tessellate(kunming_buildings, area=area)
    asg, _ = square_assignment(cells, kunming_buildings)
    grids = grid_polygons(cells, asg)
    simple = simplify_grids(grids, kunming_buildings, asg, tolerance=2.0)
    assert shapely.get_num_coordinates(simple.geometry.values).sum() < 0.8 * shapely.get_num_coordinates(
        grids.geometry.values).sum()
    report = coverage_report(simple, kunming_buildings, asg, area=area)
    assert report["coverage_valid"] and report["cut_buildings"] == [] and report["gap_area_m2"] == 0
    assert simple.index.equals(grids.index)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nx_=st.integers(1, 4),
    ny_=st.integers(1, 4),
    w=st.sampled_from([6.0, 10.0, 12.5]),
    gap=st.sampled_from([0.0, 0.5, 4.0, 10.0]),
    road=st.booleans(),
)
def test_regular_rows_of_identical_buildings(nx_, ny_, w, gap, road):
    """Identical buildings on a regular lattice (rows of walk-ups), touching when gap = 0:
    the most degenerate input for a Voronoi diagram (co-circular seeds).

    ::

        [ ][ ][ ][ ]
        [ ][ ][ ][ ]     nx_ × ny_ buildings, w × w/2 m, `gap` m apart
    """
    geoms = [box(i * (w + gap), j * (w / 2 + gap), i * (w + gap) + w, j * (w / 2 + gap) + w / 2)
             for i in range(nx_) for j in range(ny_)]
    b = _buildings(geoms)
    area = study_area(b, buffer=15)
    barriers = None
    if road:  # a road through the middle of the lattice, along a gap or through a building row
        x = nx_ * (w + gap) / 2 - gap / 2
        barriers = gpd.GeoDataFrame(geometry=[LineString([(x, -100), (x, 100 + ny_ * w)])], crs=CRS)
    cells = tessellate(b, area=area, barriers=barriers)
    _check_cells(cells, b, area)
    assert (cells.geom_type == "Polygon").all()
    asg = pd.Series([f"g{k % 3}" for k in range(len(b))], index=b.index)
    report = coverage_report(grid_polygons(cells, asg), b, asg, area=area)
    assert report["coverage_valid"] and report["gap_area_m2"] == 0 and report["cut_buildings"] == []


def test_voronoi_regions_not_matching_exactly_are_dissolved_one_building_at_a_time(monkeypatch):
    """When the one-call coverage union of the Voronoi regions fails (GEOS raises on regions
    whose shared edges do not match, as degenerate seeds can give), each building's regions are
    dissolved on their own (full union where needed): the cells are the same."""
    from partitioning.tessellation import cells as tessellation

    geoms = [box(i * 14, j * 9, i * 14 + 10, j * 9 + 5) for i in range(4) for j in range(3)]
    b = _buildings(geoms)
    area = study_area(b, buffer=15)
    expected = tessellate(b, area=area)
    real, calls = tessellation.coverage_unions, []

    def failing_once(geoms, group):
        calls.append(len(geoms))
        if len(calls) == 1:  # the Voronoi regions (the faces' union comes later)
            raise shapely.errors.GEOSException("TopologyException: simulated unmatched edges")
        return real(geoms, group)

    monkeypatch.setattr(tessellation, "coverage_unions", failing_once)
    cells = tessellate(b, area=area)
    assert len(calls) == 2
    _check_cells(cells, b, area)
    assert shapely.equals(cells.geometry.values, expected.geometry.values).all()


def test_boundary_piece_without_buildings_goes_to_the_nearest_building():
    """A two-part boundary; the right part holds no building and joins b1's cell.

    ::

        +-----------+     +-----+
        | [b0] [b1] |     |     |
        +-----------+     +-----+
    """
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    boundary = gpd.GeoDataFrame(geometry=[box(-10, -10, 40, 20), box(60, -10, 80, 20)], crs=CRS)
    area = study_area(b, boundary=boundary)
    assert area.geom_type == "MultiPolygon"
    cells = tessellate(b, area=area)
    _check_cells(cells, b, area)
    assert cells.geom_type.to_dict() == {"b0": "Polygon", "b1": "MultiPolygon"}
    grids = grid_polygons(cells, pd.Series(["g", "g"], index=b.index))
    assert grids["n_parts"].to_dict() == {"g": 2}


def test_barrier_drawn_as_a_polygon_uses_its_banks():
    """A river as a polygon (x 12..16) between b0 and b1: cells stop at its banks' enclosures.

    ::

        [b0] ~~~~ [b1]
    """
    b = _buildings([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    area = box(-20, -20, 50, 30)
    river = gpd.GeoDataFrame(geometry=[box(12, -40, 16, 40)], crs=CRS)
    cells = tessellate(b, area=area, barriers=river)
    _check_cells(cells, b, area)
    assert cells.geometry["b0"].bounds[2] in (pytest.approx(12), pytest.approx(16))
    assert cells.geometry["b1"].bounds[0] == pytest.approx(16)
