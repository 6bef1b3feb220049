"""The Flask app (test client): every page, API route and error, on the real Kunming plan and on
a hand-made plan; the web map's colouring, cards, search and basemaps."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

import geo
from app import SETTINGS, create_app, missing_assets
from app.cli import cli
from geo.errors import GridplanError, PlanFileError
from maps.i18n import text
from maps.web import geojson, pages, queries
from maps.web.colours import grid_adjacency, grid_colours
from maps.web.queries import grid_card, plan_layouts, search_plan

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plan(plan_path):
    return geo.read_plan(plan_path)


@pytest.fixture()
def app(plan_path, tmp_path):
    return create_app({"TESTING": True, "PLANS": [str(plan_path)], "USERS_DB": str(tmp_path / "users.sqlite")})


def signed_in(app, role: str = "admin", *, grids=(), password: str = "correct-horse-1"):
    """A test client signed in as a new user named after ``role`` (through the login form, with its CSRF token)."""
    from app.auth import add_user

    add_user(app.config["USERS_DB"], role, password, role=role, grids=grids, replace=True)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": role, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


@pytest.fixture()
def client(app):
    """Signed in as an admin: every page shows everything."""
    return signed_in(app)


def _grid_with_neighbours(plan):
    adjacency = grid_adjacency(plan.grids)
    grid_id = max(sorted(adjacency.nodes), key=adjacency.degree)
    return grid_id, str(plan.grids.at[grid_id, "grid_code"])


# --- a hand-made plan ------------------------------------------------------------------------

def _square(x, y, size):
    return shapely.box(x, y, x + size, y + size)


@pytest.fixture(scope="module")
def tiny_plan():
    """Four grids of 100 m in EPSG:4549 (Suzhou), two buildings each; G2 has a grid leader::

        +------+------+      grid codes 320508001001001 … 004 (prefix 320508001001),
        | G1   | G2   |      numbered west→east, north→south;
        | b1 b2| b3 b4|      b3 has a building leader and 2 elderly-alone households,
        +------+------+      b8 is named 梧桐苑 (found by search);
        | G3   | G4   |      upper level "zone": 北片 = G1 + G2, 南片 = G3 + G4;
        | b5 b6| b7 b8|      emergency layout: each grid split in a west and an east half
        +------+------+      (E1 … E8, one building each)
    """
    x0, y0 = 500_000.0, 3_460_000.0
    grids, buildings, emergency = [], [], []
    for i, (gx, gy) in enumerate([(0, 100), (100, 100), (0, 0), (100, 0)], start=1):
        code = f"320508001001{i:03d}"
        grids.append({"grid_id": f"G{i}", "grid_code": code, "households": 2 * (10 + i),
                      "n_buildings": 2, "status": "ok", "geometry": _square(x0 + gx, y0 + gy, 100)})
        for j, (bx, by) in enumerate([(10, 60), (60, 20)]):  # west one to the north: reading order b(2i-1), b(2i)
            n = 2 * i - 1 + j
            buildings.append({"building_id": f"b{n}", "grid_id": f"G{i}", "grid_code": code,
                              "households": 10 + i, "households_source": "field",
                              "name": "梧桐苑" if n == 8 else None, "flag_elderly_alone": 2 if n == 3 else 0,
                              "geometry": _square(x0 + gx + bx, y0 + gy + by, 20)})
            emergency.append({"grid_id": f"E{n}", "grid_code": f"{code}{j + 1:02d}", "households": 10 + i,
                              "n_buildings": 1, "status": "ok", "parent_grid_id": f"G{i}",
                              "geometry": shapely.box(x0 + gx + 50 * j, y0 + gy, x0 + gx + 50 * (j + 1), y0 + gy + 100)})
    levels = gpd.GeoDataFrame({
        "level": ["zone", "zone"], "unit_id": ["zone-0001", "zone-0002"],
        "unit_code": ["3205080010011", "3205080010012"], "parent_id": [None, None], "name": ["北片", "南片"],
        "households": [46, 50], "n_buildings": [4, 4], "status": ["ok", "ok"],
        "geometry": [shapely.box(x0, y0 + 100, x0 + 200, y0 + 200), shapely.box(x0, y0, x0 + 200, y0 + 100)]},
        crs=4549, index=pd.Index(["zone/zone-0001", "zone/zone-0002"], name="unit_key"))
    people = pd.DataFrame([
        {"grid_id": "G2", "building_id": None, "role": "grid_leader", "name": "王芳", "phone": "13800000000"},
        {"grid_id": "G2", "building_id": "b3", "role": "building_leader", "name": "李强", "phone": None},
    ])
    return geo.Plan(buildings=gpd.GeoDataFrame(buildings, crs=4549).set_index("building_id"),
                    grids=gpd.GeoDataFrame(grids, crs=4549).set_index("grid_id"),
                    meta={"code_prefix": "320508001001", "target": 20, "grid_level": "small"},
                    layers={"people": people, "levels": levels,
                            "grids_emergency": gpd.GeoDataFrame(emergency, crs=4549).set_index("grid_id")})


def test_neighbouring_grids_never_share_a_colour(plan):
    colours = grid_colours(plan.grids)
    adjacency = grid_adjacency(plan.grids)
    assert adjacency.number_of_edges() > 0
    assert all(colours[a] != colours[b] for a, b in adjacency.edges)
    assert set(colours) == set(plan.grids.index)


def test_tiny_plan_adjacency_colours_and_card(tiny_plan):
    adjacency = grid_adjacency(tiny_plan.grids)
    # the four squares touch pairwise along edges or at the centre corner
    assert set(map(frozenset, adjacency.edges)) >= {frozenset(e) for e in [("G1", "G2"), ("G1", "G3"), ("G2", "G4"), ("G3", "G4")]}
    colours = grid_colours(tiny_plan.grids)
    assert all(colours[a] != colours[b] for a, b in adjacency.edges)

    card = grid_card(tiny_plan, "G2")
    assert card["grid_code"] == "320508001001002" and card["households"] == 24
    assert card["staff"] == [{"role": "grid_leader", "role_text": "网格长", "name": "王芳", "phone": "13800000000",
                             "withheld": False, "count": 1}]
    assert [b["building_id"] for b in card["buildings"]] == ["b3", "b4"] and [b["no"] for b in card["buildings"]] == [1, 2]
    assert card["buildings"][0]["leaders"][0]["name"] == "李强"
    assert card["buildings"][0]["special"] == {"elderly_alone": 2} and card["buildings"][1]["special"] == {}
    assert "320508001001004" in card["neighbours"] and "320508001001002" not in card["neighbours"]
    # a grid without people: nobody is invented
    assert grid_card(tiny_plan, "G3")["staff"] == []


def test_tiny_plan_card_names_units_and_emergency_grids(tiny_plan):
    buildings = tiny_plan.buildings.assign(unit_zone=["zone-0001"] * 4 + ["zone-0002"] * 4)
    plan = geo.Plan(buildings=buildings, grids=tiny_plan.grids, meta=tiny_plan.meta, layers=tiny_plan.layers)
    card = grid_card(plan, "G3")
    assert card["units"] == [{"level": "zone", "unit_code": "3205080010012", "name": "南片"}]
    assert card["emergency"] == ["32050800100100301", "32050800100100302"]
    flat = grid_card(geo.Plan(buildings=tiny_plan.buildings, grids=tiny_plan.grids, meta={}), "G3")
    assert flat["units"] == [] and flat["emergency"] == []


def test_tiny_plan_search_layouts_and_maps(tiny_plan):
    hits = search_plan(tiny_plan, "2")
    assert hits[0] == {"kind": "grid", "grid_code": "320508001001002", "number": "2",
                       "label": "320508001001002"}  # ends with 2
    assert search_plan(tiny_plan, "梧桐")[0]["building_id"] == "b8"
    assert search_plan(tiny_plan, "") == [] and search_plan(tiny_plan, "nothing-like-this") == []
    assert plan_layouts(tiny_plan) == {"layouts": ["normal", "emergency"], "levels": ["zone"], "grid_level": "small"}
    zones = queries.layout_grids(tiny_plan, level="zone")
    assert zones.index.tolist() == ["zone-0001", "zone-0002"] and zones["link"].isna().all()  # no page
    assert zones["households"].tolist() == [46, 50]
    halves = queries.layout_grids(tiny_plan, layout="emergency")
    assert halves.loc["E3", "link"] == "320508001001002" and len(halves) == 8  # opens the normal grid G2

    html = pages.community_map(tiny_plan, basemap="none", grid_url="/g/__CODE__").get_root().render()
    assert _js("王芳") in html and '"/g/__CODE__"' in html  # the grid leader in the tooltip
    for short in ("1", "2", "3", "4"):  # labels drop the prefix and the leading zeros
        assert f'"label": "{short}"' in html
    page = pages.grid_map(tiny_plan, "G2", basemap="none").get_root().render()
    assert _js("李强") in page and _js("独居老人 2") in page
    assert page.count(_js(" · 12户")) == 2  # b3 and b4 labelled "number · households"
    assert _js(" · 11户") not in page  # G1's buildings are not drawn on G2's map


def _js(value: str) -> str:
    """``value`` as folium embeds it in the page (JSON, non-ASCII escaped)."""
    return json.dumps(value)[1:-1]


def test_names_from_the_data_are_escaped_in_maps(tiny_plan):
    evil = geo.Plan(buildings=tiny_plan.buildings.assign(name=['<img src=x onerror="alert(1)">'] * 8),
                    grids=tiny_plan.grids, meta=tiny_plan.meta, layers=tiny_plan.layers)
    page = pages.grid_map(evil, "G1", basemap="none").get_root().render()
    assert "<img src=x" not in page and "\\u003cimg" not in page  # neither raw nor JSON-escaped HTML
    assert "lt;img src=x onerror=" in page                            # but the text, as &lt;img …


def test_gcj02_basemap_shifts_overlays(tiny_plan):
    wgs = json.loads(geojson.layer_geojson(tiny_plan, "grids"))
    gcj = json.loads(geojson.layer_geojson(tiny_plan, "grids", datum="gcj02"))
    a = np.array(wgs["features"][0]["geometry"]["coordinates"][0])
    b = np.array(gcj["features"][0]["geometry"]["coordinates"][0])
    shift = b - a  # GCJ-02 moves Suzhou some 0.004° east and 0.002° south
    assert np.all((shift[:, 0] > 0.003) & (shift[:, 0] < 0.006)) and np.all(np.abs(shift[:, 1]) > 0.001)


# --- pages -----------------------------------------------------------------------------------

def test_index_lists_plans_in_chinese(client, plan):
    page = client.get("/").get_data(as_text=True)
    assert "网格方案" in page and 'lang="zh-CN"' in page
    assert "kunming" in page and f">{len(plan.grids)}<" in page
    assert "/plans/kunming/" in page
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Grid plans" in english and 'lang="en"' in english


def test_language_switch_keeps_the_page(client, plan):
    _, code = _grid_with_neighbours(plan)
    page = client.get(f"/plans/kunming/grids/{code}").get_data(as_text=True)
    assert f'class="gp-lang" href="/plans/kunming/grids/{code}?lang=en"' in page
    page = client.get("/plans/kunming/search?q=金色&lang=en").get_data(as_text=True)
    assert 'href="/plans/kunming/search?q=%E9%87%91%E8%89%B2&amp;lang=zh"' in page
    assert "imperial: false" in client.get("/plans/kunming/").get_data(as_text=True)  # the scale bar in metres


def test_language_choice_is_remembered(client):
    resp = client.get("/?lang=en")
    assert "lang=en" in resp.headers["Set-Cookie"]
    assert "Grid plans" in client.get("/").get_data(as_text=True)  # the cookie, no parameter
    assert "网格方案" in client.get("/?lang=zh").get_data(as_text=True)


def test_community_map_page(client, plan):
    resp = client.get("/plans/kunming/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "L.map" in html and "网格编码" in html and "kunming" in html
    assert '"/plans/kunming/grids/__CODE__"' in html            # a click opens the grid's page
    assert "/api/plans/kunming/buildings.geojson" in html        # footprints come from the API
    assert html.count('"grid_code":') >= len(plan.grids)
    for control in ("L.control.fullscreen", "L.Control.Measure", "L.control.locate", "L.control.layers",
                    "L.control.scale"):
        assert control in html
    assert "L.tileLayer" not in html and "tile.openstreetmap.org" not in html  # offline: no basemap by default
    assert "layout-switch" not in html and "level-switch" not in html  # the plan has neither


def test_responses_are_compressed_and_conditional(client):
    plain = client.get("/plans/kunming/")
    packed = client.get("/plans/kunming/", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 3
    again = client.get("/plans/kunming/", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_grid_battle_map_page(client, plan):
    grid_id, code = _grid_with_neighbours(plan)
    resp = client.get(f"/plans/kunming/grids/{code}")  # the URL printed sheets' QR codes link to
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    card = grid_card(plan, grid_id)
    assert f"网格作战图 {card['number']}" in html and f"<dd>{card['households']}</dd>" in html
    assert card["number"] == code.lstrip("0") and f'<dd class="gp-full-code">{code}</dd>' in html
    assert "未指定" in html  # no people layer: grid leader and building leaders not assigned
    assert html.count('<tr id="b-') == len(card["buildings"])
    for neighbour in card["neighbours"]:
        assert f'href="/plans/kunming/grids/{neighbour}">{card["neighbour_numbers"][neighbour]}</a>' in html
    assert f"/plans/kunming/grids/{code}/download.geojson" in html and f"/plans/kunming/grids/{code}/download.gpkg" in html
    assert client.get(f"/plans/kunming/grids/{grid_id}").status_code == 200  # the internal id works too


def test_level_and_layout_switches(tiny_plan, tmp_path):
    plan = geo.Plan(buildings=tiny_plan.buildings, grids=tiny_plan.grids, meta=dict(tiny_plan.meta),
                    layers={k: v for k, v in tiny_plan.layers.items() if k != "people"})
    path = geo.write_plan(plan, tmp_path / "tiny.gpkg")
    client = create_app({"TESTING": True, "PLANS": [str(path)], "BASEMAP": "none", "PUBLIC_MAP": True}).test_client()
    html = client.get("/plans/tiny/").get_data(as_text=True)
    assert "level-switch" in html and "片区" in html and "微网格" in html and "layout-switch" in html
    assert html.count('"grid_code":') == 4
    zones = client.get("/plans/tiny/?level=zone").get_data(as_text=True)
    assert zones.count('"grid_code":') == 2 and '"link": null' in zones
    halves = client.get("/plans/tiny/?layout=emergency").get_data(as_text=True)
    assert halves.count('"grid_code":') == 8 and '"link": "320508001001002"' in halves
    assert client.get("/plans/tiny/?level=street").status_code == 404
    assert client.get("/plans/tiny/?layout=wartime").status_code == 404
    features = json.loads(client.get("/api/plans/tiny/grids.geojson?layout=emergency").data)["features"]
    assert sorted(f["id"] for f in features) == [f"E{n}" for n in range(1, 9)]
    assert client.get("/api/plans/tiny").get_json()["levels"] == ["zone"]


def test_search_page(client, plan):
    code = str(plan.grids["grid_code"].iloc[5])
    resp = client.get(f"/plans/kunming/search?q={code}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/plans/kunming/grids/{code}")
    building = plan.buildings.index[0]
    resp = client.get(f"/plans/kunming/search?q={building}")  # the grid's page, at the building's row
    assert resp.headers["Location"].endswith(f"/grids/{plan.buildings.at[building, 'grid_code']}#b-{building}")
    assert f'id="b-{building}"' in client.get(resp.headers["Location"]).get_data(as_text=True)
    listing = client.get("/plans/kunming/search?q=金色年华").get_data(as_text=True)
    assert "金色年华" in listing and "/plans/kunming/grids/" in listing
    assert "没有找到" in client.get("/plans/kunming/search?q=不存在的地址").get_data(as_text=True)


def test_downloads(client, plan, tmp_path):
    grid_id, code = _grid_with_neighbours(plan)
    resp = client.get("/plans/kunming/download.geojson")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert len(json.loads(resp.data)["features"]) == len(plan.grids)
    resp = client.get(f"/plans/kunming/grids/{code}/download.gpkg")
    assert resp.mimetype == "application/geopackage+sqlite3"
    path = tmp_path / "grid.gpkg"
    path.write_bytes(resp.data)
    grids = pyogrio.read_dataframe(path, layer="grids")
    buildings = pyogrio.read_dataframe(path, layer="buildings")
    assert grids["grid_code"].tolist() == [code] and grids.crs == plan.grids.crs
    assert sorted(buildings["building_id"]) == sorted(plan.buildings.index[plan.buildings["grid_id"] == grid_id])
    assert client.get("/plans/kunming/download.shp").status_code == 404


def test_printed_sheet_download(client, plan):
    pytest.importorskip("maps.wallmap")
    _, code = _grid_with_neighbours(plan)
    resp = client.get(f"/plans/kunming/grids/{code}/sheet.pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert f"/plans/kunming/grids/{code}/sheet.pdf" in client.get(f"/plans/kunming/grids/{code}").get_data(as_text=True)


@pytest.mark.parametrize("url, message", [
    ("/plans/nowhere/", "nowhere"),
    ("/plans/kunming/grids/X999", "X999"),
    ("/plans/kunming/grids/X999/download.gpkg", "X999"),
    ("/no/such/page", "/no/such/page"),
])
def test_not_found_pages_have_a_message(client, url, message):
    resp = client.get(url)
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert message in page and "未找到" in page
    assert "Not found" in client.get(url + ("&" if "?" in url else "?") + "lang=en").get_data(as_text=True)


def test_a_plan_file_broken_while_served_is_an_error_page(plan_path, tmp_path):
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(plan_path.read_bytes())
    client = create_app({"TESTING": True, "PLANS": [str(broken)], "PUBLIC_MAP": True}).test_client()
    assert client.get("/plans/broken/").status_code == 200
    broken.write_bytes(b"not a geopackage")  # replaced by something else: a new version to read
    resp = client.get("/plans/broken/")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 500 and "broken" in body and str(tmp_path) not in body  # no server path
    assert client.get("/api/plans/broken").get_json()["status"] == 500


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "plans": 1}


# --- API -------------------------------------------------------------------------------------

def test_api_plans_and_figures(client, plan):
    plans = client.get("/api/plans").get_json()
    assert [p["name"] for p in plans] == ["kunming"]
    figures = client.get("/api/plans/kunming").get_json()
    assert figures["grids"] == len(plan.grids) and figures["households"] == int(plan.buildings["households"].sum())
    assert figures["crs"] == "EPSG:4543" and figures["layouts"] == ["normal"]


def test_api_geojson_is_keyed_by_ids_and_in_lonlat(client, plan):
    grids = client.get("/api/plans/kunming/grids.geojson")
    assert grids.mimetype == "application/geo+json"
    features = json.loads(grids.data)["features"]
    assert sorted(f["id"] for f in features) == sorted(plan.grids.index)
    assert {f["properties"]["grid_code"] for f in features} == set(plan.grids["grid_code"])
    lon, lat = np.array(features[0]["geometry"]["coordinates"][0]).T
    assert np.all((102.6 < lon) & (lon < 102.8) & (24.9 < lat) & (lat < 25.2))  # Kunming
    buildings = json.loads(client.get("/api/plans/kunming/buildings.geojson").data)["features"]
    assert sorted(f["id"] for f in buildings) == sorted(plan.buildings.index)
    grid_id, code = _grid_with_neighbours(plan)
    own = json.loads(client.get(f"/api/plans/kunming/grids/{code}/buildings.geojson").data)["features"]
    assert {f["properties"]["grid_id"] for f in own} == {grid_id}
    assert client.get("/api/plans/kunming/grids.geojson?datum=bd09").status_code == 400


def test_api_grid_building_and_search(client, plan):
    grid_id, code = _grid_with_neighbours(plan)
    card = client.get(f"/api/plans/kunming/grids/{code}").get_json()
    assert card == json.loads(json.dumps(grid_card(plan, grid_id)))
    english = client.get(f"/api/plans/kunming/grids/{code}?lang=en").get_json()
    assert english["status_text"] != card["status_text"]
    building = plan.buildings.index[0]
    got = client.get(f"/api/plans/kunming/buildings/{building}").get_json()
    assert got["building_id"] == building and got["households"] == int(plan.buildings.at[building, "households"])
    hits = client.get(f"/api/plans/kunming/search?q={code}").get_json()["hits"]
    assert hits[0] == {"kind": "grid", "grid_code": code, "number": code.lstrip("0"), "label": code}


@pytest.mark.parametrize("url", ["/api/plans/nowhere", "/api/plans/kunming/grids/X999",
                                 "/api/plans/kunming/buildings/X999", "/api/plans/kunming/grids/X999/buildings.geojson"])
def test_api_errors_are_json(client, url):
    resp = client.get(url)
    assert resp.status_code == 404 and resp.get_json()["status"] == 404 and resp.get_json()["error"]


def test_openapi_documents_every_api_route(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/")}
    assert routes == set(spec["paths"])


def test_every_setting_is_documented():
    doc = (REPO / "docs" / "web.md").read_text(encoding="utf-8")
    assert [k for k in SETTINGS if f"`{k}`" not in doc] == []


# --- configuration: basemaps, offline --------------------------------------------------------

def test_basemaps_need_their_key_or_url(plan_path):
    online = {"PLANS": [str(plan_path)], "OFFLINE": False}
    with pytest.raises(GridplanError, match="TIANDITU_KEY"):
        create_app({**online, "BASEMAP": "tianditu-vec"})
    with pytest.raises(GridplanError, match="TILES_URL"):
        create_app({"PLANS": [str(plan_path)], "BASEMAP": "intranet"})
    with pytest.raises(GridplanError, match="unknown basemap"):
        create_app({"PLANS": [str(plan_path)], "BASEMAP": "google"})
    client = create_app({**online, "TESTING": True, "BASEMAP": "tianditu-img",
                         "TIANDITU_KEY": "k123", "PUBLIC_MAP": True}).test_client()
    html = client.get("/plans/kunming/").get_data(as_text=True)
    assert "tianditu.gov.cn/img_w/wmts" in html and "tianditu.gov.cn/cia_w/wmts" in html and "tk=k123" in html
    amap = create_app({**online, "TESTING": True, "BASEMAP": "amap", "PUBLIC_MAP": True}).test_client()
    assert "buildings.geojson?datum=gcj02" in amap.get("/plans/kunming/").get_data(as_text=True)


def _asset_links(html: str) -> list[str]:
    """The scripts and style sheets a page loads, but the app's own style sheet and the empty icon."""
    return [link for link in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
            if link not in ("data:,", "/static/gridplan.css")]


def test_offline_is_the_default(plan_path):
    """No OFFLINE, no BASEMAP: every script and style from the app, no basemap, and a note saying so."""
    app = create_app({"TESTING": True, "PLANS": [str(plan_path)], "PUBLIC_MAP": True})
    assert app.config["OFFLINE"] is True and app.config["BASEMAP"] == "none"
    html = app.test_client().get("/plans/kunming/").get_data(as_text=True)
    links = _asset_links(html)
    assert links and all(link.startswith("/static/vendor/") for link in links), links
    assert "cdn.jsdelivr" not in html and "openstreetmap.org" not in html
    note = text("basemap_none_note", "zh")
    assert note in html or _js(note) in html
    # the failure notice runs before any script of the map, and needs none
    assert html.index("gp-scripts-failed") < html.index("/static/vendor/leaflet@")
    assert text("scripts_failed", "zh") in html
    english = app.test_client().get("/plans/kunming/?lang=en").get_data(as_text=True)
    assert text("scripts_failed_server", "en") in english and "离线" not in english.split("<body")[0]
    assert create_app({"PLANS": [str(plan_path)], "TILES_URL": "http://t/{z}/{x}/{y}.png"}).config["BASEMAP"] == "intranet"


def test_online_puts_the_cdn_back(plan_path):
    app = create_app({"TESTING": True, "PLANS": [str(plan_path)], "PUBLIC_MAP": True, "OFFLINE": False})
    assert app.config["BASEMAP"] == "osm"  # the online default
    html = app.test_client().get("/plans/kunming/").get_data(as_text=True)
    links = _asset_links(html)
    assert links and all(link.startswith("https://cdn.jsdelivr.net/npm/") for link in links), links
    assert "tile.openstreetmap.org" in html and "/static/vendor" not in html
    assert "gp-scripts-failed" in html  # the notice is there online too


def test_an_internet_basemap_offline_is_refused_with_the_fix(plan_path):
    for basemap in ("osm", "tianditu-vec", "amap"):
        with pytest.raises(GridplanError, match="--online"):
            create_app({"PLANS": [str(plan_path)], "BASEMAP": basemap, "TIANDITU_KEY": "k"})
    result = CliRunner().invoke(cli, ["serve", str(plan_path), "--basemap", "osm"])
    assert result.exit_code == 1 and "--online" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args, offline", [([], None), (["--online"], False), (["--offline"], True)])
def test_serve_online_and_offline_flags(plan_path, monkeypatch, args, offline):
    """--online sets OFFLINE = False; --offline (the default) is accepted as before; nothing: the config decides."""
    import app as app_module

    seen = {}

    def fake_create_app(config, **kwargs):
        seen.update(config)
        raise GridplanError("stop here")

    monkeypatch.setattr(app_module, "create_app", fake_create_app)
    result = CliRunner().invoke(cli, ["serve", str(plan_path), *args])
    assert "stop here" in result.output
    assert seen.get("OFFLINE") is offline
    both = CliRunner().invoke(cli, ["serve", str(plan_path), "--online", "--offline"])
    assert both.exit_code == 2 and "not both" in both.output


def test_offline_pages_load_nothing_from_outside(plan_path):
    if missing_assets():
        pytest.fail("vendored assets missing: run `python -m app.vendor` (make venv does)")
    client = create_app({"TESTING": True, "PLANS": [str(plan_path)], "OFFLINE": True, "PUBLIC_MAP": True,
                         "TILES_URL": "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png"}).test_client()
    for url in ("/plans/kunming/", "/plans/kunming/grids/" + str(geo.read_plan(plan_path).grids["grid_code"].iloc[0])):
        html = client.get(url).get_data(as_text=True)
        links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
        assert links and all(link.startswith("/static/") or link.startswith("data:") for link in links), links
        assert "cdn.jsdelivr" not in html and "openstreetmap.org" not in html
        assert "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png" in html
        for link in links:
            if link.startswith("/static/"):
                with client.get(link) as resp:
                    assert resp.status_code == 200, link


def test_offline_mode_refuses_to_start_without_assets(plan_path, monkeypatch, tmp_path):
    import app as app_module

    monkeypatch.setattr(app_module, "VENDOR_DIR", tmp_path / "vendor")
    with pytest.raises(GridplanError, match="app.vendor"):
        create_app({"PLANS": [str(plan_path)], "OFFLINE": True})


def test_serving_a_folder_and_missing_plans(tmp_path, plan_path):
    app = create_app({"PLANS": [str(plan_path.parent)]})
    assert list(app.config["PLAN_FILES"]) == ["kunming"]
    with pytest.raises(PlanFileError, match="no such plan file"):
        create_app({"PLANS": [str(tmp_path / "missing.gpkg")]})
    with pytest.raises(PlanFileError, match="no plan files"):
        create_app({"PLANS": [str(tmp_path)]})


def test_warm_renders_the_pages_before_serving(plan_path):
    from app.wsgi import warm

    app = create_app({"TESTING": True, "PLANS": [str(plan_path)], "PUBLIC_MAP": True})  # warms the public pages
    assert warm(app) == 4 * 4  # anonymous, viewer, editor, admin
    kinds = {key[0] for key in app.extensions["gridplan_cache"].items}
    assert {"plan", "community", "grids.geojson", "buildings.geojson"} <= kinds


def test_warm_every_grid_in_forked_processes(tiny_plan, tmp_path):
    from app.wsgi import warm

    plan = geo.Plan(buildings=tiny_plan.buildings, grids=tiny_plan.grids, meta=dict(tiny_plan.meta))
    app = create_app({"TESTING": True, "PLANS": [str(geo.write_plan(plan, tmp_path / "tiny.gpkg"))], "PUBLIC_MAP": True})
    n = warm(app, grids=True, processes=2)
    assert n == 4 * 4 + 2 * len(plan.grids)
    pages = {key[3] for key in app.extensions["gridplan_cache"].items if key[0] == "grid"}
    cards = {key[4] for key in app.extensions["gridplan_cache"].items if key[0] == "json" and key[1] == "grid"}
    assert pages == set(plan.grids.index) == cards  # drawn in the forks, kept by the parent


def test_serve_command_options():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    for option in ("--online", "--offline", "--production", "--basemap", "--workers", "--tiles-url", "--tianditu-key"):
        assert option in result.output


@pytest.mark.parametrize("fixture", ["suzhou_buildings", "kotka_buildings"])
def test_to_lonlat_is_to_crs_4326_from_a_new_thread_too(fixture, request):
    """The pipeline transformer of the web maps gives what geopandas' to_crs gives, in any thread."""
    import threading

    from maps.web.geojson import to_lonlat

    buildings = request.getfixturevalue(fixture)
    expected = shapely.get_coordinates(buildings.to_crs(4326).geometry.values)
    out = {}
    thread = threading.Thread(target=lambda: out.update(frame=to_lonlat(buildings)))
    thread.start()
    thread.join()
    assert out["frame"].crs.equals(4326) and out["frame"].index.equals(buildings.index)
    np.testing.assert_allclose(shapely.get_coordinates(out["frame"].geometry.values), expected, rtol=0, atol=1e-9)
    assert to_lonlat(out["frame"]) is out["frame"]
    with pytest.raises(ValueError, match="no CRS"):
        to_lonlat(buildings.set_crs(None, allow_override=True))


def test_displayed_grid_outlines_cut_no_building(suzhou_plan_path):
    """The web map's grid outlines are simplified (2 m) for size, but never through a building: a
    footprint sticks out of its displayed grid no more than rounding to 6 decimals (~0.1 m) alone
    makes it, where plain coverage simplification cuts corners off buildings."""
    from maps.web.geojson import display_geometry

    plan = geo.read_plan(suzhou_plan_path)
    grids = plan.grids[["geometry"]]

    def outside(frame):
        shown = frame.to_crs(plan.crs).geometry.reindex(plan.buildings["grid_id"].astype(str)).values
        return shapely.area(shapely.difference(plan.buildings.geometry.values, shown))

    rounding = outside(display_geometry(grids, tolerance=0.0, coverage=True))  # not simplified: the floor
    plain = outside(display_geometry(grids, tolerance=2.0, coverage=True))
    kept_frame = display_geometry(grids, tolerance=2.0, coverage=True, keep=plan.buildings.geometry)
    kept = outside(kept_frame)
    assert plain.max() > 2 * rounding.max() and (plain > 1.0).sum() > 2 * (rounding > 1.0).sum()
    assert kept.max() <= rounding.max() + 0.1 and (kept > 1.0).sum() <= (rounding > 1.0).sum()
    assert shapely.is_valid(kept_frame.geometry.values).all() and set(kept_frame.geom_type) == {"Polygon"}
    assert shapely.get_num_coordinates(kept_frame.geometry.values).sum() < \
        0.3 * shapely.get_num_coordinates(grids.geometry.values).sum()


def test_grid_page_names_buildings_by_name_or_address_never_by_id(client, plan):
    """Buildings are listed by their name (with their compound) where the data has one, else "–"
    beside their number; their ids (OSM way ids here) are not on the page."""
    from tests.textcheck import visible_text

    named = plan.buildings[plan.buildings["name"].fillna("").str.strip() != ""]
    bid = named.index[0]
    grid_id = plan.buildings.at[bid, "grid_id"]
    code = plan.grids.at[grid_id, "grid_code"]
    html = client.get(f"/plans/kunming/grids/{code}").get_data(as_text=True)
    page = visible_text(html)
    expected = str(named.at[bid, "name"]).strip()
    compound = str(named.at[bid, "community"])
    assert (expected if compound in expected else f"{compound} {expected}") in page
    for b in plan.buildings.index[plan.buildings["grid_id"] == grid_id]:
        assert str(b) not in page
