"""Households per building, from one of three sources.

1. ``from_field``: a count the buildings already carry (``--households-field``).
2. ``from_points``: household points joined to the building that contains them, else to the
   nearest building within a tolerance (default 30 m); points matching no building are
   reported, never dropped silently.
3. ``estimate``: footprint area × floors ÷ gross floor area per household, used when nothing
   else is given (and said so in the output).

Estimate defaults (documented in the README):

- floors from the first of ``Floor``, ``floors``, ``levels``, ``building:levels``, else
  height ÷ 3 m, else :data:`DEFAULT_FLOORS`;
- :data:`FLOOR_AREA_PER_HOUSEHOLD` = 120 m² of gross floor area per household (a dwelling of
  about 90 m² at a 75 % net-to-gross ratio, typical of Chinese walk-ups and towers);
- buildings whose OSM ``building`` type is not residential (:data:`NON_RESIDENTIAL`) get 0;
- a residential footprint of at least :data:`MIN_DWELLING_FOOTPRINT` m² holds at least one
  household.
"""

from __future__ import annotations

import logging
import re

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import InputError, ValidationError

__all__ = [
    "FLOOR_AREA_PER_HOUSEHOLD",
    "DEFAULT_FLOORS",
    "FLOOR_HEIGHT",
    "NON_RESIDENTIAL",
    "MIN_DWELLING_FOOTPRINT",
    "FLAG_COLUMNS",
    "DEFAULT_MATCH_DISTANCE",
    "from_field",
    "estimate",
    "floors",
    "from_points",
]

logger = logging.getLogger(__name__)

FLOOR_AREA_PER_HOUSEHOLD = 120.0
DEFAULT_FLOORS = 2.0
FLOOR_HEIGHT = 3.0
MIN_DWELLING_FOOTPRINT = 30.0
DEFAULT_MATCH_DISTANCE = 30.0
#: OSM building types that house nobody (or nearly nobody); they get 0 estimated households.
NON_RESIDENTIAL = frozenset({
    "commercial", "industrial", "retail", "office", "warehouse", "school", "kindergarten",
    "university", "college", "hospital", "public", "civic", "government", "church", "temple",
    "mosque", "chapel", "cathedral", "shrine", "religious", "garage", "garages", "parking",
    "carport", "shed", "hut", "roof", "service", "transformer_tower", "train_station",
    "transportation", "supermarket", "kiosk", "sports_hall", "stadium", "hangar", "barn",
    "farm_auxiliary", "greenhouse", "construction", "ruins", "toilets", "bunker",
})
#: Household-point columns counted per building (plus any column named ``flag_*``).
FLAG_COLUMNS = ("elderly_alone", "disabled", "low_income", "ill")
_FLOOR_FIELDS = ("Floor", "floor", "floors", "Floors", "levels", "building:levels")


def from_field(buildings: gpd.GeoDataFrame, field: str, *, path: str) -> pd.Series:
    """Households from a count field; non-numeric, missing, negative or fractional values are errors."""
    if field not in buildings.columns:
        raise InputError(f"{path}: has no field {field!r} for the households; its fields are: "
                         f"{', '.join(c for c in buildings.columns if c != 'geometry')}")
    raw = buildings[field]
    values = pd.to_numeric(raw, errors="coerce")
    problems = []
    for mask, what in ((values.isna() & raw.notna(), "are not numbers"),
                       (raw.isna(), "are missing"),
                       (values < 0, "are negative"),
                       (values.notna() & (values % 1 != 0), "are not whole numbers")):
        if mask.any():
            shown = ", ".join(f"{i}={raw[i]!r}" if isinstance(raw[i], str) else f"{i}={raw[i]}"
                              for i in buildings.index[mask][:12])
            problems.append(f"{int(mask.sum())} value(s) of {field!r} {what}: {shown}")
    if problems:
        raise ValidationError(path, problems, hint=f"fix the {field!r} values, or leave out {{households_field}} "
                              "to estimate households from footprint area × floors")
    return values.astype("int64").rename("households")


def _numeric(s: pd.Series) -> pd.Series:
    # OSM levels can be "5;6" or "4.5"; take the first number
    return pd.to_numeric(s.astype(str).str.extract(r"(-?\d+(?:\.\d+)?)", expand=False), errors="coerce")


def floors(buildings: pd.DataFrame) -> tuple[pd.Series, str]:
    """Floors per building and a description of where they came from."""
    out = pd.Series(np.nan, index=buildings.index)
    used = []
    for f in _FLOOR_FIELDS:
        if f in buildings.columns:
            v = _numeric(buildings[f]).where(lambda x: x > 0)
            if v.notna().any():
                used.append(f)
            out = out.fillna(v)
    if "height" in buildings.columns:
        h = (_numeric(buildings["height"]) / FLOOR_HEIGHT).round().where(lambda x: x >= 1)
        if (out.isna() & h.notna()).any():
            used.append(f"height ÷ {FLOOR_HEIGHT:g} m")
        out = out.fillna(h)
    n_default = int(out.isna().sum())
    if n_default:
        used.append(f"default {DEFAULT_FLOORS:g} floors for {n_default} building(s)")
    return out.fillna(DEFAULT_FLOORS).clip(lower=1), ", ".join(used) or "defaults"


def estimate(buildings: gpd.GeoDataFrame) -> tuple[pd.Series, str]:
    """Estimate households from footprint area × floors (``buildings`` in a metric CRS).

    Returns
    -------
    households : Series of int64
    description : str
        How the estimate was made, for the output and the plan's metadata.
    """
    if buildings.crs is None or not buildings.crs.is_projected:
        raise InputError("household estimates need footprints in a projected metric CRS")
    n_floors, how = floors(buildings)
    area = buildings.geometry.area
    hh = np.round(area * n_floors / FLOOR_AREA_PER_HOUSEHOLD)
    residential = pd.Series(True, index=buildings.index)
    if "building" in buildings.columns:
        residential = ~buildings["building"].astype(str).str.lower().isin(NON_RESIDENTIAL)
    hh = hh.where(residential, 0)
    hh = hh.where(~(residential & (area >= MIN_DWELLING_FOOTPRINT) & (hh < 1)), 1)
    desc = (f"estimated: footprint area × floors ({how}) ÷ {FLOOR_AREA_PER_HOUSEHOLD:g} m² per household"
            + (f"; {int((~residential).sum())} non-residential building(s) counted as 0"
               if (~residential).any() else ""))
    return hh.astype("int64").rename("households"), desc


def _flag_columns(points: pd.DataFrame) -> list[str]:
    return [c for c in points.columns if c in FLAG_COLUMNS or re.match(r"^flag_", str(c))]


def _truthy(s: pd.Series) -> pd.Series:
    if s.dtype == bool:
        return s
    text = s.astype(str).str.strip().str.lower()
    return text.isin({"1", "true", "yes", "y", "t", "是"})


def from_points(buildings: gpd.GeoDataFrame, points: gpd.GeoDataFrame, *,
                max_distance: float = DEFAULT_MATCH_DISTANCE, path: str = "households"
                ) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Join household points to buildings and count them.

    Each point goes to the building that contains it; a point inside none goes to the nearest
    building within ``max_distance`` metres. Both inputs must be in the same metric CRS.

    Returns
    -------
    per_building : DataFrame
        Indexed like ``buildings``: ``households`` (points), ``persons`` (sum, when the points
        carry it) and one count column per flag.
    points : GeoDataFrame
        The points with ``building_id`` (missing where nothing matched) and ``match``
        (``inside``, ``nearest`` or ``unmatched``).
    """
    if buildings.crs is None or points.crs is None or buildings.crs != points.crs:
        raise InputError(f"{path}: household points and buildings must share one metric CRS")
    pts = points.copy()
    sindex = buildings.sindex
    inside_p, inside_b = sindex.query(pts.geometry.values, predicate="within")
    building_of = pd.Series(pd.NA, index=pts.index, dtype=object)
    match = pd.Series("unmatched", index=pts.index, dtype=object)
    # a point inside two overlapping footprints goes to the first one
    first = pd.Series(inside_b, index=inside_p).groupby(level=0).min()
    building_of.iloc[first.index.to_numpy()] = buildings.index[first.to_numpy()].to_numpy()
    match.iloc[first.index.to_numpy()] = "inside"
    rest = np.flatnonzero(match.to_numpy() == "unmatched")
    if len(rest):
        near_p, near_b = sindex.nearest(pts.geometry.values[rest], max_distance=max_distance,
                                               return_all=False)
        building_of.iloc[rest[near_p]] = buildings.index[near_b].to_numpy()
        match.iloc[rest[near_p]] = "nearest"
    pts["building_id"] = building_of
    pts["match"] = match
    unmatched = pts.index[match == "unmatched"]
    if len(unmatched):
        shown = ", ".join(map(str, unmatched[:12])) + (" …" if len(unmatched) > 12 else "")
        logger.warning("%s: %d household point(s) lie inside no building and more than %g m from "
                       "every building; they are kept in the plan's households layer unassigned: %s",
                       path, len(unmatched), max_distance, shown)
    matched = pts[match != "unmatched"]
    grouped = matched.groupby("building_id")
    per = pd.DataFrame(index=buildings.index)
    per["households"] = grouped.size().reindex(buildings.index, fill_value=0).astype("int64")
    if "persons" in pts.columns:
        per["persons"] = grouped["persons"].sum().reindex(buildings.index, fill_value=0).astype("int64")
    for col in _flag_columns(pts):
        name = col if str(col).startswith("flag_") else f"flag_{col}"
        counts = _truthy(matched[col]).groupby(matched["building_id"]).sum()
        per[name] = counts.reindex(buildings.index, fill_value=0).astype("int64")
    return per, pts
