"""The planner's editor page (``/plans/<name>/edit``) in headless Chromium, on a copy of the Suzhou demo plan.

An ``editor`` signs in through the login form and, with real mouse clicks on the map, moves a
building to a neighbouring grid and sees the two grids' households change by the building's
households; a move that would break its grid apart is refused with the reason and changes
nothing; undo and redo; a grid is split (another cut asked, rejected, the engine's cut accepted)
and two neighbours merged, the engine re-run on the merged grid;
the plan is saved with a comment, the version list shows the buildings moved, and version 1 is
restored — on disk too — after the page asked whether to drop an unsaved edit (cancelled once).
The app runs offline (vendored Leaflet, no basemap) as in ``tests/test_browser.py``; the page
makes no request outside 127.0.0.1. Screenshot: ``tests/artifacts/editor.png``.
"""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from types import SimpleNamespace
from urllib.parse import urlsplit

import geopandas as gpd
import networkx as nx
import pytest
import shapely

import geo
from partitioning.codes import short_code
from partitioning.diff import diff_plans
from partitioning.editing import (
    EditError,
    edit_graph,
    merge_grids,
    move_buildings,
    split_grid,
)
from tests.browser import ARTIFACTS, CHROMIUM_ARGS, chromium, chromium_path, serving
from tests.textcheck import leaks

PASSWORD = "correct-horse-1"


@contextmanager
def _serve(source, tmp):
    """The offline app on a copy of plan ``source`` in ``tmp`` (its own users and versions databases),
    served by werkzeug in a thread; users ``editor``, ``admin`` and ``viewer``."""
    from app import create_app, missing_assets
    from app.auth import add_user

    if missing_assets():
        pytest.fail("vendored assets missing: run `python -m app.vendor` (make venv does)")
    plan = tmp / "suzhou.gpkg"
    shutil.copy(source, plan)
    users = tmp / "users.sqlite"
    for role in ("editor", "admin", "viewer"):
        add_user(users, role, PASSWORD, role=role)
    app = create_app({"TESTING": True, "PLANS": [str(plan)], "OFFLINE": True, "USERS_DB": str(users),
                      "VERSIONS_DB": str(tmp / "versions.sqlite")})
    with serving(app) as url:
        yield SimpleNamespace(url=url, plan=plan, app=app)


@pytest.fixture(scope="module")
def served(suzhou_plan_path, tmp_path_factory):
    with _serve(suzhou_plan_path, tmp_path_factory.mktemp("editor-browser")) as app:
        yield app


@pytest.fixture(scope="module")
def contested(suzhou_plan_path, tmp_path_factory):
    """Another server, on another copy: two editors' concurrent saves."""
    with _serve(suzhou_plan_path, tmp_path_factory.mktemp("editor-conflict")) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    with chromium(chromium_path(), CHROMIUM_ARGS) as browser:
        yield browser


# --- what the test does on the plan, found in Python --------------------------------------------

def _lonlat(geom, crs) -> tuple[float, float]:
    point = gpd.GeoSeries([geom.representative_point()], crs=crs).to_crs(4326).iloc[0]
    return float(point.x), float(point.y)


def _open_spot(plan: geo.Plan, grid_id) -> tuple[float, float]:
    """A point of the grid away from every building (a click there hits the grid, not a building)."""
    grid = plan.grids.geometry[grid_id]
    near = plan.buildings.geometry[plan.buildings.intersects(grid.buffer(5))]
    free = grid.difference(shapely.union_all(near.buffer(2.0).values)).buffer(-1.5)
    parts = shapely.get_parts(free)
    assert len(parts), f"grid {grid_id} has no room between its buildings"
    return _lonlat(max(parts, key=lambda part: part.area), plan.grids.crs)


@pytest.fixture(scope="module")
def story(served):
    """The edits the test makes, checked to be accepted (or refused) by :mod:`partitioning.editing`:
    a big building that can move to a neighbouring grid, one whose move breaks its grid apart, a
    grid to split and two neighbouring grids to merge (all different grids)."""
    plan = geo.read_plan(served.plan)
    graph = edit_graph(plan)
    grid = plan.buildings["grid_id"].astype(str)
    members = grid.groupby(grid).groups
    ok = breaking = None
    for u in plan.buildings.geometry.area.sort_values(ascending=False).index:  # big footprints: easy to click
        if ok and breaking:
            break
        if any(graph[u][v].get("overlap") for v in graph[u]):
            continue
        rest = [b for b in members[grid[u]] if b != u]
        intact = bool(rest) and nx.is_connected(graph.subgraph(rest))
        for v in sorted(graph[u], key=str):
            if grid[v] == grid[u]:
                continue
            if ok is None and intact and len(rest) >= 2:
                ok = (u, grid[u], grid[v], move_buildings(plan, graph, [u], grid[v]).plan)
            elif breaking is None and ok and rest and not intact and {grid[u], grid[v]}.isdisjoint(ok[1:3]):
                with pytest.raises(EditError, match="fall apart"):
                    move_buildings(plan, graph, [u], grid[v])
                breaking = (u, grid[u], grid[v])
            break
    assert ok and breaking
    building, source, target, moved = ok
    touched = {source, target, *breaking[1:]}
    # the grid with the most households that is neither touched nor too small to cut
    splittable = moved.grids[(moved.grids["n_buildings"] >= 6) & ~moved.grids.index.isin(touched)]
    to_split = splittable["households"].idxmax()
    cut = split_grid(moved, graph, to_split, seed=0)
    other = split_grid(moved, graph, to_split, seed=1)  # "Another cut": the first other cut
    assert not other.plan.buildings["grid_id"].equals(cut.plan.buildings["grid_id"])
    cuts = [[int(c.plan.grids.at[g, "households"]) for g in (to_split, *(set(c.changed) - {to_split}))]
            for c in (cut, other)]
    touched |= set(cut.changed)
    pairs = sorted({tuple(sorted((grid[a], grid[b]))) for a, b in graph.edges
                    if grid[a] != grid[b] and not {grid[a], grid[b]} & touched})
    pair = next(p for p in pairs if cut.plan.grids.loc[list(p), "n_buildings"].min() >= 3)
    return SimpleNamespace(
        plan=plan, building=building, source=source, target=target,
        households=int(plan.buildings.at[building, "households"]),
        building_at=_lonlat(plan.buildings.geometry[building], plan.buildings.crs),
        breaking=breaking, breaking_at=_lonlat(plan.buildings.geometry[breaking[0]], plan.buildings.crs),
        target_at=_open_spot(plan, target), to_split=to_split, split_at=_open_spot(plan, to_split),
        cuts=cuts,  # households of the two halves (the kept grid first): the first cut, another cut
        merge=pair, merge_at=[_open_spot(plan, g) for g in pair], merged=merge_grids(cut.plan, graph, *pair).plan)


# --- driving the page ---------------------------------------------------------------------------

_CLICK_JS = """([lon, lat, zoom]) => {
    const cfg = JSON.parse(document.getElementById('gp-editor-config').textContent);
    const map = window[cfg.map];
    if (zoom !== null) map.setView([lat, lon], zoom, {animate: false});
    const p = map.latLngToContainerPoint([lat, lon]);
    const size = map.getSize();
    if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) throw new Error('point off the map: ' + p);
    const r = map.getContainer().getBoundingClientRect();
    return [r.left + p.x, r.top + p.y];
}"""


def _click_map(page, lonlat, *, zoom=None, key=None) -> None:
    """A real mouse click on the map at ``lonlat`` (after centring the map there at ``zoom``)."""
    x, y = page.evaluate(_CLICK_JS, [lonlat[0], lonlat[1], zoom])
    if key:
        page.keyboard.down(key)
    page.mouse.click(x, y)
    if key:
        page.keyboard.up(key)


def _idle(page) -> None:
    page.wait_for_function("document.getElementById('ed-panel').getAttribute('aria-busy') === 'false'")


def _text(page, selector: str) -> str:
    return page.locator(selector).inner_text().strip()


def _change(page, grid_id) -> tuple[int, int]:
    row = f"#ed-changes tr[data-grid='{grid_id}']"
    return int(_text(page, f"{row} .ed-before")), int(_text(page, f"{row} .ed-after"))


def _wait_text(page, selector: str, value: str) -> None:
    page.wait_for_function("([s, v]) => { const e = document.querySelector(s); return e && e.textContent.trim() === v; }",
                           arg=[selector, value])


def _open_editor(browser, server: str, user: str):
    """A new browser context on the editor page: the page sends the anonymous visitor to the login
    form, ``user`` signs in there and comes back to the editor."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("requestfailed", lambda r: page.errors.append(f"failed: {r.url}"))
    page.goto(f"{server}/plans/suzhou/edit")
    page.wait_for_url(re.compile(r"/login\?next=/plans/suzhou/edit"))
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/plans/suzhou/edit")
    page.wait_for_function("document.getElementById('ed-panel').dataset.ready === 'true'")
    return context, page


def _move(page, s) -> None:
    """Select the story's building with a click on the map and move it to its target grid."""
    _click_map(page, s.building_at, zoom=19)
    page.wait_for_selector(f"#ed-target option[value='{s.target}']", state="attached")
    page.select_option("#ed-target", s.target)
    page.click("#ed-move")


def test_a_planner_moves_splits_merges_saves_and_restores(browser, served, story):
    server, s = served.url, story
    context, page = _open_editor(browser, server, "editor")
    try:
        assert _text(page, "#ed-n-grids") == str(len(s.plan.grids))
        assert _text(page, "#ed-base-version") == "1" and _text(page, "#ed-unsaved") == "0"
        assert page.locator("#ed-undo").is_disabled()

        # 1. select the building with a click on the map; the move targets come from the server
        codes = s.plan.grids["grid_code"].astype(str)
        hh = {g: int(s.plan.grids.at[g, "households"]) for g in (s.source, s.target)}
        _click_map(page, s.building_at, zoom=19)
        page.wait_for_selector(f"#ed-target option[value='{s.target}']", state="attached")
        assert page.locator("#ed-sel-ids").get_attribute("data-ids") == s.building
        assert _text(page, "#ed-sel-ids") == ""  # Suzhou's buildings have no names: their ids are not shown
        assert page.locator("#ed-sel-summary").get_attribute("data-households") == str(s.households)
        assert f"{short_code(codes[s.source])} ({hh[s.source]})" in _text(page, "#ed-sel-from")
        assert s.source not in _text(page, "#ed-panel")
        option = page.locator(f"#ed-target option[value='{s.target}']")
        assert option.get_attribute("data-households") == str(hh[s.target])
        page.select_option("#ed-target", s.target)
        page.click("#ed-move")
        _wait_text(page, "#ed-unsaved", "1")
        # the households shown for both grids changed by exactly the building's households
        assert _change(page, s.source) == (hh[s.source], hh[s.source] - s.households)
        assert _change(page, s.target) == (hh[s.target], hh[s.target] + s.households)
        assert "ms" in _text(page, "#ed-latency") and page.locator("#ed-undo").is_enabled()
        assert page.locator("#ed-sel-ids").get_attribute("data-ids") == ""  # the moved building left the selection

        # 2. a move that breaks a grid apart is refused with the reason; nothing changes
        _, b_source, b_target = s.breaking
        _click_map(page, s.breaking_at, zoom=19)
        page.wait_for_selector(f"#ed-target option[value='{b_target}']", state="attached")
        page.select_option("#ed-target", b_target)
        page.click("#ed-move")
        page.wait_for_selector("#ed-alert:not([hidden])")
        alert = _text(page, "#ed-alert")
        assert alert.startswith("拒绝") and "将断开成" in alert  # the reason, in Chinese
        number = short_code(s.plan.grids.at[b_source, "grid_code"])
        assert f"网格 {number} 将断开成" in alert and b_source not in alert  # the grid's number, not its id
        _idle(page)
        assert _text(page, "#ed-unsaved") == "1"
        assert _change(page, s.target) == (hh[s.target], hh[s.target] + s.households)  # still the last change
        page.click("#ed-clear")

        # 3. undo (button) and redo (Ctrl+Y)
        page.click("#ed-undo")
        _wait_text(page, "#ed-unsaved", "0")
        assert _change(page, s.target) == (hh[s.target] + s.households, hh[s.target])
        assert page.locator("#ed-redo").is_enabled()
        page.keyboard.press("Control+y")
        _wait_text(page, "#ed-unsaved", "1")
        assert _change(page, s.source) == (hh[s.source], hh[s.source] - s.households)

        # a box drawn with Shift-drag selects the buildings in it; Esc clears the selection
        x, y = page.evaluate(_CLICK_JS, [*s.building_at, 19])
        page.keyboard.down("Shift")
        page.mouse.move(x - 150, y - 150)
        page.mouse.down()
        page.mouse.move(x + 150, y + 150, steps=5)
        page.mouse.up()
        page.keyboard.up("Shift")
        page.wait_for_function("b => document.getElementById('ed-sel-ids').dataset.ids.split(',').includes(b)",
                               arg=s.building)
        assert len(page.locator("#ed-sel-ids").get_attribute("data-ids").split(",")) > 1
        assert _text(page, "#ed-n-grids") == str(len(s.plan.grids))
        page.keyboard.press("Escape")
        page.wait_for_function("document.getElementById('ed-sel-ids').dataset.ids === ''")

        # 4. split a grid: the engine proposes a cut; another cut, reject, split again and accept
        def proposal():
            page.wait_for_selector("#ed-proposal:not([hidden])")
            _idle(page)
            return [int(n) for n in re.findall(r"（(\d+) 户）", _text(page, "#ed-proposal-text"))]

        _click_map(page, s.split_at, zoom=18)
        page.wait_for_selector(f"#ed-grid-table tr[data-grid='{s.to_split}']")
        page.click("#ed-split")
        assert proposal() == s.cuts[0] and _text(page, "#ed-unsaved") == "2"
        page.click("#ed-another")  # undo, and the next other cut
        assert proposal() == s.cuts[1] and _text(page, "#ed-unsaved") == "2"
        page.click("#ed-reject")  # undo
        page.wait_for_selector("#ed-proposal", state="hidden")
        _wait_text(page, "#ed-unsaved", "1")
        assert _text(page, "#ed-n-grids") == str(len(s.plan.grids))
        page.click("#ed-split")
        assert proposal() == s.cuts[0]
        _shot(page)
        page.click("#ed-accept")
        assert page.locator("#ed-proposal").is_hidden()
        assert _text(page, "#ed-n-grids") == str(len(s.plan.grids) + 1) and _text(page, "#ed-unsaved") == "2"

        # 5. merge two neighbouring grids: click one, Shift-click the other
        a, b = s.merge
        page.evaluate(_CLICK_JS, [(s.merge_at[0][0] + s.merge_at[1][0]) / 2, (s.merge_at[0][1] + s.merge_at[1][1]) / 2, 18])
        _click_map(page, s.merge_at[0])
        page.wait_for_selector(f"#ed-grid-table tr[data-grid='{a}']")
        _click_map(page, s.merge_at[1], key="Shift")
        page.wait_for_selector(f"#ed-grid-table tr[data-grid='{b}']")
        page.click("#ed-merge")
        _wait_text(page, "#ed-unsaved", "3")
        assert _text(page, "#ed-n-grids") == str(len(s.plan.grids))
        assert _change(page, a)[1] == int(s.merged.grids.at[a, "households"])
        # the merged-away grid is named by its number in the change table, not by its id (G0610)
        gone = page.locator(f"#ed-changes tr[data-grid='{b}'] td").first.inner_text().strip()
        assert gone == short_code(s.plan.grids.at[b, "grid_code"]) and b not in _text(page, "#ed-changes")

        # 5b. re-run the engine on the merged grid alone (still selected): its households stay in the
        # grids it becomes, and no other grid changes
        page.wait_for_selector(f"#ed-grid-table tr[data-grid='{a}']")
        page.click("#ed-rerun")
        _wait_text(page, "#ed-unsaved", "4")
        rows = page.locator("#ed-changes tr[data-grid]")
        assert a in rows.evaluate_all("rs => rs.map(r => r.dataset.grid)")
        assert sum(int(x) for x in rows.locator(".ed-after").all_inner_texts()) == int(s.merged.grids.at[a, "households"])

        # 6. save with a comment: version 2 on disk, its diff in the version list
        page.fill("#ed-comment", "按小区围墙调整 <b>1</b>")
        page.click("#ed-save-btn")
        page.wait_for_selector("#ed-info[data-saved='2']")
        page.wait_for_selector("#ed-versions li[data-version='2']")
        saved = geo.read_plan(served.plan)
        assert saved.buildings.at[s.building, "grid_id"] == s.target
        expected = diff_plans(s.plan, saved).summary()["buildings_moved"]
        assert expected > 1
        item = page.locator("#ed-versions li[data-version='2']")
        assert item.locator(".ed-moved-count").get_attribute("data-moved") == str(expected)
        assert "按小区围墙调整 <b>1</b>" in item.inner_text()  # the comment shown as text
        first = page.locator("#ed-versions li[data-version='1']").inner_text()
        assert "方案文件" in first and "plan file" not in first  # version 1 said in Chinese
        versions = page.locator("#ed-versions").text_content()  # the moved buildings' list too (collapsed)
        assert not re.search(r"\b[GB]\d{4,}\b", versions), versions  # moved buildings and grids, no ids
        panel = page.locator("#ed-panel").inner_text()
        assert not leaks(panel), leaks(panel)  # the whole panel: numbers, names and words only
        assert _text(page, "#ed-base-version") == "2" and _text(page, "#ed-unsaved") == "0"

        # 7. restore version 1 with an unsaved edit (a lock): the page asks first; cancelled, nothing
        # happens; confirmed, a new version 3, and the plan file has version 1's grids again
        _click_map(page, s.target_at, zoom=18)
        page.wait_for_selector(f"#ed-grid-table tr[data-grid='{s.target}']")
        page.click("#ed-lock")
        _wait_text(page, "#ed-unsaved", "1")
        asked = []

        def answer(dialog, accept):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        page.once("dialog", lambda d: answer(d, False))
        page.click("#ed-versions li[data-version='1'] button.ed-restore")
        _idle(page)
        assert len(asked) == 1 and "恢复版本 1" in asked[0]
        assert _text(page, "#ed-unsaved") == "1" and _text(page, "#ed-base-version") == "2"
        assert geo.read_plan(served.plan).buildings["grid_id"].equals(saved.buildings["grid_id"])
        page.once("dialog", lambda d: answer(d, True))
        page.click("#ed-versions li[data-version='1'] button.ed-restore")
        page.wait_for_selector("#ed-info[data-saved='3']")
        assert len(asked) == 2
        page.wait_for_selector("#ed-versions li[data-version='3']")
        restored = geo.read_plan(served.plan)
        assert restored.buildings["grid_id"].astype(str).equals(s.plan.buildings["grid_id"].astype(str))
        assert _text(page, "#ed-n-grids") == str(len(s.plan.grids))
        assert page.errors == []
        hosts = {urlsplit(u).hostname for u in page.requests if not u.startswith("data:")}
        assert hosts == {"127.0.0.1"}, sorted(u for u in page.requests if urlsplit(u).hostname != "127.0.0.1")
    finally:
        context.close()


def test_a_stale_save_is_refused_and_the_edits_reapplied_on_the_latest_version(browser, contested, story):
    """Two editors on one plan: the admin opens the editor from the grid page of the grid the editor's
    move goes to, locks it and saves first.
    The editor's page then shows the newer version; its save is refused with the conflict, and
    "reload and re-apply" starts again on the admin's version, listing the move as refused."""
    server, s = contested.url, story
    (context, editor), (context2, admin) = _open_editor(browser, server, "editor"), _open_editor(browser, server, "admin")
    try:
        _move(editor, s)
        _wait_text(editor, "#ed-unsaved", "1")
        # the admin comes from the target grid's page through its "edit" link: the editor opens on that grid
        admin.goto(f"{server}/plans/suzhou/grids/{s.plan.grids.at[s.target, 'grid_code']}")
        admin.click("a[href*='/edit#grid=']")
        admin.wait_for_url(re.compile(rf"/plans/suzhou/edit#grid={s.target}$"))
        admin.wait_for_function("document.getElementById('ed-panel')?.dataset.ready === 'true'")
        admin.wait_for_selector(f"#ed-grid-table tr[data-grid='{s.target}']")
        assert admin.locator("#ed-grid-table tr[data-grid]").count() == 1
        admin.click("#ed-lock")
        _wait_text(admin, f"#ed-grid-table tr[data-grid='{s.target}'] td:last-child", "是")
        admin.click("#ed-save-btn")
        admin.wait_for_selector("#ed-info[data-saved='2']")

        assert editor.locator("#ed-newer").is_hidden()
        editor.evaluate("window.dispatchEvent(new Event('focus'))")  # the editor comes back to the window
        _wait_text(editor, "#ed-latest-version", "2")
        assert editor.locator("#ed-newer").is_visible() and "2" in _text(editor, "#ed-newer")
        editor.click("#ed-undo")  # an edit after the other save: the conflict comes with the save
        _wait_text(editor, "#ed-unsaved", "0")
        editor.keyboard.press("Control+y")
        _wait_text(editor, "#ed-unsaved", "1")
        editor.click("#ed-save-btn")
        editor.wait_for_selector("#ed-conflict:not([hidden])")
        assert _text(editor, "#ed-conflict-text").startswith("保存冲突")
        on_disk = geo.read_plan(contested.plan)  # the admin's version, untouched by the refused save
        assert on_disk.buildings.at[s.building, "grid_id"] == s.source and on_disk.grids.at[s.target, "locked"] == 1

        editor.click("#ed-reload")
        editor.wait_for_selector("#ed-refused li")
        assert "已锁定" in _text(editor, "#ed-refused") and _text(editor, "#ed-refused li").startswith("移动楼栋")
        assert _text(editor, "#ed-base-version") == "2" and _text(editor, "#ed-unsaved") == "0"
        assert editor.locator("#ed-newer").is_hidden()
        assert editor.errors == [] and admin.errors == []
    finally:
        context.close()
        context2.close()


def _shot(page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor.png"), full_page=False)


def test_only_editors_see_the_editor(served):
    """Anonymous → the login form (with ``next``); a viewer → 404 and no link; an editor → the page
    and a link on the community and grid pages, in Chinese or English."""
    from app import create_app
    from tests.test_app import signed_in

    app = served.app
    anonymous = app.test_client().get("/plans/suzhou/edit")
    assert anonymous.status_code == 302 and "/login?next=/plans/suzhou/edit" in anonymous.location
    public = create_app({**{k: app.config[k] for k in ("TESTING", "PLANS", "USERS_DB", "VERSIONS_DB")},
                         "PUBLIC_MAP": True})  # the maps open to anonymous visitors: the editor is not
    anonymous = public.test_client().get("/plans/suzhou/edit")
    assert anonymous.status_code == 302 and "/login?next=/plans/suzhou/edit" in anonymous.location
    viewer = signed_in(app, "viewer", password=PASSWORD)
    assert viewer.get("/plans/suzhou/edit").status_code == 404
    assert "编辑网格" not in viewer.get("/plans/suzhou/").get_data(as_text=True)
    editor = signed_in(app, "editor", password=PASSWORD)
    page = editor.get("/plans/suzhou/edit").get_data(as_text=True)
    assert "网格编辑" in page and '<script type="module" src="/static/editor/main.js">' in page and 'id="ed-alert" class="ed-alert" role="alert"' in page
    assert "Grid editor" in editor.get("/plans/suzhou/edit?lang=en").get_data(as_text=True)
    assert "/plans/suzhou/edit" in editor.get("/plans/suzhou/?lang=zh").get_data(as_text=True)
    amap = create_app({**{k: app.config[k] for k in ("TESTING", "PLANS", "USERS_DB", "VERSIONS_DB")},
                       "BASEMAP": "amap", "OFFLINE": False})  # GCJ-02 tiles (online): GeoJSON shifted to match
    assert '"datum": "gcj02"' in signed_in(amap, "editor", password=PASSWORD).get("/plans/suzhou/edit").get_data(
        as_text=True)
    assert '"datum": "wgs84"' in page
    code = str(geo.read_plan(served.plan).grids["grid_code"].iloc[0])
    assert "/plans/suzhou/edit#grid=" in editor.get(f"/plans/suzhou/grids/{code}").get_data(as_text=True)
