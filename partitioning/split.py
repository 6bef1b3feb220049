"""A single file too big for one process: split it into tiles planned apart on the parallel path.

Without ``--boundary`` communities, a large city's buildings would be planned as one graph in one
process (hours, gigabytes). :func:`tile_boundaries` cuts the extent into a grid of rectangular
tiles of about ``max_buildings`` buildings each, which :func:`partitioning.parallel.make_plan_parallel`
then plans as communities, each in a worker process. Tile edges are artificial, so they are put
where they cut the fewest footprints: each cut line is moved, within a quarter tile of its regular
position, to where the fewest buildings straddle it (usually a street). A building is never cut
either way: a footprint crossing an edge is moved wholly into one tile (with those it touches),
and each tile is kept in one piece, so the tiles -- and their grids -- still cover the area with
no gap or overlap.
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely import box

__all__ = ["DEFAULT_MAX_BUILDINGS", "needs_split", "tile_size_for", "tile_boundaries"]

logger = logging.getLogger(__name__)

#: Above this many buildings and without ``--boundary`` communities, a plan is split into tiles.
DEFAULT_MAX_BUILDINGS = 30_000


def needs_split(n_buildings: int, *, max_buildings: int | None = None, tile_size: float | None = None) -> bool:
    """Whether a plan without communities is split into tiles.

    Examples
    --------
    >>> needs_split(3000), needs_split(652_112), needs_split(3000, tile_size=500.0)
    (False, True, True)
    """
    if tile_size is not None:
        return True
    return n_buildings > (DEFAULT_MAX_BUILDINGS if max_buildings is None else max_buildings)


def tile_size_for(buildings: gpd.GeoDataFrame, max_buildings: int) -> float:
    """Side (metres) of square tiles holding about ``max_buildings`` buildings on average."""
    minx, miny, maxx, maxy = buildings.total_bounds
    area = max(maxx - minx, 1.0) * max(maxy - miny, 1.0)
    return math.sqrt(area * max_buildings / max(len(buildings), 1))


def _cuts(lo: np.ndarray, hi: np.ndarray, start: float, stop: float, size: float) -> np.ndarray:
    """Cut positions along one axis: about every ``size`` metres, each moved (within a quarter
    tile) to where the fewest footprint extents ``[lo, hi]`` straddle it, the nearest such place to
    its regular position."""
    n = max(1, math.ceil((stop - start) / size))
    step = (stop - start) / n
    lo, hi = np.sort(lo), np.sort(hi)
    cuts = [start]
    for k in range(1, n):
        nominal = start + k * step
        cand = np.arange(nominal - step / 4, nominal + step / 4, 1.0)
        crossing = np.searchsorted(lo, cand, side="left") - np.searchsorted(hi, cand, side="right")
        best = np.flatnonzero(crossing == crossing.min())
        cuts.append(float(cand[best[np.argmin(np.abs(cand[best] - nominal))]]))
    cuts.append(stop)
    return np.asarray(cuts)


def _take_whole_buildings(tiles: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """The tiles with each footprint that crosses an edge moved wholly into one tile, together with
    the footprints it touches or overlaps (so that none is cut, even where footprints overlap):
    the first tile holding one of their representative points."""
    edges = shapely.STRtree(shapely.boundary(tiles))
    cross = np.unique(edges.query(geoms, predicate="intersects")[0])
    if not len(cross):
        return tiles
    sub = geoms[cross]
    i, j = shapely.STRtree(sub).query(sub, predicate="intersects")
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(sub), len(sub)))
    _, comp = connected_components(graph, directed=False)
    t_idx = shapely.STRtree(tiles).query(shapely.point_on_surface(sub), predicate="intersects")
    first = np.full(comp.max() + 1, len(tiles))
    np.minimum.at(first, comp[t_idx[0]], t_idx[1])  # a group straddling edges: its first tile
    owner = first[comp]
    out = tiles.copy()
    everything = shapely.union_all(sub)
    for t in np.unique(np.concatenate([owner, shapely.STRtree(sub).query(tiles, predicate="intersects")[0]])):
        own = sub[owner == t]
        out[t] = shapely.union(shapely.difference(tiles[t], everything), shapely.union_all(own))
    return _single_parts(out)


def _single_parts(tiles: np.ndarray) -> np.ndarray:
    """Each tile in one piece: a piece cut off by the footprints taken away from it (a sliver
    between them and the edge) joins the tile it shares the longest border with."""
    out = tiles.copy()
    for t in range(len(out)):
        parts = shapely.get_parts(out[t])
        if len(parts) < 2:
            continue
        parts = parts[np.argsort(-shapely.area(parts), kind="stable")]
        out[t] = parts[0]
        for piece in parts[1:]:
            near = [k for k in shapely.STRtree(out).query(piece, predicate="intersects") if k != t]
            shared = [shapely.length(shapely.intersection(shapely.boundary(piece), shapely.boundary(out[k])))
                      for k in near]
            k = near[int(np.argmax(shared))] if near else t
            out[k] = shapely.union(out[k], piece)
    return out


def tile_boundaries(buildings: gpd.GeoDataFrame, *, tile_size: float | None = None,
                    max_buildings: int | None = None) -> gpd.GeoDataFrame:
    """Rectangular tiles covering the buildings, to plan apart as communities.

    Parameters
    ----------
    buildings : GeoDataFrame
        Footprints, metric CRS.
    tile_size : float, optional
        Side of the tiles in metres; by default from ``max_buildings``.
    max_buildings : int, optional
        About this many buildings per tile on average (default :data:`DEFAULT_MAX_BUILDINGS`).

    Returns
    -------
    GeoDataFrame
        ``boundary_id`` (``T<row><col>``), ``name``, polygons (rectangles with the footprints that
        cross an edge given wholly to one side) with no gap or overlap covering the buildings'
        extent (plus 1 m), same CRS. Empty tiles are kept (they plan nothing).
    """
    if tile_size is None:
        tile_size = tile_size_for(buildings, max_buildings or DEFAULT_MAX_BUILDINGS)
    if not tile_size > 0:
        raise ValueError(f"tile size must be > 0 metres, got {tile_size}")
    b = buildings.geometry.bounds.to_numpy()
    minx, miny = b[:, 0].min() - 1.0, b[:, 1].min() - 1.0
    maxx, maxy = b[:, 2].max() + 1.0, b[:, 3].max() + 1.0
    xs = _cuts(b[:, 0], b[:, 2], minx, maxx, tile_size)
    ys = _cuts(b[:, 1], b[:, 3], miny, maxy, tile_size)
    width = max(3, len(str(max(len(xs), len(ys)))))
    ids, boxes = [], []
    for j in range(len(ys) - 1):
        for i in range(len(xs) - 1):
            ids.append(f"T{j:0{width}d}{i:0{width}d}")
            boxes.append((xs[i], ys[j], xs[i + 1], ys[j + 1]))
    geoms = np.asarray([box(*bb) for bb in boxes], dtype=object)
    geoms = _take_whole_buildings(geoms, buildings.geometry.values)
    tiles = gpd.GeoDataFrame({"boundary_id": ids, "name": [f"tile {i}" for i in ids]},
                             geometry=geoms, crs=buildings.crs)
    logger.info("split into %d tiles of about %.0f m (%d x %d)", len(tiles), tile_size, len(xs) - 1, len(ys) - 1)
    return tiles
