"""The notebook entry point (partitioning.pipeline.partition, levels_from_spec) does what
``gridplan partition`` does, on the real Kunming and bundled Suzhou data."""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pytest

import geo
from geo.errors import InfeasibleError, InputError
from partitioning.check import check_plan
from partitioning.graph import plan_graph
from partitioning.pipeline import levels_from_spec, partition
from partitioning.settings import DEFAULT_GAP, DEFAULT_TARGET, DEFAULT_TOLERANCE, PlanSettings


def test_partition_makes_the_plan_the_command_line_makes(kunming_inputs, plan_path):
    cli_plan = geo.read_plan(plan_path)
    plan, metrics = partition(kunming_inputs, PlanSettings())
    assert plan.buildings["grid_code"].equals(cli_plan.buildings["grid_code"].reindex(plan.buildings.index))
    assert list(plan.grids["grid_code"]) == list(cli_plan.grids["grid_code"])
    assert metrics["coverage"]["multipart_grids"] == [] and check_plan(plan).ok
    assert PlanSettings.from_meta(plan.meta) == PlanSettings.from_meta(cli_plan.meta)
    # the defaults, stored and read back (the prefix stored is the one used: none here)
    assert replace(PlanSettings.from_meta(plan.meta), code_prefix=None) == PlanSettings()


def test_settings_from_meta_read_what_make_plan_stored(kunming_inputs):
    plan, _ = partition(kunming_inputs, PlanSettings(target=30, tolerance=0.3, gap=10.0, seed=4,
                                                     emergency_target=15))
    s = PlanSettings.from_meta(plan.meta)
    assert (s.target, s.tolerance, s.gap, s.seed, s.emergency_target) == (30, 0.3, 10.0, 4, 15)
    assert plan_graph(plan).graph["gap"] == 10.0
    old = PlanSettings.from_meta({})  # a plan file from before a setting existed
    assert (old.target, old.tolerance, old.gap) == (DEFAULT_TARGET, DEFAULT_TOLERANCE, DEFAULT_GAP)


def test_inconsistent_options_are_library_errors_naming_the_settings(kunming_inputs):
    with pytest.raises(InputError) as no_communities:
        partition(kunming_inputs, PlanSettings(), workers=0)
    assert set(no_communities.value.options) >= {"workers", "boundaries"} and "--" not in str(no_communities.value)
    levels = levels_from_spec("block=200,small=50", kunming_inputs.crs)
    with pytest.raises(InfeasibleError) as both:
        partition(kunming_inputs, PlanSettings(n_grids=5, levels=levels.levels, level_name=levels.level_name))
    assert set(both.value.options) == {"n_grids", "levels"} and "--" not in str(both.value)
    with pytest.raises(InputError) as bad:
        levels_from_spec("block=oops.geojson", kunming_inputs.crs)
    assert "--" not in str(bad.value) and bad.value.options == ("levels",)


def test_levels_from_polygons_or_their_file_give_the_same_plan(kunming_inputs, tmp_path):
    b = kunming_inputs.buildings
    compounds = b.dissolve("community").reset_index()[["community", "geometry"]]
    compounds = gpd.GeoDataFrame({"boundary_id": compounds["community"].astype(str),
                                  "name": compounds["community"].astype(str)},
                                 geometry=compounds.geometry.convex_hull.buffer(5), crs=b.crs)
    path = tmp_path / "compounds.gpkg"  # in the buildings' CRS: the same polygons as the frame's
    compounds.to_file(path)
    from_file = levels_from_spec(f"compound={path},grid=50", b.crs)
    from_frame = levels_from_spec([("compound", compounds), ("grid", 50)], b.crs)
    assert from_file.files[0]["role"] == "level compound" and from_frame.files == []
    plans = [partition(kunming_inputs, PlanSettings(target=spec.target, levels=spec.levels,
                                                    level_name=spec.level_name))[0]
             for spec in (from_file, from_frame)]
    assert plans[0].buildings["unit_compound"].equals(plans[1].buildings["unit_compound"])
    assert plans[0].buildings["grid_code"].equals(plans[1].buildings["grid_code"])
    assert check_plan(plans[0]).ok


def test_command_line_names_its_flags_for_a_library_refusal(tmp_path):
    from tests.clirun import run
    from tests.realdata import KUNMING

    code, out = run("partition", KUNMING, "--id-field", "id", "--levels", "block=200,small=50", "--grids", "5",
                    "-o", tmp_path / "p.gpkg")
    assert code == 3 and "(options: --grids, --levels)" in out
    assert not (tmp_path / "p.gpkg").exists()


def test_the_command_line_defaults_are_the_library_defaults():
    """``gridplan partition`` states its defaults in its options (its help shows them without
    importing the engine); they must be the settings' own."""
    from app.cli import cli

    options = {p.name: p.default for p in cli.commands["partition"].params}
    assert (options["target"], options["tolerance"]) == (DEFAULT_TARGET, DEFAULT_TOLERANCE)
    assert options["gap"] is None  # None: the settings' DEFAULT_GAP
