"""Reading the inputs: buildings, barriers, boundaries and household points.

Everything goes through pyogrio (GDAL): GeoJSON, GeoPackage (``layer``), Shapefile, and
OpenStreetMap ``.osm.pbf``/``.osm`` (buildings from GDAL's ``multipolygons`` layer, roads and
waterways from its ``lines`` layer). Household points may also come from CSV with lon/lat or
x/y columns. Readers return data in the file's own CRS (after ``--crs`` labelling and
``--datum`` conversion); projecting is :mod:`geo.crs`'s job and validating :mod:`geo.validate`'s.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geo.cad import read_cad_footprints
from geo.csvfile import is_table, read_table
from geo.errors import InputError, rows_text
from geo.frames import (  # noqa: F401
    OSM_MAJOR_HIGHWAYS,
    OSM_MINOR_HIGHWAYS,
    barriers_frame,
    boundaries_frame,
    buildings_frame,
    household_points_frame,
)
from geo.headers import find_column

__all__ = [
    "is_osm",
    "is_cad",
    "shapefile_encoding",
    "file_sha256",
    "read_layer",
    "read_buildings",
    "read_barriers",
    "read_boundaries",
    "read_household_points",
    "read_household_table",
    "coordinate_columns",
    "OSM_MAJOR_HIGHWAYS",
    "OSM_MINOR_HIGHWAYS",
]

logger = logging.getLogger(__name__)

_OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")


def is_osm(path) -> bool:
    """Whether ``path`` is an OpenStreetMap extract (``.osm.pbf`` or ``.osm``)."""
    return str(path).lower().endswith(_OSM_SUFFIXES)


def is_cad(path) -> bool:
    """Whether ``path`` is a CAD drawing (``.dxf``)."""
    return str(path).lower().endswith(".dxf")


def file_sha256(path) -> str:
    """SHA-256 of a file, recorded in the plan so a plan names exactly what it was made from."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _existing(path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.is_dir() and p.suffix.lower() not in {".gdb"}:
        raise InputError(f"{p}: is a folder, not a data file; give the .geojson/.gpkg/.shp/.osm.pbf file")
    return p


def shapefile_encoding(path) -> str | None:
    """The encoding of a shapefile's attributes when nothing in the files declares it, else ``None``.

    A shapefile says its encoding in a ``.cpg`` file or in the ``.dbf``'s language driver byte;
    GDAL reads one without either as ISO-8859-1, which turns Chinese field names and values into
    mojibake (``Â¥ºÅ`` for 楼号). Files saved by Chinese GIS and CAD software without a ``.cpg`` are
    usually GBK: this reads the field names and records and answers ``UTF-8`` if they decode as
    UTF-8, else ``GB18030`` (a superset of GBK) if they decode as that, else ``None``.
    """
    p = Path(path)
    if p.suffix.lower() != ".shp" or any(p.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next((q for q in (p.with_suffix(".dbf"), p.with_suffix(".DBF")) if q.exists()), None)
    if dbf is None:
        return None
    data = dbf.read_bytes()
    if len(data) < 33 or data[29] != 0:  # a language driver byte: GDAL knows the code page
        return None
    header = int.from_bytes(data[8:10], "little")
    text = b"".join(data[i:i + 11] for i in range(32, max(32, header - 1), 32)) + data[header:]
    if text.isascii():
        return None
    for encoding in ("UTF-8", "GB18030"):
        try:
            text.decode(encoding)
        except UnicodeDecodeError:
            continue
        logger.info("%s: no .cpg file; the attributes decode as %s and are read so (name another encoding to override)",
                    p, encoding)
        return encoding
    return None


def read_layer(path, *, layer=None, on_invalid: str = "raise", encoding: str | None = None,
               **kwargs) -> gpd.GeoDataFrame:
    """Read one vector layer with pyogrio, turning GDAL's errors into :class:`InputError`.

    Parameters
    ----------
    path : str or Path
    layer : str or int, optional
        For multi-layer formats (GeoPackage, OSM). A GeoPackage with several layers needs it.
    on_invalid : str
        Passed to :func:`pyogrio.read_dataframe`: ``"ignore"`` turns geometries GEOS cannot build
        (e.g. a broken OSM ring) into missing geometries that validation then reports.
    encoding : str, optional
        Of a shapefile's attributes (``--encoding``); by default its ``.cpg``, else detected
        (:func:`shapefile_encoding`). Other formats declare their own and ignore it.
    """
    p = _existing(path)
    if p.suffix.lower() in (".shp", ".dbf"):
        encoding = encoding or shapefile_encoding(p)
        if encoding:
            kwargs["encoding"] = encoding
    elif encoding:
        logger.info("%s: an encoding applies to shapefiles and CSV files; this file declares its own", p)
    try:
        layers = pyogrio.list_layers(p)
    except Exception as exc:  # GDAL's DataSourceError and friends
        raise InputError(f"{p}: cannot be read as vector data ({exc}); "
                         "give a GeoJSON, GeoPackage, Shapefile or OSM (.osm.pbf) file") from exc
    names = [str(n) for n in layers[:, 0]]
    if layer is None and len(names) > 1 and not is_osm(p):
        raise InputError(f"{p}: has {len(names)} layers ({', '.join(names)})",
                         hint="choose one with {layer}")
    if layer is not None and not isinstance(layer, int) and str(layer) not in names:
        raise InputError(f"{p}: has no layer {layer!r}; its layers are: {', '.join(names)}")
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer, on_invalid=on_invalid, **kwargs)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(f"{p}: the attributes cannot be decoded as {kwargs.get('encoding')} ({exc})",
                         hint="name their encoding with {encoding}, e.g. {encoding:GBK} or {encoding:UTF-8}") from exc
    except Exception as exc:
        raise InputError(f"{p}: cannot be read ({exc})") from exc
    if not isinstance(gdf, gpd.GeoDataFrame):  # pyogrio reads a CSV or a plain table as a DataFrame
        raise InputError(f"{p}: is a table without geometry (columns: {', '.join(map(str, gdf.columns[:8]))}); "
                         "this input needs a file of polygons or lines (GeoJSON, GeoPackage, Shapefile, OSM); "
                         "is it the right file?")
    if len(gdf) == 0:
        where = f" layer {layer!r}" if layer is not None else ""
        raise InputError(f"{p}{where}: has no features; is it the right file or layer?")
    return gdf


def _osm_tag(other_tags: pd.Series, key: str) -> pd.Series:
    """Extract one tag from GDAL's hstore-like ``other_tags`` column (``"k"=>"v",...``)."""
    pattern = re.compile(r'"' + re.escape(key) + r'"=>"((?:[^"\\]|\\.)*)"')
    return other_tags.fillna("").map(lambda s: (m.group(1) if (m := pattern.search(s)) else None))


def _osm_ids(gdf: gpd.GeoDataFrame) -> pd.Series:
    """OSM ids as ``w<way id>`` / ``r<relation id>`` (osmium's notation)."""
    way = gdf.get("osm_way_id")
    rel = gdf.get("osm_id")
    ids = pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    if rel is not None:
        ids = ids.where(rel.isna(), "r" + rel.astype(str))
    if way is not None:
        ids = ids.where(way.isna(), "w" + way.astype(str))
    return ids


def _read_osm_buildings(p: Path) -> gpd.GeoDataFrame:
    gdf = read_layer(p, layer="multipolygons", on_invalid="ignore")
    if "building" not in gdf.columns:
        raise InputError(f"{p}: the OSM extract has no building=* areas")
    gdf = gdf[gdf["building"].notna()].copy()
    if gdf.empty:
        raise InputError(f"{p}: the OSM extract has no building=* areas")
    gdf["osm_id"] = _osm_ids(gdf)
    tags = gdf.get("other_tags", pd.Series(index=gdf.index, dtype=object))
    for key in ("building:levels", "height", "addr:street", "addr:housenumber"):
        gdf[key] = _osm_tag(tags, key)
    keep = ["osm_id", "name", "building", "building:levels", "height", "addr:street",
            "addr:housenumber", "geometry"]
    return gdf[[c for c in keep if c in gdf.columns]].reset_index(drop=True)


def read_buildings(path, *, layer=None, id_field: str | None = None, crs=None,
                   datum: str = "wgs84", encoding: str | None = None) -> gpd.GeoDataFrame:
    """Read building footprints, indexed by ``building_id``.

    IDs come from ``id_field``, else the OSM id (``w123``/``r45``) for OSM extracts, else a
    stable generated ID from the feature's position (``B00001`` is the first feature). Duplicate
    IDs are an error that names them.

    Parameters
    ----------
    path : str or Path
        GeoJSON, GeoPackage, Shapefile, OSM ``.osm.pbf``/``.osm`` (``building=*`` areas), or a CAD
        drawing ``.dxf`` (closed polylines and hatches, see :mod:`geo.cad`; needs ``crs``).
    layer : str, optional
        The layer of a multi-layer file; of a DXF drawing, the CAD layer(s) holding the
        footprints (comma-separated).
    id_field : str, optional
        The field holding each building's own ID.
    crs : optional
        The CRS of data that carries none (``--crs``).
    datum : {"wgs84", "gcj02", "bd09"}
        Convert offset Chinese coordinates to WGS84 (``--datum``).
    encoding : str, optional
        Of a shapefile's attributes without a ``.cpg``, or of a DXF drawing's texts without a
        declared code page (``--encoding``); detected by default.

    Returns
    -------
    GeoDataFrame
        In the file's CRS (EPSG:4326 after a datum conversion); geometries not yet validated.

    Examples
    --------
    >>> b = read_buildings("data/suzhou_gusu/buildings.geojson")
    >>> len(b), b.index[0], b.crs.to_string()
    (3076, 'B00001', 'EPSG:4326')
    """
    p = _existing(path)
    if is_cad(p):
        gdf = read_cad_footprints(p, cad_layer=layer, crs=crs, encoding=encoding)
    elif is_table(p):
        raise InputError(f"{p}: is a table without geometry, not footprints; give the buildings as GeoJSON, GeoPackage, "
                         "Shapefile, OSM or DXF", hint="give the table as {households_path}")
    else:
        gdf = _read_osm_buildings(p) if is_osm(p) else read_layer(p, layer=layer, encoding=encoding)
    gdf = buildings_frame(gdf, id_field=id_field, crs=crs, datum=datum, source=str(p))
    logger.info("%s: %d buildings read", p, len(gdf))
    return gdf


def read_barriers(path, *, layer=None, crs=None, datum: str = "wgs84") -> gpd.GeoDataFrame:
    """Read barrier lines: main roads, rivers, railways.

    From an OSM extract, ``highway`` and ``waterway`` lines are classified: trunk, primary and
    secondary roads, rivers, canals and railways are ``major`` barriers; tertiary, residential
    and unclassified roads and streams are ``minor``; footways, paths, cycleways and service
    roads are not barriers. In other files a ``barrier_class`` column (``major``/``minor``), or
    OSM-style ``highway``/``waterway`` columns, classify the lines; a file with neither is
    taken as the user's own barriers, all ``major``. Polygon features (e.g. river areas)
    contribute their outlines.
    """
    p = _existing(path)
    if is_osm(p):
        gdf = read_layer(p, layer="lines", on_invalid="ignore")
        gdf = gdf[gdf.geometry.notna()]
    else:
        gdf = read_layer(p, layer=layer)
    return barriers_frame(gdf, crs=crs, datum=datum, source=str(p))


def read_boundaries(path, *, layer=None, id_field: str | None = None, name_field: str | None = None,
                    crs=None, datum: str = "wgs84") -> gpd.GeoDataFrame:
    """Read boundary polygons (street, community or compound), with ``boundary_id`` and ``name``.

    ``boundary_id`` comes from ``id_field`` or the first of ``id``, ``code``, ``adcode``; else the
    feature's position (``A001`` …). ``name`` from ``name_field`` or a ``name`` column.
    """
    p = _existing(path)
    return boundaries_frame(read_layer(p, layer=layer), id_field=id_field, name_field=name_field, crs=crs,
                            datum=datum, source=str(p))


def coordinate_columns(table: pd.DataFrame) -> tuple[tuple[str, str] | None, bool]:
    """The coordinate columns of a table, and whether they are longitude/latitude.

    ``lon``/``lat``, ``longitude``/``latitude``, ``经度``/``纬度`` … or ``x``/``y``, ``easting``/
    ``northing``, ``X坐标``/``Y坐标`` (see :data:`geo.headers.ALIASES`); ``(None, False)`` if none.
    """
    lon, lat = find_column(table, "lon"), find_column(table, "lat")
    if lon is not None and lat is not None:
        return (lon, lat), True
    x, y = find_column(table, "x"), find_column(table, "y")
    if x is not None and y is not None:
        return (x, y), False
    return None, False


def _points_from_table(table: pd.DataFrame, p: Path, *, crs) -> gpd.GeoDataFrame:
    if table.empty:
        raise InputError(f"{p}: has no rows")
    pair, lonlat = coordinate_columns(table)
    if pair is None:
        raise InputError(f"{p}: needs coordinate columns lon/lat (or longitude/latitude, 经度/纬度) or x/y "
                         "for household points, or a building column (楼栋号, 楼栋, building_id …; "
                         f"the ledger key) for a household ledger; it has: {', '.join(map(str, table.columns))}")
    if not lonlat and crs is None:
        raise InputError(f"{p}: x/y columns carry no CRS", hint="name it with {crs}, e.g. {crs:EPSG:4549}")
    xy = table[list(pair)].apply(lambda c: pd.to_numeric(c.astype(str).str.strip(), errors="coerce"))
    bad = xy.isna().any(axis=1)
    if bad.any():
        first = int(table.attrs.get("first_line", 2))
        raise InputError(f"{p}: {int(bad.sum())} row(s) have missing or non-numeric coordinates "
                         f"({rows_text(np.flatnonzero(bad) + first - 2, csv=True)}); fix or remove them")
    rename = {c: role for role in ("household_id", "persons") if (c := find_column(table, role)) is not None}
    attrs = table.drop(columns=list(pair)).rename(columns=rename)
    for col in attrs.columns:  # numbers as numbers (as pandas would infer), IDs as written
        if col in ("household_id", "building_id"):
            continue
        values = pd.to_numeric(attrs[col], errors="coerce")
        if values.notna().sum() and (values.notna() == attrs[col].notna()).all():
            attrs[col] = values
    geom = gpd.points_from_xy(xy[pair[0]], xy[pair[1]])
    return gpd.GeoDataFrame(attrs, geometry=geom, crs=(crs or "EPSG:4326") if lonlat else crs)


def read_household_table(path, *, sheet=None, encoding: str | None = None) -> pd.DataFrame:
    """A CSV or spreadsheet of households as text (see :func:`geo.csvfile.read_table`)."""
    return read_table(_existing(path), sheet=sheet, encoding=encoding)


def read_household_points(path, *, layer=None, crs=None, datum: str = "wgs84", sheet=None,
                          encoding: str | None = None, table: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Read household points: one point per household.

    CSV files (UTF-8 or GBK) and spreadsheets (``.xlsx``, ``sheet``) need ``lon``/``lat`` columns
    (or ``经度``/``纬度``; WGS84 unless ``--crs`` says otherwise) or ``x``/``y`` columns with
    ``--crs``; GeoJSON/GeoPackage point layers carry their own CRS. Optional columns:
    ``household_id``/``户号`` (else ``H00001`` … by row), ``persons``/``人数`` (people in the
    household), and flag columns (``elderly_alone``, ``disabled``, ``low_income``, ``ill``, or any
    column named ``flag_*``) that are counted per building. A table already read from ``path``
    may be passed as ``table``.
    """
    p = _existing(path)
    csv = is_table(p)
    if csv:
        if table is None:
            table = read_table(p, sheet=sheet, encoding=encoding)
        gdf = _points_from_table(table, p, crs=crs)
    else:
        gdf = read_layer(p, layer=layer, encoding=encoding)
    return household_points_frame(gdf, crs=None if csv else crs, datum=datum, source=str(p), csv=csv)
