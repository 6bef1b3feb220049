"""A single big file without communities: cut into parts planned apart, one valid plan."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

import geo
from partitioning.check import check_plan
from partitioning.parallel import community_of
from partitioning.split import MAX_GRIDS_PER_PART, needs_split, split_parts
from partitioning.tessellation import study_area

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from tiled import SUZHOU_SMALL, make_tiled  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PART = 1500  # buildings a part: two Suzhou copies (6,152 buildings) make 5+ parts


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Two copies of the real Suzhou footprints side by side, shifted by a seeded jitter."""
    path = tmp_path_factory.mktemp("big") / "city.geojson"
    n = make_tiled(ROOT / SUZHOU_SMALL, path, 2, seed=3)
    return path, n


def _partition(src, out, *extra):
    from app.cli import cli

    args = ["partition", str(src), "--max-buildings-per-part", str(PART), "--workers", "0", *extra, "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return geo.read_plan(out), result


@pytest.fixture(scope="module")
def split_plan(city, tmp_path_factory):
    src, _ = city
    return _partition(src, tmp_path_factory.mktemp("plan") / "plan.gpkg")


def test_parts_cover_the_buildings_within_their_limits(city):
    buildings = geo.load_buildings(city[0]).buildings
    parts = split_parts(buildings, max_buildings=PART, max_households=MAX_GRIDS_PER_PART * 50)
    assert len(parts) >= 5 and parts["boundary_id"].is_unique
    union = parts.geometry.union_all()
    assert union.area == pytest.approx(parts.geometry.area.sum())  # no overlap
    assert union.geom_type == "Polygon" and union.covers(buildings.geometry.union_all())
    assert shapely.get_num_geometries(parts.geometry.values).max() == 1  # each part in one piece
    member = community_of(buildings, parts)
    counts = member.value_counts()
    assert counts.max() <= PART + 50  # footprints moved across an edge may add a few
    # no footprint is cut: each lies wholly inside the part of its representative point
    outside = shapely.area(shapely.difference(buildings.geometry.values,
                                              parts.set_index("boundary_id").geometry[member].values))
    assert outside.max() < 1e-4  # m², floating-point rounding of the unions only


def test_parts_follow_density_not_a_fixed_grid(city):
    """Households bound a part too: where households are dense (towers), parts are smaller."""
    buildings = geo.load_buildings(city[0]).buildings
    parts = split_parts(buildings, max_buildings=len(buildings), max_households=5_000)
    hh = buildings["households"].groupby(community_of(buildings, parts)).sum()
    assert hh.max() <= 5_000 + buildings["households"].max() * 4
    assert len(parts) >= buildings["households"].sum() // 5_000


def test_split_only_above_the_threshold():
    assert not needs_split(3076) and needs_split(652_112)
    assert needs_split(100, max_buildings=50)


def test_split_plan_keeps_every_guarantee(city, split_plan):
    plan, result = split_plan
    _, n = city
    assert "no community boundaries: cutting them into parts" in result.output
    assert "no --boundary: the buildings were cut into parts" in result.output
    assert plan.meta["split"]["parts"] >= 5
    assert len(plan.buildings) == n and plan.buildings.index.is_unique
    assert plan.buildings["grid_id"].notna().all()
    assert plan.grids["grid_code"].is_unique
    assert "community_id" not in plan.grids  # parts are not communities
    check = check_plan(plan)  # whole-area graph: grids contiguous, coverage without gap/overlap/cut
    assert check.ok, check.violations
    assert check.metrics["share_within_tolerance"] >= 0.9


def test_split_plan_covers_the_settlement_not_the_rectangle(city, split_plan):
    """Parts are clipped to the envelope of the footprints around them, as a plan without
    boundaries is: the grids cover about the same area as one whole-file study area would."""
    plan, _ = split_plan
    whole = study_area(plan.buildings)
    grids = plan.grids.geometry.union_all()
    xmin, ymin, xmax, ymax = plan.buildings.total_bounds
    rectangle = (xmax - xmin) * (ymax - ymin)
    assert grids.area < rectangle - 0.5 * (rectangle - whole.area)
    assert shapely.area(shapely.difference(grids, whole)) < 0.005 * whole.area
    assert shapely.area(shapely.difference(whole, grids)) < 0.02 * whole.area  # notches at part edges


def test_same_seed_same_plan_and_gridplan_check_passes(city, split_plan, tmp_path):
    from app.cli import cli

    plan, _ = split_plan
    again, _ = _partition(city[0], tmp_path / "again.gpkg")
    assert again.buildings["grid_code"].equals(plan.buildings["grid_code"])
    assert np.allclose(again.grids.geometry.area.to_numpy(), plan.grids.geometry.area.to_numpy())
    checked = CliRunner().invoke(cli, ["check", str(tmp_path / "again.gpkg")])
    assert checked.exit_code == 0, checked.output


def test_options_that_need_the_whole_plan_are_refused_with_the_way_out(city, tmp_path):
    from app.cli import cli

    result = CliRunner().invoke(cli, ["partition", str(city[0]), "--max-buildings-per-part", str(PART),
                                      "--emergency-target", "25", "-o", str(tmp_path / "p.gpkg")])
    assert result.exit_code == 2
    assert "--boundary" in result.output and "--max-buildings-per-part" in result.output
    assert not (tmp_path / "p.gpkg").exists()
