"""Minimal-change update: changed households, added and demolished buildings, locked grids."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box

import geo
from app.cli import cli
from geo.errors import InputError
from geo.load import Inputs
from partitioning.check import check_plan
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings
from partitioning.update import read_household_changes, update_plan
from tests.test_hierarchy import lattice


def _same_polygon(a, b) -> bool:
    return shapely.area(shapely.symmetric_difference(a, b)) < 1e-6


def _in_band(plan, target=40, tolerance=0.2):
    h = plan.grids["households"]
    return h.between(target * (1 - tolerance), target * (1 + tolerance))


@pytest.fixture(scope="module")
def grid_plan():
    """4 × 6 buildings of 10 households, target 40: six grids of four buildings.

    ::

        r0c0 r0c1 r0c2 r0c3 r0c4 r0c5
        r1c0 …
        r2c0 …
        r3c0 …                   r3c5
    """
    plan, _ = make_plan(lattice(4, 6), PlanSettings(target=40))
    assert set(plan.grids["households"]) == {40}
    return plan


def _neighbours(plan, gid):
    g = plan.grids
    touching = g.index[shapely.intersects(g.geometry.values, g.at[gid, "geometry"])]
    return sorted(set(touching) - {gid})


def test_households_change_repaired_locally(grid_plan):
    """One grid loses 10 households (30 < 32), another gains 10 (50 > 48): buildings pass from the
    overfull grid towards the underfull one until both are back in the band."""
    b = grid_plan.buildings
    low = "r1c1"
    high = next(v for v in sorted(b.index) if b.at[v, "grid_id"] != b.at[low, "grid_id"])
    result = update_plan(grid_plan, households=pd.Series({low: 0, high: 20}))
    new = result.plan
    assert check_plan(new).ok
    assert _in_band(new).all()
    s = result.summary
    assert s["out_of_tolerance_before"] == 2 and s["out_of_tolerance_after"] == 0
    assert 1 <= s["buildings_moved"] <= 6
    assert set(result.moves["reason"]) <= {"balance", "rebalance"}
    moved = list(result.moves["building_id"])
    assert (new.buildings.loc[moved, "grid_id"] != b.loc[moved, "grid_id"]).all()
    # each move names the grids by the codes people know them by, as the plans have them
    m = result.moves.set_index("building_id")
    assert m["from_code"].tolist() == b.loc[moved, "grid_code"].tolist()
    assert m["to_code"].tolist() == new.buildings.loc[moved, "grid_code"].tolist()
    # grids that kept their buildings keep their id, code and polygon exactly
    touched = set(result.moves["from_grid"]) | set(result.moves["to_grid"])
    untouched = [g for g in grid_plan.grids.index if g not in touched]
    for g in untouched:
        assert new.grids.at[g, "grid_code"] == grid_plan.grids.at[g, "grid_code"]
        assert _same_polygon(new.grids.at[g, "geometry"], grid_plan.grids.at[g, "geometry"])


def test_locked_grids_do_not_change(grid_plan):
    b = grid_plan.buildings
    gid = b.at["r1c1", "grid_id"]
    locked = _neighbours(grid_plan, gid)
    codes = [grid_plan.grids.at[g, "grid_code"] for g in locked]  # lock by code works too
    result = update_plan(grid_plan, households=pd.Series({"r1c1": 22}), lock=codes)
    new = result.plan
    assert result.summary["locked"] == locked
    for g in locked:
        assert set(new.buildings.index[new.buildings["grid_id"] == g]) == set(b.index[b["grid_id"] == g])
        assert _same_polygon(new.grids.at[g, "geometry"], grid_plan.grids.at[g, "geometry"])
    assert result.moves.empty  # every neighbour is locked: nothing can move ...
    assert result.summary["out_of_tolerance_after"] == 0  # ... and a grid without free neighbours is not "fixable"
    assert new.grids.at[gid, "status"] == "out_of_tolerance"
    with pytest.raises(InputError, match="no grid with this id or code"):
        update_plan(grid_plan, households=pd.Series({"r1c1": 22}), lock=["G9999"])


def test_added_building_joins_a_neighbour_and_locked_polygons_stay(grid_plan):
    b = grid_plan.buildings
    extra = gpd.GeoDataFrame({"households": [6], "households_source": ["estimate"]},
                             geometry=[box(500_090, 3_500_000, 500_100, 3_500_010)],  # east of r0c5
                             index=pd.Index(["new1"], name="building_id"), crs=b.crs)
    now = pd.concat([b[["households", "households_source", "geometry"]], extra])
    locked = [b.at["r3c0", "grid_id"]]
    result = update_plan(grid_plan, buildings=gpd.GeoDataFrame(now, crs=b.crs), lock=locked)
    new = result.plan
    assert check_plan(new).ok
    added = result.moves[result.moves["reason"] == "added"]
    assert added[["building_id", "from_grid"]].to_dict("records") == [{"building_id": "new1", "from_grid": None}]
    assert new.buildings.at["new1", "grid_id"] == b.at["r0c5", "grid_id"]  # its only neighbour's grid
    assert _same_polygon(new.grids.at[locked[0], "geometry"], grid_plan.grids.at[locked[0], "geometry"])
    assert result.summary["buildings_added"] == 1 and result.summary["buildings_moved"] <= 2
    assert len(new.layers["cells"]) == len(b) + 1


def test_demolished_building_leaves_and_grid_reconnects(grid_plan):
    b = grid_plan.buildings
    # demolish a building whose grid holds it in the middle; the grid may fall apart
    gone = "r1c2"
    now = b.drop(index=gone)[["households", "households_source", "geometry"]]
    result = update_plan(grid_plan, buildings=now)
    new = result.plan
    assert gone not in new.buildings.index
    row = result.moves[result.moves["building_id"] == gone].iloc[0]
    assert (row["from_grid"], row["to_grid"], row["reason"]) == (b.at[gone, "grid_id"], None, "demolished")
    report = check_plan(new)
    assert report.ok, report.violations
    assert result.summary["buildings_demolished"] == 1


def test_unknown_households_ids_refused(grid_plan):
    with pytest.raises(InputError, match="not in the plan"):
        update_plan(grid_plan, households=pd.Series({"nope": 3}))


def test_read_household_changes(tmp_path):
    good = tmp_path / "hh.csv"
    good.write_text("building_id,households\nB00001,12\n007,0\n")
    s = read_household_changes(good)
    assert s.to_dict() == {"B00001": 12, "007": 0}
    bad = tmp_path / "bad.csv"
    bad.write_text("building_id,households\nB1,-2\n")
    with pytest.raises(InputError, match="whole numbers"):
        read_household_changes(bad)


@pytest.fixture(scope="module")
def suzhou_part(suzhou_buildings):
    """The Suzhou buildings of the north-west part of the district (about a third), planned flat."""
    pts = shapely.get_coordinates(shapely.point_on_surface(suzhou_buildings.geometry.values))
    x, y = np.quantile(pts[:, 0], 0.55), np.quantile(pts[:, 1], 0.45)
    keep = (pts[:, 0] < x) & (pts[:, 1] > y)
    b = suzhou_buildings[keep]
    inputs = Inputs(buildings=b, crs=b.crs, source_crs="EPSG:4326", households_method="estimate")
    plan, _ = make_plan(inputs, PlanSettings(target=50))
    return plan


def test_suzhou_five_percent_change_moves_few(suzhou_part):
    plan = suzhou_part
    b = plan.buildings
    rng = np.random.default_rng(5)
    pick = rng.choice(len(b), size=len(b) // 20, replace=False)
    hh = b["households"].iloc[pick]
    changes = pd.Series(np.round(hh.to_numpy() * rng.uniform(0.5, 1.5, len(hh))).astype("int64"), index=hh.index)
    result = update_plan(plan, households=changes)
    report = check_plan(result.plan)
    assert report.ok, report.violations
    s = result.summary
    assert s["out_of_tolerance_before"] > s["out_of_tolerance_after"]
    # a grid left outside the band was already outside before the change (the engine could not do
    # better), or the change pushed it out and the repair brought it nearer the band than the change
    # alone left it (measured: one grid, 56 households, 64 after its building grew, 38 after the repair)
    status_before = plan.grids["status"]
    grown = b["households"].add(changes.sub(b["households"].reindex(changes.index)), fill_value=0)

    def excess(hh):
        return max(0.0, 40 - hh, hh - 60)

    pushed_out = [g for g in s["unrepaired"] if status_before[g] == "ok"]
    assert len(pushed_out) <= 1
    for g in pushed_out:
        changed_alone = grown[b["grid_id"] == g].sum()
        assert excess(result.plan.grids.at[g, "households"]) < excess(changed_alone)
    assert s["share_moved"] < 0.05
    before = plan.meta["metrics"]["share_within_tolerance"]
    assert report.metrics["share_within_tolerance"] >= before - 0.01
    # the moves are exactly the buildings whose grid changed
    moved = b.index[b["grid_id"] != result.plan.buildings["grid_id"].reindex(b.index)]
    assert set(result.moves["building_id"]) == set(moved)
    assert (result.plan.buildings.loc[changes.index, "households"] == changes).all()
    # one hop and a global fallback: still a valid plan, no worse balanced
    wide = update_plan(plan, households=changes, max_hops=1, allow_global=True)
    wide_report = check_plan(wide.plan)
    assert wide_report.ok, wide_report.violations
    # (counted over every grid that is not oversize: the global fallback may turn an undersize grid into
    # one out of tolerance, as many outside the band in all)
    assert _outside_band(wide.plan) <= _outside_band(result.plan)


def _outside_band(plan, lo=40, hi=60):
    """(grids outside the band, households outside it) over the grids that are not oversize."""
    hh = plan.grids.loc[plan.grids["status"] != "oversize", "households"]
    return int(((hh < lo) | (hh > hi)).sum()), float(np.maximum(0, np.maximum(lo - hh, hh - hi)).sum())


def test_cli_update_and_lock(tmp_path, suzhou_part):
    plan_path = tmp_path / "part.gpkg"
    geo.write_plan(suzhou_part, plan_path)
    b = suzhou_part.buildings
    big = b["households"].between(20, 40)
    target = b.index[big][0]
    gid = b.at[target, "grid_id"]
    (tmp_path / "hh.csv").write_text(f"building_id,households\n{target},{int(b.at[target, 'households']) + 25}\n")
    lock = suzhou_part.grids.index[0] if suzhou_part.grids.index[0] != gid else suzhou_part.grids.index[1]
    out = tmp_path / "new.gpkg"
    run = CliRunner().invoke(cli, ["update", str(plan_path), "--households", str(tmp_path / "hh.csv"),
                                   "--lock", lock, "--moves", str(tmp_path / "moves.csv"), "-o", str(out),
                                   "--json"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    assert report["summary"]["locked"] == [lock]
    moves = pd.read_csv(tmp_path / "moves.csv", dtype=str)
    assert len(moves) == len(report["moves"]) == report["summary"]["buildings_moved"]
    assert lock not in set(moves["from_grid"]) | set(moves["to_grid"].dropna())
    new = geo.read_plan(out)
    assert new.meta["update"]["buildings_moved"] == len(moves)
    assert CliRunner().invoke(cli, ["check", str(out)]).exit_code == 0


def test_update_keeps_levels_and_emergency_nested():
    """4 × 8 lattice in blocks of ~160 households, grids of 40, emergency grids of 20: a changed and an
    added building leave every level nested; emergency grids of unchanged grids keep their ids."""
    from partitioning.hierarchy import Level

    plan, _ = make_plan(lattice(4, 8), PlanSettings(target=40, levels=(Level("block", target=160),),
                                                    emergency_target=20))
    b = plan.buildings
    extra = gpd.GeoDataFrame({"households": [8], "households_source": ["estimate"]},
                             geometry=[box(500_120, 3_500_000, 500_130, 3_500_010)],  # east of r0c7
                             index=pd.Index(["new1"], name="building_id"), crs=b.crs)
    now = gpd.GeoDataFrame(pd.concat([b[["households", "households_source", "geometry"]], extra]), crs=b.crs)
    result = update_plan(plan, buildings=now, households=pd.Series({"r2c2": 19}))
    new = result.plan
    report = check_plan(new)
    assert report.ok, report.violations
    nb = new.buildings
    assert nb.at["new1", "unit_block"] == b.at["r0c7", "unit_block"]
    assert (nb.groupby("grid_id")["unit_block"].nunique() == 1).all()
    changed = set(result.moves["from_grid"].dropna()) | set(result.moves["to_grid"].dropna())
    changed |= {nb.at["new1", "grid_id"]}
    kept = b.index[~b["grid_id"].isin(changed)]
    assert len(kept) and (nb.loc[kept, "grid_id_emergency"] == b.loc[kept, "grid_id_emergency"]).all()
    assert set(new.layers["levels"]["unit_id"]) == set(plan.layers["levels"]["unit_id"])


def test_added_building_next_to_a_tower_gets_its_own_grid():
    """A new building whose only neighbour is a tower (a grid of its own, above the band) does not
    join the tower's grid: it becomes an undersize grid, as the engine would make it.

    ::

        new  TOWER r0c1 r0c2 r0c3
    """
    inputs = lattice(1, 4)
    inputs.buildings.loc["r0c0", "households"] = 100
    plan, _ = make_plan(inputs, PlanSettings(target=40))
    tower = plan.buildings.at["r0c0", "grid_id"]
    assert plan.grids.at[tower, "status"] == "oversize"
    extra = gpd.GeoDataFrame({"households": [12], "households_source": ["estimate"]},
                             geometry=[box(499_985, 3_500_000, 499_995, 3_500_010)],
                             index=pd.Index(["new1"], name="building_id"), crs=plan.crs)
    now = gpd.GeoDataFrame(pd.concat([plan.buildings[["households", "households_source", "geometry"]], extra]),
                           crs=plan.crs)
    result = update_plan(plan, buildings=now)
    g = result.plan.buildings.at["new1", "grid_id"]
    assert g != tower and g in result.summary["grids_added"]
    assert result.plan.grids.at[g, "status"] == "undersize"
    assert result.plan.grids.at[tower, "n_buildings"] == 1
    assert result.summary["unrepaired"] == [] and check_plan(result.plan).ok
