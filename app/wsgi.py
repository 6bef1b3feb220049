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


def warm(app: Flask, *, languages=None) -> int:
    """Render each plan's index, community map and GeoJSON once; returns the pages rendered."""
    languages = languages or [app.config["DEFAULT_LANGUAGE"]]
    client, n = app.test_client(), 0
    for name in app.config["PLAN_FILES"]:
        for lang in languages:
            for url in (f"/?lang={lang}", f"/plans/{name}/?lang={lang}", f"/api/plans/{name}/grids.geojson?lang={lang}",
                        f"/api/plans/{name}/buildings.geojson"):
                resp = client.get(url, headers={"Accept-Encoding": "gzip"})
                n += resp.status_code == 200
    logger.info("warmed %d pages", n)
    return n


def run_production(app: Flask, *, host: str = "127.0.0.1", port: int = 5000, workers: int | None = None,
                   threads: int = 8, access_log: bool = False) -> None:
    """Serve ``app`` with gunicorn until interrupted."""
    from gunicorn.app.base import BaseApplication

    options = {"bind": f"{host}:{port}", "workers": workers or default_workers(), "threads": threads,
               "worker_class": "gthread", "preload_app": True, "timeout": 120, "keepalive": 5,
               "accesslog": "-" if access_log else None, "errorlog": "-", "loglevel": "warning"}

    class _Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self):
            return app

    warm(app)
    _Server().run()
