"""What a tower's grid page and printed sheet show: its emergency sub-grids by unit and floor
(:mod:`partitioning.towers`) and the posts its grid needs (:mod:`partitioning.people.staffing`:
a building leader per unit of a tower, volunteers per households). One function each, called by
both the web page (:func:`maps.web.queries.grid_card`) and the sheet (:mod:`maps.wallmap.grid`).
"""

from __future__ import annotations

from geo.errors import InputError
from geo.plan import Plan
from maps.i18n import text
from partitioning.people.staffing import get_template, load_templates, posts, tower_units

__all__ = ["subgrid_label", "grid_subgrids", "grid_posts", "building_units", "DEFAULT_TEMPLATE"]

#: The staffing template whose posts a grid shows when the plan names none (``gridplan people assign``).
DEFAULT_TEMPLATE = "1+1+N"


def subgrid_label(row, *, lang: str = "zh") -> str:
    """A tower's emergency sub-grid as people read it: "3单元 1–9层 · 48户" (en: "Unit 3, floors 1–9 ·
    48 households"); ``row`` has ``unit_from``, ``unit_to``, ``floor_from``, ``floor_to``, ``households``.

    Examples
    --------
    >>> r = {"unit_from": 3, "unit_to": 3, "floor_from": 1, "floor_to": 9, "households": 48}
    >>> subgrid_label(r), subgrid_label(r, lang="en")
    ('3单元 1–9层 · 48户', 'Unit 3, floors 1–9 · 48 households')
    """
    u0, u1, f0, f1 = (int(row[k]) for k in ("unit_from", "unit_to", "floor_from", "floor_to"))
    units = text("subgrid_unit", lang).format(u=u0) if u0 == u1 else text("subgrid_units", lang).format(a=u0, b=u1)
    floors = text("subgrid_floor", lang).format(f=f0) if f0 == f1 else text("subgrid_floors", lang).format(a=f0, b=f1)
    return (f"{units}{text('subgrid_sep', lang)}{floors} · "
            + text("subgrid_households", lang).format(n=int(row["households"])))


def grid_subgrids(plan: Plan, grid_id, *, lang: str = "zh") -> list:
    """The emergency sub-grids of a grid's towers, in code order: ``code`` (the full
    code, nested under the emergency grid's), ``building_id``, ``label`` (:func:`subgrid_label`),
    ``households``, ``across`` (spans tiny units); empty without sub-grids. The grid page and the printed sheet both list these."""
    sub = plan.layers.get("subgrids")
    if sub is None or len(sub) == 0:
        return []
    rows = sub[sub["grid_id"].astype(str) == str(grid_id)].sort_values("subgrid_code")
    return [{"code": str(r["subgrid_code"]), "building_id": str(r["building_id"]), "label": subgrid_label(r, lang=lang),
             "households": int(r["households"]), "across": bool(r["crosses_units"])}
            for _, r in rows.iterrows()]


def grid_posts(plan: Plan, grid_id, *, lang: str = "zh") -> list:
    """The posts a grid needs under the plan's staffing template (``meta['staffing']``, else
    :data:`DEFAULT_TEMPLATE`): ``role``, ``role_text``, ``shows_as`` (the role maps show it as),
    ``count``, in the template's order; a tower's grid gets a building leader per unit and
    volunteers per households."""
    staffing = load_templates()
    try:
        template = get_template(staffing, (plan.meta.get("staffing") or {}).get("template") or DEFAULT_TEMPLATE)
    except InputError:  # a template of the user's own file, not at hand here
        return []
    gid = str(grid_id)
    buildings = plan.buildings[plan.buildings["grid_id"].astype(str) == gid]
    wanted = posts(buildings, plan.grids.loc[[grid_id]], template)["role"].value_counts(sort=False)
    key = "zh" if lang == "zh" else "en"
    return [{"role": r, "role_text": str(staffing.roles[r].get(key, r)), "shows_as": str(staffing.roles[r]["shows_as"]),
             "count": int(n)} for r, n in wanted.items()]


def building_units(plan: Plan, grid_id) -> dict:
    """Units (单元) of each building of a tower's grid (an oversize grid), by building id; empty otherwise."""
    buildings = plan.buildings[plan.buildings["grid_id"].astype(str) == str(grid_id)]
    units = tower_units(buildings, plan.grids)
    return {str(b): int(n) for b, n in zip(buildings.index, units) if n > 1}
