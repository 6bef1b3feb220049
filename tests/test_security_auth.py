"""Issue 19, sign-in hardening: the ``next`` redirect after sign-in and the session cookie's attributes.

Each test signs in for real with the test client (CSRF token from the login page) on the tiny plan.
"""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.auth import add_user
from tests.test_app import signed_in

PASSWORD = "correct-horse-1"


@pytest.fixture()
def app(plan_file, tmp_path):
    app = create_app({"TESTING": True, "PLANS": [str(plan_file)], "USERS_DB": str(tmp_path / "users.sqlite"),
                      "BASEMAP": "none", "SECRET_KEY": "test-key"})
    add_user(app.config["USERS_DB"], "li", PASSWORD, role="viewer")
    return app


def _sign_in(client, query: str = "", **kw):
    page = client.get("/login", **kw).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login" + query, data={"username": "li", "password": PASSWORD, "csrf_token": token}, **kw)


# Percent-encoded as an attacker would put them in a link; each decodes to something a browser reads
# as another site (or a script), or that Werkzeug refuses to put in a header.
OFF_SITE = ["/%09/evil.example/phish", "/%0a/evil.example", "/%0d/evil.example", "%09//evil.example",
            "//evil.example/x", "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example",
            "https:evil.example", "https://evil.example/", "javascript:alert(1)", "%20//evil.example",
            "/%E3%80%80/evil.example", "/%C2%A0/evil.example", "/%7F/evil.example", "evil.example",
            "///evil.example", "http:/evil.example", "/%00/evil.example", "/%2F%2Fevil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_the_site(app, target):
    resp = _sign_in(app.test_client(), "?next=" + target)
    assert resp.status_code == 302 and resp.headers["Location"] == "/", resp.headers.get("Location")


@pytest.mark.parametrize("target", ["/plans/tiny/", "/plans/tiny/grids/320508001001001?lang=en",
                                    "/plans/tiny/search?q=320508001001"])
def test_sign_in_returns_to_a_page_of_the_site(app, target):
    resp = _sign_in(app.test_client(), "?next=" + target)
    assert resp.status_code == 302 and resp.headers["Location"] == target


def test_session_cookie_is_lax_and_httponly(app):
    cookie = _sign_in(app.test_client()).headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Secure" not in cookie


def test_secure_cookie_when_set(plan_file, tmp_path):
    app = create_app({"TESTING": True, "PLANS": [str(plan_file)], "USERS_DB": str(tmp_path / "users.sqlite"),
                      "BASEMAP": "none", "SECRET_KEY": "test-key", "SESSION_COOKIE_SECURE": True})
    add_user(app.config["USERS_DB"], "li", PASSWORD, role="viewer")
    cookie = _sign_in(app.test_client(), base_url="https://localhost").headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=Lax" in cookie


def test_staff_read_only_their_own_grids_phones(app):
    """PIPL's minimum necessary: grid staff read the phones of their own grid's people in full and
    everybody else's masked, as a viewer does, on pages and through the people API alike."""
    staff = signed_in(app, "staff", grids=["320508001001001"])
    people = {p["name"]: p["phone"] for p in staff.get("/api/plans/tiny/people").get_json()["people"]}
    assert people["王芳"] == "13812341234"  # own grid (G1): in full
    assert people["赵磊"] == "137****7777"  # grid G2: masked
    other = staff.get("/plans/tiny/grids/320508001001002").get_data(as_text=True)
    assert "13700007777" not in other and "137****7777" in other
    own = staff.get("/plans/tiny/grids/320508001001001").get_data(as_text=True)
    assert "13812341234" in own


def _login(client, username, password, address="127.0.0.1"):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_a_copied_cookie_is_dead_after_logout_and_after_a_password_change(app):
    for end in ("logout", "password"):
        client = signed_in(app, "viewer")
        copy = app.test_client()
        copy.set_cookie("session", client.get_cookie("session").value)
        assert copy.get("/api/plans/tiny/people").status_code == 200
        if end == "logout":
            page = client.get("/logout").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            assert client.post("/logout", data={"csrf_token": token}).status_code == 302
        else:
            add_user(app.config["USERS_DB"], "viewer", "another-horse-2", role="viewer", replace=True)
        assert copy.get("/api/plans/tiny/people").status_code == 401, end
        assert copy.get("/plans/tiny/").status_code == 302, end


def test_unknown_and_known_names_get_the_same_answers_and_the_same_work(app, monkeypatch):
    import app.auth as auth

    add_user(app.config["USERS_DB"], "admin", "correct-horse-1", role="admin")
    calls = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda *a: calls.append(1) or real(*a))
    answers = {}
    for name in ("admin", "nobody-here"):
        client = app.test_client()
        answers[name] = [(r.status_code, re.sub(r'value="[^"]*"', "", r.get_data(as_text=True)))
                         for r in (_login(client, name, "wrong-password", address=f"10.0.0.{len(answers)}")
                                   for _ in range(int(app.config["LOGIN_ATTEMPTS"]) + 2))]
    assert answers["admin"] == answers["nobody-here"]
    assert [s for s, _ in answers["admin"]][-1] == 429  # locked for this address, known or not
    assert len(calls) == 2 * (int(app.config["LOGIN_ATTEMPTS"]) + 2)  # one hash check per attempt, locked or not


def test_a_flood_for_admin_from_one_address_does_not_lock_admin_out_elsewhere(app):
    add_user(app.config["USERS_DB"], "admin", "correct-horse-1", role="admin")
    attacker = app.test_client()
    for _ in range(3 * int(app.config["LOGIN_ATTEMPTS"])):
        _login(attacker, "admin", "guess", address="203.0.113.9")
    assert _login(attacker, "admin", "correct-horse-1", address="203.0.113.9").status_code == 429
    assert _login(app.test_client(), "admin", "correct-horse-1", address="198.51.100.7").status_code == 302
    from app.auth import list_users

    locked = {u["username"]: u["locked_until"] is not None for u in list_users(app.config["USERS_DB"])}
    assert locked["admin"] and not any(v for k, v in locked.items() if k != "admin")  # `users list` says so


def test_an_address_that_floods_many_names_is_throttled(app):
    add_user(app.config["USERS_DB"], "wang", "correct-horse-1", role="viewer")
    client = app.test_client()
    statuses = [_login(client, f"name{i}", "guess", address="203.0.113.5").status_code
                for i in range(10 * int(app.config["LOGIN_ATTEMPTS"]))]
    assert statuses[0] == 401 and statuses[-1] == 429
    assert _login(client, "wang", "correct-horse-1", address="203.0.113.5").status_code == 429
    assert _login(client, "wang", "correct-horse-1", address="203.0.113.6").status_code == 302


def test_failures_count_within_the_window_only(app, monkeypatch):
    """An office's shared address that mistypes now and then is never locked: failures older than
    LOCKOUT_MINUTES start the count again."""
    from datetime import timedelta

    import app.auth as auth

    add_user(app.config["USERS_DB"], "wang", "correct-horse-1", role="viewer")
    attempts, real_now, shift = int(app.config["LOGIN_ATTEMPTS"]), auth._now, [timedelta(0)]
    monkeypatch.setattr(auth, "_now", lambda: real_now() + shift[0])
    client = app.test_client()
    statuses = []
    for day in range(3):
        shift[0] = timedelta(minutes=20 * day)
        statuses += [_login(client, "wang", "typo", address="192.0.2.1").status_code for _ in range(attempts - 1)]
    assert set(statuses) == {401}  # 12 failures in all, never LOGIN_ATTEMPTS within one window
    assert _login(client, "wang", "typo", address="192.0.2.1").status_code == 429  # the 5th within one: locked
