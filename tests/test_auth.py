"""Access control of the web app: sign-in, roles, masking, CSRF, lockout, audit log, escaping.

The plan is hand-made (two grids of 100 m in EPSG:4549)::

    +--------+--------+    G1 (code 320508001001001): b1, b2; grid leader 王芳 13812341234,
    | G1     | G2     |        building leader of b1 is <script>alert(1)</script> 13900001111
    | b1  b2 | b3  b4 |    G2 (…002): b3, b4; grid leader 赵磊 13700007777
    +--------+--------+    special households: 刘奶奶 (b1, elderly alone), 孙大爷 (b3, disabled)
"""

from __future__ import annotations

import json
import re

import pytest

import geo
from app import create_app
from app.auth import add_user, read_audit
from tests.plans import PHONES, RESIDENTS, STAFF_NAMES, XSS
from tests.test_app import signed_in


@pytest.fixture()
def app(plan_file, tmp_path):
    return create_app({"TESTING": True, "PLANS": [str(plan_file)], "USERS_DB": str(tmp_path / "users.sqlite"),
                       "BASEMAP": "none", "SECRET_KEY": "test-key"})


def _urls(app) -> list[str]:
    """Every GET route of the app with its arguments filled in for the tiny plan."""
    values = {"name": "tiny", "code": "320508001001001", "building_id": "b1", "fmt": "geojson",
              "filename": "gridplan.css", "job_id": "0123456789abcdef"}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", values[arg]).replace(f"<path:{arg}>", values[arg])
        urls.append(url + ("?buildings=b1" if url.endswith("/edit/targets") else ""))
    urls += ["/plans/tiny/grids/320508001001002", "/api/plans/tiny/grids/320508001001002",
             "/plans/tiny/download.gpkg", "/plans/tiny/search?q=320508001001", "/api/plans/tiny/search?q=b",
             "/plans/tiny/?lang=en", "/plans/tiny/grids/320508001001001?lang=en"]
    assert len(urls) > 15
    return urls


def _bodies(client, urls) -> dict:
    out = {}
    for url in urls:
        with client.get(url) as resp:
            # 422: the editor's move targets need the plan's cells, which the tiny plan has not;
            # 403: the planners' pages (新建方案, 更新户数, their jobs) to a viewer
            planners = url.startswith(("/new", "/jobs/")) or "/update" in url
            allowed = (200, 302, 404) + ((422,) if "/edit/" in url else ()) + ((403,) if planners else ())
            assert resp.status_code in allowed, (url, resp.status_code)
            out[url] = resp.get_data()
    return out


def _text(body: bytes) -> str:
    """A response as text, with JSON and JavaScript \\uXXXX escapes read back (map scripts use them)."""
    text = body.decode("utf-8", errors="replace")
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def test_viewer_never_sees_residents_or_full_phones_on_any_route(app):
    admin = signed_in(app, "admin")
    _bodies(admin, _urls(app))  # the admin's pages fill the cache first: none may reach the viewer
    viewer = signed_in(app, "viewer")
    bodies = _bodies(viewer, _urls(app))
    seen = ""
    for url, body in bodies.items():
        text = _text(body)
        for secret in RESIDENTS + PHONES:
            assert secret not in text, (url, secret)
        seen += text
    assert "138****1234" in seen and "王芳" in seen  # viewers do see the staff, masked
    assert "0512-****1234" in seen  # and the escalation chain, masked
    card = json.loads(bodies["/api/plans/tiny/grids/320508001001001"])
    assert card["special"] == {"elderly_alone": 1}  # counts of special households per grid, no names
    people = json.loads(bodies["/api/plans/tiny/people"])["people"]
    assert {p["name"]: p["phone"] for p in people} == {"王芳": "138****1234", XSS: "139****1111", "赵磊": "137****7777"}


def test_public_map_shows_grids_and_counts_only(plan_file, tmp_path):
    app = create_app({"TESTING": True, "PLANS": [str(plan_file)], "USERS_DB": str(tmp_path / "u.sqlite"),
                      "BASEMAP": "none", "PUBLIC_MAP": True})
    bodies = _bodies(app.test_client(), _urls(app))
    assert "320508001001001" in _text(bodies["/plans/tiny/"]) or "001" in _text(bodies["/plans/tiny/"])
    for url, body in bodies.items():
        if url == "/api/openapi.json":
            continue  # documentation: it quotes a masked phone as an example
        text = _text(body)
        for secret in RESIDENTS + PHONES + STAFF_NAMES + ("alert(1)", "\"flag_elderly_alone\":", "138****"):
            assert secret not in text, (url, secret)
    assert read_audit(app.config["USERS_DB"]) == []  # nothing personal was shown
    people = json.loads(bodies["/api/plans/tiny/people"])["people"]  # which posts are filled, not by whom
    assert [(p["grid_id"], p["building_id"], p["role"], p["name"], p["phone"], p["withheld"]) for p in people] == [
        ("G1", None, "grid_leader", None, None, True), ("G1", "b1", "building_leader", None, None, True),
        ("G2", None, "grid_leader", None, None, True)]
    card = json.loads(bodies["/api/plans/tiny/grids/320508001001001"])
    assert card["households"] == 20 and card["special"] == {}
    assert [(s["role"], s["name"], s["phone"], s["withheld"]) for s in card["staff"]] == [
        ("grid_leader", None, None, True)]


def test_public_page_says_an_assigned_leader_is_withheld_not_unassigned(plan_file, tmp_path):
    """The resident scanning a sheet's QR code reads "网格长 已指定（姓名不公开）" and the community
    office's number for a grid whose leader is hidden; "未指定" only where nobody holds the post
    (building b2). Before: the public plan had no people, so every post read "未指定"."""
    plan = geo.read_plan(plan_file)
    office = {"level": "社区", "role": "社区居委会", "name": "平江社区", "phone": "0512-65009999"}
    plan.meta["escalation"] = {"*": [office, *plan.meta["escalation"]["*"]]}
    path = geo.write_plan(plan, tmp_path / "tiny.gpkg")
    app = create_app({"TESTING": True, "PLANS": [str(path)], "USERS_DB": str(tmp_path / "u.sqlite"),
                      "BASEMAP": "none", "PUBLIC_MAP": True})
    client = app.test_client()
    page = _text(client.get("/plans/tiny/grids/320508001001001").get_data())
    card = page[page.index('id="grid-card"'):]
    contacts = card[:card.index("gp-buildings")]
    assert "网格长</span> 已指定（姓名不公开）" in contacts and "未指定" not in contacts
    assert 'href="tel:0512-65009999"' in contacts and "平江社区" in contacts
    row = {b: card[card.index(f'id="b-{b}"'):].split("</tr>")[0] for b in ("b1", "b2")}
    assert "已指定（姓名不公开）" in row["b1"] and "未指定" in row["b2"]  # b2 truly has no leader
    assert "0512-65001234" not in page  # the rest of the chain (the police line) stays for signed-in users
    for secret in STAFF_NAMES + ("alert(1)", "138****"):
        assert secret not in page
    english = _text(client.get("/plans/tiny/grids/320508001001001?lang=en").get_data())
    assert "Grid leader</span> assigned (name withheld)" in english and "Community office" in english
    # the map tooltips (community map grids, the grid's buildings) and the API say the same
    grids = json.loads(client.get("/api/plans/tiny/grids.geojson?lang=zh").get_data())
    assert {f["properties"]["grid_code"]: f["properties"]["leader"] for f in grids["features"]} == {
        "320508001001001": "已指定（姓名不公开）", "320508001001002": "已指定（姓名不公开）"}
    script = page[page.index("</aside>"):]  # the map's data: grid and building tooltips
    assert script.count("已指定（姓名不公开）") >= 2 and "未指定" in script  # b1 and the grid withheld, b2 empty
    signed = _text(signed_in(app, "viewer").get("/plans/tiny/grids/320508001001001").get_data())
    assert "王芳" in signed and "已指定（姓名不公开）" not in signed  # signed-in visitors see the name


def test_without_public_map_everyone_signs_in(app):
    client = app.test_client()
    page = client.get("/plans/tiny/grids/320508001001001")
    assert page.status_code == 302 and "/login?next=" in page.headers["Location"]
    api = client.get("/api/plans/tiny/grids/320508001001001")
    assert api.status_code == 401 and api.get_json()["status"] == 401
    assert client.get("/healthz").status_code == 200


def test_staff_see_their_own_grids_residents_only(app):
    staff = signed_in(app, "staff", grids=["320508001001001"])
    own = staff.get("/plans/tiny/grids/320508001001001").get_data(as_text=True)
    other = staff.get("/plans/tiny/grids/320508001001002").get_data(as_text=True)
    assert "刘奶奶" in own and "平江路12号" in own and "13812341234" in own  # their grid, phones in full
    assert "孙大爷" not in other and "干将路3号" not in other
    actions = [(e["username"], e["action"]) for e in read_audit(app.config["USERS_DB"])]
    assert ("staff", "residents") in actions and ("staff", "view") in actions and ("staff", "login") in actions


def test_every_view_of_personal_data_is_audited(app):
    viewer = signed_in(app, "viewer")
    before = len(read_audit(app.config["USERS_DB"], limit=1000))
    viewer.get("/plans/tiny/grids/320508001001002")
    viewer.get("/api/plans/tiny/grids/320508001001002")
    entries = read_audit(app.config["USERS_DB"], limit=1000)
    assert len(entries) == before + 2
    assert {e["path"] for e in entries[:2]} == {"/plans/tiny/grids/320508001001002",
                                                "/api/plans/tiny/grids/320508001001002"}
    assert all(e["username"] == "viewer" and e["role"] == "viewer" for e in entries[:2])


def test_roster_names_are_escaped(app):
    admin = signed_in(app, "editor")
    for url in ("/plans/tiny/grids/320508001001001", "/plans/tiny/", "/plans/tiny/search?q=b1"):
        assert XSS not in admin.get(url).get_data(as_text=True), url
    page = admin.get("/plans/tiny/grids/320508001001001").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    card = admin.get("/api/plans/tiny/grids/320508001001001").get_json()
    assert card["buildings"][0]["leaders"][0]["name"] == XSS  # JSON keeps the text; pages escape it


@pytest.mark.parametrize("url, data", [("/login", {"username": "admin", "password": "correct-horse-1"}),
                                       ("/logout", {})])
def test_a_post_without_csrf_token_is_refused(app, url, data):
    add_user(app.config["USERS_DB"], "admin", "correct-horse-1", role="admin")
    client = signed_in(app, "viewer")
    resp = client.post(url, data=data)
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)
    assert client.get("/api/plans/tiny/grids/320508001001001").status_code == 200  # still signed in as before


def test_repeated_failed_logins_lock_the_account(app):
    add_user(app.config["USERS_DB"], "wang", "correct-horse-1", role="viewer")
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    codes = [client.post("/login", data={"username": "wang", "password": f"wrong-{i}", "csrf_token": token}).status_code
             for i in range(app.config["LOGIN_ATTEMPTS"])]
    assert codes == [401] * (app.config["LOGIN_ATTEMPTS"] - 1) + [429]
    right = client.post("/login", data={"username": "wang", "password": "correct-horse-1", "csrf_token": token})
    assert right.status_code == 429 and "锁定" in right.get_data(as_text=True)
    assert client.get("/api/plans/tiny").status_code == 401
    failed = [e for e in read_audit(app.config["USERS_DB"]) if e["action"] == "login_failed"]
    assert len(failed) == app.config["LOGIN_ATTEMPTS"] + 1


def test_login_redirects_only_within_the_site(app):
    add_user(app.config["USERS_DB"], "li", "correct-horse-1", role="viewer")
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    resp = client.post("/login?next=//evil.example/x", data={"username": "li", "password": "correct-horse-1",
                                                             "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    logout_page = client.get("/logout").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', logout_page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/plans/tiny").status_code == 401


def test_passwords_are_stored_hashed(app):
    from app.auth import connect

    add_user(app.config["USERS_DB"], "zhao", "correct-horse-1", role="editor", grids=["G1"])
    with connect(app.config["USERS_DB"]) as con:
        stored = con.execute("SELECT password_hash FROM users WHERE username = 'zhao'").fetchone()[0]
    assert "correct-horse-1" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    with pytest.raises(geo.errors.InputError, match="exists"):
        add_user(app.config["USERS_DB"], "zhao", "another-pass", role="viewer")
    with pytest.raises(geo.errors.InputError, match="8 characters"):
        add_user(app.config["USERS_DB"], "qian", "short", role="viewer")


def test_warmed_levels_are_served_to_their_own_role_only(app):
    from app.wsgi import warm

    warm(app, grids=True)  # signed-in mode: plan documents as viewer, editor and admin; grids as viewer
    levels = {key[-1] for key in app.extensions["gridplan_cache"].items if key[0] in ("community", "json", "grid")}
    assert {("viewer",), ("editor",), ("admin",)} <= levels and ("public",) not in levels
    assert read_audit(app.config["USERS_DB"]) == []  # warm-up is nobody's view of personal data
    viewer, editor = signed_in(app, "viewer"), signed_in(app, "editor")
    for url in ("/plans/tiny/", "/plans/tiny/grids/320508001001001", "/api/plans/tiny/grids.geojson",
                "/api/plans/tiny/grids/320508001001001"):
        seen = viewer.get(url).get_data(as_text=True)
        assert "13812341234" not in seen and "刘奶奶" not in seen, url
        assert editor.get(url).status_code == 200, url
    assert "刘奶奶" in editor.get("/plans/tiny/grids/320508001001001").get_data(as_text=True)
    assert "138****1234" in viewer.get("/plans/tiny/grids/320508001001001").get_data(as_text=True)
