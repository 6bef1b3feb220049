"""Plans, cached documents and compressed responses shared by the pages and the API.

A plan is read once per file version (path + modification time); every document made from it
(a page, a GeoJSON) is made on its first request and kept in an LRU cache of ``CACHE_SIZE`` entries and
``CACHE_BYTES`` bytes as its bytes, their gzip and an ETag, so a repeated request costs a dictionary look-up and a conditional GET a 304.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Event, Lock

from flask import Response, abort, current_app, request, url_for
from werkzeug.exceptions import HTTPException

import geo
from app.auth import access, visible_plan
from app.language import lang
from maps.i18n import LANGUAGES, text
from maps.web.colours import grid_adjacency
from maps.web.drill import Units
from maps.web.drill import plan_units as _units_of
from maps.web.queries import find_grid, plan_layouts
from partitioning.graph import plan_graph
from partitioning.undersize import needs_reason, undersize_reasons

__all__ = ["Payload", "init_app", "lang", "plan_path", "plan", "plan_figures", "adjacency", "cached", "send", "send_json",
           "layout_or_404", "grid_id_or_404", "datum_arg", "plan_units", "has_units", "undersize"]


@dataclass(frozen=True)
class Payload:
    """A document ready to send: its bytes, their gzip and an ETag."""

    body: bytes
    gz: bytes
    etag: str

    @classmethod
    def of(cls, body: str | bytes) -> Payload:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return cls(data, gzip.compress(data, compresslevel=6, mtime=0), hashlib.sha1(data).hexdigest()[:20])


class _LRU:
    """At most ``size`` entries and ``max_bytes`` bytes of documents (a :class:`Payload` counts its
    bytes and their gzip; plans and other values count nothing), the least recently used going first."""

    def __init__(self, size: int, max_bytes: int | None = None):
        self.size, self.max_bytes, self.items, self.lock = size, max_bytes, OrderedDict(), Lock()
        self.bytes = 0
        self.making: dict = {}  # key → Event set when the thread making it is done

    @staticmethod
    def weight(value) -> int:
        return len(value.body) + len(value.gz) if isinstance(value, Payload) else 0

    def get(self, key, make):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            done = self.making.get(key)
            if done is None:
                self.making[key] = Event()
        if done is not None:  # another thread is making it (a page many ask for at once is made once)
            done.wait()
            with self.lock:
                if key in self.items:
                    self.items.move_to_end(key)
                    return self.items[key]
            return self.get(key, make)  # that thread failed (or it went at once): make it here
        try:
            value = make()  # made outside the lock: other keys are served meanwhile
        except BaseException:
            with self.lock:
                self.making.pop(key).set()
            raise
        with self.lock:
            self.items[key] = value
            self.bytes += self.weight(value)
            while len(self.items) > self.size or (self.max_bytes is not None and self.bytes > self.max_bytes
                                                  and len(self.items) > 1):
                self.bytes -= self.weight(self.items.popitem(last=False)[1])
            self.making.pop(key).set()
        return value


def init_app(app) -> None:
    app.extensions["gridplan_cache"] = _LRU(int(app.config["CACHE_SIZE"]), int(app.config["CACHE_BYTES"]))

    @app.template_global()
    def switch_language_url() -> str:
        """This page in the other language."""
        other = "en" if lang() == "zh" else "zh"
        return url_for(request.endpoint or "maps.index", **(request.view_args or {}),
                       **{**request.args.to_dict(), "lang": other})

    @app.before_request
    def _limit_body():
        """413 from ``Content-Length`` before anything (the CSRF check included) reads the body;
        a view's own limit is :func:`body_limit`'s."""
        view = app.view_functions.get(request.endpoint)
        request.max_content_length = getattr(view, "body_limit", app.config["MAX_CONTENT_LENGTH"])
        if request.max_content_length is not None and (request.content_length or 0) > request.max_content_length:
            abort(413)

    @app.after_request
    def _remember_language(resp):
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            resp.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax")
        return resp


def plan_path(name: str) -> Path:
    """The file of plan ``name``; a 404 with a message when there is none."""
    path = current_app.config["PLAN_FILES"].get(name)
    if path is None:
        abort(404, description=f"{text('plan', lang())} “{name}”: {text('not_found', lang())}")
    return path


def cached(key: tuple, make):
    """``make()`` once per ``key`` (which should hold the plan's path and mtime) and per access
    level of the visitor (:func:`app.auth.access`): what one role sees is never served to another."""
    return current_app.extensions["gridplan_cache"].get((*key, access()), make)


def plan(name: str) -> tuple[geo.Plan, tuple]:
    """Plan ``name`` as the visitor may see it (:func:`app.auth.visible_plan`) and its version key
    ``(path, mtime)`` (read once per version)."""
    path = plan_path(name)
    version = (str(path), path.stat().st_mtime_ns)
    full = current_app.extensions["gridplan_cache"].get(("plan", *version), lambda: _read(name, path))
    return cached(("plan", *version), lambda: visible_plan(full, access())), version


def _read(name: str, path: Path) -> geo.Plan:
    """Read plan ``name``; an unreadable or corrupt file is logged with its path and answers 500
    naming the plan by its URL name only (no server path reaches the visitor)."""
    try:
        return geo.read_plan(path)
    except Exception as exc:  # noqa: BLE001 - GDAL, SQLite and our own errors alike: the file is unusable
        current_app.logger.error("plan %s (%s) is unreadable: %s", name, path, exc)
        abort(500, description=f"{text('plan', lang())} “{name}”: {text('plan_unreadable', lang())}")


def readable_plans() -> list[str]:
    """The names of the served plans that can be read (the others are logged and left out), for
    the index page and ``/api/plans``: one corrupt file does not take the list down."""
    names = []
    for name in current_app.config["PLAN_FILES"]:
        try:
            plan(name)
        except HTTPException:
            continue
        names.append(name)
    return names


def body_limit(size: int):
    """Decorator: the view accepts request bodies up to ``size`` bytes instead of the app's
    ``MAX_CONTENT_LENGTH`` (set as Flask's ``request.max_content_length`` before any view or CSRF
    check runs): larger ones get 413 from their ``Content-Length``, before the body is read. Put it
    under the route decorator. An upload route says ``@body_limit(200 * 2**20)``."""
    def decorate(view):
        view.body_limit = size
        return view
    return decorate


def plan_figures(name: str, p: geo.Plan) -> dict:
    """The figures of a plan the index page and ``/api/plans`` show."""

    m = p.meta.get("metrics", {}) or {}
    return {"name": name, "grids": len(p.grids), "buildings": len(p.buildings),
            "households": int(p.buildings["households"].sum()), "target": p.meta.get("target"),
            "tolerance": p.meta.get("tolerance"), "share_within_tolerance": m.get("share_within_tolerance"),
            # over all grids and households, towers included (partitioning.metrics); None in older plans
            **{k: m.get(k) for k in ("share_within_tolerance_all", "share_households_within", "oversize_grids",
                                     "oversize_households")},
            "households_min": m.get("households_min"), "households_max": m.get("households_max"),
            "crs": p.meta.get("crs"), "written": p.meta.get("written"), **plan_layouts(p)}


def adjacency(p: geo.Plan, version: tuple):
    """The plan's grid adjacency (kept: every grid page and card needs it)."""

    return cached(("adjacency", *version), lambda: grid_adjacency(p.grids))


def undersize(p: geo.Plan, version: tuple, grid_id) -> list:
    """Why each undersize grid of the plan cannot grow (:func:`partitioning.undersize.undersize_reasons`,
    with the plan's graph), for the card of grid ``grid_id``: made once per version, when a page first
    shows an undersize grid (or one without households); empty for any other grid."""
    if not needs_reason(p.grids.loc[[grid_id]]).iloc[0]:
        return []
    return cached(("undersize", *version), lambda: undersize_reasons(p, plan_graph(p)))


def layout_or_404(p: geo.Plan, name: str) -> tuple[str, str | None]:
    """The ``?layout=`` and ``?level=`` asked for, when the plan has them; else a 404."""

    choices = plan_layouts(p)
    layout, level = request.args.get("layout", "normal"), request.args.get("level") or None
    if layout not in choices["layouts"] or (level is not None and level not in choices["levels"]):
        abort(404, description=f"{text('plan', lang())} “{name}”: {layout} / {level}: {text('not_found', lang())}")
    return layout, level


def plan_units(name: str) -> tuple[geo.Plan, tuple, Units | None]:
    """Plan ``name`` as the visitor may see it, its version and its drill-down units (``None`` without
    any, :func:`maps.web.drill.plan_units`): one copy per plan version, as who looks does not change them."""
    p, version = plan(name)
    return p, version, current_app.extensions["gridplan_cache"].get(("units", *version), lambda: _units_of(p))


def has_units(name: str) -> bool:
    """Whether plan ``name`` has units to drill down (for the links of other pages)."""
    return plan_units(name)[2] is not None


def datum_arg() -> str:
    """The request's ``?datum=`` (``wgs84``, the default, or ``gcj02``: coordinates for a basemap in
    China's datum); 400 for anything else."""
    datum = request.args.get("datum", "wgs84")
    if datum not in ("wgs84", "gcj02"):
        abort(400, description=f"datum must be wgs84 or gcj02, not {datum!r}")
    return datum


def grid_id_or_404(p: geo.Plan, name: str, code: str):

    grid_id = find_grid(p, code)
    if grid_id is None:
        abort(404, description=f"{text('plan', lang())} “{name}”: {text('grid_not_found', lang())} “{code}”")
    return grid_id


def send(payload: Payload, mimetype: str, *, download: str | None = None, max_age: int = 60) -> Response:
    """Send a cached document: gzip when the client accepts it, 304 when its ETag matches."""
    if request.if_none_match.contains(payload.etag):
        resp = Response(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        resp = Response(payload.gz, mimetype=mimetype)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(payload.body, mimetype=mimetype)
    resp.set_etag(payload.etag)
    resp.headers["Vary"] = "Accept-Encoding, Cookie"
    resp.headers["Cache-Control"] = f"public, max-age={max_age}"  # private for signed-in users (app.auth)
    if download:
        resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{download}"
    return resp


def send_json(key: tuple, make, **kwargs) -> Response:
    """Send ``make()`` (JSON-ready values) as a cached, compressed JSON document."""
    payload = cached(("json", *key), lambda: Payload.of(json.dumps(make(), ensure_ascii=False, default=str)))
    return send(payload, "application/json", **kwargs)
