"""The names people read: a grid's number, a building's name, address or place in its grid.

One rule for every page, table and message (web maps, grid pages, the editor and its refusals,
the version change table): grids by :func:`partitioning.codes.short_code` (what the maps label),
buildings by the name or address their data gives (:func:`geo.names.building_names`), else by
their number in their grid (:func:`partitioning.codes.building_numbers`: "344号网格第5栋", as the
grid page, the printed sheet and the editor number them).
Internal ids (``G0337``, ``B02508``) stay in exports and the API.
"""

from __future__ import annotations

import pandas as pd

from geo.names import building_names
from geo.plan import Plan
from maps.i18n import text
from partitioning.codes import building_numbers, short_code

__all__ = ["grid_number", "grid_numbers", "building_labels", "join"]


def grid_number(plan: Plan, grid_id) -> str:
    """The number people read for grid ``grid_id`` (its id itself when the plan has no such grid)."""
    gid = str(grid_id)
    codes = plan.grids["grid_code"]
    if gid in plan.grids.index:
        return short_code(codes.loc[gid], plan.meta.get("code_prefix"))
    return gid


def grid_numbers(plan: Plan) -> pd.Series:
    """:func:`grid_number` of every grid, indexed by ``grid_id``."""
    prefix = plan.meta.get("code_prefix")
    return plan.grids["grid_code"].astype(str).map(lambda c: short_code(c, prefix))


def building_labels(plan: Plan, building_ids, *, lang: str = "zh") -> dict:
    """How people know each building: its name or address, else "N号网格第k栋" (its grid's number
    and its number on the grid's page); an id the plan does not hold stays as given.

    Returns
    -------
    dict
        Label by building id (as given, in the order given).
    """
    ids = [str(b) for b in building_ids]
    buildings = plan.buildings
    index = buildings.index.astype(str)
    present = set(index)
    known = [b for b in ids if b in present]
    rows = buildings[index.isin(known)]
    names = building_names(rows)
    names.index = names.index.astype(str)
    out = {b: b for b in ids}
    unnamed = [b for b in known if names.get(b) is None]
    for b in known:
        if names.get(b) is not None:
            out[b] = names[b]
    if unnamed:
        grid_of = buildings["grid_id"].astype(str)
        grid_of.index = index
        for grid in dict.fromkeys(grid_of[unnamed]):
            members = buildings[(grid_of == grid).to_numpy()]
            numbers = building_numbers(members.geometry)
            numbers.index = numbers.index.astype(str)
            for b in unnamed:
                if grid_of[b] == grid:
                    out[b] = text("building_in_grid", lang).format(grid=grid_number(plan, grid), no=int(numbers[b]))
    return out


def join(words, lang: str = "zh") -> str:
    """A list as people write it: ``344、342`` in Chinese, ``344, 342`` in English."""
    return ("、" if lang == "zh" else ", ").join(map(str, words))
