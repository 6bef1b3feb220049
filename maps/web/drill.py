"""The units a plan is drilled down by: city → street → community → grid, with their figures.

A plan is drilled through its upper units, coarsest first, down to its grids. They come from the
first of these a plan has (:func:`plan_units`):

1. its ``levels`` layer (``gridplan partition --levels``; ``docs/hierarchy.md``);
2. unit columns of its buildings (:data:`UNIT_COLUMNS`: ``street_id`` then ``community_id`` as
   ``gridplan synth`` writes them, or a ``community`` field): a grid belongs to the unit most of its
   buildings are in, a unit's polygon is the union of its grids', its name that of the boundary of
   that id in the plan's ``boundaries`` layer;
3. its ``boundaries`` layer (``--boundary``): a grid belongs to the boundary holding it.

:func:`unit_figures` gives every unit's and grid's figures (households, grids, share within
tolerance, posts required/filled/missing from the people layer, special households as counts by
flag); :func:`unit_summary` what a drill page says of one unit, :func:`unit_document` that and the
unit's children (EPSG:4326, simplified for the
children's size, each with its figures). Nothing here knows URLs or who is looking: the app gives
the plan as the visitor may see it (``app.auth.visible_plan``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import to_datum
from geo.plan import Plan
from maps.i18n import text
from maps.web.geojson import display_geometry, to_lonlat
from maps.web.queries import flag_columns, status_text
from partitioning.codes import short_code
from partitioning.units import grid_majority

__all__ = ["UNIT_COLUMNS", "FIGURES", "Units", "plan_units", "unit_figures", "unit_summary", "unit_document",
           "unit_buildings", "drill_map", "level_text", "display_tolerance"]

logger = logging.getLogger(__name__)

#: Building columns read as upper levels when a plan has no ``levels`` layer: (level, columns), coarsest first.
UNIT_COLUMNS = (("street", ("street_id", "street")), ("community", ("community_id", "community")))
#: The figures of a unit or grid, in the order the drill table shows them.
FIGURES = ("households", "grids", "balance", "posts_required", "posts_filled", "posts_missing", "special")


@dataclass(frozen=True)
class Units:
    """A plan's upper units.

    Attributes
    ----------
    levels : tuple of str
        Level names, coarsest first (the grids are below the last).
    units : GeoDataFrame
        Indexed by ``key`` (``<level>/<id>``, unique): ``level``, ``code`` (what people read and
        URLs carry), ``name`` (or ``None``), ``parent`` (key of the unit above, ``""`` at the top);
        geometry in the plan's metric CRS.
    grid_unit : Series
        The key of each grid's unit of the last level, by ``grid_id`` (str).
    """

    levels: tuple
    units: gpd.GeoDataFrame
    grid_unit: pd.Series

    def by_code(self, code: str) -> str | None:
        """The key of the unit whose code (or key) is ``code``; ``None`` when there is none."""
        hit = self.units.index[self.units["code"] == code]
        if len(hit):
            return str(hit[0])
        return code if code in self.units.index else None

    def children(self, key: str | None) -> tuple[str, list]:
        """The level below unit ``key`` (the top level for ``None``; ``"grid"`` below the last
        level) and the keys (or grid ids) of the unit's children, in code order."""
        if key is not None and self.units.at[key, "level"] == self.levels[-1]:
            grids = self.grid_unit.index[self.grid_unit == key]
            return "grid", sorted(map(str, grids))
        below = self.levels[0] if key is None else self.levels[self.levels.index(self.units.at[key, "level"]) + 1]
        rows = self.units[(self.units["level"] == below) & (self.units["parent"] == (key or ""))]
        return below, list(rows.sort_values("code").index.astype(str))

    def trail(self, key: str | None) -> list[str]:
        """The keys from the top level down to ``key`` (the breadcrumbs)."""
        out = []
        while key:
            out.append(key)
            key = self.units.at[key, "parent"] or None
        return out[::-1]


def plan_units(plan: Plan) -> Units | None:
    """The upper units of ``plan`` (see the module's note); ``None`` for a plan without any."""
    levels = plan.layers.get("levels")
    if levels is not None and len(levels):
        return _from_levels(plan, levels)
    cols = [(level, next(c for c in names if c in plan.buildings.columns)) for level, names in UNIT_COLUMNS
            if any(c in plan.buildings.columns for c in names)]
    if cols:
        return _from_columns(plan, cols)
    bounds = plan.layers.get("boundaries")
    if bounds is not None and len(bounds):
        return _from_boundaries(plan, bounds)
    return None


def _from_levels(plan: Plan, layer: gpd.GeoDataFrame) -> Units:
    names = list(dict.fromkeys(layer["level"].astype(str)))
    parents = []
    for lv, parent in zip(layer["level"].astype(str), layer["parent_id"]):
        at = names.index(lv)
        blank = parent is None or parent != parent or str(parent) == ""
        parents.append("" if at == 0 or blank else f"{names[at - 1]}/{parent}")
    units = gpd.GeoDataFrame({"level": layer["level"].astype(str).to_numpy(),
                              "code": layer["unit_code"].astype(str).to_numpy(),
                              "name": [None if n is None or n != n or str(n) == "" else str(n) for n in layer["name"]],
                              "parent": parents},
                             geometry=layer.geometry.to_numpy(), crs=layer.crs,
                             index=pd.Index((layer["level"].astype(str) + "/" + layer["unit_id"].astype(str)).to_numpy(),
                                            name="key"))
    last = names[-1]
    if f"unit_{last}" in plan.buildings.columns:
        grid_unit = f"{last}/" + grid_majority(plan.buildings, f"unit_{last}")
    else:  # a layer without the buildings' unit columns: the unit holding each grid
        grid_unit = _holding(plan, units[units["level"] == last])
    return Units(tuple(names), units, grid_unit)


def _holding(plan: Plan, units: gpd.GeoDataFrame) -> pd.Series:
    """The key of the unit (of ``units``) holding each grid's representative point, by ``grid_id`` (str)."""
    points = plan.grids.geometry.representative_point().to_numpy()
    g, u = shapely.STRtree(units.geometry.to_numpy()).query(points, predicate="within")
    found = pd.Series(units.index.to_numpy()[u], index=plan.grids.index.astype(str).to_numpy()[g])
    return found[~found.index.duplicated()]


def _union(polygons) -> shapely.Geometry:
    """The union of polygons that tile an area: as a coverage (fast), or by overlay where they are not
    noded as one (units planned apart meet with slivers)."""
    try:
        return shapely.coverage_union_all(polygons)
    except shapely.errors.GEOSException:
        return shapely.union_all(polygons)


def _from_columns(plan: Plan, cols: list) -> Units:
    """Units from building columns, the last level first: a unit's polygon is the union of its
    children's (the grids' for the last level), its name its boundary's (``boundaries`` layer)."""
    grids = plan.grids
    gid = grids.index.astype(str)
    of = {level: grid_majority(plan.buildings, col).reindex(gid).fillna("") for level, col in cols}
    bounds = plan.layers.get("boundaries")
    named = {} if bounds is None else dict(zip(bounds.index.astype(str), bounds["name"]))
    rows: list = []
    parts: dict = {}  # key → the polygons of its children
    geoms = grids.geometry.to_numpy()
    for i in reversed(range(len(cols))):
        level = cols[i][0]
        mine = of[level].to_numpy()
        parents = {}  # code → the unit of the level above most of its grids are in
        if i:
            pairs = pd.DataFrame({"unit": mine, "above": of[cols[i - 1][0]].to_numpy()})
            counts = pairs.value_counts().reset_index().sort_values(["unit", "count", "above"],
                                                                    ascending=[True, False, True])
            parents = dict(counts.drop_duplicates("unit")[["unit", "above"]].itertuples(index=False))
        for code, at in pd.Series(mine).groupby(mine).indices.items():
            if code == "":
                continue
            key = f"{level}/{code}"
            parent = parents.get(code, "")
            name = named.get(code) if level == "community" else None
            geom = _union(parts[key] if key in parts else geoms[at])
            parent_key = f"{cols[i - 1][0]}/{parent}" if parent else ""
            parts.setdefault(parent_key, []).append(geom)
            rows.append({"key": key, "level": level, "code": code, "parent": parent_key,
                         "name": None if name is None or name != name else str(name), "geometry": geom})
    units = gpd.GeoDataFrame(rows[::-1], geometry="geometry", crs=grids.crs).set_index("key")
    last = cols[-1][0]
    grid_unit = of[last][of[last] != ""]
    return Units(tuple(level for level, _ in cols), units, f"{last}/" + grid_unit)


def _from_boundaries(plan: Plan, bounds: gpd.GeoDataFrame) -> Units:
    ids = bounds.index.astype(str)
    units = gpd.GeoDataFrame({"level": "community", "code": ids.to_numpy(),
                              "name": [None if n is None or n != n else str(n) for n in bounds.get("name", [None] * len(ids))],
                              "parent": ""}, geometry=bounds.geometry.to_numpy(), crs=bounds.crs,
                             index=pd.Index("community/" + ids, name="key"))
    return Units(("community",), units, _holding(plan, units))


def _grid_posts(plan: Plan) -> pd.DataFrame | None:
    """Posts required, filled and missing per grid from the people layer and the staffing template of
    the plan's last ``gridplan people assign``; ``None`` without them."""
    from partitioning.people.staffing import gaps, get_template, load_templates

    staffing, people = plan.meta.get("staffing") or {}, plan.layers.get("people")
    if people is None or not staffing.get("template"):
        return None
    found = load_templates()
    table = gaps(plan.buildings, plan.grids, get_template(found, staffing["template"]), people, staffing=found)
    return table.groupby("grid_id")[["required", "filled", "missing"]].sum()


def unit_figures(plan: Plan, units: Units) -> pd.DataFrame:
    """The figures of every grid (indexed by ``grid_id``) and every unit (by key), as the plan given shows them.

    Columns: ``households``, ``grids``, ``balance`` (share of the non-oversize grids within tolerance, as
    in :func:`partitioning.metrics.partition_metrics`; ``NaN`` for none), ``posts_required``,
    ``posts_filled``, ``posts_missing`` (``NaN`` without staffing), one ``flag_*`` column per special
    household flag the plan shows (counts; a public visitor's plan has none).
    """
    grids = plan.grids
    gid = grids.index.astype(str)
    status = grids["status"].astype(str).to_numpy()
    f = pd.DataFrame({"households": grids["households"].astype("int64").to_numpy(), "grids": 1,
                      "within": (status == "ok").astype(int), "normal": (status != "oversize").astype(int)},
                     index=gid)
    posts = _grid_posts(plan)
    for col in ("required", "filled", "missing"):
        f[f"posts_{col}"] = np.nan if posts is None else posts[col].reindex(gid).fillna(0).to_numpy()
    flags = flag_columns(plan.buildings)
    if flags:
        counts = plan.buildings[flags].apply(pd.to_numeric, errors="coerce").fillna(0)
        f[flags] = counts.groupby(plan.buildings["grid_id"].astype(str)).sum().reindex(gid).fillna(0).astype("int64")
    sums = []
    level_of_grid = units.grid_unit.reindex(gid)
    while level_of_grid.notna().any():
        part = f[level_of_grid.notna().to_numpy()].groupby(level_of_grid.dropna().to_numpy()).sum(min_count=1)
        sums.append(part)
        parents = units.units["parent"].replace("", np.nan)
        level_of_grid = level_of_grid.map(parents)
    out = pd.concat([f, *sums, f.sum(min_count=1).to_frame("").T])  # "": the whole plan
    out["balance"] = out["within"] / out["normal"].replace(0, np.nan)
    return out.drop(columns=["within", "normal"])


def display_tolerance(geoms: gpd.GeoSeries) -> float:
    """Metres the outlines of ``geoms`` (metric CRS) are simplified by for display: a fiftieth of a
    typical one's width, 1–25 m."""
    size = float(np.median(np.sqrt(geoms.area))) if len(geoms) else 50.0
    return float(np.clip(size / 50.0, 1.0, 25.0))


def _row(figures: pd.DataFrame, key: str) -> dict:
    r = figures.loc[key]
    out: dict = {k: None if pd.isna(r[k]) else (float(r[k]) if k == "balance" else int(r[k]))
           for k in FIGURES if k != "special"}
    out["special"] = {c[5:]: int(r[c]) for c in figures.columns if c.startswith("flag_") and r[c] > 0}
    return out


def _unit_text(units: Units, key: str, lang: str) -> dict:
    u = units.units.loc[key]
    name = None if pd.isna(u["name"]) else str(u["name"])
    return {"level": u["level"], "level_text": level_text(u["level"], lang), "code": u["code"], "name": name}


def level_text(level: str, lang: str) -> str:
    """A level's name in words (its own name when the words have none)."""
    word = text(f"level_{level}", lang)
    return level if word == f"level_{level}" else word


def unit_summary(plan: Plan, units: Units, figures: pd.DataFrame, key: str | None, *, lang: str = "zh",
                 datum: str = "wgs84") -> dict:
    """What a drill page says of unit ``key`` (the whole plan for ``None``) without drawing its children.

    Returns
    -------
    dict
        ``unit`` (``level``, ``level_text``, ``code``, ``name`` and figures; ``None`` at the top),
        ``trail`` (the units above and this one, from the top: ``level``, ``level_text``, ``code``,
        ``name``), ``child_level`` (``"grid"`` below the last level), ``child_level_text``,
        ``count`` (of children), ``totals`` (figures of the whole plan or unit), ``buildings``
        (whether the unit's buildings are served: a unit of the last level) and ``bounds``
        (``[west, south, east, north]`` in ``datum``).
    """
    child_level, keys = units.children(key)
    extent = (plan.grids if key is None else units.units.loc[[key]]).total_bounds
    totals = _row(figures, key or "")
    box = gpd.GeoDataFrame(geometry=[shapely.box(*extent)], crs=plan.grids.crs)
    return {"unit": None if key is None else {**_unit_text(units, key, lang), **totals},
            "trail": [_unit_text(units, k, lang) for k in units.trail(key)],
            "child_level": child_level,
            "child_level_text": text("grids", lang) if child_level == "grid" else level_text(child_level, lang),
            "count": len(keys), "totals": totals, "buildings": child_level == "grid",
            "bounds": [round(float(v), 6) for v in to_datum(to_lonlat(box), datum).total_bounds]}


def unit_document(plan: Plan, units: Units, figures: pd.DataFrame, key: str | None, *, lang: str = "zh",
                  datum: str = "wgs84") -> dict:
    """:func:`unit_summary` and the unit's ``children``: a GeoJSON FeatureCollection (EPSG:4326, in
    ``datum``) whose features carry ``code``, ``name``, ``level`` and the figures of :data:`FIGURES`
    (grids also ``number``, ``status`` and ``status_text``), simplified by :func:`display_tolerance`
    of the children (grid outlines never crossing a building)."""
    child_level, keys = units.children(key)
    if child_level == "grid":
        grids = plan.grids.loc[plan.grids.index.astype(str).isin(keys)]
        frame = grids[["grid_code", "status", "geometry"]].copy()
        frame.index = frame.index.astype(str)
        prefix = plan.meta.get("code_prefix")
        frame = frame.assign(code=frame["grid_code"].astype(str), name=None, level="grid",
                             number=[short_code(c, prefix) for c in frame["grid_code"].astype(str)],
                             status_text=[status_text(s, lang) for s in frame["status"].astype(str)])
        frame = frame.drop(columns=["grid_code"])
        keep = plan.buildings.geometry.iloc[plan.buildings.sindex.query(shapely.box(*frame.total_bounds))] \
            if len(frame) else None
    else:
        frame = units.units.loc[keys, ["code", "name", "level", "geometry"]].copy()
        keep = None
    tolerance = display_tolerance(frame.geometry)
    shown = to_datum(display_geometry(frame, tolerance=tolerance, coverage=True, keep=keep), datum)
    feats = json.loads(shown.to_json(drop_id=True, ensure_ascii=False))["features"]
    for feat, k in zip(feats, frame.index):
        feat["properties"].update(_row(figures, k))
    return {**unit_summary(plan, units, figures, key, lang=lang, datum=datum),
            "children": {"type": "FeatureCollection", "features": feats}}


def unit_buildings(plan: Plan, units: Units, key: str) -> Plan:
    """``plan`` with only the buildings of the grids of unit ``key`` (one of the last level), for
    :func:`maps.web.geojson.layer_geojson`."""
    _, grids = units.children(key)
    b = plan.buildings[plan.buildings["grid_id"].astype(str).isin(grids)]
    return Plan(buildings=b, grids=plan.grids, meta=plan.meta, layers=plan.layers)


def drill_map(bounds, *, lang: str = "zh", basemap: str = "none", basemap_key: str | None = None,
              tiles_url: str | None = None, tiles_attribution: str | None = None, asset_base: str | None = None):
    """The drill page's map: basemap and controls fitted to ``bounds`` (``[west, south, east, north]``
    in the basemap's datum), without layers; the page's script (``app/static/drill.js``) draws the
    unit's children from :func:`unit_document` and finds the map by its folium name. Parameters as
    :func:`maps.web.pages.community_map`.

    Returns
    -------
    folium.Map
    """
    from maps.web.assets import use_assets
    from maps.web.basemaps import base_map

    fmap = base_map(bounds, lang=lang, basemap=basemap, basemap_key=basemap_key, tiles_url=tiles_url,
                    tiles_attribution=tiles_attribution)
    use_assets(fmap, asset_base, lang=lang)
    return fmap
