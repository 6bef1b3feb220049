"""The 新建方案 and 更新户数 pages (app.newplan, app.recount, app.uploads, app.jobs) with Flask's test
client, on the bundled Suzhou footprints, its GBK ledger and its DXF drawing: every upload type,
every refusal, the jobs in their own processes, a failed job that leaves no plan, and an update
accepted as a version or discarded."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shutil
import signal
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

import geo
from app import create_app, jobs
from app.auth import read_audit
from app.cli import cli
from app.uploads import sniff
from tests.test_app import signed_in

DATA = Path(__file__).resolve().parents[1] / "data" / "suzhou_gusu"
BUILDINGS, LEDGER_CSV, LEDGER_XLSX, DXF = (DATA / n for n in ("buildings.geojson", "ledger.csv", "ledger.xlsx",
                                                              "cad.dxf"))
TIMEOUT = 240
#: Werkzeug's test client spools a multipart body over 500 kB to a temporary file it never closes
#: (werkzeug/test.py, stream_encode_multipart): the client's leak, not the app's.
pytestmark = pytest.mark.filterwarnings("ignore:Exception ignored in. <_io.FileIO:pytest.PytestUnraisableExceptionWarning")


# --- helpers ---------------------------------------------------------------------------------

def token(client, path="/new") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def upload(client, files: dict, **fields):
    """POST /new with ``files`` (field → path or (bytes, name)); the response."""
    data = {"csrf_token": token(client), **fields}
    for role, f in files.items():
        data[role] = (io.BytesIO(f[0]), f[1]) if isinstance(f, tuple) else (io.BytesIO(Path(f).read_bytes()), Path(f).name)
    return client.post("/new", data=data, content_type="multipart/form-data")


def job_id(resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    return resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]


def wait(client, jid: str) -> dict:
    """Poll the job's status (as the page does) until it ends."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < TIMEOUT:
        s = client.get(f"/jobs/{jid}/status").get_json()
        assert s is not None and 0 <= (s["fraction"] or 0) <= 1
        if s["state"] in ("done", "failed"):
            return s
        time.sleep(0.3)
    raise AssertionError(f"job {jid} did not end in {TIMEOUT} s")


def result(app, jid: str, step: str = "check") -> dict:
    return jobs.result(Path(app.config["JOBS_DIR"]) / jid, step)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def plan_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".gpkg" or p.name.startswith("."))


@pytest.fixture(scope="module")
def cad_plan(tmp_path_factory):
    """A small plan (the 40 footprints of the sample drawing) the test apps serve."""
    out = tmp_path_factory.mktemp("cad") / "cad.gpkg"
    r = CliRunner().invoke(cli, ["partition", str(DXF), "--crs", "EPSG:4549", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture()
def app(cad_plan, tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    shutil.copy(cad_plan, plans / "cad.gpkg")
    return create_app({"TESTING": True, "PLANS": [str(plans)], "USERS_DB": str(tmp_path / "users.sqlite"),
                       "VERSIONS_DB": str(tmp_path / "versions.sqlite")})


@pytest.fixture(scope="module")
def shapefile_zip(tmp_path_factory) -> Path:
    """The Suzhou footprints as a zipped Shapefile (.shp .shx .dbf .prj .cpg), as a survey hands it over."""
    folder = tmp_path_factory.mktemp("shp")
    gpd.read_file(BUILDINGS).to_file(folder / "楼栋.shp", encoding="UTF-8")
    out = folder / "footprints.zip"
    with zipfile.ZipFile(out, "w") as z:
        for part in sorted(folder.glob("楼栋.*")):
            z.write(part, f"测绘成果/{part.name}")
    return out


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gpkg") / "buildings.gpkg"
    gpd.read_file(BUILDINGS).to_file(out, driver="GPKG")
    return out


def changed_ledger(folder: Path) -> Path:
    """The sample ledger with the households of 40 rows quadrupled (people came back), GBK as Excel saves it."""
    led = pd.read_csv(LEDGER_CSV, encoding="gb18030", dtype=str, keep_default_na=False)
    rows = led.index[led["户数"].str.fullmatch(r"\d+")][:40]
    led.loc[rows, "户数"] = (led.loc[rows, "户数"].astype(int) * 4).astype(str)
    out = folder / "台账-新.csv"
    led.to_csv(out, index=False, encoding="gbk")
    return out


# --- uploads and the check --------------------------------------------------------------------

def test_content_decides_the_type_not_the_name(tmp_path, shapefile_zip, gpkg):
    kinds = {BUILDINGS: "geojson", LEDGER_CSV: "csv", LEDGER_XLSX: "xlsx", DXF: "dxf", shapefile_zip: "shapefile",
             gpkg: "gpkg"}
    for path, kind in kinds.items():
        renamed = tmp_path / f"renamed-{kind}.txt"
        shutil.copy(path, renamed)
        assert sniff(renamed) == kind, path
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert sniff(tmp_path / "x.png") == "unknown"


def test_each_footprint_type_is_checked_and_nothing_is_written(app, shapefile_zip, gpkg):
    client = signed_in(app, "editor")
    plans = Path(app.config["NEW_PLANS_DIR"])
    before = plan_files(plans)
    started = {kind: job_id(upload(client, {"footprints": path}, **extra)) for kind, path, extra in (
        ("geojson", BUILDINGS, {}), ("gpkg", gpkg, {}), ("shapefile", shapefile_zip, {}),
        ("dxf", DXF, {"crs": "EPSG:4549"}))}
    for kind, jid in started.items():
        assert wait(client, jid)["state"] == "done", (kind, client.get(f"/new/{jid}").get_data(as_text=True)[-3000:])
        r = result(app, jid)
        assert r["buildings"] == (40 if kind == "dxf" else 3076), kind
        assert r["crs"] == "EPSG:4549"
        page = client.get(f"/new/{jid}").get_data(as_text=True)
        assert "检查报告" in page and "尚未写入任何文件" in page and 'id="np-make"' in page
    dxf = result(app, started["dxf"])
    assert any("open polyline" in n for n in dxf["notes"])  # what the drawing left out is said
    assert all("gridplan-jobs" not in n for n in dxf["notes"])  # no server path on the page
    assert plan_files(plans) == before


def test_gbk_csv_and_xlsx_ledgers_report_every_row_not_matched(app):
    client = signed_in(app, "editor")
    started = {name: job_id(upload(client, {"footprints": BUILDINGS, "ledger": led}))
               for name, led in (("csv", LEDGER_CSV), ("xlsx", LEDGER_XLSX))}
    for name, jid in started.items():
        assert wait(client, jid)["state"] == "done", name
        ledger = result(app, jid)["ledger"]
        assert ledger["key"] == "楼栋号" and ledger["count"] == "户数"
        assert ledger["headers"][:4] == ["小区", "楼栋号", "单元", "户数"]
        assert ledger["rows"]["matched"] >= 0.98 * (ledger["rows"]["matched"] + ledger["rows"]["unmatched"] - 1)
        assert ledger["problems_total"] == sum(v for k, v in ledger["rows"].items() if k != "matched")
    page = text_of(client.get(f"/new/{started['csv']}").get_data(as_text=True))
    problems = result(app, started["csv"])["ledger"]["problems"]
    first = next(p for p in problems if p["status"] == "unmatched" and p["candidates"])
    assert f"{first['line']} {first['key']}" in page  # its line number and the key as written
    assert "未匹配" in page and "最接近的楼栋" in page
    english = text_of(client.get(f"/new/{started['csv']}?lang=en").get_data(as_text=True))
    assert "Rows not matched or ambiguous" in english and "unmatched" in english


def test_refused_uploads_say_why_and_leave_no_job(app, tmp_path):
    jobs_dir = Path(app.config["JOBS_DIR"])
    client = signed_in(app, "editor")
    r = upload(client, {"footprints": (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "map.geojson")})
    assert r.status_code == 422 and "不接受此类文件" in r.get_data(as_text=True)
    r = upload(client, {"footprints": DXF, "ledger": DXF})  # a drawing is no ledger
    assert r.status_code == 422 and "ledger:不接受此类文件(dxf)" in r.get_data(as_text=True)
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as z:
        for suffix in (".shp", ".shx", ".dbf"):
            z.writestr(f"../../evil{suffix}", b"x")
    r = upload(client, {"footprints": (slip.getvalue(), "shp.zip")})
    assert r.status_code == 422 and "指向包外" in r.get_data(as_text=True)
    assert not list(tmp_path.rglob("evil.*"))
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as z:
        for stem in ("a", "b"):
            for suffix in (".shp", ".shx", ".dbf"):
                z.writestr(f"{stem}{suffix}", b"x")
    assert "2 个 Shapefile" in upload(client, {"footprints": (two.getvalue(), "s.zip")}).get_data(as_text=True)
    r = client.post("/new", data={"footprints": (io.BytesIO(BUILDINGS.read_bytes()), "b.geojson")},
                    content_type="multipart/form-data")  # no CSRF token
    assert r.status_code == 400
    assert not jobs_dir.exists() or not list(jobs_dir.iterdir())  # a refused upload leaves no job folder


def test_a_larger_upload_is_refused_with_413_before_it_is_read(cad_plan, tmp_path):
    shutil.copy(cad_plan, tmp_path / "cad.gpkg")
    app = create_app({"TESTING": True, "PLANS": [str(tmp_path / "cad.gpkg")], "USERS_DB": str(tmp_path / "u.sqlite"),
                      "UPLOAD_LIMIT": 1024 * 1024})
    client = signed_in(app, "editor")
    body = io.BytesIO(b"--x\r\n" + b"0" * (1024 * 1024 + 1))
    r = client.post("/new", input_stream=body, content_type="multipart/form-data; boundary=x",
                    headers={"Content-Length": str(len(body.getvalue()))})
    assert r.status_code == 413
    assert body.tell() == len(body.getvalue())  # drained, so a browser gets the page, not a reset connection
    assert "请求过大" in r.get_data(as_text=True) and str(1024 * 1024) in r.get_data(as_text=True)
    assert not Path(app.config["JOBS_DIR"]).exists() or not any(Path(app.config["JOBS_DIR"]).iterdir())
    assert upload(client, {"footprints": DXF}, crs="EPSG:4549").status_code == 302  # 13 kB passes


def test_viewers_are_forbidden_and_jobs_are_their_owners(app):
    viewer = signed_in(app, "viewer")
    assert viewer.get("/new").status_code == 403
    assert "编辑或管理员" in viewer.get("/new").get_data(as_text=True)
    assert viewer.get("/plans/cad/update").status_code == 403
    assert app.test_client().get("/new").status_code == 302  # not signed in: the login page
    editor = signed_in(app, "editor")
    jid = job_id(upload(editor, {"footprints": DXF}, crs="EPSG:4549"))
    other = signed_in(app, "admin")
    assert other.get(f"/new/{jid}").status_code == 404
    assert other.get(f"/jobs/{jid}/status").status_code == 404
    assert wait(editor, jid)["state"] == "done"
    assert any(e["action"] == "plan_new_check" for e in read_audit(app.config["USERS_DB"]))


def test_no_crs_fails_with_the_reason_and_a_new_check_passes(app):
    client = signed_in(app, "editor")
    jid = job_id(upload(client, {"footprints": DXF}))
    status = wait(client, jid)
    assert status["state"] == "failed" and "CRS" in status["error"]
    page = client.get(f"/new/{jid}").get_data(as_text=True)
    assert "任务失败" in page and "Traceback" not in page and 'id="np-make"' not in page
    r = client.post(f"/new/{jid}/check", data={"csrf_token": token(client), "crs": "EPSG:4549"})
    assert r.status_code == 302 and wait(client, jid)["state"] == "done"
    assert result(app, jid)["buildings"] == 40


# --- making the plan --------------------------------------------------------------------------

def _checked(client, **fields) -> str:
    jid = job_id(upload(client, {"footprints": DXF}, crs="EPSG:4549", **fields))
    assert wait(client, jid)["state"] == "done"
    return jid


def test_a_plan_is_made_listed_without_restart_and_checks_clean(app):
    client = signed_in(app, "editor")
    jid = _checked(client)
    assert "新图" not in client.get("/").get_data(as_text=True)
    r = client.post(f"/new/{jid}/plan", data={"csrf_token": token(client), "name": "新图", "target": "20",
                                              "crs": "EPSG:4549"})
    assert r.status_code == 302
    assert wait(client, jid)["state"] == "done"
    made = result(app, jid, "plan")
    assert made["ok"] and made["violations"] == [] and made["totals"]["buildings"] == 40
    path = Path(app.config["NEW_PLANS_DIR"]) / "新图.gpkg"
    plan = geo.read_plan(path)
    assert int(plan.meta["target"]) == 20 and len(plan.grids) == made["totals"]["grids"]
    page = text_of(client.get(f"/new/{jid}").get_data(as_text=True))
    assert "校验通过" in page and "打开方案 新图" in page
    assert "新图" in client.get("/").get_data(as_text=True)  # the list, without a restart
    assert client.get("/plans/新图/").status_code == 200
    assert any(e["action"] == "plan_create" and e["target"] == "新图" for e in read_audit(app.config["USERS_DB"]))


def test_unsafe_and_existing_names_are_refused(app):
    client = signed_in(app, "editor")
    jid = _checked(client)
    plans = Path(app.config["NEW_PLANS_DIR"])
    before = plan_files(plans)
    for name in ("../etc", ".hidden", "a/b", "", "x" * 65, "名 字"):
        r = client.post(f"/new/{jid}/plan", data={"csrf_token": token(client), "name": name, "target": "20",
                                                  "crs": "EPSG:4549"})
        assert r.status_code == 422 and "不可用" in r.get_data(as_text=True), name
    r = client.post(f"/new/{jid}/plan", data={"csrf_token": token(client), "name": "cad", "target": "20",
                                              "crs": "EPSG:4549"})
    assert r.status_code == 409 and "已有名为“cad”的方案" in r.get_data(as_text=True)
    r = client.post(f"/new/{jid}/plan", data={"csrf_token": token(client), "name": "ok", "target": "0",
                                              "crs": "EPSG:4549"})
    assert r.status_code == 422
    assert plan_files(plans) == before


def test_a_failed_plan_job_leaves_no_plan(app):
    client = signed_in(app, "editor")
    plans = Path(app.config["NEW_PLANS_DIR"])
    # a name taken while the job runs: the job refuses it and the other file stays as it was
    jid = _checked(client)
    client.post(f"/new/{jid}/plan", data={"csrf_token": token(client), "name": "taken", "target": "20",
                                          "crs": "EPSG:4549"})
    (plans / "taken.gpkg").write_bytes(b"someone else's")
    status = wait(client, jid)
    assert status["state"] == "failed" and "taken" in status["error"]
    assert (plans / "taken.gpkg").read_bytes() == b"someone else's"
    assert "已有名为“taken”的方案" in client.get(f"/new/{jid}").get_data(as_text=True)
    # a job killed while it plans: no plan under the name, no temporary file, the page says so
    jid = job_id(upload(client, {"footprints": BUILDINGS}))
    assert wait(client, jid)["state"] == "done"
    client.post(f"/new/{jid}/plan", data={"csrf_token": token(client), "name": "killed", "target": "50"})
    folder = Path(app.config["JOBS_DIR"]) / jid
    t0 = time.monotonic()
    while jobs.read_status(folder).get("stage") != "plan" and time.monotonic() - t0 < TIMEOUT:
        time.sleep(0.1)
    os.kill(jobs.read_status(folder)["pid"], signal.SIGKILL)
    status = wait(client, jid)
    assert status["state"] == "failed" and "意外中止" in status["error"]
    assert not (plans / "killed.gpkg").exists()
    assert plan_files(plans) == ["cad.gpkg", "taken.gpkg"]


def test_another_request_is_answered_while_a_job_runs(app):
    client = signed_in(app, "editor")
    jid = job_id(upload(client, {"footprints": BUILDINGS}))
    assert wait(client, jid)["state"] == "done"
    client.post(f"/new/{jid}/plan", data={"csrf_token": token(client), "name": "busy", "target": "50"})
    grids = geo.read_plan(app.config["PLAN_FILES"]["cad"]).grids["grid_code"]
    answered_while_running = 0
    give_up = time.monotonic() + 600  # a safety stop for a job that hangs, not a timing goal
    # the job plans 3,076 buildings in its own process (~10-20 s): ask for grid pages until it ends
    for code in itertools.cycle(grids):
        page = client.get(f"/plans/cad/grids/{code}")
        assert page.status_code == 200 and code in page.get_data(as_text=True)
        s = jobs.read_status(Path(app.config["JOBS_DIR"]) / jid)
        answered_while_running += s["state"] == "running"
        if s["state"] not in ("queued", "running") or time.monotonic() > give_up:
            break
    assert answered_while_running > 0
    assert wait(client, jid)["state"] == "done"


def test_old_job_folders_are_removed_running_ones_kept(tmp_path):
    old = jobs.create(tmp_path, owner="a", kind="newplan")
    running = jobs.create(tmp_path, owner="a", kind="newplan")
    jobs.write_status(running, state="running", pid=os.getpid())
    fresh = jobs.create(tmp_path, owner="a", kind="newplan")
    past = time.time() - 3 * 86400
    for folder in (old, running):
        os.utime(folder, (past, past))
        os.utime(folder / "status.json", (past, past))
    assert jobs.clean(tmp_path, max_age_hours=24) == [old.name]
    assert running.exists() and fresh.exists()


# --- updating households ----------------------------------------------------------------------

@pytest.fixture()
def suzhou_app(suzhou_plan_path, tmp_path):
    shutil.copy(suzhou_plan_path, tmp_path / "suzhou.gpkg")
    return create_app({"TESTING": True, "PLANS": [str(tmp_path / "suzhou.gpkg")],
                       "USERS_DB": str(tmp_path / "users.sqlite"), "VERSIONS_DB": str(tmp_path / "versions.sqlite")})


def _update(client, ledger: Path) -> str:
    data = {"csrf_token": token(client, "/plans/suzhou/update"), "ledger": (io.BytesIO(ledger.read_bytes()), ledger.name)}
    resp = client.post("/plans/suzhou/update", data=data, content_type="multipart/form-data")
    jid = job_id(resp)
    assert wait(client, jid)["state"] == "done", client.get(resp.headers["Location"]).get_data(as_text=True)[-2000:]
    return jid


def test_an_accepted_update_is_a_new_version_and_a_discarded_one_changes_nothing(suzhou_app, tmp_path):
    from app.recount import version_store

    client = signed_in(suzhou_app, "editor")
    path = suzhou_app.config["PLAN_FILES"]["suzhou"]
    original = path.read_bytes()
    ledger = changed_ledger(tmp_path)
    jid = _update(client, ledger)
    page = client.get(f"/plans/suzhou/update/{jid}").get_data(as_text=True)
    r = result(suzhou_app, jid, "update")
    moved = r["diff"]["moved"]
    assert r["summary"]["buildings_moved"] == len(moved) > 0 and r["after"]["households"] > r["before"]["households"]
    assert "接受并保存为新版本" in page and "放弃" in page and 'id="np-moves"' in page
    assert page.count("<tr>") >= len(moved) and "→" in page
    diff = client.get(f"/plans/suzhou/update/{jid}/diff.geojson").get_json()
    kinds = pd.Series([f["properties"]["kind"] for f in diff["features"]]).value_counts()
    assert kinds["moved"] == len(moved) and kinds["grid"] >= r["after"]["grids"]
    assert path.read_bytes() == original  # nothing saved before the planner accepts
    # discard: the plan stays, no version
    with suzhou_app.app_context():
        versions_before = len(version_store().versions("suzhou"))
    assert client.post(f"/plans/suzhou/update/{jid}/discard", data={"csrf_token": token(client)}).status_code == 302
    assert path.read_bytes() == original and not (Path(suzhou_app.config["JOBS_DIR"]) / jid).exists()
    with suzhou_app.app_context():
        assert len(version_store().versions("suzhou")) == versions_before
    # accept: a new version by the planner with the comment, the plan file rewritten
    jid = _update(client, ledger)
    after = result(suzhou_app, jid, "update")["after"]["households"]
    r = client.post(f"/plans/suzhou/update/{jid}/accept", data={"csrf_token": token(client), "comment": "返迁台账"})
    assert r.status_code == 302
    with suzhou_app.app_context():
        latest = version_store().versions("suzhou")[0]
    assert latest["author"] == "editor" and latest["comment"] == "返迁台账" and latest["version"] == versions_before + 1
    assert int(geo.read_plan(path).buildings["households"].sum()) == after
    assert path.read_bytes() != original
    actions = [e["action"] for e in read_audit(suzhou_app.config["USERS_DB"])]
    assert "plan_update" in actions and "plan_update_discarded" in actions


def test_a_stale_update_is_refused(suzhou_app, tmp_path):
    from app.recount import version_store

    client = signed_in(suzhou_app, "editor")
    jid = _update(client, changed_ledger(tmp_path))
    path = suzhou_app.config["PLAN_FILES"]["suzhou"]
    plan = geo.read_plan(path)
    with suzhou_app.app_context():  # another version saved meanwhile (the editor)
        store = version_store()
        base = store.ensure("suzhou", path)
        store.save("suzhou", plan, base=base, author="admin", comment="meanwhile", path=path)
    saved = path.read_bytes()
    r = client.post(f"/plans/suzhou/update/{jid}/accept", data={"csrf_token": token(client)})
    assert r.status_code == 409 and "已有新版本" in r.get_data(as_text=True)
    assert path.read_bytes() == saved


def test_an_update_ledger_of_the_wrong_type_is_refused(suzhou_app):
    client = signed_in(suzhou_app, "editor")
    data = {"csrf_token": token(client, "/plans/suzhou/update"), "ledger": (io.BytesIO(DXF.read_bytes()), "ledger.csv")}
    r = client.post("/plans/suzhou/update", data=data, content_type="multipart/form-data")
    assert r.status_code == 422 and "不接受此类文件" in r.get_data(as_text=True)
    assert json.dumps(sorted(p.name for p in Path(suzhou_app.config["JOBS_DIR"]).glob("*"))) == "[]"
