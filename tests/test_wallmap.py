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
from maps.wallmap import PAPERS, MissingFontError, grid_sheet, grid_url, overview_sheet, print_all, save_sheet
from partitioning.codes import short_code
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings

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


def test_wide_grid_of_many_buildings_prints_landscape_and_its_table_continues(tmp_path):
    """A wide grid of many buildings: landscape shows it larger; the table continues overleaf.

    ::

        +--------------------------------------------+
        | [][][][][][][][][][][][][][][][][][][][]... |   50 buildings in a 600 × 100 m grid
        +--------------------------------------------+
    """
    plan = _tiny_plan(1, buildings_per_grid=50, spacing=11.5, size=6)
    plan.grids.loc["G0001", "geometry"] = shapely.box(500_000, 3_460_000, 500_600, 3_460_100)
    plan.grids.loc["G0001", "n_buildings"] = 50
    w, h = PAPERS["A3"]
    fig = grid_sheet(plan, "320508019044001", base_url="")
    assert fig.get_size_inches().tolist() == pytest.approx([h / 25.4, w / 25.4])  # landscape
    # the grid fills the map's width, at a larger scale than portrait would give it
    def metres_per_mm(f):
        ax = f.axes[0]
        return np.diff(ax.get_xlim())[0] / (ax.get_position().width * f.get_size_inches()[0] * 25.4)

    assert 600 / np.diff(fig.axes[0].get_xlim())[0] > 0.8
    assert metres_per_mm(fig) < 0.7 * metres_per_mm(grid_sheet(plan, "1", base_url="", orientation="portrait"))
    pdf = save_sheet(fig, tmp_path / "wide.pdf")
    text = _pdf_text(pdf)
    assert all(b in text for b in plan.buildings.index)  # every building, on the following page
    assert "从略" not in text.replace("标注从略", "")
    assert "Pages:           2" in _poppler("pdfinfo", pdf)


# --- real text --------------------------------------------------------------------------------

def test_pdf_text_is_real_chinese_with_code_and_contacts(kunming, busy_code, roster, tmp_path):
    pdf = save_sheet(grid_sheet(kunming, busy_code, roster=roster, community_name="翠湖社区", plan_name="kunming",
                                printed=PRINTED), tmp_path / "grid.pdf")
    number = int(short_code(busy_code))
    text = _pdf_text(pdf)
    assert f"翠湖社区 第{number}网格 作战图" in text  # the number as on the web (short_code)
    assert busy_code in text
    for name in ("张晓梅", "李建国", "王警官", "赵楼长", "13800001111", "13900003333"):
        assert name in text
    for word in ("示意图", "图例", "网格长", "楼栋长", "社区民警", PRINTED):
        assert word in text
    # every building of the grid is listed by its name or address where the data has one, else its own ID
    from geo.names import building_names

    grid_id = kunming.grids.index[kunming.grids["grid_code"] == busy_code][0]
    mine = kunming.buildings[kunming.buildings["grid_id"] == grid_id]
    names = building_names(mine)
    assert names.notna().any()  # the Kunming footprints carry OSM names
    flat = text.replace(" ", "")
    for building_id, name in names.items():
        if name:
            # a long name is shortened with … to fit its column
            assert str(name).replace(" ", "")[:4] in flat and building_id not in text
        else:
            assert building_id in text
    # fonts embedded as TrueType (CID Type 2), not Type 3 outlines
    fonts = _poppler("pdffonts", pdf).splitlines()[2:]
    assert fonts and all("CID TrueType" in line and " yes yes yes " in line for line in fonts), fonts


def test_without_roster_the_contact_table_has_blank_rows(kunming, busy_code, tmp_path):
    pdf = save_sheet(grid_sheet(kunming, busy_code, printed=PRINTED), tmp_path / "grid.pdf")
    text = _pdf_text(pdf)
    assert "XX社区" not in text  # never a placeholder community name
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
def test_no_text_under_9pt_and_building_labels_do_not_overlap(kunming, busy_code, paper):
    fig = grid_sheet(kunming, busy_code, paper=paper)
    texts = _visible_texts(fig)
    assert min(t.get_fontsize() for t in texts) >= 9
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
    texts = [t.get_text() for page in (fig, *fig.more_pages) for t in _visible_texts(page)]
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
    fig = grid_sheet(kunming, busy_code, orientation="portrait", base_url="https://grid.example.cn")
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
    # the QR code: 32 mm square in the top right corner, below the 10 mm margin and the header
    px_per_mm = dpi / 25.4
    top = h - fig.axes[0].get_position().y1 * h  # mm from the page's top to the map's (and panel's) top
    qr = img[int((top + 3) * px_per_mm):int((top + 29) * px_per_mm), int((w - 39) * px_per_mm):int((w - 13) * px_per_mm)]
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
    numbers = set(re.findall(r"\b\d{1,3}\b", text))
    assert {short_code(c) for c in kunming.grids["grid_code"]} <= numbers  # the numbers of the web maps


# --- print_all ---------------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", [1, 2])
def test_print_all_writes_one_sheet_per_grid_and_an_overview(tmp_path, jobs):
    plan = _tiny_plan(3)
    roster = [{"grid_id": "G0002", "role": "grid_leader", "name": "欧阳娜娜", "phone": "13812345678"}]
    files = print_all(plan, tmp_path / "out", paper="A3", overview_paper="A2", roster=roster, jobs=jobs,
                      printed=PRINTED, plan_name="yyx")
    assert [f.name for f in files] == ["overview.pdf", *(f"320508019044{i:03d}.pdf" for i in (1, 2, 3))]
    text = _pdf_text(files[2])
    assert "养育巷社区 第2网格 作战图" in text and "欧阳娜娜" in text
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


# --- designed for the wall: sizes measured in the PDF, addresses, names, the escalation chain ----

def _chars(pdf, page=0, *, body_only=False):
    """Text and size (pt) of every character on a page (``body_only``: above the footer's 20 mm)."""
    pdfplumber = pytest.importorskip("pdfplumber")
    with pdfplumber.open(pdf) as doc:
        p = doc.pages[page]
        return [(c["text"], c["size"]) for c in p.chars if c["text"].strip()
                and not (body_only and c["bottom"] > p.height - 20 * MM_TO_PT)], len(doc.pages)


def _size_of(chars, word: str) -> float:
    """The type size (pt) of ``word`` where it is printed (its characters in a row)."""
    text = "".join(t for t, _ in chars)
    at = text.index(word)
    return min(size for _, size in chars[at:at + len(word)])


def test_type_sizes_measured_in_the_pdf_read_from_one_metre(kunming, busy_code, roster, tmp_path):
    pdf = save_sheet(grid_sheet(kunming, busy_code, roster=roster, community_name="翠湖社区", printed=PRINTED,
                                base_url="https://grid.example.cn"), tmp_path / "grid.pdf")
    chars, pages = _chars(pdf)
    assert min(size for _, size in chars) >= 9 - 1e-6  # fine print (footer, captions) included
    assert _size_of(chars, "作战图") * 25.4 / 72 >= 20  # the title: at least 20 mm at A3
    every = [c for page in range(pages) for c in _chars(pdf, page)[0]]  # the building table may be overleaf
    assert min(size for _, size in every) >= 9 - 1e-6
    for word in ("张晓梅", "13800001111", "王警官", "赵楼长", "13900003333"):  # names and phones
        assert _size_of(every, word) >= 12 - 1e-6, word
    labels = [size for t, size in chars if t == "户"]  # the building labels "52户"
    assert labels and min(labels) >= 9 - 1e-6


def test_no_localhost_qr_by_default(tmp_path, caplog):
    plan = _tiny_plan(2)
    with caplog.at_level(logging.WARNING):
        pdf = save_sheet(grid_sheet(plan, "1", printed=PRINTED), tmp_path / "g.pdf")
    assert "扫码" not in _pdf_text(pdf)  # no QR code, no caption
    assert any("--base-url" in r.message for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        pdf = save_sheet(grid_sheet(plan, "1", base_url="http://127.0.0.1:5000"), tmp_path / "l.pdf")
    assert any("only this computer reaches" in r.message for r in caplog.records)
    plan.meta["base_url"] = "https://grid.example.cn"
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        pdf = save_sheet(grid_sheet(plan, "1"), tmp_path / "m.pdf")
    assert "扫码" in _pdf_text(pdf) and not caplog.records
    with pytest.raises(InputError, match="http"):
        grid_sheet(plan, "1", base_url="grid.example.cn")


def test_cli_print_warns_without_base_url_and_takes_the_grid_number(plan_file, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from app.cli import cli

    monkeypatch.delenv("GRIDPLAN_BASE_URL", raising=False)
    runner = CliRunner()
    out = tmp_path / "g1.pdf"
    result = runner.invoke(cli, ["print", str(plan_file), "--grid", "1", "--community-name", "平江社区", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "--base-url" in result.output and "without a QR code" in result.output
    text = _pdf_text(out)
    assert "第1网格" in text and "320508001001001" in text and "扫码" not in text
    for given in ("002", "001002", "320508001001002"):
        result = runner.invoke(cli, ["print", str(plan_file), "--grid", given, "--community-name", "平江社区",
                                     "--base-url", "https://grid.example.cn", "-o", str(tmp_path / "g2.pdf")])
        assert result.exit_code == 0, result.output
        assert "base-url" not in result.output
        assert "320508001001002" in _pdf_text(tmp_path / "g2.pdf")
    result = runner.invoke(cli, ["print", str(plan_file), "--grid", "7", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "not in the plan" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["print", str(plan_file), "--grid", "1", "--base-url", "http://localhost:5000",
                                 "--community-name", "平江社区", "-o", str(tmp_path / "l.pdf")])
    assert result.exit_code == 0 and "only this computer reaches" in result.output


def test_placeholder_never_printed_and_the_overview_needs_a_community(plan_file, tmp_path):
    from click.testing import CliRunner

    from app.cli import cli

    plan = _tiny_plan(2)
    del plan.meta["community_name"]
    text = _pdf_text(save_sheet(grid_sheet(plan, "2", base_url=""), tmp_path / "g.pdf"))
    assert "XX" not in text and "第2网格 作战图" in text
    with pytest.raises(InputError, match="--community-name"):
        overview_sheet(plan, base_url="")
    with pytest.raises(InputError, match="--community-name"):
        print_all(plan, tmp_path / "all", base_url="")
    result = CliRunner().invoke(cli, ["print", str(plan_file), "--community", "-o", str(tmp_path / "o.pdf")])
    assert result.exit_code == 2 and "--community-name" in result.output and "Traceback" not in result.output
    # the name the plan's boundaries give the community
    plan.layers["boundaries"] = gpd.GeoDataFrame(
        {"name": ["金阊社区"]}, geometry=[shapely.box(499_000, 3_459_000, 501_000, 3_461_000)], crs=plan.buildings.crs,
        index=pd.Index(["C1"], name="boundary_id"))
    text = _pdf_text(save_sheet(grid_sheet(plan, "2", base_url=""), tmp_path / "b.pdf"))
    assert "金阊社区" in text
    assert "金阊社区" in _pdf_text(save_sheet(overview_sheet(plan, paper="A3", base_url=""), tmp_path / "o.pdf"))


def test_escalation_chain_is_printed_on_every_grid_sheet(plan_file, tmp_path):
    plan = geo.read_plan(plan_file)  # its chain: 街道 派出所 平江派出所 0512-65001234, for every community
    for code in ("1", "2"):
        pdf = save_sheet(grid_sheet(plan, code, community_name="平江社区", base_url=""), tmp_path / f"{code}.pdf")
        text = _pdf_text(pdf)
        assert "网格吹哨" in text and "平江派出所" in text and "0512-65001234" in text
        chars, _ = _chars(pdf)
        assert _size_of(chars, "0512-65001234") >= 12 - 1e-6
    leader = next(line for line in _pdf_text(tmp_path / "1.pdf").splitlines() if line.startswith("网格 网格长"))
    assert "王芳" in leader and "13812341234" in leader  # the grid's own leader heads the chain
    # without a chain: ruled rows for the community and the street, to fill in by hand
    text = _pdf_text(save_sheet(grid_sheet(_tiny_plan(1), "1", base_url=""), tmp_path / "blank.pdf"))
    assert "网格吹哨" in text and re.search(r"^社区$", text, re.M) and re.search(r"^街道$", text, re.M)


def test_overview_table_of_many_grids_is_set_at_12pt_on_following_pages(tmp_path):
    plan = _tiny_plan(240, buildings_per_grid=1)
    # two named communities of 100 and 140 grids: the map page summarises them
    plan.meta["levels"] = [{"name": "community", "target": None, "source": "communities.geojson"}]
    plan.buildings["unit_community"] = np.where(plan.buildings["grid_id"] <= "G0100", "C1", "C2")
    plan.layers["levels"] = gpd.GeoDataFrame(
        {"level": ["community"] * 2, "unit_id": ["C1", "C2"], "name": ["平江社区", "金阊社区"]},
        geometry=[shapely.box(0, 0, 1, 1)] * 2, crs=plan.buildings.crs)
    pdf = save_sheet(overview_sheet(plan, paper="A3", base_url="", printed=PRINTED), tmp_path / "o.pdf")
    first = _poppler("pdftotext", "-raw", "-l", "1", pdf, "-")
    assert "金阊社区 140 " in first and "平江社区 100 " in first
    chars, pages = _chars(pdf)
    assert pages >= 2 and min(size for _, size in chars) >= 9 - 1e-6
    listed = set()
    for page in range(1, pages):  # the table (the footer's fine print aside)
        chars, _ = _chars(pdf, page, body_only=True)
        assert min(size for _, size in chars) >= 12 - 1e-6
    text = _pdf_text(pdf)
    listed = set(re.findall(r"^(\d{1,3}) 2\d 1$", text, re.M))
    assert len(listed) == 240  # every grid: number, households, buildings


def test_web_sheet_prints_the_escalation_chain_as_the_page_shows_it(plan_file, tmp_path):
    """The web app's sheet.pdf: the chain with phones masked for a viewer, in full for an admin."""
    from app import create_app
    from tests.test_app import signed_in

    app = create_app({"TESTING": True, "PLANS": [str(plan_file)], "USERS_DB": str(tmp_path / "users.sqlite"),
                      "BASEMAP": "none", "SECRET_KEY": "test-key"})
    url = "/plans/tiny/grids/320508001001001/sheet.pdf"
    texts = {}
    for role in ("admin", "viewer"):  # the admin's sheet is cached first: it may never reach the viewer
        resp = signed_in(app, role).get(url)
        assert resp.status_code == 200
        (tmp_path / f"{role}.pdf").write_bytes(resp.data)
        texts[role] = _pdf_text(tmp_path / f"{role}.pdf")
    assert "平江派出所" in texts["admin"] and "0512-65001234" in texts["admin"]
    assert "平江派出所" in texts["viewer"] and "0512-****1234" in texts["viewer"]
    assert "0512-65001234" not in texts["viewer"]
    assert "扫码" in texts["admin"]  # the QR code links to the address the sheet was served from


def test_community_name_from_the_plans_levels(tmp_path):
    """Two named communities as the upper level of the plan: each grid is titled with its own."""
    plan = _tiny_plan(2)
    del plan.meta["community_name"]
    plan.meta["levels"] = [{"name": "community", "target": None, "source": "communities.geojson"}]
    plan.buildings["unit_community"] = plan.buildings["grid_id"].map({"G0001": "C1", "G0002": "C2"})
    plan.layers["levels"] = gpd.GeoDataFrame(
        {"level": ["community", "community"], "unit_id": ["C1", "C2"], "name": ["平江社区", "金阊社区"]},
        geometry=list(plan.grids.geometry), crs=plan.buildings.crs)
    assert "平江社区" in _pdf_text(save_sheet(grid_sheet(plan, "1", base_url=""), tmp_path / "1.pdf"))
    assert "金阊社区" in _pdf_text(save_sheet(grid_sheet(plan, "2", base_url=""), tmp_path / "2.pdf"))
    overview = _pdf_text(save_sheet(overview_sheet(plan, paper="A3", base_url=""), tmp_path / "o.pdf"))
    assert "平江社区、金阊社区" in overview


def test_cli_print_save_stores_the_address_and_the_name_in_the_plan(plan_file, tmp_path, monkeypatch):
    import shutil as sh_

    from click.testing import CliRunner

    from app.cli import cli

    monkeypatch.delenv("GRIDPLAN_BASE_URL", raising=False)
    path = tmp_path / "tiny.gpkg"
    sh_.copyfile(plan_file, path)
    runner = CliRunner()
    result = runner.invoke(cli, ["print", str(path), "--grid", "2", "--base-url", "https://grid.example.cn",
                                 "--community-name", "平江社区", "--save", "-o", str(tmp_path / "g.pdf")])
    assert result.exit_code == 0, result.output
    assert "stored base_url, community_name" in result.output
    plan = geo.read_plan(path)
    assert plan.meta["base_url"] == "https://grid.example.cn" and plan.meta["community_name"] == "平江社区"
    assert len(plan.layers["people"]) == 3  # nothing else lost
    result = runner.invoke(cli, ["print", str(path), "--community", "-o", str(tmp_path / "o.pdf")])
    assert result.exit_code == 0 and "WARNING" not in result.output, result.output
    text = _pdf_text(tmp_path / "o.pdf")
    assert "平江社区" in text and "扫码" in text
    result = runner.invoke(cli, ["print", str(path), "--grid", "1", "--save", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "--save" in result.output
