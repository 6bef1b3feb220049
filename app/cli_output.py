"""``gridplan export``, ``gridplan print`` and ``gridplan map``: a plan out to other GIS, to
printed wall maps and to a self-contained web map file.

Registered on the main command group in :mod:`app.cli`; thin, like every command: the work is
``geo.export``'s and ``maps``'. Imports inside the command bodies are deliberate, as in
:mod:`app.cli`: a command loads only what it needs (matplotlib, folium), so the command line
starts fast.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from geo.errors import GridplanError

__all__ = ["export", "map_", "print_"]


@click.command()
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["gpkg", "geojson", "shp", "kml", "csv"]), required=True,
              help="gpkg, geojson, shp (a .cpg says UTF-8), kml, or csv (the grids' figures).")
@click.option("-o", "--output", required=True, type=click.Path(), help="The file (or base name) to write.")
@click.option("--crs", "crs", help="CRS of the export, e.g. EPSG:4490 [default: the input's geographic CRS].")
def export(plan_path, fmt, output, crs):
    """Export PLAN's grids and buildings for other GIS (QGIS, government platforms)."""
    import geo
    from geo.export import export_plan

    written = export_plan(geo.read_plan(plan_path), output, fmt=fmt, crs=crs)
    for path in written:
        click.echo(f"wrote {path}")


PAPERS = ["A3", "A2", "A1", "A0"]


@click.command("print")
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option("--grid", "grid_code", help="Print the sheet of this grid: its number (3, 003) or its code.")
@click.option("--community", "community_id", is_flag=False, flag_value="", default=None, metavar="[ID]",
              help="Print the community overview (every grid, with a table of grids).")
@click.option("--all", "everything", is_flag=True, help="One sheet per grid plus the overview, into the folder -o.")
@click.option("--paper", type=click.Choice(PAPERS), help="Paper size [default: A3 for grids, A1 for the overview].")
@click.option("--overview-paper", type=click.Choice(PAPERS), default="A1", show_default=True,
              help="With --all: paper of the overview.")
@click.option("--orientation", type=click.Choice(["auto", "portrait", "landscape"]), default="auto",
              show_default=True, help="auto: the orientation that shows the map at the larger scale.")
@click.option("--dpi", type=click.IntRange(min=50, max=1200), default=300, show_default=True,
              help="Resolution of PNG output.")
@click.option("--format", "fmt", type=click.Choice(["pdf", "png"]), default="pdf", show_default=True,
              help="With --all: the file format of the sheets.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the sheets.")
@click.option("--roster", type=click.Path(dir_okay=False),
              help="CSV of people: grid_id, role, name, phone, building_id (default: the plan's people layer).")
@click.option("--community-name", help="Community name in the titles [default: the plan's, from its metadata, "
              "levels or boundaries; the overview needs one].")
@click.option("--title", help="Title of the sheet (single sheets only).")
@click.option("--base-url", envvar="GRIDPLAN_BASE_URL",
              help="Web app address the QR codes link to, e.g. https://grid.example.gov.cn (or $GRIDPLAN_BASE_URL) "
              "[default: the plan's base_url; without one the sheets have no QR code].")
@click.option("--attribution", help="Data attribution printed in the footer [default: from the plan's inputs].")
@click.option("--save", "save_settings", is_flag=True,
              help="After printing, store --base-url and --community-name in PLAN, so later prints need neither.")
@click.option("--jobs", type=click.IntRange(min=1), default=min(2, os.cpu_count() or 1), show_default=True,
              help="With --all: worker processes.")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="The sheet (.pdf or .png), or with --all the folder to write into.")
def print_(plan_path, grid_code, community_id, everything, paper, overview_paper, orientation, dpi, fmt, lang,
           roster, community_name, title, base_url, attribution, save_settings, jobs, output):
    """Print wall maps (作战图) of PLAN: one grid, the community overview, or --all of them."""
    import geo
    from geo.csvfile import read_csv
    from maps.wallmap import SheetOptions, grid_sheet, overview_sheet, print_all, save_sheet

    if sum([grid_code is not None, community_id is not None, everything]) != 1:
        raise click.UsageError("choose one of --grid CODE, --community or --all")
    if community_id:
        raise click.BadParameter("a plan is one community for now: give --community without an ID",
                                 param_hint="--community")
    if save_settings and not (base_url or community_name):
        raise click.UsageError("--save stores --base-url and --community-name in the plan: give at least one")
    plan = geo.read_plan(plan_path)
    people = read_csv(roster, dtype=str, keep_default_na=False) if roster else None
    options = SheetOptions(paper=paper, orientation=orientation, lang=lang, dpi=dpi, base_url=base_url,
                           plan_name=Path(plan_path).stem, community_name=community_name, attribution=attribution)
    if everything:
        files = print_all(plan, output, options, overview_paper=overview_paper, fmt=fmt, roster=people, jobs=jobs,
                          progress=logging.getLogger().level <= logging.INFO)
        click.echo(f"{len(files)} sheets written to {output} (overview.{fmt} and one per grid)")
    else:
        if grid_code is not None:
            fig = grid_sheet(plan, grid_code, options.but(title=title), roster=people)
        else:
            fig = overview_sheet(plan, options.but(title=title), roster=people)
        out = save_sheet(fig, output, dpi=options.dpi)
        pages = 1 + len(getattr(fig, "more_pages", []))
        click.echo(f"sheet written to {out} ({out.stat().st_size / 1024:.0f} KiB, {pages} page(s))")
    if save_settings:  # after printing: the address and name have been checked by then
        from app.cli_people import _write_with_people

        stored = {"base_url": base_url, "community_name": community_name}
        plan.meta.update({k: v for k, v in stored.items() if v})
        _write_with_people(plan, plan_path)
        click.echo(f"stored {', '.join(k for k, v in stored.items() if v)} in {plan_path}")


@click.command("map")
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The HTML file to write.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, help="Language of the map.")
@click.option("--tiles-url", help="Intranet tile URL template for a basemap, e.g. http://tiles.local/{z}/{x}/{y}.png "
              "[default: no basemap].")
@click.option("--online", is_flag=True, help="Load Leaflet from the npm CDN and show OpenStreetMap tiles: the file "
              "then needs the internet. By default it holds everything it needs and opens from disk offline.")
def map_(plan_path, output, lang, tiles_url, online):
    """Write an interactive web map of PLAN (grids coloured, a tooltip per building).

    The file is self-contained by default: Leaflet's script and style sheet are written into it,
    so it can be copied or e-mailed and opened with no network (no basemap unless --tiles-url).
    """
    import geo
    from app import VENDOR_DIR, missing_assets
    from geo.plan import atomic_path
    from maps.web.pages import plan_map

    if not online and missing_assets():
        raise GridplanError(f"the offline map needs the vendored browser assets in {VENDOR_DIR}: run "
                            "`python -m app.vendor` (make venv does), or give --online to load them from the npm CDN")
    plan = geo.read_plan(plan_path)
    basemap = "intranet" if tiles_url else "osm" if online else "none"
    html = plan_map(plan, lang=lang, basemap=basemap, tiles_url=tiles_url,
                    inline_from=None if online else VENDOR_DIR).get_root().render()
    with atomic_path(output) as tmp:
        tmp.write_text(html, encoding="utf-8")
    click.echo(f"map written to {output} ({len(plan.grids)} grids; "
               f"{'scripts from the npm CDN' if online else 'self-contained, opens offline'})")
