"""Loading a study area's inputs in one call: read → validate/repair → project → households."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyproj

from geo import households as hh
from geo.crs import choose_metric_crs, to_metric
from geo.csvfile import is_table
from geo.errors import InputError
from geo.frames import barriers_frame, boundaries_frame, buildings_frame, household_points_frame
from geo.headers import find_column
from geo.io import (
    coordinate_columns,
    file_sha256,
    is_osm,
    read_barriers,
    read_boundaries,
    read_buildings,
    read_household_points,
    read_household_table,
)
from geo.ledger import ledger_households
from geo.validate import Report, validate_buildings

__all__ = ["Inputs", "load_buildings", "prepare_buildings", "load_barriers", "load_boundaries", "prepare_barriers",
           "prepare_boundaries", "input_record"]

logger = logging.getLogger(__name__)

#: Column names the plan owns; input fields of the same name are kept as ``src_<name>``.
RESERVED = ("building_id", "grid_id", "grid_code", "households", "households_source", "persons")


@dataclass
class Inputs:
    """Buildings ready for partitioning, and what was learnt on the way.

    Attributes
    ----------
    buildings : GeoDataFrame
        Indexed by ``building_id``, valid footprints in ``crs``, with ``households`` and
        ``households_source`` (see ``docs/architecture.md``).
    crs : pyproj.CRS
        The metric CRS everything is computed in.
    source_crs : str
        The input's geographic CRS (after any datum conversion): exports default to it.
    households_method : str
        How households were obtained, in words.
    household_points : GeoDataFrame or None
        The household points with their ``building_id``, when points were given.
    ledger_rows : DataFrame or None
        With a ledger: each of its rows with its line, building and status
        (:attr:`geo.ledger.LedgerMatch.rows`).
    storeys : DataFrame or None
        With a ledger: its households by ``building_id``, ``unit`` and ``floor``
        (:attr:`geo.ledger.LedgerMatch.cells`, read by :func:`geo.storeys.building_storeys`).
    report : Report
        Notes (repairs, overlaps, unmatched points) and figures.
    files : list of dict
        Each input file with its role and SHA-256.
    """

    buildings: gpd.GeoDataFrame
    crs: pyproj.CRS
    source_crs: str
    households_method: str
    household_points: gpd.GeoDataFrame | None = None
    ledger_rows: pd.DataFrame | None = None
    storeys: pd.DataFrame | None = None
    report: Report = field(default_factory=Report)
    files: list = field(default_factory=list)


def input_record(role: str, path, *, layer=None) -> dict:
    """Describe an input file for the plan's metadata (path, layer, size, SHA-256)."""
    p = Path(path)
    return {"role": role, "path": str(p), "layer": layer, "bytes": p.stat().st_size,
            "sha256": file_sha256(p)}


def _rename_reserved(gdf: gpd.GeoDataFrame, keep: str | None = None) -> gpd.GeoDataFrame:
    clash = {c: f"src_{c}" for c in RESERVED if c in gdf.columns and c != keep}
    return gdf.rename(columns=clash)


def load_buildings(path, *, layer=None, id_field: str | None = None, crs=None, datum: str = "wgs84",
                   households_field: str | None = None, households_path=None, households_layer=None,
                   households_crs=None, match_distance: float = hh.DEFAULT_MATCH_DISTANCE,
                   drop_duplicates: bool = False, metric_crs=None, encoding: str | None = None,
                   sheet=None, ledger_key: str | None = None, ledger_count: str | None = None,
                   building_key: str | None = None) -> Inputs:
    """Read the buildings (and the households file) and :func:`prepare_buildings` them.

    Parameters
    ----------
    path : str or Path
        Building footprints (GeoJSON, GeoPackage, Shapefile, OSM ``.osm.pbf``/``.osm``, DXF).
    layer, id_field, crs, datum
        See :func:`geo.io.read_buildings`.
    households_field : str, optional
        Households from this count field on the buildings.
    households_path : str or Path, optional
        Households from points (CSV/XLSX with lon/lat, 经度/纬度 or x/y, GeoJSON, GeoPackage), one
        per household; or from a ledger (CSV/XLSX without coordinates, with a building column such
        as 楼栋号; see :mod:`geo.ledger`): buildings it does not mention keep the estimate.
    households_layer, households_crs
        Layer and CRS (for data without one) of the household points.
    match_distance, drop_duplicates, metric_crs, ledger_key, ledger_count, building_key
        See :func:`prepare_buildings`.
    encoding : str, optional
        Of a shapefile without ``.cpg`` and of CSV tables (detected by default).
    sheet : str or int, optional
        The worksheet of a spreadsheet ``households_path`` (default the first).

    Returns
    -------
    Inputs

    Examples
    --------
    >>> inputs = load_buildings("data/suzhou_gusu/buildings.geojson")
    >>> inputs.crs.to_string(), int(inputs.buildings["households"].sum()) > 0
    ('EPSG:4549', True)
    """
    if households_field is not None and households_path is not None:
        raise InputError("households are given both as a field of the buildings and as a table or points",
                         hint="give either {households_field} or {households_path}, not both")
    raw = read_buildings(path, layer=layer, id_field=id_field, crs=crs, datum=datum, encoding=encoding)
    households = None
    files = [input_record("buildings", path, layer=layer)]
    if households_path is not None:
        households = _ledger_table(households_path, sheet=sheet, encoding=encoding, ledger_key=ledger_key)
        if households is None:
            households = read_household_points(households_path, layer=households_layer, crs=households_crs,
                                               datum=datum, sheet=sheet, encoding=encoding)
        files.append(input_record("households", households_path,
                                  layer=households_layer if isinstance(households, gpd.GeoDataFrame) else sheet))
    inputs = prepare_buildings(raw, households_field=households_field, households=households,
                               match_distance=match_distance, drop_duplicates=drop_duplicates,
                               metric_crs=metric_crs, ledger_key=ledger_key, ledger_count=ledger_count,
                               building_key=building_key, source=str(path),
                               households_source=None if households_path is None else str(households_path))
    inputs.files = files
    return inputs


def prepare_buildings(gdf: gpd.GeoDataFrame, *, id_field: str | None = None, crs=None, datum: str = "wgs84",
                      households_field: str | None = None, households: pd.DataFrame | None = None,
                      match_distance: float = hh.DEFAULT_MATCH_DISTANCE, drop_duplicates: bool = False,
                      metric_crs=None, ledger_key: str | None = None, ledger_count: str | None = None,
                      building_key: str | None = None, source: str = "the buildings GeoDataFrame",
                      households_source: str | None = None) -> Inputs:
    """Buildings ready for partitioning from a GeoDataFrame: validate → CRS → households.

    The notebook's :func:`load_buildings`: the same rules, on footprints already in memory (read
    with :func:`geopandas.read_file`, clipped, filtered …).

    Parameters
    ----------
    gdf : GeoDataFrame
        Building footprints. IDs as :func:`geo.frames.buildings_frame` gives them (``id_field``,
        an index named ``building_id``, OSM ids, else ``B00001`` … by position).
    id_field : str, optional
        The column holding each building's own ID.
    crs : optional
        The CRS of a frame that carries none.
    datum : {"wgs84", "gcj02", "bd09"}
        Convert offset Chinese longitude/latitude to WGS84.
    households_field : str, optional
        Households from this count column of the buildings.
    households : GeoDataFrame or DataFrame, optional
        Household points (a GeoDataFrame of points, one per household, see
        :func:`geo.io.read_household_points`), or a household ledger (a DataFrame with a building
        column such as 楼栋号, see :mod:`geo.ledger`; buildings it does not name keep the estimate).
        Without either, households are estimated from footprint area × floors.
    match_distance : float
        Household points inside no building join the nearest building within this many metres.
    drop_duplicates : bool
        With ``households_field``: drop the later of two features that are the same building
        instead of refusing the input (other household sources always drop it, and report it).
    metric_crs : optional
        Compute in this projected CRS instead of the automatic choice.
    ledger_key, ledger_count, building_key : str, optional
        A ledger's building and households columns, and the buildings' field they match
        (see :func:`geo.ledger.match_ledger`); detected by default.
    source, households_source : str, optional
        What messages call the buildings and the households (e.g. their file paths).

    Returns
    -------
    Inputs
        ``files`` is empty: the frames come from no file the plan could record.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> footprints = gpd.read_file("data/suzhou_gusu/buildings.geojson")
    >>> ledger = pd.read_csv("data/suzhou_gusu/ledger.csv", dtype=str, encoding="gb18030")
    >>> inputs = prepare_buildings(footprints, households=ledger)
    >>> inputs.crs.to_string(), sorted(inputs.buildings["households_source"].unique())
    ('EPSG:4549', ['estimate', 'ledger'])
    """
    if households_field is not None and households is not None:
        raise InputError(f"{source}: households are given both as a field and as a table or points",
                         hint="give either {households_field} or {households}, not both")
    report = Report()
    raw = buildings_frame(gdf, id_field=id_field, crs=crs, datum=datum, source=source)
    for note in gdf.attrs.get("notes", []):  # what a reader left out (e.g. open polylines of a drawing)
        report.note(note)
    source_crs = raw.crs.to_string()
    metric = pyproj.CRS.from_user_input(metric_crs) if metric_crs is not None else choose_metric_crs(raw)
    # Dropping the later of two copies of a building is safe unless each copy carries its own
    # household count, which could differ: then the user decides (drop_duplicates).
    buildings = validate_buildings(to_metric(raw, metric), path=source, report=report,
                                   drop_duplicates=drop_duplicates or households_field is None,
                                   osm=is_osm(source))
    points = ledger_rows = storeys = None
    hh_name = households_source or ("the household points" if isinstance(households, gpd.GeoDataFrame)
                                    else "the household ledger")
    if households_field is not None:
        buildings["households"] = hh.from_field(buildings, households_field, path=source)
        buildings = _rename_reserved(buildings, keep="households")
        method, source_kind = f"field {households_field!r} of the buildings", "field"
    elif households is not None and not isinstance(households, gpd.GeoDataFrame):
        buildings = _rename_reserved(buildings)
        buildings, method, ledger_rows, storeys = _households_from_ledger(
            buildings, hh_name, households, report=report, key=ledger_key, count=ledger_count,
            building_key=building_key)
        source_kind = buildings.pop("households_source")
    elif households is not None:
        buildings = _rename_reserved(buildings)
        pts = household_points_frame(households, datum=datum, source=hh_name)
        per, points = hh.from_points(buildings, to_metric(pts, metric), max_distance=match_distance, path=hh_name)
        for col in per.columns:
            buildings[col] = per[col]
        unmatched = int((points["match"] == "unmatched").sum())
        report.figures["household_points"] = len(points)
        report.figures["unmatched_household_points"] = unmatched
        if unmatched:
            report.note(f"{hh_name}: {unmatched} household point(s) match no building within "
                        f"{match_distance:g} m (kept unassigned in the plan's 'households' layer): "
                        + ", ".join(map(str, points.index[points['match'] == 'unmatched'][:12])))
        nearest = int((points["match"] == "nearest").sum())
        method = (f"{len(points) - unmatched} household points from {hh_name} "
                  f"({nearest} joined to the nearest building within {match_distance:g} m)")
        source_kind = "points"
    else:
        buildings = _rename_reserved(buildings)
        buildings["households"], method = hh.estimate(buildings)
        source_kind = "estimate"
        report.note(f"households {method}; give a households field, points or a ledger for real counts")
    buildings["households_source"] = source_kind
    report.figures["buildings"] = len(buildings)
    report.figures["households"] = int(buildings["households"].sum())
    logger.info("%d buildings, %d households (%s)", len(buildings), buildings["households"].sum(), method)
    return Inputs(buildings=buildings, crs=metric, source_crs=source_crs, households_method=method,
                  household_points=points, ledger_rows=ledger_rows, storeys=storeys, report=report)


def prepare_barriers(gdf: gpd.GeoDataFrame, crs_metric, *, crs=None, datum: str = "wgs84",
                     source: str = "the barriers GeoDataFrame") -> gpd.GeoDataFrame:
    """Barrier lines from a GeoDataFrame (see :func:`geo.io.read_barriers`) in the metric CRS."""
    return to_metric(barriers_frame(gdf, crs=crs, datum=datum, source=source), crs_metric)


def prepare_boundaries(gdf: gpd.GeoDataFrame, crs_metric, *, id_field=None, name_field=None, crs=None,
                       datum: str = "wgs84", source: str = "the boundaries GeoDataFrame") -> gpd.GeoDataFrame:
    """Boundary polygons from a GeoDataFrame (see :func:`geo.io.read_boundaries`) in the metric CRS,
    made valid."""
    gdf = to_metric(boundaries_frame(gdf, id_field=id_field, name_field=name_field, crs=crs, datum=datum,
                                     source=source), crs_metric)
    gdf["geometry"] = gdf.geometry.make_valid()
    return gdf


def _ledger_table(path, *, sheet, encoding, ledger_key):
    """The table of a households file that is a ledger (no coordinates), else ``None`` (points)."""
    if not is_table(path):
        if ledger_key is not None:
            raise InputError(f"{path}: a ledger key applies to a ledger table (CSV or XLSX), not to a layer "
                             "of household points")
        return None
    table = read_household_table(path, sheet=sheet, encoding=encoding)
    pair, _ = coordinate_columns(table)
    if ledger_key is None and (pair is not None or find_column(table, "building") is None):
        return None  # points (or neither: the points reader says what is missing)
    return table


def _households_from_ledger(buildings, path, table, *, report: Report, key, count, building_key):
    """Households of the buildings a ledger names; the others keep the estimate (said so)."""
    estimate, how = hh.estimate(buildings)
    match = ledger_households(path, buildings, key=key, count=count, building_key=building_key, table=table)
    households = estimate.copy()
    households.loc[match.households.index] = match.households.to_numpy()
    source = pd.Series("estimate", index=buildings.index, dtype=object)
    source.loc[match.households.index] = "ledger"
    out = buildings.assign(households=households.astype("int64"), households_source=source)
    if match.persons is not None:
        out["persons"] = match.persons.reindex(out.index, fill_value=0).astype("int64")
    if match.cells is not None and match.cells["unit"].notna().any():
        # the ledger's units (单元), for the staffing and the emergency layout (geo.storeys)
        units = match.cells.dropna(subset=["unit"]).groupby("building_id")["unit"].max()
        out["n_units"] = units.reindex(out.index.astype(str)).to_numpy()
    for note in match.notes:
        report.note(note)
    counts = match.counts()
    report.figures["ledger_rows"] = {k: int(v) for k, v in counts["rows"].items()}
    report.figures["ledger_buildings_matched"] = len(match.households)
    n_est = len(buildings) - len(match.households)
    method = (f"ledger {path}: {int(match.households.sum())} households in {len(match.households)} buildings; "
              f"{n_est} building(s) not in the ledger {how} ({int(estimate.drop(match.households.index).sum())} households)")
    return out, method, match.rows, match.cells


def load_barriers(path, crs_metric, *, layer=None, crs=None, datum: str = "wgs84") -> gpd.GeoDataFrame:
    """Barrier lines (see :func:`geo.io.read_barriers`) in the metric CRS."""
    return to_metric(read_barriers(path, layer=layer, crs=crs, datum=datum), crs_metric)


def load_boundaries(path, crs_metric, *, layer=None, id_field=None, name_field=None, crs=None,
                    datum: str = "wgs84") -> gpd.GeoDataFrame:
    """Boundary polygons (see :func:`geo.io.read_boundaries`) in the metric CRS, made valid."""
    gdf = to_metric(read_boundaries(path, layer=layer, id_field=id_field, name_field=name_field,
                                    crs=crs, datum=datum), crs_metric)
    gdf["geometry"] = gdf.geometry.make_valid()
    return gdf
