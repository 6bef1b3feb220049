"""Towers: a building's units and floors (geo.storeys), its split into emergency sub-grids by unit and
floor range (partitioning.towers), the plan's tables, check, the honest figures, the web page and the
printed sheet.

The hand-made site (EPSG:4549, metres)::

    y=40  +--+  +--+  +--+  +--+       four walk-ups of 20 × 10 m, 3 floors (5 households each, estimated)
          +--+  +--+  +--+  +--+
    y=0   +--------------------+       tower B00001: 60 × 12 m, 3 units × 18 floors × 2 flats = 108
          | 1单元 | 2单元 | 3单元 |       households, from a GBK ledger of 单元 and 室号 (one row a household)
          +--------------------+
"""

from __future__ import annotations

import itertools
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import geo
from geo.storeys import Storeys, building_storeys, room_floor, unit_number
from maps.towers import grid_subgrids
from partitioning.check import check_plan
from partitioning.hierarchy import EMERGENCY_COLUMN
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings
from partitioning.towers import split_tower, subgrid_figures
from tests.browser import ARTIFACTS, CHROMIUM_ARGS, chromium, chromium_path, serving
from tests.test_browser import _sign_in

X0, Y0 = 500_000.0, 3_460_000.0
PRINTED = "2026-01-15"


def _site(folder):
    """The site of the module's picture: footprints (GPKG) and the tower's ledger (GBK CSV)."""
    geoms = [shapely.box(X0, Y0, X0 + 60, Y0 + 12)]
    geoms += [shapely.box(X0 + 25 * i - 20, Y0 + 40, X0 + 25 * i, Y0 + 50) for i in range(4)]
    gdf = gpd.GeoDataFrame({"floors": [18, 3, 3, 3, 3]}, geometry=geoms, crs=4549)
    buildings = folder / "site.gpkg"
    gdf.to_file(buildings, driver="GPKG")
    rows = [("幸福小区", "1幢", f"{u}单元", f"{f}{k:02d}") for u in (1, 2, 3) for f in range(1, 19) for k in (1, 2)]
    ledger = folder / "ledger.csv"
    pd.DataFrame(rows, columns=["小区", "楼栋号", "单元", "室号"]).to_csv(ledger, index=False, encoding="gbk")
    return buildings, ledger


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return _site(tmp_path_factory.mktemp("tower"))


@pytest.fixture(scope="module")
def tower_plan(site, tmp_path_factory):
    """The site planned at 50 with an emergency layout at 18, written and read back."""
    buildings, ledger = site
    inputs = geo.load_buildings(buildings, households_path=ledger)
    plan, metrics = make_plan(inputs, PlanSettings(emergency_target=18))
    path = geo.write_plan(plan, tmp_path_factory.mktemp("tower_plan") / "tower.gpkg")
    return geo.read_plan(path), metrics, path


# --- units and floors ------------------------------------------------------------------------------

def test_room_numbers_and_units_as_written():
    assert [room_floor(r) for r in ("301", "0302", "1502室", "2-1-1803", "12", "", None, "99901")] == [
        3, 3, 15, 18, None, None, None, None]  # a floor 999 is a typing error, not a floor
    assert [unit_number(u) for u in ("2", "2单元", "第三单元", "十二单元", "x", None, "300")] == [2, 2, 3, 12, None,
                                                                                                None, None]


def test_gbk_ledger_gives_the_tower_its_units_and_floors(site):
    buildings, ledger = site
    inputs = geo.load_buildings(buildings, households_path=ledger)
    assert inputs.buildings.loc["B00001", "households"] == 108
    assert inputs.buildings.loc["B00001", "n_units"] == 3
    s = building_storeys(inputs.buildings, cells=inputs.storeys)
    assert (s["B00001"].source, s["B00001"].units, s["B00001"].floors) == ("ledger", 3, 18)
    assert (s["B00001"].households == 2).all()
    walkup = s["B00002"]  # not in the ledger: estimated, 20 m of façade is one unit
    assert (walkup.source, walkup.units, walkup.floors, walkup.total()) == ("estimate", 1, 3, 5)


def test_units_from_the_address_and_attributes(tmp_path):
    geoms = [shapely.box(X0, Y0, X0 + 100, Y0 + 12), shapely.box(X0, Y0 + 50, X0 + 100, Y0 + 62)]
    gdf = gpd.GeoDataFrame({"floors": [10, 10], "units": [None, 2]}, geometry=geoms, crs=4549,
                           index=pd.Index(["A", "B"], name="building_id")).assign(households=[40, 40])
    cells = pd.DataFrame({"building_id": ["A"] * 40, "unit": pd.array([1] * 20 + [4] * 20, dtype="Int64"),
                          "floor": pd.array([None] * 40, dtype="Int64"), "households": 1})
    s = building_storeys(gdf, cells=cells)
    assert (s["A"].source, s["A"].units, s["A"].floors) == ("ledger", 4, 10)
    assert s["A"].households.sum(axis=1).tolist() == [20, 0, 0, 20]  # units 2 and 3 hold nobody in the ledger
    assert (s["B"].source, s["B"].units, s["B"].total()) == ("attributes", 2, 40)
    # rooms without units: floors from the rooms, the households of a floor over the building's 2 units
    cells = pd.DataFrame({"building_id": ["B"] * 40, "unit": pd.array([None] * 40, dtype="Int64"),
                          "floor": pd.array([1 + i // 4 for i in range(40)], dtype="Int64"), "households": 1})
    s = building_storeys(gdf, cells=cells)["B"]
    assert (s.source, s.units, s.floors) == ("ledger", 2, 10) and (s.households == 2).all()


# --- splitting a tower --------------------------------------------------------------------------------

def test_hand_made_tower_splits_into_sub_grids_nested_in_its_emergency_grid(tower_plan):
    plan, metrics, _ = tower_plan
    sub = plan.layers["subgrids"]
    tower_grid = plan.buildings.loc["B00001", "grid_id"]
    assert plan.grids.loc[tower_grid, "status"] == "oversize"  # normal layout: the tower is one grid
    em_id = plan.buildings.loc["B00001", "grid_id_emergency"]
    em_code = plan.layers["grids_emergency"].loc[em_id, "grid_code"]
    assert list(sub["subgrid_code"]) == [f"{em_code}{k:02d}" for k in range(1, 7)]
    assert (sub["emergency_grid_id"] == em_id).all() and (sub["grid_id"] == tower_grid).all()
    blocks = list(zip(sub["unit_from"], sub["unit_to"], sub["floor_from"], sub["floor_to"], sub["households"]))
    assert blocks == [(u, u, f0, f1, 18) for u in (1, 2, 3) for f0, f1 in ((1, 9), (10, 18))]
    assert metrics["subgrids"] == {"n_subgrids": 6, "towers_split": 1, "share_within_tolerance": 1.0,
                                   "crossing_units": 0, "households": 108, "target": 18}
    assert plan.meta["emergency"]["subgrids"]["n_subgrids"] == 6
    assert [g["label"] for g in grid_subgrids(plan, tower_grid)][:2] == ["1单元 1–9层 · 18户", "1单元 10–18层 · 18户"]
    assert grid_subgrids(plan, tower_grid, lang="en")[2]["label"] == "Unit 2, floors 1–9 · 18 households"
    storeys = plan.layers["storeys"]
    assert len(storeys) == 54 and int(storeys["households"].sum()) == 108 and set(storeys["source"]) == {"ledger"}


def test_check_passes_and_catches_broken_sub_grids(tower_plan):
    plan, _, _ = tower_plan
    result = check_plan(plan)
    assert result.ok, result.violations
    assert result.subgrids["n_subgrids"] == 6 and result.to_dict()["subgrids"]["share_within_tolerance"] == 1.0
    sub = plan.layers["subgrids"]
    broken = sub.copy()
    broken.iloc[1, broken.columns.get_loc("floor_from")] = 9  # floor 9 of unit 1 in two sub-grids
    broken.iloc[2, broken.columns.get_loc("subgrid_code")] = broken.iloc[0]["subgrid_code"]
    broken.iloc[3, broken.columns.get_loc("unit_to")] = 3  # unit 2 floors 10–18 reaching into unit 3
    broken.iloc[4, broken.columns.get_loc("status")] = "out_of_tolerance"
    tampered = geo.Plan(buildings=plan.buildings, grids=plan.grids, meta=plan.meta,
                        layers={**plan.layers, "subgrids": broken})
    text = "\n".join(check_plan(tampered).violations)
    assert "codes repeat" in text
    assert "households 18 ≠ 20" in text  # floors 9–18 of unit 1 hold 20
    assert "in several" in text
    assert "which only whole tiny units may" in text
    assert "status out_of_tolerance, but its 18 households make it ok" in text


def test_normal_layout_never_splits_a_building(tower_plan):
    plan, metrics, _ = tower_plan
    assert metrics["split_buildings"] == 0
    assert plan.buildings.groupby("grid_id").size().loc[plan.buildings.loc["B00001", "grid_id"]] == 1
    # the honest figures count the tower's grid: it holds 108 of the 128 households and is no grid within ±20%
    assert metrics["oversize_grids"] == 1 and metrics["oversize_households"] == 108
    assert metrics["share_households_within"] <= 20 / 128
    assert metrics["share_within_tolerance_all"] == 0.0 and metrics["n_grids"] == 2  # the walk-ups: 20, undersize


def test_tower_grid_posts_a_building_leader_per_unit(tower_plan):
    from maps.towers import grid_posts

    plan, _, _ = tower_plan
    posts = {p["role"]: p["count"] for p in grid_posts(plan, plan.buildings.loc["B00001", "grid_id"])}
    assert posts == {"grid_leader": 1, "building_leader": 3, "volunteer": 5}  # 108 households, 1 per 25


def test_tiny_units_join_only_each_other_and_are_reported():
    # units of 20, 20 and 50 households (10 floors) at 50: units 1 and 2 alone are too small
    s = Storeys(np.array([[2] * 10, [2] * 10, [5] * 10]), "ledger")
    blocks = split_tower(s, target=50, tolerance=0.2)
    assert [(b.unit_from, b.unit_to, b.households, b.crosses_units) for b in blocks] == [(1, 2, 40, True),
                                                                                        (3, 3, 50, False)]
    # a tiny unit beside a big one never joins it: it stays alone (out of the band)
    s = Storeys(np.array([[2] * 10, [10] * 10]), "ledger")
    blocks = split_tower(s, target=50, tolerance=0.2)
    assert all(not b.crosses_units for b in blocks) and blocks[0].households == 20


def _brute_force_best(m: np.ndarray, target: float, tolerance: float) -> float:
    """The best share within the band over every split the rules allow (small towers only)."""
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    per_unit = m.sum(axis=1)

    def floor_splits(row):
        n = len(row)
        for cuts in itertools.product((0, 1), repeat=n - 1):
            edges = [0] + [i + 1 for i, c in enumerate(cuts) if c] + [n]
            yield [int(row[a:b].sum()) for a, b in zip(edges[:-1], edges[1:])]

    def splits(u):  # every split of units u… into blocks
        if u == len(m):
            yield []
            return
        if per_unit[u] == 0:  # a unit without households may be left out
            yield from splits(u + 1)
        for blocks in floor_splits(m[u]):
            for rest in splits(u + 1):
                yield blocks + rest
        end = u + 1
        while end < len(m) and per_unit[u] < lo and (per_unit[u:end + 1] < lo).all():
            end += 1
            for rest in splits(end):
                yield [int(per_unit[u:end].sum())] + rest
    return max(np.mean([lo <= h <= hi for h in blocks]) for blocks in splits(0))


def test_units_a_ledger_does_not_name_get_no_empty_sub_grid():
    """A ledger naming only unit 5 (3 flats a floor, 18 floors) leaves units 1–4 empty: the tower's
    sub-grids are unit 5's floor ranges, none of 0 households."""
    m = np.zeros((5, 18), dtype=int)
    m[4] = 3
    blocks = split_tower(Storeys(m, "ledger"), target=25, tolerance=0.2)
    assert {(b.unit_from, b.unit_to) for b in blocks} == {(5, 5)}
    assert sum(b.households for b in blocks) == 54 and min(b.households for b in blocks) > 0


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3).flatmap(lambda u: st.integers(1, 6).flatmap(
    lambda f: st.lists(st.lists(st.integers(0, 8), min_size=f, max_size=f), min_size=u, max_size=u))),
    st.integers(4, 40))
def test_split_properties(rows, target):
    """Every household in exactly one block (a unit without households in none), blocks contiguous, no
    block across a non-tiny unit, and the share within the band is the best the rules allow (brute force)."""
    m = np.array(rows)
    assume(m.sum() > 0)
    blocks = split_tower(Storeys(m, "x"), target=target, tolerance=0.2)
    cover = np.zeros_like(m)
    for b in blocks:
        assert 1 <= b.unit_from <= b.unit_to <= m.shape[0] and 1 <= b.floor_from <= b.floor_to <= m.shape[1]
        cover[b.unit_from - 1:b.unit_to, b.floor_from - 1:b.floor_to] += 1
        assert b.households == m[b.unit_from - 1:b.unit_to, b.floor_from - 1:b.floor_to].sum()
        if b.crosses_units:
            assert (b.floor_from, b.floor_to) == (1, m.shape[1])
            assert (m[b.unit_from - 1:b.unit_to].sum(axis=1) < target * 0.8).all()
    has = m.sum(axis=1) > 0
    assert (cover[has] == 1).all() and (cover[~has] <= 1).all()
    share = np.mean([target * 0.8 <= b.households <= target * 1.2 for b in blocks])
    assert share == pytest.approx(_brute_force_best(m, target, 0.2))


# --- Kunming ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [50, 25])
def test_kunming_towers_split_in_the_emergency_layout(kunming_inputs, target):
    """Real footprints, households estimated: every tower above the band in its own emergency grid is split,
    every household of it in exactly one sub-grid, the plan checks; the share is reported."""
    plan, metrics = make_plan(kunming_inputs, PlanSettings(emergency_target=target))
    sub = plan.layers["subgrids"]
    em = plan.layers["grids_emergency"]
    housed = plan.buildings[plan.buildings["households"] > 0].groupby(EMERGENCY_COLUMN).size()
    towers = em[(em["households"] > target * 1.2) & em.index.isin(housed.index[housed.to_numpy() == 1])]
    assert sub["emergency_grid_id"].nunique() == len(towers) > 40
    assert (towers["n_buildings"] > 1).any()  # a tower whose grid took in sheds of 0 households is split too
    per_tower = sub.groupby("emergency_grid_id")["households"].sum()
    assert per_tower.to_dict() == towers["households"].astype(int).to_dict()  # every household in one sub-grid
    result = check_plan(plan)
    assert result.ok, result.violations
    fig = subgrid_figures(sub, target=target, tolerance=0.2)
    print(f"Kunming at {target}: {fig}")
    assert fig["share_within_tolerance"] > 0.5  # against 0 for the towers' emergency grids
    assert metrics["split_buildings"] == 0
    assert (sub[sub["crosses_units"]]["unit_to"] > sub[sub["crosses_units"]]["unit_from"]).all()
    # the honest figures of the normal layout, counted here from the grids: towers count as outside
    hh = plan.grids["households"]
    within = hh.between(40, 60)
    assert metrics["share_within_tolerance_all"] == pytest.approx(within.mean(), abs=1e-4)
    assert metrics["share_households_within"] == pytest.approx(hh[within].sum() / hh.sum(), abs=1e-4)
    assert metrics["oversize_households"] == hh[plan.grids["status"] == "oversize"].sum()
    assert metrics["share_within_tolerance_all"] < metrics["share_within_tolerance"]


# --- the page and the sheet --------------------------------------------------------------------------

def test_printed_sheet_lists_the_sub_grids(tower_plan, tmp_path):
    from maps.wallmap import grid_sheet, save_sheet

    plan, _, _ = tower_plan
    code = plan.grids.loc[plan.buildings.loc["B00001", "grid_id"], "grid_code"]
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install poppler-utils (`make test` installs it)")
    for lang, words in (("zh", ["3单元 10–18层 · 18户", "楼栋长 3", "应急分格"]),
                        ("en", ["Unit 3, floors 10–18 · 18 households", "Building leader 3"])):
        pdf = save_sheet(grid_sheet(plan, code, printed=PRINTED, lang=lang, base_url=""), tmp_path / f"{lang}.pdf")
        text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True,
                              text=True).stdout
        for w in words:
            assert w in text, (lang, w)


def test_grid_page_of_a_tower_in_a_browser(tower_plan, tmp_path):
    """The tower's battle map in Chromium: its sub-grids and posts listed (screenshot tower_grid.png)."""
    from app import create_app
    from app.auth import add_user

    plan, _, path = tower_plan
    code = plan.grids.loc[plan.buildings.loc["B00001", "grid_id"], "grid_code"]
    db = tmp_path / "users.sqlite"
    add_user(db, "viewer", "correct-horse-1", role="viewer")
    app = create_app({"TESTING": True, "PLANS": [str(path)], "OFFLINE": True, "USERS_DB": str(db)})
    with chromium(chromium_path(), CHROMIUM_ARGS) as browser, serving(app) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        try:
            _sign_in(page, server)  # as the viewer made above
            page.goto(f"{server}/plans/tower/grids/{code}")
            page.wait_for_load_state("networkidle")
            card = page.locator("#grid-card").inner_text()
            assert "1单元 1–9层 · 18户" in card and "3单元 10–18层 · 18户" in card
            assert "楼栋长 3" in card and "3个单元" in card
            page.locator(".gp-subgrids").scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "tower_grid.png"))
            page.goto(f"{server}/plans/tower/")
            page.wait_for_load_state("networkidle")
            header = page.locator(".gp-figures").inner_text()
            assert "全部网格均衡率" in header and "超大楼栋网格 1格 108户" in header
        finally:
            context.close()


def test_an_update_redraws_the_sub_grids(tower_plan):
    """New households for the tower: its ledger storeys no longer hold them, so they are spread again over
    its units (the ledger's 3, kept in the plan as ``n_units``) and floors, and its sub-grids redrawn; a
    walk-up's change keeps the tower's ledger storeys."""
    from partitioning.update import update_plan

    plan, _, _ = tower_plan
    grown = update_plan(plan, households=pd.Series({"B00001": 120})).plan
    assert check_plan(grown).ok
    sub = grown.layers["subgrids"]
    assert int(sub["households"].sum()) == 120 and set(grown.layers["storeys"]["source"]) == {"attributes"}
    assert sub["unit_to"].max() == 3
    assert grown.meta["emergency"]["subgrids"]["households"] == 120
    walkup = update_plan(plan, households=pd.Series({"B00002": 6})).plan
    assert check_plan(walkup).ok
    assert walkup.layers["subgrids"]["subgrid_code"].tolist() == plan.layers["subgrids"]["subgrid_code"].tolist()
    assert set(walkup.layers["storeys"]["source"]) == {"ledger"}


def test_partition_and_check_print_the_towers_and_the_honest_figures(site, tmp_path):
    import json

    from tests.clirun import run

    buildings, ledger = site
    out = tmp_path / "site.gpkg"
    code, text = run("partition", buildings, "--households", ledger, "--emergency-target", 18, "-o", out)
    assert code == 0, text
    assert "tower sub-grids:    1 tower(s) split by unit and floor into 6 emergency sub-grids (target 18), " \
           "100.0% within tolerance, 0 across tiny units" in text
    assert "all grids:          0.0% of all 2 grids within tolerance; 0.0% of households live in such a grid" in text
    assert "oversize grids:     1 hold 108 households (84.4%; towers, one grid each)" in text
    code, text = run("check", out)
    assert code == 0 and "tower sub-grids:    1 tower(s)" in text, text
    code, text = run("check", out, "--json")
    report = json.loads(text)
    assert report["subgrids"]["n_subgrids"] == 6 and report["metrics"]["oversize_households"] == 108
