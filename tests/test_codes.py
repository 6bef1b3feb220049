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
from partitioning.codes import PLACEHOLDER, grid_codes, reading_order


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


def test_placeholder_width_and_uneven_rows():
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
    assert codes.to_dict() == {"n": PLACEHOLDER + "0001", "m": PLACEHOLDER + "0002",
                               "s": PLACEHOLDER + "0003"}


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
