"""Exports: every format reads back (pyogrio) with the plan's attributes and geometry counts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import geo.export
from geo.errors import CRSError, InputError
from geo.export import EXPORT_FORMATS, SHAPEFILE_FIELDS, export_plan, shapefile_names
from geo.plan import Plan
from partitioning.codes import grid_codes
from partitioning.tessellation import grid_polygons, study_area, tessellate


@pytest.fixture(scope="module")
def plan(kunming_buildings, kunming_inputs):
    """Kunming: one grid per residential compound (小区), with Chinese names and codes."""
    buildings = kunming_buildings.copy()
    names = sorted(buildings["community"].unique())
    assignment = buildings["community"].map({n: f"G{k + 1:04d}" for k, n in enumerate(names)})
    cells = tessellate(buildings, area=study_area(buildings))
    polygons = grid_polygons(cells, assignment)
    grouped = buildings.groupby(assignment)
    grids = gpd.GeoDataFrame(
        {
            "grid_code": grid_codes(polygons, prefix="530103004012"),
            "households": grouped["households"].sum(),
            "n_buildings": grouped.size(),
            "status": "ok",
            "name": grouped["community"].first(),
        },
        geometry=polygons.geometry,
        crs=buildings.crs,
    )
    grids.index.name = "grid_id"
    buildings["grid_id"] = assignment
    buildings["grid_code"] = grids["grid_code"].reindex(assignment).to_numpy()
    return Plan(buildings=buildings, grids=grids, meta={"source_crs": kunming_inputs.source_crs})


def _text(values):
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def _same_attributes(read, frame, key, rename=None, *, empty_is_null=False):
    """Every column of the plan layer is in the file with the same values (as text).

    dBASE (Shapefile) and KML names cannot tell an empty text from a missing one:
    ``empty_is_null``.
    """
    table = frame.reset_index()
    read = read.set_index(rename.get(key, key) if rename else key).loc[table[key].astype(str)]
    for col in table.columns:
        if col in (key, table.geometry.name):
            continue
        field = rename[col] if rename else col
        a, b = _text(table[col]), _text(read[field])
        if empty_is_null:
            a = [None if v == "" else v for v in a]
        if pd.api.types.is_float_dtype(table[col]):
            np.testing.assert_allclose(pd.to_numeric(pd.Series(b)), table[col].to_numpy(), err_msg=col)
        else:
            assert a == b, col


def _same_geometry(read, frame, key, rename=None):
    expected = frame.geometry.to_crs(read.crs).reindex(read[rename.get(key, key) if rename else key])
    got = shapely.force_2d(read.geometry.values)
    assert len(read) == len(frame)
    assert (shapely.get_num_geometries(got) == shapely.get_num_geometries(expected.values)).all()
    assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(expected.values), tolerance=1e-7).all()


def test_gpkg_keeps_attributes_geometry_and_shared_edges(plan, tmp_path):
    files = export_plan(plan, tmp_path / "plan_export.gpkg", fmt="gpkg")
    assert files == [tmp_path / "plan_export.gpkg"]
    assert sorted(pyogrio.list_layers(files[0])[:, 0]) == ["buildings", "grids"]
    grids = pyogrio.read_dataframe(files[0], layer="grids")
    buildings = pyogrio.read_dataframe(files[0], layer="buildings")
    assert grids.crs.to_epsg() == 4326
    _same_attributes(grids, plan.grids, "grid_id")
    _same_attributes(buildings, plan.buildings, "building_id")
    _same_geometry(grids, plan.grids, "grid_id")
    _same_geometry(buildings, plan.buildings, "building_id")
    # transformed vertex by vertex: neighbouring grids still share exact edges in lon/lat
    assert shapely.coverage_is_valid(grids.geometry.values)
    assert list(tmp_path.iterdir()) == files  # no temporary files left


def test_geojson_in_requested_crs(plan, tmp_path):
    files = export_plan(plan, tmp_path / "kunming", fmt="geojson", crs="EPSG:4490")
    assert [f.name for f in files] == ["kunming_grids.geojson", "kunming_buildings.geojson"]
    grids = pyogrio.read_dataframe(files[0])
    assert grids.crs.to_epsg() == 4490
    _same_attributes(grids, plan.grids, "grid_id")
    _same_geometry(grids, plan.grids, "grid_id")
    buildings = pyogrio.read_dataframe(files[1])
    _same_attributes(buildings, plan.buildings, "building_id")
    _same_geometry(buildings, plan.buildings, "building_id")


def test_shapefile_short_fields_and_utf8(plan, tmp_path):
    files = export_plan(plan, tmp_path / "kunming.shp", fmt="shp")
    names = sorted(f.name for f in files)
    for layer in ("grids", "buildings"):
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            assert f"kunming_{layer}{ext}" in names
    assert (tmp_path / "kunming_grids.cpg").read_text().strip().upper().replace("-", "") == "UTF8"
    for layer, frame, key in (("grids", plan.grids, "grid_id"), ("buildings", plan.buildings, "building_id")):
        read = pyogrio.read_dataframe(tmp_path / f"kunming_{layer}.shp")
        assert all(len(c) <= 10 for c in read.columns)
        rename = shapefile_names([key, *frame.columns.drop(frame.geometry.name)])
        _same_attributes(read, frame, key, rename, empty_is_null=True)
        _same_geometry(read, frame, key, rename)
    read = pyogrio.read_dataframe(tmp_path / "kunming_grids.shp")
    assert set(read["name"]) == set(plan.grids["name"])  # 北泰花园 … intact
    assert "n_bldgs" in read.columns and "hh_source" in pyogrio.read_info(
        tmp_path / "kunming_buildings.shp")["fields"]


def test_kml_is_wgs84_with_both_layers(plan, tmp_path, caplog):
    files = export_plan(plan, tmp_path / "kunming.kml", fmt="kml", crs="EPSG:4549")
    assert "KML is always WGS 84" in caplog.text
    assert sorted(pyogrio.list_layers(files[0])[:, 0]) == ["buildings", "grids"]
    grids = pyogrio.read_dataframe(files[0], layer="grids")
    assert grids.crs.to_epsg() == 4326
    # LIBKML turns a `name` column into the placemark name (`Name`)
    rename = {c: c for c in ["grid_id", *plan.grids.columns]} | {"name": "Name"}
    _same_attributes(grids, plan.grids, "grid_id", rename)
    _same_geometry(grids, plan.grids, "grid_id", rename)
    buildings = pyogrio.read_dataframe(files[0], layer="buildings")
    rename = {c: c for c in ["building_id", *plan.buildings.columns]} | {"name": "Name", "id": "src_id"}
    # an empty placemark name is no name
    _same_attributes(buildings, plan.buildings, "building_id", rename, empty_is_null=True)
    _same_geometry(buildings, plan.buildings, "building_id", rename)


def test_csv_of_grids(plan, tmp_path):
    files = export_plan(plan, tmp_path / "grids.csv", fmt="csv")
    assert files[0].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    read = pyogrio.read_dataframe(files[0], read_geometry=False)
    assert len(read) == len(plan.grids)
    _same_attributes(read, plan.grids.drop(columns="geometry").pipe(gpd.GeoDataFrame,
                     geometry=plan.grids.geometry), "grid_id")
    assert {"area_m2", "lon", "lat"} <= set(read.columns)
    area = read.set_index("grid_id")["area_m2"].astype(float)
    np.testing.assert_allclose(area[plan.grids.index], plan.grids.area, atol=0.1)
    lon, lat = read["lon"].astype(float), read["lat"].astype(float)
    assert lon.between(102.6, 102.8).all() and lat.between(25.0, 25.1).all()


def test_every_format_is_covered():
    assert set(EXPORT_FORMATS) == {"gpkg", "geojson", "shp", "kml", "csv"}
    assert all(len(v) <= 10 for v in SHAPEFILE_FIELDS.values())
    assert shapefile_names(["community_name", "community_code", "Community_nameX"]) == {
        "community_name": "community_",
        "community_code": "communit_1",
        "Community_nameX": "Communit_2",
    }


def test_bad_format_and_crs(plan, tmp_path):
    with pytest.raises(InputError, match="unknown export format"):
        export_plan(plan, tmp_path / "x.dxf", fmt="dxf")
    with pytest.raises(CRSError, match="unknown CRS"):
        export_plan(plan, tmp_path / "x.gpkg", fmt="gpkg", crs="EPSG:999999")
    assert list(tmp_path.iterdir()) == []


def test_failed_export_leaves_the_old_file(plan, tmp_path, monkeypatch):
    target = tmp_path / "plan.gpkg"
    target.write_bytes(b"old")
    real = pyogrio.write_dataframe

    def fail_on_buildings(df, path, *, layer=None, **kw):
        if layer == "buildings":
            raise RuntimeError("disk full")
        return real(df, path, layer=layer, **kw)

    monkeypatch.setattr(geo.export.pyogrio, "write_dataframe", fail_on_buildings)
    with pytest.raises(RuntimeError, match="disk full"):
        export_plan(plan, target, fmt="gpkg")
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]
