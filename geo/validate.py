"""Validating building footprints: every problem collected into one report.

Fatal problems (the input cannot be used as it is) raise one :class:`~geo.errors.ValidationError`
listing all of them; safe repairs are made and reported as notes:

========================================  ===========================================================
problem                                   what happens
========================================  ===========================================================
missing or empty geometry                 error (OSM extracts: the feature GDAL could not build is
                                          dropped and reported — the extract itself is broken)
points or lines among the buildings       error: give a polygon layer
invalid geometry                          repaired with ``make_valid(method="structure")``, polygonal
                                          parts kept, listed; error if nothing polygonal is left
                                          (OSM extracts: dropped and reported)
footprints under 0.1 m² (flat outlines)   error (OSM extracts: dropped and reported)
exact duplicates, near-total overlaps     error (households would count twice), unless
(≥ 90 % of the smaller footprint)         ``drop_duplicates=True``: the later feature is dropped,
                                          listed
partial overlaps                          kept and listed; the partition keeps such buildings in
                                          one grid so no boundary cuts them
slivers (< 20 m²)                         kept and listed (sheds, kiosks, digitising debris)
========================================  ===========================================================
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import ValidationError, ids_text

__all__ = ["Report", "validate_buildings", "SLIVER_AREA", "MIN_AREA", "NEAR_TOTAL_OVERLAP"]

logger = logging.getLogger(__name__)

#: Footprints smaller than this (m²) are reported as slivers.
SLIVER_AREA = 20.0
#: Footprints enclosing less than this (m²) are degenerate outlines, not buildings.
MIN_AREA = 0.1
#: Two footprints whose overlap covers this share of the smaller one are the same building twice.
NEAR_TOTAL_OVERLAP = 0.9
_SHOW = 12  # IDs shown per problem line


def _ids(ids) -> str:
    return ids_text(ids, limit=_SHOW)


@dataclass
class Report:
    """What reading and validating the inputs found: notes for the user, figures for the plan."""

    notes: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    def note(self, message: str) -> None:
        """Record a note; the command line prints every note once, at the end of its output."""
        logger.info(message)
        self.notes.append(message)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry; ``None`` where nothing polygonal is left.

    ``make_valid`` may return a collection, or a line for a ring with too few points.
    """
    polygon, multi = shapely.GeometryType.POLYGON.value, shapely.GeometryType.MULTIPOLYGON.value
    out = np.empty(len(geoms), dtype=object)
    for i, geom in enumerate(geoms):
        parts = shapely.get_parts(shapely.get_parts(geom))  # collections and multi-parts flattened
        polys = parts[(shapely.get_type_id(parts) == polygon) & ~shapely.is_empty(parts)]
        if len(polys) == 0:
            out[i] = None
        elif len(polys) == 1 and shapely.get_type_id(geom) in (polygon, multi):
            out[i] = geom
        else:
            out[i] = shapely.multipolygons(polys) if len(polys) > 1 else polys[0]
    return out


def validate_buildings(buildings: gpd.GeoDataFrame, *, path: str, report: Report,
                       drop_duplicates: bool = False, osm: bool = False) -> gpd.GeoDataFrame:
    """Check and repair building footprints (in a metric CRS); raise on what cannot be used.

    Parameters
    ----------
    buildings : GeoDataFrame
        Indexed by ``building_id``, in a projected metric CRS.
    path : str
        The file, named in every message.
    report : Report
        Collects the notes (repairs, overlaps, slivers) and figures.
    drop_duplicates : bool
        Drop the later of two features that are the same building (exact duplicates and
        near-total overlaps) instead of refusing the input.
    osm : bool
        The input is an OSM extract: features GDAL could not build are dropped and reported.

    Returns
    -------
    GeoDataFrame
        Valid, non-empty (Multi)Polygon footprints, same index order, duplicates dropped if asked.
    """
    errors: list[str] = []
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    ids = buildings.index

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        if osm:
            report.note(f"{path}: {int(missing.sum())} OSM building(s) have geometry GDAL could not "
                        f"build (broken rings) and were left out: {_ids(ids[missing])}")
            buildings, geoms, ids = buildings[~missing], geoms[~missing], ids[~missing]
        else:
            errors.append(f"{int(missing.sum())} feature(s) have no geometry: {_ids(ids[missing])}; "
                          "remove them or draw their footprints")
            geoms = np.where(missing, None, geoms)  # type: ignore[call-overload]  # numpy's stubs refuse None

    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, [shapely.GeometryType.POLYGON.value,
                                shapely.GeometryType.MULTIPOLYGON.value])
    wrong = ~polygonal & ~shapely.is_missing(geoms)
    if wrong.any():
        kinds = sorted({shapely.get_type_id(g) for g in geoms[wrong]})
        names = ", ".join(shapely.GeometryType(k).name.title() for k in kinds)
        errors.append(f"{int(wrong.sum())} feature(s) are not polygons ({names}): {_ids(ids[wrong])}; "
                      "buildings must be footprints — give a polygon layer or remove them")

    invalid = polygonal & ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = _polygonal(shapely.make_valid(geoms[invalid], method="structure"))
        lost = shapely.is_missing(fixed)
        bad_ids = ids[invalid][lost]
        reasons = shapely.is_valid_reason(geoms[invalid])
        geoms[invalid] = fixed
        fixed_ids = ids[invalid][~lost]
        if len(fixed_ids):
            report.note(f"{path}: repaired {len(fixed_ids)} invalid footprint(s) with make_valid: "
                        f"{_ids(f'{i} ({r})' for i, r in zip(fixed_ids, reasons[~lost]))}")
        if len(bad_ids) and osm:
            report.note(f"{path}: {len(bad_ids)} OSM footprint(s) have no area once repaired (degenerate "
                        f"rings) and were left out: {_ids(bad_ids)}")
            keep = ~np.isin(ids, bad_ids)
            buildings, geoms, ids = buildings[keep], geoms[keep], ids[keep]
        elif len(bad_ids):
            errors.append(f"{len(bad_ids)} footprint(s) are invalid beyond repair (no area left after "
                          f"make_valid): {_ids(bad_ids)}; redraw them")
        report.figures["repaired_geometries"] = len(fixed_ids)

    # Outlines GEOS calls valid that enclose (next to) nothing, e.g. a flat ring after projection.
    flat = ~shapely.is_missing(geoms) & (shapely.area(geoms) < MIN_AREA)
    if flat.any() and osm:
        report.note(f"{path}: {int(flat.sum())} OSM footprint(s) enclose less than {MIN_AREA:g} m² and were "
                    f"left out: {_ids(ids[flat])}")
        buildings, geoms, ids = buildings[~flat], geoms[~flat], ids[~flat]
    elif flat.any():
        errors.append(f"{int(flat.sum())} footprint(s) enclose less than {MIN_AREA:g} m² (a flat or degenerate "
                      f"outline): {_ids(ids[flat])}; redraw or remove them")

    if errors:
        raise ValidationError(path, errors)

    # Overlaps, duplicates and slivers, on valid geometry.
    area = shapely.area(geoms)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inter = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    share = inter / np.maximum(np.minimum(area[left], area[right]), 1e-9)
    same = (share >= NEAR_TOTAL_OVERLAP) | shapely.equals(geoms[left], geoms[right])
    overlap = (inter > 0.01) & ~same
    if same.any():
        pairs = [f"{ids[a]}={ids[b]}" for a, b in zip(left[same], right[same])]
        if not drop_duplicates:
            raise ValidationError(path, [
                f"{len(pairs)} pair(s) of features are the same building twice (exact duplicates or "
                f"≥{NEAR_TOTAL_OVERLAP:.0%} overlap), which would count households twice: {_ids(pairs)}"],
                hint="delete one of each pair, or give {drop_duplicates} to keep the first of each pair")
        drop = np.unique(right[same])
        report.note(f"{path}: dropped {len(drop)} duplicate footprint(s) (kept the first of each pair): "
                    f"{_ids(pairs)}")
        mask = np.ones(len(geoms), dtype=bool)
        mask[drop] = False
        buildings, geoms, area = buildings[mask], geoms[mask], area[mask]
        pair_ok = mask[left] & mask[right]
        left, right, overlap, inter = left[pair_ok], right[pair_ok], overlap[pair_ok], inter[pair_ok]
        ids = buildings.index
        remap = np.cumsum(mask) - 1
        left, right = remap[left], remap[right]
    if overlap.any():
        pairs = [f"{ids[a]}/{ids[b]} ({m:.1f} m²)" for a, b, m in zip(left[overlap], right[overlap],
                                                                     inter[overlap])]
        report.note(f"{path}: {len(pairs)} pair(s) of footprints overlap a little; each pair is kept in "
                    f"one grid so no boundary cuts them: {_ids(pairs)}")
    report.figures["overlapping_pairs"] = [[str(ids[a]), str(ids[b])]
                                           for a, b in zip(left[overlap], right[overlap])]
    slivers = area < SLIVER_AREA
    if slivers.any():
        report.note(f"{path}: {int(slivers.sum())} footprint(s) are smaller than {SLIVER_AREA:g} m² "
                    f"(kept; check they are buildings): {_ids(ids[slivers])}")
    report.figures["slivers"] = int(slivers.sum())
    out = buildings.copy()
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=buildings.crs))
    return out
