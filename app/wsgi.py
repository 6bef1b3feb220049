"""Production serving: gunicorn (threaded workers) with the pages pre-rendered before forking.

``gridplan serve --production`` calls :func:`run_production`. The app is created and its plans'
community maps and GeoJSON are rendered in the master process (``preload_app``), so every
forked worker starts with them cached; workers are ``gthread`` so a slow client does not hold
a whole process.
"""

from __future__ import annotations

import logging
import os

from flask import Flask

__all__ = ["default_workers", "warm", "run_production"]

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


def _render(urls: list[str]) -> list:
    """In a forked process: render ``urls`` and hand back the documents made (not the plans)."""
    from app._data import Payload

    cache = _WARMING.extensions["gridplan_cache"]
    before = set(cache.items)
    client = _WARMING.test_client()
    for url in urls:
        client.get(url, headers={"Accept-Encoding": "gzip"})
    return [(k, v) for k, v in cache.items.items() if k not in before and isinstance(v, Payload)]


def warm(app: Flask, *, languages=None, grids: bool = False, processes: int = 1) -> int:
    """Render each plan's pages and documents into the app's cache; returns how many were requested.

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
    _WARMING = app
    _render(plans)  # plans, community maps and GeoJSON here: forked processes inherit them
    if processes > 1 and len(per_grid) >= 2 * processes:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for made in pool.map(_render, [per_grid[i::processes] for i in range(processes)]):
                for key, payload in made:
                    app.extensions["gridplan_cache"].get(key, lambda payload=payload: payload)
    else:
        _render(per_grid)
    _WARMING = None
    logger.info("warmed %d pages and documents", len(plans) + len(per_grid))
    return len(plans) + len(per_grid)


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
               "worker_exit": _flush_audit, "accesslog": "-" if access_log else None, "errorlog": "-", "loglevel": "warning"}

    class _Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self):
            return app

    warm(app, grids=True, processes=os.cpu_count() or 1)
    _Server().run()
