"""Cells: one per building, covering the study area without gap or overlap, each holding its
building whole (:func:`tessellate`; the construction is described in :mod:`partitioning.tessellation`)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from tqdm.auto import tqdm

from geo.errors import InputError, ids_text
from partitioning.tessellation._geometry import (
    CUT_TOLERANCE_M2,
    GRID_SIZE,
    area_geometry,
    area_outside,
    coverage_unions,
    cut_tolerance,
    require_metric,
    same_crs,
    shared_edges,
    wide_area,
)

__all__ = ["tessellate"]

logger = logging.getLogger(__name__)

#: Footprints are shrunk by this much (m) before their outlines seed the Voronoi diagram.
_SHRINK = 0.4
#: Spacing (m) of the Voronoi seed points along footprint outlines.
_SEGMENT = 3.0
#: Largest shift (m) of a Voronoi seed point, to break co-circular configurations.
_JITTER = 1e-3


def _enclosures(area: shapely.Geometry, barriers: gpd.GeoDataFrame | None) -> np.ndarray:
    """Polygons of the area split by the barrier lines (dangling lines split nothing)."""
    if barriers is None or len(barriers) == 0:
        return shapely.get_parts(area)
    lines = np.asarray(barriers.geometry.values, dtype=object)
    lines = lines[~shapely.is_missing(lines)]
    polygonal = np.isin(shapely.get_type_id(lines), [3, 6])
    lines[polygonal] = shapely.boundary(lines[polygonal])  # a river drawn as an area: its banks
    lines = shapely.intersection(lines, area)
    lines = lines[~shapely.is_empty(lines)]
    noded = shapely.union_all(np.append(shapely.boundary(shapely.get_parts(area)), lines))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    keep = shapely.within(shapely.point_on_surface(faces), area)
    return faces[keep]


def _assign_enclosures(geoms: np.ndarray, enclosures: np.ndarray) -> np.ndarray:
    """Index of the enclosure holding the largest part of each footprint."""
    if len(enclosures) == 1:
        return np.zeros(len(geoms), dtype=np.int64)
    tree = shapely.STRtree(enclosures)
    b, e = tree.query(geoms, predicate="intersects")
    overlap = shapely.area(shapely.intersection(geoms[b], enclosures[e]))
    pairs = pd.DataFrame({"b": b, "e": e, "a": overlap}).sort_values(["b", "a"], ascending=[True, False])
    best = pairs.drop_duplicates("b").set_index("b")["e"].reindex(range(len(geoms)))
    lost = best.isna().to_numpy()
    if lost.any():  # a footprint touching the area only within rounding: nearest enclosure
        best[lost] = tree.nearest(geoms[lost])
    return best.to_numpy(dtype=np.int64)


def _seed_points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi seeds: densified outlines of the shrunk footprints, with their building index."""
    shrunk = shapely.buffer(geoms, -_SHRINK, quad_segs=2)
    lost = shapely.is_empty(shrunk)
    shrunk[lost] = geoms[lost]
    outlines = shapely.segmentize(shapely.boundary(shrunk), _SEGMENT)
    coords, owner = shapely.get_coordinates(outlines, return_index=True)
    first = ~pd.DataFrame(coords).duplicated().to_numpy()
    coords, owner = coords[first], owner[first]
    return coords + _JITTER * _hash_noise(coords), owner


def _hash_noise(coords: np.ndarray) -> np.ndarray:
    """Noise in [-1, 1) per point, a fixed function of its coordinates (not of input order).

    Evenly spaced seeds on parallel outlines are co-circular, and GEOS then returns invalid
    Voronoi regions; moving each seed by up to a millimetre puts them in general position.
    """
    local = coords - np.floor(coords / 1000.0) * 1000.0
    phase = np.sin(local[:, :1] * 12.9898 + local[:, 1:] * 78.233 + np.array([[0.0, 1.7]]))
    return (phase * 43758.5453) % 1.0 * 2.0 - 1.0


def _voronoi_cells(coords: np.ndarray, owner: np.ndarray,
                   enclosure: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Cells (dissolved Voronoi regions) of the buildings seeded by ``coords`` in one enclosure."""
    labels = np.unique(owner)
    if len(labels) == 1:
        return labels, np.array([enclosure])
    regions = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(coords), extend_to=enclosure, ordered=True)
    )
    if len(regions) != len(coords):  # pragma: no cover - GEOS contract
        raise RuntimeError("voronoi_polygons(ordered=True) did not return one region per point")
    try:
        cells = coverage_unions(regions, owner)
    except shapely.errors.GEOSException:
        # degenerate (co-circular) seeds can leave regions' shared edges not exactly matched
        order = np.argsort(owner, kind="stable")
        groups = np.split(order, np.searchsorted(owner[order], labels)[1:])
        cells = np.array([_dissolve(regions[g]) for g in groups])
    return labels, _clip(cells, enclosure)


def _clip(cells: np.ndarray, enclosure: shapely.Geometry) -> np.ndarray:
    """``cells`` intersected with ``enclosure``; the cells it covers are kept as they are (the
    intersection would return them unchanged, at the cost of an overlay with the enclosure)."""
    shapely.prepare(enclosure)
    inside = shapely.covered_by(cells, enclosure)
    out = cells.copy()
    out[~inside] = shapely.intersection(cells[~inside], enclosure)
    return out


def _dissolve(regions: np.ndarray) -> shapely.Geometry:
    """Union of Voronoi regions: the fast coverage union, or a full union when degenerate
    (co-circular seed points) leave the regions' shared edges not exactly matched."""
    try:
        return shapely.coverage_union_all(regions)
    except shapely.errors.GEOSException:
        return shapely.union_all(regions)


def _unique_lines(polygons: np.ndarray) -> np.ndarray:
    """The outlines of ``polygons`` with every segment once, as lines.

    Neighbouring Voronoi cells share their edges vertex for vertex (and cells along the area's
    outline share it with the enclosure), so the boundaries of all cells hold most segments
    twice. Noding them twice costs twice as much and yields the same arrangement: a segment is
    kept where it first occurs (in the order of ``polygons``), and each run of kept segments
    along a ring becomes one line.
    """
    coords, ring = shapely.get_coordinates(shapely.get_rings(polygons), return_index=True)
    seg = np.flatnonzero(ring[1:] == ring[:-1])  # segment s runs from coords[s] to coords[s + 1]
    p, q = coords[seg], coords[seg + 1]
    swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
    key = np.hstack([np.where(swap[:, None], q, p), np.where(swap[:, None], p, q)])
    bits = np.ascontiguousarray(key).view(np.int64)
    order = np.lexsort(bits.T[::-1])  # stable: equal segments stay in input order
    first = np.r_[True, (bits[order[1:]] != bits[order[:-1]]).any(axis=1)]
    keep = np.zeros(len(seg), dtype=bool)
    keep[order[first]] = True
    kept = seg[keep]
    if len(kept) == 0:  # pragma: no cover - polygons always have segments
        return np.array([], dtype=object)
    # runs of consecutive kept segments (consecutive segments of one ring share a vertex)
    starts = np.r_[True, kept[1:] != kept[:-1] + 1]
    run = np.cumsum(starts) - 1
    last = np.r_[np.flatnonzero(starts)[1:], len(kept)] - 1
    point = np.concatenate([kept, kept[last] + 1])
    line = np.concatenate([run, run[last]])
    order = np.lexsort((point, line))
    return shapely.linestrings(coords[point[order]], indices=line[order])


def _connect(labels: np.ndarray, anchor: np.ndarray, edges: pd.DataFrame, centroids: np.ndarray,
             anchor_points: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Give every face that is not connected to its building's footprint to a neighbour.

    A face keeps its label when it is in the same connected piece (faces with that label,
    joined through shared edges) as a face of the building's own footprint (``anchor``).
    Other pieces (and unlabelled faces, label -1) join the neighbouring label with which they
    share the longest edge; pieces without a labelled neighbour take the nearest building.
    """
    labels, anchor = labels.copy(), anchor.copy()
    n = len(labels)
    a, b, w = edges["a"].to_numpy(), edges["b"].to_numpy(), edges["length"].to_numpy()
    for _ in range(n):
        same = labels[a] == labels[b]
        graph = sparse.coo_matrix((np.ones(same.sum()), (a[same], b[same])), shape=(n, n))
        _, comp = csgraph.connected_components(graph, directed=False)
        good_comp = np.zeros(comp.max() + 1, dtype=bool)
        good_comp[comp[anchor & (labels >= 0)]] = True
        good = good_comp[comp]
        if good.all():
            return labels
        # longest shared edge between each bad component and a good neighbouring face's label
        cross = np.concatenate([np.c_[a, b], np.c_[b, a]])
        length = np.concatenate([w, w])
        sel = ~good[cross[:, 0]] & good[cross[:, 1]]
        if sel.any():
            df = pd.DataFrame(
                {"comp": comp[cross[sel, 0]], "label": labels[cross[sel, 1]], "length": length[sel]}
            )
            best = (
                df.groupby(["comp", "label"], as_index=False)["length"].sum()
                .sort_values(["comp", "length", "label"], ascending=[True, False, True])
                .drop_duplicates("comp")
                .set_index("comp")["label"]
            )
            move = ~good & np.isin(comp, best.index)
            labels[move] = best.loc[comp[move]].to_numpy()
            continue
        # pieces with no good neighbour at all (a part of the area without buildings): the
        # nearest building takes them, and they stay that building's even though detached
        bad = np.flatnonzero(~good)
        tree = shapely.STRtree(anchor_points[0])
        nearest = tree.nearest(centroids[bad])
        labels[bad] = anchor_points[1][nearest]
        anchor[bad] = True
    raise RuntimeError("face labelling did not converge")  # pragma: no cover


def tessellate(buildings: gpd.GeoDataFrame, *, area: shapely.Geometry, barriers: gpd.GeoDataFrame | None = None,
               progress: bool = False) -> gpd.GeoDataFrame:
    """Cells covering ``area``, one per building, each holding its building whole.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Footprints (valid Polygon/MultiPolygon) indexed by unique ``building_id``, in a
        projected metric CRS, all inside ``area``.
    area : shapely.Polygon or shapely.MultiPolygon
        The study area (see :func:`study_area`), in the buildings' CRS.
    barriers : geopandas.GeoDataFrame, optional
        Lines (streets, rivers, walls) that cells should not cross; all given lines are used,
        so pass only the classes that should split the area (e.g. ``barrier_class == "major"``).
        A footprint crossing a barrier stays whole, in the enclosure holding most of it.
    progress : bool, default False
        Show a progress bar over the enclosures.

    Returns
    -------
    geopandas.GeoDataFrame
        Indexed by ``building_id`` in the input order, geometry a valid Polygon (MultiPolygon
        only for a footprint made of separate parts, or for the building nearest to a part of
        the area that holds no building), column ``enclosure_id`` (int, the
        enclosure the building belongs to). The cells form a coverage of ``area``. ``attrs``
        holds ``shared_footprints``: ids of buildings whose footprint overlaps another one, so
        that part of it lies in the other building's cell.

    Raises
    ------
    geo.errors.CRSError
        For input in a geographic CRS or without a CRS.
    geo.errors.InputError
        For duplicate ids, invalid footprints or a footprint outside ``area``.
    """
    require_metric(buildings, "buildings")
    if not buildings.index.is_unique:
        raise InputError("building ids (the index) are not unique")
    if len(buildings) == 0:
        raise InputError("no buildings to tessellate")
    area = area_geometry(area)
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, [3, 6]) | ~shapely.is_valid(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise InputError(
            f"{bad.sum()} footprints are not valid non-empty Polygons/MultiPolygons "
            f"({ids_text(buildings.index[bad])}); repair or drop them first"
        )
    outside = area_outside(geoms, area) > cut_tolerance(geoms)
    if outside.any():
        raise InputError(
            f"{outside.sum()} buildings reach outside the study area "
            f"({ids_text(buildings.index[outside])}); build the area with study_area()"
        )
    if barriers is not None:
        barriers = same_crs(barriers, buildings.crs, "barriers")

    enclosures = _enclosures(area, barriers)
    home = _assign_enclosures(geoms, enclosures)
    logger.info("tessellating %d buildings in %d enclosures", len(geoms), len(enclosures))

    coords, owner = _seed_points(geoms)
    seed_home = home[owner]
    order = np.argsort(seed_home, kind="stable")
    bounds = np.searchsorted(seed_home[order], np.arange(len(enclosures)))
    label_parts: list[np.ndarray] = []
    cell_parts: list[np.ndarray] = []
    groups = np.split(order, bounds[1:])
    for e, idx in enumerate(tqdm(groups, disable=not progress, desc="enclosures", unit="encl")):
        if len(idx) == 0:
            continue
        labels, cells = _voronoi_cells(coords[idx], owner[idx], enclosures[e])
        label_parts.append(labels)
        cell_parts.append(cells)
    raw_labels = np.concatenate(label_parts)
    raw_cells = np.concatenate(cell_parts)

    outlines = shapely.boundary(geoms)
    lines = _unique_lines(np.concatenate([shapely.get_parts(raw_cells), shapely.get_parts(geoms), enclosures]))
    noded = shapely.union_all(lines, grid_size=GRID_SIZE)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    points = shapely.point_on_surface(faces)
    faces_in = shapely.within(points, area)
    faces, points = faces[faces_in], points[faces_in]
    logger.debug("arrangement: %d faces", len(faces))

    # footprints claim faces, smaller footprints first (then smaller id)
    fp_area = shapely.area(geoms)
    rank = np.empty(len(geoms), dtype=np.int64)
    rank[np.lexsort((buildings.index.to_numpy(dtype=str), fp_area))] = np.arange(len(geoms))
    labels = np.full(len(faces), -1, dtype=np.int64)
    f, b = _footprint_claims(faces, points, geoms, outlines)
    if len(f):
        claim = pd.DataFrame({"f": f, "rank": rank[b], "b": b}).sort_values(["f", "rank"])
        claim = claim.drop_duplicates("f")
        labels[claim["f"].to_numpy()] = claim["b"].to_numpy()
    anchor = labels >= 0
    rest = np.flatnonzero(~anchor)
    f, c = shapely.STRtree(raw_cells).query(points[rest], predicate="within")
    labels[rest[f]] = raw_labels[c]

    edges = shared_edges(faces)
    seeds = (shapely.point_on_surface(geoms), np.arange(len(geoms)))
    labels = _connect(labels, anchor, edges, points, seeds)

    cells = np.full(len(geoms), shapely.Polygon(), dtype=object)
    cells[np.unique(labels)] = coverage_unions(faces, labels)
    missing = shapely.is_empty(cells)
    if missing.any():
        logger.warning(
            "%d buildings get no cell of their own (inside other footprints, or thinner than "
            "the %g m grid): %s",
            missing.sum(), GRID_SIZE, list(buildings.index[missing][:10]),
        )
    result = gpd.GeoDataFrame(
        {"enclosure_id": home}, geometry=cells, crs=buildings.crs, index=buildings.index.copy()
    )
    result.index.name = "building_id"
    result.attrs["shared_footprints"] = _shared_footprints(buildings)
    _verify_cells(result, buildings, area)
    return result


def _footprint_claims(faces: np.ndarray, points: np.ndarray, geoms: np.ndarray,
                      outlines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(face, footprint)``: the faces inside each footprint.

    A face is inside a footprint when its representative point is, except near the outline:
    snapping to the 1 mm grid moves footprint edges by up to a grid step, so a sliver face between
    a footprint's edge and a Voronoi edge just inside it can have its point on the wrong side of
    the original outline (even inside a touching neighbour). A face whose point lies within two
    grid steps of an outline is inside the footprint that holds most of its area.
    """
    f, b = shapely.STRtree(geoms).query(points, predicate="dwithin", distance=2 * GRID_SIZE)
    inside = shapely.within(points[f], geoms[b])
    edge = shapely.dwithin(points[f], outlines[b], 2 * GRID_SIZE)
    if edge.any():
        e = np.flatnonzero(edge)
        share = shapely.area(shapely.intersection(faces[f[e]], geoms[b[e]])) / shapely.area(faces[f[e]])
        inside[e] = share > 0.5
    return f[inside], b[inside]


def _shared_footprints(buildings: gpd.GeoDataFrame) -> list[str]:
    geoms = buildings.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    overlap = shapely.area(shapely.intersection(geoms[i], geoms[j])) > CUT_TOLERANCE_M2
    ids = np.unique(np.concatenate([i[overlap], j[overlap]]))
    return sorted(buildings.index[ids].astype(str))


def _verify_cells(cells: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, area: shapely.Geometry) -> None:
    """Check the coverage guarantees; raise RuntimeError on a construction failure."""
    geoms = cells.geometry.values
    nonempty = geoms[~shapely.is_empty(geoms)]
    if not shapely.is_valid(nonempty).all():
        raise RuntimeError("tessellation produced invalid cells")
    if not shapely.coverage_is_valid(nonempty):
        raise RuntimeError("tessellation cells are not a valid coverage (overlap or unmatched edges)")
    union = shapely.coverage_union_all(nonempty)
    gap = wide_area(shapely.difference(area, union))
    extra = wide_area(shapely.difference(union, area))
    if gap > 0 or extra > 0:
        raise RuntimeError(f"tessellation leaves {gap:.3f} m² of gap and {extra:.3f} m² outside the area")
    shared = set(cells.attrs.get("shared_footprints", ()))
    footprints = buildings.geometry.values
    out = area_outside(footprints, geoms) > cut_tolerance(footprints)
    cut = [bid for bid in buildings.index[out].astype(str) if bid not in shared]
    if cut:
        raise RuntimeError(f"footprints not inside their own cell: {cut[:10]}")
    logger.info(
        "tessellation: %d cells, coverage valid, gap %.4f m², %d footprints shared with overlaps",
        len(geoms), gap, len(shared),
    )
