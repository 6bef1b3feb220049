"""The ``gridplan`` command line.

Each command parses its options, calls ``geo``/``partitioning``/``maps`` and prints. Errors
raised as :class:`geo.errors.GridplanError` become a one-paragraph message on stderr and the
error's exit status (2 bad input, 3 infeasible request, 4 plan check failed); nothing already
written is touched, because every output is written to a temporary file and renamed. An error's
``hint`` (what to do, naming library parameters) is printed on its own line with the flags
(:func:`cli_flag`).

Imports inside the command bodies are deliberate: ``gridplan --help`` and every command start
without loading geopandas, the partitioning engine, folium or matplotlib that other commands need.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from pathlib import Path

import click

from geo.errors import GridplanError, PlanFileError, ids_text

__all__ = ["main", "cli"]

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
DEMO_BUILDINGS = REPO_DATA / "suzhou_gusu" / "buildings.geojson"
DEMO_ROSTER = REPO_DATA / "suzhou_gusu" / "roster.csv"


#: Library parameters whose command-line flag is not ``--`` + the name with dashes.
CLI_FLAGS = {"households_path": "--households", "metric_crs": "--metric-crs", "source_crs": "--crs"}


def cli_flag(name: str) -> str:
    """The flag of a library parameter named in an error's hint (``ledger_key`` → ``--ledger-key``)."""
    return CLI_FLAGS.get(name, "--" + name.replace("_", "-"))


class _Group(click.Group):
    """Turn gridplan's own errors into a clear message and exit status."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GridplanError as exc:
            click.echo(f"gridplan: error: {exc}", err=True)
            hint = exc.hint_text(cli_flag)
            if hint:
                click.echo(f"gridplan: hint: {hint}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug: one line, the traceback only with -vv
            if logging.getLogger().level <= logging.DEBUG:
                traceback.print_exc()
            detail = " ".join(str(exc).split())[:300]
            click.echo(f"gridplan: internal error: {type(exc).__name__}: {detail}; "
                       "run with -vv for the traceback and report it", err=True)
            sys.exit(1)


def _refuse_loss(output: str, force: bool) -> None:
    """Refuse to replace a plan that holds what re-partitioning cannot make again, unless ``force``."""
    from geo.plan import unregenerable_contents

    lost = [] if force else unregenerable_contents(output)
    if lost:
        raise PlanFileError(f"{output}: already holds {', '.join(lost)}; a new partition would lose them. "
                            "Write to another file and carry them over (`gridplan update`, or `gridplan people "
                            "import/assign`/`residents` afterwards), or give --force to replace it")


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="gridplan: %(levelname)s: %(message)s", force=True)
    logging.captureWarnings(True)


@click.group(name="gridplan", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gridplan")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-v progress, -vv debug).")
def cli(verbose: int) -> None:
    """gridplan: community governance grids (网格) from building footprints.

    Partition buildings into balanced, contiguous grids that never cut a building, draw
    gap-free grid polygons, and serve or print their battle maps (作战图).
    """
    _setup_logging(verbose)


def _input_options(f):
    """Options shared by every command that reads building footprints."""
    options = [
        click.option("--layer", help="Layer of a multi-layer buildings file (GeoPackage); of a DXF drawing, "
                     "the CAD layer(s) of the footprints, comma-separated [default: every layer with closed polylines]."),
        click.option("--id-field", help="Field holding each building's own ID "
                     "(default: the OSM id, else generated B00001… in file order)."),
        click.option("--crs", "src_crs", help="CRS of inputs that carry none, e.g. EPSG:4326."),
        click.option("--datum", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84",
                     show_default=True, help="Offset Chinese coordinates to convert to WGS84 "
                     "(gcj02: Amap/Tencent, bd09: Baidu)."),
        click.option("--households", "households_path", type=click.Path(dir_okay=False),
                     help="Household points (CSV/XLSX with lon/lat, 经度/纬度 or x/y; GeoJSON, GPKG), or a household "
                     "ledger (台账: CSV/XLSX by building, e.g. 小区,楼栋号,单元,户数), see docs/inputs.md."),
        click.option("--households-field", help="Field of the buildings holding their household count."),
        click.option("--households-layer", help="Layer of a multi-layer household points file."),
        click.option("--match-distance", type=float, default=30.0, show_default=True,
                     help="Household points outside every building join the nearest building within this many metres."),
        click.option("--drop-duplicates", is_flag=True,
                     help="With --households-field: keep the first of two features that are the same building."),
        click.option("--encoding", help="Encoding of a shapefile without .cpg and of CSV tables, e.g. GBK "
                     "[default: detected, UTF-8 else GB18030]."),
        click.option("--sheet", help="Worksheet of an .xlsx --households file, by name or number [default: the first]."),
        click.option("--ledger-key", help="Building column of a --households ledger, e.g. 楼栋号 "
                     "[default: the first of building_id, 楼栋号, 楼栋, 楼号 …]."),
        click.option("--ledger-count", help="Households column of a --households ledger [default: 户数/households "
                     "if present, else one row per household]."),
        click.option("--building-key", help="Field of the buildings a ledger's building column matches, e.g. 名称 "
                     "[default: a 楼栋号/楼号/name field, DXF texts inside the outline, else the building IDs]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


#: The options of ``partition`` by the library settings they set: library errors about settings
#: name these (``options`` of :func:`partitioning.settings.settings_error`), the command line its flags.
_PARTITION_FLAGS = {"target": "--target", "n_grids": "--grids", "levels": "--levels",
                    "emergency_target": "--emergency-target", "boundaries": "--boundary", "workers": "--workers",
                    "scheduler": "--scheduler", "max_buildings_per_part": "--max-buildings-per-part",
                    "group_field": "--group-field"}


def _with_flags(function, *args, **kwargs):
    """Call a library function; an error about settings names the command-line options too."""
    try:
        return function(*args, **kwargs)
    except GridplanError as exc:
        flags = [_PARTITION_FLAGS[o] for o in getattr(exc, "options", ()) if o in _PARTITION_FLAGS]
        if flags:
            exc.args = (f"{exc} (options: {', '.join(flags)})",)
        raise


@cli.command()
@click.argument("buildings", type=click.Path(dir_okay=False))
@_input_options
@click.option("--target", type=click.IntRange(min=1), default=50, show_default=True,
              help="Households per grid.")
@click.option("--tolerance", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
              help="Grids are balanced within target × (1 ± tolerance).")
@click.option("--grids", "n_grids", type=click.IntRange(min=1), help="Number of grids (instead of deriving it from --target).")
@click.option("--barriers", type=click.Path(dir_okay=False),
              help="Barrier lines (main roads, rivers): a line file or an OSM extract.")
@click.option("--barriers-layer", help="Layer of a multi-layer barriers file.")
@click.option("--boundary", type=click.Path(dir_okay=False),
              help="Boundary polygons (community, compound): grids never cross them and cover them.")
@click.option("--boundary-layer", help="Layer of a multi-layer boundary file.")
@click.option("--group-field", metavar="FIELD", help="Field of the buildings naming the compound (小区) or other "
              "group each is in: grids never mix buildings of two groups (when no --boundary polygon says so).")
@click.option("--gap", type=click.FloatRange(min=0), default=None,
              help="Buildings this close (m) are neighbours [default: the engine's, see docs].")
@click.option("--prefix", "code_prefix", help="Administrative prefix of grid codes (county+street+community).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: the same input and seed give the same plan.")
@click.option("--levels", "levels_spec", metavar="NAME=FILE|TARGET,...",
              help="Nested levels, coarsest first, the grids last: NAME=FILE (given boundary polygons) or "
              "NAME=TARGET (generated at that many households), e.g. community=communities.geojson,grid=400,"
              "small=50. The last target replaces --target. See docs/hierarchy.md.")
@click.option("--emergency-target", type=click.IntRange(min=1),
              help="Add an emergency layout (急时) of about this many households per grid, nested in the grids.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The plan file (.gpkg).")
@click.option("--force", is_flag=True, help="Replace an existing -o plan even if it holds people, special "
              "households or the escalation chain (they are lost).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--workers", type=click.IntRange(min=0), help="Plan each --boundary community apart on this many "
              "local Dask worker processes (0: in this process). See docs/scale.md.")
@click.option("--scheduler", metavar="ADDRESS", help="Plan each --boundary community apart on the workers of "
              "this running Dask scheduler (e.g. tcp://10.0.0.5:8786).")
@click.option("--ledger-report", type=click.Path(dir_okay=False), help="With a --households ledger: write every "
              "ledger row with its line, the building it matched and its status (matched, unmatched, ambiguous, "
              "duplicate, blank) and the nearest candidates to this CSV (UTF-8 with BOM, opens in Excel).")
@click.option("--max-buildings-per-part", type=click.IntRange(min=100), metavar="N",
              help="Without --boundary: more buildings than this are cut into parts of at most N buildings, "
              "planned apart on --workers (default 2); see docs/scale.md [default: 10000].")
def partition(buildings, layer, id_field, src_crs, datum, households_path, households_field,
              households_layer, match_distance, drop_duplicates, target, tolerance, n_grids, barriers,
              barriers_layer, boundary, boundary_layer, gap, code_prefix, seed, output, as_json,
              levels_spec=None, emergency_target=None, workers=None, scheduler=None,
              max_buildings_per_part=None, force=False, encoding=None, sheet=None, ledger_key=None,
              ledger_count=None, building_key=None, ledger_report=None, group_field=None):
    """Partition BUILDINGS into grids of about --target households and write a plan."""
    import geo
    from geo.load import input_record
    from partitioning.check import subgrid_lines, summary_lines
    from partitioning.pipeline import levels_from_spec
    from partitioning.pipeline import partition as make_partition
    from partitioning.settings import DEFAULT_GAP, PlanSettings

    if not output.lower().endswith(".gpkg"):
        raise click.BadParameter("the plan is a GeoPackage: name it *.gpkg", param_hint="-o/--output")
    _refuse_loss(output, force)
    t0 = time.perf_counter()
    inputs = geo.load_buildings(buildings, layer=layer, id_field=id_field, crs=src_crs, datum=datum,
                                households_field=households_field, households_path=households_path,
                                households_layer=households_layer, households_crs=src_crs,
                                match_distance=match_distance, drop_duplicates=drop_duplicates,
                                encoding=encoding, sheet=sheet, ledger_key=ledger_key, ledger_count=ledger_count,
                                building_key=building_key)
    if ledger_report:
        if inputs.ledger_rows is None:
            raise click.UsageError("--ledger-report needs a --households ledger (a table by building)")
        from geo.plan import atomic_path

        with atomic_path(ledger_report) as tmp:
            inputs.ledger_rows.to_csv(tmp, index=False, encoding="utf-8-sig")
    extra, barrier_gdf, boundary_gdf = [], None, None
    if barriers:
        barrier_gdf = geo.load_barriers(barriers, inputs.crs, layer=barriers_layer, crs=src_crs, datum=datum)
        extra.append(input_record("barriers", barriers, layer=barriers_layer))
    if boundary:
        boundary_gdf = geo.load_boundaries(boundary, inputs.crs, layer=boundary_layer, crs=src_crs, datum=datum)
        extra.append(input_record("boundary", boundary, layer=boundary_layer))
    levels, level_name = (), "grid"
    if levels_spec:
        spec = _with_flags(levels_from_spec, levels_spec, inputs.crs, src_crs=src_crs, datum=datum)
        levels, level_name, target = spec.levels, spec.level_name, spec.target
        extra += spec.files
    settings = PlanSettings(target=target, tolerance=tolerance, n_grids=n_grids, seed=seed,
                            gap=DEFAULT_GAP if gap is None else gap, code_prefix=code_prefix,
                            levels=levels, level_name=level_name, emergency_target=emergency_target,
                            group_field=group_field)
    # progress bars with -v; over the parts of a big file (minutes of work) on a terminal even without
    progress = True if logging.getLogger().level <= logging.INFO else None if sys.stderr.isatty() else False
    plan, metrics = _with_flags(make_partition, inputs, settings, barriers=barrier_gdf, boundaries=boundary_gdf,
                                workers=workers, scheduler=scheduler, max_buildings_per_part=max_buildings_per_part,
                                progress=progress, extra_files=extra)
    metrics["runtime_total_s"] = round(time.perf_counter() - t0, 3)
    plan.meta["command"] = " ".join(["gridplan", *sys.argv[1:]]) if sys.argv else "gridplan partition"
    geo.write_plan(plan, output)
    if as_json:
        click.echo(json.dumps(metrics, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"plan written to {output}")
    click.echo(f"buildings:          {len(plan.buildings)} ({inputs.households_method})")
    for line in summary_lines(metrics, target=int(plan.meta["target"]), grids=plan.grids):
        click.echo(line)
    if "levels" in plan.layers:
        counts = plan.layers["levels"]["level"].value_counts(sort=False)
        click.echo("levels:             " + ", ".join(f"{k} {v}" for k, v in counts.items())
                   + f", {level_name} {len(plan.grids)} (units per level)")
    if "grids_emergency" in plan.layers:
        click.echo(f"emergency layout:   {len(plan.layers['grids_emergency'])} grids (target {emergency_target}), "
                   "each inside one grid")
        for line in subgrid_lines(metrics.get("subgrids")):
            click.echo(line)
    for note in inputs.report.notes:
        click.echo(f"note: {note}", err=True)
    if "communities" in metrics:
        where = f"scheduler {scheduler}" if scheduler else f"{plan.meta['parallel']['workers']} worker(s)"
        what = "parts:             " if "split" in plan.meta else "communities:       "
        click.echo(f"{what} {metrics['communities']} planned apart on {where} (the cells, "
                   "graph and partition times above are summed over them)")
    if "split" in plan.meta:
        click.echo("note: no --boundary: the buildings were cut into parts; give the communities with --boundary "
                   "for grids that follow them (--max-buildings-per-part sets the size of a part)", err=True)
    click.echo(f"wall time:          {metrics['runtime_total_s']:.2f} s (reading and writing included)")


@cli.command()
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--verbose", is_flag=True, help="Also list every grid (code: households, buildings, status).")
def check(plan_path, as_json, verbose):
    """Verify PLAN: every building in exactly one grid, grids connected, polygons a clean coverage.

    Prints the verdict and the plan's totals first, then its figures; every grid only with
    --verbose. Exits with status 4 when any guarantee is violated.
    """
    import geo
    from geo.errors import PlanCheckError
    from partitioning.check import check_plan, subgrid_lines, summary_lines

    plan = geo.read_plan(plan_path)
    result = check_plan(plan)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
        if not result.ok:
            raise PlanCheckError(f"{plan_path}: the plan violates its guarantees:\n"
                                 + "\n".join(f"  - {v}" for v in result.violations))
        return
    t = result.totals()
    size = (f"{t['grids']:,} grids, {t['buildings']:,} buildings, {t['households']:,} households, "
            f"CRS {plan.meta.get('crs')}")
    if result.ok:
        click.echo(f"check passed: {plan_path} ({size}): every building in exactly one grid, every grid "
                   "connected, no overlap, no gap, no cut building"
                   + (", every level nested in the one above" if result.levels or result.emergency else ""))
    else:
        click.echo(f"check FAILED: {plan_path} ({size}) violates {t['violations']} guarantee(s):")
        for v in result.violations:
            click.echo(f"  - {v}")
    metrics = {**result.metrics, "coverage": result.coverage}
    for line in summary_lines(metrics, target=int(plan.meta.get("target", 50)), grids=plan.grids):
        click.echo(line)
    for name, fig in [*result.levels.items(), *([("emergency", result.emergency)] if result.emergency else [])]:
        click.echo(f"{'emergency grids' if name == 'emergency' else 'level ' + name}: {fig['n_grids']} units of "
                   f"{fig['households_min']}–{fig['households_max']} households (median {fig['households_median']:g}"
                   + (", given" if fig.get("given") else f", target {fig['target']:g}, "
                      f"{fig['share_within_tolerance']:.0%} within tolerance") + "), coverage "
                   f"{'valid' if fig['coverage_ok'] else 'INVALID'}"
                   + ("" if fig["outside_parent_m2"] is None else
                      f", {fig['outside_parent_m2']:.1f} m² outside the parent units"))
    for name, fig in [*result.levels.items(), *([("emergency", result.emergency)] if result.emergency else [])]:
        unfit = fig.get("no_fitting_count") or []
        if unfit:
            parents, children = (("normal grid(s)", "emergency grids") if name == "emergency"
                                 else (f"unit(s) of level {name}", "units of the level below"))
            target = fig["target"] if name == "emergency" else fig["below_target"]
            click.echo(f"{name}: {len(unfit)} {parents} hold more households than some number of {children} of "
                       f"about {target:g} can take and fewer than one more needs, so one of their {children} is "
                       f"outside the band whatever the split: {ids_text(unfit)}")
    for line in subgrid_lines(result.subgrids):
        click.echo(line)
    if result.undersize:
        click.echo(f"undersize grids:    {len(result.undersize)} (why each cannot grow)")
        for u in result.undersize[: None if verbose else 10]:
            click.echo(f"  {u['grid_code']}: {u['households']} households, {u['detail']}")
        if not verbose and len(result.undersize) > 10:
            click.echo(f"  … (+{len(result.undersize) - 10} more: --verbose)")
    if result.crossings:
        click.echo(f"major crossings:    {len(result.crossings)} (each joins a block too small for a grid)")
        for c in result.crossings[: None if verbose else 10]:
            click.echo(f"  {c['grid_code']}: {c['detail']}")
    if verbose:
        click.echo("grids (code: households, buildings, status):")
        for g in result.grids:
            click.echo(f"  {g['grid_code']}: {g['households']}, {g['n_buildings']}, {g['status']}")
    else:
        click.echo("(every grid's households, buildings and status: --verbose)")
    if not result.ok:
        raise PlanCheckError(f"{plan_path}: the plan violates its guarantees ({t['violations']}, listed above)")


@cli.command()
@click.argument("plan_path", metavar="PLAN", type=click.Path(dir_okay=False))
@click.option("--households", "households_path", type=click.Path(dir_okay=False),
              help="The new counts (returns, move-outs): a ledger (CSV/XLSX) by building — building_id or 楼栋号 "
              "in any address form, and households/户数 (or one row per household); see docs/inputs.md.")
@click.option("--ledger-key", help="Building column of the --households table [default: building_id, 楼栋号 …].")
@click.option("--ledger-count", help="Households column of the --households table [default: households/户数, "
              "else one row per household].")
@click.option("--building-key", help="Field of the plan's buildings the ledger's building column matches "
              "[default: a 楼栋号/楼号/name field, else the building IDs].")
@click.option("--sheet", help="Worksheet of an .xlsx --households file [default: the first].")
@click.option("--encoding", help="Encoding of a CSV --households file or a --buildings shapefile without .cpg "
              "[default: detected].")
@click.option("--buildings", "buildings_path", type=click.Path(dir_okay=False),
              help="The buildings as they stand now (same ids): new ids are added, missing ones demolished.")
@click.option("--layer", help="Layer of a multi-layer --buildings file.")
@click.option("--id-field", help="Field of --buildings holding each building's own ID (as for partition).")
@click.option("--households-field", help="Field of --buildings holding the households of added buildings.")
@click.option("--crs", "src_crs", help="CRS of a --buildings file that carries none.")
@click.option("--datum", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="Offset Chinese coordinates of --buildings to convert to WGS84.")
@click.option("--lock", "locks", multiple=True, metavar="GRID,...",
              help="Grid ids or codes that must not change (repeat or separate by commas).")
@click.option("--max-hops", type=click.IntRange(min=1), default=3, show_default=True,
              help="Largest neighbourhood (grid-to-grid steps) re-partitioned around a grid local moves cannot repair.")
@click.option("--global-repair", is_flag=True,
              help="As a last resort re-partition the whole parent unit (may move many buildings).")
@click.option("--seed", type=int, help="Seed of re-partitions [default: the plan's].")
@click.option("--moves", "moves_path", type=click.Path(dir_okay=False), help="Also write the moves to this CSV.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The new plan file (.gpkg).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and the moves as JSON.")
def update(plan_path, households_path, buildings_path, layer, id_field, households_field, src_crs, datum, locks,
           max_hops, global_repair, seed, moves_path, output, as_json, ledger_key=None, ledger_count=None,
           building_key=None, sheet=None, encoding=None):
    """Redraw PLAN after households or buildings changed, moving as few buildings as possible.

    Locked grids do not change; grids whose buildings did not change keep their ids and codes.
    Every move is reported (building, from, to, why).
    """
    import pandas as pd

    import geo
    from geo.plan import atomic_path
    from partitioning.update import MOVE_REASONS, read_household_changes, update_plan

    if not output.lower().endswith(".gpkg"):
        raise click.BadParameter("the plan is a GeoPackage: name it *.gpkg", param_hint="-o/--output")
    if not households_path and not buildings_path:
        raise click.UsageError("give --households and/or --buildings: what changed")
    plan = geo.read_plan(plan_path)
    ledger_notes: list = []
    households = (read_household_changes(households_path, plan.buildings, key=ledger_key, count=ledger_count,
                                         building_key=building_key, sheet=sheet, encoding=encoding,
                                         notes=ledger_notes) if households_path else None)
    buildings = None
    if buildings_path:
        buildings = geo.load_buildings(buildings_path, layer=layer, id_field=id_field, crs=src_crs, datum=datum,
                                       households_field=households_field, metric_crs=plan.crs,
                                       encoding=encoding).buildings
    lock = [g for item in locks for g in item.split(",") if g.strip()]
    result = update_plan(plan, households=households, buildings=buildings, lock=lock, seed=seed,
                         max_hops=max_hops, allow_global=global_repair)
    result.plan.meta["command"] = " ".join(["gridplan", *sys.argv[1:]]) if sys.argv else "gridplan update"
    result.plan.meta["updated_from"] = str(plan_path)
    geo.write_plan(result.plan, output)
    if moves_path:
        with atomic_path(moves_path) as tmp:
            result.moves.to_csv(tmp, index=False)
    if as_json:
        click.echo(json.dumps({"summary": result.summary,
                               "moves": result.moves.astype(object).where(result.moves.notna(), None)
                               .to_dict(orient="records")}, ensure_ascii=False, indent=2, default=str))
        return
    s = result.summary
    codes = {**plan.grids["grid_code"].astype(str), **result.plan.grids["grid_code"].astype(str)}

    def shown(grids) -> str:
        return ", ".join(codes.get(g, g) for g in grids) or "none"

    for note in ledger_notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"plan written to {output}")
    click.echo(f"buildings moved:    {s['buildings_moved']} of {s['buildings_total'] - s['buildings_added']} "
               f"({s['share_moved']:.1%}); added {s['buildings_added']}, demolished {s['buildings_demolished']}")
    click.echo(f"grids:              {s['grids_unchanged']} unchanged, {s['grids_changed']} changed, "
               f"{len(s['grids_added'])} added, {len(s['grids_removed'])} removed; locked: {shown(s['locked'])}")
    click.echo(f"out of tolerance:   {s['out_of_tolerance_before']} grid(s) after the change, "
               f"{s['out_of_tolerance_after']} after repair ({s['stages']['ejection_chains']} local repairs, "
               f"{s['stages']['repartitions']} neighbourhood re-partitions)")
    if s["unrepaired"]:
        click.echo(f"not repaired:       {shown(s['unrepaired'])} (try --max-hops or --global-repair)")
    click.echo("moves (building: from → to, why):")
    for m in result.moves.itertuples():
        click.echo(f"  {m.building_id}: {'-' if pd.isna(m.from_code) else m.from_code} → "
                   f"{'-' if pd.isna(m.to_code) else m.to_code}, {m.reason} ({MOVE_REASONS[m.reason]})")


@cli.command()
@click.argument("old_path", metavar="OLD", type=click.Path(dir_okay=False))
@click.argument("new_path", metavar="NEW", type=click.Path(dir_okay=False))
@click.option("--match", is_flag=True, help="Match grids by shared buildings first (plans made independently).")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff(old_path, new_path, match, as_json):
    """Compare two plans: buildings moved, grids added/removed/changed, households per grid."""
    import geo
    from partitioning.diff import diff_plans

    result = diff_plans(geo.read_plan(old_path), geo.read_plan(new_path), match=match)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"{old_path} → {new_path}")
    for line in result.lines():
        click.echo(line)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="out/demo", show_default=True,
              help="Folder for the demo plan and map.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Make the plan and map, then stop.")
@click.pass_context
def demo(ctx, out_dir, host, port, no_serve):
    """Partition the bundled Suzhou footprints, check the plan, staff it from the bundled synthetic
    roster, write its map and serve it (public map: grids and counts; sign in for people)."""
    out = Path(out_dir)
    plan_path = out / "suzhou_gusu.gpkg"
    click.echo(f"gridplan demo: {DEMO_BUILDINGS.relative_to(REPO_DATA.parent)} → {plan_path}")
    # the demo plan holds only the bundled made-up roster, staffed again below: replacing it loses nothing
    ctx.invoke(partition, buildings=str(DEMO_BUILDINGS), output=str(plan_path), force=True)
    ctx.invoke(check, plan_path=str(plan_path))
    ctx.invoke(people_import, plan_path=str(plan_path), roster_path=str(DEMO_ROSTER))
    ctx.invoke(people_assign, plan_path=str(plan_path))
    ctx.invoke(map_, plan_path=str(plan_path), output=str(out / "suzhou_gusu.html"))
    if not no_serve:
        click.echo("anonymous visitors see grids and counts; for names and phones, and to redraw grids "
                   "in the browser (编辑网格): `gridplan users add NAME --role editor` (or admin), then sign in")
        ctx.invoke(serve, plans=(str(plan_path),), host=host, port=port, public=True)


@cli.command()
@click.option("--households", "n_households", type=click.IntRange(min=1), required=True,
              help="Households the city holds (at least this many, less than one building more).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: the same seed gives the same city.")
@click.option("--no-household-points", is_flag=True, help="Leave out the households layer (one point per household).")
@click.option("--mix", type=click.Choice(["default", "new_town", "village", "old_town"]), default="default",
              show_default=True, help="Mix of compound kinds: towers-heavy new town, urban villages among "
              "walk-ups, an old town of courtyards and lanes (docs/synth.md).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The city file (.gpkg).")
def synth(n_households, seed, no_household_points, output, mix="default"):
    """Generate a synthetic Chinese city for scale tests (see docs/synth.md).

    Layers buildings (with households), households, roads (main roads, minor roads, a river),
    streets and communities, in EPSG:4549. Partition it with
    `gridplan partition CITY --layer buildings --id-field building_id --households-field households
    --barriers CITY --barriers-layer roads --boundary CITY --boundary-layer communities --workers 2 -o plan.gpkg`.
    """
    from geo.synth import MIXES, synth_city, write_city

    if not output.lower().endswith(".gpkg"):
        raise click.BadParameter("the city is a GeoPackage: name it *.gpkg", param_hint="-o/--output")
    city = synth_city(n_households, seed=seed, params=MIXES[mix], household_points=not no_household_points,
                      progress=logging.getLogger().level <= logging.INFO)
    write_city(city, output)
    b = city.buildings
    click.echo(f"city written to {output}: {len(b)} buildings, {int(b['households'].sum())} households, "
               f"{len(city.communities)} communities in {len(city.streets)} streets")
    click.echo("buildings by kind: " + ", ".join(f"{k} {v}" for k, v in b["kind"].value_counts().sort_index().items()))


# --- people: rosters, staffing templates, assignment (docs/people.md) -------------------------

from app.cli_people import people, people_assign, people_import, users  # noqa: E402  (registered below)

cli.add_command(people)
cli.add_command(users)

# --- the web app (docs/web.md, docs/deploy.md) ----------------------------------------------------

from app.cli_serve import serve  # noqa: E402  (registered below)

cli.add_command(serve)

# --- plans in PostgreSQL/PostGIS: import, export (docs/deploy.md) ------------------------------

from app.cli_db import db  # noqa: E402  (registered below)

cli.add_command(db)

# --- a plan out: exports, wall maps, a web map file ---------------------------------------------

from app.cli_output import export, map_, print_  # noqa: E402  (registered below)

cli.add_command(export)
cli.add_command(print_)
cli.add_command(map_)


def main(argv=None) -> None:
    """Entry point of the ``gridplan`` console script."""
    cli.main(args=argv, prog_name="gridplan")


if __name__ == "__main__":
    main()
