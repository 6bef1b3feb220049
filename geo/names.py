"""What a building is called in its input data: a name, else an address.

Pages, tables and messages name a building by this when the data has it; its id (``B02508``,
``w322667424``) stays in exports and the API.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["NAME_FIELDS", "ADDRESS_FIELDS", "COMPOUND_FIELDS", "building_names"]

#: Columns holding a building's name, first found first (OSM ``name``, Chinese GIS ``名称``).
NAME_FIELDS = ("name", "名称", "建筑名称", "楼栋名称", "building_name")
#: Columns holding its address, when it has no name (OSM ``addr:*`` are joined: street + number).
ADDRESS_FIELDS = ("address", "地址", "addr:full", "addr")
#: Columns naming the residential compound (小区) a building is in: put before a name that lacks it
#: (``金星广场 A`` rather than ``A``).
COMPOUND_FIELDS = ("community", "小区", "compound")


def _blank(value) -> bool:
    return value is None or (np.ndim(value) == 0 and pd.isna(value)) or str(value).strip() in ("", "nan", "None")


def building_names(buildings: pd.DataFrame) -> pd.Series:
    """The name or address of every building, ``None`` where the data has neither.

    The first non-blank of :data:`NAME_FIELDS`, then of :data:`ADDRESS_FIELDS`, then OSM's
    ``addr:street`` + ``addr:housenumber`` (``人民路 12号``); the compound (:data:`COMPOUND_FIELDS`)
    goes first when the name does not hold it already.

    Returns
    -------
    pandas.Series
        Indexed like ``buildings`` (object dtype: str or None).

    Examples
    --------
    >>> df = pd.DataFrame({"name": ["金色年华1栋", "", None, "A"],
    ...                    "addr:street": [None, "人民路", None, None],
    ...                    "addr:housenumber": [None, "12号", None, None],
    ...                    "community": ["金色年华", None, "金色年华", "金星广场"]},
    ...                   index=["a", "b", "c", "d"])
    >>> building_names(df).to_dict()
    {'a': '金色年华1栋', 'b': '人民路 12号', 'c': None, 'd': '金星广场 A'}
    """
    columns = [buildings[f].to_numpy(dtype=object) for f in (*NAME_FIELDS, *ADDRESS_FIELDS) if f in buildings.columns]
    street = buildings["addr:street"].to_numpy(dtype=object) if "addr:street" in buildings.columns else None
    number = buildings["addr:housenumber"].to_numpy(dtype=object) if "addr:housenumber" in buildings.columns else None
    compound = next((buildings[f].to_numpy(dtype=object) for f in COMPOUND_FIELDS if f in buildings.columns), None)
    out = []
    for i in range(len(buildings)):
        found = next((str(c[i]).strip() for c in columns if not _blank(c[i])), None)
        if found is None and street is not None and not _blank(street[i]):
            found = str(street[i]).strip()
            if number is not None and not _blank(number[i]):
                found += f" {str(number[i]).strip()}"
        place = None if compound is None or _blank(compound[i]) else str(compound[i]).strip()
        if found is not None and place is not None and place not in found:
            found = f"{place} {found}"
        out.append(found)
    return pd.Series(out, index=buildings.index, dtype=object)
