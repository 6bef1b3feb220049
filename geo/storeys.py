"""Inside a building: its units (单元), floors, and households per unit and floor.

A tower's households live on floors of its units (单元, each with its own stair and lift). The
emergency layout splits an oversize tower along that structure (:mod:`partitioning.towers`), and
the staffing template gives a tower a building leader per unit (:mod:`partitioning.people.staffing`).
Where the structure comes from, first found wins, building by building:

1. ``ledger`` — a household ledger's 单元 and 室号 columns (:mod:`geo.ledger`, headers ``unit``
   and ``room`` of :data:`geo.headers.ALIASES`), or the same written into the address
   (``3幢2单元301室``): unit ``2``, floor ``3`` (室号 ``301`` is room 01 of floor 3, ``1502`` room 02
   of floor 15; a room number below 100 gives no floor). Households of a row without a unit are
   spread evenly over the building's units (its own ``units`` or the estimate when no row names
   one), of a row without a floor over the unit's floors.
2. ``attributes`` — the building's own ``units`` (or ``单元数``) field, or ``n_units``: the highest
   unit a ledger names (:func:`geo.load.prepare_buildings` writes it, so a plan keeps it).
3. ``estimate`` — units along the footprint's long axis: the long side of its minimum rotated
   rectangle ÷ :data:`UNIT_WIDTH`, rounded, at least 1. A unit of the common Chinese slab block
   (板楼) has two flats a floor either side of one stair (一梯两户); at the household estimate's
   120 m² of gross floor area a flat (:data:`geo.households.FLOOR_AREA_PER_HOUSEHOLD`) and a slab
   :data:`SLAB_DEPTH` of 12 m, that is 2 × 120 ÷ 12 = 20 m of façade a unit.

Floors come from the ledger's highest floor, else from the estimate of :func:`geo.households.floors`
(``Floor``, ``floors``, ``levels``, ``building:levels``, height ÷ 3 m, else 2). Where the ledger does
not say how the households sit, they are spread evenly over the units × floors, the remainder one
each to the lowest floors first (:func:`spread`).

Examples
--------
>>> room_floor("301"), room_floor("1502室"), room_floor("2-1-1803"), room_floor("12")
(3, 15, 18, None)
>>> unit_number("2单元"), unit_number("三单元"), unit_number("1"), unit_number("")
(2, 3, 1, None)
>>> spread(10, 2, 3).tolist()  # 10 households over 2 units × 3 floors
[[2, 2, 1], [2, 2, 1]]
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.building_numbers import chinese_number
from geo.households import FLOOR_AREA_PER_HOUSEHOLD
from geo.households import floors as estimated_floors

__all__ = ["UNIT_WIDTH", "SLAB_DEPTH", "MAX_FLOORS", "MAX_UNITS", "UNIT_FIELDS", "Storeys", "room_floor", "unit_number", "spread", "ledger_cells",
           "building_storeys", "storeys_of", "unit_counts"]

logger = logging.getLogger(__name__)

#: Depth of a slab block (m), front to back, for the unit estimate.
SLAB_DEPTH = 12.0
#: Metres of façade along the long axis per unit (单元) when a building's units are estimated: two
#: flats a floor (一梯两户) of :data:`geo.households.FLOOR_AREA_PER_HOUSEHOLD` over :data:`SLAB_DEPTH`.
UNIT_WIDTH = 2 * FLOOR_AREA_PER_HOUSEHOLD / SLAB_DEPTH
#: Floors and units past these are taken for typing errors in a ledger (a room 99901, a unit 300)
#: and read as unknown: the tallest residential towers have about 100 floors.
MAX_FLOORS, MAX_UNITS = 150, 60
#: Building fields giving the number of units, first found wins.
UNIT_FIELDS = ("units", "n_units", "单元数")
_ROOM = re.compile(r"(\d{3,})\s*(?:室|号|房)?\s*$")
_UNIT_IN_TEXT = re.compile(r"([0-9一二三四五六七八九十两]+)\s*单元")
_ROOM_IN_TEXT = re.compile(r"单元\D*?(\d{3,})")


def _nfkc(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def room_floor(room) -> int | None:
    """The floor of a room number (室号): its digits but the last two (``301`` → 3), else ``None``
    (also past :data:`MAX_FLOORS`)."""
    m = _ROOM.search(_nfkc(room))
    if not m:
        return None
    floor = int(m.group(1)) // 100
    return floor if 1 <= floor <= MAX_FLOORS else None


def unit_number(unit) -> int | None:
    """A unit (单元) as a number: ``2``, ``2单元``, ``二单元``; ``None`` when there is none (or past
    :data:`MAX_UNITS`)."""
    text = _nfkc(unit).removeprefix("第").removesuffix("单元").strip()
    if not text:
        return None
    n = int(text) if text.isdigit() else chinese_number(text)
    return n if n is not None and 1 <= n <= MAX_UNITS else None


def spread(households: int, units: int, floors: int) -> np.ndarray:
    """``households`` spread evenly over ``units`` × ``floors``: an int array of shape (units, floors),
    the remainder one each to the lowest floors first (unit by unit within a floor)."""
    cells = units * floors
    base, rest = divmod(int(households), cells)
    flat = np.full(cells, base, dtype=np.int64)
    flat[:rest] += 1  # floor-major order: floor 1 of every unit, then floor 2 …
    return flat.reshape(floors, units).T.copy()


@dataclass(frozen=True)
class Storeys:
    """A building's units and floors, and its households per unit and floor.

    Attributes
    ----------
    households : numpy.ndarray
        Shape (units, floors): households of unit ``u + 1`` on floor ``f + 1``.
    source : str
        ``ledger``, ``attributes`` or ``estimate`` (of the units; see the module).
    """

    households: np.ndarray
    source: str

    @property
    def units(self) -> int:
        return int(self.households.shape[0])

    @property
    def floors(self) -> int:
        return int(self.households.shape[1])

    def total(self) -> int:
        return int(self.households.sum())


def ledger_cells(table: pd.DataFrame, *, building: pd.Series, households: pd.Series, unit_col: str | None,
                 room_col: str | None, key_col: str) -> pd.DataFrame:
    """Households of the ledger's matched rows by building, unit and floor.

    Parameters
    ----------
    table : DataFrame
        The ledger table as read.
    building, households : Series
        Like ``table``: the matched building of each row (missing if none) and its households.
    unit_col, room_col, key_col : str or None
        The 单元 and 室号 columns (``None`` if the ledger has none) and the building column, whose
        text may hold both (``3幢2单元301室``).

    Returns
    -------
    DataFrame
        ``building_id``, ``unit``, ``floor`` (``Int64``, missing where the row does not say),
        ``households``; one row per matched ledger row.
    """
    key = table[key_col].map(_nfkc)
    unit = table[unit_col].map(unit_number) if unit_col else pd.Series(None, index=table.index, dtype=object)
    in_key = key.map(lambda t: unit_number(m.group(1)) if (m := _UNIT_IN_TEXT.search(t)) else None)
    unit = unit.where(unit.notna(), in_key)
    floor = table[room_col].map(room_floor) if room_col else pd.Series(None, index=table.index, dtype=object)
    floor_key = key.map(lambda t: room_floor(m.group(1)) if (m := _ROOM_IN_TEXT.search(t)) else None)
    floor = floor.where(floor.notna(), floor_key)
    ok = building.notna()
    return pd.DataFrame({"building_id": building[ok].astype(str).to_numpy(),
                         "unit": pd.array(unit[ok].tolist(), dtype="Int64"),
                         "floor": pd.array(floor[ok].tolist(), dtype="Int64"),
                         "households": households[ok].astype("int64").to_numpy()})


def unit_counts(buildings: gpd.GeoDataFrame) -> tuple[pd.Series, pd.Series]:
    """Units of every building and where they came from (``attributes`` or ``estimate``, see the module).

    ``buildings`` in a metric CRS. A field of :data:`UNIT_FIELDS` counts where it is a whole number ≥ 1.
    """
    out = pd.Series(np.nan, index=buildings.index)
    for f in UNIT_FIELDS:
        if f in buildings.columns:
            v = pd.to_numeric(buildings[f], errors="coerce")
            out = out.fillna(v.where((v >= 1) & (v % 1 == 0)))
    source = pd.Series(np.where(out.notna(), "attributes", "estimate"), index=buildings.index, dtype=object)
    rect = shapely.oriented_envelope(buildings.geometry.to_numpy())
    coords = [np.asarray(r.exterior.coords) if r.geom_type == "Polygon" else None for r in rect]
    longest = np.array([np.hypot(*np.diff(c[:3], axis=0).T).max() if c is not None else 0.0 for c in coords])
    estimate = np.maximum(1, np.round(longest / UNIT_WIDTH))
    return out.fillna(pd.Series(estimate, index=buildings.index)).astype("int64"), source


def building_storeys(buildings: gpd.GeoDataFrame, *, cells: pd.DataFrame | None = None) -> dict[str, Storeys]:
    """The :class:`Storeys` of every building (by ``building_id``), their households summing to the
    building's ``households``.

    Parameters
    ----------
    buildings : GeoDataFrame
        Indexed by ``building_id`` with ``households``, metric CRS.
    cells : DataFrame, optional
        A ledger's rows by building, unit and floor (:func:`ledger_cells`). A building whose rows
        sum to its ``households`` takes its structure from them; others (the ledger not naming it,
        or its count coming from elsewhere) are estimated.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> b = gpd.GeoDataFrame({"households": [108], "floors": [18]}, geometry=[box(0, 0, 60, 12)],
    ...                      index=pd.Index(["T1"], name="building_id"), crs="EPSG:4549")
    >>> s = building_storeys(b)["T1"]
    >>> s.units, s.floors, s.source, s.total(), int(s.households[2, 17])
    (3, 18, 'estimate', 108, 2)
    """
    n_units, unit_source = unit_counts(buildings)
    n_floors = estimated_floors(buildings)[0].round().astype("int64")
    hh = buildings["households"].astype("int64")
    by_building: dict = {}
    if cells is not None and len(cells):
        sums = cells.groupby("building_id")["households"].sum()
        usable = sums.index[sums.reindex(sums.index).to_numpy() == hh.reindex(sums.index).to_numpy()]
        by_building = {b: g for b, g in cells[cells["building_id"].isin(usable)].groupby("building_id")}
    out = {}
    for bid in buildings.index:
        rows = by_building.get(str(bid))
        if rows is not None and (rows["unit"].notna().any() or rows["floor"].notna().any()):
            out[bid] = Storeys(_from_ledger(rows, int(n_units[bid]), int(n_floors[bid])), "ledger")
        else:
            out[bid] = Storeys(spread(int(hh[bid]), int(n_units[bid]), int(n_floors[bid])), str(unit_source[bid]))
    return out


def storeys_of(table: pd.DataFrame) -> dict[str, Storeys]:
    """:class:`Storeys` by building from a table of ``building_id``, ``unit``, ``floor``,
    ``households`` with every cell (the plan's ``storeys`` table) and its ``source``."""
    out = {}
    for bid, g in table.groupby(table["building_id"].astype(str)):
        units, floors = int(g["unit"].max()), int(g["floor"].max())
        m = np.zeros((units, floors), dtype=np.int64)
        m[g["unit"].astype(int).to_numpy() - 1, g["floor"].astype(int).to_numpy() - 1] = g["households"].to_numpy()
        out[bid] = Storeys(m, str(g["source"].iloc[0]) if "source" in g.columns else "ledger")
    return out


def _from_ledger(rows: pd.DataFrame, default_units: int, default_floors: int) -> np.ndarray:
    """A building's matrix from its ledger rows: units and floors the rows name (else the building's
    own or estimated ones), households spread evenly where a row names no unit or no floor."""
    units = int(rows["unit"].max()) if rows["unit"].notna().any() else default_units
    floors = int(rows["floor"].max()) if rows["floor"].notna().any() else default_floors
    m = np.zeros((units, floors), dtype=np.int64)
    placed = rows.dropna(subset=["unit", "floor"])
    np.add.at(m, (placed["unit"].astype(int).to_numpy() - 1, placed["floor"].astype(int).to_numpy() - 1),
              placed["households"].to_numpy())
    no_floor = rows[rows["unit"].notna() & rows["floor"].isna()]
    for u, n in no_floor.groupby("unit")["households"].sum().items():
        m[int(u) - 1] += spread(int(n), 1, floors)[0]
    no_unit = rows[rows["unit"].isna() & rows["floor"].notna()]
    for f, n in no_unit.groupby("floor")["households"].sum().items():
        m[:, int(f) - 1] += spread(int(n), units, 1)[:, 0]
    neither = int(rows.loc[rows["unit"].isna() & rows["floor"].isna(), "households"].sum())
    if neither:
        m += spread(neither, units, floors)
    return m
