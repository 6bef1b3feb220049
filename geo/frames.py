"""Turning a GeoDataFrame — read from a file by :mod:`geo.io`, or given by a notebook — into
gridplan's inputs: the CRS labelled (``crs``), offset Chinese coordinates converted (``datum``),
buildings indexed by their own IDs, barriers classified, boundaries and household points named.

The readers of :mod:`geo.io` are "read the file, then the function here"; :mod:`geo.load`'s
``prepare_*`` functions call these on frames a user already has. ``source`` names the data in
messages (the file's path, or e.g. ``"the buildings GeoDataFrame"``).

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> gdf = gpd.GeoDataFrame({"code": [11, 12]}, geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)],
...                        crs="EPSG:4549")
>>> buildings_frame(gdf, id_field="code").index.tolist()
['11', '12']
>>> buildings_frame(gdf).index.tolist()
['B00001', 'B00002']
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import convert_datum, ensure_crs
from geo.errors import InputError, ids_text, rows_text
from geo.headers import find_column

__all__ = ["buildings_frame", "barriers_frame", "boundaries_frame", "household_points_frame", "id_text",
           "OSM_MAJOR_HIGHWAYS", "OSM_MINOR_HIGHWAYS"]

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

def _apply_ids(gdf: gpd.GeoDataFrame, *, id_field: str | None, path: str) -> gpd.GeoDataFrame:
    """Index the buildings by their own IDs (see :func:`buildings_frame`)."""
    if id_field is not None:
        if id_field not in gdf.columns:
            raise InputError(f"{path}: has no field {id_field!r} for the building IDs; "
                             f"its fields are: {', '.join(c for c in gdf.columns if c != 'geometry')}",
                             hint="choose one of them with {id_field}")
        ids = gdf[id_field]
        missing = ids.isna()
        if missing.any():
            raise InputError(f"{path}: {int(missing.sum())} feature(s) have no {id_field!r} "
                             f"({rows_text(np.flatnonzero(missing))})",
                             hint="fill them in, or leave out {id_field} to generate IDs")
        ids = ids.map(id_text)
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
        raise InputError(f"{path}: {len(names)} building ID(s) occur more than once: {shown}",
                         hint="make the IDs unique, or choose another field with {id_field}")
    gdf = gdf.set_axis(pd.Index(ids.to_numpy(dtype=object), name="building_id"), axis=0)
    logger.info("%s: building IDs %s", path, source)
    return gdf


def id_text(value) -> str:
    """An ID as text: a whole float (``12.0``, as a shapefile stores integers) as ``12``."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def buildings_frame(gdf: gpd.GeoDataFrame, *, id_field: str | None = None, crs=None, datum: str = "wgs84",
                    source: str = "the buildings") -> gpd.GeoDataFrame:
    """Building footprints indexed by ``building_id``, in a labelled CRS, datum converted.

    IDs come from ``id_field``, else the OSM id (``w123``/``r45``) of OSM extracts, else the index
    when it is already named ``building_id`` (a frame this function or a plan made), else a stable
    generated ID from the feature's position (``B00001`` is the first feature). Duplicate IDs are
    an error that names them. Geometries are not yet validated (:func:`geo.validate.validate_buildings`).
    """
    gdf = ensure_crs(gdf, crs=crs, path=source)
    if id_field is None and gdf.index.name == "building_id":
        if not all(isinstance(i, str) for i in gdf.index):
            ids = np.array([id_text(i) for i in gdf.index], dtype=object)
            gdf = gdf.set_axis(pd.Index(ids, name="building_id"), axis=0)
        dup = gdf.index[gdf.index.duplicated()]
        if len(dup):
            raise InputError(f"{source}: building IDs occur more than once: {ids_text(sorted(set(dup)))}",
                             hint="make the index unique, or give the IDs with {id_field}")
    else:
        gdf = _apply_ids(gdf, id_field=id_field, path=source)
    return convert_datum(gdf, datum, path=source)


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
                                              np.where(v.isin(minor), "minor", None)))  # type: ignore[call-overload]
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


def barriers_frame(gdf: gpd.GeoDataFrame, *, crs=None, datum: str = "wgs84",
                   source: str = "the barriers") -> gpd.GeoDataFrame:
    """Barrier lines with ``barrier_class`` and ``kind`` (see :func:`geo.io.read_barriers`).

    Polygon features contribute their outlines; lines that are no barrier (footways …) are dropped.
    """
    gdf = ensure_crs(gdf, crs=crs, path=source)
    gdf = convert_datum(gdf, datum, path=source)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    polys = gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    gdf.loc[polys, "geometry"] = gdf.loc[polys].geometry.boundary
    lines = gdf.geom_type.isin(["LineString", "MultiLineString", "LinearRing"])
    if not lines.any():
        raise InputError(f"{source}: holds no lines or polygons to use as barriers")
    out = _classify_barriers(gdf[lines])
    logger.info("%s: %d barrier lines (%d major)", source, len(out), int((out.barrier_class == "major").sum()))
    return out


def boundaries_frame(gdf: gpd.GeoDataFrame, *, id_field: str | None = None, name_field: str | None = None,
                     crs=None, datum: str = "wgs84", source: str = "the boundaries") -> gpd.GeoDataFrame:
    """Boundary polygons with ``boundary_id`` and ``name`` (see :func:`geo.io.read_boundaries`)."""
    gdf = ensure_crs(gdf, crs=crs, path=source)
    gdf = convert_datum(gdf, datum, path=source)
    bad = ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        raise InputError(f"{source}: boundaries must be polygons; {rows_text(np.flatnonzero(bad))} are "
                         f"{ids_text(sorted(set(gdf.geom_type[bad].fillna('no geometry').astype(str))))}")
    if id_field is None:
        id_field = next((c for c in ("boundary_id", "id", "code", "adcode") if c in gdf.columns), None)
    if id_field is not None and id_field not in gdf.columns:
        raise InputError(f"{source}: has no field {id_field!r}; its fields are: "
                         f"{', '.join(c for c in gdf.columns if c != 'geometry')}")
    ids = (gdf[id_field].map(id_text) if id_field else
           pd.Series([f"A{i + 1:03d}" for i in range(len(gdf))], index=gdf.index))
    if ids.duplicated().any():
        raise InputError(f"{source}: boundary IDs occur more than once: {ids_text(sorted(set(ids[ids.duplicated()])))}")
    name_field = name_field or ("name" if "name" in gdf.columns else None)
    names = gdf[name_field].astype(str) if name_field else ids
    return gpd.GeoDataFrame({"boundary_id": ids.to_numpy(), "name": names.to_numpy()},
                            geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


def household_points_frame(gdf: gpd.GeoDataFrame, *, crs=None, datum: str = "wgs84",
                           source: str = "the household points", csv: bool = False) -> gpd.GeoDataFrame:
    """Household points indexed by ``household_id``, with ``persons`` as whole numbers.

    See :func:`geo.io.read_household_points` for the columns. ``csv``: ``source`` is a table,
    whose rows messages name by line.
    """
    gdf = ensure_crs(gdf, crs=crs, path=source)
    gdf = gdf.rename(columns={c: role for role in ("household_id", "persons")
                              if (c := find_column(gdf, role)) is not None and c != role})
    bad = gdf.geometry.isna() | (gdf.geom_type != "Point")
    if bad.any():
        raise InputError(f"{source}: household features must be points; "
                         f"{rows_text(np.flatnonzero(bad), csv=csv)} are not")
    gdf = convert_datum(gdf, datum, path=source)
    if "household_id" in gdf.columns:
        ids = gdf["household_id"].map(id_text)
        if ids.duplicated().any():
            raise InputError(f"{source}: household_id values occur more than once: "
                             f"{ids_text(sorted(set(ids[ids.duplicated()])))}")
    elif gdf.index.name == "household_id":  # already named (a frame this function made)
        ids = pd.Series(gdf.index.map(id_text), index=gdf.index)
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
            raise InputError(f"{source}: 'persons' must be a whole number ≥ 0; households {shown} are not")
        gdf["persons"] = persons.astype("int64")
    return gdf
