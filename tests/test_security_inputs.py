"""Issue 19, findings 6 and 7: nothing is lost silently, and bad input gets a message, not a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner

from app.cli import cli
from tests.plans import tiny_people_plan


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def tiny(tmp_path):
    plan = tiny_people_plan(tmp_path)
    buildings = tmp_path / "buildings.geojson"
    b = gpd.read_file(plan, layer="buildings")[["building_id", "households", "geometry"]]
    b.to_file(buildings, driver="GeoJSON")
    return plan, buildings


def test_partition_refuses_to_replace_a_plan_with_people(tiny):
    plan, buildings = tiny
    before = plan.read_bytes()
    r = _run("partition", buildings, "--id-field", "building_id", "--target", "20", "-o", plan)
    assert r.exit_code != 0
    assert "3 people" in r.output and "2 special households" in r.output and "--force" in r.output
    assert "Traceback" not in r.output
    assert plan.read_bytes() == before  # untouched, byte for byte
    r = _run("partition", buildings, "--id-field", "building_id", "--target", "20", "--force", "-o", plan)
    assert r.exit_code == 0, r.output
    assert "people" not in {str(n) for n in __import__("pyogrio").list_layers(plan)[:, 0]}
    # a plan without such data is regenerable: replaced as before (make demo re-partitions onto one file)
    r = _run("partition", buildings, "--id-field", "building_id", "--target", "20", "-o", plan)
    assert r.exit_code == 0, r.output


def _damage(plan, out):
    shutil.copy(plan, out)
    data = bytearray(out.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 8192] = b"\xa5" * min(8192, len(data) - mid)
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("command", [["check"], ["export", "--format", "geojson", "-o", "{tmp}/x.geojson"],
                                     ["map", "-o", "{tmp}/x.html"], ["people", "report"]])
def test_damaged_plan_is_a_message_not_a_traceback(tiny, tmp_path, command):
    _, buildings = tiny
    plan = tmp_path / "full.gpkg"
    assert _run("partition", buildings, "--id-field", "building_id", "--target", "20", "-o", plan).exit_code == 0
    bad = _damage(plan, tmp_path / "bad.gpkg")
    args = [c.format(tmp=tmp_path) for c in command]
    r = _run(*args[:1], bad, *args[1:]) if args[0] != "people" else _run("people", "report", bad)
    assert r.exit_code != 0
    assert "damaged" in r.output or "not a GeoPackage" in r.output or "not a gridplan plan" in r.output, r.output
    assert "internal error" not in r.output
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)


def test_unexpected_error_is_one_line(monkeypatch, tiny):
    plan, _ = tiny
    import geo

    def boom(*a, **k):
        raise RuntimeError("boom")
    monkeypatch.setattr(geo, "read_plan", boom)
    r = _run("check", plan)
    assert r.exit_code == 1
    assert "internal error: RuntimeError: boom" in r.output and "-vv" in r.output
    assert isinstance(r.exception, SystemExit)


def test_roster_csv_as_buildings_is_an_input_error(tmp_path):
    roster = Path(__file__).parents[1] / "data" / "suzhou_gusu" / "roster.csv"
    r = _run("partition", roster, "-o", tmp_path / "x.gpkg")
    assert r.exit_code == 2, r.output
    assert "table without geometry" in r.output and str(roster) in r.output


def _points(index):
    import shapely

    return gpd.GeoDataFrame(geometry=[shapely.Point(i, 0) for i in range(len(index))], index=index, crs=4549)


@pytest.mark.parametrize("prefix", ["3205/08", "32 05", "../x", "网格"])
def test_prefix_must_be_ascii_letters_or_digits(prefix):

    from geo.errors import InputError
    from partitioning.codes import grid_codes

    with pytest.raises(InputError, match="ASCII digits or letters"):
        grid_codes(_points(["a", "b"]), prefix=prefix)
    assert grid_codes(_points(["a"]), prefix="A320508").iloc[0].startswith("A320508")


def test_missing_parent_message_has_no_numpy_reprs():
    import numpy as np
    import pandas as pd

    from geo.errors import InputError
    from partitioning.codes import grid_codes

    grids = _points(pd.Index(np.array([0, 1], dtype=np.int64)))
    with pytest.raises(InputError) as err:
        grid_codes(grids, prefix="320508019", parent=pd.Series({0: "044"}))
    assert "np.int64" not in str(err.value) and "grids 1" in str(err.value)


def test_gbk_special_households_csv_is_read(tiny, tmp_path):
    plan, _ = tiny
    csv = tmp_path / "special.csv"
    csv.write_bytes("household_id,building_id,name,address,elderly_alone\nh9,b2,周奶奶,十全街5号,1\n".encode("gbk"))
    r = _run("people", "residents", plan, csv)
    assert r.exit_code == 0, r.output
    assert "周奶奶" in set(gpd.read_file(plan, layer="households")["name"])


def test_undecodable_csv_names_the_byte(tmp_path):
    from geo.csvfile import read_csv
    from geo.errors import InputError

    csv = tmp_path / "bad.csv"
    csv.write_bytes(b"household_id,name\nh1,\x81\x20\xff\xff\n")
    with pytest.raises(InputError, match=r"bad.csv: byte \d+ cannot be decoded"):
        read_csv(csv, encoding="utf-8")


def test_swapped_lon_lat_is_named():
    import shapely

    from geo.crs import ensure_crs
    from geo.errors import CRSError

    pts = gpd.GeoDataFrame(geometry=[shapely.Point(31.30, 120.62), shapely.Point(31.31, 120.63)], crs=4326)
    with pytest.raises(CRSError, match="look swapped"):
        ensure_crs(pts, path="points.csv")
