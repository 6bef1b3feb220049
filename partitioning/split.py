"""A single file too big for one process: cut it into parts planned apart on the parallel path.

Without ``--boundary`` communities, a city's buildings would be planned as one graph in one
process (hours, gigabytes). :func:`split_parts` cuts the buildings' extent into rectangular parts
by recursive halving (a k-d split): a part holding more than ``max_buildings`` buildings or more
than :data:`MAX_GRIDS_PER_PART` grids' worth of households is cut across its longer side, near
its households' median, where the fewest footprints straddle the cut (usually a street). Parts
therefore follow the density: small where towers stand, large in the suburbs.
:func:`make_plan_split` then plans each part on a worker
(:func:`partitioning.parallel.make_plan_parallel` with ``tiles=True``), each clipped to the
settlement envelope of the footprints around it, as a plan without boundaries would be.

A building is never cut: a footprint crossing a part's edge is moved wholly into one part (with
those it touches), and each part is kept in one piece, so the parts -- and their grids -- cover
the area with no gap or overlap.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.errors import InputError
from partitioning.parallel import make_plan_parallel
from partitioning.settings import settings_error

__all__ = ["DEFAULT_MAX_BUILDINGS", "MAX_GRIDS_PER_PART", "needs_split", "split_parts", "make_plan_split"]

logger = logging.getLogger(__name__)

#: Above this many buildings and without ``--boundary`` communities, a plan is split into parts
#: of at most this many buildings.
DEFAULT_MAX_BUILDINGS = 10_000
#: A part holds at most this many grids' worth of households (grid codes number at most 999 a
#: part), with room for the engine to round up.
MAX_GRIDS_PER_PART = 800


def needs_split(n_buildings: int, *, max_buildings: int | None = None) -> bool:
    """Whether a plan without communities is split into parts.

    Examples
    --------
    >>> needs_split(3000), needs_split(652_112), needs_split(3000, max_buildings=1000)
    (False, True, True)
    """
    return n_buildings > (DEFAULT_MAX_BUILDINGS if max_buildings is None else max_buildings)


def _cut(lo: np.ndarray, hi: np.ndarray, centre: np.ndarray, weight: np.ndarray, start: float,
         stop: float) -> float:
    """Where to cut ``[start, stop]``: within a quarter of the span around the weighted median of
    ``centre``, where the fewest footprint extents ``[lo, hi]`` straddle; of those places, the one
    that leaves the weight (households, or buildings where there are none) most evenly split."""
    if weight.sum() <= 0:
        weight = np.ones(len(centre))
    order = np.argsort(centre, kind="stable")
    sorted_centre, cum = centre[order], np.cumsum(weight[order])
    median = float(sorted_centre[np.searchsorted(cum, cum[-1] / 2)])
    span = stop - start
    cand = np.arange(max(start + span / 4, median - span / 4), min(stop - span / 4, median + span / 4), 1.0)
    if not len(cand):
        return (start + stop) / 2
    lo, hi = np.sort(lo), np.sort(hi)
    crossing = np.searchsorted(lo, cand, side="left") - np.searchsorted(hi, cand, side="right")
    left = np.r_[0.0, cum][np.searchsorted(sorted_centre, cand, side="left")]  # weight of centres < cand
    best = np.flatnonzero(crossing == crossing.min())
    imbalance = np.abs(left[best] - cum[-1] / 2)
    best = best[imbalance == imbalance.min()]
    return float(cand[best[np.argmin(np.abs(cand[best] - median))]])


def _boxes(bounds: np.ndarray, weight: np.ndarray, max_buildings: int, max_weight: float) -> list[tuple]:
    """Rectangles (minx, miny, maxx, maxy) tiling the footprints' extent, by recursive halving."""
    centre_x, centre_y = (bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2
    out = []
    stack = [((bounds[:, 0].min() - 1.0, bounds[:, 1].min() - 1.0, bounds[:, 2].max() + 1.0,
               bounds[:, 3].max() + 1.0), np.arange(len(bounds)))]
    while stack:
        box, rows = stack.pop()
        minx, miny, maxx, maxy = box
        if (len(rows) <= max_buildings and weight[rows].sum() <= max_weight) or len(rows) < 2 \
                or max(maxx - minx, maxy - miny) < 4.0:
            out.append(box)
            continue
        axis = 0 if maxx - minx >= maxy - miny else 1
        centre = centre_x[rows] if axis == 0 else centre_y[rows]
        at = _cut(bounds[rows, axis], bounds[rows, axis + 2], centre, weight[rows], box[axis], box[axis + 2])
        left = centre < at
        first, second = list(box), list(box)
        first[axis + 2] = second[axis] = at
        stack.append((tuple(second), rows[~left]))
        stack.append((tuple(first), rows[left]))
    return out


def _take_whole_buildings(parts: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """The parts with each footprint that crosses an edge moved wholly into one part, together with
    the footprints it touches or overlaps (so that none is cut, even where footprints overlap):
    the first part holding one of their representative points."""
    edges = shapely.STRtree(shapely.boundary(parts))
    cross = np.unique(edges.query(geoms, predicate="intersects")[0])
    if not len(cross):
        return parts
    sub = geoms[cross]
    sub_tree = shapely.STRtree(sub)
    i, j = sub_tree.query(sub, predicate="intersects")
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(len(sub), len(sub))),
                                   directed=False)
    p_idx = shapely.STRtree(parts).query(shapely.point_on_surface(sub), predicate="intersects")
    first = np.full(comp.max() + 1, len(parts))
    np.minimum.at(first, comp[p_idx[0]], p_idx[1])  # a group straddling edges: its first part
    owner = first[comp]
    out = parts.copy()
    touched = np.unique(np.concatenate([owner, sub_tree.query(parts, predicate="intersects")[0]]))
    for t in touched:
        near = sub[sub_tree.query(parts[t], predicate="intersects")]
        own = sub[owner == t]
        out[t] = shapely.union(shapely.difference(parts[t], shapely.union_all(near)), shapely.union_all(own))
    return _single_pieces(out)


def _single_pieces(parts: np.ndarray) -> np.ndarray:
    """Each part in one piece: a piece cut off by the footprints taken away from it (a sliver
    between them and the edge) joins the part it shares the longest border with."""
    out = parts.copy()
    for t in range(len(out)):
        pieces = shapely.get_parts(out[t])
        if len(pieces) < 2:
            continue
        pieces = pieces[np.argsort(-shapely.area(pieces), kind="stable")]
        out[t] = pieces[0]
        for piece in pieces[1:]:
            near = [k for k in shapely.STRtree(out).query(piece, predicate="intersects") if k != t]
            shared = [shapely.length(shapely.intersection(shapely.boundary(piece), shapely.boundary(out[k])))
                      for k in near]
            k = near[int(np.argmax(shared))] if near else t
            out[k] = shapely.union(out[k], piece)
    return out


def split_parts(buildings: gpd.GeoDataFrame, *, max_buildings: int | None = None,
                max_households: float | None = None) -> gpd.GeoDataFrame:
    """Rectangular parts covering the buildings, to plan apart.

    Parameters
    ----------
    buildings : GeoDataFrame
        Footprints with ``households``, metric CRS.
    max_buildings : int, optional
        At most this many buildings a part (default :data:`DEFAULT_MAX_BUILDINGS`).
    max_households : float, optional
        At most this many households a part (default: none).

    Returns
    -------
    GeoDataFrame
        ``boundary_id`` (``P001``, … in the order of the halving), ``name`` (empty), polygons
        (rectangles, with the footprints that cross an edge given wholly to one side) with no gap
        or overlap, covering the buildings' extent (plus 1 m); same CRS. A part holds more than
        the limits only when its buildings cannot be separated (all in one 4 m strip).

    Examples
    --------
    >>> from shapely import box
    >>> rows = gpd.GeoDataFrame({"households": [10] * 40},
    ...                         geometry=[box(20 * i, 0, 20 * i + 10, 10) for i in range(40)], crs=32651)
    >>> parts = split_parts(rows, max_buildings=10)
    >>> len(parts), bool(parts.union_all().covers(rows.union_all()))
    (4, True)
    """
    max_buildings = DEFAULT_MAX_BUILDINGS if max_buildings is None else int(max_buildings)
    if max_buildings < 1:
        raise ValueError(f"max_buildings must be >= 1, got {max_buildings}")
    geoms = buildings.geometry.values
    weight = buildings["households"].to_numpy(dtype=float) if "households" in buildings else np.ones(len(geoms))
    boxes = _boxes(geoms.bounds, weight, max_buildings, np.inf if max_households is None else max_households)
    polygons = _take_whole_buildings(shapely.box(*np.asarray(boxes).T), np.asarray(geoms, dtype=object))
    width = max(3, len(str(len(boxes))))
    parts = gpd.GeoDataFrame({"boundary_id": [f"P{k + 1:0{width}d}" for k in range(len(boxes))], "name": ""},
                             geometry=polygons, crs=buildings.crs)
    logger.info("split into %d parts of at most %d buildings%s", len(parts), max_buildings,
                "" if max_households is None else f" and {max_households:.0f} households")
    return parts


def make_plan_split(inputs, settings, *, barriers=None, workers: int = 2, scheduler: str | None = None,
                    max_buildings: int | None = None, extra_files: list | None = None, progress: bool = False):
    """Plan a big file without communities: :func:`split_parts`, then each part on a worker.

    Parameters
    ----------
    inputs : geo.load.Inputs
        Loaded buildings (metric CRS, ``households``).
    settings : partitioning.settings.PlanSettings
        As for :func:`partitioning.parallel.make_plan_parallel` (a target only).
    barriers : GeoDataFrame, optional
        Barrier lines; each part gets those that touch it.
    workers, scheduler
        Local Dask worker processes (0: in this process), or a running scheduler's address.
    max_buildings : int, optional
        At most this many buildings a part (default :data:`DEFAULT_MAX_BUILDINGS`); a part also
        holds at most :data:`MAX_GRIDS_PER_PART` × ``settings.target`` households.
    extra_files : list of dict, optional
        Records of the barrier files for the metadata.
    progress : bool, default False
        A progress bar over the parts.

    Returns
    -------
    plan : geo.plan.Plan
        Its ``boundaries`` layer holds the parts' areas; ``meta["split"]`` says how it was cut.
    metrics : dict
        As :func:`partitioning.parallel.make_plan_parallel`'s.

    Raises
    ------
    geo.errors.InputError
        For ``n_grids``, levels or an emergency layout, which need the whole plan at once.
    """
    if settings.n_grids is not None or settings.levels or settings.emergency_target is not None:
        raise settings_error(
            InputError, f"{len(inputs.buildings)} buildings and no community boundaries: too many to plan in one "
            "piece, and a number of grids (n_grids), levels and an emergency layout (emergency_target) need the "
            "whole plan at once; give the community boundaries, or raise the largest part "
            "(max_buildings_per_part; memory grows with it)",
            "boundaries", "max_buildings_per_part", "n_grids", "levels", "emergency_target")
    max_buildings = DEFAULT_MAX_BUILDINGS if max_buildings is None else int(max_buildings)
    logger.warning("%d buildings and no community boundaries: cutting them into parts of at most %d buildings "
                   "planned apart on %s (give the community boundaries for grids that follow them; "
                   "max_buildings_per_part sets the size)", len(inputs.buildings), max_buildings,
                   f"scheduler {scheduler}" if scheduler else f"{workers} worker(s)")
    parts = split_parts(inputs.buildings, max_buildings=max_buildings,
                        max_households=MAX_GRIDS_PER_PART * settings.target)
    plan, metrics = make_plan_parallel(inputs, settings, boundaries=parts, barriers=barriers, workers=workers,
                                       scheduler=scheduler, extra_files=extra_files, progress=progress, tiles=True)
    plan.meta["split"] = {"parts": len(parts), "max_buildings": max_buildings,
                          "max_households": MAX_GRIDS_PER_PART * settings.target,
                          "rule": "recursive halving near the households' median, where fewest footprints straddle"}
    return plan, metrics
