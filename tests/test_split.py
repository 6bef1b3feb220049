"""A single big file without communities: split into tiles planned apart, one valid plan."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import geo
from partitioning.parallel import community_of
from partitioning.planning import check_plan
from partitioning.split import needs_split, tile_boundaries

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from tiled import SUZHOU_SMALL, make_tiled  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def city4(tmp_path_factory):
    """Two copies of the Suzhou footprints side by side: about 6k buildings, in 4+ tiles."""
    path = tmp_path_factory.mktemp("big") / "city4.geojson"
    n = make_tiled(ROOT / SUZHOU_SMALL, path, 2, seed=3)
    return path, n


def _partition(src, out, *extra):
    from app.cli import cli

    args = ["partition", str(src), "--max-buildings-per-part", "1200", "--workers", "0", *extra, "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return geo.read_plan(out), result


@pytest.fixture(scope="module")
def split_plan(city4, tmp_path_factory):
    src, _ = city4
    return _partition(src, tmp_path_factory.mktemp("plan") / "plan.gpkg")


def test_tiles_cover_the_buildings_without_gap_or_overlap(city4):
    inputs = geo.load_buildings(city4[0])
    tiles = tile_boundaries(inputs.buildings, max_buildings=1200)
    assert len(tiles) >= 4 and tiles["boundary_id"].is_unique
    area = sum(tiles.geometry.area)
    union = tiles.geometry.union_all()
    assert union.area == pytest.approx(area) and union.geom_type == "Polygon"
    assert union.covers(inputs.buildings.geometry.union_all())
    member = community_of(inputs.buildings, tiles)  # every building in exactly one tile
    assert member.notna().all() and member.nunique() >= 4


def test_auto_split_only_above_the_threshold():
    assert not needs_split(3076) and needs_split(652_112)
    assert needs_split(100, max_buildings=50) and needs_split(100, tile_size=200.0)


def test_split_plan_keeps_every_guarantee(city4, split_plan):
    plan, result = split_plan
    _, n = city4
    assert "splitting them into tiles" in result.output and "--boundary" in result.output
    assert plan.meta["parallel"]["communities"] >= 4
    assert len(plan.buildings) == n and plan.buildings.index.is_unique
    assert plan.buildings["grid_id"].notna().all()
    assert plan.grids["grid_code"].is_unique and plan.grids["community_id"].nunique() >= 4
    check = check_plan(plan)  # whole-area graph: grids contiguous, coverage without gap/overlap/cut
    assert check.ok, check.violations


def test_gridplan_check_passes_and_same_seed_same_plan(city4, split_plan, tmp_path):
    from app.cli import cli

    plan, _ = split_plan
    again, _ = _partition(city4[0], tmp_path / "again.gpkg")
    assert again.buildings["grid_code"].equals(plan.buildings["grid_code"])
    assert np.allclose(again.grids.geometry.area.to_numpy(), plan.grids.geometry.area.to_numpy())
    checked = CliRunner().invoke(cli, ["check", str(tmp_path / "again.gpkg")])
    assert checked.exit_code == 0, checked.output
