"""Household ledgers (台账) joined to footprints by building: every address form, the sample
ledger, Chinese headers, GBK and XLSX tables, and every bad case through the command line."""

from __future__ import annotations

import doctest

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import geo
import geo.headers
import geo.ledger
from geo.errors import InputError, ValidationError
from geo.ledger import ledger_households, match_ledger, read_ledger, split_building
from geo.samples import DATA, DUPLICATES, UNKNOWN, make_ledger
from tests.clirun import run
from tests.realdata import KUNMING

SUZHOU = DATA / "buildings.geojson"



@pytest.fixture(scope="module")
def suzhou():
    """The bundled Suzhou footprints as read (generated IDs B00001…), not projected."""
    return geo.io.read_buildings(SUZHOU)


@pytest.fixture(scope="module")
def kunming_numbered():
    """Kunming's OSM buildings with a 楼栋号 numbered 1… within each compound (``community``):
    the same number occurs in several compounds."""
    b = geo.io.read_buildings(KUNMING, id_field="id")
    b = b[b["community"].fillna("") != ""].copy()
    b["楼栋号"] = (b.groupby("community").cumcount() + 1).map(lambda n: f"{n}幢")
    return b


def test_doctests():
    import geo.cad

    for module in (geo.ledger, geo.headers, geo.cad):
        assert doctest.testmod(module).failed == 0, module.__name__


FORMS = ["3", "3幢", "3栋", "3号楼", "三号楼", "3#", "3＃", "３号", "３幢", "03栋", "第3栋", "3 号楼",
         "苏州花园3幢", "苏州花园小区3栋", "3幢2单元", "3幢2单元301室", "3号楼1单元101", "B00003"]


@pytest.mark.parametrize("form", FORMS)
def test_every_address_form_matches_the_building(suzhou, form, tmp_path):
    """On the real footprints, each way an office writes building 3 finds B00003 (the third)."""
    path = tmp_path / "t.csv"
    pd.DataFrame({"楼栋号": [form], "户数": [7]}).to_csv(path, index=False)
    m = ledger_households(path, suzhou)
    assert m.households.to_dict() == {"B00003": 7}
    assert m.rows["status"].tolist() == ["matched"]


def test_chinese_numerals_and_separators():
    assert split_building("十二号楼") == ("", "12")
    assert split_building("二十三幢") == ("", "23")
    assert split_building("一千四百三十三号楼") == ("", "1433")
    assert split_building("5之2栋") == ("", "5-2")
    assert split_building("Ａ３座") == ("", "A3")


def test_compound_tells_equal_numbers_apart(kunming_numbered, tmp_path):
    """Building 1 exists in every compound: with the 小区 (a column or a prefix) it is one building,
    without it the row is ambiguous and reported with the candidates."""
    b = kunming_numbered
    first = b[b["楼栋号"] == "1幢"]
    c0, c1 = first["community"].iloc[0], first["community"].iloc[1]
    path = tmp_path / "t.csv"
    pd.DataFrame({"小区": [c0, "", ""], "楼栋号": ["1栋", f"{c1}1号楼", "1#"], "户数": [10, 20, 30]}).to_csv(
        path, index=False)
    m = ledger_households(path, b)
    assert m.households.to_dict() == {first.index[0]: 10, first.index[1]: 20}
    row = m.rows.iloc[2]
    assert row["status"] == "ambiguous" and row["line"] == 4
    assert first.index[0] in row["candidates"]
    assert any("line 4 '1#'" in n and "several buildings" in n for n in m.notes)
    # a compound the buildings do not have: unmatched, the same number elsewhere named
    pd.DataFrame({"小区": ["幸福小区"], "楼栋号": ["1幢"], "户数": [5]}).to_csv(path, index=False)
    m = match_ledger(read_ledger(path), b)
    assert m.rows["status"].tolist() == ["unmatched"]
    assert f"in other compounds: {c0}1 [{first.index[0]}]" in m.rows["candidates"].iloc[0]


def test_building_key_field_and_unknown_field(kunming_numbered, tmp_path):
    b = kunming_numbered.assign(名称=lambda t: t["community"] + t["楼栋号"]).drop(columns="楼栋号")
    path = tmp_path / "t.csv"
    target = b.index[5]
    pd.DataFrame({"楼号": [b.at[target, "名称"]]}).to_csv(path, index=False)
    m = ledger_households(path, b, building_key="名称")
    assert m.households.to_dict() == {target: 1}  # no count column: one row is one household
    with pytest.raises(InputError, match="no field .nope. for the building key"):
        ledger_households(path, b, building_key="nope")


def test_one_row_per_household_and_duplicates(suzhou, tmp_path):
    """Without a count each row is a household; a row repeating another one exactly (same room) is a
    double entry, counted once and reported."""
    path = tmp_path / "t.csv"
    path.write_text("楼栋号,室\n5幢,101\n5幢,102\n5幢,101\n6栋,201\n", encoding="utf-8")
    m = ledger_households(path, suzhou)
    assert m.households.to_dict() == {"B00005": 2, "B00006": 1}
    assert m.rows.set_index("line")["status"].to_dict() == {2: "matched", 3: "matched", 4: "duplicate",
                                                            5: "matched"}
    assert any("line 4" in n and "repeats line 2" in n for n in m.notes)


def test_unit_rows_are_summed(suzhou, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("楼栋,单元,户数\n7幢,1单元,12\n7幢,2单元,14\n", encoding="utf-8")
    assert ledger_households(path, suzhou).households.to_dict() == {"B00007": 26}


def test_sample_ledger_every_row_matched_or_reported(suzhou):
    """The bundled sample: ≥ 98 % of the clean rows match (all do), every other row is reported
    with its line number."""
    table = make_ledger()
    saved = read_ledger(DATA / "ledger.csv")
    assert saved.table.drop(columns=[]).fillna("").equals(table.drop(columns="clean").fillna("")), \
        "data/suzhou_gusu/ledger.csv is stale: run python -m geo.samples"
    m = match_ledger(saved, suzhou)
    status = m.rows["status"]
    clean = table["clean"].to_numpy()
    assert (status[clean] == "matched").mean() >= 0.98
    assert (status[clean] == "matched").all()
    counts = status.value_counts().to_dict()
    assert counts["unmatched"] == UNKNOWN + 1  # the unknown buildings and the 合计 line
    assert counts["duplicate"] == DUPLICATES and counts["blank"] == 1
    text = "\n".join(m.notes)
    for line in m.rows.loc[~status.isin(["matched", "blank"]), "line"]:
        assert f"line {line} " in text
    assert "nearest:" in text
    assert f"{len(suzhou) - len(m.households)} building(s) the ledger does not mention keep the estimate" in text


def test_sample_ledger_xlsx_equals_csv(suzhou):
    a = ledger_households(DATA / "ledger.xlsx", suzhou)
    b = ledger_households(DATA / "ledger.csv", suzhou)
    assert a.households.equals(b.households)
    assert a.rows["status"].tolist() == b.rows["status"].tolist()


def test_gbk_csv_is_read(suzhou, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("小区,楼栋号,户数\n桂花新村,八号楼,9\n".encode("gbk"))
    assert ledger_households(path, suzhou).households.to_dict() == {"B00008": 9}


def test_bad_counts_name_the_lines(suzhou, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("楼栋号,户数\n1幢,12\n2幢,十\n3幢,-1\n4幢,\n5幢,2.5\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        ledger_households(path, suzhou)
    msg = str(err.value)
    assert "lines 3 ('十')" in msg and "lines 4 ('-1')" in msg and "lines 5" in msg and "lines 6 ('2.5')" in msg
    assert "whole numbers" in msg


# --- through the command line -------------------------------------------------------------------


def test_partition_with_a_building_ledger_csv(tmp_path):
    """The issue: a CSV of 小区/楼栋号/单元/户数 was refused ("needs coordinate columns")."""
    b = geo.io.read_buildings(KUNMING, id_field="id")
    ids = list(b.index[:4])
    path = tmp_path / "台账.csv"
    rows = "".join(f"金色年华,{i},1单元,{20 + k}\n" for k, i in enumerate(ids))
    path.write_bytes(("小区,楼栋号,单元,户数\n" + rows + "金色年华,999幢,1单元,5\n").encode("gbk"))
    out_plan = tmp_path / "p.gpkg"
    report = tmp_path / "rows.csv"
    code, out = run("partition", KUNMING, "--id-field", "id", "--households", path, "--ledger-report", report,
                    "-o", out_plan)
    assert code == 0, out
    assert "ledger" in out and "line 6 '999幢'" in out and "keep the estimate" in out
    rows = pd.read_csv(report, encoding="utf-8-sig", dtype=str)
    assert rows["line"].tolist() == ["2", "3", "4", "5", "6"]
    assert rows["status"].tolist() == ["matched"] * 4 + ["unmatched"]
    assert rows["building_id"].tolist()[:4] == ids
    plan = geo.read_plan(out_plan)
    assert plan.buildings.loc[ids, "households"].tolist() == [20, 21, 22, 23]
    assert set(plan.buildings["households_source"]) == {"ledger", "estimate"}
    assert (plan.buildings.loc[ids, "households_source"] == "ledger").all()


def test_partition_with_household_points_xlsx(tmp_path):
    """The issue: --households hh.xlsx crashed ('DataFrame' object has no attribute 'crs')."""
    b = geo.io.read_buildings(KUNMING, id_field="id")
    pts = b.geometry.representative_point()
    table = pd.DataFrame({"经度": pts.x, "纬度": pts.y, "人数": 2})
    path = tmp_path / "hh.xlsx"
    table.to_excel(path, index=False)
    code, out = run("partition", KUNMING, "--id-field", "id", "--households", path, "-o", tmp_path / "p.gpkg")
    assert code == 0, out
    plan = geo.read_plan(tmp_path / "p.gpkg")
    assert int(plan.buildings["households"].sum()) == len(b)
    assert int(plan.buildings["persons"].sum()) == 2 * len(b)


def test_household_points_with_chinese_headers_gbk(tmp_path):
    """The issue: points with 经度,纬度 headers were refused although the roster accepts them."""
    b = geo.io.read_buildings(KUNMING, id_field="id")
    pts = b.geometry.representative_point()
    path = tmp_path / "points.csv"
    pd.DataFrame({"户号": [f"H{i}" for i in range(len(b))], "经度": pts.x, "纬度": pts.y}).to_csv(
        path, index=False, encoding="gbk")
    code, out = run("partition", KUNMING, "--id-field", "id", "--households", path, "-o", tmp_path / "p.gpkg")
    assert code == 0, out
    plan = geo.read_plan(tmp_path / "p.gpkg")
    assert "H0" in set(plan.layers["households"].index.astype(str)) | set(plan.layers["households"].get(
        "household_id", pd.Series(dtype=str)).astype(str))


def test_update_takes_a_chinese_ledger(plan_path, tmp_path):
    """The issue: update --households needed English headers (楼栋,户数 failed)."""
    plan = geo.read_plan(plan_path)
    ids = list(plan.buildings.index[:2])
    path = tmp_path / "changes.csv"
    path.write_text("楼栋,户数\n" + "".join(f"{i},{k + 3}\n" for k, i in enumerate(ids)) + "nope,4\n",
                    encoding="utf-8")
    out_plan = tmp_path / "u.gpkg"
    code, out = run("update", plan_path, "--households", path, "-o", out_plan)
    assert code == 0, out
    assert "line 4 'nope'" in out and "keep the plan's households" in out
    new = geo.read_plan(out_plan)
    assert new.buildings.loc[ids, "households"].tolist() == [3, 4]


@pytest.mark.parametrize("content, args, message", [
    ("楼栋号,户数\n1幢,abc\n", [], "line"),
    ("名字,电话\n张三,1\n", [], "needs coordinate columns lon/lat"),
    ("名字,电话\n张三,1\n", ["--ledger-key", "楼栋号"], "has no column '楼栋号'"),
    ("楼栋号,户数\n1幢,1\n", ["--sheet", "2"], "hint: leave out --sheet"),
    ("楼栋号,户数\n1幢,1\n", ["--building-key", "nope"], "no field 'nope' for the building key"),
    ("楼栋号,户数\n1幢,1\n2幢,3\n", ["--building-key", "community"], "no row of the ledger matches a building"),
])
def test_bad_ledgers_are_refused_clearly(tmp_path, content, args, message):
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    code, out = run("partition", KUNMING, "--id-field", "id", "--households", path, *args,
                    "-o", tmp_path / "p.gpkg")
    assert code == 2, out
    assert "t.csv" in out and message in out


def test_bad_spreadsheets_are_refused_clearly(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a spreadsheet")
    code, out = run("partition", KUNMING, "--id-field", "id", "--households", bad, "-o", tmp_path / "p.gpkg")
    assert code == 2 and "bad.xlsx: cannot be read as a spreadsheet" in out
    good = tmp_path / "good.xlsx"
    pd.DataFrame({"楼栋号": ["1幢"], "户数": [3]}).to_excel(good, index=False, sheet_name="台账")
    code, out = run("partition", KUNMING, "--id-field", "id", "--households", good, "--sheet", "汇总",
                    "-o", tmp_path / "p.gpkg")
    assert code == 2 and "has no sheet '汇总'; its sheets are: 台账" in out


def test_table_as_buildings_is_refused(tmp_path):
    code, out = run("partition", DATA / "ledger.csv", "-o", tmp_path / "p.gpkg")
    assert code == 2 and "is a table without geometry, not footprints" in out and "--households" in out


def test_sample_ledger_partition_summary(tmp_path):
    """The sample through `partition`: the summary counts matched, estimated and left out."""
    code, out = run("partition", SUZHOU, "--households", DATA / "ledger.xlsx", "-o", tmp_path / "p.gpkg")
    assert code == 0, out
    clean = int(make_ledger()["clean"].sum())
    assert f"{clean} row(s) matched" in out and "keep the estimate" in out
    assert f"{UNKNOWN + 1} unmatched, 0 ambiguous, {DUPLICATES} duplicate" in out
    plan = geo.read_plan(tmp_path / "p.gpkg")
    src = plan.buildings["households_source"].value_counts().to_dict()
    assert src["ledger"] + src["estimate"] == len(plan.buildings)
    assert np.isfinite(plan.buildings["households"]).all()


def test_title_row_above_the_header_keeps_line_numbers(suzhou, tmp_path):
    """Ledgers often carry a title (merged across the sheet) above the header: it is skipped, and the
    lines named are still the sheet's own (here the header is line 2, the unknown building line 5)."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姑苏区某社区住户台账（2026年11月）"])
    sheet.append(["小区", "楼栋号", "单元", "户数"])
    sheet.append(["桂花新村", "9幢", "1单元", 12])
    sheet.append([None, None, None, None])
    sheet.append(["桂花新村", "9999幢", "1单元", 3])
    sheet.append(["桂花新村", "10幢", "1单元", "x"])
    path = tmp_path / "titled.xlsx"
    book.save(path)
    with pytest.raises(ValidationError, match=r"are not numbers: lines 6 \('x'\)"):
        ledger_households(path, suzhou)
    sheet.delete_rows(6)
    book.save(path)
    m = ledger_households(path, suzhou)
    assert m.households.to_dict() == {"B00009": 12}
    assert m.rows.set_index("line")["status"].to_dict() == {3: "matched", 4: "blank", 5: "unmatched"}
    assert any("line 5 '9999幢'" in n for n in m.notes)


def test_household_point_layer_with_chinese_headers(tmp_path):
    b = geo.io.read_buildings(KUNMING, id_field="id")
    pts = b.geometry.representative_point().iloc[:10]
    layer = gpd.GeoDataFrame({"户号": [f"H{i:02d}" for i in range(10)], "人数": 3}, geometry=pts.to_numpy(),
                             crs=b.crs)
    path = tmp_path / "points.geojson"
    layer.to_file(path)
    read = geo.io.read_household_points(path)
    assert read.index.name == "household_id" and read.index[0] == "H00"
    assert read["persons"].tolist() == [3] * 10
