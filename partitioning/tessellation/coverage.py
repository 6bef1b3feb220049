"""Grid polygons from cells (:func:`grid_polygons`), their check against the coverage guarantees
(:func:`coverage_report`: no gap, no overlap, one piece each, no building cut), and outlines
simplified for display (:func:`simplify_grids`)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputError, ids_text
from partitioning.tessellation._geometry import (
    AREA_TOLERANCE_M2,
    area_geometry,
    area_outside,
    coverage_unions,
    cut_tolerance,
    require_metric,
    same_crs,
    wide_area,
)

__all__ = ["grid_polygons", "coverage_report", "simplify_grids"]

logger = logging.getLogger(__name__)


def simplify_grids(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, assignment: pd.Series, *,
                   tolerance: float = 1.0) -> gpd.GeoDataFrame:
    """Grid outlines simplified for display, keeping a valid coverage that cuts no building.

    ``shapely.coverage_simplify`` simplifies the edges shared by two grids once, so they stay
    shared; the outer outline is kept. If the result cuts a building or is not a valid coverage,
    half the tolerance is tried, down to ``tolerance / 8``; failing that, the grids are returned
    unchanged.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Grid polygons from :func:`grid_polygons`.
    buildings : geopandas.GeoDataFrame
        Footprints indexed by ``building_id``.
    assignment : pandas.Series
        ``grid_id`` by ``building_id``.
    tolerance : float, default 1.0
        Largest distance (m) a simplified edge may move.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``grids`` with simplified geometry.
    """
    require_metric(grids, "grids")
    geoms = np.asarray(grids.geometry.values, dtype=object)
    area = shapely.coverage_union_all(geoms)
    for step in range(4):
        tol = tolerance / 2**step
        simple = shapely.coverage_simplify(geoms, tol, simplify_boundary=False)
        candidate = grids.copy()
        candidate.geometry = gpd.GeoSeries(simple, index=grids.index, crs=grids.crs)
        report = coverage_report(candidate, buildings, assignment, area=area)
        if report["coverage_valid"] and not report["cut_buildings"] and report["overlap_area_m2"] == 0:
            before, after = shapely.get_num_coordinates(geoms).sum(), shapely.get_num_coordinates(simple).sum()
            logger.info("grid outlines simplified at %.2f m: %d → %d vertices", tol, before, after)
            return candidate
    logger.warning("simplifying the grid outlines would cut buildings; kept them as they are")
    return grids.copy()


def _check_assignment(index: pd.Index, assignment: pd.Series, what: str) -> None:
    if not isinstance(assignment, pd.Series):
        raise InputError("assignment must be a pandas Series of grid_id indexed by building_id")
    missing = index.difference(assignment.index)
    if len(missing):
        raise InputError(f"{len(missing)} {what} have no grid in the assignment ({ids_text(missing)})")
    if assignment.isna().any():
        raise InputError("the assignment has missing grid ids")


def _pairwise_overlap(geoms: np.ndarray) -> float:
    """Summed area of the pairwise intersections of ``geoms``."""
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    return float(shapely.area(shapely.intersection(geoms[i[keep]], geoms[j[keep]])).sum())


def grid_polygons(cells: gpd.GeoDataFrame, assignment: pd.Series) -> gpd.GeoDataFrame:
    """Dissolve cells into one polygon per grid.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Cells from :func:`tessellate`, indexed by ``building_id``.
    assignment : pandas.Series
        ``grid_id`` by ``building_id``; every cell must be assigned.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``grid_id`` (sorted as strings), geometry the union of the grid's cells (a
        Polygon, or a MultiPolygon when the grid's cells are not connected), column
        ``n_parts``. Neighbouring grids share identical edges: the grids form a coverage of
        the study area.
    """
    require_metric(cells, "cells")
    _check_assignment(cells.index, assignment, "cells")
    grid = assignment.reindex(cells.index).astype(str).to_numpy()
    geoms = np.asarray(cells.geometry.values, dtype=object).copy()
    geoms[shapely.is_empty(geoms)] = None  # a cell-less building adds nothing to its grid
    ids = np.unique(grid)
    polys = np.asarray(coverage_unions(geoms, grid), dtype=object)
    single = shapely.get_num_geometries(polys) == 1
    polys[single] = shapely.get_geometry(polys[single], 0)
    grids = gpd.GeoDataFrame(
        {"n_parts": shapely.get_num_geometries(polys).astype("int64")},
        geometry=polys,
        crs=cells.crs,
        index=pd.Index(ids, name="grid_id", dtype=object),
    )
    if (grids["n_parts"] > 1).any():
        logger.warning("%d grids are multipart: %s", (grids["n_parts"] > 1).sum(),
                       list(grids.index[grids["n_parts"] > 1][:10]))
    return grids


def _detached(gids, geoms, buildings: gpd.GeoDataFrame, assigned: pd.Series) -> set:
    """The grids (ids ``gids``, polygons ``geoms``) in several polygons of which only one holds
    buildings with households."""
    if "households" not in buildings.columns:
        return set()
    households = buildings["households"].fillna(0).to_numpy()
    label = assigned.astype(str).to_numpy()
    detached = set()
    for g, geom in zip(gids, geoms):
        if shapely.get_num_geometries(geom) < 2:
            continue
        own = np.flatnonzero((label == g) & (households > 0))
        points = shapely.point_on_surface(buildings.geometry.values[own])
        _, part = shapely.STRtree(shapely.get_parts(geom)).query(points, predicate="within")
        if len(np.unique(part)) == 1:
            detached.add(g)
    return detached


def coverage_report(grids: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, assignment: pd.Series, *,
                    area: shapely.Geometry) -> dict:
    """Check the grid polygons against the guarantees of issue 4.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Grid polygons indexed by ``grid_id`` (from :func:`grid_polygons`).
    buildings : geopandas.GeoDataFrame
        Footprints indexed by ``building_id``, same CRS.
    assignment : pandas.Series
        ``grid_id`` by ``building_id``.
    area : shapely.Polygon or shapely.MultiPolygon
        The study area the grids must cover.

    Returns
    -------
    dict
        JSON-serialisable: ``n_grids``, ``area_m2`` (study area), ``grids_area_m2``,
        ``overlap_area_m2`` (summed pairwise overlaps of grids; 0 for a valid coverage,
        which has none), ``gap_area_m2`` (study area
        not covered), ``outside_area_m2`` (grid area outside the study area) -- both counting
        only pieces wider than 2 mm --, ``rounding_area_m2`` (the slivers under 2 mm wide
        between the study area's outline and the grids, left by snapping to ``GRID_SIZE``),
        ``multipart_grids`` (ids of grids made of several polygons), ``detached_grids`` (grids in
        several polygons of which only one holds households: a group of buildings without households
        that borders no other grid of its unit, joined to the nearest grid rather than made a grid of
        0 households by :func:`partitioning.graph.grid_graph`; reported, not a fault),
        ``cut_buildings`` (ids of
        buildings with part of the footprint outside their grid's polygon or inside another
        grid's polygon -- more than 0.01 m² and more than a 1 mm band along the outline, the
        rounding of the coverage to ``GRID_SIZE``), ``unassigned_buildings``, ``coverage_valid``
        (``shapely.coverage_is_valid``: no overlap and identical shared edges) and ``ok``
        (every check passed; overlaps under 0.01 m² count as zero).
    """
    require_metric(grids, "grids")
    require_metric(buildings, "buildings")
    buildings = same_crs(buildings, grids.crs, "buildings")
    area = area_geometry(area)
    gids = grids.index.astype(str)
    geoms = np.asarray(grids.geometry.values, dtype=object)

    nonempty = geoms[~shapely.is_empty(geoms)]
    valid = bool(shapely.coverage_is_valid(nonempty))
    overlap = 0.0 if valid else _pairwise_overlap(geoms)  # a valid coverage has no overlap
    # a valid coverage has the fast union (the same polygon as the full union)
    union = shapely.coverage_union_all(nonempty) if valid else shapely.union_all(geoms)
    gap_geom = shapely.difference(area, union)
    outside_geom = shapely.difference(union, area)
    gap, outside = wide_area(gap_geom), wide_area(outside_geom)
    rounding = float(shapely.area(gap_geom) + shapely.area(outside_geom)) - gap - outside
    assigned = assignment.reindex(buildings.index)
    detached = _detached(gids, geoms, buildings, assigned)
    multipart = [g for g, n in zip(gids, shapely.get_num_geometries(geoms)) if n > 1 and g not in detached]

    unassigned = sorted(buildings.index[assigned.isna()].astype(str))
    has = assigned.notna().to_numpy()
    b_geoms = buildings.geometry.values[has]
    b_ids = buildings.index[has].astype(str)
    pos = pd.Series(np.arange(len(gids)), index=gids)
    own = pos.reindex(assigned[has].astype(str)).to_numpy()
    known = ~np.isnan(own)
    cut = set(b_ids[~known])
    own_geom = np.full(len(b_geoms), shapely.Polygon(), dtype=object)
    own_geom[known] = geoms[own[known].astype(np.int64)]
    out_area = area_outside(b_geoms, own_geom)
    tolerance = cut_tolerance(b_geoms)
    cut.update(b_ids[known & (out_area > tolerance)])
    if not valid:
        # grids that overlap: a footprint inside its own grid can still lie in another one (in a
        # valid coverage its area in other grids is at most its area outside its own, checked)
        b, g = shapely.STRtree(geoms).query(b_geoms, predicate="intersects")
        other = own[b] != g
        inside = shapely.area(shapely.intersection(b_geoms[b[other]], geoms[g[other]])) > tolerance[b[other]]
        cut.update(b_ids[b[other][inside]])

    report = {
        "n_grids": int(len(gids)),
        "area_m2": float(area.area),
        "grids_area_m2": float(shapely.area(geoms).sum()),
        "overlap_area_m2": overlap,
        "gap_area_m2": gap,
        "outside_area_m2": outside,
        "rounding_area_m2": rounding,
        "multipart_grids": multipart,
        "detached_grids": sorted(detached),
        "cut_buildings": sorted(cut),
        "unassigned_buildings": unassigned,
        "coverage_valid": valid,
    }
    report["ok"] = bool(
        valid and overlap < AREA_TOLERANCE_M2 and gap == 0
        and outside == 0 and not multipart and not cut and not unassigned
    )
    return report
