"""Shared pieces of the tessellation: the precision grid, the rounding tolerances, CRS checks
and the geometry helpers the study area, the cells and the grid polygons use."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import CRSError, InputError

logger = logging.getLogger(__name__)

#: Precision grid (m): cells, grids and the study area have their vertices on this grid, so no
#: edge is shorter than 1 mm and the coverage stays valid after reprojection to lon/lat.
GRID_SIZE = 1e-3
#: Area (m²) of a footprint outside its grid (or of another grid inside it) tolerated as
#: rounding noise before the building counts as cut: this, or a band ``GRID_SIZE`` wide along
#: the footprint's outline (cells are snapped to ``GRID_SIZE``, footprints may not be).
CUT_TOLERANCE_M2 = 0.01
#: Area (m²) below which overlaps count as floating-point noise in checks.
AREA_TOLERANCE_M2 = 0.01


def wide_area(geom: shapely.Geometry) -> float:
    """Area of the parts of ``geom`` wider than ``2 × GRID_SIZE``.

    Snap-rounding the cells to ``GRID_SIZE`` can bend the study area's outline by up to
    0.7 mm where a cell edge meets it; the slivers this leaves between the outline and the
    cells are narrower than a grid cell. Real gaps and spill-overs are wider, and are counted.
    """
    parts = shapely.get_parts(geom)
    if len(parts) == 0:
        return 0.0
    wide = ~shapely.is_empty(shapely.buffer(parts, -GRID_SIZE, quad_segs=1))
    return float(shapely.area(parts[wide]).sum())


def cut_tolerance(geoms: np.ndarray) -> np.ndarray:
    """Area (m²) of each footprint that may lie outside its cell or grid through rounding."""
    return np.maximum(CUT_TOLERANCE_M2, GRID_SIZE * shapely.length(geoms))


def area_outside(geoms: np.ndarray, containers: shapely.Geometry | np.ndarray) -> np.ndarray:
    """Area of each of ``geoms`` outside its container (one, or one each): 0 where the container
    covers it (a cheap predicate), the area of the difference elsewhere."""
    if isinstance(containers, shapely.Geometry):
        shapely.prepare(containers)
    out = np.zeros(len(geoms))
    loose = ~shapely.covered_by(geoms, containers)
    if loose.any():
        part = containers if isinstance(containers, shapely.Geometry) else containers[loose]
        out[loose] = shapely.area(shapely.difference(geoms[loose], part))
    return out


def require_metric(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> None:
    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set it (GeoDataFrame.set_crs) before tessellating")
    if not gdf.crs.is_projected:
        raise CRSError(
            f"{what} are in the geographic CRS {gdf.crs.to_string()}; distances and areas need "
            "a projected metric CRS (reproject with GeoDataFrame.to_crs, e.g. EPSG:4549)"
        )


def same_crs(gdf: gpd.GeoDataFrame, crs: Any, what: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set it before passing them")
    return gdf if gdf.crs == crs else gdf.to_crs(crs)


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Polygon or MultiPolygon part of a geometry (drops lines and points of collections)."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    polys = [p for p in parts if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def area_geometry(area: Any) -> shapely.Geometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputError("area must be a shapely Polygon/MultiPolygon in the buildings' CRS")
    if not isinstance(area, shapely.Polygon | shapely.MultiPolygon) or area.is_empty:
        raise InputError(f"area must be a non-empty Polygon or MultiPolygon, got {area.geom_type}")
    area = area if area.is_valid else polygonal(area)
    return shapely.set_precision(area, GRID_SIZE)


def coverage_unions(geoms: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``shapely.coverage_union_all`` of the ``geoms`` of each ``group`` (in sorted order of the
    groups), in one call: the groups as the rows of a 2-D array padded with None."""
    order = np.argsort(group, kind="stable")
    _, starts, counts = np.unique(group[order], return_index=True, return_counts=True)
    rows = np.full((len(starts), counts.max()), None, dtype=object)
    rows[np.repeat(np.arange(len(starts)), counts), np.arange(len(order)) - np.repeat(starts, counts)] = geoms[order]
    return shapely.coverage_union_all(rows, axis=1)


def shared_edges(faces: np.ndarray) -> pd.DataFrame:
    """Pairs of faces sharing an edge and the shared length, from identical segments.

    Faces of one polygonized arrangement share exactly the same vertices along common edges,
    so a segment keyed by its two end points identifies the faces on its two sides.
    """
    rings, ring_face = shapely.get_rings(faces, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    p, q = coords[:-1][same], coords[1:][same]
    face = ring_face[ring[:-1][same]]
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    a = np.where(swap[:, None], q, p)
    b = np.where(swap[:, None], p, q)
    length = np.hypot(*(b - a).T)
    keep = length > 0
    key = np.hstack([a, b])[keep]
    face, length = face[keep], length[keep]
    # group identical segments: sort by the coordinates' exact bits, then runs of equal keys
    bits = np.ascontiguousarray(key).view(np.int64)
    order = np.lexsort(bits.T[::-1])
    start = np.r_[True, (bits[order[1:]] != bits[order[:-1]]).any(axis=1)]
    run = np.cumsum(start) - 1
    counts = np.bincount(run)
    twice = counts[run] == 2
    first = order[twice][0::2]
    second = order[twice][1::2]
    edges = pd.DataFrame(
        {
            "a": np.minimum(face[first], face[second]),
            "b": np.maximum(face[first], face[second]),
            "length": length[first],
        }
    )
    edges = edges[edges["a"] != edges["b"]]
    return edges.groupby(["a", "b"], as_index=False)["length"].sum()
