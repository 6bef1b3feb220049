"""The folium maps of a plan: the community map, a grid's battle map, the editor's map, the file.

- :func:`community_map` — every grid filled with a colour no neighbour shares
  (:func:`maps.web.colours.grid_colours`), labelled with its number; a click opens the grid's page;
- :func:`grid_map` — one grid's battle map (作战图): its boundary, its buildings numbered with
  their households (the numbers of :func:`maps.web.queries.grid_card`), the neighbouring grids
  greyed with their numbers;
- :func:`editor_map` — the basemap and controls the editor page's script draws the session on;
- :func:`plan_map` — the self-contained file of ``gridplan map``.

Each map is the plan's geometry at the boundary (:mod:`maps.web.geojson`), over a basemap
(:mod:`maps.web.basemaps`), with our layers (:mod:`maps.web.layers`) and pinned assets
(:mod:`maps.web.assets`); a map without basemap says so in a note.
"""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import shapely

from geo.crs import to_datum
from geo.plan import Plan
from maps.i18n import text
from maps.web.assets import script_guard, use_assets
from maps.web.basemaps import add_tiles, base_map, basemap_datum, check_basemap
from maps.web.colours import grid_colours
from maps.web.geojson import display_geometry, grid_frame, to_lonlat
from maps.web.layers import click_to, escaped, fetched_layer, label_points, label_zoom, labels_layer, metric_scale
from maps.web.queries import grid_card, person_text, status_text
from partitioning.codes import short_code

__all__ = ["community_map", "grid_map", "editor_map", "plan_map"]


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
        A key of :data:`maps.web.basemaps.BASEMAPS`: ``none`` (the default: a blank background, with a note),
        ``osm``, ``tianditu-vec``, ``tianditu-img`` (need ``basemap_key``), ``amap`` (GCJ-02:
        overlays are shifted to match) or ``intranet`` (needs ``tiles_url``).
    basemap_key, tiles_url, tiles_attribution : str, optional
        Tianditu key; intranet tile URL template (``…/{z}/{x}/{y}.png``) and its attribution.
    asset_base : str, optional
        URL prefix of vendored assets (offline mode); default the npm CDN.
    grid_url : str, optional
        URL of a grid's page with ``__CODE__`` for its code: a click on a grid opens it.
    grids : GeoDataFrame, optional
        Grids of another layout or level (:func:`maps.web.queries.layout_grids`).
    buildings_url : str, optional
        URL of the buildings' GeoJSON (:func:`maps.web.geojson.layer_geojson`): the page fetches it after drawing
        the grids and shows the footprints in grey; none are drawn without it.

    Returns
    -------
    folium.Map
    """

    datum = basemap_datum(basemap)
    grids = plan.grids if grids is None else grids
    frame = escaped(to_datum(grid_frame(plan, grids, lang=lang), datum).reset_index(), ["grid_code", "leader"])
    fmap = base_map(frame.total_bounds, lang=lang, basemap=basemap, basemap_key=basemap_key,
                     tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    if buildings_url:
        fetched_layer(buildings_url, name=text("buildings_layer", lang),
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
        on_each_feature=click_to(grid_url) if grid_url else None,
    ).add_to(fmap)
    prefix = plan.meta.get("code_prefix")
    labels = label_points(frame, [short_code(c, prefix) for c in frame["grid_code"]], frame["link"])
    labels_layer(labels, name=text("grid_codes", lang), css_class="gp-grid-label", url=grid_url,
                  min_zoom=label_zoom(grids)).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    use_assets(fmap, asset_base, lang=lang)
    return fmap


def grid_map(plan: Plan, grid_id, *, lang: str = "zh", basemap: str = "none", basemap_key: str | None = None,
             tiles_url: str | None = None, tiles_attribution: str | None = None,
             asset_base: str | None = None, grid_url: str | None = None, card: dict | None = None):
    """One grid's battle map (作战图): boundary, numbered buildings, neighbours greyed.

    Buildings are numbered in reading order (as in :func:`maps.web.queries.grid_card`) and labelled
    "number · households"; their tooltips add the building leader and the counts of special
    households. Neighbouring grids are grey with their codes; a click opens their page
    (``grid_url``). Parameters as :func:`community_map`; ``card`` is :func:`maps.web.queries.grid_card`'s result
    when the caller already has it.

    Returns
    -------
    folium.Map
    """

    datum = basemap_datum(basemap)
    card = card or grid_card(plan, grid_id, lang=lang)
    codes = plan.grids["grid_code"].astype(str)
    neighbour_ids = list(codes.index[codes.isin(card["neighbours"])])
    frame = escaped(to_datum(grid_frame(plan, plan.grids.loc[[grid_id, *neighbour_ids]], lang=lang,
                                           tolerance=1.0), datum), ["grid_code", "leader"])
    own, others = frame.loc[[str(grid_id)]].reset_index(), frame.drop(index=str(grid_id)).reset_index()
    fmap = base_map(own.total_bounds, lang=lang, basemap=basemap, basemap_key=basemap_key,
                     tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    tooltip_fields = ["grid_code", "households", "n_buildings", "leader"]
    tooltip_aliases = [text("grid_code", lang), text("households", lang), text("buildings", lang),
                       text("role_grid_leader", lang)]
    if len(others):
        folium.GeoJson(others[[*tooltip_fields, "link", "geometry"]], name=text("neighbour_grids", lang),
                       style_function=lambda f: {"fillColor": "#bbbbbb", "color": "#777777", "weight": 1,
                                                 "fillOpacity": 0.35},
                       tooltip=folium.GeoJsonTooltip(fields=tooltip_fields, aliases=tooltip_aliases),
                       on_each_feature=click_to(grid_url) if grid_url else None).add_to(fmap)
        prefix = plan.meta.get("code_prefix")
        labels = label_points(others, [short_code(c, prefix) for c in others["grid_code"]], others["link"])
        labels_layer(labels, name=text("neighbour_codes", lang), css_class="gp-grid-label gp-neighbour",
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
    shown = escaped(to_datum(display_geometry(b, tolerance=0.3), datum).reset_index(),
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
    labels = label_points(shown, [f"<b>{n}</b> · {unit.format(n=h)}" for n, h in zip(shown["no"], shown["households"])])
    labels_layer(labels, name=text("building_labels", lang), css_class="gp-building-label").add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    use_assets(fmap, asset_base, lang=lang)
    return fmap


def editor_map(plan: Plan, *, lang: str = "zh", basemap: str = "none", basemap_key: str | None = None,
               tiles_url: str | None = None, tiles_attribution: str | None = None,
               asset_base: str | None = None):
    """The editor page's map: basemap and controls, fitted to the plan, without grids.

    The editor page's script (``app/static/editor/``, ES modules) draws the grids and buildings of the
    user's edit session from the editor API and redraws them after each edit; it finds this map
    by its folium name (``fmap.get_name()``). Parameters as :func:`community_map`.

    Returns
    -------
    folium.Map
    """
    datum = basemap_datum(basemap)
    extent = to_lonlat(gpd.GeoDataFrame(geometry=[shapely.box(*plan.grids.total_bounds)], crs=plan.grids.crs))
    fmap = base_map(to_datum(extent, datum).total_bounds, lang=lang, basemap=basemap, basemap_key=basemap_key,
                     tiles_url=tiles_url, tiles_attribution=tiles_attribution)
    use_assets(fmap, asset_base, lang=lang)
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
        A key of :data:`maps.web.basemaps.BASEMAPS`; default ``none`` (a blank background, with a note saying so).
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

    spec = check_basemap(basemap, tiles_url=tiles_url, for_file=True)
    colours = grid_colours(plan.grids)
    grids = plan.grids.copy()
    grids["colour"] = [colours[g] for g in grids.index]
    grids["status_text"] = [status_text(s, lang) for s in grids["status"]]
    grids = display_geometry(grids, tolerance=1.0, coverage=True, keep=plan.buildings.geometry).reset_index()
    buildings = plan.buildings[["grid_id", "grid_code", "households", "geometry"]].copy()
    buildings["colour"] = buildings["grid_id"].map(colours)
    buildings = display_geometry(buildings, tolerance=0.3).reset_index()

    xmin, ymin, xmax, ymax = grids.total_bounds
    fmap = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], tiles=None, control_scale=False,
                      prefer_canvas=True, max_zoom=20)
    script_guard(fmap, lang=lang, hint="file")
    metric_scale().add_to(fmap)
    add_tiles(fmap, spec, lang=lang, basemap_key=None, tiles_url=tiles_url, tiles_attribution=tiles_attribution)
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
    use_assets(fmap, asset_base, lang=lang, inline_from=inline_from, leave_out=("fontawesome.css",))
    return fmap
