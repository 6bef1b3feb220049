"""``gridplan serve``: the web app on one or more plans, or on a PostGIS database's plans.

Registered on the command group in :mod:`app.cli`; imports inside the body, as there, so that
``gridplan --help`` does not load Flask and the maps.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["serve"]


@click.command()
@click.argument("plans", metavar="PLAN...", nargs=-1, type=click.Path())
@click.option("--db", "db_url", envvar="GRIDPLAN_DB", help="Keep plans, versions, edit sessions, users and the audit "
              "log in this PostgreSQL/PostGIS database (postgresql://…, or $GRIDPLAN_DB) and serve its plans; see "
              "docs/deploy.md.")
@click.option("--db-folder", type=click.Path(file_okay=False), default="gridplan-db", show_default=True,
              help="With --db: the folder of the plan files the web app reads, copies of the database's plans.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=5000, show_default=True, help="Port to listen on.")
@click.option("--basemap", type=click.Choice(["osm", "tianditu-vec", "tianditu-img", "amap", "intranet", "none"]),
              help="Basemap [default: intranet with --tiles-url, else none; with --online: osm]. osm, tianditu-* "
                   "and amap load tiles from the internet and need --online.")
@click.option("--tiles-url", help="Intranet tile URL template, e.g. http://tiles.local/{z}/{x}/{y}.png.")
@click.option("--tianditu-key", envvar="GRIDPLAN_TIANDITU_KEY", help="Tianditu browser key (or $GRIDPLAN_TIANDITU_KEY).")
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Default language of the pages [default: zh].")
@click.option("--online", is_flag=True, help="Load scripts, styles and icons from the npm CDN and allow internet "
              "basemaps (OFFLINE = False). By default the app serves them itself: no request leaves the server.")
@click.option("--offline", is_flag=True, help="The default; accepted so that existing scripts keep working.")
@click.option("--production", is_flag=True, help="Serve with gunicorn (threaded workers; plans read before forking, pages made on first request).")
@click.option("--workers", type=click.IntRange(min=1), help="gunicorn worker processes [default: one per core, 2–8].")
@click.option("--public", is_flag=True, help="Anonymous visitors see the maps: grids and counts only, no names (PUBLIC_MAP).")
def serve(plans, db_url, db_folder, host, port, basemap, tiles_url, tianditu_key, lang, online, offline, production,
          workers, public):
    """Serve the maps of one or more plans (files or folders of *.gpkg).

    Offline by default: every script, style, font and icon comes from the app itself (vendored by
    `python -m app.vendor`), and the basemap is intranet tiles (--tiles-url) or none. Settings not
    given here come from the instance folder's config.py (see docs/web.md).
    """
    from app import create_app

    if online and offline:
        raise click.UsageError("choose --online or --offline (the default), not both")
    if not plans and not db_url:
        raise click.UsageError("give the plan files to serve, or --db postgresql://… to serve a database's plans")
    given = {"BASEMAP": basemap, "TILES_URL": tiles_url, "TIANDITU_KEY": tianditu_key,
             "DEFAULT_LANGUAGE": lang, "OFFLINE": False if online else True if offline else None,
             "PUBLIC_MAP": public or None}
    if db_url:
        from app.store.postgis import PostgisStore, write_plans

        write_plans(PostgisStore(db_url), db_folder)
        plans = (db_folder, *plans)
        given.update(VERSIONS_DB=db_url, USERS_DB=db_url, JOBS_DIR=str(Path(db_folder) / ".jobs"))
    application = create_app({"PLANS": [str(p) for p in plans],
                              **{k: v for k, v in given.items() if v is not None}}, instance_config=True)
    mode = "production (gunicorn)" if production else "development (Flask)"
    where = "offline" if application.config["OFFLINE"] else "online (scripts from the npm CDN)"
    click.echo(f"serving {len(application.config['PLAN_FILES'])} plan(s) on http://{host}:{port}/ — {mode}, "
               f"{where}, basemap {application.config['BASEMAP']} (Ctrl+C stops)")
    if production:
        from app.wsgi import run_production

        run_production(application, host=host, port=port, workers=workers)
    else:
        application.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
