"""The pages in a real browser: Debian's headless Chromium driven by Playwright.

The app runs offline (vendored assets, no basemap) on 127.0.0.1 in a thread; every request the
browser makes is logged. Screenshots are saved to ``tests/artifacts/`` (``community_map.png``,
``grid_battle_map.png``, ``grid_battle_map_phone.png``, ``search_result.png``).

Without Chromium these tests are skipped, except in CI (see ``tests/browser.py``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import shapely

import geo
from partitioning.codes import short_code
from tests.browser import ARTIFACTS, CHROMIUM_ARGS, chromium, chromium_path, serving
from tests.plans import XSS
from tests.textcheck import leaks


@pytest.fixture(scope="module")
def server(plan_path, tmp_path_factory):
    """The offline app on a free loopback port, served by werkzeug in a thread; one viewer account."""
    from app import create_app, missing_assets
    from app.auth import add_user

    if missing_assets():
        pytest.fail("vendored assets missing: run `python -m app.vendor` (make venv does)")
    db = tmp_path_factory.mktemp("users") / "users.sqlite"
    add_user(db, "viewer", "correct-horse-1", role="viewer")
    app = create_app({"TESTING": True, "PLANS": [str(plan_path)], "OFFLINE": True, "USERS_DB": str(db)})
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium(chromium_path(), CHROMIUM_ARGS) as browser:
        yield browser


def _sign_in(page, server: str) -> None:
    """Through the login form, as a person would (the form carries its CSRF token)."""
    page.goto(f"{server}/login")
    page.fill("input[name=username]", "viewer")
    page.fill("input[name=password]", "correct-horse-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server)
    page.requests, page.errors = [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("requestfailed", lambda r: page.errors.append(f"failed: {r.url}"))
    yield page
    context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def test_community_map_shows_the_grids(page, server, plan_path):
    plan = geo.read_plan(plan_path)
    _open(page, f"{server}/plans/kunming/")
    # every grid is an interactive path; the footprints are fetched from the API and drawn too
    n_paths = page.locator("path.leaflet-interactive").count()
    assert n_paths >= len(plan.grids)
    assert page.locator("path").count() >= len(plan.grids) + len(plan.buildings)
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    assert page.locator(".leaflet-control-measure").count() == 1
    assert "同时测量距离和面积" in page.locator(".leaflet-control-measure").inner_html()  # its Chinese build
    assert page.locator(".leaflet-control-locate").count() == 1
    assert page.locator(".leaflet-control-scale").count() == 1
    assert "网格" in page.title() and page.errors == []
    _shot(page, "community_map.png")


def test_clicking_a_grid_opens_its_battle_map(page, server, plan_path):
    plan = geo.read_plan(plan_path)
    grid_id = plan.grids.area.idxmax()  # the largest grid: easy to hit
    code = str(plan.grids.at[grid_id, "grid_code"])
    inside = shapely.get_coordinates(
        plan.grids.loc[[grid_id]].geometry.representative_point().to_crs(4326).values)[0]
    _open(page, f"{server}/plans/kunming/")
    xy = page.evaluate("""([lon, lat]) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const p = map.latLngToContainerPoint([lat, lon]);
        const r = map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
    }""", [float(inside[0]), float(inside[1])])
    page.mouse.click(*xy)
    page.wait_for_url(f"**/plans/kunming/grids/{code}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#grid-card").inner_text().count(code) >= 1
    assert f"网格作战图 {short_code(code)}" in page.locator("header").inner_text()
    shown = page.locator("body").inner_text()
    assert not leaks(shown), leaks(shown)  # no key, no G0001 or building id in what Chromium shows
    assert not any(str(b) in shown for b in plan.buildings.index[plan.buildings["grid_id"] == grid_id])
    n_buildings = int(plan.grids.at[grid_id, "n_buildings"])
    assert page.locator(".gp-building-label").count() == n_buildings
    assert page.locator(".gp-buildings tbody tr").count() == n_buildings
    assert page.errors == []
    _shot(page, "grid_battle_map.png")


def test_search_finds_a_grid_by_code(page, server, plan_path):
    plan = geo.read_plan(plan_path)
    code = str(plan.grids["grid_code"].iloc[-1])
    _open(page, f"{server}/plans/kunming/")
    page.fill("form.gp-search input[name=q]", code)
    page.press("form.gp-search input[name=q]", "Enter")
    page.wait_for_url(f"**/plans/kunming/grids/{code}")
    page.wait_for_load_state("networkidle")
    assert short_code(code) in page.locator("#grid-card h2").inner_text()  # its number, as the map labels it
    assert code in page.locator("#grid-card").inner_text()  # the full code among the figures
    _shot(page, "search_result.png")


def test_battle_map_on_a_phone(browser, server, plan_path):
    plan = geo.read_plan(plan_path)
    code = str(plan.grids["grid_code"].iloc[0])
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, server)
    _open(page, f"{server}/plans/kunming/grids/{code}")
    assert page.locator(".leaflet-control-locate").is_visible()   # "locate me" on phones
    card = page.locator("#grid-card").bounding_box()
    map_box = page.locator(".gp-map").bounding_box()
    assert card["y"] >= map_box["y"] + map_box["height"] - 1        # the card goes under the map
    assert card["width"] > 300
    _shot(page, "grid_battle_map_phone.png")
    context.close()


def test_offline_pages_make_no_request_outside_127_0_0_1(page, server, plan_path):
    plan = geo.read_plan(plan_path)
    code = str(plan.grids["grid_code"].iloc[3])
    for url in ("/", "/plans/kunming/", f"/plans/kunming/grids/{code}", "/plans/kunming/search?q=金色",
                "/?lang=en", "/plans/kunming/?lang=en"):
        _open(page, server + url)
    hosts = {urlsplit(u).hostname for u in page.requests if not u.startswith("data:")}
    assert hosts == {"127.0.0.1"}, sorted(u for u in page.requests if urlsplit(u).hostname != "127.0.0.1")
    assert any("/static/vendor/leaflet@" in u for u in page.requests)
    assert any("fa-solid-900.woff2" in u for u in page.requests)  # the icon font comes from the app too
    assert page.errors == []


def test_a_script_in_a_roster_name_never_runs(browser, plan_file, tmp_path):  # noqa: F811
    """A building leader named ``<script>alert(1)</script>``: the grid page, its map tooltips and
    the community map show the text; no dialog opens and no script error happens."""
    from app import create_app
    from app.auth import add_user

    db = tmp_path / "users.sqlite"
    add_user(db, "editor", "correct-horse-1", role="editor")
    app = create_app({"TESTING": True, "PLANS": [str(plan_file)], "OFFLINE": True, "USERS_DB": str(db)})
    with serving(app) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = context.new_page()
        dialogs, errors = [], []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(f"{server}/login")
            page.fill("input[name=username]", "editor")
            page.fill("input[name=password]", "correct-horse-1")
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/")
            _open(page, f"{server}/plans/tiny/grids/320508001001001")
            assert XSS in page.locator("#grid-card").inner_text()  # shown as text
            for path in page.locator("path.leaflet-interactive").all():
                path.hover(force=True)  # opens the tooltips, which hold the leader's name
            _open(page, f"{server}/plans/tiny/")
            for path in page.locator("path.leaflet-interactive").all():
                path.hover(force=True)
            assert dialogs == [] and errors == []
        finally:
            context.close()


# --- offline by default: no internet, the page draws; scripts missing, the page says so ------------

def _cut_off(context) -> list[str]:
    """Take ``context`` off the internet: only 127.0.0.1 (and files, data:) answer; every request
    the pages make is recorded in the list returned."""
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname in
                  ("127.0.0.1", None, "") else route.abort("internetdisconnected"))
    return requests


def _left_localhost(requests) -> list[str]:
    return sorted(u for u in requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                  and urlsplit(u).hostname != "127.0.0.1")


_POLYGONS_JS = """() => {
    const map = Object.values(window).find(v => window.L && v instanceof L.Map);
    let n = 0;
    if (map) { map.eachLayer(l => { if (l instanceof L.Polygon) { n += 1; } }); }
    return n;
}"""


@pytest.fixture(scope="module")
def default_server(plan_path):
    """The app as `gridplan serve PLAN` makes it: no OFFLINE, no BASEMAP given (public map)."""
    from app import create_app

    app = create_app({"TESTING": True, "PLANS": [str(plan_path)], "PUBLIC_MAP": True})
    with serving(app) as url:
        yield url


def test_default_serve_draws_the_map_without_internet(browser, default_server, plan_path):
    plan = geo.read_plan(plan_path)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    requests, errors = _cut_off(context), []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        for url in ("/plans/kunming/", f"/plans/kunming/grids/{plan.grids['grid_code'].iloc[0]}"):
            _open(page, default_server + url)
            assert page.evaluate("typeof window.L") == "object"
            assert page.locator("path.leaflet-interactive").count() >= 1
            assert page.locator(".gp-scripts-failed").count() == 0
            assert "无底图" in page.locator(".gp-basemap-note").inner_text()  # a blank background, said so
        _open(page, default_server + "/plans/kunming/")
        assert page.locator("path.leaflet-interactive").count() >= len(plan.grids)
        assert _left_localhost(requests) == [] and errors == []
        _shot(page, "community_map_default_offline.png")
    finally:
        context.close()


def test_map_file_opens_from_disk_without_network(browser, plan_path, tmp_path):
    from click.testing import CliRunner

    from app.cli import cli

    plan = geo.read_plan(plan_path)
    out = tmp_path / "map.html"
    result = CliRunner().invoke(cli, ["map", str(plan_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    requests, errors = _cut_off(context), []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _open(page, out.as_uri())
        assert page.evaluate("typeof window.L") == "object"
        assert page.evaluate(_POLYGONS_JS) >= len(plan.grids) + len(plan.buildings)  # drawn on a canvas
        assert page.locator(".leaflet-overlay-pane canvas").count() >= 1
        assert page.locator(".gp-scripts-failed").count() == 0
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == [] and errors == []
        _shot(page, "map_file_offline.png")
    finally:
        context.close()


@pytest.mark.parametrize("lang, words", [("zh", ["地图脚本未能加载", "--online"]),
                                         ("en", ["did not load", "--online"])])
def test_a_page_whose_scripts_fail_says_so(browser, default_server, lang, words):
    """The vendored files answer 404 (a broken install): the page shows a notice, in its language."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    _cut_off(context)
    context.route("**/static/vendor/**", lambda route: route.fulfill(status=404, body="not found"))
    page = context.new_page()
    try:
        _open(page, f"{default_server}/plans/kunming/?lang={lang}")
        notice = page.locator(".gp-scripts-failed")
        assert notice.is_visible()
        for word in words:
            assert word in notice.inner_text()
        assert "leaflet.js" in notice.inner_text()  # names what did not load
        if lang == "zh":
            _shot(page, "scripts_failed.png")
    finally:
        context.close()


def test_an_online_map_file_without_network_says_so(browser, plan_path, tmp_path):
    from click.testing import CliRunner

    from app.cli import cli

    out = tmp_path / "online.html"
    assert CliRunner().invoke(cli, ["map", str(plan_path), "-o", str(out), "--online"]).exit_code == 0
    context = browser.new_context(locale="zh-CN")
    requests = _cut_off(context)
    page = context.new_page()
    try:
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        notice = page.locator(".gp-scripts-failed")
        assert notice.is_visible() and "gridplan map" in notice.inner_text()
        assert any("cdn.jsdelivr.net" in u for u in requests)  # --online: the CDN, as asked
    finally:
        context.close()


def test_unreachable_intranet_tiles_leave_the_grids_with_a_note(browser, plan_path):
    from app import create_app

    app = create_app({"TESTING": True, "PLANS": [str(plan_path)], "PUBLIC_MAP": True,
                      "TILES_URL": "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"})  # nothing listens on port 9
    with serving(app) as url:
        context = browser.new_context(locale="zh-CN")
        _cut_off(context)
        page = context.new_page()
        try:
            _open(page, f"{url}/plans/kunming/")
            page.wait_for_selector(".gp-basemap-note")
            assert "底图瓦片未能加载" in page.locator(".gp-basemap-note").inner_text()
            assert page.locator("path.leaflet-interactive").count() >= 1
        finally:
            context.close()
