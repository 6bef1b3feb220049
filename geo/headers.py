"""Column headers gridplan recognises, in English and Chinese: one table, used by every reader.

Offices keep their tables in Chinese (经度/纬度, 楼栋号, 户数 …); exports from GIS or scripts
use English (lon/lat, building_id, households). Every reader of a table (household points,
household ledgers, changes for ``gridplan update``) finds its columns through :func:`find_column`,
so a header accepted in one place is accepted everywhere.

Matching ignores case, spaces, underscores and full-width forms (``ＬＯＮ`` = ``lon``).

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame(columns=["小区", "楼栋号", "单元", "户数"])
>>> find_column(t, "building"), find_column(t, "households"), find_column(t, "unit")
('楼栋号', '户数', '单元')
>>> find_column(pd.DataFrame(columns=["经度", "纬度"]), "lon")
'经度'
>>> find_column(pd.DataFrame(columns=["Longitude"]), "lon")
'Longitude'
"""

from __future__ import annotations

import unicodedata

from geo.errors import InputError

__all__ = ["ALIASES", "find_column", "header_key"]

#: Each role and the headers that name it, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "经度", "东经"),
    "lat": ("lat", "latitude", "纬度", "北纬"),
    "x": ("x", "easting", "east", "x坐标", "横坐标", "东坐标"),
    "y": ("y", "northing", "north", "y坐标", "纵坐标", "北坐标"),
    "building": ("building_id", "building", "building_no", "building_name", "bldg", "楼栋号", "楼栋",
                 "楼号", "楼幢号", "楼幢", "幢号", "栋号", "幢", "栋", "楼栋名称", "建筑编号", "建筑名称",
                 "门牌号", "门牌"),
    "households": ("households", "household_count", "hh", "户数", "住户数", "总户数", "户"),
    "compound": ("compound", "community", "estate", "小区", "小区名称", "小区名", "院落", "楼盘"),
    "unit": ("unit", "单元", "单元号"),
    "room": ("room", "室", "室号", "房号", "门牌室号"),
    "household_id": ("household_id", "户号", "户编号", "住户编号"),
    "persons": ("persons", "people", "人数", "人口", "户籍人数", "居住人数"),
}


def header_key(name) -> str:
    """A header reduced for matching: NFKC, lower case, no spaces, underscores or hyphens.

    >>> header_key(" Building_ID "), header_key("户　数")
    ('buildingid', '户数')
    """
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return "".join(ch for ch in text if ch not in " _-\u3000")


def find_column(table, role: str, *, given: str | None = None, path=None):
    """The column of ``table`` that plays ``role`` (a key of :data:`ALIASES`), or ``None``.

    Parameters
    ----------
    table : DataFrame
        Any table; only its column names are read.
    role : str
        One of :data:`ALIASES`.
    given : str, optional
        A column the user named (e.g. ``--ledger-key 楼栋号``): it must exist.
    path : optional
        The file, named in the error when ``given`` is not a column.
    """
    columns = [c for c in table.columns if c != "geometry"]
    if given is not None:
        hits = [c for c in columns if c == given] or [c for c in columns if header_key(c) == header_key(given)]
        if not hits:
            raise InputError(f"{path or 'the table'}: has no column {given!r}; its columns are: "
                             f"{', '.join(map(str, columns))}")
        return hits[0]
    keys: dict = {}
    for c in columns:
        keys.setdefault(header_key(c), c)
    for alias in ALIASES[role]:
        if header_key(alias) in keys:
            return keys[header_key(alias)]
    return None
