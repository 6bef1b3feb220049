"""The data layer on the real data: readers, IDs, CRS, datums, validation, households, plan file."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import geo
from app.cli import cli_flag
from geo import households as hh
from geo.crs import choose_metric_crs, convert_datum
from geo.errors import CRSError, GridplanError, InputError, PlanFileError
from geo.io import read_barriers, read_buildings, read_household_points
from geo.plan import Plan, atomic_path, read_plan, write_plan


def test_suzhou_loads_with_generated_ids_and_gauss_kruger(suzhou_inputs):
    b = suzhou_inputs.buildings
    assert len(b) == 3076
    assert b.index.name == "building_id" and b.index.is_unique
    assert b.index[0] == "B00001" and b.index[-1] == "B03076"
    assert suzhou_inputs.crs.to_epsg() == 4549  # CGCS2000 3-degree GK CM 120E
    assert suzhou_inputs.source_crs == "EPSG:4326"
    assert b.geometry.is_valid.all()
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert (b["households_source"] == "estimate").all()
    assert "estimated" in suzhou_inputs.households_method and "Floor" in suzhou_inputs.households_method
    # the input's attributes are kept
    assert {"Floor", "height", "x", "y"} <= set(b.columns)
    assert suzhou_inputs.report.figures["slivers"] == 95
    assert len(suzhou_inputs.report.figures["overlapping_pairs"]) == 8


def test_estimate_follows_area_and_floors(suzhou_buildings):
    b = suzhou_buildings
    expected = np.round(b.area * b["Floor"] / hh.FLOOR_AREA_PER_HOUSEHOLD)
    big = b.area >= hh.MIN_DWELLING_FOOTPRINT
    expected = np.where(big & (expected < 1), 1, expected)
    np.testing.assert_array_equal(b["households"].to_numpy(), expected)
    tower = b["Floor"].idxmax()
    assert b.loc[tower, "Floor"] == 28 and b.loc[tower, "households"] > 50


def test_kunming_ids_from_field_and_non_residential_weighted_out(kunming_inputs):
    b = kunming_inputs.buildings
    assert len(b) == 140 and "322667424" in b.index
    assert kunming_inputs.crs.to_epsg() == 4543  # GK CM 102E
    parking = b["building"].isin(["parking", "commercial", "retail", "school", "garages"])
    assert parking.any() and (b.loc[parking, "households"] == 0).all()
    assert (b.loc[b["building"] == "apartments", "households"] > 0).all()


def test_kotka_osm_ids_levels_and_broken_features(kotka_inputs):
    b = kotka_inputs.buildings
    assert kotka_inputs.crs.to_epsg() == 32635  # outside China: UTM
    assert all(i[0] in "wr" for i in b.index)
    notes = "\n".join(kotka_inputs.report.notes)
    assert "4 OSM building(s) have geometry GDAL could not build" in notes
    assert "dropped 1 duplicate footprint(s)" in notes and "w369836399=w424099283" in notes
    assert "22 OSM footprint(s) have no area once repaired (degenerate rings) and were left out" in notes
    assert len(b) == 2219 - 4 - 22 - 1
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"} and b.geometry.is_valid.all()
    levels = b["building:levels"].notna()
    assert levels.sum() >= 5
    industrial = b["building"] == "industrial"
    assert (b.loc[industrial, "households"] == 0).all()


def test_kotka_barriers_classified(kotka_barriers):
    kinds = kotka_barriers.set_index("kind")["barrier_class"]
    assert set(kinds.loc["highway=secondary"]) == {"major"}
    assert set(kinds.loc["highway=residential"]) == {"minor"}
    assert "highway=footway" not in kinds.index and "highway=cycleway" not in kinds.index
    assert kotka_barriers.crs.to_epsg() == 32635


def test_choose_metric_crs_zones():
    def at(lon, lat):
        return gpd.GeoDataFrame(geometry=[shapely.Point(lon, lat)], crs=4326)

    assert choose_metric_crs(at(116.4, 39.9)).to_epsg() == 4548  # Beijing, CM 117E
    assert choose_metric_crs(at(113.3, 23.1)).to_epsg() == 4547  # Guangzhou, CM 114E
    assert choose_metric_crs(at(-0.12, 51.5)).to_epsg() == 32630  # London, UTM 30N


def test_gcj02_round_trip(real_data):
    import prcoords

    wgs = read_buildings(real_data / "kunming_panlong_buildings.geojson", id_field="id")
    # make GCJ-02 coordinates from WGS84 ones, then convert back
    fwd = shapely.transform(np.asarray(wgs.geometry.values),
                            lambda xy: np.array([[c.lon, c.lat] for c in
                                                 (prcoords.wgs_gcj((lat, lon)) for lon, lat in xy)]))
    gcj = wgs.set_geometry(gpd.GeoSeries(fwd, index=wgs.index, crs=4326))
    back = convert_datum(gcj, "gcj02")
    shift = wgs.to_crs(4543).distance(gcj.to_crs(4543))
    err = wgs.to_crs(4543).geometry.hausdorff_distance(back.to_crs(4543).geometry)
    assert shift.min() > 100  # the GCJ-02 offset is hundreds of metres
    assert err.max() < 0.05  # the inverse is good to centimetres


def test_datum_needs_lonlat(suzhou_buildings):
    with pytest.raises(CRSError, match="applies to longitude/latitude"):
        convert_datum(suzhou_buildings, "gcj02")
    with pytest.raises(CRSError, match="not one of"):
        convert_datum(suzhou_buildings, "wgs72")


def test_household_points_join(tmp_path, kunming_buildings):
    """Points inside a footprint join it; points near one join the nearest within 30 m; the rest
    are reported, not dropped."""
    b = kunming_buildings
    apartments = b[b["building"] == "apartments"].index[:2]
    inside = b.loc[apartments].representative_point()
    # a point 5 m outside the first apartment block that lies in no building and nearest to it
    ring = b.loc[apartments[0]].geometry.buffer(5).exterior
    candidates = [ring.interpolate(f, normalized=True) for f in np.linspace(0, 1, 200)]
    near = next(p for p in candidates if not b.intersects(p).any()
                and b.distance(p).idxmin() == apartments[0])
    centre = b.loc[apartments[0]].geometry.centroid
    far = shapely.Point(centre.x + 5000, centre.y)
    pts = gpd.GeoDataFrame({"household_id": ["h1", "h2", "h3", "h4"], "persons": [3, 2, 4, 1],
                            "elderly_alone": [True, False, True, False]},
                           geometry=[inside.iloc[0], inside.iloc[1], near, far], crs=b.crs)
    path = tmp_path / "hh.gpkg"
    pts.to_crs(4326).to_file(path)
    read = read_household_points(path)
    per, joined = hh.from_points(b, read.to_crs(b.crs))
    assert joined.loc["h1", "match"] == "inside" and joined.loc["h1", "building_id"] == apartments[0]
    assert joined.loc["h3", "match"] == "nearest"
    assert joined.loc["h4", "match"] == "unmatched" and pd.isna(joined.loc["h4", "building_id"])
    assert per.loc[apartments[0], "households"] == 2
    assert per.loc[apartments[0], "persons"] == 7
    assert per.loc[apartments[0], "flag_elderly_alone"] == 2
    assert per["households"].sum() == 3


def test_household_points_through_load(tmp_path, real_data):
    b = read_buildings(real_data / "kunming_panlong_buildings.geojson", id_field="id")
    pts = b.to_crs(4543).representative_point().to_crs(4326)
    csv = tmp_path / "hh.csv"
    pd.DataFrame({"lon": list(pts.x) * 2, "lat": list(pts.y) * 2}).to_csv(csv, index=False)
    inputs = geo.load_buildings(real_data / "kunming_panlong_buildings.geojson", id_field="id",
                                households_path=csv)
    # two points per building; an overlapping footprint pair shares its points with the first
    assert inputs.buildings["households"].sum() == 280
    assert (inputs.buildings["households_source"] == "points").all()
    assert inputs.household_points.index[0] == "H00001"
    assert [f["role"] for f in inputs.files] == ["buildings", "households"]


def test_barriers_from_plain_line_file(tmp_path):
    lines = gpd.GeoDataFrame({"name": ["干将路"]}, geometry=[shapely.LineString([(120.6, 31.3), (120.61, 31.3)])],
                             crs=4326)
    path = tmp_path / "roads.geojson"
    lines.to_file(path)
    out = read_barriers(path)
    assert list(out["barrier_class"]) == ["major"] and list(out["name"]) == ["干将路"]


def _tiny_plan(crs=4549) -> Plan:
    b = gpd.GeoDataFrame({"grid_id": ["G1", "G1", "G2"], "households": [10, 20, 30],
                          "名称": ["一号楼", "二号楼", "三号楼"]},
                         geometry=[shapely.box(0, 0, 10, 10), shapely.box(12, 0, 22, 10), shapely.box(30, 0, 40, 10)],
                         index=pd.Index(["a", "b", "c"], name="building_id"), crs=crs)
    g = gpd.GeoDataFrame({"grid_code": ["001", "002"], "households": [30, 30], "n_buildings": [2, 1],
                          "status": ["ok", "ok"]},
                         geometry=[shapely.box(-1, -1, 26, 11), shapely.box(26, -1, 41, 11)],
                         index=pd.Index(["G1", "G2"], name="grid_id"), crs=crs)
    return Plan(buildings=b, grids=g, meta={"target": 30, "tolerance": 0.2, "seed": 7,
                                            "inputs": [{"role": "buildings", "sha256": "ab"}]})


def test_plan_round_trip(tmp_path):
    path = write_plan(_tiny_plan(), tmp_path / "p.gpkg")
    back = read_plan(path)
    assert list(back.buildings.index) == ["a", "b", "c"]
    assert back.buildings.loc["b", "名称"] == "二号楼"
    assert back.buildings["households"].dtype.kind == "i"
    assert back.grids.loc["G2", "grid_code"] == "002"
    assert back.meta["seed"] == 7 and back.meta["inputs"][0]["sha256"] == "ab"
    assert back.meta["format_version"] == 1 and "gridplan_version" in back.meta
    assert back.crs.to_epsg() == 4549


def test_missing_text_stays_missing(tmp_path):
    plan = _tiny_plan()
    plan.buildings["note"] = pd.Series(["x", pd.NA, None], index=plan.buildings.index, dtype=object)
    back = read_plan(write_plan(plan, tmp_path / "p.gpkg"))
    assert back.buildings.loc["a", "note"] == "x"
    assert back.buildings["note"].isna().tolist() == [False, True, True]


def test_plan_write_is_atomic(tmp_path, monkeypatch):
    path = write_plan(_tiny_plan(), tmp_path / "p.gpkg")
    before = path.read_bytes()
    import pyogrio

    real = pyogrio.write_dataframe

    def fail_on_grids(df, p, layer=None, **kw):
        if layer == "grids":
            raise OSError("disk full")
        return real(df, p, layer=layer, **kw)

    monkeypatch.setattr(pyogrio, "write_dataframe", fail_on_grids)
    with pytest.raises(OSError, match="disk full"):
        write_plan(_tiny_plan(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.gpkg"]


def test_atomic_path_cleans_up(tmp_path):
    target = tmp_path / "out.html"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_read_plan_errors(tmp_path):
    with pytest.raises(PlanFileError, match="no such plan file"):
        read_plan(tmp_path / "missing.gpkg")
    bad = tmp_path / "x.gpkg"
    bad.write_text("not a geopackage")
    with pytest.raises(PlanFileError, match="is not a GeoPackage"):
        read_plan(bad)


def test_reserved_input_columns_are_kept_aside(tmp_path):
    gdf = gpd.GeoDataFrame({"grid_id": ["old1", "old2"], "households": [5, 6]},
                           geometry=[shapely.box(120.6, 31.3, 120.6001, 31.3001),
                                     shapely.box(120.6002, 31.3, 120.6003, 31.3001)], crs=4326)
    path = tmp_path / "b.geojson"
    gdf.to_file(path)
    inputs = geo.load_buildings(path, households_field="households")
    assert list(inputs.buildings["src_grid_id"]) == ["old1", "old2"]
    assert list(inputs.buildings["households"]) == [5, 6]
    with pytest.raises(InputError, match="has no field 'hh'"):
        geo.load_buildings(path, households_field="hh")


def test_error_hints_name_parameters_in_the_library_and_flags_on_the_command_line(tmp_path):
    """A library error says what to do with the library's parameter names (a notebook user's
    words); the CLI prints the same hint on its own line with its flags. geo/ names no flag."""
    footprints = gpd.read_file("data/suzhou_gusu/buildings.geojson").head(5)
    with pytest.raises(GridplanError) as info:
        geo.prepare_buildings(footprints.set_crs(None, allow_override=True))
    assert "has no CRS" in str(info.value) and "--" not in str(info.value)
    assert info.value.hint_text() == ("name it with `crs`, e.g. crs='EPSG:4326' for longitude/latitude or "
                                      "crs='EPSG:4549' for CGCS2000 Gauss-Krüger CM 120E")
    assert info.value.hint_text(cli_flag).startswith("name it with --crs, e.g. --crs EPSG:4326 ")
    assert any("hint: name it with `crs`" in note for note in info.value.__notes__)  # shown in a traceback
    assert cli_flag("households_path") == "--households" and cli_flag("drop_duplicates") == "--drop-duplicates"
    flags = []
    for path in sorted(Path("geo").glob("*.py")):
        code = re.sub(r'"""(?:.|\n)*?"""', "", path.read_text(encoding="utf-8"))  # docstrings may name commands
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
        flags += [f"{path}: {m}" for m in re.findall(r"""["'][^"'\n]*\s--[a-z][a-z-]+""", code)]
    assert not flags, flags


def test_prepare_buildings_from_frames_is_load_buildings_from_files():
    """The notebook path (frames) gives the same buildings and households as the files' path,
    for households from a ledger table and from household points."""
    path, ledger_path = "data/suzhou_gusu/buildings.geojson", "data/suzhou_gusu/ledger.xlsx"
    from_files = geo.load_buildings(path, households_path=ledger_path)
    ledger = pd.read_excel(ledger_path, dtype=str)
    from_frames = geo.prepare_buildings(gpd.read_file(path), households=ledger)
    pd.testing.assert_index_equal(from_frames.buildings.index, from_files.buildings.index)
    pd.testing.assert_series_equal(from_frames.buildings["households"], from_files.buildings["households"])
    pd.testing.assert_series_equal(from_frames.buildings["households_source"],
                                   from_files.buildings["households_source"])
    assert (from_frames.buildings["households_source"] == "ledger").sum() == 1195
    assert from_frames.files == [] and [f["role"] for f in from_files.files] == ["buildings", "households"]
    # points: one per household, at the first 40 buildings' centroids (3 each)
    b = from_files.buildings.head(40)
    pts = gpd.GeoDataFrame({"persons": [2] * 120}, geometry=b.centroid.repeat(3).to_crs(4326).to_numpy(), crs=4326)
    inputs = geo.prepare_buildings(gpd.read_file(path).head(40), households=pts)
    assert inputs.buildings["households"].tolist() == [3] * 40
    assert inputs.buildings["households_source"].eq("points").all()
    assert inputs.household_points.index[0] == "H00001" and int(inputs.buildings["persons"].sum()) == 240


def test_prepare_barriers_and_boundaries_from_frames():
    inputs = geo.load_buildings("data/suzhou_gusu/buildings.geojson")
    hull = inputs.buildings.to_crs(4326).union_all().convex_hull
    roads = gpd.GeoDataFrame({"highway": ["primary", "footway"], "name": ["干将路", "小路"]},
                             geometry=[hull.boundary, shapely.LineString(hull.exterior.coords[:2])], crs=4326)
    barriers = geo.prepare_barriers(roads, inputs.crs)
    assert barriers.crs == inputs.crs and barriers["barrier_class"].tolist() == ["major"]  # a footway is none
    areas = gpd.GeoDataFrame({"code": [320508], "name": ["姑苏"]}, geometry=[hull], crs=4326)
    boundaries = geo.prepare_boundaries(areas, inputs.crs)
    assert boundaries["boundary_id"].tolist() == ["320508"] and boundaries.crs == inputs.crs
    with pytest.raises(InputError, match="the boundaries GeoDataFrame: boundaries must be polygons"):
        geo.prepare_boundaries(roads, inputs.crs)
