"""Nested levels and the emergency layout: hand-made lattices and a four-level plan of Suzhou."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
from partitioning.hierarchy import Level, parse_levels, unit_column
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings
from tests.realdata import REPO, SUZHOU


def lattice(rows: int, cols: int, households: int = 10, *, spacing: float = 15.0) -> Inputs:
    """``rows`` × ``cols`` squares of 10 m, ``spacing`` apart, ids ``r<row>c<col>``, in EPSG:4549.

    ::

        r0c0 r0c1 r0c2 …
        r1c0 r1c1 r1c2 …
    """
    geoms, ids = [], []
    for r in range(rows):
        for c in range(cols):
            x, y = 500_000 + c * spacing, 3_500_000 - r * spacing
            geoms.append(box(x, y, x + 10, y + 10))
            ids.append(f"r{r}c{c}")
    b = gpd.GeoDataFrame({"households": np.full(len(ids), households, dtype="int64"),
                          "households_source": "field"},
                         geometry=geoms, index=pd.Index(ids, name="building_id"), crs=4549)
    return Inputs(buildings=b, crs=b.crs, source_crs="EPSG:4490", households_method="given")


def test_parse_levels():
    assert parse_levels("community=c.geojson, grid=400 ,small=50") == [
        ("community", "c.geojson"), ("grid", 400), ("small", 50)]
    for bad in ("small=50", "grid=400,small=x.geojson", "grid=400,grid=50", "grid400,small=50"):
        with pytest.raises(InputError):
            parse_levels(bad)
    with pytest.raises(InputError):
        Level("grid_id", target=5)
    with pytest.raises(InputError):
        Level("block")  # neither target nor boundaries


def test_generated_levels_nest_on_a_lattice():
    """6 × 8 buildings of 10 households: blocks of ~160, grids of ~40, emergency grids of ~20.

    ::

        r0c0 … r0c7
        …
        r5c0 … r5c7
    """
    settings = PlanSettings(target=40, levels=(Level("block", target=160),), level_name="small",
                            emergency_target=20)
    plan, _ = make_plan(lattice(6, 8), settings)
    b = plan.buildings
    assert b[unit_column("block")].nunique() == 3  # 480 households / 160
    assert (b.groupby("grid_id")[unit_column("block")].nunique() == 1).all()
    assert (b.groupby("grid_id_emergency")["grid_id"].nunique() == 1).all()
    assert set(plan.grids["households"]) == {40}
    assert set(plan.layers["grids_emergency"]["households"]) == {20}
    # codes nest: grid code = block code + 3 digits, emergency code = grid code + 2 digits
    levels = plan.layers["levels"].set_index("unit_id")
    block_code = b[unit_column("block")].map(levels["unit_code"])
    assert all(g.startswith(p) and len(g) == len(p) + 3 for g, p in zip(b["grid_code"], block_code))
    em = plan.layers["grids_emergency"]
    parent_code = em["parent_grid_id"].map(plan.grids["grid_code"])
    assert all(c.startswith(p) and len(c) == len(p) + 2 for c, p in zip(em["grid_code"], parent_code))
    result = check_plan(plan)
    assert result.ok, result.violations
    assert result.levels["block"]["n_grids"] == 3 and result.levels["block"]["outside_parent_m2"] is None
    assert result.emergency["outside_parent_m2"] < 1e-6
    # every grid of 40 fits two emergency grids of 20, every block a whole number of grids of 40
    assert result.emergency["no_fitting_count"] == [] and result.levels["block"]["no_fitting_count"] == []


def test_check_finds_broken_nesting():
    plan, _ = make_plan(lattice(4, 4), PlanSettings(target=40, levels=(Level("block", target=80),),
                                                     emergency_target=20))
    assert check_plan(plan).ok
    b = plan.buildings
    # a grid whose buildings sit in two blocks; an emergency grid spanning two grids
    g = b["grid_id"].iloc[0]
    other = next(u for u in b[unit_column("block")].unique() if u != b.loc[b["grid_id"] == g, "unit_block"].iloc[0])
    b.loc[b.index[b["grid_id"] == g][0], unit_column("block")] = other
    first, second = b["grid_id"].unique()[:2]
    e = b.loc[b["grid_id"] == second, "grid_id_emergency"].iloc[0]
    b.loc[b.index[b["grid_id"] == first][0], "grid_id_emergency"] = e
    text = "\n".join(check_plan(plan).violations)
    assert "grids: 1 unit(s) lie in several parent units" in text
    assert "emergency grids: 1 unit(s) lie in several parent units" in text
    assert "households figure disagrees" in text


def test_given_level_must_come_first():
    inputs = lattice(2, 4)
    quads = gpd.GeoDataFrame({"boundary_id": ["A", "B"], "name": ["west", "east"]},
                             geometry=[box(499_900, 3_499_900, 500_030, 3_500_100),
                                       box(500_030, 3_499_900, 500_200, 3_500_100)], crs=4549)
    settings = PlanSettings(target=20, levels=(Level("block", target=40), Level("community", boundaries=quads)))
    with pytest.raises(InputError, match="list given levels first"):
        make_plan(inputs, settings)


def _quadrants(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Four "communities": the Suzhou study area cut at the buildings' median x and y."""
    from partitioning.tessellation import study_area

    area = study_area(buildings)
    x0, y0, x1, y1 = area.bounds
    pts = shapely.get_coordinates(shapely.point_on_surface(buildings.geometry.values))
    mx, my = np.median(pts, axis=0)
    boxes = [box(x0, my, mx, y1), box(mx, my, x1, y1), box(x0, y0, mx, my), box(mx, y0, x1, my)]
    return gpd.GeoDataFrame({"id": ["NW", "NE", "SW", "SE"], "name": ["西北", "东北", "西南", "东南"]},
                            geometry=shapely.intersection(boxes, area), crs=buildings.crs)


@pytest.fixture(scope="module")
def suzhou_levels(tmp_path_factory, suzhou_buildings):
    """Suzhou in four levels: given communities (quadrants) → generated areas of 2,000 households →
    grids of 400 → small grids of 50, plus an emergency layout of 25, made through the command line."""
    folder = tmp_path_factory.mktemp("levels")
    quads = folder / "communities.geojson"
    _quadrants(suzhou_buildings).to_file(quads)
    out = folder / "suzhou_levels.gpkg"
    run = CliRunner().invoke(cli, ["partition", str(SUZHOU), "--levels", f"community={quads},area=2000,grid=400,small=50",
                                   "--emergency-target", "25", "-o", str(out)], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    return out, run.output


def test_suzhou_four_levels_pass_check(suzhou_levels):
    path, text = suzhou_levels
    assert "levels:             community 4, area " in text
    run = CliRunner().invoke(cli, ["check", str(path), "--json"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    result = json.loads(run.output)
    assert result["ok"], result["violations"]
    levels = result["levels"]
    assert list(levels) == ["community", "area", "grid"]
    assert levels["community"]["n_grids"] == 4
    assert levels["area"]["outside_parent_m2"] < 1.0
    # grids of ~400 households, all within the band, nested in the communities
    assert levels["grid"]["share_within_tolerance"] >= 0.9
    assert levels["grid"]["outside_parent_m2"] < 1.0
    assert result["emergency"]["outside_parent_m2"] < 1.0
    assert result["emergency"]["n_grids"] > 1.8 * result["metrics"]["n_grids"] - result["metrics"]["oversize_grids"]


def test_suzhou_levels_nest_by_buildings_and_codes(suzhou_levels):
    plan = geo.read_plan(suzhou_levels[0])
    b = plan.buildings
    assert (b.groupby("unit_area")["unit_community"].nunique() == 1).all()
    assert (b.groupby("unit_grid")["unit_area"].nunique() == 1).all()
    assert (b.groupby("grid_id")["unit_grid"].nunique() == 1).all()
    assert (b.groupby("grid_id_emergency")["grid_id"].nunique() == 1).all()
    levels = plan.layers["levels"]
    assert set(levels.loc[levels["level"] == "community", "name"]) == {"西北", "东北", "西南", "东南"}
    units = levels.set_index("unit_id")
    grid_code = b["unit_grid"].map(units["unit_code"])
    assert (b["grid_code"].str[:-3] == grid_code).all()
    area_code = b["unit_area"].map(units["unit_code"])
    assert (grid_code.str[:-2] == area_code).all()
    community_code = b["unit_community"].map(units["unit_code"])
    assert (area_code.str[:-2] == community_code).all()
    # every community polygon is the union of its grids' polygons
    for cid, row in units[units["level"] == "community"].iterrows():
        grids = plan.grids.loc[b.loc[b["unit_community"] == cid, "grid_id"].unique()]
        union = shapely.coverage_union_all(grids.geometry.values)
        assert shapely.area(shapely.symmetric_difference(union, row.geometry)) < 1.0


def test_nested_plan_is_the_same_in_every_interpreter(real_data, tmp_path):
    """The same input and seed give the same nested plan whatever the interpreter's string-hash salt.

    Python salts the hash of every string afresh in each process, so anything that follows the order
    of a set of building ids changes from run to run.  The engine partitioned each unit in such an
    order (a networkx subgraph view iterates a set when it is small): the grids and emergency grids of
    a plan with levels differed between two runs of the same command.
    """
    runs = {}
    for salt in ("0", "3"):
        out = tmp_path / f"salt{salt}.gpkg"
        args = [sys.executable, "-m", "app.cli", "partition", str(SUZHOU), "--levels", "block=400,grid=50",
                "--emergency-target", "25", "--seed", "7", "-o", str(out)]
        env = {**os.environ, "PYTHONHASHSEED": salt}
        runs[out] = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    plans = []
    for out, run in runs.items():
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        plans.append(geo.read_plan(out).buildings)
    a, b = plans
    assert a["grid_id"].nunique() > 50
    for column in ("unit_block", "grid_id", "grid_code", "grid_id_emergency"):
        pd.testing.assert_series_equal(a[column], b[column])
