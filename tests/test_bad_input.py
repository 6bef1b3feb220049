"""Every bad input of the foundation issue: the message names the file, the features and the fix,
the exit status is non-zero, and nothing already written is touched."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
import shapely

from tests.clirun import run

# A 3 × 1 row of 10 m square buildings in Suzhou, lon/lat (≈ 0.0001° ≈ 10 m):
#
#   +--+ +--+ +--+
#   |a | |b | |c |
#   +--+ +--+ +--+
X0, Y0, D = 120.60, 31.30, 0.0001


def square(i: int, j: int = 0, size: float = D):
    x, y = X0 + i * 1.5 * D, Y0 + j * 1.5 * D
    return shapely.box(x, y, x + size, y + size)


def write(tmp_path, name, gdf, **kwargs):
    path = tmp_path / name
    gdf.to_file(path, **kwargs)
    return path


def buildings(n=3, **columns):
    data = {"name": [f"b{i}" for i in range(n)], **columns}
    return gpd.GeoDataFrame(data, geometry=[square(i) for i in range(n)], crs=4326)



def partition(tmp_path, path, *extra):
    return run("partition", path, "-o", tmp_path / "plan.gpkg", *extra)


def test_missing_file(tmp_path):
    code, out = partition(tmp_path, tmp_path / "nope.geojson")
    assert code == 2
    assert "nope.geojson: no such file" in out


def test_unreadable_file(tmp_path):
    path = tmp_path / "garbage.geojson"
    path.write_text("this is not GeoJSON {")
    code, out = partition(tmp_path, path)
    assert code == 2
    assert "garbage.geojson" in out and "cannot be read" in out


def test_empty_file(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    code, out = partition(tmp_path, path)
    assert code == 2
    assert "empty.geojson" in out and "has no features" in out


def test_points_are_not_buildings(tmp_path):
    gdf = buildings(3)
    gdf.loc[1, "geometry"] = shapely.Point(X0, Y0)
    path = write(tmp_path, "mixed.geojson", gdf)
    code, out = partition(tmp_path, path)
    assert code == 2
    assert "mixed.geojson" in out
    assert "1 feature(s) are not polygons (Point): B00002" in out
    assert "polygon layer" in out


def test_missing_geometry(tmp_path):
    path = tmp_path / "nogeom.geojson"
    gdf = buildings(2)
    text = json.loads(gdf.to_json())
    text["features"][1]["geometry"] = None
    path.write_text(json.dumps(text))
    code, out = partition(tmp_path, path)
    assert code == 2
    assert "have no geometry: B00002" in out


def test_no_crs_is_an_error_unless_named(tmp_path):
    gdf = buildings(3).to_crs(4549).set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="'crs' was not provided"):  # exactly the bad input we want
        path = write(tmp_path, "nocrs.shp", gdf)
    code, out = partition(tmp_path, path)
    assert code == 2
    assert "nocrs.shp: the data has no CRS" in out and "--crs" in out
    code, out = run("partition", path, "--crs", "EPSG:4326", "-o", tmp_path / "p.gpkg")
    assert code == 2  # the wrong CRS is caught by its consequence: coordinates that are not lon/lat
    code, out = run("partition", path, "--crs", "EPSG:4549", "-o", tmp_path / "p.gpkg")
    assert code == 0, out


def test_conflicting_crs(tmp_path):
    path = write(tmp_path, "b.geojson", buildings(3))
    code, out = run("partition", path, "--crs", "EPSG:4549", "-o", tmp_path / "p.gpkg")
    assert code == 2
    assert "declares EPSG:4326 but the CRS given is EPSG:4549" in out
    assert "\ngridplan: hint: leave out --crs to use the file's CRS" in out  # the hint on its own line, as a flag


def test_duplicate_ids(tmp_path):
    path = write(tmp_path, "dup.geojson", buildings(3, code=["A", "B", "A"]))
    code, out = partition(tmp_path, path, "--id-field", "code")
    assert code == 2
    assert "dup.geojson: 1 building ID(s) occur more than once: A" in out


def test_unknown_id_field(tmp_path):
    path = write(tmp_path, "b.geojson", buildings(3))
    code, out = partition(tmp_path, path, "--id-field", "bid")
    assert code == 2
    assert "has no field 'bid' for the building IDs" in out and "name" in out
    assert "hint: choose one of them with --id-field" in out


@pytest.mark.parametrize("values, message", [
    (["3", "x", "4"], "1 value(s) of 'hh' are not numbers: B00002='x'"),
    ([3, -2, 4], "1 value(s) of 'hh' are negative: B00002=-2"),
    ([3, 2.5, 4], "1 value(s) of 'hh' are not whole numbers: B00002=2.5"),
])
def test_bad_household_counts(tmp_path, values, message):
    path = write(tmp_path, "hh.geojson", buildings(3, hh=values))
    code, out = partition(tmp_path, path, "--households-field", "hh")
    assert code == 2
    assert "hh.geojson" in out and message in out


def test_exact_duplicates_with_counts_are_refused(tmp_path):
    gdf = buildings(3, hh=[10, 12, 8])
    gdf.loc[2, "geometry"] = gdf.loc[0, "geometry"]
    path = write(tmp_path, "twice.geojson", gdf)
    code, out = partition(tmp_path, path, "--households-field", "hh")
    assert code == 2
    assert "same building twice" in out and "B00001=B00003" in out and "--drop-duplicates" in out
    code, out = partition(tmp_path, path, "--households-field", "hh", "--drop-duplicates")
    assert code == 0, out
    assert "dropped 1 duplicate footprint(s)" in out


def test_near_total_overlap_is_a_duplicate(tmp_path):
    gdf = buildings(3, hh=[10, 12, 8])
    gdf.loc[2, "geometry"] = shapely.affinity.translate(gdf.loc[0, "geometry"], D * 0.03)
    path = write(tmp_path, "shifted.geojson", gdf)
    code, out = partition(tmp_path, path, "--households-field", "hh")
    assert code == 2
    assert "B00001=B00003" in out


def test_invalid_geometry_is_repaired_and_reported(tmp_path):
    gdf = buildings(3)
    x, y = X0 + 3 * D, Y0
    gdf.loc[1, "geometry"] = shapely.Polygon([(x, y), (x + D, y + D), (x + D, y), (x, y + D)])  # bow-tie
    path = write(tmp_path, "bowtie.geojson", gdf)
    code, out = partition(tmp_path, path)
    assert code == 0, out
    assert "repaired 1 invalid footprint(s) with make_valid: B00002 (Self-intersection" in out


def test_zero_area_footprint_is_refused(tmp_path):
    gdf = buildings(3)
    gdf.loc[1, "geometry"] = shapely.Polygon([(X0, Y0), (X0 + D, Y0), (X0 + 2 * D, Y0), (X0, Y0)])
    path = write(tmp_path, "flat.geojson", gdf)
    code, out = partition(tmp_path, path)
    assert code == 2
    assert "1 footprint(s) enclose less than 0.1 m² (a flat or degenerate outline): B00002" in out


def test_slivers_are_reported(tmp_path):
    gdf = buildings(3)
    gdf.loc[2, "geometry"] = square(2, size=D / 4)  # ~2.5 m × 2.5 m
    path = write(tmp_path, "sliver.geojson", gdf)
    code, out = partition(tmp_path, path)
    assert code == 0, out
    assert "1 footprint(s) are smaller than 20 m²" in out and "B00003" in out


def test_layer_needed_for_multilayer_geopackage(tmp_path):
    path = tmp_path / "two.gpkg"
    buildings(3).to_file(path, layer="a")
    buildings(3).to_file(path, layer="b")
    code, out = partition(tmp_path, path)
    assert code == 2
    assert "has 2 layers (a, b)\ngridplan: hint: choose one with --layer" in out
    code, out = partition(tmp_path, path, "--layer", "c")
    assert code == 2 and "has no layer 'c'" in out
    code, out = partition(tmp_path, path, "--layer", "b")
    assert code == 0, out


def test_household_points_csv_without_coordinates(tmp_path):
    b = write(tmp_path, "b.geojson", buildings(3))
    csv = tmp_path / "hh.csv"
    csv.write_text("household_id,persons\nh1,3\n")
    code, out = partition(tmp_path, b, "--households", csv)
    assert code == 2
    assert "hh.csv: needs coordinate columns lon/lat" in out


def test_household_points_xy_need_a_crs(tmp_path):
    b = write(tmp_path, "b.geojson", buildings(3))
    csv = tmp_path / "hh.csv"
    csv.write_text("x,y\n1,2\n")
    code, out = partition(tmp_path, b, "--households", csv)
    assert code == 2
    assert "x/y columns carry no CRS\ngridplan: hint: name it with --crs, e.g. --crs EPSG:4549" in out


def test_household_points_bad_coordinates_and_persons(tmp_path):
    b = write(tmp_path, "b.geojson", buildings(3))
    csv = tmp_path / "hh.csv"
    csv.write_text(f"lon,lat,persons\n{X0},{Y0},2\nabc,{Y0},1\n")
    code, out = partition(tmp_path, b, "--households", csv)
    assert code == 2 and "missing or non-numeric coordinates (line 3)" in out
    csv.write_text(f"lon,lat,persons\n{X0},{Y0},-1\n")
    code, out = partition(tmp_path, b, "--households", csv)
    assert code == 2 and "'persons' must be a whole number" in out


def test_both_household_sources_refused(tmp_path):
    b = write(tmp_path, "b.geojson", buildings(3, hh=[1, 2, 3]))
    csv = tmp_path / "hh.csv"
    csv.write_text(f"lon,lat\n{X0},{Y0}\n")
    code, out = partition(tmp_path, b, "--households", csv, "--households-field", "hh")
    assert code == 2 and "not both" in out


def test_failed_run_leaves_existing_plan_untouched(tmp_path):
    good = write(tmp_path, "good.geojson", buildings(3, hh=[20, 20, 20]))
    plan = tmp_path / "plan.gpkg"
    code, out = run("partition", good, "--households-field", "hh", "--target", "30", "-o", plan)
    assert code == 0, out
    before = plan.read_bytes()
    bad = write(tmp_path, "bad.geojson", buildings(3, hh=[20, -1, 20]))
    code, out = run("partition", bad, "--households-field", "hh", "-o", plan)
    assert code == 2
    assert plan.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".plan")] == []


def test_plan_output_must_be_geopackage(tmp_path):
    b = write(tmp_path, "b.geojson", buildings(3))
    code, out = run("partition", b, "-o", tmp_path / "plan.shp")
    assert code == 2 and "*.gpkg" in out


def test_not_a_plan(tmp_path):
    path = tmp_path / "b.gpkg"
    buildings(3).to_file(path, layer="buildings")
    code, out = run("check", path)
    assert code == 2
    assert "b.gpkg: is not a gridplan plan (missing layer(s) grids, plan_meta)" in out


NUMPY_REPR = re.compile(r"np\.\w+\(")  # np.int64(0), np.str_('a'), …


def test_messages_name_rows_as_plain_numbers_counted_from_one(tmp_path):
    """Rows are named as a user counts them (features from 1, CSV lines with the header as line 1)
    and never as NumPy reprs: before, "rows [np.int64(0)] are not"."""
    b = write(tmp_path, "b.geojson", buildings(3))
    points = gpd.GeoDataFrame({"persons": [1, 2, 3]}, geometry=[shapely.Point(X0, Y0), square(0),
                                                                 square(1)], crs=4326)
    hh = write(tmp_path, "hh.geojson", points)
    code, out = partition(tmp_path, b, "--households", hh)
    assert code == 2 and not NUMPY_REPR.search(out) and "Traceback" not in out
    assert "hh.geojson: household features must be points; features 2, 3 (counting from 1) are not" in out
    bounds = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[square(0, size=10 * D), shapely.Point(X0, Y0)],
                              crs=4326)
    path = write(tmp_path, "bounds.geojson", bounds)
    code, out = partition(tmp_path, b, "--boundary", path)
    assert code == 2 and not NUMPY_REPR.search(out)
    assert "boundaries must be polygons; feature 2 (counting from 1) are Point" in out
    csv = tmp_path / "hh.csv"
    csv.write_text(f"lon,lat,persons\n{X0},{Y0},2\n{X0},{Y0},x\n{X0},{Y0},-1\n")
    code, out = partition(tmp_path, b, "--households", csv)
    assert code == 2 and not NUMPY_REPR.search(out) and "households H00002=x, H00003=-1 are not" in out


def test_row_and_id_helpers_give_plain_text():
    import numpy as np

    from geo.errors import ids_text, rows_text

    assert rows_text(np.array([0, 1], dtype="int64")) == "features 1, 2 (counting from 1)"
    assert rows_text(np.flatnonzero([False, True]), csv=True) == "line 3"
    assert ids_text(np.arange(15)) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 … (+3 more)"
    assert ids_text([np.float64(2.5), np.str_("B1"), np.bool_(True)]) == "2.5, B1, True"
