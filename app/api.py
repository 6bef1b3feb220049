"""The JSON/GeoJSON API the pages use, described by ``app/openapi.json`` (served at
``/api/openapi.json``). GeoJSON is in EPSG:4326, simplified and rounded for display; errors are
``{"error": message, "status": code}``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, request

from app import _data
from app._data import Payload, cached, lang, send, send_json
from maps.i18n import text
from maps.web.geojson import layer_geojson
from maps.web.queries import grid_card, layout_grids, plan_people, search_plan

__all__ = ["bp", "OPENAPI_PATH"]

bp = Blueprint("api", __name__, url_prefix="/api")

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.json"


@bp.get("/openapi.json")
def openapi():
    payload = cached(("openapi", OPENAPI_PATH.stat().st_mtime_ns), lambda: Payload.of(OPENAPI_PATH.read_bytes()))
    return send(payload, "application/json")


@bp.get("/plans")
def plans():
    names = _data.readable_plans()
    versions = tuple(_data.plan(n)[1] for n in names)
    return send_json(("plans", versions), lambda: [_data.plan_figures(n, _data.plan(n)[0]) for n in names])


@bp.get("/plans/<name>")
def plan(name: str):
    p, version = _data.plan(name)
    return send_json(("plan", *version), lambda: _data.plan_figures(name, p))


@bp.get("/plans/<name>/grids.geojson")
def grids_geojson(name: str):

    p, version = _data.plan(name)
    (layout, level), datum, language = _data.layout_or_404(p, name), _data.datum_arg(), lang()
    payload = cached(("grids.geojson", *version, layout, level, datum, language), lambda: Payload.of(
        layer_geojson(p, "grids", lang=language, datum=datum, grids=layout_grids(p, layout=layout, level=level))))
    return send(payload, "application/geo+json")


@bp.get("/plans/<name>/buildings.geojson")
def buildings_geojson(name: str):

    p, version = _data.plan(name)
    datum = _data.datum_arg()
    payload = cached(("buildings.geojson", *version, datum),
                     lambda: Payload.of(layer_geojson(p, "buildings", datum=datum)))
    return send(payload, "application/geo+json")


@bp.get("/plans/<name>/grids/<code>")
def grid(name: str, code: str):

    p, version = _data.plan(name)
    grid_id, language = _data.grid_id_or_404(p, name, code), lang()
    return send_json(("grid", *version, grid_id, language),
                     lambda: grid_card(p, grid_id, lang=language, adjacency=_data.adjacency(p, version),
                                       undersize=_data.undersize(p, version, grid_id)))


@bp.get("/plans/<name>/grids/<code>/buildings.geojson")
def grid_buildings_geojson(name: str, code: str):

    p, version = _data.plan(name)
    grid_id, datum = _data.grid_id_or_404(p, name, code), _data.datum_arg()
    payload = cached(("grid-buildings.geojson", *version, grid_id, datum),
                     lambda: Payload.of(layer_geojson(p, "buildings", grid_id=grid_id, datum=datum)))
    return send(payload, "application/geo+json")


@bp.get("/plans/<name>/buildings/<building_id>")
def building(name: str, building_id: str):
    p, version = _data.plan(name)
    if building_id not in p.buildings.index:
        abort(404, description=f"{name}: {text('building_not_found', lang())} “{building_id}”")

    def make() -> dict:
        b = p.buildings.loc[building_id].drop(labels="geometry")
        return {"building_id": building_id,
                **{k: (None if v is None or v != v else v.item() if hasattr(v, "item") else v)
                   for k, v in b.items()}}

    return send_json(("building", *version, building_id), make)


@bp.get("/plans/<name>/people")
def people(name: str):
    """The grids' people as the caller may see them (see :func:`app.auth.visible_plan`) and the
    staffing figures of the plan's last ``gridplan people assign``."""

    p, version = _data.plan(name)

    def make() -> dict:
        rows = plan_people(p)
        rows = rows[rows["grid_id"].notna() & (rows["grid_id"].astype(str) != "")]
        codes = p.grids["grid_code"].astype(str)
        codes.index = codes.index.astype(str)
        return {"staffing": p.meta.get("staffing"),
                "people": [{"grid_id": str(r.grid_id), "grid_code": codes.get(str(r.grid_id)),
                            **{k: (None if v is None or v != v or v == "" else str(v))
                               for k, v in (("building_id", r.building_id), ("role", r.role),
                                            ("role_label", r.role_label), ("name", r.name), ("phone", r.phone))},
                            "withheld": bool(r.withheld)}
                           for r in rows.itertuples()]}

    return send_json(("people", *version), make)


@bp.get("/plans/<name>/search")
def search(name: str):

    p, _ = _data.plan(name)
    query = request.args.get("q", "")
    try:
        limit = min(100, max(1, int(request.args.get("limit", 20))))
    except ValueError:
        abort(400, description="limit must be a whole number")
    return {"query": query, "hits": search_plan(p, query, limit=limit)}
