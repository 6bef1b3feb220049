"""A planner makes a plan and updates its households in headless Chromium, with no command line.

An ``editor`` signs in, opens 新建方案 from the bar, uploads the Suzhou footprints as a zipped
Shapefile with the sample GBK ledger, reads the check report (ledger rows not matched, by line),
makes the plan and watches the progress bar until the page shows the plan's check (clean); then
opens 更新户数 for the new plan, uploads a changed ledger, sees the diff on the map and the list of
moved buildings, and accepts: the plan gets a new version by that editor. The app runs offline
(vendored Leaflet, no basemap), served by werkzeug in a thread; the page makes no request outside
127.0.0.1. Timings go to ``tests/artifacts/browser_newplan.md`` and the test's output.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import geo
from tests.browser import ARTIFACTS, CHROMIUM_ARGS, chromium, chromium_path, serving
from tests.test_newplan import LEDGER_CSV, cad_plan, changed_ledger, shapefile_zip  # noqa: F401 (fixtures)

PASSWORD = "correct-horse-1"
#: The timings of the last run (tests/artifacts/, not in git; the figures quoted in
#: tests/benchmarks/results/browser_newplan.md were copied from such a run).
RESULTS = ARTIFACTS / "browser_newplan.md"
#: Generous: the machine running the tests may be shared (the work is ~10-30 s).
WAIT_MS = 240_000


@pytest.fixture()
def served(cad_plan, tmp_path):  # noqa: F811 - the fixture of tests.test_newplan
    from app import create_app, missing_assets
    from app.auth import add_user

    if missing_assets():
        pytest.fail("vendored assets missing: run `python -m app.vendor` (make venv does)")
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(cad_plan, plans / "cad.gpkg")
    users = tmp_path / "users.sqlite"
    add_user(users, "planner", PASSWORD, role="editor")
    app = create_app({"TESTING": True, "PLANS": [str(plans)], "OFFLINE": True, "USERS_DB": str(users),
                      "VERSIONS_DB": str(tmp_path / "versions.sqlite")})
    with serving(app) as url:
        yield url, app


def test_a_planner_makes_a_plan_from_a_zip_and_a_ledger_then_accepts_an_update(served, shapefile_zip,  # noqa: F811
                                                                                tmp_path):
    from app.recount import version_store

    url, app = served
    timings = {}
    with chromium(chromium_path(), CHROMIUM_ARGS) as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page = context.new_page()
        requests, errors, fractions = [], [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: fractions.append(r.json()["fraction"])
                if "/jobs/" in r.url and r.url.endswith("/status") and r.ok else None)
        page.goto(f"{url}/new")
        page.wait_for_url(re.compile(r"/login\?next=/new"))
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/new")
        assert page.locator("a.gp-new").inner_text() == "新建方案"

        # step 1: upload and check
        t0 = time.perf_counter()
        page.set_input_files("input[name=footprints]", str(shapefile_zip))
        page.set_input_files("input[name=ledger]", str(LEDGER_CSV))
        page.fill("input[name=name]", "姑苏-新")
        page.click("#np-check")
        page.wait_for_selector("#np-report", timeout=WAIT_MS)
        timings["upload and check (report shown)"] = time.perf_counter() - t0
        report = page.locator("#np-report").inner_text()
        assert "尚未写入任何文件" in report and "3076" in report
        assert "未匹配" in report and "214" in page.locator("#np-problems").inner_text()  # line 214, '3273幢'
        assert page.locator("#np-ledger-key").input_value() == "楼栋号"
        assert not (Path(app.config["NEW_PLANS_DIR"]) / "姑苏-新.gpkg").exists()

        # step 2: make the plan, the progress bar moves, the check is clean
        t0 = time.perf_counter()
        page.click("#np-make")
        page.wait_for_selector("#np-progress", timeout=WAIT_MS)
        page.wait_for_selector("#np-made", timeout=WAIT_MS)
        timings["make the plan (progress bar to the plan's check)"] = time.perf_counter() - t0
        assert "校验通过" in page.locator("#np-check-result").inner_text()
        assert fractions and max(fractions) <= 1 and any(0 < f < 1 for f in fractions)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "newplan.png"))
        page.click("#np-open")
        page.wait_for_url(re.compile(r"/plans/.+/$"))
        path = app.config["PLAN_FILES"]["姑苏-新"]
        made = geo.read_plan(path)
        assert len(made.buildings) == 3076 and made.buildings["households_source"].eq("ledger").sum() > 1000

        # the update: a changed ledger, the diff on the map, accepted as a new version
        page.click("a.gp-recount")
        page.wait_for_selector("#np-recount")
        t0 = time.perf_counter()
        page.set_input_files("input[name=ledger]", str(changed_ledger(tmp_path)))
        page.click("#np-recount-start")
        page.wait_for_selector("#np-accept", timeout=WAIT_MS)
        page.wait_for_function("document.body.dataset.diffFeatures > 0", timeout=WAIT_MS)
        timings["upload a changed ledger (diff on the map)"] = time.perf_counter() - t0
        moves = page.locator("#np-moves tbody tr").count()
        assert moves == int(page.locator("#np-moved-count").inner_text()) > 0
        assert page.locator(".leaflet-interactive").count() > len(made.grids)  # grids and moved buildings drawn
        page.screenshot(path=str(ARTIFACTS / "newplan-update.png"))
        before = path.read_bytes()
        t0 = time.perf_counter()
        page.fill("input[name=comment]", "返迁后的新台账")
        page.click("#np-accept")
        page.wait_for_url(re.compile(r"/plans/.+/$"))
        timings["accept (saved as a version)"] = time.perf_counter() - t0
        context.close()
    assert path.read_bytes() != before
    with app.app_context():
        latest = version_store().versions("姑苏-新")[0]
    assert latest["author"] == "planner" and latest["comment"] == "返迁后的新台账" and latest["version"] == 2
    assert not errors, errors
    assert {urlsplit(u).hostname for u in requests} <= {"127.0.0.1"}
    lines = ["# Browser: a plan made and updated in Chromium (tests/test_newplan_browser.py)", "",
             "Suzhou footprints (3,076, zipped Shapefile) + the sample GBK ledger; update: 40 rows' households ×4.",
             "", "| step | seconds |", "|---|---:|", *[f"| {k} | {v:.1f} |" for k, v in timings.items()], "",
             f"moves listed: {moves}; measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
