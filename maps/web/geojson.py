"""Plan geometry as the browser gets it: EPSG:4326, lightened for display, as GeoJSON.

The plan's metric geometry is transformed to longitude/latitude (:func:`to_lonlat`) at the map's
boundary and nowhere else, simplified without a grid outline crossing a building
(:func:`display_geometry`), rounded to 6 decimals (:func:`round_lonlat`) and shifted to the
basemap's datum by :func:`geo.crs.to_datum`. :func:`grid_frame` gives the grids with the text
their tooltips show; :func:`layer_geojson` the layers the pages and the API fetch.
"""

from __future__ import annotations

import functools
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.crs import to_datum
from geo.names import building_names
from geo.plan import Plan
from maps.i18n import text
from maps.web.colours import grid_colours
from maps.web.queries import flag_columns, person_text, plan_people, status_text
from partitioning.codes import building_numbers, short_code

__all__ = ["to_lonlat", "display_geometry", "round_lonlat", "grid_frame", "layer_geojson"]

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=32)
def _lonlat_transformer(crs):
    """A transformer from ``crs`` to longitude/latitude, made from the PROJ pipeline that
    ``Transformer.from_crs`` chooses: in every new thread (each request of the threaded
    development server) a ``from_crs`` transformer searches PROJ's database again, about 80 ms;
    one made from its pipeline does not (under 1 ms)."""

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


def grid_frame(plan: Plan, grids: gpd.GeoDataFrame, *, lang: str, tolerance: float = 2.0) -> gpd.GeoDataFrame:
    """Grids for display: code, figures, status and leader as text, colour, link; EPSG:4326."""
    colours = grid_colours(grids)
    people = plan_people(plan)
    staff = people[(people["role"].astype(str) == "grid_leader").to_numpy(dtype=bool)]
    shown = [person_text(n, lang, withheld=w) for n, w in zip(staff["name"], staff["withheld"])]
    leaders = (pd.Series(shown, index=staff.index, dtype=object).groupby(staff["grid_id"].astype(str))
               .agg(lambda s: "、".join(dict.fromkeys(s))))
    out = grids[["grid_code", "households", "n_buildings", "status", "geometry"]].copy()
    out["grid_code"] = out["grid_code"].astype(str)
    prefix = plan.meta.get("code_prefix")
    out["number"] = [short_code(c, prefix) for c in out["grid_code"]]
    out["link"] = grids["link"] if "link" in grids.columns else out["grid_code"]
    out["status_text"] = [status_text(s, lang) for s in out["status"]]
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
    Grids carry their ``number`` (:func:`partitioning.codes.short_code`), buildings their ``label``
    (name or address) and ``no`` (number in their grid, :func:`partitioning.codes.building_numbers`).

    Parameters
    ----------
    plan : geo.plan.Plan
    layer : {"grids", "buildings"}
    lang : {"zh", "en"}
        Language of the text properties (status, "not assigned").
    grid_id : str, optional
        Only this grid (grids) or this grid's buildings (buildings).
    datum : {"wgs84", "gcj02", "bd09"}
        Coordinates for a basemap in an offset datum are shifted to match it (:func:`geo.crs.to_datum`).
    grids : GeoDataFrame, optional
        The grids of another layout or level (:func:`layout_grids`); default the plan's grids.
    """
    if layer == "grids":
        frame = grid_frame(plan, plan.grids if grids is None else grids, lang=lang)
        if grid_id is not None:
            frame = frame.loc[[str(grid_id)]]
    elif layer == "buildings":
        b = plan.buildings if grid_id is None else plan.buildings[plan.buildings["grid_id"] == grid_id]
        cols = ["grid_id", "grid_code", "households", *(c for c in ("name", "persons") if c in b.columns),
                *flag_columns(b), "geometry"]
        frame = display_geometry(b[cols], tolerance=0.3)
        frame.insert(3, "label", building_names(b).to_numpy())  # name or address, as people know it
        frame.insert(4, "no", building_numbers(b.geometry, b["grid_id"]).to_numpy())  # its number in its grid
    else:
        raise ValueError(f"layer must be 'grids' or 'buildings', not {layer!r}")
    return to_datum(frame, datum).to_json(drop_id=False, ensure_ascii=False)


# --- folium ------------------------------------------------------------------------------

