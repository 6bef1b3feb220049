"""The planner's editor: the Flask routes of ``/api/plans/<name>/edit…`` (see ``docs/editor.md``).

Each user has one edit session per plan, a list of operations of :mod:`partitioning.editing`
applied to a base version (undo and redo move a position in that list); sessions and versions live
in the version store (:mod:`app.store`, no Flask in it): an SQLite database in the instance
folder (``gridplan-versions.sqlite``) or PostgreSQL/PostGIS (``serve --db``), so that every worker
process of the server sees the same session and a restart loses nothing; each process keeps the
plans the operations made in memory and replays only the operations it has not seen yet. A save
whose base version is not the latest is applied to the latest when the versions since changed
other communities; otherwise it is refused with 409, and the editor reloads the latest version
and replays its operations.
"""

from __future__ import annotations

import json
import logging
import re
import time
from contextlib import contextmanager
from pathlib import Path
from threading import Lock, RLock, Thread

from flask import Blueprint, abort, current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

import geo
from app import _data
from app.store import (
    FILE_AUTHOR,
    FIRST_COMMENT,
    OUTSIDE_COMMENT,
    EditSession,
    SessionConflict,
    VersionConflict,
    VersionStore,
    is_database_url,
    open_store,
)
from geo.crs import to_datum
from geo.errors import GridplanError
from maps.i18n import text
from maps.names import building_labels, grid_number, grid_numbers, join
from maps.web.colours import grid_colours
from maps.web.geojson import layer_geojson, round_lonlat, to_lonlat
from maps.web.queries import undersize_text
from partitioning import editing
from partitioning.undersize import undersize_reasons

__all__ = ["bp", "init_app", "EDIT_ROLES", "may_edit", "require_editor"]

logger = logging.getLogger(__name__)

bp = Blueprint("editor", __name__, url_prefix="/api/plans/<name>")

#: Roles that may edit plans.
EDIT_ROLES = ("editor", "admin")
_GRID_COLUMNS = ["grid_code", "households", "n_buildings", "status"]


def version_store() -> VersionStore:
    """The app's version store, opened on first use (``VERSIONS_DB``: a ``postgresql://`` URL or an
    SQLite file; default beside ``USERS_DB``, or its database when that is a URL)."""
    ext = current_app.extensions
    with ext["gridplan_edit_lock"]:
        if ext.get("gridplan_versions") is None:
            users = current_app.config["USERS_DB"]
            path = (current_app.config.get("VERSIONS_DB")
                    or (users if is_database_url(users) else Path(users).with_name("gridplan-versions.sqlite")))
            ext["gridplan_versions"] = open_store(path)
        return ext["gridplan_versions"]


def may_edit() -> bool:
    """Whether the visitor may edit plans (also ``may_edit`` in the page templates)."""
    return current_user.is_authenticated and current_user.role in EDIT_ROLES


def require_editor() -> None:
    """404 unless the signed-in user may edit plans: as for any page a visitor may not see, the
    editor is not shown to other roles."""
    if not may_edit():
        abort(404, description="the plan editor needs the editor or admin role")


@contextmanager
def _user_session(name: str):
    """The current user's edit session of plan ``name``, up to date with the stored one, held
    exclusively in this process while the request uses it.

    A session without operations follows the latest version of the plan; one with operations
    stays on its base version until it is saved or reloaded.
    """
    path = _data.plan_path(name)
    ext = current_app.extensions
    key = (current_user.username, name)
    with ext["gridplan_edit_lock"]:
        lock = ext["gridplan_edit_locks"].setdefault(key, Lock())
    with lock:
        store = version_store()
        latest = store.ensure(name, path)
        stored = store.session(name, key[0]) or {"base": latest, "ops": [], "pos": 0, "rev": 0}
        if not stored["ops"]:
            stored["base"] = latest
        session = ext["gridplan_edit_sessions"].get(key)
        if session is None or session.base != stored["base"]:
            session = _new_session(name, stored["base"], rev=stored["rev"])
        try:
            session.sync(stored)
        except editing.EditError as exc:  # the stored operations no longer apply (should not happen)
            logger.error("plan %s: the edit session of %s cannot be replayed, started again: %s", name, key[0], exc)
            session = _new_session(name, latest, rev=stored["rev"])
            _persist(name, session)
        ext["gridplan_edit_sessions"][key] = session
        yield session


def _new_session(name: str, version: int, *, rev: int, plan: geo.Plan | None = None) -> EditSession:
    """An empty session on ``version`` (``plan`` when the caller has it); the contiguity graph is
    shared by every session whose buildings and cells are the same."""
    def make_graph(ground: geo.Plan):
        ext = current_app.extensions
        with ext["gridplan_edit_lock"]:
            lock = ext["gridplan_graph_locks"].setdefault(name, Lock())
        with lock:  # one build per plan: a request that needs the graph waits for one under way
            graphs = ext["gridplan_edit_graphs"]
            hit = graphs.get(name)
            if hit is None or not _same_ground(hit[0], ground):
                hit = graphs[name] = (ground, editing.edit_graph(ground))
            return hit[1]

    return EditSession(base=version, plans=[plan if plan is not None else version_store().load(name, version)],
                       make_graph=make_graph, rev=rev)


def _same_ground(a: geo.Plan, b: geo.Plan) -> bool:
    """Whether two versions share their buildings and cells (and so the contiguity graph)."""
    if a is b:
        return True
    ca, cb = a.layers.get("cells"), b.layers.get("cells")
    return (a.buildings.index.equals(b.buildings.index) and ca is not None and cb is not None
            and ca.index.equals(cb.index) and bool(ca.geometry.geom_equals_exact(cb.geometry, 0).all()))


def _persist(name: str, session: EditSession) -> None:
    """Store the session (409 when another request changed it since it was read)."""
    try:
        session.rev = version_store().put_session(name, current_user.username, **session.stored(), rev=session.rev)
    except SessionConflict as exc:
        current_app.extensions["gridplan_edit_sessions"].pop((current_user.username, name), None)
        abort(409, description=str(exc))


def _grid_columns(grids) -> list:
    """The grid figures the editor sends (``locked`` once a grid has been locked)."""
    return _GRID_COLUMNS + [c for c in ("locked",) if c in grids.columns]


def _grid_rows(plan: geo.Plan, graph=None) -> list[dict]:
    """The grids' figures, each with the ``number`` people read (:func:`maps.names.grid_numbers`),
    and, once the session has its graph, ``why`` an undersize grid cannot grow (as its grid page and
    ``gridplan check`` say it, :func:`partitioning.undersize.undersize_reasons`)."""

    frame = plan.grids[_grid_columns(plan.grids)].assign(number=grid_numbers(plan))
    small = plan.grids.index[plan.grids["status"] == "undersize"]
    if graph is not None and len(small):
        language = _data.lang()
        frame["why"] = frame.index.map({e["grid_id"]: undersize_text(e, language)
                                        for e in undersize_reasons(plan, graph, grid_ids=small)})
    return json.loads(frame.reset_index().to_json(orient="records", force_ascii=False))


def _geojson_text(plan: geo.Plan, ids, *, colours: bool = False) -> str:
    """The grids ``ids`` as GeoJSON in EPSG:4326 (exact polygons, 6 decimals), shifted to ``?datum=``;
    with ``colours``, each grid's colour on the web maps (:func:`maps.web.colours.grid_colours`, every
    neighbour different), so that the page need not work them out (1.6 s for 7,400 grids)."""

    grids = plan.grids.loc[list(ids)]
    frame = to_datum(round_lonlat(to_lonlat(grids[_grid_columns(grids) + [grids.geometry.name]])), _data.datum_arg())
    if colours:
        frame["colour"] = frame.index.map(grid_colours(plan.grids))
    return frame.to_json(drop_id=False, ensure_ascii=False, to_wgs84=False)


def _geojson(plan: geo.Plan, ids) -> dict:
    return json.loads(_geojson_text(plan, ids))


def _send_geojson(text: str):
    """A whole layer of the session: gzipped when the browser accepts it (Suzhou's grids: 2.4 MB →
    about 0.5 MB), with an ETag so that reloading an unchanged session sends nothing."""
    return _data.send(_data.Payload.of(text), "application/geo+json")


def _state(name: str, session: EditSession) -> dict:
    return {"plan": name, "user": current_user.username, "role": current_user.role,
            "base_version": session.base, "latest_version": version_store().latest(name),
            "can_undo": session.pos > 0, "can_redo": session.pos < len(session.plans) - 1,
            "operations": [{"op": o["op"], "args": o["args"]} for o in session.ops[:session.pos]],
            "warnings": [_say_notice(n, session.plan) for n in session.notices],
            "metrics": session.plan.meta.get("metrics"),
            "grids": _grid_rows(session.plan, session.graph), "csrf_token": generate_csrf()}


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, description="send a JSON object")
    return body


#: Bounds of the editor API's arguments: a seed is 0 … MAX_SEED, a list of buildings or grids holds
#: at most MAX_IDS ids (each a string or integer), a version comment at most MAX_COMMENT characters.
MAX_SEED = 1000
MAX_IDS = 50_000
MAX_COMMENT = 500


def _unprocessable(word: str, **values):

    abort(422, description=text(word, _data.lang()).format(**values))


def _args(op: str, body: dict) -> dict:
    """The arguments of operation ``op`` from a request body; 400 when one is missing, 422 when
    one is out of bounds (:data:`MAX_SEED`, :data:`MAX_IDS`)."""
    def need(key, kind):
        value = body.get(key)
        if not isinstance(value, kind) or (isinstance(value, list) and not value):
            abort(400, description=f"{op}: give {key!r}")
        if isinstance(value, list) and (len(value) > MAX_IDS or not all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in value)):
            _unprocessable("edit_bad_ids", op=op, key=key, most=MAX_IDS)
        return value

    seed = body.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        _unprocessable("edit_bad_number", op=op, key="seed", most=MAX_SEED)
    if op == "move":
        return {"building_ids": [str(b) for b in need("buildings", list)], "to_grid": str(need("to_grid", str))}
    if op == "merge":
        grids = need("grids", list)
        if len(grids) != 2:
            abort(400, description="merge: give two grids")
        return {"a": str(grids[0]), "b": str(grids[1])}
    if op == "split":
        return {"grid": str(need("grid", str)), "seed": seed}
    if op == "rerun":
        return {"grids": [str(g) for g in need("grids", list)], "seed": seed}
    return {"grids": [str(g) for g in need("grids", list)], "locked": op == "lock"}


def _comment(body: dict, default: str = "") -> str:
    """The version comment of a save or restore; 422 when it is not text or longer than :data:`MAX_COMMENT`."""
    comment = body.get("comment") or default
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        _unprocessable("edit_bad_comment", most=MAX_COMMENT)
    return comment


# --- routes ------------------------------------------------------------------------------------------

@bp.get("/edit")
def edit_state(name: str):
    """The edit session's state (an empty session on the latest version when there is none)."""
    require_editor()
    with _user_session(name) as session:
        _warm(name, session)
        return _state(name, session)


def _warm(name: str, session: EditSession) -> None:
    """Build the session's contiguity graph in the background when the page opens: the first
    selection and edit need it, and it takes 1.3 s on Suzhou, 6 s on 22,000 buildings."""
    if session.graph is not None:
        return
    app = current_app._get_current_object()

    def build():
        with app.app_context():
            try:
                session.contiguity()
            except Exception:  # the request that needs the graph builds it again and reports
                logger.exception("plan %s: building the contiguity graph in the background failed", name)

    Thread(target=build, name=f"gridplan-graph-{name}", daemon=True).start()


@bp.post("/edit/<op>")
def edit(name: str, op: str):
    """An operation (move, merge, split, rerun, lock, unlock), undo, redo, or reload."""
    require_editor()
    body = _body()
    if op == "reload":
        return _reload(name)
    if op not in ("undo", "redo", "move", "merge", "split", "rerun", "lock", "unlock"):
        abort(404, description=f"no edit operation {op!r}")
    t0 = time.perf_counter()
    with _user_session(name) as session:
        before = session.plan
        if op in ("undo", "redo"):
            step = -1 if op == "undo" else 1
            if not 0 <= session.pos + step < len(session.plans):
                abort(409, description=f"nothing to {op}")
            session.pos += step
            changed = _changed_grids(before, session.plan)
            removed = [g for g in before.grids.index if g not in session.plan.grids.index]
        else:
            try:
                result = session.apply("lock" if op == "unlock" else op, _args(op, body))
            except GridplanError as exc:  # refused edits, and plans without cells
                return _refused(exc, before)
            changed, removed = result.changed, result.removed
        _persist(name, session)
        plan = session.plan
        members = plan.buildings["grid_id"].astype(str)
        out = {**_state(name, session), "changed": _geojson(plan, changed), "removed": removed,
               "buildings": members[members.isin(changed).to_numpy()].to_dict(),
               "elapsed_ms": round(1000 * (time.perf_counter() - t0), 1)}
    return out


def _named(fields: dict, plan: geo.Plan, language: str) -> dict:
    """``fields`` with their grid and building ids (``editing.GRID_FIELDS``, ``BUILDING_FIELDS``)
    as people know them: a grid's number, a building's name or address (:mod:`maps.names`)."""

    out = dict(fields)
    for key, value in fields.items():
        ids = value if isinstance(value, (list, tuple)) else [value]
        if key in editing.GRID_FIELDS:
            out[key] = join([grid_number(plan, g) for g in ids], language)
        elif key in editing.BUILDING_FIELDS:
            out[key] = join(building_labels(plan, ids, lang=language).values(), language)
    return out


def _say(exc: GridplanError, plan: geo.Plan) -> str:
    """Why an edit on ``plan`` was refused, in the page's language (``?lang=``, cookie, default
    Chinese), naming grids by number and buildings by name: never by internal id."""

    reason = getattr(exc, "reason", None)
    if reason is None:
        return str(exc)
    language = _data.lang()
    return text(f"refused_{reason}", language).format(**_named(exc.params, plan, language))


def _say_notice(notice: dict, plan: geo.Plan) -> str:
    """An edit's warning (``EditResult.notices``) on ``plan`` in the page's language."""

    language = _data.lang()
    fields = {**_named(notice, plan, language), "status": text(f"status_{notice.get('status')}", language)}
    said = text(f"warning_{notice['reason']}", language).format(**fields)
    if "why" in notice:  # an undersize grid: why it cannot grow, as its grid page says
        said += text("warning_why", language).format(why=undersize_text(notice["why"], language))
    return said


def _refused(exc: GridplanError, plan: geo.Plan):
    """422 with the reason in the page's language, its key (``reason``, see ``editing.REFUSALS``)
    and its fields with the grids' and buildings' ids (``fields``, for programs)."""
    return {"error": _say(exc, plan), "status": 422, "reason": getattr(exc, "reason", None),
            "fields": getattr(exc, "params", None)}, 422


def _changed_grids(a: geo.Plan, b: geo.Plan) -> list:
    """Grids of ``b`` whose buildings, households or lock differ from ``a``."""
    cols = ["households", "n_buildings"] + [c for c in ("locked",) if c in b.grids.columns]
    old = a.grids.reindex(b.grids.index)
    differs = (old[cols].reindex(columns=cols) != b.grids[cols]).any(axis=1)
    members_a = a.buildings.groupby("grid_id").groups
    members_b = b.buildings.groupby("grid_id").groups
    return [g for g in b.grids.index
            if differs[g] or set(members_a.get(g, [])) != set(members_b.get(g, []))]


def _reload(name: str):
    """Start again on the latest version and replay this session's operations; report the ones refused."""
    with _user_session(name) as old:
        ops, rev = old.ops[:old.pos], old.rev
        latest = version_store().latest(name)
        session = _new_session(name, latest, rev=rev)
        refused = []
        for o in ops:
            try:
                session.apply(o["op"], o["args"])
            except editing.EditError as exc:
                refused.append({"op": o["op"], "args": o["args"], "reason": _say(exc, session.plan),
                                "reason_key": exc.reason})
        _persist(name, session)
        current_app.extensions["gridplan_edit_sessions"][(current_user.username, name)] = session
        return {**_state(name, session), "refused": refused}


@bp.get("/edit/grids.geojson")
def edit_grids(name: str):
    """Every grid of the edit session's current plan as GeoJSON (EPSG:4326, or ``?datum=gcj02``)."""
    require_editor()
    with _user_session(name) as session:
        return _send_geojson(_geojson_text(session.plan, session.plan.grids.index, colours=True))


@bp.get("/edit/buildings.geojson")
def edit_buildings(name: str):
    """Every building of the edit session's current plan with its grid (GeoJSON, display geometry)."""

    require_editor()
    with _user_session(name) as session:
        return _send_geojson(layer_geojson(session.plan, "buildings", datum=_data.datum_arg()))


@bp.get("/edit/targets")
def edit_targets(name: str):
    """The grids the selected buildings (``?buildings=ID``, repeated or comma-separated) may move to."""
    require_editor()
    ids = [b for arg in request.args.getlist("buildings") for b in arg.split(",") if b]
    if not ids:
        abort(400, description="targets: give ?buildings=ID")
    with _user_session(name) as session:
        try:
            return editing.move_targets(session.plan, session.contiguity(), ids)
        except GridplanError as exc:
            return _refused(exc, session.plan)


@bp.get("/versions")
def versions(name: str):
    """The plan's versions, newest first, each with its diff against its parent."""
    require_editor()
    version_store().ensure(name, _data.plan_path(name))
    return {"plan": name, "versions": [_said_version(v) for v in version_store().versions(name)]}


def _said_version(version: dict) -> dict:
    """A version with the comment the plan file itself made (version 1, changes outside the
    editor) or a restore's default comment in the page's language; users' comments stay as written."""

    words = {FIRST_COMMENT: "editor_file_version", OUTSIDE_COMMENT: "editor_outside_version"}
    comment = version.get("comment") or ""
    if version.get("author") == FILE_AUTHOR and comment in words:
        return {**version, "comment": text(words[comment], _data.lang())}
    restored = re.fullmatch(r"restored version (\d+)", comment)
    if restored:  # the default comment of a restore
        return {**version, "comment": text("editor_restored_comment", _data.lang()).format(v=restored[1])}
    return version


@bp.post("/versions")
def save(name: str):
    """Save the edit session's plan as a new version (409 when its base is not the latest)."""
    require_editor()
    body = _body()
    with _user_session(name) as session:
        base = body.get("base_version", session.base)
        if base != session.base:
            abort(409, description=f"this edit session is based on version {session.base}, not {base}")
        version = _commit(name, session.plan, base=base, parent=session.plans[0], comment=_comment(body),
                          make_graph=lambda _plan: session.contiguity())
        _restart(name, version, session.plan if version == base + 1 else None)  # else saved on a later version
    return {"version": version, "plan": name}, 201


@bp.post("/versions/<int:version>/restore")
def restore(name: str, version: int):
    """Make version ``version`` the latest again (as a new version; nothing is lost)."""
    require_editor()
    body = _body()
    latest = version_store().ensure(name, _data.plan_path(name))
    base = body.get("base_version", latest)
    try:
        old = version_store().load(name, version)
    except KeyError:
        abort(404, description=f"plan {name}: no version {version}")
    parent = version_store().load(name, latest)
    new = _commit(name, old, base=base, parent=parent, comment=_comment(body, f"restored version {version}"))
    _restart(name, new, old if new == base + 1 else None)
    return {"version": new, "restored": version, "plan": name}, 201


def _commit(name: str, plan: geo.Plan, *, base, parent, comment, make_graph=None) -> int:
    if not isinstance(base, int):
        abort(400, description="base_version must be an integer")
    try:
        return version_store().save(name, plan, base=base, author=current_user.username, comment=str(comment),
                                    parent_plan=parent, path=_data.plan_path(name), make_graph=make_graph)
    except VersionConflict as exc:
        abort(409, description=str(exc))


def _restart(name: str, version: int, plan: geo.Plan | None) -> None:
    """After a save by this user: an empty session on the new version (stored by the save; its plan
    loaded from the store when ``plan`` is None)."""
    stored = version_store().session(name, current_user.username)
    current_app.extensions["gridplan_edit_sessions"][(current_user.username, name)] = _new_session(
        name, version, rev=stored["rev"], plan=plan)


def init_app(app) -> None:
    """The edit sessions and the routes; the version store opens on first use."""
    app.extensions["gridplan_versions"] = None
    app.extensions["gridplan_edit_sessions"] = {}
    app.extensions["gridplan_edit_locks"] = {}
    app.extensions["gridplan_edit_graphs"] = {}
    app.extensions["gridplan_graph_locks"] = {}
    app.extensions["gridplan_edit_lock"] = RLock()
    app.context_processor(lambda: {"may_edit": may_edit()})
    app.register_blueprint(bp)
