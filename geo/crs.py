"""Coordinate reference systems: labelling, choosing a metric CRS, and Chinese offset datums.

The CRS is a contract. Data without a CRS is refused unless the user names one. All distances
and areas are computed in a projected metric CRS chosen here and recorded in the plan: in China a
CGCS2000 3-degree Gauss–Krüger zone (EPSG:4534–4554, "CM" variants without a zone prefix in the
easting), elsewhere the UTM zone of the data. Web maps get EPSG:4326 at their boundary only.

GCJ-02 (Amap, Tencent, Google China) and BD-09 (Baidu) are deliberately offset coordinates, not
datums PROJ knows. Both directions of the shift live here, with
`prcoords <https://pypi.org/project/prcoords/>`_: :func:`convert_datum` turns input in an offset
datum into WGS84 (the inverse transforms, iterative, accurate to centimetres), and
:func:`to_datum` shifts WGS84 output to the datum of a basemap's tiles (Amap: GCJ-02), for web
maps at their boundary only.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import prcoords
import pyproj
import shapely

from geo.errors import CRSError

__all__ = ["DATUMS", "ensure_crs", "choose_metric_crs", "convert_datum", "to_datum", "to_metric"]

logger = logging.getLogger(__name__)

#: Offset coordinate systems ``convert_datum`` understands (``wgs84`` means: no conversion).
DATUMS = ("wgs84", "gcj02", "bd09")

# China's rough extent in lon/lat; the GCJ-02 offset and CGCS2000 zones apply inside it.
_CHINA_BOUNDS = (73.0, 18.0, 135.5, 54.0)
_CGCS2000_GK_CM75 = 4534  # EPSG of "CGCS2000 / 3-degree Gauss-Kruger CM 75E"; +1 per 3 degrees


def ensure_crs(gdf: gpd.GeoDataFrame, *, crs=None, path: str = "input") -> gpd.GeoDataFrame:
    """Return ``gdf`` with a CRS, or raise if it has none and none is given.

    Parameters
    ----------
    gdf : GeoDataFrame
    crs : str, int or pyproj.CRS, optional
        The CRS the user names for data that carries none (``--crs``). Data that carries a
        different CRS is refused: relabelling is not reprojecting.
    path : str
        The file, named in messages.
    """
    if crs is not None:
        try:
            named = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            raise CRSError(f"{path}: the CRS {crs!r} is not one pyproj understands ({exc})",
                           hint="give an EPSG code such as {crs:EPSG:4326} or {crs:EPSG:4490}") from exc
        if gdf.crs is None:
            return _check_lonlat(gdf.set_crs(named), path)
        if not pyproj.CRS(gdf.crs).equals(named, ignore_axis_order=True):
            raise CRSError(f"{path}: the file declares {gdf.crs.to_string()} but the CRS given is "
                           f"{named.to_string()}", hint="leave out {crs} to use the file's CRS, or fix the file")
        return gdf
    if gdf.crs is None:
        raise CRSError(f"{path}: the data has no CRS (no .prj file or SRS)",
                       hint="name it with {crs}, e.g. {crs:EPSG:4326} for longitude/latitude or "
                       "{crs:EPSG:4549} for CGCS2000 Gauss-Krüger CM 120E")
    return _check_lonlat(gdf, path)


def _check_lonlat(gdf: gpd.GeoDataFrame, path: str) -> gpd.GeoDataFrame:
    """Refuse a geographic CRS on coordinates that cannot be longitude/latitude."""
    if pyproj.CRS(gdf.crs).is_geographic and not gdf.empty:
        xmin, ymin, xmax, ymax = gdf.total_bounds
        if np.isfinite(xmin) and (xmin < -180 or xmax > 360 or ymin < -90 or ymax > 90):
            if -90 <= xmin and xmax <= 90 and -180 <= ymin and ymax <= 360:
                raise CRSError(f"{path}: the coordinates reach ({xmin:.4f}, {ymin:.4f})–({xmax:.4f}, {ymax:.4f}): "
                               "the columns look swapped (latitude in the longitude column); put longitude "
                               "first (x/lon) and latitude second (y/lat)")
            raise CRSError(f"{path}: the CRS {gdf.crs.to_string()} is longitude/latitude, but the "
                           f"coordinates reach ({xmin:.0f}, {ymin:.0f})–({xmax:.0f}, {ymax:.0f}), which are "
                           "not degrees", hint="name the projected CRS the data is really in with {crs}")
    return gdf


def _lonlat_centre(gdf: gpd.GeoDataFrame) -> tuple[float, float]:
    xmin, ymin, xmax, ymax = gdf.to_crs(4326).total_bounds
    return (xmin + xmax) / 2.0, (ymin + ymax) / 2.0


def choose_metric_crs(gdf: gpd.GeoDataFrame) -> pyproj.CRS:
    """Choose the projected metric CRS that gridplan computes in.

    In China: the CGCS2000 3-degree Gauss–Krüger zone whose central meridian is nearest the
    data's centre (e.g. EPSG:4549, CM 120°E, for Suzhou). Elsewhere: the data's UTM zone.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> suzhou = gpd.GeoDataFrame(geometry=[shapely.Point(120.6, 31.3)], crs=4326)
    >>> choose_metric_crs(suzhou).to_string()
    'EPSG:4549'
    >>> kotka = gpd.GeoDataFrame(geometry=[shapely.Point(26.9, 60.47)], crs=4326)
    >>> choose_metric_crs(kotka).to_string()
    'EPSG:32635'
    """
    if gdf.crs is None:
        raise CRSError("cannot choose a metric CRS for data without a CRS")
    lon, lat = _lonlat_centre(gdf)
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise CRSError("cannot choose a metric CRS: the data has no coordinates")
    x0, y0, x1, y1 = _CHINA_BOUNDS
    if x0 <= lon <= x1 and y0 <= lat <= y1:
        cm = int(3 * round(lon / 3.0))
        cm = min(max(cm, 75), 135)
        crs = pyproj.CRS.from_epsg(_CGCS2000_GK_CM75 + (cm - 75) // 3)
    else:
        crs = gpd.GeoDataFrame(geometry=[shapely.Point(lon, lat)], crs=4326).estimate_utm_crs()
    logger.info("metric CRS: %s (%s)", crs.to_string(), crs.name)
    return crs


def to_metric(gdf: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """Project ``gdf`` to the metric ``crs`` (a no-op when it is already there)."""
    crs = pyproj.CRS.from_user_input(crs)
    if not crs.is_projected:
        raise CRSError(f"{crs.to_string()} is not a projected CRS; distances need metres")
    if gdf.crs is not None and pyproj.CRS(gdf.crs).equals(crs):
        return gdf
    return gdf.to_crs(crs)


def _prcoords_inverse(datum: str):
    return {"gcj02": prcoords.gcj_wgs_bored, "bd09": prcoords.bd_wgs_bored}[datum]


def _prcoords_forward(datum: str):
    import prcoords

    return {"gcj02": prcoords.wgs_gcj, "bd09": prcoords.wgs_bd}[datum]


def _shift_unique(xy: np.ndarray, shift) -> np.ndarray:
    """``shift`` (a prcoords function of ``(lat, lon)``) applied to each distinct vertex once:
    footprints and grid coverages share many vertices."""
    uniq, inv = np.unique(xy, axis=0, return_inverse=True)
    out = np.empty_like(uniq)
    for i, (lon, lat) in enumerate(uniq):  # prcoords works on (lat, lon) pairs
        c = shift((lat, lon))
        out[i] = (c.lon, c.lat)
    return out[inv.ravel()]


def convert_datum(gdf: gpd.GeoDataFrame, datum: str, *, path: str = "input") -> gpd.GeoDataFrame:
    """Convert GCJ-02 or BD-09 longitude/latitude to WGS84 (EPSG:4326).

    Parameters
    ----------
    gdf : GeoDataFrame
        In a geographic CRS (the offset coordinates are longitude/latitude by definition).
    datum : {"wgs84", "gcj02", "bd09"}
        What the coordinates really are. ``wgs84`` returns ``gdf`` unchanged.
    """
    datum = datum.lower().replace("-", "")
    if datum not in DATUMS:
        raise CRSError(f"the datum {datum!r} is not one of {', '.join(DATUMS)}", hint="give {datum:wgs84}, "
                       "{datum:gcj02} (Chinese web maps) or {datum:bd09} (Baidu)")
    if datum == "wgs84" or gdf.empty:
        return gdf
    if gdf.crs is None or not pyproj.CRS(gdf.crs).is_geographic:
        raise CRSError(f"{path}: the datum {datum} applies to longitude/latitude, but the data is in "
                       f"{gdf.crs}", hint="leave out {datum}, or give the lon/lat file")
    inverse = _prcoords_inverse(datum)
    converted = gdf.to_crs(4326)
    # coordinates outside China pass unchanged
    geoms = shapely.transform(np.asarray(converted.geometry.values), lambda xy: _shift_unique(xy, inverse))
    logger.info("%s: converted %d features from %s to WGS84", path, len(gdf), datum)
    return converted.set_geometry(gpd.GeoSeries(geoms, index=converted.index, crs=4326))


def to_datum(gdf: gpd.GeoDataFrame, datum: str) -> gpd.GeoDataFrame:
    """Shift EPSG:4326 geometry to an offset datum: the way out, :func:`convert_datum` reversed.

    What a web map does at its boundary for a basemap whose tiles are drawn in GCJ-02 (Amap) or
    BD-09; coordinates are rounded to 6 decimals (about 0.1 m), as the pages send them.

    Parameters
    ----------
    gdf : GeoDataFrame
        In EPSG:4326 (longitude, latitude).
    datum : {"wgs84", "gcj02", "bd09"}
        The datum of the tiles; ``wgs84`` returns ``gdf`` unchanged.

    Returns
    -------
    GeoDataFrame
        The shifted geometry, still labelled EPSG:4326 (what Leaflet takes).

    Raises
    ------
    geo.errors.CRSError
        For another datum, or ``gdf`` not in longitude/latitude.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> wgs = gpd.GeoDataFrame(geometry=[Point(120.62, 31.32)], crs=4326)
    >>> gcj = to_datum(wgs, "gcj02")
    >>> round(float(gcj.geometry.x.iloc[0]) - 120.62, 4), round(float(gcj.geometry.y.iloc[0]) - 31.32, 4)
    (0.0042, -0.0022)
    >>> back = convert_datum(gcj, "gcj02")
    >>> [round(float(v), 5) for v in (back.geometry.x.iloc[0], back.geometry.y.iloc[0])]
    [120.62, 31.32]
    """
    if datum not in DATUMS:
        raise CRSError(f"datum {datum!r} is not one of {', '.join(DATUMS)}")
    if datum == "wgs84" or gdf.empty:
        return gdf
    if gdf.crs is None or not pyproj.CRS(gdf.crs).equals(pyproj.CRS(4326)):
        raise CRSError(f"shifting to {datum} needs longitude/latitude (EPSG:4326), not {gdf.crs}")
    forward = _prcoords_forward(datum)
    geoms = shapely.transform(np.asarray(gdf.geometry.values), lambda xy: np.round(_shift_unique(xy, forward), 6))
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=4326))
