"""Diff of two plans: hand-made plans and the command line on Kunming."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from app.cli import cli
from geo.plan import Plan
from partitioning.diff import diff_plans, match_grids
from tests.realdata import KUNMING


def _plan(assignment: dict, households: dict) -> Plan:
    """Buildings a…f in a row (10 m squares), grids as given; grid polygons are not compared."""
    ids = sorted(assignment)
    b = gpd.GeoDataFrame({"grid_id": [assignment[i] for i in ids], "households": [households[i] for i in ids]},
                         geometry=[box(20 * k, 0, 20 * k + 10, 10) for k, _ in enumerate(ids)],
                         index=pd.Index(ids, name="building_id"), crs=4549)
    g = b.dissolve("grid_id", aggfunc={"households": "sum"})
    g["grid_code"] = "C" + g.index.str[1:]
    return Plan(buildings=b, grids=g, meta={})


def test_diff_by_grid_id():
    """::

        old:  a b | c d | e f        (G1 | G2 | G3)
        new:  a b c | d | e   g      c moved to G1, f demolished, g added (in G4), e gained households
    """
    old = _plan({"a": "G1", "b": "G1", "c": "G2", "d": "G2", "e": "G3", "f": "G3"},
                dict(a=10, b=10, c=10, d=10, e=10, f=10))
    new = _plan({"a": "G1", "b": "G1", "c": "G1", "d": "G2", "e": "G3", "g": "G4"},
                dict(a=10, b=10, c=10, d=10, e=15, g=5))
    d = diff_plans(old, new)
    assert d.moved[["building_id", "from_grid", "to_grid", "from_code", "to_code"]].values.tolist() == [
        ["c", "G2", "G1", "C2", "C1"]]
    assert d.added_buildings == ["g"] and d.removed_buildings == ["f"]
    assert d.grids["change"].to_dict() == {"G1": "changed", "G2": "changed", "G3": "changed", "G4": "added"}
    assert d.grids.loc["G1", ["households_before", "households_after"]].tolist() == [20, 30]
    assert d.grids.loc["G3", ["households_before", "households_after"]].tolist() == [20, 15]
    s = d.summary()
    assert (s["buildings_moved"], s["grids_added"], s["grids_removed"]) == (1, 1, 0)
    assert s["share_moved"] == pytest.approx(1 / 5)
    json.dumps(d.to_dict())  # serialisable
    assert any("c: C2 → C1" in line for line in d.lines())  # grids by number, not by id


def test_households_only_and_unchanged():
    old = _plan({"a": "G1", "b": "G2"}, dict(a=10, b=10))
    new = _plan({"a": "G1", "b": "G2"}, dict(a=10, b=12))
    d = diff_plans(old, new)
    assert d.grids["change"].to_dict() == {"G1": "unchanged", "G2": "households"}
    assert d.moved.empty


def test_matching_independent_numbering():
    """A fresh partition numbers grids its own way: matching by shared buildings counts real moves.

    ::

        old:  a b c | d e f     (G1 | G2)
        new:  a b | c d e f     (X2 | X1): only c moved
    """
    old = _plan({"a": "G1", "b": "G1", "c": "G1", "d": "G2", "e": "G2", "f": "G2"}, dict.fromkeys("abcdef", 10))
    new = _plan({"a": "X2", "b": "X2", "c": "X1", "d": "X1", "e": "X1", "f": "X1"}, dict.fromkeys("abcdef", 10))
    assert match_grids(old.buildings["grid_id"], new.buildings["grid_id"]) == {"X2": "G1", "X1": "G2"}
    assert len(diff_plans(old, new).moved) == 6
    matched = diff_plans(old, new, match=True)
    assert matched.moved["building_id"].tolist() == ["c"]
    assert matched.grids.loc["G2", "new_id"] == "X1"


def test_cli_diff_json(tmp_path):
    out = tmp_path / "k.gpkg"
    runner = CliRunner()
    assert runner.invoke(cli, ["partition", str(KUNMING), "--id-field", "id", "--target", "30", "-o", str(out)],
                         catch_exceptions=False).exit_code == 0
    other = tmp_path / "k2.gpkg"
    assert runner.invoke(cli, ["partition", str(KUNMING), "--id-field", "id", "--target", "30", "--seed", "7",
                               "-o", str(other)], catch_exceptions=False).exit_code == 0
    same = runner.invoke(cli, ["diff", str(out), str(out), "--json"], catch_exceptions=False)
    assert same.exit_code == 0
    summary = json.loads(same.output)["summary"]
    assert summary["buildings_moved"] == 0 and summary["grids_changed"] == 0 and summary["grids_unchanged"] > 0
    text = runner.invoke(cli, ["diff", str(out), str(other), "--match"], catch_exceptions=False).output
    assert "[grids matched by shared buildings]" in text and "buildings moved:" in text
