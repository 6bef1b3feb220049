"""The drill-down pages in a real browser (Debian's headless Chromium, Playwright), cut off from the
internet: from the top of a synthetic city of streets and communities (``tests/drillplans.py``) to a
grid's battle map, and back up by the breadcrumbs. Screenshots go to ``tests/artifacts/``
(``drill_top.png``, ``drill_community.png``). Without Chromium the test is skipped, except in CI
(see ``tests/browser.py``)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest

import geo
from maps.web.drill import plan_units, unit_figures
from tests.browser import ARTIFACTS, CHROMIUM_ARGS, chromium, chromium_path, serving
from tests.drillplans import drill_plans


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return drill_plans(tmp_path_factory.mktemp("drillweb"))["levels"]


@pytest.fixture(scope="module")
def server(city, tmp_path_factory):
    from app import create_app, missing_assets

    if missing_assets():
        pytest.fail("vendored assets missing: run `python -m app.vendor` (make venv does)")
    db = tmp_path_factory.mktemp("users") / "users.sqlite"
    app = create_app({"TESTING": True, "PLANS": [str(city)], "OFFLINE": True, "PUBLIC_MAP": True,
                      "USERS_DB": str(db), "SECRET_KEY": "test-key"})
    with serving(app) as url:
        yield url


@pytest.fixture()
def page(server):
    with chromium(chromium_path(), CHROMIUM_ARGS) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        requests: list[str] = []
        context.on("request", lambda r: requests.append(r.url))
        context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).hostname in
                      ("127.0.0.1", None, "") else route.abort("internetdisconnected"))
        page = context.new_page()
        page.requests, page.errors = requests, []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page
        context.close()


def _drawn(page) -> int:
    """Waits for the page's script to draw the unit's children; their number."""
    page.wait_for_selector("body[data-drawn]", timeout=30_000)
    return int(page.get_attribute("body", "data-drawn"))


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_drill_from_the_top_to_a_grid_and_back(page, server, city):
    plan = geo.read_plan(city)
    units = plan_units(plan)
    streets = units.units[units.units["level"] == "street"]
    page.goto(f"{server}/plans/levels/units/")
    assert _drawn(page) == len(streets)
    rows = page.locator("#drill-table tbody tr")
    assert rows.count() == len(streets)
    assert page.locator("path.leaflet-interactive").count() == len(streets)
    _shot(page, "drill_top.png")

    # sort by households, largest first, then click the first row: that street's page
    page.locator("#drill-table th button", has_text="户数").click()  # numbers sort largest first
    first_code = rows.first.get_attribute("data-code")
    shown = [int(t.replace(",", "")) for t in page.locator("#drill-table tbody tr td:nth-child(2)").all_inner_texts()]
    assert shown == sorted(shown, reverse=True)
    households = unit_figures(plan, units).loc[streets.index, "households"]
    assert first_code == streets.at[households.idxmax(), "code"] and shown[0] == households.max()
    rows.first.click()
    page.wait_for_url(f"**/plans/levels/units/{first_code}")
    street = units.by_code(first_code)
    assert _drawn(page) == len(units.children(street)[1])
    assert page.locator("#drill-crumbs a").count() == 1  # the plan; the street itself is the current crumb

    # a community, by a click on its polygon on the map
    community_code = page.locator("#drill-table tbody tr").first.get_attribute("data-code")
    community = units.by_code(community_code)
    with page.expect_navigation():
        page.locator("path.leaflet-interactive").nth(
            [units.units.at[k, "code"] for k in units.children(street)[1]].index(community_code)).click(force=True)
    assert urlsplit(page.url).path == f"/plans/levels/units/{community_code}"
    grids = units.children(community)[1]
    assert _drawn(page) == len(grids)
    page.wait_for_selector("body[data-buildings]")  # the community's buildings, drawn under its grids
    in_grids = plan.buildings["grid_id"].astype(str).isin(grids).sum()
    assert int(page.get_attribute("body", "data-buildings")) == in_grids
    _shot(page, "drill_community.png")

    # a grid: its battle map, the page as it is
    grid_code = page.locator("#drill-table tbody tr").first.get_attribute("data-code")
    page.locator("#drill-table tbody tr").first.click()
    page.wait_for_url(f"**/plans/levels/grids/{grid_code}")
    assert unquote(urlsplit(page.url).path) == f"/plans/levels/grids/{grid_code}"
    page.go_back()
    assert _drawn(page) == len(grids)

    # back up by the breadcrumbs: the street, then the top
    crumbs = page.locator("#drill-crumbs a")
    assert crumbs.count() == 2
    crumbs.nth(1).click()
    page.wait_for_url(f"**/plans/levels/units/{first_code}")
    _drawn(page)
    page.locator("#drill-crumbs a").first.click()
    page.wait_for_url("**/plans/levels/units/")
    assert _drawn(page) == len(streets)

    assert page.errors == []
    hosts = {urlsplit(u).hostname for u in page.requests if urlsplit(u).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}
