"""Export a plan's grids and buildings for other GIS: GeoPackage, GeoJSON, Shapefile, KML, CSV.

=========  =====================================================================================
format     files written (``OUT`` is the path given)
=========  =====================================================================================
gpkg       ``OUT`` (``.gpkg``), layers ``grids`` and ``buildings``
geojson    ``<OUT stem>_grids.geojson`` and ``<OUT stem>_buildings.geojson``
shp        ``<OUT stem>_grids.shp`` and ``<OUT stem>_buildings.shp`` with ``.shx .dbf .prj .cpg``;
           the ``.cpg`` says UTF-8 so Chinese names read correctly; field names are cut to 10
           characters (:data:`SHAPEFILE_FIELDS` for the plan's own columns)
kml        ``OUT`` (``.kml``), folders ``grids`` and ``buildings``; always WGS 84 lon/lat (the
           KML standard), whatever ``crs`` says; a ``name`` field becomes the placemark name,
           a field ``id`` is written as ``src_id`` (LIBKML reads placemark ids as ``id``)
csv        ``OUT`` (``.csv``), one row per grid: the grid attributes, ``area_m2`` and the
           coordinates of a point inside the grid (``lon``/``lat`` or ``x``/``y``); UTF-8 with a
           byte-order mark so that Excel shows Chinese text
=========  =====================================================================================

Coordinates are written in ``crs`` (default: the input's geographic CRS, ``meta["source_crs"]``).
Every vertex is transformed the same way, so grids that share an edge in the plan still share it.
Each file is written in a temporary folder beside ``OUT`` and moved into place when complete.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as _ProjCRSError

from geo.errors import CRSError, InputError

__all__ = ["EXPORT_FORMATS", "SHAPEFILE_FIELDS", "export_plan", "shapefile_names"]

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("gpkg", "geojson", "shp", "kml", "csv")
_SUFFIX = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".shp", "kml": ".kml", "csv": ".csv"}

#: Shapefile field names (at most 10 characters) of the plan's own columns.
SHAPEFILE_FIELDS = {
    "building_id": "bldg_id",
    "grid_id": "grid_id",
    "grid_code": "grid_code",
    "households": "households",
    "households_source": "hh_source",
    "n_buildings": "n_bldgs",
    "persons": "persons",
    "status": "status",
    "area_m2": "area_m2",
}


def shapefile_names(columns):
    """Map column names to unique Shapefile field names of at most 10 characters.

    The plan's own columns use :data:`SHAPEFILE_FIELDS`; other names are cut to 10 characters
    and, where two would clash (dBASE names ignore case), end in ``_1``, ``_2`` …

    Parameters
    ----------
    columns : iterable of str

    Returns
    -------
    dict
        Original name to field name, for every column.
    """
    mapping, used = {}, set()
    for col in columns:
        name = SHAPEFILE_FIELDS.get(col, str(col)[:10])
        k = 0
        while name.lower() in used:
            k += 1
            name = f"{str(col)[:10 - len(str(k)) - 1]}_{k}"
        used.add(name.lower())
        mapping[col] = name
    return mapping


def _target_crs(plan, crs, fmt):
    if fmt == "kml":
        if crs is not None and not CRS.from_user_input(crs).equals(CRS.from_epsg(4326)):
            logger.warning("KML is always WGS 84 longitude/latitude; the CRS %s asked for is not used", crs)
        return CRS.from_epsg(4326)
    if crs is None:
        crs = plan.meta.get("source_crs")
        if crs is None:
            logger.info("the plan does not name its source CRS; exporting in EPSG:4326")
            crs = "EPSG:4326"
    try:
        return CRS.from_user_input(crs)
    except _ProjCRSError as exc:
        raise CRSError(f"unknown CRS {crs!r} for the export ({exc}); give e.g. EPSG:4490 or EPSG:4326") from exc


def _layer(gdf, key, crs):
    """A plain table with the id as a column, text for lists/dicts, in ``crs``."""
    out = gdf.reset_index() if gdf.index.name == key else gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
            )
    if out.crs is None:
        raise CRSError(f"the plan's {key.split('_')[0]} layer has no CRS; it cannot be exported")
    return out.to_crs(crs)


def _names(out, fmt, layer=None):
    stem = out.stem if out.suffix.lower() == _SUFFIX[fmt] else out.name
    if layer is None:
        return out.with_name(stem + _SUFFIX[fmt])
    return out.with_name(f"{stem}_{layer}{_SUFFIX[fmt]}")


def _write_gpkg(grids, buildings, tmp, out):
    path = tmp / "plan.gpkg"
    pyogrio.write_dataframe(grids, path, layer="grids", driver="GPKG")
    pyogrio.write_dataframe(buildings, path, layer="buildings", driver="GPKG")
    return [(path, _names(out, "gpkg"))]


def _write_geojson(grids, buildings, tmp, out):
    moves = []
    for name, gdf in (("grids", grids), ("buildings", buildings)):
        path = tmp / f"{name}.geojson"
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GeoJSON")
        moves.append((path, _names(out, "geojson", name)))
    return moves


def _write_shp(grids, buildings, tmp, out):
    moves = []
    for name, gdf in (("grids", grids), ("buildings", buildings)):
        cols = [c for c in gdf.columns if c != gdf.geometry.name]
        mapping = shapefile_names(cols)
        renamed = {k: v for k, v in mapping.items() if k != v}
        if renamed:
            logger.info("shapefile %s: fields renamed %s", name, renamed)
        path = tmp / f"{name}.shp"
        pyogrio.write_dataframe(gdf.rename(columns=mapping), path, layer=name,
                                driver="ESRI Shapefile", encoding="UTF-8")
        final = _names(out, "shp", name)
        for part in sorted(tmp.glob(f"{name}.*")):
            moves.append((part, final.with_suffix(part.suffix)))
    return moves


def _write_kml(grids, buildings, tmp, out):
    path = tmp / "plan.kml"
    # LIBKML reads a placemark's own id back as `id`, hiding a field of that name
    grids, buildings = (g.rename(columns={c: f"src_{c}" for c in g.columns if str(c).lower() == "id"})
                        for g in (grids, buildings))
    pyogrio.write_dataframe(grids, path, layer="grids", driver="LIBKML")
    pyogrio.write_dataframe(buildings, path, layer="buildings", driver="LIBKML", append=True)
    return [(path, _names(out, "kml"))]


def _write_csv(grids, metric_grids, tmp, out):
    table = pd.DataFrame(grids.drop(columns=grids.geometry.name))
    table["area_m2"] = shapely.area(metric_grids.geometry.values).round(1)
    pts = shapely.get_coordinates(shapely.point_on_surface(grids.geometry.values))
    x, y = ("lon", "lat") if grids.crs.is_geographic else ("x", "y")
    table[x], table[y] = pts[:, 0], pts[:, 1]
    path = tmp / "grids.csv"
    table.to_csv(path, index=False, encoding="utf-8-sig")
    return [(path, _names(out, "csv"))]


def export_plan(plan, out, *, fmt, crs=None):
    """Write the plan's grids and buildings in a format other GIS read.

    Parameters
    ----------
    plan : geo.plan.Plan
        The plan (grids and buildings in its metric CRS).
    out : str or pathlib.Path
        Output path; see the module documentation for the files each format writes.
    fmt : {"gpkg", "geojson", "shp", "kml", "csv"}
        Output format.
    crs : str or pyproj.CRS, optional
        CRS of the written coordinates, e.g. ``"EPSG:4490"``; default the input's geographic
        CRS (``plan.meta["source_crs"]``). KML is always EPSG:4326.

    Returns
    -------
    list of pathlib.Path
        Every file written.

    Raises
    ------
    geo.errors.InputError
        For an unknown format.
    geo.errors.CRSError
        For an unknown CRS.
    """
    fmt = str(fmt).lower()
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    target = _target_crs(plan, crs, fmt)
    grids = _layer(plan.grids, "grid_id", target)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        if fmt == "csv":
            moves = _write_csv(grids, plan.grids, Path(tmp), out)
        else:
            buildings = _layer(plan.buildings, "building_id", target)
            writer = {"gpkg": _write_gpkg, "geojson": _write_geojson, "shp": _write_shp,
                      "kml": _write_kml}[fmt]
            moves = writer(grids, buildings, Path(tmp), out)
        for src, dst in moves:
            os.replace(src, dst)
    files = [dst for _, dst in moves]
    logger.info("exported %d grids as %s in %s: %s", len(grids), fmt, target.to_string(),
                ", ".join(str(f) for f in files))
    return files
