"""The synthetic city: deterministic per seed, realistic buildings, layers gridplan reads."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

import geo
from geo.errors import InputError
from geo.synth import SynthParams, synth_city, write_city

N = 20000


@pytest.fixture(scope="module")
def city():
    return synth_city(N, seed=7)


def test_same_seed_same_city_other_seed_other_city(city):
    again = synth_city(N, seed=7)
    assert again.buildings.drop(columns="geometry").equals(city.buildings.drop(columns="geometry"))
    assert shapely.equals_exact(again.buildings.geometry.values, city.buildings.geometry.values, 0).all()
    assert again.households.equals(city.households)
    other = synth_city(N, seed=8)
    assert len(other.buildings) != len(city.buildings) or not shapely.equals_exact(
        other.buildings.geometry.values, city.buildings.geometry.values, 0).all()


def test_households_as_asked(city):
    b = city.buildings
    total = int(b["households"].sum())
    assert N <= total < N + b["households"].max()
    assert b["building_id"].is_unique
    assert b.crs.to_string() == "EPSG:4549"


def test_a_larger_city_starts_with_the_smaller_one(city):
    small = synth_city(N // 2, seed=7, household_points=False).buildings
    head = city.buildings.iloc[: len(small)]
    assert shapely.equals_exact(head.geometry.values, small.geometry.values, 0).all()
    assert (head["households"].to_numpy() == small["households"].to_numpy()).all()


def test_building_kinds_follow_the_rules(city):
    b = city.buildings
    assert set(b["kind"]) == {"walkup", "tower", "village_house", "public"}
    walk = b[b["kind"] == "walkup"]
    assert walk["floors"].between(5, 7).all() and walk["units"].between(2, 4).all()
    assert (walk["households"] == walk["floors"] * walk["units"] * 2).all()
    towers = b[b["kind"] == "tower"]
    assert towers["floors"].between(18, 33).all()
    assert (towers["households"] == towers["floors"] * towers["units"] * 2).all()
    village = b[b["kind"] == "village_house"]
    assert village["floors"].between(2, 6).all() and (village["households"] >= village["floors"]).all()
    assert (b.loc[b["kind"] == "public", "households"] == 0).all()
    # urban village houses stand close together: their nearest neighbour is a few metres away
    geoms = village.geometry.values
    tree = shapely.STRtree(geoms)
    _, dist = tree.query_nearest(geoms, exclusive=True, return_distance=True)
    assert np.median(dist) < 5


def test_geometry_is_clean(city):
    b = city.buildings.geometry.values
    assert shapely.is_valid(b).all()
    i, j = shapely.STRtree(b).query(b, predicate="intersects")
    assert (i == j).all(), "buildings overlap"
    roads = city.roads
    lines = roads.geometry.values
    assert not shapely.STRtree(b).query(lines, predicate="intersects").size, "a road runs through a building"
    river = roads[roads["waterway"] == "river"]
    assert len(river) == 1
    assert set(roads["highway"].dropna()) == {"primary", "secondary", "residential"}


def test_communities_hold_their_buildings(city):
    comms = city.communities.set_index("code")
    b = city.buildings
    assert comms.index.is_unique and all(len(c) == 12 and c.isdigit() for c in comms.index)
    inside = shapely.within(b.geometry.values, comms.geometry.reindex(b["community_id"]).values)
    assert inside.all()
    assert set(b["community_id"]) == set(comms.index)
    assert (comms["street_id"] == comms.index.str[:9]).all()
    assert set(comms["street_id"]) == set(city.streets["code"])
    # communities tile the city without overlap
    g = comms.geometry.values
    i, j = shapely.STRtree(g).query(g, predicate="overlaps")
    assert not len(i)


def test_household_points_lie_in_their_buildings(city):
    pts = city.households
    b = city.buildings.set_index("building_id")
    assert len(pts) == b["households"].sum()
    assert (pts["building_id"].value_counts().reindex(b.index, fill_value=0) == b["households"]).all()
    assert shapely.within(pts.geometry.values, b.geometry.reindex(pts["building_id"]).values).all()


def test_written_city_reads_back_through_the_loaders(city, tmp_path):
    path = write_city(city, tmp_path / "city.gpkg")
    inputs = geo.load_buildings(path, layer="buildings", id_field="building_id", households_field="households")
    assert inputs.crs.to_string() == "EPSG:4549"
    assert int(inputs.buildings["households"].sum()) == int(city.buildings["households"].sum())
    barriers = geo.load_barriers(path, inputs.crs, layer="roads")
    classes = barriers.groupby("barrier_class").size()
    assert classes["major"] == int((city.roads["highway"] != "residential").sum())
    assert classes["minor"] == int((city.roads["highway"] == "residential").sum())
    comms = geo.load_boundaries(path, inputs.crs, layer="communities")
    assert sorted(comms["boundary_id"]) == sorted(city.communities["code"])


def test_bad_requests():
    with pytest.raises(InputError, match="at least one household"):
        synth_city(0)
    with pytest.raises(InputError, match="kind_weights"):
        synth_city(100, params=SynthParams(kind_weights=(1.0, 0.5, 0, 0)))


def test_synth_command(tmp_path):
    from app.cli import cli

    out = tmp_path / "city.gpkg"
    result = CliRunner().invoke(cli, ["synth", "--households", "2500", "--seed", "3", "--no-household-points",
                                      "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "households" in result.output and out.exists()
    import pyogrio

    assert {name for name, _ in pyogrio.list_layers(out)} == {"buildings", "roads", "streets", "communities"}


@pytest.fixture(scope="module")
def old_town():
    from geo.synth import MIXES

    return synth_city(4000, seed=2, params=MIXES["old_town"], household_points=False)


def test_old_town_courtyards_follow_the_rules(old_town):
    b = old_town.buildings
    yards = b[b["kind"] == "courtyard_house"]
    assert len(yards) > 0.8 * len(b)  # an old town: courtyard houses above all
    assert yards["floors"].between(1, 2).all() and yards["households"].between(1, 5).all()
    geoms = b.geometry.values
    assert shapely.is_valid(geoms).all()
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (i == j).all(), "buildings overlap"
    # the wings of a courtyard stand a metre or two apart: an old town's grain is fine
    _, dist = shapely.STRtree(geoms).query_nearest(geoms, exclusive=True, return_distance=True)
    assert np.median(dist) < 3
    per_yard = yards["households"].sum() / (yards["floors"].size / 3.9)  # about 3.9 buildings a courtyard
    assert 4 <= per_yard <= 11


def test_mixes_make_different_cities():
    from geo.synth import MIXES

    share = {}
    for name in ("new_town", "village"):
        b = synth_city(6000, seed=2, params=MIXES[name], household_points=False).buildings
        share[name] = b.groupby("kind")["households"].sum() / b["households"].sum()
    assert share["new_town"]["tower"] > 0.5  # most households live in towers
    assert share["village"].get("village_house", 0) > 0.4 > share["village"].get("tower", 0)


def test_synth_command_mix(tmp_path):
    from app.cli import cli

    out = tmp_path / "old.gpkg"
    result = CliRunner().invoke(cli, ["synth", "--households", "4000", "--seed", "2", "--mix", "old_town", "--no-household-points",
                                      "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "courtyard_house" in result.output
