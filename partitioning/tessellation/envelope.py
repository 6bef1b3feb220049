"""The study area: the area a plan's grids cover, from the boundary polygons or the settlement
envelope of the footprints (:func:`study_area`, :func:`settlement_envelope`)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import InputError
from partitioning.tessellation._geometry import (
    GRID_SIZE,
    area_outside,
    cut_tolerance,
    polygonal,
    require_metric,
    same_crs,
)

__all__ = ["DEFAULT_BUFFER", "SETTLEMENT_CLOSING", "study_area", "settlement_envelope"]

logger = logging.getLogger(__name__)

#: Default margin (m) of the study area around the outermost buildings.
DEFAULT_BUFFER = 30.0
#: Radius (m) of the settlement envelope's morphological closing (the first tried by study_area).
SETTLEMENT_CLOSING = 100.0
#: Radii (m) of the morphological closing tried, in turn, until the envelope is one polygon.
_CLOSING = (SETTLEMENT_CLOSING, 200.0, 400.0, 800.0)


def study_area(buildings: gpd.GeoDataFrame, *, boundary: gpd.GeoDataFrame | None = None,
               buffer: float = DEFAULT_BUFFER) -> shapely.Geometry:
    """The area the grids must cover.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprints in a projected metric CRS.
    boundary : geopandas.GeoDataFrame, optional
        Community boundary (any polygon layer; reprojected to the buildings' CRS). The study
        area is the union of its polygons. A footprint that crosses the boundary extends the
        area by that footprint (logged); a footprint entirely outside is an error.
    buffer : float, default 30
        Without a boundary: margin in metres around the outermost buildings. The envelope is a
        morphological closing of the footprints -- dilated by ``buffer + r``, unioned, eroded
        by ``r``, holes filled, united with the footprints buffered by ``buffer`` so that the
        margin is never less than ``buffer`` -- with the closing radius ``r`` = 100 m, or
        200, 400, 800 m when needed to join the building groups into one polygon (a
        MultiPolygon is returned only if groups are more than about 1.6 km apart). The outline
        follows the settlement rather than its convex hull.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        In the buildings' CRS. Every footprint lies inside it.

    Raises
    ------
    geo.errors.CRSError
        For input in a geographic CRS or without a CRS.
    geo.errors.InputError
        For a footprint entirely outside the boundary.
    """
    require_metric(buildings, "buildings")
    geoms = buildings.geometry.values
    if boundary is not None:
        boundary = same_crs(boundary, buildings.crs, "boundary polygons")
        area = polygonal(shapely.union_all(boundary.geometry.values))
        if area.is_empty:
            raise InputError("the boundary layer holds no polygon")
        inside = shapely.intersects(geoms, area)
        if not inside.all():
            ids = list(buildings.index[~inside][:10])
            raise InputError(
                f"{(~inside).sum()} buildings lie entirely outside the boundary (first: {ids}); "
                "clip the buildings to the community or give the right boundary"
            )
        # beyond rounding only (a footprint united into the area may not be covered to the last bit)
        crossing = area_outside(geoms, area) > cut_tolerance(geoms)
        if crossing.any():
            logger.warning(
                "%d buildings cross the boundary; the study area is extended by their footprints",
                crossing.sum(),
            )
            area = polygonal(shapely.union_all(np.append(geoms[crossing], area)))
        return shapely.set_precision(area, GRID_SIZE)
    if buffer < 0:
        raise InputError(f"buffer must be >= 0 m, got {buffer}")
    margin = _margin(geoms, buffer)
    for closing in _CLOSING:
        area = settlement_envelope(geoms, buffer=buffer, closing=closing, margin=margin)
        if shapely.get_num_geometries(area) == 1:
            break
    logger.info(
        "study area: envelope of %d buildings (%.0f m margin, %.0f m closing), %.0f m², %d part(s)",
        len(geoms), buffer, closing, area.area, shapely.get_num_geometries(area),
    )
    return shapely.set_precision(area, GRID_SIZE)


def _margin(geoms: np.ndarray, buffer: float) -> shapely.Geometry:
    return shapely.union_all(shapely.buffer(geoms, buffer) if buffer > 0 else geoms)


def settlement_envelope(geoms: np.ndarray, *, buffer: float = DEFAULT_BUFFER, closing: float = SETTLEMENT_CLOSING,
                        margin: shapely.Geometry | None = None) -> shapely.Geometry:
    """The outline of a settlement: the footprints ``geoms`` (array of polygons, metric CRS)
    dilated by ``buffer + closing``, unioned, eroded by ``closing``, holes filled, united with
    the footprints buffered by ``buffer`` (the ``margin``, computed when not given).

    One step of :func:`study_area` (which tries larger closings until the result is one
    polygon); on its own for areas planned in parts (:mod:`partitioning.split`), where the
    envelope near a part's edge depends only on the footprints within ``buffer + 2 * closing``.
    Returns a Polygon or MultiPolygon.
    """
    if margin is None:
        margin = _margin(geoms, buffer)
    grown = shapely.union_all(shapely.buffer(geoms, buffer + closing, quad_segs=4))
    closed = shapely.buffer(grown, -closing, quad_segs=4)
    filled = [shapely.Polygon(p.exterior) for p in shapely.get_parts(closed)]
    return polygonal(shapely.union_all([*filled, margin]))
