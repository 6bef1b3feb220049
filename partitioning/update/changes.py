"""The change an update applies: household counts read from a ledger
(:func:`read_household_changes`), the locked grids named by id or code (:func:`resolve_locks`), and
the plan's buildings with the new counts, the demolished ones gone and the added ones in
(:func:`apply_changes`)."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd

from geo.errors import InputError, ids_text
from partitioning.hierarchy import EMERGENCY_COLUMN
from partitioning.settings import settings_error

__all__ = ["read_household_changes", "resolve_locks", "apply_changes"]

logger = logging.getLogger(__name__)


def read_household_changes(path, buildings: pd.DataFrame | None = None, *, key: str | None = None,
                           count: str | None = None, building_key: str | None = None, sheet=None,
                           encoding: str | None = None, notes: list | None = None) -> pd.Series:
    """Households by building from a ledger table: the same rule as ``gridplan partition --households``.

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8 or GBK) or spreadsheet with a building column (``building_id``, ``楼栋号`` …) and
        a households column (``households``, ``户数``), or one row per household (see
        :mod:`geo.ledger`).
    buildings : DataFrame, optional
        The plan's buildings: rows are matched to them by :func:`geo.ledger.match_ledger`
        (building numbers in any address form, or IDs). Without them, the building column is
        taken as building IDs as written.
    key, count, building_key, sheet, encoding
        See :func:`geo.ledger.read_ledger` and :func:`geo.ledger.match_ledger`.
    notes : list, optional
        Receives the ledger's summary and its rows that matched nothing (left out).

    Returns
    -------
    pandas.Series
        ``households`` (int64) indexed by ``building_id`` (str), for the buildings the table names.
    """
    from geo.ledger import ledger_households, read_ledger

    if buildings is None:
        ledger = read_ledger(path, key=key, count=count, sheet=sheet, encoding=encoding)
        ids = ledger.table[ledger.key].dropna().astype(str).str.strip()
        buildings = pd.DataFrame(index=pd.Index(sorted(set(ids) - {""}), name="building_id"))
        from geo.ledger import match_ledger

        match = match_ledger(ledger, buildings, building_key="building_id", others="keep the plan's households")
    else:
        match = ledger_households(path, buildings, key=key, count=count, building_key=building_key,
                                  sheet=sheet, encoding=encoding, others="keep the plan's households")
    if notes is not None:
        notes.extend(match.notes)
    return match.households


def resolve_locks(grids: gpd.GeoDataFrame, lock) -> set:
    """Grid ids of the locked grids, given by id or by code."""
    code_to_id = dict(zip(grids["grid_code"].astype(str), grids.index.astype(str)))
    locked = set()
    for item in lock:
        item = str(item).strip()
        if item in grids.index:
            locked.add(item)
        elif item in code_to_id:
            locked.add(code_to_id[item])
        elif item:
            raise settings_error(InputError, f"locked grid {item}: no grid with this id or code in the plan",
                                 "lock")
    return locked


def apply_changes(old: gpd.GeoDataFrame, buildings, households, unit_cols) -> tuple[gpd.GeoDataFrame, list, list]:
    """The plan's buildings with the new household counts, without the demolished buildings and with
    the added ones (their grid still empty)."""
    new = old.copy()
    added, demolished = [], []
    if buildings is not None:
        if "households" not in buildings.columns:
            raise InputError("the new buildings have no 'households' column")
        if buildings.crs is None:
            raise InputError("the new buildings have no CRS")
        if buildings.crs != old.crs:
            buildings = buildings.to_crs(old.crs)
        ids = buildings.index.astype(str)
        if ids.duplicated().any():
            raise InputError(f"building ids repeat in the new buildings: "
                             f"{ids_text(sorted(set(ids[ids.duplicated()])))}")
        buildings = buildings.set_axis(ids)
        demolished = sorted(set(old.index) - set(ids))
        added = sorted(set(ids) - set(old.index))
        extra = buildings.loc[added].drop(columns=["grid_id", "grid_code", EMERGENCY_COLUMN, *unit_cols],
                                          errors="ignore")
        extra = extra.rename_geometry(old.geometry.name) if extra.geometry.name != old.geometry.name else extra
        new = pd.concat([old.drop(index=demolished), extra[[c for c in extra.columns if c in old.columns]]])
        new = gpd.GeoDataFrame(new, geometry=old.geometry.name, crs=old.crs)
        new.index.name = "building_id"
        new["households"] = new["households"].astype("int64")
        if "households_source" in new.columns:
            new.loc[added, "households_source"] = new.loc[added, "households_source"].fillna("estimate")
    if households is not None:
        households = households.copy()
        households.index = households.index.astype(str)
        unknown = sorted(set(households.index) - set(new.index))
        if unknown:
            raise InputError(f"{len(unknown)} building id(s) with new households are not in the plan: {unknown[:10]}")
        new.loc[households.index, "households"] = households.astype("int64").to_numpy()
    return new, added, demolished
