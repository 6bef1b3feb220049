"""Drill-down units and pages (``maps/web/drill.py``, ``app/drill.py``) on a synthetic city of several
streets and communities (``tests/drillplans.py``), and the lazy cache of ``serve --production``."""

from __future__ import annotations

import gzip
import json

import pytest
import shapely

import geo
from app import create_app
from maps.web.drill import plan_units, unit_document, unit_figures
from tests.drillplans import HOUSEHOLDS, drill_plans
from tests.test_app import signed_in, tiny_plan  # noqa: F401 - tiny_plan: the app tests' hand-made plan (a fixture)


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    return drill_plans(tmp_path_factory.mktemp("drill"))


@pytest.fixture(scope="module", params=["levels", "flat"])
def plan(request, plans):
    return geo.read_plan(plans[request.param])


def _app(path, tmp_path, **config):
    return create_app({"TESTING": True, "PLANS": [str(path)], "USERS_DB": str(tmp_path / "users.sqlite"),
                       "BASEMAP": "none", "SECRET_KEY": "test-key", **config})


def test_every_grid_is_in_one_community_of_one_street(plan):
    units = plan_units(plan)
    assert units.levels == ("street", "community")
    assert units.grid_unit.index.is_unique and set(units.grid_unit.index) == set(plan.grids.index.astype(str))
    streets, communities = (units.units[units.units["level"] == lv] for lv in units.levels)
    assert len(streets) >= 2 and len(communities) > len(streets)
    assert set(communities["parent"]) == set(streets.index)  # every community under a street, every street used
    assert units.children(None) == ("street", sorted(streets.index, key=lambda k: streets.at[k, "code"]))
    for key in communities.index:  # the grids a community holds lie inside its polygon
        _, grids = units.children(key)
        inside = shapely.area(shapely.intersection(plan.grids.geometry.loc[grids].to_numpy(),
                                                   units.units.geometry[key])).sum()
        assert inside == pytest.approx(plan.grids.geometry.loc[grids].area.sum(), abs=len(grids))  # < 1 m² a grid
    assert communities["name"].str.endswith("社区").all()  # names from the boundaries / levels layer


def test_figures_add_up_from_grids_to_streets_to_the_whole_plan(plan):
    units = plan_units(plan)
    figures = unit_figures(plan, units)
    assert figures.at["", "households"] == plan.grids["households"].sum() >= HOUSEHOLDS
    assert figures.at["", "grids"] == len(plan.grids)
    for key in units.units.index:
        _, children = units.children(key)
        assert figures.loc[children, "households"].sum() == figures.at[key, "households"]
        assert figures.loc[children, "grids"].sum() == figures.at[key, "grids"]
    status = plan.grids["status"]
    assert figures.at["", "balance"] == pytest.approx((status == "ok").sum() / (status != "oversize").sum())
    assert figures.at["", "balance"] == pytest.approx(plan.meta["metrics"]["share_within_tolerance"], abs=1e-4)  # rounded there


def test_posts_and_special_households_are_counted_per_unit(plans):
    plan = geo.read_plan(plans["levels"])
    figures = unit_figures(plan, plan_units(plan))
    staffing = plan.meta["staffing"]  # what `gridplan people assign` reported
    whole = figures.loc[""]
    assert (whole["posts_required"], whole["posts_filled"], whole["posts_missing"]) == (
        staffing["required"], staffing["filled"], staffing["missing"])
    assert staffing["missing"] > 0  # the roster covers 70 %: there are gaps (缺口) to show
    flags = plan.layers["households"]
    assert whole["flag_elderly_alone"] == (flags["elderly_alone"] > 0).sum() > 0


def test_a_unit_document_holds_its_children_only(plan):
    units = plan_units(plan)
    figures = unit_figures(plan, units)
    top = unit_document(plan, units, figures, None, lang="en")
    assert top["unit"] is None and top["trail"] == [] and top["child_level"] == "street"
    codes = [f["properties"]["code"] for f in top["children"]["features"]]
    assert codes == sorted(units.units.loc[units.units["level"] == "street", "code"])
    street = units.by_code(codes[0])
    doc = unit_document(plan, units, figures, street, lang="en")
    assert [t["code"] for t in doc["trail"]] == [codes[0]] and doc["child_level_text"] == "Community"
    community = units.by_code(doc["children"]["features"][0]["properties"]["code"])
    doc = unit_document(plan, units, figures, community, lang="zh")
    assert [t["level"] for t in doc["trail"]] == ["street", "community"] and doc["buildings"]
    grids = {f["properties"]["code"] for f in doc["children"]["features"]}
    assert grids == set(plan.grids.loc[units.children(community)[1], "grid_code"].astype(str))
    assert all(f["properties"]["status_text"] for f in doc["children"]["features"])
    west, south, east, north = doc["bounds"]
    assert 119 < west < east < 122 and 30 < south < north < 33  # EPSG:4326 around Suzhou


def test_drill_pages_and_api_from_the_top_to_a_grid(plans, tmp_path):
    app = _app(plans["levels"], tmp_path, PUBLIC_MAP=True)
    client = app.test_client()
    assert 'href="/plans/levels/units/"' in client.get("/").get_data(as_text=True)  # the index links the drill page
    page = client.get("/plans/levels/units/")
    assert page.status_code == 200 and "分级总览" in page.get_data(as_text=True)
    top = client.get("/api/plans/levels/units/", headers={"Accept-Encoding": "gzip"})
    assert top.headers["Content-Encoding"] == "gzip"
    doc = json.loads(gzip.decompress(top.data))
    assert client.get("/api/plans/levels/units/", headers={"If-None-Match": top.headers["ETag"]}).status_code == 304
    street = doc["children"]["features"][0]["properties"]["code"]
    doc = client.get(f"/api/plans/levels/units/{street}").get_json()
    community, community_name = (doc["children"]["features"][0]["properties"][k] for k in ("code", "name"))
    html = client.get(f"/plans/levels/units/{community}?lang=en").get_data(as_text=True)
    assert f'href="/plans/levels/units/{street}"' in html and community_name in html  # breadcrumbs up
    assert "Overview by level" in client.get("/plans/levels/units/?lang=en").get_data(as_text=True)
    assert client.get(f"/api/plans/levels/units/{street}/buildings.geojson").status_code == 404  # too many
    buildings = client.get(f"/api/plans/levels/units/{community}/buildings.geojson").get_json()
    grid = client.get(f"/api/plans/levels/units/{community}").get_json()["children"]["features"][0]["properties"]
    plan = geo.read_plan(plans["levels"])
    in_community = plan.buildings["grid_code"].astype(str).isin(
        [f["properties"]["code"] for f in client.get(f"/api/plans/levels/units/{community}").get_json()
         ["children"]["features"]])
    assert len(buildings["features"]) == in_community.sum() > 0
    assert client.get(f"/plans/levels/grids/{grid['code']}").status_code == 200  # the grid page as it is
    missing = client.get("/api/plans/levels/units/999999")
    assert missing.status_code == 404 and "999999" in missing.get_json()["error"]


def test_a_plan_without_units_says_so(tmp_path):
    from tests.plans import tiny_people_plan

    client = _app(tiny_people_plan(tmp_path), tmp_path, PUBLIC_MAP=True).test_client()
    resp = client.get("/plans/tiny/units/?lang=en")
    assert resp.status_code == 404 and "no streets or communities" in resp.get_data(as_text=True)
    assert 'href="/plans/tiny/units/"' not in client.get("/").get_data(as_text=True)


def test_real_buildings_drill_by_their_community_field(plan_path):
    """Kunming's footprints carry a ``community`` field (compound names): the plan drills by it."""
    plan = geo.read_plan(plan_path)
    units = plan_units(plan)
    assert units.levels == ("community",)
    names = set(plan.buildings["community"].dropna().astype(str)) - {""}
    assert set(units.units["code"]) <= names and len(units.units) >= 0.8 * len(names)
    doc = unit_document(plan, units, unit_figures(plan, units), None)
    assert sum(f["properties"]["households"] for f in doc["children"]["features"]) == plan.grids.loc[
        units.grid_unit.index, "households"].sum()


def test_special_households_are_counts_for_officials_and_absent_for_the_public(plans, tmp_path):
    app = _app(plans["levels"], tmp_path, PUBLIC_MAP=True)
    public = app.test_client().get("/api/plans/levels/units/").get_json()
    viewer = signed_in(app, "viewer").get("/api/plans/levels/units/").get_json()
    assert public["totals"]["special"] == {} and public["totals"]["posts_missing"] == viewer["totals"]["posts_missing"]
    assert viewer["totals"]["special"]["elderly_alone"] > 0
    names = set(geo.read_plan(plans["levels"]).layers["households"]["name"].dropna())
    text = json.dumps(viewer, ensure_ascii=False)
    assert names and not any(n in text for n in names)  # counts only, never who


def test_production_start_reads_the_plans_and_renders_nothing(plans, tmp_path):
    from app.wsgi import preload

    app = _app(plans["flat"], tmp_path, PUBLIC_MAP=True)
    assert preload(app) == 1
    cache = app.extensions["gridplan_cache"]
    assert {key[0] for key in cache.items} == {"plan", "units"} and cache.bytes == 0
    client = app.test_client()
    first = client.get("/plans/flat/units/", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert "drill-page" in {key[0] for key in cache.items} and cache.bytes > 0  # made on the first request
    assert client.get("/plans/flat/units/", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_the_cache_keeps_at_most_its_bytes(plans, tmp_path):
    app = _app(plans["flat"], tmp_path, PUBLIC_MAP=True, CACHE_BYTES=60_000)
    client = app.test_client()
    cache = app.extensions["gridplan_cache"]
    codes = [f["properties"]["code"] for f in client.get("/api/plans/flat/units/").get_json()["children"]["features"]]
    for code in codes:
        for lang in ("zh", "en"):
            assert client.get(f"/plans/flat/units/{code}?lang={lang}").status_code == 200
            assert cache.bytes <= 60_000
    pages = [key for key in cache.items if key[0] == "drill-page"]
    assert 0 < len(pages) < 2 * len(codes)  # the least recently used went
    assert cache.bytes == sum(cache.weight(v) for v in cache.items.values())


def test_a_document_many_ask_for_at_once_is_made_once(plans, tmp_path):
    """The first visitors of a page after a start all wait for the one rendering, not each their own."""
    import threading
    import time

    from app._data import Payload

    cache = _app(plans["flat"], tmp_path).extensions["gridplan_cache"]
    made, got = [], []

    def make():
        made.append(1)
        time.sleep(0.2)
        return Payload.of("page")

    threads = [threading.Thread(target=lambda: got.append(cache.get(("page",), make))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len(got) == 8 and {p.body for p in got} == {b"page"}

    def fail():
        raise RuntimeError("unreadable")

    with pytest.raises(RuntimeError):
        cache.get(("broken",), fail)
    assert cache.get(("broken",), make).body == b"page" and cache.making == {}  # a failure blocks nobody


def test_a_levels_layer_without_unit_columns_drills_by_position(tiny_plan):  # noqa: F811
    """The hand-made plan of the app tests: zones 北片 (G1, G2) and 南片 (G3, G4), no ``unit_zone`` column."""
    plan = tiny_plan
    units = plan_units(plan)
    assert units.levels == ("zone",)
    north = units.by_code("3205080010011")
    assert units.children(north) == ("grid", ["G1", "G2"]) and units.units.at[north, "name"] == "北片"
    assert unit_figures(plan, units).at[north, "households"] == 22 + 24


def test_on_amap_tiles_the_drill_page_asks_for_gcj02(plans, tmp_path):
    app = _app(plans["flat"], tmp_path, PUBLIC_MAP=True, OFFLINE=False, BASEMAP="amap")
    client = app.test_client()
    html = client.get("/plans/flat/units/").get_data(as_text=True)
    assert "/api/plans/flat/units/?datum=gcj02" in html
    wgs84, gcj02 = (client.get(f"/api/plans/flat/units/?datum={d}").get_json()["bounds"] for d in ("wgs84", "gcj02"))
    assert 0.001 < gcj02[0] - wgs84[0] < 0.01  # GCJ-02 is shifted a few hundred metres east around Suzhou


def test_a_big_plan_opens_at_its_drill_page_not_as_one_map_of_every_grid(plans, tmp_path):
    """Above FLAT_MAP_MAX_GRIDS a plan with units opens at its top unit; ?all=1 still draws every grid
    (the drill page links it), and at the limit the plan keeps its one map."""
    levels = plans["levels"]
    n = len(geo.read_plan(levels).grids)
    big = _app(levels, tmp_path, PUBLIC_MAP=True, FLAT_MAP_MAX_GRIDS=n - 1).test_client()
    moved = big.get("/plans/levels/?lang=en")
    assert moved.status_code == 302 and moved.headers["Location"] == "/plans/levels/units/?lang=en"
    assert big.get("/plans/levels/?all=1").status_code == 200
    assert 'href="/plans/levels/?all=1"' in big.get("/plans/levels/units/").get_data(as_text=True)
    small = _app(levels, tmp_path, PUBLIC_MAP=True, FLAT_MAP_MAX_GRIDS=n).test_client()
    assert small.get("/plans/levels/").status_code == 200
