"""Grids that never mix groups of buildings named by an attribute (``--group-field``): Kunming's
buildings carry the compound (小区) they are in as ``community``, with no compound polygons."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

import geo
from partitioning.graph import build_contiguity_graph
from tests.clirun import run
from tests.realdata import KUNMING


def _row(n, groups):
    """``n`` touching 10 m squares in a row, 10 households each, in the given groups."""
    return gpd.GeoDataFrame({"households": [10] * n, "compound": groups},
                            geometry=[box(10 * k, 0, 10 * k + 10, 10) for k in range(n)],
                            index=pd.Index([f"b{k}" for k in range(n)], name="building_id"), crs=32650)


def test_no_edge_joins_two_groups():
    """::

        b0 b1 | b2 b3 | b4      (A A | B B | no value)
    """
    g = build_contiguity_graph(_row(5, ["A", "A", "B", "B", None]), group_field="compound", gap=0,
                               join_islands=False)
    assert sorted(g.edges) == [("b0", "b1"), ("b2", "b3")]
    assert [g.nodes[v]["group"] for v in g] == ["A", "A", "B", "B", None]
    assert g.graph["group_field"] == "compound"
    # without the field the row is one chain
    assert build_contiguity_graph(_row(5, ["A", "A", "B", "B", None]), gap=0).number_of_edges() == 4


def test_unknown_group_field_is_an_input_error():
    with pytest.raises(geo.errors.InputError, match="no field 'block'.*compound"):
        build_contiguity_graph(_row(2, ["A", "A"]), group_field="block")


@pytest.fixture(scope="module")
def kunming_plans(tmp_path_factory):
    out = tmp_path_factory.mktemp("groups")
    plans = {}
    for name, extra in (("grouped", ["--group-field", "community"]), ("plain", [])):
        code, text = run("partition", KUNMING, "--id-field", "id", *extra, "-o", out / f"{name}.gpkg")
        assert code == 0, text
        plans[name] = out / f"{name}.gpkg"
    return plans


def _mixed(plan):
    """Grids holding buildings of two compounds that hold households (a compound of offices or
    roofs only bars nobody)."""
    b = plan.buildings
    held = b["households"].groupby(b["community"]).transform("sum") > 0
    return int((b[held].groupby("grid_id")["community"].nunique() > 1).sum())


def test_kunming_grids_keep_to_their_compound(kunming_plans):
    grouped = geo.read_plan(kunming_plans["grouped"])
    assert grouped.meta["group_field"] == "community"
    assert _mixed(grouped) == 0
    assert _mixed(geo.read_plan(kunming_plans["plain"])) > 0  # without the field, grids do mix compounds
    code, text = run("check", kunming_plans["grouped"])
    assert code == 0, text


def test_check_finds_a_grid_that_mixes_compounds(kunming_plans, tmp_path):
    plan = geo.read_plan(kunming_plans["plain"])
    plan.meta["group_field"] = "community"  # the plain plan checked against the compound rule
    path = geo.write_plan(plan, tmp_path / "mixed.gpkg")
    code, text = run("check", path)
    assert code == 4
    assert f"{_mixed(plan)} grid(s) mix buildings of several 'community' groups" in text


def test_group_field_the_buildings_lack_names_the_file_and_fields(tmp_path):
    code, text = run("partition", KUNMING, "--id-field", "id", "--group-field", "compound",
                     "-o", tmp_path / "x.gpkg")
    assert code != 0
    assert "kunming_panlong_buildings.geojson" in text and "'compound'" in text
    assert "community" in text and "--group-field" in text
    assert not (tmp_path / "x.gpkg").exists()


def test_kunming_has_no_empty_grid_and_says_why_grids_are_undersize(kunming_plans):
    """Offices, schools and roofs (45 of Kunming's buildings count 0 households) join a neighbouring
    grid; a compound of offices only (金利园) joins one across its compound line."""
    plan = geo.read_plan(kunming_plans["grouped"])
    assert (plan.buildings["households"] == 0).sum() >= 40
    assert plan.grids["households"].min() > 0
    offices = plan.buildings[plan.buildings["community"] == "金利园"]
    assert offices["households"].sum() == 0
    (grid,) = offices["grid_id"].unique()
    assert plan.grids.loc[grid, "households"] > 0
    code, text = run("check", "--json", kunming_plans["grouped"])
    assert code == 0, text
    import json

    undersize = json.loads(text[text.index("{"):])["undersize"]
    assert len(undersize) == (plan.grids["status"] == "undersize").sum() > 0
    assert {u["reason"] for u in undersize} <= {"oversize", "group"}
    small = plan.buildings["households"].groupby(plan.buildings["community"]).sum()
    for u in undersize:
        if u["reason"] == "group":  # a compound too small for a grid, named with its households
            name = u["detail"].split("'")[1]
            assert small[name] == u["households"] < 40
