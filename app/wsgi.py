"""Production serving: gunicorn (threaded workers) with the plans read before forking.

``gridplan serve --production`` calls :func:`run_production`. The app is created and each plan is read
(with its drill-down units) in the master process (:func:`preload`, gunicorn's ``preload_app``), so every
forked worker starts with them and the server answers within seconds of starting whatever the plans'
size; pages and documents are made on their first request and kept in each worker's cache, bounded
by ``CACHE_SIZE`` and ``CACHE_BYTES`` (:mod:`app._data`). :func:`warm` pre-renders pages for
whoever wants them made before the first visitor. Workers are ``gthread`` so a slow client does not
hold a whole process. A stopping worker writes its queued audit entries (:mod:`app.audit`).
"""

from __future__ import annotations

import logging
import os

from flask import Flask

__all__ = ["default_workers", "preload", "warm", "run_production"]

logger = logging.getLogger(__name__)


def default_workers() -> int:
    """One worker per core (at least 2, at most 8): the work is CPU-bound once cached."""
    return max(2, min(8, os.cpu_count() or 1))


def _urls(app: Flask, languages, grids: bool) -> tuple[list[str], list[str]]:
    """The plans' own pages and documents, and (with ``grids``) every grid's page and card."""
    from app import _data

    plans, per_grid = [f"/?lang={lang}" for lang in languages], []
    for name in app.config["PLAN_FILES"]:
        plans.append(f"/api/plans/{name}/buildings.geojson")
        for lang in languages:
            plans += [f"/plans/{name}/?lang={lang}", f"/api/plans/{name}/grids.geojson?lang={lang}"]
        if grids:
            with app.test_request_context():
                codes = _data.plan(name)[0].grids["grid_code"].astype(str)
            per_grid += [u for lang in languages for c in codes
                         for u in (f"/plans/{name}/grids/{c}?lang={lang}", f"/api/plans/{name}/grids/{c}?lang={lang}")]
    return plans, per_grid


_WARMING: Flask | None = None
#: The roles warm-up renders as (a signed-in user of each, never written to the audit log): staff see
#: their own grids, so their documents are made on the first request.
WARM_ROLES = ("viewer", "editor", "admin")


def _render(urls: list[str], role: str | None = None) -> list:
    """In a forked process: render ``urls`` as ``role`` (anonymous when ``None``) and hand back the
    documents made (not the plans)."""
    from flask import g
    from flask_login import login_user

    from app._data import Payload
    from app.auth import User

    cache = _WARMING.extensions["gridplan_cache"]
    before = set(cache.items)
    for url in urls:
        with _WARMING.test_request_context(url, headers={"Accept-Encoding": "gzip"}):
            g.warming = True  # not a person's view: app.auth does not audit it
            if role is not None:
                login_user(User(f"({role} warm-up)", role, ""))
            _WARMING.full_dispatch_request()
    return [(k, v) for k, v in cache.items.items() if k not in before and isinstance(v, Payload)]


def warm(app: Flask, *, languages=None, grids: bool = False, processes: int = 1) -> int:
    """Render each plan's pages and documents into the app's cache, for each level a visitor of
    this app can have; returns how many were requested.

    The plan's own pages and documents are made for the anonymous visitor (with ``PUBLIC_MAP``) and
    for each of :data:`WARM_ROLES`; with ``grids``, every grid's page and card for the least level
    a visitor can have (anonymous with ``PUBLIC_MAP``, else viewer). Other levels' grid pages are
    made on their first request, so the start stays as long as with one level.

    Parameters
    ----------
    app : Flask
    languages : list of str, optional
        Default: the app's ``DEFAULT_LANGUAGE`` only.
    grids : bool
        Every grid's page and card too (a Suzhou grid page takes ~0.15 s to draw).
    processes : int
        Render in this many forked processes (their documents are copied back into ``app``).
    """
    import multiprocessing

    global _WARMING
    languages = languages or [app.config["DEFAULT_LANGUAGE"]]
    plans, per_grid = _urls(app, languages, grids)
    roles = ([None] if app.config["PUBLIC_MAP"] else []) + list(WARM_ROLES)
    _WARMING = app
    for role in roles:  # plans, community maps and GeoJSON here: forked processes inherit them
        _render(plans, role)
    role = roles[0]
    if processes > 1 and len(per_grid) >= 2 * processes:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for made in pool.starmap(_render, [(per_grid[i::processes], role) for i in range(processes)]):
                for key, payload in made:
                    app.extensions["gridplan_cache"].get(key, lambda payload=payload: payload)
    else:
        _render(per_grid, role)
    _WARMING = None
    n = len(plans) * len(roles) + len(per_grid)
    logger.info("warmed %d pages and documents (%s)", n, ", ".join(r or "anonymous" for r in roles))
    return n


def preload(app: Flask) -> int:
    """Read every plan served and its drill-down units into the app's cache (what does not depend
    on who looks), nothing else: forked workers inherit them, and every page and document is made
    on its first request. Returns the number of plans read."""
    from app import _data

    n = 0
    with app.test_request_context():
        for name in _data.readable_plans():
            _data.has_units(name)
            n += 1
    logger.info("read %d plan(s); pages are made on their first request", n)
    return n


def _flush_audit(server, worker) -> None:
    """gunicorn's ``worker_exit`` hook: a worker stopping writes its queued audit entries."""
    from app.audit import flush

    flush()


def run_production(app: Flask, *, host: str = "127.0.0.1", port: int = 5000, workers: int | None = None,
                   threads: int = 8, access_log: bool = False) -> None:
    """Serve ``app`` with gunicorn until interrupted."""
    from gunicorn.app.base import BaseApplication

    options = {"bind": f"{host}:{port}", "workers": workers or default_workers(), "threads": threads,
               "worker_class": "gthread", "preload_app": True, "timeout": 120, "keepalive": 5,
               "worker_exit": _flush_audit, "accesslog": "-" if access_log else None, "errorlog": "-",
               "loglevel": "warning"}

    class _Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self):
            return app

    preload(app)
    _Server().run()
