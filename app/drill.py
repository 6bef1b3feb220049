"""Drill-down pages: the plan's top units (streets or communities) with their figures, one level down
per click, down to the grids; their per-unit API (``docs/web.md``).

Thin: the units and their figures are :mod:`maps.web.drill`'s. Each page and document is one unit's
children only, made on its first request and then served from the cache with its ETag and gzip
(:mod:`app._data`), per access level: a public visitor's figures have no special households, and
nobody's have names (counts only).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, url_for

from app import _data
from app._data import Payload, cached, lang, send, send_json
from app.auth import words
from app.views import map_options, map_parts
from maps.i18n import DRILL_KEYS, text
from maps.web.basemaps import basemap_datum
from maps.web.drill import drill_map, unit_buildings, unit_document, unit_figures, unit_summary
from maps.web.geojson import layer_geojson

__all__ = ["bp", "init_app"]

bp = Blueprint("drill", __name__)


def init_app(app) -> None:
    app.register_blueprint(bp)
    app.add_template_global(_data.has_units)


def _units(name: str):
    """:func:`app._data.plan_units` and the units' figures (per access level); 404 for a plan without units."""
    p, version, units = _data.plan_units(name)
    if units is None:
        abort(404, description=f"{text('plan', lang())} “{name}”: {text('drill_no_units', lang())}")
    return p, version, units, cached(("unit-figures", *version), lambda: unit_figures(p, units))


def _key_or_404(units, name: str, code: str | None):
    if code is None:
        return None
    key = units.by_code(code)
    if key is None:
        abort(404, description=f"{text('plan', lang())} “{name}”: {text('drill_unit_not_found', lang())} “{code}”")
    return key


@bp.get("/plans/<name>/units/", defaults={"code": None})
@bp.get("/plans/<name>/units/<code>")
def page(name: str, code: str | None):
    """The top units of the plan (or unit ``code``'s children): a map, a table sortable by each figure,
    breadcrumbs. The script (``static/drill.js``) fetches :func:`document` and draws it."""
    p, version, units, figures = _units(name)
    key, language = _key_or_404(units, name, code), lang()

    def make() -> Payload:
        opts = map_options()
        datum = basemap_datum(opts["basemap"])
        doc = unit_summary(p, units, figures, key, lang=language, datum=datum)
        fmap = drill_map(doc["bounds"], lang=language, **opts)
        shifted = None if datum == "wgs84" else datum  # the API's ?datum= (coordinates of the basemap's datum)
        config = {"map": fmap.get_name(), "lang": language,
                  "api": url_for("drill.document", name=name, code=code, datum=shifted),
                  "unit_url": url_for("drill.page", name=name, code="__CODE__"),
                  "grid_url": url_for("maps.grid_page", name=name, code="__CODE__"),
                  "buildings_url": url_for("drill.buildings", name=name, code=code, datum=shifted)
                  if doc["buildings"] else None,
                  "words": {**{k: text(k, language) for k in DRILL_KEYS},
                            **{f"flag_{k}": text(f"flag_{k}", language) for k in doc["totals"]["special"]}}}
        return Payload.of(render_template("drill.html", name=name, doc=doc, config=config, lang=language,
                                          t=words(), **map_parts(fmap)))

    key_ = ("drill-page", *version, key, language, current_app.config["BASEMAP"])
    return send(cached(key_, make), "text/html")


@bp.get("/api/plans/<name>/units/", defaults={"code": None})
@bp.get("/api/plans/<name>/units/<code>")
def document(name: str, code: str | None):
    """The unit's children as GeoJSON with their figures, its breadcrumbs and totals
    (:func:`maps.web.drill.unit_document`)."""
    p, version, units, figures = _units(name)
    key, datum, language = _key_or_404(units, name, code), _data.datum_arg(), lang()
    return send_json(("units", *version, key, datum, language),
                     lambda: unit_document(p, units, figures, key, lang=language, datum=datum))


@bp.get("/api/plans/<name>/units/<code>/buildings.geojson")
def buildings(name: str, code: str):
    """The buildings of a unit of the last level (a community): 404 for units above it, whose
    buildings would be too many for one page."""
    p, version, units, _ = _units(name)
    key, datum = _key_or_404(units, name, code), _data.datum_arg()
    if units.units.at[key, "level"] != units.levels[-1]:
        abort(404, description=f"{code}: {text('drill_buildings_lowest', lang())}")
    payload = cached(("unit-buildings", *version, key, datum),
                     lambda: Payload.of(layer_geojson(unit_buildings(p, units, key), "buildings", datum=datum)))
    return send(payload, "application/geo+json")
