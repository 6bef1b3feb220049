"""Interactive web maps of a plan, drawn with folium (Leaflet).

Grids are filled with colours chosen so that neighbouring grids never share one (greedy graph
colouring of the grid adjacency), outlined, and labelled with their code in the tooltip;
buildings carry a tooltip with their ID, grid and households. The plan's metric geometry is
transformed to EPSG:4326 here, at the map's boundary, and nowhere else.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from geo.plan import Plan
from maps.i18n import text

__all__ = ["PALETTE", "grid_adjacency", "grid_colours", "display_geometry", "plan_map"]

logger = logging.getLogger(__name__)

#: Fill colours (ColorBrewer Set3, readable under dark outlines); neighbours never share one.
PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")


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


def display_geometry(gdf: gpd.GeoDataFrame, *, tolerance: float, coverage: bool = False) -> gpd.GeoDataFrame:
    """Lighten geometry for display in EPSG:4326 (the plan itself is never changed).

    Simplifies in the plan's metric CRS — as a coverage (shared edges stay shared) for grid
    polygons — then rounds longitude/latitude to 6 decimals (about 0.1 m).
    """
    geoms = np.asarray(gdf.geometry.values)
    simple = (shapely.coverage_simplify(geoms, tolerance) if coverage
              else shapely.simplify(geoms, tolerance, preserve_topology=True))
    out = gdf.set_geometry(gpd.GeoSeries(simple, index=gdf.index, crs=gdf.crs)).to_crs(4326)
    rounded = shapely.transform(np.asarray(out.geometry.values), lambda xy: np.round(xy, 6))
    return out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=4326))


def _status_text(status: str, lang: str) -> str:
    return text(f"status_{status}", lang)


def plan_map(plan: Plan, *, lang: str = "zh", tiles: str | None = "OpenStreetMap"):
    """A folium map of ``plan``: grids coloured by neighbours, buildings with tooltips.

    Parameters
    ----------
    plan : geo.plan.Plan
    lang : {"zh", "en"}
        Language of tooltips and legends (Chinese by default).
    tiles : str or None
        folium basemap name; ``None`` for no basemap.

    Returns
    -------
    folium.Map
    """
    import folium

    colours = grid_colours(plan.grids)
    grids = plan.grids.copy()
    grids["colour"] = [colours[g] for g in grids.index]
    grids["status_text"] = [_status_text(s, lang) for s in grids["status"]]
    grids = display_geometry(grids, tolerance=1.0, coverage=True).reset_index()
    buildings = plan.buildings[["grid_id", "grid_code", "households", "geometry"]].copy()
    buildings["colour"] = buildings["grid_id"].map(colours)
    buildings = display_geometry(buildings, tolerance=0.3).reset_index()

    xmin, ymin, xmax, ymax = grids.total_bounds
    fmap = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], tiles=tiles, control_scale=True,
                      prefer_canvas=True)
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
    return fmap
