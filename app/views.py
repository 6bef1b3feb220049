"""Pages: the plans, a community's grid map, a grid's battle map, the plan editor, search and downloads.

Thin: reading is ``geo``'s, drawing is ``maps``'. Each page but the editor's is rendered once per
plan version, language and choice (layout, level, basemap) and then served from the cache, compressed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyogrio
from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

from app import _data
from app._data import Payload, cached, lang, send
from app.auth import access, audit, may_see_residents, words
from app.editor import require_editor
from geo.errors import GridplanError
from geo.plan import atomic_path
from maps.i18n import EDITOR_KEYS, text
from maps.names import building_labels
from maps.web.basemaps import basemap_datum
from maps.web.colours import PALETTE
from maps.web.geojson import layer_geojson
from maps.web.pages import community_map, editor_map, grid_map
from maps.web.queries import escalation_of, grid_card, layout_grids, plan_layouts, plan_people, search_plan
from partitioning.people.roster import SPECIAL_FLAGS, mask_phone

__all__ = ["bp", "register_error_pages", "map_options"]

bp = Blueprint("maps", __name__)


def _t():

    return words()


def residents(p, grid_id) -> list[dict]:
    """The special households of a grid (flagged household points: name, address, flags) when
    the visitor may see them (:func:`app.auth.may_see_residents`); else an empty list."""


    points = p.layers.get("households")
    if points is None or "building_id" not in points.columns or not may_see_residents(p, grid_id):
        return []
    points = pd.DataFrame(points).reset_index()
    flags = [c for c in points.columns if c.startswith("flag_") or c in SPECIAL_FLAGS]
    in_grid = points["building_id"].astype(str).map(p.buildings["grid_id"].astype(str)) == str(grid_id)
    flagged = pd.DataFrame({c: pd.to_numeric(points[c], errors="coerce").fillna(0) > 0 for c in flags})
    rows = points[in_grid.to_numpy(dtype=bool) & flagged.any(axis=1).to_numpy(dtype=bool)]
    labels = building_labels(p, rows["building_id"].astype(str), lang=lang())
    return [{"household_id": str(r.get("household_id", "")), "building_id": str(r["building_id"]),
             "building": labels[str(r["building_id"])],
             "name": None if pd.isna(r.get("name")) else str(r.get("name")),
             "address": None if pd.isna(r.get("address")) else str(r.get("address")),
             "flags": [c.removeprefix("flag_") for c in flags if flagged.at[i, c]]}
            for i, r in rows.iterrows()]


def map_options() -> dict:
    """Basemap and asset options of the maps, from the app's configuration."""
    cfg = current_app.config
    return {"basemap": cfg["BASEMAP"], "basemap_key": cfg["TIANDITU_KEY"], "tiles_url": cfg["TILES_URL"],
            "tiles_attribution": cfg["TILES_ATTRIBUTION"],
            "asset_base": url_for("static", filename="vendor").rstrip("/") if cfg["OFFLINE"] else None}


def map_parts(fmap) -> dict:
    """folium's head, body and script, to place inside our own page."""
    root = fmap.get_root()
    root.render()
    return {"map_head": root.header.render(), "map_html": root.html.render(), "map_script": root.script.render()}


def _wallmap():
    try:
        from maps import wallmap  # matplotlib: loaded by the first print request, not at start
    except ImportError:
        return None
    return wallmap


@bp.get("/")
def index():
    rows = [_data.plan_figures(name, _data.plan(name)[0]) for name in _data.readable_plans()]
    return render_template("index.html", rows=rows, lang=lang(), t=_t())


@bp.get("/plans/<name>/")
def plan_map(name: str):
    """Every grid of the plan on one map; a plan of more than ``FLAT_MAP_MAX_GRIDS`` grids that has
    drill-down units opens at its top unit instead (``?all=1`` still draws every grid)."""
    p, version, units = _data.plan_units(name)
    if units is not None and len(p.grids) > current_app.config["FLAT_MAP_MAX_GRIDS"] and "all" not in request.args:
        return redirect(url_for("drill.page", name=name, **request.args))
    language, choices = lang(), plan_layouts(p)
    layout, level = _data.layout_or_404(p, name)

    def make() -> Payload:
        opts = map_options()
        fmap = community_map(
            p, lang=language, grids=layout_grids(p, layout=layout, level=level), **opts,
            grid_url=url_for("maps.grid_page", name=name, code="__CODE__"),
            buildings_url=url_for("api.buildings_geojson", name=name,
                                  datum="gcj02" if opts["basemap"] == "amap" else None))
        return Payload.of(render_template(
            "community.html", name=name, figures=_data.plan_figures(name, p), choices=choices, layout=layout,
            level=level, lang=language, t=_t(), **map_parts(fmap)))

    key = ("community", *version, language, layout, level, current_app.config["BASEMAP"])
    return send(cached(key, make), "text/html")


@bp.get("/plans/<name>/grids/<code>", strict_slashes=False)
def grid_page(name: str, code: str):

    p, version = _data.plan(name)
    grid_id = _data.grid_id_or_404(p, name, code)
    language = lang()

    special = residents(p, grid_id)

    def make() -> Payload:
        card = grid_card(p, grid_id, lang=language, adjacency=_data.adjacency(p, version),
                         undersize=_data.undersize(p, version, grid_id))
        fmap = grid_map(p, grid_id, lang=language, card=card, **map_options(),
                        grid_url=url_for("maps.grid_page", name=name, code="__CODE__"))
        return Payload.of(render_template(
            "grid.html", name=name, card=card, lang=language, t=_t(), has_sheet=_wallmap() is not None,
            residents=special, escalation=escalation_chain(p, grid_id), **map_parts(fmap)))

    if special:

        audit("residents", target=f"{name}/{code}: {len(special)} household(s)")
    return send(cached(("grid", *version, grid_id, language, current_app.config["BASEMAP"]), make), "text/html")


@bp.get("/plans/<name>/edit")
def edit_page(name: str):
    """The planner's editor: a map and a panel that edit the plan through the editor API.

    Editors and admins only: an anonymous visitor is sent to the login page, another role gets
    404 (as from the API). Not cached: the page draws the user's edit session, which the script
    (``static/editor/main.js`` and its modules) loads from ``/api/plans/<name>/edit…``.
    """


    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    require_editor()
    p, _ = _data.plan(name)
    language, opts = lang(), map_options()
    fmap = editor_map(p, lang=language, **opts)
    config = {"map": fmap.get_name(), "lang": language,
              "api": url_for("editor.edit_state", name=name).removesuffix("/edit"),
              "datum": basemap_datum(opts["basemap"]), "palette": list(PALETTE),
              "grid_url": url_for("maps.grid_page", name=name, code="__CODE__"),
              "words": {k: text(k, language) for k in EDITOR_KEYS}}
    return render_template("editor.html", name=name, lang=language, t=_t(), config=config, **map_parts(fmap))


def escalation_chain(p, grid_id) -> list[dict]:
    """Who the grid calls (网格吹哨、部门报到, :func:`maps.web.queries.escalation_of`) as the visitor may
    see it: nothing for the public, masked phones for viewers."""

    level = access()[0]
    chain = [] if level == "public" else escalation_of(p, grid_id)
    if level == "viewer":
        for c in chain:
            c["phone"] = mask_phone(c.get("phone"))
    return chain


@bp.get("/plans/<name>/search")
def search(name: str):

    p, _ = _data.plan(name)
    query = request.args.get("q", "").strip()
    hits = search_plan(p, query) if query else []
    exact = [h for h in hits if h["kind"] == "grid" and h["grid_code"].lower() == query.lower()]
    exact = exact or [h for h in hits if h["kind"] == "building" and h["building_id"].lower() == query.lower()]
    if len(exact) == 1 or (len(hits) == 1 and hits[0]["kind"] == "grid"):
        hit = (exact or hits)[0]
        anchor = f"b-{hit['building_id']}" if hit["kind"] == "building" else None
        return redirect(url_for("maps.grid_page", name=name, code=hit["grid_code"], _anchor=anchor))

    names = building_labels(p, [h["building_id"] for h in hits if h["kind"] == "building"], lang=lang())
    return render_template("search.html", name=name, query=query, hits=hits, names=names, lang=lang(), t=_t())


def _download(p, version, name: str, fmt: str, *, grid_id=None, code: str | None = None):

    stem = name if code is None else f"{name}-{code}"
    if fmt == "geojson":
        payload = cached(("dl-geojson", *version, grid_id), lambda: Payload.of(
            layer_geojson(p, "grids", grid_id=grid_id, lang=lang())))
        return send(payload, "application/geo+json", download=quote(f"{stem}-grids.geojson"))
    if fmt != "gpkg":
        abort(404, description=f"{fmt}: {text('not_found', lang())} (geojson, gpkg)")
    payload = cached(("dl-gpkg", *version, grid_id), lambda: Payload.of(_gpkg_bytes(p, grid_id)))
    return send(payload, "application/geopackage+sqlite3", download=quote(f"{stem}.gpkg"))


def _gpkg_bytes(p, grid_id) -> bytes:
    """Grids and buildings (of one grid, or all) as a GeoPackage in the plan's metric CRS."""


    grids = p.grids if grid_id is None else p.grids.loc[[grid_id]]
    buildings = p.buildings if grid_id is None else p.buildings[p.buildings["grid_id"] == grid_id]
    with tempfile.TemporaryDirectory() as tmpdir:
        target = Path(tmpdir) / "download.gpkg"
        with atomic_path(target) as tmp:
            pyogrio.write_dataframe(grids.reset_index(), tmp, layer="grids", driver="GPKG")
            pyogrio.write_dataframe(buildings.reset_index(), tmp, layer="buildings", driver="GPKG")
        return target.read_bytes()


@bp.get("/plans/<name>/download.<fmt>")
def plan_download(name: str, fmt: str):
    p, version = _data.plan(name)
    return _download(p, version, name, fmt)


@bp.get("/plans/<name>/grids/<code>/download.<fmt>")
def grid_download(name: str, code: str, fmt: str):
    p, version = _data.plan(name)
    return _download(p, version, name, fmt, grid_id=_data.grid_id_or_404(p, name, code), code=code)


@bp.get("/plans/<name>/grids/<code>/sheet.pdf")
def grid_sheet(name: str, code: str):
    """The printed battle map of the grid (``maps.wallmap``), A3 PDF by default."""
    p, version = _data.plan(name)
    grid_id = _data.grid_id_or_404(p, name, code)
    wallmap = _wallmap()
    if wallmap is None:
        abort(404, description=text("print_sheet", lang()) + ": " + text("not_found", lang()))
    language, base = lang(), request.url_root.rstrip("/")

    def make() -> Payload:

        people = plan_people(p, withheld_as=text("name_withheld", language))
        sheet = wallmap.grid_sheet(p, str(p.grids.at[grid_id, "grid_code"]), lang=language, plan_name=name,
                                   base_url=base, paper=current_app.config["SHEET_PAPER"],
                                   roster=people if len(people) else None,
                                   escalation=escalation_chain(p, grid_id))
        with tempfile.TemporaryDirectory() as tmpdir:
            out = wallmap.save_sheet(sheet, Path(tmpdir) / "sheet.pdf")
            return Payload.of(out.read_bytes())

    payload = cached(("sheet", *version, grid_id, language, base), make)  # per access level (masked chain)
    return send(payload, "application/pdf", download=quote(f"{name}-{code}.pdf"))


@bp.get("/healthz")
def health():
    return {"status": "ok", "plans": len(current_app.config["PLAN_FILES"])}


def register_error_pages(app) -> None:
    """404 and other errors: a page with the message, or JSON under ``/api/``."""


    def _page(code: int, message: str):
        if request.path.startswith("/api/"):
            return {"error": message, "status": code}, code
        return render_template("error.html", code=code, message=message, lang=lang(), t=_t()), code

    @app.errorhandler(HTTPException)
    def http_error(err):
        message = err.description
        if isinstance(err, NotFound) and message == NotFound.description:
            message = f"{request.path}: {text('page_not_found', lang())}"
        if isinstance(err, RequestEntityTooLarge):
            limit = request.max_content_length or current_app.config["MAX_CONTENT_LENGTH"]
            message = text("too_large", lang()).format(limit=limit)
        return _page(err.code, message)

    @app.errorhandler(GridplanError)
    def gridplan_error(err):
        current_app.logger.warning("%s: %s", request.path, err)
        message = str(err)
        for name, path in current_app.config["PLAN_FILES"].items():  # server paths go to the log only
            message = message.replace(str(path), name).replace(str(path.parent), "…")
        return _page(500, message)
