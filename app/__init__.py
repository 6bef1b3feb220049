"""gridplan's Flask application and command line.

``create_app`` is the app factory (as in Flask's tutorial): configuration comes from the
defaults below, then the instance folder's ``config.py``, then the ``test_config`` mapping.
Views stay thin: they call ``geo`` and ``maps``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

__all__ = ["create_app", "find_plans"]


def find_plans(paths) -> dict:
    """Map a URL-safe name to each plan file given (files or folders of ``*.gpkg``)."""
    from geo.errors import PlanFileError

    found = {}
    for p in map(Path, paths):
        if not p.exists():
            raise PlanFileError(f"{p}: no such plan file or folder")
        for f in sorted(p.glob("*.gpkg")) if p.is_dir() else [p]:
            name, n = f.stem, 2
            while name in found:
                name, n = f"{f.stem}-{n}", n + 1
            found[name] = f.resolve()
    if not found:
        raise PlanFileError(f"no plan files (*.gpkg) in {', '.join(map(str, paths))}")
    return found


def create_app(test_config: dict | None = None) -> Flask:
    """Create the gridplan web app.

    Parameters
    ----------
    test_config : dict, optional
        Overrides; ``PLANS`` lists plan files or folders to serve.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(PLANS=[], DEFAULT_LANGUAGE="zh", BASEMAP="OpenStreetMap",
                            JSON_AS_ASCII=False)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    app.config["PLAN_FILES"] = find_plans(app.config["PLANS"])

    from app import views

    app.register_blueprint(views.bp)
    views.register_error_pages(app)
    return app
