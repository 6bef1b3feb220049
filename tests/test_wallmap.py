"""Printed wall maps (作战图): page sizes, real Chinese text, legibility, structure, errors.

Sheets are made from the Kunming plan (140 OSM buildings, partitioned as the CLI does) and from tiny
hand-made plans; PDFs are read back with poppler (``pdfinfo``, ``pdftotext``, ``pdffonts``).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.text import Text

import geo
from geo.errors import CRSError, GridplanError, InputError
from geo.plan import Plan
from maps import _sheet
from maps.wallmap import (PAPERS, MissingFontError, grid_sheet, grid_url, overview_sheet, print_all,
                          save_sheet)
from partitioning.codes import short_code
from partitioning.planning import PlanSettings, make_plan

PRINTED = "2026-01-15"
MM_TO_PT = 72 / 25.4


def _poppler(tool: str, *args) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: install poppler-utils (`make test` installs it)")
    return subprocess.run([tool, *map(str, args)], check=True, capture_output=True, text=True).stdout


def _page_size_pt(pdf) -> tuple[float, float]:
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", _poppler("pdfinfo", pdf))
    return float(m.group(1)), float(m.group(2))


def _pdf_text(pdf) -> str:
    return _poppler("pdftotext", "-raw", pdf, "-")  # in drawing order: a table row is one line


@pytest.fixture(scope="module")
def kunming(kunming_inputs, tmp_path_factory) -> Plan:
    """The Kunming plan as `gridplan partition` makes it, read back from its GeoPackage."""
    plan, _ = make_plan(kunming_inputs, PlanSettings())
    return geo.read_plan(geo.write_plan(plan, tmp_path_factory.mktemp("wallmap") / "kunming.gpkg"))


@pytest.fixture(scope="module")
def busy_code(kunming) -> str:
    """The Kunming grid with the most buildings."""
    return str(kunming.grids.sort_values(["n_buildings", "grid_code"]).iloc[-1]["grid_code"])


@pytest.fixture(scope="module")
def roster(kunming, busy_code):
    grid_id = kunming.grids.index[kunming.grids["grid_code"] == busy_code][0]
    building = kunming.buildings.index[kunming.buildings["grid_id"] == grid_id][0]
    return pd.DataFrame([
        {"grid_id": grid_id, "role": "grid_leader", "name": "张晓梅", "phone": "13800001111"},
        {"grid_id": grid_id, "role": "网格员", "name": "李建国", "phone": "13800002222"},
        {"grid_id": grid_id, "role": "police", "name": "王警官", "phone": "110"},
        {"grid_id": grid_id, "role": "building_leader", "name": "赵楼长", "phone": "13900003333",
         "building_id": building},
    ])


def _tiny_plan(n_grids=3, *, crs="EPSG:4549", buildings_per_grid=2, spacing=40.0, size=12.0) -> Plan:
    """Grids side by side, each a square with a row of buildings, codes prefix + 001, 002 …

    ::

        +--------+--------+--------+
        | [] []  | [] []  | [] []  |    one 100 m square per grid
        +--------+--------+--------+
    """
    rows, grids = [], []
    x0, y0 = 500_000.0, 3_460_000.0
    for g in range(n_grids):
        gx = x0 + g * 100
        grids.append({"grid_id": f"G{g + 1:04d}", "grid_code": f"320508019044{g + 1:03d}",
                      "geometry": shapely.box(gx, y0, gx + 100, y0 + 100)})
        for b in range(buildings_per_grid):
            bx = gx + 10 + b * spacing
            rows.append({"building_id": f"B{g}{b:03d}", "grid_id": f"G{g + 1:04d}",
                         "grid_code": f"320508019044{g + 1:03d}", "households": 20 + b,
                         "households_source": "field", "geometry": shapely.box(bx, y0 + 40, bx + size, y0 + 40 + size)})
    buildings = gpd.GeoDataFrame(rows, crs=crs).set_index("building_id")
    hh = buildings.groupby("grid_id")["households"].sum()
    grids = gpd.GeoDataFrame(grids, crs=crs).set_index("grid_id")
    grids["households"] = hh
    grids["n_buildings"] = buildings.groupby("grid_id").size()
    grids["status"] = "ok"
    meta = {"target": 50, "code_prefix": "320508019044", "crs": crs, "written": "2026-01-10T08:00:00+00:00",
            "gridplan_version": "0.1.0", "community_name": "养育巷社区"}
    return Plan(buildings=buildings, grids=grids, meta=meta, layers={})


# --- pages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("paper", list(PAPERS))
def test_grid_sheet_page_is_exactly_the_paper(kunming, busy_code, paper, tmp_path):
    w, h = PAPERS[paper]
    pdf = save_sheet(grid_sheet(kunming, busy_code, paper=paper, orientation="portrait", printed=PRINTED),
                     tmp_path / "grid.pdf")
    assert _page_size_pt(pdf) == pytest.approx((w * MM_TO_PT, h * MM_TO_PT), abs=0.01)


def test_landscape_and_auto_orientation(kunming, busy_code, tmp_path):
    w, h = PAPERS["A3"]
    pdf = save_sheet(grid_sheet(kunming, busy_code, orientation="landscape"), tmp_path / "l.pdf")
    assert _page_size_pt(pdf) == pytest.approx((h * MM_TO_PT, w * MM_TO_PT), abs=0.01)
    # a grid three times wider than high is printed landscape, one three times higher portrait
    wide = _tiny_plan(3)
    wide.grids.loc["G0001", "geometry"] = shapely.box(500_000, 3_460_000, 500_300, 3_460_100)
    tall = _tiny_plan(3)
    tall.grids.loc["G0001", "geometry"] = shapely.box(500_000, 3_460_000, 500_100, 3_460_300)
    assert grid_sheet(wide, "320508019044001").get_size_inches().tolist() == pytest.approx([h / 25.4, w / 25.4])
    assert grid_sheet(tall, "320508019044001").get_size_inches().tolist() == pytest.approx([w / 25.4, h / 25.4])


def test_orientation_keeps_the_building_table_whole():
    """A wide grid of many buildings: landscape would show it larger but cut its table.

    ::

        +--------------------------------------------+
        | [][][][][][][][][][][][][][][][][][][][]... |   50 buildings in a 600 × 100 m grid
        +--------------------------------------------+
    """
    plan = _tiny_plan(1, buildings_per_grid=50, spacing=11.5, size=6)
    plan.grids.loc["G0001", "geometry"] = shapely.box(500_000, 3_460_000, 500_600, 3_460_100)
    plan.grids.loc["G0001", "n_buildings"] = 50
    w, h = PAPERS["A3"]
    fig = grid_sheet(plan, "320508019044001")
    assert fig.get_size_inches().tolist() == pytest.approx([w / 25.4, h / 25.4])  # portrait
    texts = [t.get_text() for t in _visible_texts(fig)]
    assert all(b in texts for b in plan.buildings.index)
    assert not any("从略" in t and "行" in t for t in texts)


# --- real text --------------------------------------------------------------------------------

def test_pdf_text_is_real_chinese_with_code_and_contacts(kunming, busy_code, roster, tmp_path):
    pdf = save_sheet(grid_sheet(kunming, busy_code, roster=roster, community_name="翠湖社区", plan_name="kunming",
                                printed=PRINTED), tmp_path / "grid.pdf")
    number = int(short_code(busy_code))
    text = _pdf_text(pdf)
    assert f"翠湖社区 第{number:02d}网格 作战图" in text
    assert busy_code in text
    for name in ("张晓梅", "李建国", "王警官", "赵楼长", "13800001111", "13900003333"):
        assert name in text
    for word in ("示意图", "图例", "网格长", "楼栋长", "社区民警", PRINTED):
        assert word in text
    # every building of the grid is listed with its own ID
    grid_id = kunming.grids.index[kunming.grids["grid_code"] == busy_code][0]
    for building_id in kunming.buildings.index[kunming.buildings["grid_id"] == grid_id]:
        assert building_id in text
    # fonts embedded as TrueType (CID Type 2), not Type 3 outlines
    fonts = _poppler("pdffonts", pdf).splitlines()[2:]
    assert fonts and all("CID TrueType" in line and " yes yes yes " in line for line in fonts), fonts


def test_without_roster_the_contact_table_has_blank_rows(kunming, busy_code, tmp_path):
    pdf = save_sheet(grid_sheet(kunming, busy_code, printed=PRINTED), tmp_path / "grid.pdf")
    text = _pdf_text(pdf)
    assert "XX社区" in text  # the placeholder community name
    for role in ("网格长", "网格员", "社区民警", "志愿者"):
        line = next(line for line in text.splitlines() if line.strip().startswith(role))
        assert line.strip() == role, line  # nothing filled in


def test_people_layer_of_the_plan_fills_the_contacts(tmp_path):
    """Posts filled by the staffing step (the plan's ``people`` layer) print without a roster."""
    plan = _tiny_plan(2)
    plan.layers["people"] = pd.DataFrame({
        "person_id": ["P0001", "P0002", "P0003"], "grid_id": ["G0001", "G0001", None],
        "building_id": [None, "B0000", None], "role": ["grid_leader", "building_leader", "volunteer"],
        "role_label": ["第一网格长", "楼栋长", "志愿者"], "name": ["司马光", "诸葛亮", "闲置人"],
        "phone": ["13800000001", "13800000002", "13800000003"]}).set_index("person_id")
    files = print_all(plan, tmp_path, printed=PRINTED)
    text = _pdf_text(files[1])  # grid 001
    assert "第一网格长 司马光 13800000001" in text
    assert "诸葛亮" in text and "闲置人" not in text  # a person without a post is on no sheet
    assert "司马光" in _pdf_text(files[0])  # the overview's table of grid leaders


def test_english_sheet(kunming, busy_code, tmp_path):
    pdf = save_sheet(grid_sheet(kunming, busy_code, lang="en", printed=PRINTED), tmp_path / "en.pdf")
    text = _pdf_text(pdf)
    assert "battle map" in text and "Legend" in text and "Schematic" in text


def test_same_plan_and_date_give_the_same_pdf(kunming, busy_code, tmp_path):
    a = save_sheet(grid_sheet(kunming, busy_code, printed=PRINTED), tmp_path / "a.pdf")
    b = save_sheet(grid_sheet(kunming, busy_code, printed=PRINTED), tmp_path / "b.pdf")
    assert a.read_bytes() == b.read_bytes()


# --- legibility -------------------------------------------------------------------------------

def _visible_texts(fig):
    fig.canvas.draw()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("paper", ["A3", "A0"])
def test_no_text_under_7pt_and_building_labels_do_not_overlap(kunming, busy_code, paper):
    fig = grid_sheet(kunming, busy_code, paper=paper)
    texts = _visible_texts(fig)
    assert min(t.get_fontsize() for t in texts) >= 7
    renderer = fig.canvas.get_renderer()
    labels = [t for t in texts if t.get_zorder() == 6]  # labels placed on the map
    grid_id = kunming.grids.index[kunming.grids["grid_code"] == busy_code][0]
    assert len(labels) >= (kunming.buildings["grid_id"] == grid_id).sum()
    boxes = np.array([t.get_window_extent(renderer).extents for t in labels])
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            overlap_w = min(a[2], b[2]) - max(a[0], b[0])
            overlap_h = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_w <= 1 or overlap_h <= 1, (labels[i].get_text(), labels[j].get_text())


def test_too_many_labels_are_thinned_with_a_note(caplog):
    """Forty buildings crammed in one corner of a big grid cannot all carry a label.

    ::

        +-----------------------------+
        |::::                         |   40 buildings of 2 m in a 30 m corner
        |::::                         |   of a 600 m grid: at the scale that fits
        |                             |   the grid they are a few mm apart
        +-----------------------------+
    """
    plan = _tiny_plan(1, buildings_per_grid=40, spacing=0.5, size=0.4)
    plan.grids.loc["G0001", "geometry"] = shapely.box(499_990, 3_459_700, 500_600, 3_460_300)
    with caplog.at_level(logging.WARNING, logger="maps.wallmap"):
        fig = grid_sheet(plan, "320508019044001")
    texts = [t.get_text() for t in _visible_texts(fig)]
    note = next(t for t in texts if "栋楼标注从略" in t)
    left_out = int(re.search(r"另有(\d+)栋", note).group(1))
    assert 0 < left_out < 40
    assert any("building labels left out" in r.message for r in caplog.records)
    # the table lists every building, or says how many rows it left out
    listed = sum(b in texts for b in plan.buildings.index)
    rows_note = [int(m.group(1)) for t in texts for m in [re.search(r"另有(\d+)行从略", t)] if m]
    assert listed + sum(rows_note) == 40


# --- structure of the rendered page -----------------------------------------------------------

def test_rendered_png_has_map_legend_and_qr(kunming, busy_code, tmp_path):
    from matplotlib.image import imread

    dpi = 40
    fig = grid_sheet(kunming, busy_code, orientation="portrait")
    png = save_sheet(fig, tmp_path / "grid.png", dpi=dpi)
    img = (imread(png)[..., :3] * 255).round().astype(int)
    w, h = PAPERS["A3"]
    assert img.shape[:2] == pytest.approx((h / 25.4 * dpi, w / 25.4 * dpi), abs=1)

    def share(region, colour):
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        return (np.abs(region - rgb).sum(axis=2) <= 12).mean()

    map_ax = fig.axes[0]
    x0, y0, x1, y1 = (map_ax.get_position().extents * np.tile([img.shape[1], img.shape[0]], 2)).round().astype(int)
    map_px = img[img.shape[0] - y1:img.shape[0] - y0, x0:x1]
    assert share(map_px, "#fff4e6") > 0.05  # the grid's area
    assert share(map_px, "#f4a261") > 0.001  # its buildings
    assert share(map_px, "#d62728") > 0.0003  # its boundary (thin, antialiased at 40 dpi)
    side = img[:, x1 + 5:]
    assert share(side, "#f4a261") > 0  # legend swatch
    # the QR code: 30 mm square in the top right corner, below the 10 mm margin and 17 mm header
    px_per_mm = dpi / 25.4
    qr = img[int(29 * px_per_mm):int(55 * px_per_mm), int((w - 38) * px_per_mm):int((w - 12) * px_per_mm)]
    assert 0.3 < (qr.mean(axis=2) < 128).mean() < 0.7  # about half its modules are dark


def test_overview_has_every_grid_and_the_leaders(kunming, roster, tmp_path):
    pdf = save_sheet(overview_sheet(kunming, paper="A1", roster=roster, community_name="翠湖社区",
                                    printed=PRINTED), tmp_path / "overview.pdf")
    size = _page_size_pt(pdf)
    w, h = PAPERS["A1"]
    assert sorted(size) == pytest.approx(sorted((w * MM_TO_PT, h * MM_TO_PT)), abs=0.01)
    text = _pdf_text(pdf)
    assert "翠湖社区 网格总览图" in text and "张晓梅" in text
    assert "网格编码 =" not in text  # default codes are their numbers (001, 002…): no prefix to explain
    numbers = set(re.findall(r"\b\d{2,3}\b", text))
    assert {f"{int(c):02d}" for c in kunming.grids["grid_code"]} <= numbers


# --- print_all ---------------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", [1, 2])
def test_print_all_writes_one_sheet_per_grid_and_an_overview(tmp_path, jobs):
    plan = _tiny_plan(3)
    roster = [{"grid_id": "G0002", "role": "grid_leader", "name": "欧阳娜娜", "phone": "13812345678"}]
    files = print_all(plan, tmp_path / "out", paper="A3", overview_paper="A2", roster=roster, jobs=jobs,
                      printed=PRINTED, plan_name="yyx")
    assert [f.name for f in files] == ["overview.pdf", *(f"320508019044{i:03d}.pdf" for i in (1, 2, 3))]
    text = _pdf_text(files[2])
    assert "养育巷社区 第02网格 作战图" in text and "欧阳娜娜" in text
    assert "欧阳娜娜" in _pdf_text(files[0])
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind


def test_grid_url():
    assert grid_url("http://x.cn/", "suzhou", "320508019044003") == "http://x.cn/plans/suzhou/grids/320508019044003"


# --- errors -----------------------------------------------------------------------------------

def test_missing_font_says_what_to_install(monkeypatch):
    monkeypatch.delenv(_sheet.FONT_ENV, raising=False)
    monkeypatch.setattr(_sheet, "CJK_FAMILIES", ("No Such Font",))
    monkeypatch.setattr(_sheet, "CJK_FILES", ())
    with pytest.raises(MissingFontError, match="fonts-noto-cjk") as err:
        grid_sheet(_tiny_plan(1), "320508019044001")
    assert isinstance(err.value, GridplanError) and "make test" in str(err.value)
    monkeypatch.setenv(_sheet.FONT_ENV, "/nonexistent/font.ttf")
    with pytest.raises(MissingFontError, match="GRIDPLAN_CJK_FONT"):
        _sheet.find_cjk_font()


def test_bad_requests_are_clear_errors(kunming, busy_code):
    with pytest.raises(InputError, match="not in the plan"):
        grid_sheet(kunming, "999")
    with pytest.raises(InputError, match="A3, A2, A1, A0"):
        grid_sheet(kunming, busy_code, paper="A4")
    with pytest.raises(InputError, match="unknown role"):
        grid_sheet(kunming, busy_code, roster=[{"grid_id": "G0001", "role": "mayor", "name": "x"}])
    with pytest.raises(InputError, match="missing column"):
        grid_sheet(kunming, busy_code, roster=[{"grid_id": "G0001", "name": "x"}])
    with pytest.raises(InputError, match=r"\.pdf or \.png"):
        save_sheet(grid_sheet(_tiny_plan(1), "320508019044001"), "sheet.svg")


def test_geographic_plan_is_refused():
    plan = _tiny_plan(1)
    plan.buildings = plan.buildings.set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(CRSError, match="projected"):
        grid_sheet(plan, "320508019044001")
