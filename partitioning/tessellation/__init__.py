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

The steps live in: :mod:`~partitioning.tessellation.envelope` (the study area),
:mod:`~partitioning.tessellation.cells` (the cells), :mod:`~partitioning.tessellation.adjacency`
(which cells touch: the graph filter a plan's graph uses) and
:mod:`~partitioning.tessellation.coverage` (grid polygons and their coverage check).
"""

from partitioning.tessellation._geometry import CUT_TOLERANCE_M2, GRID_SIZE
from partitioning.tessellation.adjacency import cell_adjacency, keep_adjacent_cells
from partitioning.tessellation.cells import tessellate
from partitioning.tessellation.coverage import coverage_report, grid_polygons, simplify_grids
from partitioning.tessellation.envelope import DEFAULT_BUFFER, SETTLEMENT_CLOSING, settlement_envelope, study_area

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
