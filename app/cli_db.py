"""``gridplan db``: plans in a PostgreSQL/PostGIS database (the city deployment, ``serve --db``).

Registered on the main command group in :mod:`app.cli`; thin: the work is
:class:`app.store.postgis.PostgisStore`'s (``add_plan``, ``export``, ``versions``) and
:func:`app.store.postgis.write_plans`'s.
"""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["db"]

_URL_HELP = "PostgreSQL URL, postgresql://user:password@host:port/database (or $GRIDPLAN_DB)."


def _store(url: str):
    from app.store import is_database_url
    from app.store.postgis import PostgisStore

    if not is_database_url(url):
        raise click.BadParameter(f"{url!r} is not a postgresql:// URL", param_hint="--db")
    return PostgisStore(url)


@click.group()
def db():
    """Plans, versions and edit sessions in PostgreSQL/PostGIS (see docs/deploy.md)."""


@db.command("import")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", "url", envvar="GRIDPLAN_DB", required=True, help=_URL_HELP)
@click.option("--name", help="The plan's name in the database and its web address [default: the file's name].")
def db_import(plan_path, url, name):
    """Store a plan file in the database: version 1 of a new plan, or a new version of the plan of that name."""
    import geo

    name = name or Path(plan_path).stem
    version = _store(url).add_plan(name, geo.read_plan(plan_path), comment=f"imported from {Path(plan_path).name}")
    click.echo(f"plan {name}: version {version} imported from {plan_path}")


@db.command("export")
@click.argument("name")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The plan file to write (*.gpkg).")
@click.option("--db", "url", envvar="GRIDPLAN_DB", required=True, help=_URL_HELP)
@click.option("--version", "version", type=click.IntRange(min=1), help="The version to write [default: the latest].")
def db_export(name, output, url, version):
    """Write a plan of the database, as it is at its latest version (or --version), to a plan file (atomically)."""
    from geo.errors import GridplanError

    store = _store(url)
    try:
        written = store.export(name, output, version=version)
    except KeyError:
        known = ", ".join(store.plans()) or "none; add one with `gridplan db import PLAN.gpkg`"
        raise GridplanError(f"the database has no plan {name!r}" + (f" version {version}" if version else "")
                            + f" (plans: {known})") from None
    click.echo(f"plan {name}: version {written} written to {output}")


@db.command("list")
@click.option("--db", "url", envvar="GRIDPLAN_DB", required=True, help=_URL_HELP)
def db_list(url):
    """The database's plans, each with its latest version, author and time."""
    store = _store(url)
    for name in store.plans():
        latest = store.versions(name)[0]
        click.echo(f"{name}: version {latest['version']} by {latest['author']}, {latest['created']}"
                   f"{' — ' + latest['comment'] if latest['comment'] else ''}")
