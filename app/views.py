"""Pages: the index of plans and each plan's map. Thin: reading is geo's, drawing is maps'."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, render_template, request

import geo
from maps.i18n import LANGUAGES, text

bp = Blueprint("maps", __name__)


def _lang() -> str:
    lang = request.args.get("lang", current_app.config["DEFAULT_LANGUAGE"])
    return lang if lang in LANGUAGES else current_app.config["DEFAULT_LANGUAGE"]


@lru_cache(maxsize=32)
def _plan(path: Path, mtime: float) -> geo.Plan:
    return geo.read_plan(path)


@lru_cache(maxsize=64)
def _map_html(path: Path, mtime: float, lang: str, basemap: str) -> str:
    from maps.webmap import plan_map

    return plan_map(_plan(path, mtime), lang=lang, tiles=basemap or None).get_root().render()


def _plan_file(name: str) -> Path:
    path = current_app.config["PLAN_FILES"].get(name)
    if path is None:
        abort(404, description=f"{text('plan', _lang())} “{name}”: {text('not_found', _lang())}")
    return path


@bp.get("/")
def index():
    lang = _lang()
    rows = []
    for name, path in current_app.config["PLAN_FILES"].items():
        plan = _plan(path, path.stat().st_mtime)
        m = plan.meta.get("metrics", {})
        rows.append({"name": name, "grids": len(plan.grids), "buildings": len(plan.buildings),
                     "households": int(plan.buildings["households"].sum()),
                     "target": plan.meta.get("target"),
                     "balance": m.get("share_within_tolerance"),
                     "updated": plan.meta.get("written", "")})
    return render_template("index.html", rows=rows, lang=lang, t=lambda k: text(k, lang))


@bp.get("/plans/<name>/")
def plan_map(name: str):
    path = _plan_file(name)
    html = _map_html(path, path.stat().st_mtime, _lang(), current_app.config["BASEMAP"])
    return Response(html, mimetype="text/html")


@bp.get("/healthz")
def health():
    return {"status": "ok", "plans": len(current_app.config["PLAN_FILES"])}


def register_error_pages(app) -> None:
    @app.errorhandler(404)
    def not_found(err):
        lang = _lang()
        return render_template("error.html", code=404, message=err.description, lang=lang,
                               t=lambda k: text(k, lang)), 404
