"""Cells around buildings that cover the study area, and grid polygons made of them.

The tessellation gives every square metre of the study area to exactly one building:

1. **Enclosures.** The study area is split by the barrier network (streets, rivers, walls):
   ``shapely.polygonize`` of the area outline noded with the barrier lines, as
   ``momepy.enclosures`` does; dead-end lines do not split anything. Without barriers the study
   area itself (each of its parts) is the only enclosure.
2. **Voronoi cells per enclosure.** Each footprint is shrunk by 0.4 m (so that touching
   footprints give distinct points), its outline densified to one point every 3 m
   (``shapely.segmentize``), each point moved by at most 1 mm to break co-circular layouts that
   make GEOS return invalid regions, and ``shapely.voronoi_polygons(..., ordered=True)`` is run on the
   points of the buildings of one enclosure. The Voronoi cells of one building's points are
   dissolved and clipped to the enclosure: this is the morphological tessellation of momepy,
   computed with shapely directly.
3. **One planar arrangement.** The outlines of the Voronoi cells, of the footprints and of the
   enclosures are noded together (each shared segment once), snapped to a 1 mm grid
   (``shapely.union_all(..., grid_size=GRID_SIZE)``), and polygonized once. Every face of that arrangement is given to
   the footprint that contains it, else to the Voronoi cell that contains it. Because every
   face comes from one noded line set, neighbouring cells share identical edges: the cells form
   an exact coverage, with no gap and no overlap, and every footprint edge is a cell edge (to
   the millimetre), so no cell boundary crosses a building.
4. **Repair.** Pieces that belong to no building (an enclosure without buildings, a Voronoi
   piece cut off by an enclosure edge) join the neighbouring cell with which they share the
   longest edge, until every cell is one connected piece holding its building.

Footprints that overlap each other cannot both lie inside their own cell: the shared area goes
to the smaller footprint (then the smaller ``building_id``), so a footprint inside another keeps
its own cell. Such buildings are listed in ``cells.attrs["shared_footprints"]``; the partition
keeps them in one grid (must-link), and :func:`coverage_report` flags any that end up in
different grids as cut.

momepy is not used: its ``enclosed_tessellation`` was measured to crash in its simplification
step and, without it, to return overlapping cells and GeometryCollections. The construction
above needs only shapely (GEOS >= 3.12 for ordered Voronoi cells) and gives the coverage
guarantee by construction; :func:`tessellate` still verifies it before returning.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from tqdm.auto import tqdm

from geo.errors import CRSError, InputError, ids_text

__all__ = [
    "DEFAULT_BUFFER",
    "SETTLEMENT_CLOSING",
    "CUT_TOLERANCE_M2",
    "GRID_SIZE",
    "study_area",
    "settlement_envelope",
    "tessellate",
    "grid_polygons",
    "coverage_report",
    "cell_adjacency",
    "keep_adjacent_cells",
    "simplify_grids",
]

logger = logging.getLogger(__name__)

#: Default margin (m) of the study area around the outermost buildings.
DEFAULT_BUFFER = 30.0
#: Radius (m) of the settlement envelope's morphological closing (the first tried by study_area).
SETTLEMENT_CLOSING = 100.0
#: Radii (m) of the morphological closing tried, in turn, until the envelope is one polygon.
_CLOSING = (SETTLEMENT_CLOSING, 200.0, 400.0, 800.0)
#: Footprints are shrunk by this much (m) before their outlines seed the Voronoi diagram.
_SHRINK = 0.4
#: Spacing (m) of the Voronoi seed points along footprint outlines.
_SEGMENT = 3.0
#: Precision grid (m): cells, grids and the study area have their vertices on this grid, so no
#: edge is shorter than 1 mm and the coverage stays valid after reprojection to lon/lat.
GRID_SIZE = 1e-3
#: Largest shift (m) of a Voronoi seed point, to break co-circular configurations.
_JITTER = 1e-3
#: Area (m²) of a footprint outside its grid (or of another grid inside it) tolerated as
#: rounding noise before the building counts as cut: this, or a band ``GRID_SIZE`` wide along
#: the footprint's outline (cells are snapped to ``GRID_SIZE``, footprints may not be).
CUT_TOLERANCE_M2 = 0.01
#: Area (m²) below which overlaps count as floating-point noise in checks.
_AREA_TOLERANCE_M2 = 0.01


def _wide_area(geom):
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


def _cut_tolerance(geoms):
    """Area (m²) of each footprint that may lie outside its cell or grid through rounding."""
    return np.maximum(CUT_TOLERANCE_M2, GRID_SIZE * shapely.length(geoms))


def _area_outside(geoms, containers):
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


def _require_metric(gdf, what):
    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set it (GeoDataFrame.set_crs) before tessellating")
    if not gdf.crs.is_projected:
        raise CRSError(
            f"{what} are in the geographic CRS {gdf.crs.to_string()}; distances and areas need "
            "a projected metric CRS (reproject with GeoDataFrame.to_crs, e.g. EPSG:4549)"
        )


def _same_crs(gdf, crs, what):
    if gdf.crs is None:
        raise CRSError(f"{what} have no CRS; set it before passing them")
    return gdf if gdf.crs == crs else gdf.to_crs(crs)


def _polygonal(geom):
    """Polygon or MultiPolygon part of a geometry (drops lines and points of collections)."""
    parts = shapely.get_parts(shapely.make_valid(geom))
    polys = [p for p in parts if isinstance(p, shapely.Polygon | shapely.MultiPolygon)]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def _area_geometry(area):
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputError("area must be a shapely Polygon/MultiPolygon in the buildings' CRS")
    if not isinstance(area, shapely.Polygon | shapely.MultiPolygon) or area.is_empty:
        raise InputError(f"area must be a non-empty Polygon or MultiPolygon, got {area.geom_type}")
    area = area if area.is_valid else _polygonal(area)
    return shapely.set_precision(area, GRID_SIZE)


def study_area(buildings, *, boundary=None, buffer=DEFAULT_BUFFER):
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
    _require_metric(buildings, "buildings")
    geoms = buildings.geometry.values
    if boundary is not None:
        boundary = _same_crs(boundary, buildings.crs, "boundary polygons")
        area = _polygonal(shapely.union_all(boundary.geometry.values))
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
        crossing = _area_outside(geoms, area) > _cut_tolerance(geoms)
        if crossing.any():
            logger.warning(
                "%d buildings cross the boundary; the study area is extended by their footprints",
                crossing.sum(),
            )
            area = _polygonal(shapely.union_all(np.append(geoms[crossing], area)))
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


def _margin(geoms, buffer):
    return shapely.union_all(shapely.buffer(geoms, buffer) if buffer > 0 else geoms)


def settlement_envelope(geoms, *, buffer=DEFAULT_BUFFER, closing=SETTLEMENT_CLOSING, margin=None):
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
    return _polygonal(shapely.union_all([*filled, margin]))


def _enclosures(area, barriers):
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


def _assign_enclosures(geoms, enclosures):
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


def _seed_points(geoms):
    """Voronoi seeds: densified outlines of the shrunk footprints, with their building index."""
    shrunk = shapely.buffer(geoms, -_SHRINK, quad_segs=2)
    lost = shapely.is_empty(shrunk)
    shrunk[lost] = geoms[lost]
    outlines = shapely.segmentize(shapely.boundary(shrunk), _SEGMENT)
    coords, owner = shapely.get_coordinates(outlines, return_index=True)
    first = ~pd.DataFrame(coords).duplicated().to_numpy()
    coords, owner = coords[first], owner[first]
    return coords + _JITTER * _hash_noise(coords), owner


def _hash_noise(coords):
    """Noise in [-1, 1) per point, a fixed function of its coordinates (not of input order).

    Evenly spaced seeds on parallel outlines are co-circular, and GEOS then returns invalid
    Voronoi regions; moving each seed by up to a millimetre puts them in general position.
    """
    local = coords - np.floor(coords / 1000.0) * 1000.0
    phase = np.sin(local[:, :1] * 12.9898 + local[:, 1:] * 78.233 + np.array([[0.0, 1.7]]))
    return (phase * 43758.5453) % 1.0 * 2.0 - 1.0


def _voronoi_cells(coords, owner, enclosure):
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
        cells = _coverage_unions(regions, owner)
    except shapely.errors.GEOSException:
        # degenerate (co-circular) seeds can leave regions' shared edges not exactly matched
        order = np.argsort(owner, kind="stable")
        groups = np.split(order, np.searchsorted(owner[order], labels)[1:])
        cells = np.array([_dissolve(regions[g]) for g in groups])
    return labels, _clip(cells, enclosure)


def _coverage_unions(geoms, group):
    """``shapely.coverage_union_all`` of the ``geoms`` of each ``group`` (in sorted order of the
    groups), in one call: the groups as the rows of a 2-D array padded with None."""
    order = np.argsort(group, kind="stable")
    _, starts, counts = np.unique(group[order], return_index=True, return_counts=True)
    rows = np.full((len(starts), counts.max()), None, dtype=object)
    rows[np.repeat(np.arange(len(starts)), counts), np.arange(len(order)) - np.repeat(starts, counts)] = geoms[order]
    return shapely.coverage_union_all(rows, axis=1)


def _clip(cells, enclosure):
    """``cells`` intersected with ``enclosure``; the cells it covers are kept as they are (the
    intersection would return them unchanged, at the cost of an overlay with the enclosure)."""
    shapely.prepare(enclosure)
    inside = shapely.covered_by(cells, enclosure)
    out = cells.copy()
    out[~inside] = shapely.intersection(cells[~inside], enclosure)
    return out


def _dissolve(regions):
    """Union of Voronoi regions: the fast coverage union, or a full union when degenerate
    (co-circular seed points) leave the regions' shared edges not exactly matched."""
    try:
        return shapely.coverage_union_all(regions)
    except shapely.errors.GEOSException:
        return shapely.union_all(regions)


def _unique_lines(polygons):
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


def _shared_edges(faces):
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


def _connect(labels, anchor, edges, centroids, anchor_points):
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


def tessellate(buildings, *, area, barriers=None, progress=False):
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
    _require_metric(buildings, "buildings")
    if not buildings.index.is_unique:
        raise InputError("building ids (the index) are not unique")
    if len(buildings) == 0:
        raise InputError("no buildings to tessellate")
    area = _area_geometry(area)
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = ~np.isin(types, [3, 6]) | ~shapely.is_valid(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise InputError(
            f"{bad.sum()} footprints are not valid non-empty Polygons/MultiPolygons "
            f"({ids_text(buildings.index[bad])}); repair or drop them first"
        )
    outside = _area_outside(geoms, area) > _cut_tolerance(geoms)
    if outside.any():
        raise InputError(
            f"{outside.sum()} buildings reach outside the study area "
            f"({ids_text(buildings.index[outside])}); build the area with study_area()"
        )
    if barriers is not None:
        barriers = _same_crs(barriers, buildings.crs, "barriers")

    enclosures = _enclosures(area, barriers)
    home = _assign_enclosures(geoms, enclosures)
    logger.info("tessellating %d buildings in %d enclosures", len(geoms), len(enclosures))

    coords, owner = _seed_points(geoms)
    seed_home = home[owner]
    order = np.argsort(seed_home, kind="stable")
    bounds = np.searchsorted(seed_home[order], np.arange(len(enclosures)))
    raw_labels, raw_cells = [], []
    groups = np.split(order, bounds[1:])
    for e, idx in enumerate(tqdm(groups, disable=not progress, desc="enclosures", unit="encl")):
        if len(idx) == 0:
            continue
        labels, cells = _voronoi_cells(coords[idx], owner[idx], enclosures[e])
        raw_labels.append(labels)
        raw_cells.append(cells)
    raw_labels = np.concatenate(raw_labels)
    raw_cells = np.concatenate(raw_cells)

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

    edges = _shared_edges(faces)
    seeds = (shapely.point_on_surface(geoms), np.arange(len(geoms)))
    labels = _connect(labels, anchor, edges, points, seeds)

    cells = np.full(len(geoms), shapely.Polygon(), dtype=object)
    cells[np.unique(labels)] = _coverage_unions(faces, labels)
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


def _footprint_claims(faces, points, geoms, outlines):
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


def _shared_footprints(buildings):
    geoms = buildings.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    overlap = shapely.area(shapely.intersection(geoms[i], geoms[j])) > CUT_TOLERANCE_M2
    ids = np.unique(np.concatenate([i[overlap], j[overlap]]))
    return sorted(buildings.index[ids].astype(str))


def _verify_cells(cells, buildings, area):
    """Check the coverage guarantees; raise RuntimeError on a construction failure."""
    geoms = cells.geometry.values
    nonempty = geoms[~shapely.is_empty(geoms)]
    if not shapely.is_valid(nonempty).all():
        raise RuntimeError("tessellation produced invalid cells")
    if not shapely.coverage_is_valid(nonempty):
        raise RuntimeError("tessellation cells are not a valid coverage (overlap or unmatched edges)")
    union = shapely.coverage_union_all(nonempty)
    gap = _wide_area(shapely.difference(area, union))
    extra = _wide_area(shapely.difference(union, area))
    if gap > 0 or extra > 0:
        raise RuntimeError(f"tessellation leaves {gap:.3f} m² of gap and {extra:.3f} m² outside the area")
    shared = set(cells.attrs.get("shared_footprints", ()))
    footprints = buildings.geometry.values
    out = _area_outside(footprints, geoms) > _cut_tolerance(footprints)
    cut = [bid for bid in buildings.index[out].astype(str) if bid not in shared]
    if cut:
        raise RuntimeError(f"footprints not inside their own cell: {cut[:10]}")
    logger.info(
        "tessellation: %d cells, coverage valid, gap %.4f m², %d footprints shared with overlaps",
        len(geoms), gap, len(shared),
    )


def cell_adjacency(cells):
    """Pairs of cells that share an edge, with the length of the shared boundary.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Cells from :func:`tessellate` (neighbours share identical vertices).

    Returns
    -------
    pandas.DataFrame
        Columns ``a``, ``b`` (building ids, ``a < b`` in the cells' order) and
        ``shared_length`` (m). Grids made of cells connected through these pairs are single
        polygons, so this is a contiguity graph the partition can use.
    """
    geoms = cells.geometry.values
    parts, owner = shapely.get_parts(geoms, return_index=True)
    edges = _shared_edges(parts)
    a, b = owner[edges["a"].to_numpy()], owner[edges["b"].to_numpy()]
    pairs = pd.DataFrame(
        {"a": np.minimum(a, b), "b": np.maximum(a, b), "shared_length": edges["length"].to_numpy()}
    )
    pairs = pairs[pairs["a"] != pairs["b"]].groupby(["a", "b"], as_index=False)["shared_length"].sum()
    ids = cells.index.to_numpy()
    return pd.DataFrame(
        {"a": ids[pairs["a"]], "b": ids[pairs["b"]], "shared_length": pairs["shared_length"]}
    ).reset_index(drop=True)


def keep_adjacent_cells(graph, cells):
    """The contiguity graph without the edges whose buildings' cells do not touch.

    Two buildings close to each other can have their cells separated by a third building's
    cell; a grid holding the first two but not the third would be two polygons. Partitioning
    on this graph makes every grid of connected buildings one polygon.

    Parameters
    ----------
    graph : networkx.Graph
        Contiguity graph whose nodes are building ids.
    cells : geopandas.GeoDataFrame
        Cells from :func:`tessellate`.

    Returns
    -------
    networkx.Graph
        A copy of ``graph`` keeping only edges between buildings whose cells share an edge.
    """
    adj = cell_adjacency(cells)
    touching = set(zip(adj["a"], adj["b"])) | set(zip(adj["b"], adj["a"]))
    out = graph.copy()
    drop = [(u, v) for u, v in graph.edges if (u, v) not in touching]
    out.remove_edges_from(drop)
    logger.info("contiguity graph: %d of %d edges join buildings whose cells do not touch; dropped",
                len(drop), graph.number_of_edges())
    return out


def simplify_grids(grids, buildings, assignment, *, tolerance=1.0):
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
    _require_metric(grids, "grids")
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


def _check_assignment(index, assignment, what):
    if not isinstance(assignment, pd.Series):
        raise InputError("assignment must be a pandas Series of grid_id indexed by building_id")
    missing = index.difference(assignment.index)
    if len(missing):
        raise InputError(f"{len(missing)} {what} have no grid in the assignment ({ids_text(missing)})")
    if assignment.isna().any():
        raise InputError("the assignment has missing grid ids")


def _pairwise_overlap(geoms):
    """Summed area of the pairwise intersections of ``geoms``."""
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    return float(shapely.area(shapely.intersection(geoms[i[keep]], geoms[j[keep]])).sum())


def grid_polygons(cells, assignment):
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
    _require_metric(cells, "cells")
    _check_assignment(cells.index, assignment, "cells")
    grid = assignment.reindex(cells.index).astype(str).to_numpy()
    geoms = np.asarray(cells.geometry.values, dtype=object).copy()
    geoms[shapely.is_empty(geoms)] = None  # a cell-less building adds nothing to its grid
    ids = np.unique(grid)
    polys = np.asarray(_coverage_unions(geoms, grid), dtype=object)
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


def coverage_report(grids, buildings, assignment, *, area):
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
        ``multipart_grids`` (ids of grids made of several polygons), ``cut_buildings`` (ids of
        buildings with part of the footprint outside their grid's polygon or inside another
        grid's polygon -- more than 0.01 m² and more than a 1 mm band along the outline, the
        rounding of the coverage to ``GRID_SIZE``), ``unassigned_buildings``, ``coverage_valid``
        (``shapely.coverage_is_valid``: no overlap and identical shared edges) and ``ok``
        (every check passed; overlaps under 0.01 m² count as zero).
    """
    _require_metric(grids, "grids")
    _require_metric(buildings, "buildings")
    buildings = _same_crs(buildings, grids.crs, "buildings")
    area = _area_geometry(area)
    gids = grids.index.astype(str)
    geoms = np.asarray(grids.geometry.values, dtype=object)

    nonempty = geoms[~shapely.is_empty(geoms)]
    valid = bool(shapely.coverage_is_valid(nonempty))
    overlap = 0.0 if valid else _pairwise_overlap(geoms)  # a valid coverage has no overlap
    # a valid coverage has the fast union (the same polygon as the full union)
    union = shapely.coverage_union_all(nonempty) if valid else shapely.union_all(geoms)
    gap_geom = shapely.difference(area, union)
    outside_geom = shapely.difference(union, area)
    gap, outside = _wide_area(gap_geom), _wide_area(outside_geom)
    rounding = float(shapely.area(gap_geom) + shapely.area(outside_geom)) - gap - outside
    multipart = [g for g, n in zip(gids, shapely.get_num_geometries(geoms)) if n > 1]

    assigned = assignment.reindex(buildings.index)
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
    out_area = _area_outside(b_geoms, own_geom)
    tolerance = _cut_tolerance(b_geoms)
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
        "cut_buildings": sorted(cut),
        "unassigned_buildings": unassigned,
        "coverage_valid": valid,
    }
    report["ok"] = bool(
        valid and overlap < _AREA_TOLERANCE_M2 and gap == 0
        and outside == 0 and not multipart and not cut and not unassigned
    )
    return report
