"""``gridplan people`` and ``gridplan users``: grid staff and the web app's users.

Registered on the main command group in :mod:`app.cli`; thin, like every command: the work is
``partitioning.people``'s (roster, staffing, roles) and ``app.auth``'s.

Imports inside the command bodies are deliberate, as in :mod:`app.cli`: a command loads only what
it needs, so the command line starts fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["people", "users"]


@click.group()
def people():
    """Grid staff: import a roster, assign it to the grids' posts, report the gaps (缺口)."""


def _templates(paths):
    from partitioning.people.staffing import load_templates

    return load_templates(*paths)


def _print_gaps(result_gaps, totals, as_json: bool) -> None:
    by_community = (result_gaps.groupby(["community", "role", "role_label"], sort=True)[["required", "filled", "missing"]]
                    .sum().reset_index())
    if as_json:
        click.echo(json.dumps({"totals": totals, "by_community": by_community.to_dict("records"),
                               "grids_with_gaps": sorted(result_gaps.loc[result_gaps["missing"] > 0, "grid_code"]
                                                         .unique().tolist())}, ensure_ascii=False, indent=1))
        return
    click.echo(f"posts: {totals['required']:,} required, {totals['filled']:,} filled, "
               f"{totals['missing']:,} still needed (缺口); {totals['grids_complete']} of {totals['grids']} grids complete")
    for r in by_community.itertuples():
        click.echo(f"  {r.community or '—'}  {r.role_label} ({r.role}): {r.filled:,}/{r.required:,}, "
                   f"missing {r.missing:,}")


@people.command("import")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.argument("roster_path", metavar="ROSTER.csv|.xlsx", type=click.Path(exists=True, dir_okay=False))
@click.option("--templates", "template_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Your own roles and templates (TOML, as partitioning/people/staffing_templates.toml).")
def people_import(plan_path, roster_path, template_files):
    """Validate a roster and store it in the plan (posts of people still in it are kept)."""
    import geo
    from partitioning.people.roster import read_roster
    from partitioning.people.staffing import import_roster, role_aliases

    staffing = _templates(template_files)
    roster = read_roster(roster_path, roles=role_aliases(staffing))
    plan = geo.read_plan(plan_path)
    people = import_roster(roster, existing=plan.layers.get("people"), staffing=staffing)
    plan.layers["people"] = _people_frame(people, plan.crs)
    geo.write_plan(plan, plan_path)
    kept = int(people["grid_id"].notna().sum())
    click.echo(f"{len(roster):,} people imported into {plan_path} ({kept:,} post(s) kept); "
               f"roles: {', '.join(f'{k} {v}' for k, v in roster['role'].value_counts().sort_index().items())}")


def _people_frame(people, crs):
    """The people table as a layer the plan file can hold (no geometry: homes are not mapped),
    indexed by ``person_id`` so that writing the plan adds no ``index`` column."""
    import geopandas as gpd
    import pandas as pd

    people = pd.DataFrame(people).drop(columns=["index", "level_0", "geometry"], errors="ignore")
    people = people.set_index("person_id")
    return gpd.GeoDataFrame(people, geometry=gpd.GeoSeries([None] * len(people), index=people.index, crs=crs))


def _write_with_people(plan, path) -> None:
    """Write a plan whose ``people`` layer was read back (``geo.read_plan`` gives it no index)."""
    import geo

    if plan.layers.get("people") is not None and "person_id" in plan.layers["people"].columns:
        plan.layers["people"] = _people_frame(plan.layers["people"], plan.crs)
    geo.write_plan(plan, path)


@people.command("assign")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.option("--template", "template_name", default="1+1+N", show_default=True,
              help="Staffing template: 1+1+N (zhangwan, 1包50), 4+N (zunyi), 1+4+6N (jifeng), 3 (huizhou, 三人小组) "
                   "or one of --templates.")
@click.option("--templates", "template_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Your own roles and templates (TOML).")
@click.option("--max-distance", type=float, default=3000.0, show_default=True,
              help="Metres beyond which a home is too far from a post.")
@click.option("--fresh", is_flag=True, help="Re-assign everyone instead of keeping the plan's current posts.")
@click.option("--json", "as_json", is_flag=True, help="The gaps report as JSON.")
def people_assign(plan_path, template_name, template_files, max_distance, fresh, as_json):
    """Fill each grid's posts from the plan's roster (optimal: near home, residents as building
    leaders, work spread), keep current posts, and report the gaps per grid and community."""
    import geo
    from geo.errors import InputError
    from partitioning.people.staffing import assign, get_template, roster_of

    staffing = _templates(template_files)
    template = get_template(staffing, template_name)
    plan = geo.read_plan(plan_path)
    current = plan.layers.get("people")
    if current is None or len(current) == 0 or "person_id" not in current.columns:
        raise InputError(f"{plan_path}: no roster in the plan; run `gridplan people import {plan_path} ROSTER.csv` first")
    result = assign(plan.buildings, plan.grids, roster_of(current), template, staffing=staffing,
                    existing=None if fresh else current, max_distance=max_distance,
                    community=str(plan.meta.get("community_name") or ""))
    plan.layers["people"] = _people_frame(result.people, plan.crs)
    totals = result.totals()
    plan.meta["staffing"] = {"template": template["name"], **{k: v for k, v in totals.items()}}
    geo.write_plan(plan, plan_path)
    _print_gaps(result.gaps, totals, as_json)


@people.command("report")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.option("--template", "template_name", help="Template to measure against [default: the plan's last assignment's].")
@click.option("--templates", "template_files", multiple=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--grids", "per_grid", is_flag=True, help="One line per grid with a gap.")
@click.option("--json", "as_json", is_flag=True)
def people_report(plan_path, template_name, template_files, per_grid, as_json):
    """The gaps (缺口): posts required, filled and still needed per community and role."""
    import pandas as pd

    import geo
    from partitioning.people.staffing import doubled_posts, gaps, get_template

    staffing = _templates(template_files)
    plan = geo.read_plan(plan_path)
    template = get_template(staffing, template_name or (plan.meta.get("staffing") or {}).get("template", "1+1+N"))
    people = plan.layers.get("people")
    people = pd.DataFrame(columns=["grid_id", "template_role"]) if people is None else pd.DataFrame(people)
    g = gaps(plan.buildings, plan.grids, template, people, staffing=staffing,
             community=str(plan.meta.get("community_name") or ""))
    totals = {"required": int(g["required"].sum()), "filled": int(g["filled"].sum()),
              "missing": int(g["missing"].sum()), "grids": int(g["grid_id"].nunique()),
              "grids_complete": int((g.groupby("grid_id")["missing"].sum() == 0).sum())}
    _print_gaps(g, totals, as_json)
    doubled = doubled_posts(people)
    if len(doubled):
        click.echo(f"warning: {len(doubled):,} person(s) hold two or more posts of one role in one grid (an "
                   f"assignment by an older gridplan); each counts once above. Run `gridplan people assign "
                   f"{plan_path}` to fill the others with someone else", err=True)
    if per_grid and not as_json:
        for r in g[g["missing"] > 0].itertuples():
            click.echo(f"  {r.grid_code}  {r.role_label}: {r.filled}/{r.required}")


@people.command("synthetic")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Roster CSV to write.")
@click.option("--template", "template_name", default="1+1+N", show_default=True)
@click.option("--templates", "template_files", multiple=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--fill", type=float, default=0.8, show_default=True, help="Share of the posts the roster covers.")
@click.option("--seed", type=int, default=0, show_default=True)
def people_synthetic(plan_path, output, template_name, template_files, fill, seed):
    """Write a made-up roster for a plan (invented names and phones, never real people): for demos."""
    import geo
    from geo.plan import atomic_path
    from partitioning.people.roster import synthetic_roster
    from partitioning.people.staffing import get_template, posts

    staffing = _templates(template_files)
    plan = geo.read_plan(plan_path)
    demand = posts(plan.buildings, plan.grids, get_template(staffing, template_name))["role"].value_counts()
    roster = synthetic_roster(plan.buildings, demand.to_dict(), seed=seed, fill=fill)
    with atomic_path(output) as tmp:
        roster.to_csv(tmp, index=False, encoding="utf-8")
    click.echo(f"{len(roster):,} made-up people written to {output} (seed {seed})")


@people.command("residents")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.argument("csv_path", metavar="SPECIAL.csv", required=False, type=click.Path(dir_okay=False))
@click.option("--synthetic", "synthetic_out", type=click.Path(dir_okay=False),
              help="Instead: write made-up special households for the plan to this CSV (demos).")
@click.option("--seed", type=int, default=0, show_default=True)
def people_residents(plan_path, csv_path, synthetic_out, seed):
    """Store special households (elderly alone, disabled, low-income, ill, other) in the plan:
    names and addresses for authorised roles, counts per building for the maps and sheets."""
    import geo
    from geo.errors import InputError
    from geo.plan import atomic_path
    from partitioning.people.roster import add_special_households, read_special_households, synthetic_special_households

    plan = geo.read_plan(plan_path)
    if synthetic_out:
        table = synthetic_special_households(plan.buildings, seed=seed)
        with atomic_path(synthetic_out) as tmp:
            table.to_csv(tmp, index=False, encoding="utf-8")
        click.echo(f"{len(table):,} made-up special households written to {synthetic_out} (seed {seed})")
        return
    if not csv_path:
        raise InputError("give SPECIAL.csv (or --synthetic OUT.csv)")
    special = read_special_households(csv_path, plan.buildings)
    _write_with_people(add_special_households(plan, special), plan_path)
    click.echo(f"{len(special):,} special households stored in {plan_path}")


@people.command("contacts")
@click.argument("plan_path", metavar="PLAN.gpkg", type=click.Path(exists=True, dir_okay=False))
@click.argument("contacts_path", metavar="CONTACTS.toml", type=click.Path(exists=True, dir_okay=False))
def people_contacts(plan_path, contacts_path):
    """Store the escalation chain (网格吹哨、部门报到) per community: who a grid calls at community
    and street level and the departments (police, medical, property management)."""
    import tomllib

    import geo
    from geo.errors import InputError

    try:
        data = tomllib.loads(Path(contacts_path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{contacts_path}: not TOML ({exc})") from exc
    chains = {}
    for community, entries in data.items():
        if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("level") and e.get("role")
                                                    for e in entries):
            raise InputError(f"{contacts_path}: [{community}] must be a list of {{level, role, name, phone}} "
                             "tables ([[community]] entries; \"*\" for every community)")
        chains[community] = [{k: str(e.get(k, "")) for k in ("level", "role", "name", "phone")} for e in entries]
    plan = geo.read_plan(plan_path)
    plan.meta["escalation"] = chains
    _write_with_people(plan, plan_path)
    click.echo(f"escalation chain of {len(chains)} community(ies) stored in {plan_path}")


# --- users of the web app (docs/people.md) -----------------------------------------------------

def _users_db(db):
    from flask import Flask

    return db or str(Path(Flask("app", instance_relative_config=True).instance_path) / "gridplan-users.sqlite")


_db_option = click.option("--db", type=click.Path(dir_okay=False),
                          help="Users database [default: gridplan-users.sqlite in the app's instance folder].")


@click.group()
def users():
    """Users of the web app (viewer, staff, editor, admin) and the audit log."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "staff", "editor", "admin"]), default="viewer", show_default=True)
@click.option("--grid", "grids", multiple=True, help="Grid code (or id) a staff member looks after; repeat for more.")
@click.password_option(envvar="GRIDPLAN_PASSWORD", help="Password (asked for when not given; or $GRIDPLAN_PASSWORD).")
@click.option("--replace", is_flag=True, help="Change an existing user.")
@_db_option
def users_add(username, role, grids, password, replace, db):
    """Add a user of the web app (the database is created when missing)."""
    from app.auth import add_user

    path = _users_db(db)
    add_user(path, username, password, role=role, grids=grids, replace=replace)
    from app.store import safe_url

    click.echo(f"user {username} ({role}{': ' + ', '.join(grids) if grids else ''}) saved in {safe_url(path)}")


@users.command("list")
@_db_option
def users_list(db):
    """The users, their roles and grids."""
    from app.auth import list_users

    for u in list_users(_users_db(db)):
        locked = f", locked for some address until {u['locked_until']}" if u["locked_until"] else ""
        click.echo(f"{u['username']}\t{u['role']}\t{u['grids'] or '—'}{locked}")


@users.command("remove")
@click.argument("username")
@_db_option
def users_remove(username, db):
    """Remove a user."""
    from app.auth import remove_user

    if not remove_user(_users_db(db), username):
        raise click.ClickException(f"no user {username!r}")
    click.echo(f"user {username} removed")


@users.command("audit")
@click.option("--limit", type=int, default=50, show_default=True)
@_db_option
def users_audit(limit, db):
    """The latest views of personal data and sign-ins (newest first)."""
    from app.auth import read_audit

    for e in read_audit(_users_db(db), limit=limit):
        click.echo(f"{e['time']}  {e['username'] or '-'} ({e['role'] or '-'})  {e['action']}  {e['path']}  "
                   f"{e['target'] or ''}")
