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

from geo.crs import convert_datum, ensure_crs
from geo.csvfile import is_table, read_table
from geo.errors import InputError, ids_text, rows_text
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

#: OSM ``highway`` values that are barriers no grid crosses unless there is no other way.
OSM_MAJOR_HIGHWAYS = frozenset({
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link",
})
#: OSM ``highway`` values that are minor barriers (crossed when it helps balance, at a cost).
OSM_MINOR_HIGHWAYS = frozenset({"tertiary", "tertiary_link", "unclassified", "residential",
                                "living_street"})
_OSM_MAJOR_WATERWAYS = frozenset({"river", "canal"})
_OSM_MINOR_WATERWAYS = frozenset({"stream", "drain", "ditch"})
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
        logger.info("%s: no .cpg file; the attributes decode as %s and are read so (override with --encoding)",
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
        logger.info("%s: --encoding applies to shapefiles and CSV files; this file declares its own", p)
    try:
        layers = pyogrio.list_layers(p)
    except Exception as exc:  # GDAL's DataSourceError and friends
        raise InputError(f"{p}: cannot be read as vector data ({exc}); "
                         "give a GeoJSON, GeoPackage, Shapefile or OSM (.osm.pbf) file") from exc
    names = [str(n) for n in layers[:, 0]]
    if layer is None and len(names) > 1 and not is_osm(p):
        raise InputError(f"{p}: has {len(names)} layers ({', '.join(names)}); choose one with --layer")
    if layer is not None and not isinstance(layer, int) and str(layer) not in names:
        raise InputError(f"{p}: has no layer {layer!r}; its layers are: {', '.join(names)}")
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer, on_invalid=on_invalid, **kwargs)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(f"{p}: the attributes cannot be decoded as {kwargs.get('encoding')} ({exc}); "
                         "name their encoding with --encoding, e.g. --encoding GBK or --encoding UTF-8") from exc
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


def _apply_ids(gdf: gpd.GeoDataFrame, *, id_field: str | None, path: Path) -> gpd.GeoDataFrame:
    """Index the buildings by their own IDs (see :func:`read_buildings`)."""
    if id_field is not None:
        if id_field not in gdf.columns:
            raise InputError(f"{path}: has no field {id_field!r} for --id-field; "
                             f"its fields are: {', '.join(c for c in gdf.columns if c != 'geometry')}")
        ids = gdf[id_field]
        missing = ids.isna()
        if missing.any():
            raise InputError(f"{path}: {int(missing.sum())} feature(s) have no {id_field!r} "
                             f"({rows_text(np.flatnonzero(missing))}); fill them in or drop --id-field "
                             "to generate IDs")
        ids = ids.map(_id_text)
        source = f"field {id_field!r}"
    elif "osm_id" in gdf.columns and gdf["osm_id"].notna().all():
        ids = gdf["osm_id"].astype(str)
        source = "OSM ids"
    else:
        # Stable generated IDs: the feature's position in the file, zero-padded (B00001 ...).
        width = max(5, len(str(len(gdf))))
        ids = pd.Series([f"B{i + 1:0{width}d}" for i in range(len(gdf))], index=gdf.index)
        source = "generated from feature order (B00001 = the file's first feature)"
    dup = ids[ids.duplicated(keep=False)]
    if not dup.empty:
        names = sorted(set(dup))
        shown = ", ".join(names[:20]) + (" …" if len(names) > 20 else "")
        raise InputError(f"{path}: {len(names)} building ID(s) occur more than once: {shown}; "
                         "make the IDs unique or choose another --id-field")
    gdf = gdf.set_axis(pd.Index(ids.to_numpy(dtype=object), name="building_id"), axis=0)
    logger.info("%s: building IDs %s", path, source)
    return gdf


def _id_text(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


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
        from geo.cad import read_cad_footprints

        gdf = read_cad_footprints(p, cad_layer=layer, crs=crs, encoding=encoding)
    elif is_table(p):
        raise InputError(f"{p}: is a table without geometry, not footprints; give the buildings as GeoJSON, GeoPackage, "
                         "Shapefile, OSM or DXF, and the table with --households")
    else:
        gdf = _read_osm_buildings(p) if is_osm(p) else read_layer(p, layer=layer, encoding=encoding)
    gdf = ensure_crs(gdf, crs=crs, path=str(p))
    gdf = _apply_ids(gdf, id_field=id_field, path=p)
    gdf = convert_datum(gdf, datum, path=str(p))
    logger.info("%s: %d buildings read", p, len(gdf))
    return gdf


def _classify_barriers(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``barrier_class`` (major/minor) and ``kind``; drop lines that are no barrier."""
    cls = pd.Series(None, index=gdf.index, dtype=object)
    kind = pd.Series(None, index=gdf.index, dtype=object)
    if "barrier_class" in gdf.columns:  # the user's own classification wins
        cls = gdf["barrier_class"].astype(object).str.lower().where(gdf["barrier_class"].notna())
        kind = pd.Series("barrier", index=gdf.index, dtype=object)
    for key, major, minor in (("highway", OSM_MAJOR_HIGHWAYS, OSM_MINOR_HIGHWAYS),
                              ("waterway", _OSM_MAJOR_WATERWAYS, _OSM_MINOR_WATERWAYS)):
        if key not in gdf.columns:
            continue
        v = gdf[key]
        cls = cls.where(cls.notna(), np.where(v.isin(major), "major",
                                              np.where(v.isin(minor), "minor", None)))
        kind = kind.where(kind.notna() | v.isna(), key + "=" + v.astype(str))
    if "railway" in gdf.columns:
        rail = gdf["railway"].isin(["rail", "light_rail", "subway"]) & cls.isna()
        cls = cls.where(~rail, "major")
        kind = kind.where(~rail, "railway=" + gdf["railway"].astype(str))
    has_tags = any(c in gdf.columns for c in ("highway", "waterway", "railway", "barrier_class"))
    if not has_tags:
        # A plain line file: the user drew or chose these lines as barriers.
        cls = pd.Series("major", index=gdf.index, dtype=object)
        kind = pd.Series("barrier", index=gdf.index, dtype=object)
    out = gdf.assign(barrier_class=cls, kind=kind)
    bad = out["barrier_class"].notna() & ~out["barrier_class"].isin(["major", "minor"])
    if bad.any():
        raise InputError(f"barrier_class must be 'major' or 'minor'; {rows_text(np.flatnonzero(bad))} "
                         f"have {ids_text(sorted(set(map(str, out.loc[bad, 'barrier_class']))))}")
    out = out[out["barrier_class"].notna()]
    cols = ["barrier_class", "kind"] + (["name"] if "name" in out.columns else []) + ["geometry"]
    return out[cols].reset_index(drop=True)


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
    gdf = ensure_crs(gdf, crs=crs, path=str(p))
    gdf = convert_datum(gdf, datum, path=str(p))
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    polys = gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    gdf.loc[polys, "geometry"] = gdf.loc[polys].geometry.boundary
    lines = gdf.geom_type.isin(["LineString", "MultiLineString", "LinearRing"])
    if not lines.any():
        raise InputError(f"{p}: holds no lines or polygons to use as barriers")
    out = _classify_barriers(gdf[lines])
    logger.info("%s: %d barrier lines (%d major)", p, len(out), int((out.barrier_class == "major").sum()))
    return out


def read_boundaries(path, *, layer=None, id_field: str | None = None, name_field: str | None = None,
                    crs=None, datum: str = "wgs84") -> gpd.GeoDataFrame:
    """Read boundary polygons (street, community or compound), with ``boundary_id`` and ``name``.

    ``boundary_id`` comes from ``id_field`` or the first of ``id``, ``code``, ``adcode``; else the
    feature's position (``A001`` …). ``name`` from ``name_field`` or a ``name`` column.
    """
    p = _existing(path)
    gdf = read_layer(p, layer=layer)
    gdf = ensure_crs(gdf, crs=crs, path=str(p))
    gdf = convert_datum(gdf, datum, path=str(p))
    bad = ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        raise InputError(f"{p}: boundaries must be polygons; {rows_text(np.flatnonzero(bad))} are "
                         f"{ids_text(sorted(set(gdf.geom_type[bad].fillna('no geometry').astype(str))))}")
    if id_field is None:
        id_field = next((c for c in ("boundary_id", "id", "code", "adcode") if c in gdf.columns), None)
    if id_field is not None and id_field not in gdf.columns:
        raise InputError(f"{p}: has no field {id_field!r}")
    ids = (gdf[id_field].map(_id_text) if id_field else
           pd.Series([f"A{i + 1:03d}" for i in range(len(gdf))], index=gdf.index))
    if ids.duplicated().any():
        raise InputError(f"{p}: boundary IDs occur more than once: {ids_text(sorted(set(ids[ids.duplicated()])))}")
    name_field = name_field or ("name" if "name" in gdf.columns else None)
    names = gdf[name_field].astype(str) if name_field else ids
    return gpd.GeoDataFrame({"boundary_id": ids.to_numpy(), "name": names.to_numpy()},
                            geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


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
                         f"--ledger-key) for a household ledger; it has: {', '.join(map(str, table.columns))}")
    if not lonlat and crs is None:
        raise InputError(f"{p}: x/y columns carry no CRS; name it with --crs (e.g. --crs EPSG:4549)")
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
        gdf = ensure_crs(gdf, path=str(p))
    else:
        gdf = ensure_crs(read_layer(p, layer=layer, encoding=encoding), crs=crs, path=str(p))
        gdf = gdf.rename(columns={c: role for role in ("household_id", "persons")
                                  if (c := find_column(gdf, role)) is not None})
    bad = gdf.geometry.isna() | (gdf.geom_type != "Point")
    if bad.any():
        raise InputError(f"{p}: household features must be points; "
                         f"{rows_text(np.flatnonzero(bad), csv=csv)} are not")
    gdf = convert_datum(gdf, datum, path=str(p))
    if "household_id" in gdf.columns:
        ids = gdf["household_id"].map(_id_text)
        if ids.duplicated().any():
            raise InputError(f"{p}: household_id values occur more than once: "
                             f"{ids_text(sorted(set(ids[ids.duplicated()])))}")
    else:
        width = max(5, len(str(len(gdf))))
        ids = pd.Series([f"H{i + 1:0{width}d}" for i in range(len(gdf))], index=gdf.index)
    gdf = gdf.drop(columns=["household_id"], errors="ignore")
    gdf.index = pd.Index(ids.to_numpy(dtype=object), name="household_id")
    if "persons" in gdf.columns:
        persons = pd.to_numeric(gdf["persons"], errors="coerce")
        bad = persons.isna() | (persons < 0)
        if bad.any():
            shown = ids_text(f"{i}={gdf.at[i, 'persons']}" for i in gdf.index[bad])
            raise InputError(f"{p}: 'persons' must be a whole number ≥ 0; households {shown} are not")
        gdf["persons"] = persons.astype("int64")
    return gdf
