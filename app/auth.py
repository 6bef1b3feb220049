"""Users, login, CSRF protection, what each role may see, and the audit log.

Users live in an embedded SQLite database (``USERS_DB``, by default ``gridplan-users.sqlite``
in the instance folder), created by ``gridplan users add``, or in PostgreSQL (``USERS_DB`` a
``postgresql://`` URL, ``serve --db``; :mod:`app.store.sql`). Passwords are stored as werkzeug
hashes (scrypt); sessions are Flask-Login's; every POST/PUT/PATCH/DELETE needs a CSRF token
(Flask-WTF's ``CSRFProtect``). Failed sign-ins are throttled per name and address and per address
(:func:`_fail`); sessions are server-side (table ``sessions``), so signing out or a password change
ends them everywhere. See ``docs/security.md``.

Roles, from least to most (:data:`ROLES`):

- anonymous — only when ``PUBLIC_MAP`` is on: grids, buildings and household counts; no names,
  no phones, no special-household counts;
- ``viewer`` — staff names, masked phones (``138****1234``), counts of special households;
- ``staff`` (grid staff) — full phones and the special households (names, addresses) of their
  own grids (``users add --grid CODE``); other grids as a viewer sees them;
- ``editor``, ``admin`` — everything, every grid.

Every response that shows personal data to a signed-in user is written to the ``audit_log``
table of the same database (time, user, role, what, path, address), off the request path
(:mod:`app.audit`).
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash

import geo
from app.audit import SCHEMA as AUDIT_SCHEMA
from app.audit import audit, read_audit, writer
from app.language import lang
from geo.errors import InputError
from maps.i18n import text
from partitioning.people.roster import mask_phone

__all__ = ["ROLES", "User", "init_app", "connect", "init_db", "add_user", "remove_user", "list_users",
           "access", "may_see_residents", "visible_plan", "audit", "read_audit", "words", "bp"]

logger = logging.getLogger(__name__)

#: Roles of signed-in users, from least to most.
ROLES = ("viewer", "staff", "editor", "admin")
#: Endpoints that show personal data to a signed-in user (each such view is audited).
PERSONAL_ENDPOINTS = frozenset({
    "maps.plan_map", "maps.grid_page", "maps.grid_sheet", "api.grids_geojson", "api.grid", "api.people",
})
#: Endpoints open to everybody, signed in or not.
OPEN_ENDPOINTS = frozenset({"auth.login", "auth.logout", "static", "maps.health", "api.openapi"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    grids TEXT NOT NULL DEFAULT '',
    failed INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (username);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT PRIMARY KEY,
    failed INTEGER NOT NULL DEFAULT 0,
    since TEXT NOT NULL,
    locked_until TEXT
);
"""

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- the database -----------------------------------------------------------------------------

#: Database files whose tables this process has made (the schema runs once per file, not per request).
_READY: set[str] = set()


def connect(path, **kwargs) -> sqlite3.Connection:
    """Open (and create when missing) the users database at ``path``: WAL journal (readers do not
    wait for the audit writer), 10 s busy timeout; the schema is made once per file and process.
    A ``postgresql://`` URL opens that database instead (:mod:`app.store.sql`, ``serve --db``)."""
    from app.store import is_database_url

    if is_database_url(path):
        from app.store.sql import connect as connect_pg

        con = connect_pg(str(path))
        if str(path) not in _READY:
            with con:
                con.execute("SELECT pg_advisory_xact_lock(1970)")  # workers starting at once make it once
                con.executescript(_SCHEMA + AUDIT_SCHEMA)
            _READY.add(str(path))
        return con  # type: ignore[return-value]
    path = Path(path)
    key = str(path.resolve())
    if key not in _READY or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=10)
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(_SCHEMA + AUDIT_SCHEMA)
        con.close()
        _READY.add(key)
    con = sqlite3.connect(path, timeout=10, **kwargs)
    con.row_factory = sqlite3.Row
    return con


def init_db(path) -> Path:
    """Create the users database (tables ``users`` and ``audit_log``) when it does not exist."""
    connect(path).close()
    return Path(path)


def add_user(path, username: str, password: str, *, role: str = "viewer", grids=(), replace: bool = False) -> None:
    """Add a user (or, with ``replace``, change one's password, role and grids).

    Raises
    ------
    geo.errors.InputError
        An unknown role, an empty name, a password under 8 characters, or an existing user.
    """
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if not username.strip():
        raise InputError("a user needs a name")
    if len(password) < 8:
        raise InputError("a password has at least 8 characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"a password has at most {MAX_PASSWORD} characters")
    with connect(path) as con:
        exists = con.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        if exists and not replace:
            raise InputError(f"user {username!r} exists; use --replace to change it")
        con.execute("INSERT INTO users (username, password_hash, role, grids, failed, locked_until, created) "
                    "VALUES (?, ?, ?, ?, 0, NULL, ?) ON CONFLICT (username) DO UPDATE SET "
                    "password_hash = excluded.password_hash, role = excluded.role, grids = excluded.grids, failed = 0, "
                    "locked_until = NULL, created = excluded.created",
                    (username, generate_password_hash(password), role, ",".join(map(str, grids)),
                     _now().isoformat(timespec="seconds")))
        if exists and not check_password_hash(exists["password_hash"], password):
            # a new password ends every session (a new role or grids applies at the next request anyway)
            con.execute("DELETE FROM sessions WHERE username = ?", (username,))
    logger.info("user %s (%s) %s", username, role, "changed" if exists else "added")


def remove_user(path, username: str) -> bool:
    """Remove a user; ``False`` when there was none."""
    with connect(path) as con:
        con.execute("DELETE FROM sessions WHERE username = ?", (username,))
        return con.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount > 0


def list_users(path) -> list[dict]:
    """The users (name, role, grids, created, and until when their name is locked for some address,
    see :func:`_fail`), never their password hashes."""
    with connect(path) as con:
        return [dict(r) for r in con.execute(
            "SELECT username, role, grids, created, (SELECT max(f.locked_until) FROM login_failures f "
            "WHERE substr(f.key, 1, length(u.username) + 6) = 'pair:' || u.username || '|' AND f.locked_until > ?) "
            "AS locked_until FROM users u ORDER BY username", (_now().isoformat(),))]


def _db() -> sqlite3.Connection:
    if "users_db" not in g:
        g.users_db = connect(current_app.config["USERS_DB"])
    return g.users_db


# --- users and access ---------------------------------------------------------------------------

class User(UserMixin):
    """A signed-in user: ``username``, ``role``, ``grids`` (grid codes or IDs, for staff) and the
    server-side session ``sid`` the cookie holds (Flask-Login's alternative token: revoking the row
    signs the cookie out, wherever it was copied)."""

    def __init__(self, username: str, role: str, grids: str, sid: str | None = None):
        self.id = self.username = username
        self.role = role
        self.grids = frozenset(x for x in grids.split(",") if x)
        self.sid = sid

    def get_id(self) -> str:
        return self.sid or ""


@login_manager.user_loader
def _load_user(sid: str):
    oldest = (_now() - timedelta(hours=float(current_app.config["SESSION_HOURS"]))).isoformat()
    row = _db().execute("SELECT u.username, u.role, u.grids FROM sessions s JOIN users u USING (username) "
                        "WHERE s.id = ? AND s.created > ?", (sid, oldest)).fetchone()
    return User(row["username"], row["role"], row["grids"], sid) if row else None


def _new_session(con, username: str) -> str:
    """A new server-side session of ``username`` (expired ones of every user are dropped)."""
    sid, now = secrets.token_urlsafe(32), _now()
    oldest = (now - timedelta(hours=float(current_app.config["SESSION_HOURS"]))).isoformat()
    with con:
        con.execute("DELETE FROM sessions WHERE created <= ?", (oldest,))
        con.execute("INSERT INTO sessions (id, username, created) VALUES (?, ?, ?)", (sid, username, now.isoformat()))
    return sid


def access() -> tuple:
    """What the current visitor may see, as a cache key part: ``("public",)``, ``("viewer",)``,
    ``("staff", grids)``, ``("editor",)`` or ``("admin",)``."""
    if not current_user.is_authenticated:
        return ("public",)
    if current_user.role == "staff":
        return ("staff", tuple(sorted(current_user.grids)))
    return (current_user.role,)


def may_see_residents(plan, grid_id) -> bool:
    """Whether the current user may see the special households (names, addresses) of a grid."""
    level = access()
    if level[0] in ("editor", "admin"):
        return True
    if level[0] != "staff":
        return False
    return str(grid_id) in level[1] or str(plan.grids.at[grid_id, "grid_code"]) in level[1]


def visible_plan(plan, level: tuple):
    """The plan as a visitor of access ``level`` (see :func:`access`) may see it.

    public: the ``people`` layer reduced to its posts without names or phones
    (:func:`maps.web.queries.withhold_people`), no ``households`` layer, no ``flag_*`` counts; viewer:
    people with masked phones and without their homes, no ``households`` layer; staff: the people of their own
    grids in full and everybody else's as a viewer sees them (masked phones: the minimum necessary
    of PIPL), the ``households`` layer of their grids only; editor and admin: everything.
    """
    if level[0] in ("editor", "admin"):
        return plan
    layers = dict(plan.layers)
    buildings = plan.buildings
    people = layers.get("people")
    households = layers.pop("households", None)
    mine = set()
    if level[0] == "staff":
        codes = plan.grids["grid_code"].astype(str)
        mine = {str(i) for i in plan.grids.index if str(i) in level[1] or codes.loc[i] in level[1]}
    if level[0] == "public":
        from maps.web.queries import withhold_people

        if people is not None:  # which posts are filled, not by whom: never "未指定" for a held post
            layers["people"] = withhold_people(people)
        buildings = buildings.drop(columns=[c for c in buildings.columns if c.startswith("flag_")])
    elif people is not None:
        people = pd.DataFrame(people).drop(columns=["home"], errors="ignore")
        if "phone" in people.columns:
            others = (~people["grid_id"].astype(str).isin(mine) if "grid_id" in people.columns
                      else pd.Series(True, index=people.index))
            people = people.assign(phone=people["phone"].where(~others, people["phone"].map(mask_phone)))
        layers["people"] = people
    if level[0] == "staff" and households is not None and "building_id" in households.columns:
        grid_of = plan.buildings["grid_id"].astype(str)
        keep = households["building_id"].astype(str).map(grid_of).isin(mine)
        layers["households"] = households[keep.to_numpy(dtype=bool)]
    return geo.Plan(buildings=buildings, grids=plan.grids, meta=plan.meta, layers=layers)


# --- login and logout ------------------------------------------------------------------------------

def words():
    """The page's words, from :mod:`maps.i18n`, in the request's language."""
    language = lang()
    return lambda key: text(key, language)




def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the index: no open redirect after sign-in.

    Judged on the parsed URL as a browser would read it: any ASCII control character, whitespace
    (Unicode spaces included) or backslash refuses it outright, since browsers and Werkzeug strip or
    rewrite those (``/\\t/evil.example`` becomes ``//evil.example``); then it must have no scheme and
    no host, and it must start with exactly one ``/`` (browsers read ``///host`` as ``//host``).
    """
    if not target or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in target):
        return url_for("maps.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return url_for("maps.index")
    return target


def _locked(con, keys) -> bool:
    now = _now().isoformat()
    marks = ",".join("?" * len(keys))
    return con.execute(f"SELECT 1 FROM login_failures WHERE key IN ({marks}) AND locked_until > ?",
                       (*keys, now)).fetchone() is not None


def _fail(con, keys) -> bool:
    """Count a failed sign-in against the name from this address and against the address; lock
    either at its threshold. Unknown names count exactly as known ones do (no enumeration), and a
    name is never locked for other addresses (nobody can lock an admin out from elsewhere)."""
    attempts = int(current_app.config["LOGIN_ATTEMPTS"])
    window = timedelta(minutes=float(current_app.config["LOCKOUT_MINUTES"]))
    now = _now()
    locked = False
    with con:
        for key, limit in zip(keys, (attempts, 10 * attempts)):
            # failures count within one window from the first; an old count starts again
            failed = con.execute(
                "INSERT INTO login_failures (key, failed, since) VALUES (?1, 1, ?2) ON CONFLICT (key) DO UPDATE SET "
                "failed = CASE WHEN login_failures.since < ?3 THEN 1 ELSE login_failures.failed + 1 END, "
                "since = CASE WHEN login_failures.since < ?3 THEN ?2 ELSE login_failures.since END RETURNING failed",
                (key, now.isoformat(), (now - window).isoformat())).fetchone()[0]
            if failed >= limit:
                con.execute("UPDATE login_failures SET failed = 0, since = ?, locked_until = ? WHERE key = ?",
                            (now.isoformat(), (now + window).isoformat(), key))
                logger.warning("sign-in locked for %s after %d failures", key, failed)
                locked = True
    return locked


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if len(password) > MAX_PASSWORD:  # refused before hashing: a long password costs scrypt time
            abort(413, description=words()("too_large").format(limit=MAX_PASSWORD))
        con = _db()
        row = con.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        keys = (f"pair:{username}|{request.remote_addr}", f"addr:{request.remote_addr}")
        # one password check whatever happens: known, unknown and locked names cost the same time
        good = check_password_hash(row["password_hash"] if row is not None else _DUMMY_HASH, password)
        if _locked(con, keys):
            error = "locked"
        elif row is not None and good:
            with con:
                con.execute("DELETE FROM login_failures WHERE key = ?", (keys[0],))
            session.clear()
            login_user(User(row["username"], row["role"], row["grids"], _new_session(con, row["username"])))
            audit("login")
            return redirect(_safe_next(request.args.get("next")))
        else:
            error = "locked" if _fail(con, keys) else "login_failed"
        audit("login_failed", target=username)
        return render_template("login.html", error=error, t=words(), lang=_lang()), 401 if error != "locked" else 429
    no_users = _db().execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0
    return render_template("login.html", error="no_users" if no_users else None, t=words(), lang=_lang())


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "POST":
        if current_user.is_authenticated:
            audit("logout")
            with _db() as con:
                con.execute("DELETE FROM sessions WHERE id = ?", (current_user.sid,))
        logout_user()
        session.clear()
        return redirect(url_for("auth.login"))
    return render_template("logout.html", t=words(), lang=_lang())


def _lang():
    return lang()


#: Longest password accepted (sign-in and ``users add``), checked before hashing.
MAX_PASSWORD = 256

_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))


# --- wiring -----------------------------------------------------------------------------------------

def init_app(app) -> None:
    """Sessions, CSRF, the login wall and the audit of personal data for ``app``."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        logger.warning("no SECRET_KEY set: sessions end when the server restarts (set it in instance/config.py)")
    if not app.config.get("USERS_DB"):
        app.config["USERS_DB"] = str(Path(app.instance_path) / "gridplan-users.sqlite")
    writer().interval = float(app.config["AUDIT_FLUSH_SECONDS"])
    csrf.init_app(app)
    login_manager.init_app(app)
    app.register_blueprint(bp)

    @app.teardown_appcontext
    def _close_db(exc):
        con = g.pop("users_db", None)
        if con is not None:
            con.close()

    @app.before_request
    def _login_wall():
        if current_user.is_authenticated or app.config["PUBLIC_MAP"] or request.endpoint in OPEN_ENDPOINTS:
            return None
        if request.path.startswith("/api/"):
            abort(401, description="sign in first (/login)")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.after_request
    def _audit_and_privacy(resp):
        if current_user.is_authenticated:
            resp.headers["Cache-Control"] = "private, no-cache"
            if request.endpoint in PERSONAL_ENDPOINTS and resp.status_code in (200, 304):
                audit("view", target=(request.view_args or {}).get("code") or (request.view_args or {}).get("name"))
        return resp

    @app.context_processor
    def _user():
        return {"current_user": current_user}
