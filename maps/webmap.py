"""Interactive web maps of a plan, drawn with folium (Leaflet).

Two maps are drawn here, and the data behind them:

- :func:`community_map` — every grid filled with a colour no neighbour shares (greedy graph
  colouring of the grid adjacency), labelled with its code; a click opens the grid's page;
- :func:`grid_map` — one grid's battle map (作战图): its boundary, its buildings numbered with
  their households, the neighbouring grids greyed with their codes;
- :func:`grid_card`, :func:`search_plan`, :func:`layer_geojson` — the figures, the people and the
  GeoJSON that the web pages and the API show.

The plan's metric geometry is transformed to EPSG:4326 (or shifted to GCJ-02 for a basemap in
that datum) at the map's boundary, and nowhere else. Every JavaScript and CSS file a map loads
comes from :data:`WEB_ASSETS`: pinned npm packages, served from the app's vendored copies
(``asset_base``, offline: the default of ``gridplan serve``), inlined into the page
(``inline_from``: the self-contained file of ``gridplan map``), or fetched from the npm CDN
(``--online``). Every map carries a small script of its own, run before any other, that shows a
notice (in the map's language) when a script or style sheet did not load, so that a page never
stays blank without a word; a map without basemap says so in a note.
"""

from __future__ import annotations

import functools
import base64
import html
import logging
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.names import building_names, building_order
from geo.plan import Plan
from maps.i18n import text

__all__ = [
    "PALETTE", "WEB_ASSETS", "VENDOR_EXTRA", "BASEMAPS", "Basemap", "basemap_datum", "asset_url",
    "grid_adjacency", "grid_colours", "display_geometry", "round_lonlat", "to_lonlat", "to_datum",
    "plan_map", "community_map", "grid_map", "editor_map",
    "plan_layouts", "layout_grids", "plan_people", "withhold_people", "person_text", "escalation_of",
    "community_office", "find_grid", "grid_card", "search_plan", "layer_geojson",
]

logger = logging.getLogger(__name__)

#: Fill colours (ColorBrewer Set3, readable under dark outlines); neighbours never share one.
PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")

#: Every browser asset a map uses: name → (npm package, version, file in the package).
WEB_ASSETS = {
    "leaflet.js": ("leaflet", "1.9.4", "dist/leaflet.js"),
    "leaflet.css": ("leaflet", "1.9.4", "dist/leaflet.css"),
    "fullscreen.js": ("leaflet.fullscreen", "3.0.0", "Control.FullScreen.js"),
    "fullscreen.css": ("leaflet.fullscreen", "3.0.0", "Control.FullScreen.css"),
    "measure.js": ("leaflet-measure", "3.1.0", "dist/leaflet-measure.js"),
    "measure.zh.js": ("leaflet-measure", "3.1.0", "dist/leaflet-measure.cn.js"),
    "measure.css": ("leaflet-measure", "3.1.0", "dist/leaflet-measure.css"),
    "locate.js": ("leaflet.locatecontrol", "0.66.2", "dist/L.Control.Locate.min.js"),
    "locate.css": ("leaflet.locatecontrol", "0.66.2", "dist/L.Control.Locate.min.css"),
    "fontawesome.css": ("@fortawesome/fontawesome-free", "6.2.0", "css/all.min.css"),
}
#: Files the packages' CSS refers to (icons, fonts), vendored beside the assets.
VENDOR_EXTRA = {
    "leaflet": ("dist/images",),
    "leaflet.fullscreen": ("icon-fullscreen.svg",),
    "leaflet-measure": ("dist/assets",),
    "@fortawesome/fontawesome-free": ("webfonts", "LICENSE.txt"),
}
# folium's own link names → our asset (None: not needed by these maps, left out; a language's own
# build, "name.zh.js", is taken for Chinese maps when there is one)
_FOLIUM_LINKS = {
    "leaflet": "leaflet.js", "leaflet_css": "leaflet.css",
    "jquery": None, "bootstrap": None, "awesome_markers": None, "bootstrap_css": None,
    "glyphicons_css": None, "awesome_markers_css": None, "awesome_rotate_css": None,
    "awesome_markers_font_css": "fontawesome.css",
    "Control.Fullscreen.js": "fullscreen.js", "Control.FullScreen.css": "fullscreen.css",
    "leaflet_measure_js": "measure.js", "leaflet_measure_css": "measure.css",
    "Control_locate_min_js": "locate.js", "Control_locate_min_css": "locate.css",
}
_CDN = "https://cdn.jsdelivr.net/npm"


def asset_url(name: str, *, base: str | None = None) -> str:
    """URL of a :data:`WEB_ASSETS` file: on the npm CDN, or under ``base`` (vendored copies)."""
    package, version, path = WEB_ASSETS[name]
    return f"{base or _CDN}/{package}@{version}/{path}"


@dataclass(frozen=True)
class Basemap:
    """A basemap: tile layers (base, then annotation overlays), attribution and datum."""

    key: str
    label_zh: str
    label_en: str
    tiles: tuple = ()          # (url template, layer name) pairs; ``{key}`` is the API key
    attribution: str = ""
    subdomains: str = "abc"
    datum: str = "wgs84"        # "gcj02": overlays are shifted to match the tiles
    needs_key: bool = False
    max_zoom: int = 19

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


_TDT = ("https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=%s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk={key}")
_TDT_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'

#: Basemaps by the key used in configuration and on the command line.
BASEMAPS = {
    "osm": Basemap("osm", "OpenStreetMap", "OpenStreetMap",
                   (("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "OpenStreetMap"),),
                   '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
                   subdomains="abc"),
    "tianditu-vec": Basemap("tianditu-vec", "天地图 矢量", "Tianditu vector",
                            ((_TDT % ("vec", "vec"), "vec"), (_TDT % ("cva", "cva"), "cva")),
                            _TDT_ATTR, subdomains="01234567", needs_key=True, max_zoom=18),
    "tianditu-img": Basemap("tianditu-img", "天地图 影像", "Tianditu imagery",
                            ((_TDT % ("img", "img"), "img"), (_TDT % ("cia", "cia"), "cia")),
                            _TDT_ATTR, subdomains="01234567", needs_key=True, max_zoom=18),
    "amap": Basemap("amap", "高德地图 (GCJ-02)", "Amap (GCJ-02)",
                    (("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                      "&style=8&x={x}&y={y}&z={z}", "amap"),),
                    "&copy; 高德地图 AutoNavi", subdomains="1234", datum="gcj02", max_zoom=18),
    "intranet": Basemap("intranet", "内网底图", "Intranet tiles", (("{url}", "intranet"),)),
    "none": Basemap("none", "无底图", "No basemap"),
}


def basemap_datum(basemap: str) -> str:
    """The datum a basemap's tiles are drawn in (``gcj02`` for Amap, else ``wgs84``)."""
    return BASEMAPS[basemap].datum if basemap in BASEMAPS else "wgs84"


def grid_adjacency(grids: gpd.GeoDataFrame, *, tolerance: float = 0.05) -> nx.Graph:
    """Grids that share a boundary (or come within ``tolerance`` metres) are neighbours."""
    graph = nx.Graph()
    graph.add_nodes_from(grids.index)
    geoms = np.asarray(grids.geometry.values)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=tolerance)
    keep = left < right
    graph.add_edges_from(zip(grids.index[left[keep]], grids.index[right[keep]]))
    return graph


def grid_colours(grids: gpd.GeoDataFrame) -> dict:
    """A colour per grid, different from every neighbour's (deterministic)."""
    graph = grid_adjacency(grids)
    # largest-first greedy colouring; ties broken by grid id for a stable result
    order = sorted(graph.nodes, key=lambda n: (-graph.degree(n), str(n)))
    colour_of: dict = {}
    for node in order:
        used = {colour_of[m] for m in graph.neighbors(node) if m in colour_of}
        colour_of[node] = next(i for i in range(len(graph) + 1) if i not in used)
    n_colours = max(colour_of.values(), default=0) + 1
    if n_colours > len(PALETTE):
        logger.warning("grid colouring needs %d colours; the palette has %d, so a few neighbours may "
                       "share a colour", n_colours, len(PALETTE))
    return {g: PALETTE[c % len(PALETTE)] for g, c in colour_of.items()}


@functools.lru_cache(maxsize=32)
def _lonlat_transformer(crs):
    """A transformer from ``crs`` to longitude/latitude, made from the PROJ pipeline that
    ``Transformer.from_crs`` chooses: in every new thread (each request of the threaded
    development server) a ``from_crs`` transformer searches PROJ's database again, about 80 ms;
    one made from its pipeline does not (under 1 ms)."""
    import pyproj

    chosen = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    try:
        return pyproj.Transformer.from_pipeline(chosen.definition)
    except pyproj.exceptions.ProjError:  # an operation without a pipeline form: the search it is
        return chosen


def to_lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:4326 (longitude, latitude): what ``to_crs(4326)`` gives, without PROJ's
    per-thread search (see :func:`_lonlat_transformer`)."""
    if gdf.crs is None:
        raise ValueError("the geometry has no CRS")
    if gdf.crs.equals(4326):
        return gdf
    transformer = _lonlat_transformer(gdf.crs)

    def _transform(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    geoms = shapely.transform(np.asarray(gdf.geometry.values), _transform)
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=4326))


def display_geometry(gdf: gpd.GeoDataFrame, *, tolerance: float, coverage: bool = False,
                     keep: gpd.GeoSeries | None = None) -> gpd.GeoDataFrame:
    """Lighten geometry for display in EPSG:4326 (the plan itself is never changed).

    Simplifies in the plan's metric CRS — as a coverage (shared edges stay shared) for grid
    polygons — then rounds longitude/latitude to 6 decimals (about 0.1 m). With ``keep`` (the
    buildings' footprints), a simplified grid outline never crosses a building: see
    :func:`_keep_whole`.
    """
    geoms = np.asarray(gdf.geometry.values)
    simple = (shapely.coverage_simplify(geoms, tolerance) if coverage
              else shapely.simplify(geoms, tolerance, preserve_topology=True))
    if keep is not None:
        simple = _keep_whole(geoms, simple, np.asarray(keep.values))
    return round_lonlat(to_lonlat(gdf.set_geometry(gpd.GeoSeries(simple, index=gdf.index, crs=gdf.crs))))


def round_lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Round EPSG:4326 geometry to 6 decimals (about 0.1 m), the precision the pages send.

    Shared vertices stay shared, so a coverage keeps no gap; a thin spike that rounding folds onto
    itself is repaired (``make_valid``) so that every polygon stays valid.
    """
    rounded = shapely.transform(np.asarray(gdf.geometry.values), lambda xy: np.round(xy, 6))
    broken = ~shapely.is_valid(rounded)
    rounded[broken] = shapely.make_valid(rounded[broken], method="structure", keep_collapsed=False)
    return gdf.set_geometry(gpd.GeoSeries(rounded, index=gdf.index, crs=4326))


def to_datum(gdf: gpd.GeoDataFrame, datum: str) -> gpd.GeoDataFrame:
    """Shift EPSG:4326 geometry to the basemap's datum (GCJ-02 for Amap tiles)."""
    if datum == "wgs84" or gdf.empty:
        return gdf
    import prcoords

    def _shift(xy: np.ndarray) -> np.ndarray:
        uniq, inv = np.unique(xy, axis=0, return_inverse=True)
        out = np.array([(c.lon, c.lat) for c in (prcoords.wgs_gcj((lat, lon)) for lon, lat in uniq)])
        return np.round(out, 6)[inv.ravel()]

    geoms = shapely.transform(np.asarray(gdf.geometry.values), _shift)
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=4326))


def _status_text(status: str, lang: str) -> str:
    return text(f"status_{status}", lang)


# --- what the pages show -------------------------------------------------------------------

def plan_layouts(plan: Plan) -> dict:
    """The layouts and levels a plan offers (see ``docs/hierarchy.md``).

    Returns
    -------
    dict
        ``layouts``: ``["normal"]``, plus ``"emergency"`` when the plan has a
        ``grids_emergency`` layer; ``levels``: the upper levels of its ``levels`` layer,
        coarsest first (empty for a flat plan); ``grid_level``: the name of the grids' own level.
    """
    layouts = ["normal"] + (["emergency"] if "grids_emergency" in plan.layers else [])
    units = plan.layers.get("levels")
    levels = list(dict.fromkeys(units["level"].astype(str))) if units is not None and len(units) else []
    return {"layouts": layouts, "levels": levels, "grid_level": plan.meta.get("grid_level") or "grid"}


def layout_grids(plan: Plan, *, layout: str = "normal", level: str | None = None) -> gpd.GeoDataFrame:
    """The polygons a community map shows: the grids of a layout, or the units of an upper level.

    Parameters
    ----------
    plan : geo.plan.Plan
    layout : {"normal", "emergency"}
        The plan's grids, or its ``grids_emergency`` layer (each inside one normal grid).
    level : str, optional
        An upper level of the ``levels`` layer: its units instead of grids (the layout does not
        change them).

    Returns
    -------
    GeoDataFrame
        ``grid_code``, ``households``, ``n_buildings``, ``status`` and ``link`` — the code of the
        (normal) grid whose page a click opens: the grid itself, an emergency grid's parent, none
        for an upper level's unit.
    """
    cols = ["grid_code", "households", "n_buildings", "status", "geometry"]
    if level is not None:
        units = plan.layers["levels"]
        units = units[units["level"].astype(str) == str(level)].set_index("unit_id")
        out = units.rename(columns={"unit_code": "grid_code"})[cols]
        return out.assign(link=None)
    if layout == "emergency":
        grids = plan.layers["grids_emergency"]
        return grids[cols].assign(link=grids["parent_grid_id"].map(plan.grids["grid_code"]).astype(str))
    return plan.grids[cols].assign(link=plan.grids["grid_code"].astype(str))


def find_grid(plan: Plan, code: str):
    """The ``grid_id`` whose ``grid_code`` (or id) is ``code``; ``None`` when there is none."""
    hit = plan.grids.index[plan.grids["grid_code"].astype(str) == code]
    if len(hit):
        return hit[0]
    return code if code in plan.grids.index else None


def plan_people(plan: Plan, *, withheld_as: str | None = None) -> pd.DataFrame:
    """The plan's ``people`` layer (grid_id, building_id, role, name, phone, role_label, withheld),
    or an empty one.

    ``role`` is one of ``grid_leader``, ``grid_worker``, ``police``, ``building_leader``,
    ``volunteer`` (as in :mod:`maps.wallmap`'s roster); a row with a ``building_id`` belongs
    to that building, one without to the grid. ``withheld`` is true for a post whose holder's name
    is hidden from the visitor (:func:`withhold_people`): the post is filled, the name is not shown;
    ``withheld_as`` (e.g. ``text("name_withheld", lang)``) is then put in its ``name``, for a
    printed sheet that shows names as they are.
    """
    cols = ["grid_id", "building_id", "role", "name", "phone", "role_label", "withheld"]
    people = plan.layers.get("people")
    if people is None or len(people) == 0:
        return pd.DataFrame(columns=cols)
    people = pd.DataFrame(people).reset_index()
    people = people[[c for c in cols if c in people.columns]].reindex(columns=cols)
    people["withheld"] = [w is True or str(w).lower() in ("true", "1") for w in people["withheld"]]
    if withheld_as is not None:
        people.loc[people["withheld"], "name"] = withheld_as
    return people


def withhold_people(people: pd.DataFrame) -> pd.DataFrame:
    """The posts of a ``people`` layer without who holds them: one row per filled post (grid,
    building, role, the template's label), ``name`` and ``phone`` empty, ``withheld`` true.

    What an anonymous visitor of the public map is given (``app.auth.visible_plan``): pages then
    say "网格长 已指定（姓名不公开）" for an assigned post and "未指定" only for an empty one.
    """
    frame = pd.DataFrame(people)
    if "grid_id" in frame.columns:
        frame = frame[frame["grid_id"].notna() & (frame["grid_id"].astype(str) != "")]
    keep = [c for c in ("grid_id", "building_id", "role", "template_role", "role_label") if c in frame.columns]
    return frame[keep].assign(name=None, phone=None, withheld=True).reset_index(drop=True)


def person_text(name, lang: str, *, withheld: bool = False) -> str:
    """A post holder's name as shown: the name, or "已指定（姓名不公开）" when it is withheld."""
    if withheld and _blank(name):
        return text("name_withheld", lang)
    return "" if _blank(name) else str(name)


def escalation_of(plan: Plan, grid_id) -> list:
    """The grid's escalation chain (网格吹哨、部门报到): the plan's ``escalation`` metadata for the
    grid's community (the most common ``community`` of its buildings), else ``"*"``; a list of
    ``{level, role, name, phone}`` (empty when the plan has none)."""
    from partitioning.people.staffing import grid_communities

    chains = plan.meta.get("escalation") or {}
    if not chains:
        return []
    community = grid_communities(plan.buildings, plan.grids.loc[[grid_id]]).iloc[0]
    return [dict(c) for c in chains.get(community) or chains.get("*") or []]


def community_office(plan: Plan, grid_id) -> dict | None:
    """The community office a resident can call about the grid: the first community-level entry
    (``level`` 社区 or ``community``) of its escalation chain with a phone, as ``{name, role,
    phone}``; ``None`` without one. Office numbers are not personal data: shown to everyone."""
    for c in escalation_of(plan, grid_id):
        if str(c.get("level", "")).strip().lower() in ("社区", "community") and not _blank(c.get("phone")):
            return {k: None if _blank(c.get(k)) else str(c[k]) for k in ("name", "role", "phone")}
    return None


def _blank(value) -> bool:
    """None, NaN, pandas' NA or empty text."""
    return value is None or (np.ndim(value) == 0 and pd.isna(value)) or str(value).strip() == ""


def _role_text(role, lang: str, label=None) -> str:
    """The role's words; a staffing template's own Chinese label (e.g. 第一网格长) on Chinese pages."""
    if lang == "zh" and not _blank(label):
        return str(label)
    return text(f"role_{role}", lang) if not _blank(role) else ""


def _reading_order(geoms: gpd.GeoSeries, *, band: float = 20.0) -> list:
    """Index of ``geoms`` in reading order: rows of ``band`` metres north→south, then west→east
    (:func:`geo.names.building_order`, which the editor's messages number buildings by too)."""
    return building_order(geoms, band=band)


def _flag_columns(buildings: pd.DataFrame) -> list:
    return [c for c in buildings.columns if c.startswith("flag_")]


def grid_card(plan: Plan, grid_id, *, lang: str = "zh", adjacency: nx.Graph | None = None) -> dict:
    """Everything a grid's page and its API entry show, in plain Python values.

    Parameters
    ----------
    plan : geo.plan.Plan
    grid_id : str
        The grid (index of ``plan.grids``).
    lang : {"zh", "en"}
    adjacency : networkx.Graph, optional
        :func:`grid_adjacency` of ``plan.grids``, when the caller keeps it (it is the costly part).

    Returns
    -------
    dict
        ``grid_id``, ``grid_code``, ``households``, ``n_buildings``, ``persons`` (or ``None``),
        ``status``, ``status_text``, ``staff`` (people of the grid without a building: role,
        role_text, name, phone, ``withheld`` and ``count`` — the posts of one role whose names are
        withheld are one entry; empty when the plan has no ``people`` layer), ``office`` (the
        community office: :func:`community_office`, or ``None``), ``neighbours`` (codes),
        ``units`` (the upper levels' units holding it: level, unit_code, name), ``emergency``
        (codes of the emergency grids inside it),
        ``number`` (the grid's number people read, :func:`partitioning.codes.short_code`),
        ``neighbour_numbers`` (number by neighbour code),
        ``buildings`` (in reading order: ``no``, ``building_id``, ``name`` (name or address from
        the data, :func:`geo.names.building_names`, else ``None``), ``households``,
        ``leaders``, ``special`` — counts of flagged households by flag), ``special`` (the grid's
        counts of flagged households by flag).
    """
    grid = plan.grids.loc[grid_id]
    adjacency = grid_adjacency(plan.grids) if adjacency is None else adjacency
    codes = plan.grids["grid_code"]
    people = plan_people(plan)
    in_grid = people[people["grid_id"].astype(str) == str(grid_id)]
    staff = _posts([r for r in in_grid.itertuples() if _blank(r.building_id)], lang)
    buildings = plan.buildings[plan.buildings["grid_id"] == grid_id]
    flags = _flag_columns(buildings)
    names = building_names(buildings)
    rows = []
    for no, bid in enumerate(_reading_order(buildings.geometry), start=1):
        b = buildings.loc[bid]
        leaders = people[people["building_id"].astype(str) == str(bid)]
        rows.append({
            "no": no, "building_id": str(bid),
            "name": names[bid],
            "households": int(b["households"]),
            "leaders": _posts(list(leaders.itertuples()), lang),
            "special": {f[5:]: int(b[f]) for f in flags if not _blank(b[f]) and int(b[f]) > 0},
        })
    persons = grid.get("persons") if "persons" in grid.index else None
    return {
        "grid_id": str(grid_id), "grid_code": str(grid["grid_code"]),
        "number": _short_code(grid["grid_code"], plan.meta.get("code_prefix")),
        "households": int(grid["households"]), "n_buildings": int(grid["n_buildings"]),
        "persons": None if _blank(persons) else int(persons),
        "status": str(grid["status"]), "status_text": _status_text(str(grid["status"]), lang),
        "staff": staff,
        "office": community_office(plan, grid_id),
        "neighbours": sorted(str(codes.loc[n]) for n in adjacency.neighbors(grid_id)),
        "neighbour_numbers": {str(codes.loc[n]): _short_code(codes.loc[n], plan.meta.get("code_prefix"))
                              for n in adjacency.neighbors(grid_id)},
        "units": _units_of(plan, buildings),
        "emergency": _emergency_codes(plan, grid_id),
        "buildings": rows,
        "special": {k: n for k in dict.fromkeys(k for r in rows for k in r["special"])
                    if (n := sum(r["special"].get(k, 0) for r in rows))},
    }


def _posts(rows: list, lang: str) -> list:
    """Post holders as the card shows them: ``role``, ``role_text``, ``name``, ``phone``,
    ``withheld``, ``count``; the withheld posts of one role are one entry counting them."""
    out, hidden = [], {}
    for r in rows:
        withheld = bool(getattr(r, "withheld", False)) and _blank(r.name)
        post = {"role": r.role, "role_text": _role_text(r.role, lang, r.role_label),
                "name": None if _blank(r.name) else str(r.name),
                "phone": None if _blank(r.phone) else str(r.phone), "withheld": withheld, "count": 1}
        if not withheld:
            out.append(post)
        elif post["role_text"] in hidden:
            hidden[post["role_text"]]["count"] += 1
        else:
            hidden[post["role_text"]] = post
            out.append(post)
    return out


def _units_of(plan: Plan, buildings: pd.DataFrame) -> list:
    """The units of the upper levels holding a grid's buildings, coarsest first."""
    units = plan.layers.get("levels")
    if units is None or len(units) == 0:
        return []
    out = []
    for level in dict.fromkeys(units["level"].astype(str)):
        col = f"unit_{level}"
        if col not in buildings.columns or buildings.empty:
            continue
        row = units.loc[(units["level"].astype(str) == level) & (units["unit_id"] == buildings[col].iloc[0])]
        if len(row):
            name = row["name"].iloc[0]
            out.append({"level": level, "unit_code": str(row["unit_code"].iloc[0]),
                        "name": None if _blank(name) else str(name)})
    return out


def _emergency_codes(plan: Plan, grid_id) -> list:
    """Codes of the emergency grids inside a grid (empty without an emergency layout)."""
    emergency = plan.layers.get("grids_emergency")
    if emergency is None:
        return []
    return sorted(emergency.loc[emergency["parent_grid_id"].astype(str) == str(grid_id), "grid_code"].astype(str))


_SEARCH_FIELDS = ("name", "addr:street", "addr:housenumber", "address", "addr", "community")


def search_plan(plan: Plan, query: str, *, limit: int = 20) -> list:
    """Grids and buildings matching ``query``: grid code, building ID, or name/address text.

    Exact grid codes come first, then codes ending with the query (``84`` finds
    ``…0084``), then building IDs and text fields (``name``, ``address``, ``addr:*``,
    ``community``) containing it, case-insensitively.

    Returns
    -------
    list of dict
        ``kind`` (``grid``/``building``), ``grid_code``, ``number`` (the grid's number people
        read), ``building_id`` (buildings), ``label`` (id and text fields, for programs).
    """
    q = query.strip().lower()
    if not q:
        return []
    hits: list = []
    codes = plan.grids["grid_code"].astype(str)
    low = codes.str.lower()
    for mask in (low == q, low.str.endswith(q) & (low != q), low.str.contains(q, regex=False)
                 & ~low.str.endswith(q)):
        hits += [{"kind": "grid", "grid_code": c, "number": _short_code(c, plan.meta.get("code_prefix")), "label": c}
                 for c in codes[mask]]
    b = plan.buildings
    ids = b.index.astype(str)
    match = pd.Series(ids.str.lower().str.contains(q, regex=False), index=b.index)
    fields = [f for f in _SEARCH_FIELDS if f in b.columns]
    for f in fields:
        match |= b[f].astype(str).str.lower().str.contains(q, regex=False) & b[f].notna()
    for bid in b.index[match.to_numpy()][: max(0, limit - len(hits))]:
        words = [str(b.at[bid, f]) for f in fields if not _blank(b.at[bid, f])]
        hits.append({"kind": "building", "building_id": str(bid), "grid_code": str(b.at[bid, "grid_code"]),
                     "number": _short_code(str(b.at[bid, "grid_code"]), plan.meta.get("code_prefix")),
                     "label": " · ".join([str(bid), *words])})
    return hits[:limit]


def _keep_whole(original: np.ndarray, simple: np.ndarray, footprints: np.ndarray) -> np.ndarray:
    """Simplified coverage polygons in which every footprint lies whole in its own polygon.

    A simplified edge may cut the corner of a building the original outline went around (on
    Suzhou at 2 m: 280 buildings, up to 5 m²). Each such building is added to its own polygon
    (the original polygon holding it) and taken out of the polygons it reached into; the rest of
    the simplification stays.
    """
    tree = shapely.STRtree(original)
    b, g = tree.query(shapely.point_on_surface(footprints), predicate="within")
    own = np.full(len(footprints), -1)
    own[b] = g
    placed = np.flatnonzero(own >= 0)
    cut = placed[shapely.area(shapely.difference(footprints[placed], simple[own[placed]])) > 1e-6]
    if not len(cut):
        return simple
    out = simple.copy()
    add: dict = {}
    take: dict = {}
    for k, h in zip(*shapely.STRtree(simple).query(footprints[cut], predicate="intersects")):
        (add if h == own[cut[k]] else take).setdefault(h, []).append(footprints[cut[k]])
    for h, parts in add.items():
        out[h] = shapely.union_all([out[h], *parts])
    for h, parts in take.items():
        out[h] = shapely.difference(out[h], shapely.union_all(parts))
    logger.debug("display outlines: %d building(s) kept whole", len(cut))
    return out


def _grid_frame(plan: Plan, grids: gpd.GeoDataFrame, *, lang: str, tolerance: float = 2.0) -> gpd.GeoDataFrame:
    """Grids for display: code, figures, status and leader as text, colour, link; EPSG:4326."""
    colours = grid_colours(grids)
    people = plan_people(plan)
    staff = people[(people["role"].astype(str) == "grid_leader").to_numpy(dtype=bool)]
    shown = [person_text(n, lang, withheld=w) for n, w in zip(staff["name"], staff["withheld"])]
    leaders = (pd.Series(shown, index=staff.index, dtype=object).groupby(staff["grid_id"].astype(str))
               .agg(lambda s: "、".join(dict.fromkeys(s))))
    out = grids[["grid_code", "households", "n_buildings", "status", "geometry"]].copy()
    out["grid_code"] = out["grid_code"].astype(str)
    out["link"] = grids["link"] if "link" in grids.columns else out["grid_code"]
    out["status_text"] = [_status_text(s, lang) for s in out["status"]]
    out["leader"] = [leaders.get(str(g), text("not_assigned", lang)) for g in out.index]
    out["colour"] = [colours[g] for g in out.index]
    out.index = out.index.astype(str)
    out.index.name = "grid_id"
    keep = None
    if grids.crs == plan.buildings.crs:  # the footprints around these grids stay whole
        keep = plan.buildings.geometry.iloc[plan.buildings.sindex.query(shapely.box(*grids.total_bounds))]
    return display_geometry(out, tolerance=tolerance, coverage=True, keep=keep)


def layer_geojson(plan: Plan, layer: str, *, lang: str = "zh", grid_id=None, datum: str = "wgs84",
                  grids: gpd.GeoDataFrame | None = None) -> str:
    """GeoJSON text of a plan's ``grids`` or ``buildings`` for display (EPSG:4326, RFC 7946).

    Geometry is simplified (grids as a coverage, 2 m; buildings 0.3 m) and rounded to 6 decimals.

    Parameters
    ----------
    plan : geo.plan.Plan
    layer : {"grids", "buildings"}
    lang : {"zh", "en"}
        Language of the text properties (status, "not assigned").
    grid_id : str, optional
        Only this grid (grids) or this grid's buildings (buildings).
    datum : {"wgs84", "gcj02"}
        Coordinates for a basemap in GCJ-02 are shifted to match it.
    grids : GeoDataFrame, optional
        The grids of another layout or level (:func:`layout_grids`); default the plan's grids.
    """
    if layer == "grids":
        frame = _grid_frame(plan, plan.grids if grids is None else grids, lang=lang)
        if grid_id is not None:
            frame = frame.loc[[str(grid_id)]]
    elif layer == "buildings":
        b = plan.buildings if grid_id is None else plan.buildings[plan.buildings["grid_id"] == grid_id]
        cols = ["grid_id", "grid_code", "households", *(c for c in ("name", "persons") if c in b.columns),
                *_flag_columns(b), "geometry"]
        frame = display_geometry(b[cols], tolerance=0.3)
        frame.insert(3, "label", building_names(b).to_numpy())  # name or address, as people know it
    else:
        raise ValueError(f"layer must be 'grids' or 'buildings', not {layer!r}")
    return to_datum(frame, datum).to_json(drop_id=False, ensure_ascii=False)


# --- folium ------------------------------------------------------------------------------

def _use_assets(fmap, asset_base: str | None, *, lang: str = "zh", inline_from: Path | None = None,
                leave_out: tuple = ()) -> None:
    """Point every asset link of the map's elements at :data:`WEB_ASSETS` (CDN or vendored).

    With ``inline_from`` (the folder of vendored copies) the files are written into the page
    instead, in :data:`WEB_ASSETS` order, with the images and fonts their CSS refers to as
    ``data:`` URLs: the page then loads nothing at all. Assets named in ``leave_out`` are dropped.
    """
    seen, stack, used = set(), [fmap.get_root()], set()
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        stack.extend(getattr(el, "_children", {}).values())
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if not links:
                continue
            mapped = []
            for name, url in links:
                if name not in _FOLIUM_LINKS:
                    raise ValueError(f"folium element {type(el).__name__} loads {url}, which is not in "
                                     "maps.webmap.WEB_ASSETS: add it there so offline pages can serve it")
                asset = _FOLIUM_LINKS[name]
                if asset and asset not in leave_out:
                    localised = asset.replace(".js", f".{lang}.js")
                    asset = localised if localised in WEB_ASSETS else asset
                    used.add(asset)
                    mapped.append((name, asset_url(asset, base=asset_base)))
            # an instance attribute: folium's class lists stay as they are
            setattr(el, attr, [] if inline_from is not None else mapped)
    if inline_from is not None:
        from folium import Element

        parts = [_inline_asset(name, Path(inline_from)) for name in WEB_ASSETS if name in used]
        fmap.get_root().header.add_child(Element("\n".join(parts)), name="gp_inline_assets")


def _inline_asset(name: str, vendor: Path) -> str:
    """A ``<script>`` or ``<style>`` holding the vendored copy of asset ``name``."""
    package, version, path = WEB_ASSETS[name]
    file = vendor / f"{package}@{version}" / path
    if not file.is_file():
        raise FileNotFoundError(f"vendored asset missing: {file} (run `python -m app.vendor`)")
    body = file.read_text(encoding="utf-8")
    if name.endswith(".js"):
        return "<script>" + re.sub(r"</(script)", r"<\\/\1", body, flags=re.IGNORECASE) + "</script>"

    def data_url(match: re.Match) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")) or "//" in ref:
            return match.group(0)
        target = (file.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            return match.group(0)
        kind = mimetypes.guess_type(target.name)[0] or {".woff2": "font/woff2", ".woff": "font/woff",
                                                         ".ttf": "font/ttf"}.get(target.suffix, "application/octet-stream")
        return f'url("data:{kind};base64,{base64.b64encode(target.read_bytes()).decode("ascii")}")'

    body = re.sub(r"""url\((['"]?)([^'")]+)\1\)""", data_url, body)
    return "<style>" + re.sub(r"</(style)", r"<\\/\1", body, flags=re.IGNORECASE) + "</style>"


_GUARD_JS = """(function () {
  var failed = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && (t.tagName === 'SCRIPT' || t.tagName === 'LINK')) { failed.push(t.src || t.href); }
  }, true);
  window.addEventListener('load', function () {
    if (window.L && !failed.length) { return; }
    var words = %s, box = document.createElement('div'), title = document.createElement('strong');
    box.className = 'gp-scripts-failed';
    box.setAttribute('role', 'alert');
    box.style.cssText = 'position:fixed;top:0;left:0;right:0;z-index:100000;padding:12px 16px;' +
      'background:#fff3cd;color:#5c3d00;border-bottom:2px solid #c08a00;font:15px/1.5 sans-serif';
    title.textContent = words.title;
    box.appendChild(title);
    box.appendChild(document.createTextNode(' ' + words.hint));
    if (failed.length) {
      var list = document.createElement('div');
      list.style.cssText = 'font-size:12px;opacity:.8;word-break:break-all';
      list.textContent = words.files + failed.join(', ');
      box.appendChild(list);
    }
    document.body.insertBefore(box, document.body.firstChild);
  });
})();"""


def _script_guard(fmap, *, lang: str, hint: str) -> None:
    """A script, run before any other of the page and needing none, that shows a notice when a
    script or style sheet did not load or Leaflet is missing (``hint``: ``server`` or ``file``)."""
    from folium import Element

    words = {"title": text("scripts_failed", lang), "hint": text(f"scripts_failed_{hint}", lang),
             "files": text("scripts_failed_files", lang)}
    fmap.get_root().header.add_child(Element(f"<script>{_GUARD_JS % _js_str(words)}</script>"),
                                     name="gp_script_guard")


def _add_tiles(fmap, spec: Basemap, *, lang: str, basemap_key: str | None, tiles_url: str | None,
               tiles_attribution: str | None) -> None:
    """The basemap's tile layers, and the note that tells when there is none or its tiles fail."""
    import folium

    for i, (url, name) in enumerate(spec.tiles):
        url = url.replace("{key}", basemap_key or "").replace("{url}", tiles_url or "")
        attribution = tiles_attribution if spec.key == "intranet" and tiles_attribution else spec.attribution
        folium.TileLayer(tiles=url, attr=attribution or spec.label(lang), name=spec.label(lang) if i == 0
                         else f"{spec.label(lang)} · {text('annotation', lang)}",
                         subdomains=spec.subdomains, max_zoom=20, max_native_zoom=spec.max_zoom,
                         overlay=i > 0, control=i > 0).add_to(fmap)
    _layer_classes()[3](none=text("basemap_none_note", lang) if not spec.tiles else None,
                        failed=text("basemap_failed_note", lang)).add_to(fmap)


def _base_map(bounds, *, lang: str, basemap: str, basemap_key: str | None, tiles_url: str | None,
              tiles_attribution: str | None):
    import folium
    from folium import plugins

    spec = BASEMAPS.get(basemap)
    if spec is None:
        raise ValueError(f"unknown basemap {basemap!r}; choose one of {', '.join(BASEMAPS)}")
    if spec.needs_key and not basemap_key:
        raise ValueError(f"basemap {basemap!r} needs a key (TIANDITU_KEY in the app's config)")
    if spec.key == "intranet" and not tiles_url:
        raise ValueError("basemap 'intranet' needs a tile URL (TILES_URL in the app's config)")
    xmin, ymin, xmax, ymax = bounds
    fmap = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], tiles=None, control_scale=False,
                      prefer_canvas=False, zoom_control=True, max_zoom=20)
    _script_guard(fmap, lang=lang, hint="server")
    _layer_classes()[2]().add_to(fmap)
    _add_tiles(fmap, spec, lang=lang, basemap_key=basemap_key, tiles_url=tiles_url,
               tiles_attribution=tiles_attribution)
    fmap.fit_bounds([[ymin, xmin], [ymax, xmax]])
    plugins.Fullscreen(title=text("fullscreen", lang), title_cancel=text("fullscreen_exit", lang)).add_to(fmap)
    plugins.MeasureControl(primary_length_unit="meters", secondary_length_unit="kilometers",
                           primary_area_unit="sqmeters", secondary_area_unit="hectares").add_to(fmap)
    plugins.LocateControl(icon="fa-solid fa-location-crosshairs",
                          strings={"title": text("locate_me", lang)}).add_to(fmap)
    return fmap


_LABELS_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
  pointToLayer: function (f, ll) {
    return L.marker(ll, {icon: L.divIcon({className: {{ this.css_class|tojson }}, html: f.properties.label,
                                          iconSize: null}), keyboard: false,
                         interactive: {{ 'true' if this.url else 'false' }}});
  },
  onEachFeature: function (f, layer) {
    {%- if this.url %}
    if (f.properties.code) {
      layer.on('click', function () {
        window.location.href = {{ this.url|tojson }}.replace('__CODE__', encodeURIComponent(f.properties.code));
      });
    }
    {%- endif %}
  }
});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
(function (map) {
  function toggle() { map.getContainer().classList.toggle('gp-labels-small', map.getZoom() < {{ this.min_zoom }}); }
  map.on('zoomend', toggle); toggle();
})({{ this._parent.get_name() }});
{% endmacro %}
"""

_FETCHED_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(null, {style: {{ this.style|tojson }}, interactive: false});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
fetch({{ this.url|tojson }}).then(function (r) { return r.json(); }).then(function (data) {
  {{ this.get_name() }}.addData(data);
  {{ this.get_name() }}.bringToBack();
});
{% endmacro %}
"""


@functools.cache
def _layer_classes():
    """Our folium elements, defined once (folium is imported only when a map is drawn)."""
    from branca.element import MacroElement
    from folium.map import Layer
    from folium.template import Template

    class Labels(Layer):
        """Text labels (``label``, HTML) at points; a click opens ``url`` with the point's ``code``.

        Below ``min_zoom`` the labels are hidden (they would cover each other), by a CSS class
        on the map, so the layer control keeps working.
        """

        _template = Template(_LABELS_JS)

        def __init__(self, points, *, name, css_class, url=None, min_zoom=0):
            super().__init__(name=name, overlay=True, control=True, show=True)
            self._name = "GridplanLabels"
            self.data = points.__geo_interface__
            self.css_class, self.url, self.min_zoom = css_class, url, int(min_zoom)

    class Fetched(Layer):
        """GeoJSON the page fetches from ``url``, drawn under the rest, not interactive."""

        _template = Template(_FETCHED_JS)

        def __init__(self, url, *, name, style):
            super().__init__(name=name, overlay=True, control=True, show=True)
            self._name = "GridplanFetched"
            self.url, self.style = url, style

    class MetricScale(MacroElement):
        """A scale bar in metres only."""

        _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    class BasemapNote(MacroElement):
        """A note in the map's corner: ``none`` at once (no basemap), ``failed`` when a tile of the
        basemap does not load (a tile server out of reach): the grids show on a blank background."""

        _template = Template("""
{% macro script(this, kwargs) %}
(function (map, none, failed) {
  var shown = false;
  function note(words) {
    if (shown) { return; }
    shown = true;
    var control = L.control({position: 'bottomleft'});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'gp-basemap-note');
      div.style.cssText = 'background:rgba(255,255,255,.85);padding:2px 8px;font-size:12px;color:#444;' +
        'max-width:32em;border-radius:3px';
      div.textContent = words;
      return div;
    };
    control.addTo(map);
  }
  if (none) { note(none); }
  map.eachLayer(function (layer) {
    if (layer instanceof L.TileLayer) { layer.on('tileerror', function () { note(failed); }); }
  });
})({{ this._parent.get_name() }}, {{ this.none|tojson }}, {{ this.failed|tojson }});
{% endmacro %}
""")

        def __init__(self, *, none, failed):
            super().__init__()
            self._name = "GridplanBasemapNote"
            self.none, self.failed = none, failed

    return Labels, Fetched, MetricScale, BasemapNote


def _labels_layer(points: gpd.GeoDataFrame, **kwargs):
    return _layer_classes()[0](points, **kwargs)


def _fetched_layer(url: str, **kwargs):
    return _layer_classes()[1](url, **kwargs)


def _short_code(code: str, prefix) -> str:
    """A grid code without its administrative prefix and leading zeros, for labels (``…084`` → ``84``):
    :func:`partitioning.codes.short_code`, the one rule for every page and message."""
    from partitioning.codes import short_code

    return short_code(code, prefix)


def _label_zoom(grids: gpd.GeoDataFrame, *, pixels: float = 32.0) -> int:
    """The web-map zoom from which a typical grid is ``pixels`` wide (metric CRS in, EPSG:3857 zooms)."""
    size = float(np.median(np.sqrt(grids.area))) if len(grids) else 1.0
    x0, y0, x1, y1 = grids.total_bounds if len(grids) else (0, 0, 0, 0)
    centre = gpd.GeoDataFrame(geometry=[shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)], crs=grids.crs)
    lat = float(to_lonlat(centre).geometry.y.iloc[0])
    metres_per_pixel_z0 = 156543.03 * np.cos(np.radians(lat))
    return int(np.clip(np.ceil(np.log2(pixels * metres_per_pixel_z0 / max(size, 1.0))), 0, 20))


def _label_points(gdf: gpd.GeoDataFrame, labels, codes=None) -> gpd.GeoDataFrame:
    pts = gpd.GeoDataFrame({"label": list(labels)}, geometry=gdf.geometry.representative_point().values,
                           crs=gdf.crs)
    if codes is not None:
        pts["code"] = list(codes)
    return pts


def _escaped(frame: gpd.GeoDataFrame, columns) -> gpd.GeoDataFrame:
    """``frame`` with its text ``columns`` HTML-escaped: tooltips and labels are shown as HTML,
    and names come from the input data."""
    return frame.assign(**{c: frame[c].astype(str).map(html.escape) for c in columns})


def _click_to(url: str):
    from folium.utilities import JsCode

    return JsCode("function (f, layer) { if (f.properties.link) { layer.on('click', function () { "
                  f"window.location.href = {_js_str(url)}.replace('__CODE__', encodeURIComponent(f.properties.link)); "
                  "}); } }")


def _js_str(value: str) -> str:
    import json

    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def community_map(plan: Plan, *, lang: str = "zh", basemap: str = "none", basemap_key: str | None = None,
                  tiles_url: str | None = None, tiles_attribution: str | None = None,
                  asset_base: str | None = None, grid_url: str | None = None,
                  grids: gpd.GeoDataFrame | None = None, buildings_url: str | None = None):
    """The community map: grids in neighbour-distinct colours with their codes.

    Parameters
    ----------
    plan : geo.plan.Plan
    lang : {"zh", "en"}
        Language of tooltips and controls (Chinese by default).
    basemap : str
        A key of :data:`BASEMAPS`: ``none`` (the default: a blank background, with a note),
        ``osm``, ``tianditu-vec``, ``tianditu-img`` (need ``basemap_key``), ``amap`` (GCJ-02:
        overlays are shifted to match) or ``intranet`` (needs ``tiles_url``).
    basemap_key, tiles_url, tiles_attribution : str, optional
        Tianditu key; intranet tile URL template (``…/{z}/{x}/{y}.png``) and its attribution.
    asset_base : str, optional
        URL prefix of vendored assets (offline mode); default the npm CDN.
    grid_url : str, optional
        URL of a grid's page with ``__CODE__`` for its code: a click on a grid opens it.
    grids : GeoDataFrame, optional
        Grids of another layout or level (:func:`layout_grids`).
    buildings_url : str, optional
        URL of the buildings' GeoJSON (:func:`layer_geojson`): the page fetches it after drawing
        the grids and shows the footprints in grey; none are drawn without it.

    Returns
    -------
    folium.Map
    """
    import folium

    datum = basemap_datum(basemap)
    grids = plan.grids if grids is None else grids
    frame = _escaped(to_datum(_grid_frame(plan, grids, lang=lang), datum).reset_index(), ["grid_code", "leader"])
    fmap = _base_map(frame.total_bounds, lang=lang, basemap=basemap, basemap_key=basemap_key,
                     tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    if buildings_url:
        _fetched_layer(buildings_url, name=text("buildings_layer", lang),
                       style={"color": "#666666", "weight": 0.5, "fillColor": "#999999",
                              "fillOpacity": 0.5}).add_to(fmap)
    folium.GeoJson(
        frame[["grid_id", "grid_code", "households", "n_buildings", "status_text", "leader", "colour", "link",
               "geometry"]],
        name=text("grids", lang),
        style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#333333",
                                  "weight": 1.5, "fillOpacity": 0.45},
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.65},
        tooltip=folium.GeoJsonTooltip(
            fields=["grid_code", "households", "n_buildings", "leader", "status_text"],
            aliases=[text("grid_code", lang), text("households", lang), text("buildings", lang),
                     text("role_grid_leader", lang), text("status", lang)]),
        on_each_feature=_click_to(grid_url) if grid_url else None,
    ).add_to(fmap)
    prefix = plan.meta.get("code_prefix")
    labels = _label_points(frame, [_short_code(c, prefix) for c in frame["grid_code"]], frame["link"])
    _labels_layer(labels, name=text("grid_codes", lang), css_class="gp-grid-label", url=grid_url,
                  min_zoom=_label_zoom(grids)).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    _use_assets(fmap, asset_base, lang=lang)
    return fmap


def grid_map(plan: Plan, grid_id, *, lang: str = "zh", basemap: str = "none", basemap_key: str | None = None,
             tiles_url: str | None = None, tiles_attribution: str | None = None,
             asset_base: str | None = None, grid_url: str | None = None, card: dict | None = None):
    """One grid's battle map (作战图): boundary, numbered buildings, neighbours greyed.

    Buildings are numbered in reading order (as in :func:`grid_card`) and labelled
    "number · households"; their tooltips add the building leader and the counts of special
    households. Neighbouring grids are grey with their codes; a click opens their page
    (``grid_url``). Parameters as :func:`community_map`; ``card`` is :func:`grid_card`'s result
    when the caller already has it.

    Returns
    -------
    folium.Map
    """
    import folium

    datum = basemap_datum(basemap)
    card = card or grid_card(plan, grid_id, lang=lang)
    codes = plan.grids["grid_code"].astype(str)
    neighbour_ids = list(codes.index[codes.isin(card["neighbours"])])
    frame = _escaped(to_datum(_grid_frame(plan, plan.grids.loc[[grid_id, *neighbour_ids]], lang=lang,
                                           tolerance=1.0), datum), ["grid_code", "leader"])
    own, others = frame.loc[[str(grid_id)]].reset_index(), frame.drop(index=str(grid_id)).reset_index()
    fmap = _base_map(own.total_bounds, lang=lang, basemap=basemap, basemap_key=basemap_key,
                     tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    tooltip_fields = ["grid_code", "households", "n_buildings", "leader"]
    tooltip_aliases = [text("grid_code", lang), text("households", lang), text("buildings", lang),
                       text("role_grid_leader", lang)]
    if len(others):
        folium.GeoJson(others[[*tooltip_fields, "link", "geometry"]], name=text("neighbour_grids", lang),
                       style_function=lambda f: {"fillColor": "#bbbbbb", "color": "#777777", "weight": 1,
                                                 "fillOpacity": 0.35},
                       tooltip=folium.GeoJsonTooltip(fields=tooltip_fields, aliases=tooltip_aliases),
                       on_each_feature=_click_to(grid_url) if grid_url else None).add_to(fmap)
        prefix = plan.meta.get("code_prefix")
        labels = _label_points(others, [_short_code(c, prefix) for c in others["grid_code"]], others["link"])
        _labels_layer(labels, name=text("neighbour_codes", lang), css_class="gp-grid-label gp-neighbour",
                      url=grid_url).add_to(fmap)
    folium.GeoJson(own[[*tooltip_fields, "geometry"]], name=text("grid", lang),
                   style_function=lambda f: {"fillColor": "#fdb462", "color": "#c0392b", "weight": 3,
                                             "fillOpacity": 0.12, "dashArray": "6 4"},
                   tooltip=folium.GeoJsonTooltip(fields=tooltip_fields, aliases=tooltip_aliases)).add_to(fmap)

    rows = {r["building_id"]: r for r in card["buildings"]}
    b = plan.buildings.loc[plan.buildings["grid_id"] == grid_id, ["households", "geometry"]].copy()
    b.index = b.index.astype(str)
    b["no"] = [rows[i]["no"] for i in b.index]
    b["leader"] = ["、".join(person_text(p["name"], lang, withheld=p["withheld"])
                            + (f" {p['phone']}" if p["phone"] else "") for p in rows[i]["leaders"])
                   or text("not_assigned", lang) for i in b.index]
    b["special"] = ["、".join(f"{text('flag_' + k, lang)} {v}" for k, v in rows[i]["special"].items()) or "–"
                    for i in b.index]
    b["name"] = [rows[i]["name"] or "–" for i in b.index]
    b.index.name = "building_id"
    shown = _escaped(to_datum(display_geometry(b, tolerance=0.3), datum).reset_index(),
                     ["building_id", "name", "leader", "special"])
    folium.GeoJson(shown, name=text("buildings_layer", lang),
                   style_function=lambda f: {"fillColor": "#e67e22", "color": "#7f3c00", "weight": 1,
                                             "fillOpacity": 0.75},
                   highlight_function=lambda f: {"weight": 3},
                   tooltip=folium.GeoJsonTooltip(
                       fields=["no", "name", "households", "leader", "special"],
                       aliases=[text("building_no", lang), text("building", lang),
                                text("households", lang), text("role_building_leader", lang),
                                text("special_households", lang)])).add_to(fmap)
    unit = text("households_unit", lang)
    labels = _label_points(shown, [f"<b>{n}</b> · {unit.format(n=h)}" for n, h in zip(shown["no"], shown["households"])])
    _labels_layer(labels, name=text("building_labels", lang), css_class="gp-building-label").add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    _use_assets(fmap, asset_base, lang=lang)
    return fmap


def editor_map(plan: Plan, *, lang: str = "zh", basemap: str = "none", basemap_key: str | None = None,
               tiles_url: str | None = None, tiles_attribution: str | None = None,
               asset_base: str | None = None):
    """The editor page's map: basemap and controls, fitted to the plan, without grids.

    The editor page's script (``app/static/editor.js``) draws the grids and buildings of the
    user's edit session from the editor API and redraws them after each edit; it finds this map
    by its folium name (``fmap.get_name()``). Parameters as :func:`community_map`.

    Returns
    -------
    folium.Map
    """
    datum = basemap_datum(basemap)
    extent = to_lonlat(gpd.GeoDataFrame(geometry=[shapely.box(*plan.grids.total_bounds)], crs=plan.grids.crs))
    fmap = _base_map(to_datum(extent, datum).total_bounds, lang=lang, basemap=basemap, basemap_key=basemap_key,
                     tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    _use_assets(fmap, asset_base, lang=lang)
    return fmap


def plan_map(plan: Plan, *, lang: str = "zh", basemap: str = "none", tiles_url: str | None = None,
             tiles_attribution: str | None = None, asset_base: str | None = None,
             inline_from: Path | None = None):
    """A folium map of ``plan``: grids coloured by neighbours, buildings with tooltips.

    The self-contained map ``gridplan map`` writes (one HTML file, every building with its
    tooltip). The web app draws :func:`community_map` and :func:`grid_map` instead.

    Parameters
    ----------
    plan : geo.plan.Plan
    lang : {"zh", "en"}
        Language of tooltips, legends and notices (Chinese by default).
    basemap : str
        A key of :data:`BASEMAPS`; default ``none`` (a blank background, with a note saying so).
    tiles_url, tiles_attribution : str, optional
        Intranet tile URL template and its attribution (basemap ``intranet``).
    asset_base : str, optional
        URL prefix of the vendored assets; default the npm CDN.
    inline_from : path, optional
        The folder of vendored assets (``app/static/vendor``): Leaflet's script and style sheet
        are written into the page, which then opens from disk with no network at all.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import geo
    >>> fmap = plan_map(geo.read_plan("suzhou.gpkg"), inline_from="app/static/vendor")  # doctest: +SKIP
    >>> fmap.save("map.html")  # doctest: +SKIP
    """
    import folium

    spec = BASEMAPS.get(basemap)
    if spec is None:
        raise ValueError(f"unknown basemap {basemap!r}; choose one of {', '.join(BASEMAPS)}")
    if spec.needs_key or spec.datum != "wgs84":
        raise ValueError(f"basemap {basemap!r} is for the web app only (a key, or tiles in another datum)")
    if spec.key == "intranet" and not tiles_url:
        raise ValueError("basemap 'intranet' needs a tile URL")
    colours = grid_colours(plan.grids)
    grids = plan.grids.copy()
    grids["colour"] = [colours[g] for g in grids.index]
    grids["status_text"] = [_status_text(s, lang) for s in grids["status"]]
    grids = display_geometry(grids, tolerance=1.0, coverage=True, keep=plan.buildings.geometry).reset_index()
    buildings = plan.buildings[["grid_id", "grid_code", "households", "geometry"]].copy()
    buildings["colour"] = buildings["grid_id"].map(colours)
    buildings = display_geometry(buildings, tolerance=0.3).reset_index()

    xmin, ymin, xmax, ymax = grids.total_bounds
    fmap = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], tiles=None, control_scale=False,
                      prefer_canvas=True, max_zoom=20)
    _script_guard(fmap, lang=lang, hint="file")
    _layer_classes()[2]().add_to(fmap)
    _add_tiles(fmap, spec, lang=lang, basemap_key=None, tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    fmap.fit_bounds([[ymin, xmin], [ymax, xmax]])
    title = text("map_title", lang)
    fmap.get_root().header.add_child(folium.Element(f"<title>{title}</title>"))
    grid_layer = folium.GeoJson(
        grids[["grid_id", "grid_code", "households", "n_buildings", "status_text", "colour", "geometry"]],
        name=text("grids", lang),
        style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#333333",
                                  "weight": 1.5, "fillOpacity": 0.45},
        highlight_function=lambda f: {"weight": 3, "fillOpacity": 0.65},
        tooltip=folium.GeoJsonTooltip(
            fields=["grid_code", "households", "n_buildings", "status_text"],
            aliases=[text("grid_code", lang), text("households", lang), text("buildings", lang),
                     text("status", lang)]),
    )
    grid_layer.add_to(fmap)
    folium.GeoJson(
        buildings,
        name=text("building", lang),
        style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#555555",
                                  "weight": 0.5, "fillOpacity": 0.9},
        tooltip=folium.GeoJsonTooltip(
            fields=["building_id", "grid_code", "households"],
            aliases=[text("building", lang), text("grid", lang), text("households", lang)]),
    ).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    _use_assets(fmap, asset_base, lang=lang, inline_from=inline_from, leave_out=("fontawesome.css",))
    return fmap
