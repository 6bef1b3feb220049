"""CAD drawings (DXF), CGCS2000 survey data (EPSG:4490 and its Gauss–Krüger zones) and GBK
shapefiles without a .cpg, on the bundled Suzhou data; every bad case through the command line
(message names the file, the layer and the fix; no traceback)."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
import shapely

import geo
from geo.cad import cad_layers, read_cad_footprints
from geo.errors import CRSError
from geo.io import read_buildings, shapefile_encoding
from geo.samples import CAD_CRS, DATA, make_cad
from tests.clirun import run

SUZHOU = DATA / "buildings.geojson"
CAD = DATA / "cad.dxf"



@pytest.fixture(scope="module")
def part():
    """The first 300 Suzhou footprints (lon/lat, generated IDs B00001…)."""
    b = read_buildings(SUZHOU)
    return b.iloc[:300]


# --- DXF -------------------------------------------------------------------------------------------


def test_sample_drawing_is_current(tmp_path):
    again = tmp_path / "cad.dxf"
    make_cad(again)
    assert again.read_bytes() == CAD.read_bytes(), "data/suzhou_gusu/cad.dxf is stale: run python -m geo.samples"


def test_dxf_closed_polylines_and_hatches_become_footprints():
    layers = cad_layers(CAD)
    assert layers.loc["建筑", "closed"] == 40 and layers.loc["建筑", "open"] == 1
    assert layers.loc["楼号", "text"] == 41 and layers.loc["道路", "open"] == 2
    fp = read_cad_footprints(CAD, cad_layer="建筑", crs=CAD_CRS)
    assert len(fp) == 40 and set(fp.geom_type) == {"Polygon"} and fp.is_valid.all()
    assert fp.crs.to_string() == CAD_CRS
    # each outline carries the number written inside it, every label but the open outline's used once
    assert fp["cad_text"].str.fullmatch(r"\d+幢").all() and fp["cad_text"].is_unique
    # the footprints are the bundled ones: B00<number> of the label, same place and area
    src = geo.load_buildings(SUZHOU).buildings
    for geom, label in zip(fp.geometry[:5], fp["cad_text"][:5]):
        ref = src.geometry[f"B{int(label[:-1]):05d}"]
        assert abs(geom.area - ref.area) < 0.01 * ref.area and geom.intersects(ref.representative_point())


def test_dxf_partition_with_layer_filter_and_ledger_on_the_labels(tmp_path):
    out_plan = tmp_path / "cad.gpkg"
    code, out = run("partition", CAD, "--crs", CAD_CRS, "--layer", "建筑", "--households", DATA / "ledger.csv",
                    "-o", out_plan)
    assert code == 0, out
    assert "left out 1 open polyline(s) of CAD layer(s) 建筑" in out
    assert "buildings' 'cad_text'" in out
    plan = geo.read_plan(out_plan)
    assert len(plan.buildings) == 40 and plan.meta["crs"] == CAD_CRS
    assert (plan.buildings["households_source"] == "ledger").all()


def test_dxf_without_crs_is_refused(tmp_path):
    code, out = run("partition", CAD, "-o", tmp_path / "p.gpkg")
    assert code == 2
    assert "cad.dxf: a DXF drawing carries no CRS" in out and "--crs EPSG:4549" in out
    with pytest.raises(CRSError):
        read_buildings(CAD)


@pytest.mark.parametrize("layer, message", [
    ("道路", "the outlines are open polylines: close them in CAD"),
    ("注记", "it holds only text; choose the layer of the building outlines with --layer"),
    ("JZ", "has no CAD layer JZ; its layers are: 建筑: 40 closed, 1 open"),
])
def test_dxf_layers_without_footprints_are_refused(tmp_path, layer, message):
    code, out = run("partition", CAD, "--crs", CAD_CRS, "--layer", layer, "-o", tmp_path / "p.gpkg")
    assert code == 2
    assert "cad.dxf" in out and message in out


def test_dxf_of_open_polylines_only_is_refused(tmp_path, part):
    """What the issue saw: a drawing whose outlines are lines ("not polygons (Linestring)")."""
    rings = [shapely.get_exterior_ring(shapely.get_geometry(g, 0) if g.geom_type == "MultiPolygon" else g)
             for g in part.to_crs(CAD_CRS).geometry.iloc[:5]]
    lines = gpd.GeoDataFrame({"Layer": ["0"] * 5},
                             geometry=[shapely.LineString(list(r.coords)[:-1]) for r in rings], crs=None)
    path = tmp_path / "open.dxf"
    with pytest.warns(UserWarning, match="'crs' was not provided"):  # a DXF has none
        pyogrio.write_dataframe(lines, path, driver="DXF")
    code, out = run("partition", path, "--crs", CAD_CRS, "-o", tmp_path / "p.gpkg")
    assert code == 2
    assert "open.dxf: the drawing holds no closed polylines" in out and "PEDIT" in out


def test_dxf_in_degrees_named_wrongly_is_refused(tmp_path):
    code, out = run("partition", CAD, "--crs", "EPSG:4490", "-o", tmp_path / "p.gpkg")
    assert code == 2 and "not degrees" in out and "cad.dxf" in out


def test_not_a_dxf_is_refused(tmp_path):
    bad = tmp_path / "bad.dxf"
    bad.write_text("hello")
    code, out = run("partition", bad, "--crs", CAD_CRS, "-o", tmp_path / "p.gpkg")
    assert code == 2 and "bad.dxf" in out


# --- CGCS2000 --------------------------------------------------------------------------------------


def test_cgcs2000_geographic_shapefile(tmp_path, part):
    path = tmp_path / "cgcs2000.shp"
    part.to_crs("EPSG:4490").to_file(path, encoding="UTF-8", index=False)
    inputs = geo.load_buildings(path)
    assert inputs.source_crs == "EPSG:4490" and inputs.crs.to_string() == "EPSG:4549"
    ref = geo.load_buildings(SUZHOU).buildings.loc[part.index]
    assert list(inputs.buildings.index) == list(part.index)
    assert abs(inputs.buildings.area.sum() - ref.area.sum()) < 1e-3 * ref.area.sum()


@pytest.mark.parametrize("epsg", [4549, 4528])  # CM 120°E without and with the zone number (zone 40)
def test_cgcs2000_gauss_kruger_geopackage(tmp_path, part, epsg):
    path = tmp_path / f"gk{epsg}.gpkg"
    part.to_crs(epsg).to_file(path, layer="buildings", index=False)
    code, out = run("partition", path, "-o", tmp_path / "p.gpkg")
    assert code == 0, out
    plan = geo.read_plan(tmp_path / "p.gpkg")
    assert plan.meta["crs"] == "EPSG:4549" and plan.meta["source_crs"] == f"EPSG:{epsg}"
    assert len(plan.buildings) == 300


def test_gauss_kruger_without_prj_needs_crs(tmp_path, part):
    path = tmp_path / "noprj.shp"
    part.to_crs(4549).to_file(path, encoding="UTF-8", index=False)
    path.with_suffix(".prj").unlink()
    code, out = run("partition", path, "-o", tmp_path / "p.gpkg")
    assert code == 2 and "noprj.shp: the data has no CRS" in out and "--crs EPSG:4549" in out
    code, out = run("partition", path, "--crs", "EPSG:4549", "-o", tmp_path / "p.gpkg")
    assert code == 0, out


# --- GBK shapefiles --------------------------------------------------------------------------------


@pytest.fixture
def gbk_shapefile(tmp_path, part):
    """The Suzhou part as a GBK shapefile with Chinese fields and no .cpg (as Chinese GIS saves them)."""
    named = part.assign(楼号=[f"{i + 1}号楼" for i in range(len(part))], 小区="桂花新村")[["楼号", "小区", "Floor",
                                                                                        "geometry"]]
    path = tmp_path / "gbk.shp"
    named.to_file(path, encoding="GBK", index=False)
    path.with_suffix(".cpg").unlink()
    return path


def test_gbk_shapefile_without_cpg_is_detected(gbk_shapefile):
    assert pyogrio.read_dataframe(gbk_shapefile).columns[0] != "楼号"  # what GDAL alone makes of it
    assert shapefile_encoding(gbk_shapefile) == "GB18030"
    b = read_buildings(gbk_shapefile)
    assert list(b.columns[:2]) == ["楼号", "小区"] and b["楼号"].iloc[2] == "3号楼"


def test_gbk_shapefile_partition_and_ledger_on_its_field(gbk_shapefile, tmp_path):
    ledger = tmp_path / "ledger.csv"
    ledger.write_bytes("小区,楼栋号,户数\n桂花新村,三幢,40\n桂花新村,12栋,8\n".encode("gbk"))
    out_plan = tmp_path / "p.gpkg"
    code, out = run("partition", gbk_shapefile, "--households", ledger, "-o", out_plan)
    assert code == 0, out
    assert "buildings' '楼号'" in out
    plan = geo.read_plan(out_plan)
    assert plan.buildings.loc[["B00003", "B00012"], "households"].tolist() == [40, 8]


def test_encoding_option(gbk_shapefile, tmp_path):
    code, out = run("partition", gbk_shapefile, "--encoding", "GBK", "-o", tmp_path / "p.gpkg")
    assert code == 0, out
    code, out = run("partition", gbk_shapefile, "--encoding", "UTF-8", "-o", tmp_path / "p.gpkg")
    assert code == 2 and "gbk.shp: the attributes cannot be decoded as UTF-8" in out and "--encoding GBK" in out


def test_utf8_shapefile_without_cpg(tmp_path, part):
    path = tmp_path / "utf8.shp"
    part.assign(楼号="1幢").to_file(path, encoding="UTF-8", index=False)
    path.with_suffix(".cpg").unlink()
    assert shapefile_encoding(path) == "UTF-8"
    assert read_buildings(path)["楼号"].iloc[0] == "1幢"


def test_dxf_old_style_closed_polyline(tmp_path):
    """A POLYLINE with VERTEX entities and the closed flag (R12 drawings) is a footprint too."""
    x0, y0 = 557800.0, 3464300.0
    ents = ["0", "POLYLINE", "8", "房屋", "66", "1", "70", "1"]
    for x, y in ((x0, y0), (x0 + 12, y0), (x0 + 12, y0 + 9), (x0, y0 + 9)):
        ents += ["0", "VERTEX", "8", "房屋", "10", f"{x}", "20", f"{y}"]
    ents += ["0", "SEQEND"]
    path = tmp_path / "r12.dxf"
    path.write_text("\n".join(["0", "SECTION", "2", "ENTITIES", *ents, "0", "ENDSEC", "0", "EOF"]) + "\n")
    fp = read_cad_footprints(path, crs=CAD_CRS)
    assert len(fp) == 1 and fp.geom_type.iloc[0] == "Polygon"
    assert abs(fp.area.iloc[0] - 108.0) < 1e-6 and fp["cad_layer"].iloc[0] == "房屋"


def test_dxf_texts_without_a_code_page(tmp_path):
    """A drawing that declares no code page: UTF-8 or GBK texts are detected, --encoding overrides."""
    ents = ["0", "LWPOLYLINE", "8", "建筑", "90", "4", "70", "1"]
    for x, y in ((557800.0, 3464300.0), (557812.0, 3464300.0), (557812.0, 3464309.0), (557800.0, 3464309.0)):
        ents += ["10", f"{x}", "20", f"{y}"]
    ents += ["0", "TEXT", "8", "楼号", "10", "557806.0", "20", "3464304.0", "40", "2.5", "1", "三号楼"]
    text = "\n".join(["0", "SECTION", "2", "ENTITIES", *ents, "0", "ENDSEC", "0", "EOF"]) + "\n"
    for enc in ("utf-8", "gbk"):
        path = tmp_path / f"{enc}.dxf"
        path.write_bytes(text.encode(enc))
        fp = read_cad_footprints(path, cad_layer="建筑", crs=CAD_CRS)
        assert fp["cad_text"].tolist() == ["三号楼"], enc
    code, out = run("partition", tmp_path / "gbk.dxf", "--crs", CAD_CRS, "--encoding", "UTF-8",
                    "-o", tmp_path / "p.gpkg")
    assert code == 2 and "gbk.dxf: the drawing's texts cannot be decoded as UTF-8" in out
