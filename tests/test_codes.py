"""Grid codes: administrative prefix + sequence, west→east, north→south."""

from __future__ import annotations

import doctest

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

import partitioning.codes
from geo.errors import InputError
from partitioning.codes import PLACEHOLDER, code_prefix, grid_codes, reading_order, short_code


def _lattice():
    """Six 100 m grids in two rows, ids deliberately not in reading order.

    ::

        +----+----+----+
        | f  | a  | d  |    y 100..200
        +----+----+----+
        | c  | e  | b  |    y   0..100
        +----+----+----+
        0   100  200  300
    """
    cells = {"f": (0, 1), "a": (1, 1), "d": (2, 1), "c": (0, 0), "e": (1, 0), "b": (2, 0)}
    return gpd.GeoDataFrame(
        geometry=[box(100 * i, 100 * j, 100 * (i + 1), 100 * (j + 1)) for i, j in cells.values()],
        index=pd.Index(list(cells), name="grid_id"),
        crs="EPSG:4549",
    )


def test_codes_read_west_to_east_then_north_to_south():
    codes = grid_codes(_lattice(), prefix="320508019044")
    assert codes.to_dict() == {
        "f": "320508019044001", "a": "320508019044002", "d": "320508019044003",
        "c": "320508019044004", "e": "320508019044005", "b": "320508019044006",
    }
    assert codes.index.equals(_lattice().index)


def test_default_codes_width_and_uneven_rows():
    """Grids whose centres differ by less than a row height share a row.

    ::

        [n] y=150        [m] y=120
                [s] y=20
    """
    g = gpd.GeoDataFrame(
        geometry=[box(0, 100, 100, 200), box(300, 70, 400, 170), box(150, -30, 250, 70)],
        index=["n", "m", "s"], crs="EPSG:4549",
    )
    codes = grid_codes(g, width=4)
    assert codes.to_dict() == {"n": "0001", "m": "0002", "s": "0003"}


def test_parent_restarts_numbering():
    g = _lattice()
    parent = pd.Series({"f": "044", "c": "044", "a": "045", "d": "045", "e": "045", "b": "045"})
    codes = grid_codes(g, prefix="320508019", parent=parent)
    assert codes["f"] == "320508019044001" and codes["c"] == "320508019044002"
    assert [codes[k] for k in "adeb"] == [f"320508019045{i:03d}" for i in range(1, 5)]
    assert codes.is_unique


def test_bad_inputs():
    g = _lattice()
    with pytest.raises(InputError, match="more than 1 digits"):
        grid_codes(pd.concat([g, g.set_axis([f"x{i}" for i in range(6)])]), width=1)
    with pytest.raises(InputError, match="prefix"):
        grid_codes(g, prefix="3205 08")
    with pytest.raises(InputError, match="parent unit missing"):
        grid_codes(g, parent=pd.Series({"f": "044"}))


def test_codes_on_real_grids_are_unique_and_follow_position(suzhou_buildings):
    """On Suzhou footprints grouped in 400 m squares: the code order is the reading order."""
    c = suzhou_buildings.geometry.centroid
    key = (np.floor(c.x / 400).astype(int).astype(str) + "_" + np.floor(c.y / 400).astype(int).astype(str))
    grids = suzhou_buildings.dissolve(by=key.rename("grid_id"))
    codes = grid_codes(grids, prefix="320508019044")
    assert codes.is_unique and codes.str.len().eq(15).all()
    pts = grids.geometry.representative_point()
    first, last = codes.idxmin(), codes.idxmax()
    assert pts[first].y > pts[last].y
    assert list(codes.sort_values().index) == list(grids.index[reading_order(grids.geometry.values)])


def test_docstring_examples():
    assert doctest.testmod(partitioning.codes).failed == 0


def test_short_code_is_the_number_people_read():
    """One rule for labels, pages and messages: prefix (given or the old zeros) and leading zeros dropped."""
    assert short_code("320508019044084", "320508019044") == "84"
    assert short_code(PLACEHOLDER + "344") == "344" and short_code(PLACEHOLDER + "344", "") == "344"
    assert short_code("010", "") == "10" and short_code("000") == "000"
    assert short_code("A12", "A") == "12" and short_code("X7") == "X7"


def test_code_prefix_from_the_boundary_or_none():
    one = pd.DataFrame({"boundary_id": ["320508019044"], "name": ["养育巷社区"]})
    assert code_prefix(one) == "320508019044"
    assert code_prefix([None, pd.DataFrame({"boundary_id": ["A001", "A002"]}), one]) == "320508019044"
    assert code_prefix(pd.DataFrame({"boundary_id": ["320508"]})) == ""  # a district: no community code
    assert code_prefix(one, prefix="110105") == "110105" and code_prefix() == ""


def _cli_plan(tmp_path, *args):
    from click.testing import CliRunner

    import geo
    from app.cli import cli
    from tests.realdata import KUNMING

    out = tmp_path / "plan.gpkg"
    result = CliRunner().invoke(cli, ["partition", str(KUNMING), "--id-field", "id", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return geo.read_plan(out)


def test_default_codes_are_short_not_zeros(plan_path):
    """Without --prefix and without a coded boundary, codes are 001, 002…, never 000000000000NNN."""
    import geo

    plan = geo.read_plan(plan_path)
    codes = plan.grids["grid_code"].astype(str)
    assert codes.is_unique and not codes.str.startswith("000000").any()
    assert sorted(codes) == [f"{i:03d}" for i in range(1, len(codes) + 1)]
    assert plan.meta["code_prefix"] == ""


def test_boundary_division_code_and_given_prefix(tmp_path, kunming_buildings):
    """A boundary file of one community with its 12-digit code gives the prefix; --prefix keeps
    the 15-digit national-style scheme."""
    import geopandas as gpd
    import shapely

    area = shapely.box(*kunming_buildings.to_crs(4326).total_bounds).buffer(0.001)
    boundary = tmp_path / "community.geojson"
    gpd.GeoDataFrame({"code": ["530103002003"], "name": ["翠湖社区"]}, geometry=[area], crs=4326).to_file(boundary)
    from_boundary = _cli_plan(tmp_path, "--boundary", str(boundary))
    codes = from_boundary.grids["grid_code"].astype(str)
    assert codes.str.startswith("530103002003").all() and codes.str.len().eq(15).all() and codes.is_unique
    assert from_boundary.meta["code_prefix"] == "530103002003"
    given = _cli_plan(tmp_path, "--boundary", str(boundary), "--prefix", "320508019044")
    assert given.grids["grid_code"].astype(str).str.match(r"^320508019044\d{3}$").all()
    # the same input gives the same codes (stable)
    assert _cli_plan(tmp_path, "--boundary", str(boundary)).grids["grid_code"].astype(str).equals(codes)
