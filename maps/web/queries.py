"""What the web pages and the API show of a plan, in plain Python values.

The layouts and levels a plan offers and their polygons (:func:`plan_layouts`,
:func:`layout_grids`), a grid by its code (:func:`find_grid`), the people and who a grid calls
(:func:`plan_people`, :func:`withhold_people`, :func:`escalation_of`, :func:`community_office`),
a grid's card (:func:`grid_card`: figures, people, buildings numbered by
:func:`partitioning.codes.building_numbers`, neighbours by :func:`partitioning.codes.short_code`)
and the search box (:func:`search_plan`). No folium, no GeoJSON: those are
:mod:`maps.web.pages` and :mod:`maps.web.geojson`.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from geo.names import building_names
from geo.plan import Plan
from maps.i18n import text
from maps.towers import building_units, grid_posts, grid_subgrids
from maps.web.colours import grid_adjacency
from partitioning.codes import building_numbers, short_code
from partitioning.graph import plan_graph
from partitioning.people.staffing import grid_communities
from partitioning.undersize import needs_reason, undersize_reasons

__all__ = ["status_text", "flag_columns", "plan_layouts", "layout_grids", "find_grid", "plan_people",
           "withhold_people", "person_text", "escalation_of", "community_office", "grid_card", "search_plan",
           "undersize_text"]


def status_text(status: str, lang: str) -> str:
    """A grid status (``ok``, ``over``…) in words."""
    return text(f"status_{status}", lang)


def undersize_text(entry: dict, lang: str) -> str:
    """Why a grid is undersize (an entry of :func:`partitioning.undersize.undersize_reasons`), in words.

    >>> undersize_text({"reason": "barrier", "params": {"distance_m": 42, "name": "干将路", "kind": "primary",
    ...                 "barrier_class": "major"}}, "zh")
    '被干将路(primary)隔开:到最近楼栋(42 米)须跨越它'
    >>> undersize_text({"reason": "oversize", "params": {"codes": ["056"]}}, "en")
    'cut off by the oversize grid(s) 056 (towers stay alone): no building to join'
    """
    p = dict(entry["params"])
    reason = entry["reason"]
    if reason == "oversize":
        p["codes"] = "、".join(p["codes"]) if lang == "zh" else ", ".join(p["codes"])
    elif reason == "barrier":
        words = (text("barrier_named", lang).format(name=p["name"]) if p.get("name")
                 else text(f"barrier_{'minor' if p.get('barrier_class') == 'minor' else 'major'}", lang))
        p["barrier"] = words + (text("barrier_kind", lang).format(kind=p["kind"]) if p.get("kind") else "")
    elif reason == "isolated":
        p["gap_m"] = f"{p['gap_m']:g}"
        nearest = p.get("distance_m")
        return (text("undersize_isolated", lang).format(**p)
                + ("" if nearest is None else text("undersize_nearest", lang).format(distance_m=nearest)))
    return text(f"undersize_{reason}", lang).format(**p)


def _undersize_text(plan: Plan, grid_id, undersize: list | None, lang: str) -> str | None:
    if not needs_reason(plan.grids.loc[[grid_id]]).iloc[0]:
        return None
    if undersize is None:
        undersize = undersize_reasons(plan, plan_graph(plan))
    entry = next((e for e in undersize if e["grid_id"] == str(grid_id)), None)
    return None if entry is None else undersize_text(entry, lang)


def plan_layouts(plan: Plan) -> dict:
    """The layouts and levels a plan offers (see ``docs/hierarchy.md``).

    Returns
    -------
    dict
        ``layouts``: ``["normal"]``, plus ``"emergency"`` when the plan has a
        ``grids_emergency`` layer; ``levels``: the upper levels of its ``levels`` layer,
        coarsest first (empty for a flat plan); ``grid_level``: the name of the grids' own level.
    """
    layouts = ["normal"] + (["emergency"] if "grids_emergency" in plan.layers else [])
    units = plan.layers.get("levels")
    levels = list(dict.fromkeys(units["level"].astype(str))) if units is not None and len(units) else []
    return {"layouts": layouts, "levels": levels, "grid_level": plan.meta.get("grid_level") or "grid"}


def layout_grids(plan: Plan, *, layout: str = "normal", level: str | None = None) -> gpd.GeoDataFrame:
    """The polygons a community map shows: the grids of a layout, or the units of an upper level.

    Parameters
    ----------
    plan : geo.plan.Plan
    layout : {"normal", "emergency"}
        The plan's grids, or its ``grids_emergency`` layer (each inside one normal grid).
    level : str, optional
        An upper level of the ``levels`` layer: its units instead of grids (the layout does not
        change them).

    Returns
    -------
    GeoDataFrame
        ``grid_code``, ``households``, ``n_buildings``, ``status`` and ``link`` — the code of the
        (normal) grid whose page a click opens: the grid itself, an emergency grid's parent, none
        for an upper level's unit.
    """
    cols = ["grid_code", "households", "n_buildings", "status", "geometry"]
    if level is not None:
        units = plan.layers["levels"]
        units = units[units["level"].astype(str) == str(level)].set_index("unit_id")
        out = units.rename(columns={"unit_code": "grid_code"})[cols]
        return out.assign(link=None)
    if layout == "emergency":
        grids = plan.layers["grids_emergency"]
        return grids[cols].assign(link=grids["parent_grid_id"].map(plan.grids["grid_code"]).astype(str))
    return plan.grids[cols].assign(link=plan.grids["grid_code"].astype(str))


def find_grid(plan: Plan, code: str):
    """The ``grid_id`` whose ``grid_code`` (or id) is ``code``; ``None`` when there is none."""
    hit = plan.grids.index[plan.grids["grid_code"].astype(str) == code]
    if len(hit):
        return hit[0]
    return code if code in plan.grids.index else None


def plan_people(plan: Plan, *, withheld_as: str | None = None) -> pd.DataFrame:
    """The plan's ``people`` layer (grid_id, building_id, role, name, phone, role_label, withheld),
    or an empty one.

    ``role`` is one of ``grid_leader``, ``grid_worker``, ``police``, ``building_leader``,
    ``volunteer`` (as in :mod:`maps.wallmap`'s roster); a row with a ``building_id`` belongs
    to that building, one without to the grid. ``withheld`` is true for a post whose holder's name
    is hidden from the visitor (:func:`withhold_people`): the post is filled, the name is not shown;
    ``withheld_as`` (e.g. ``text("name_withheld", lang)``) is then put in its ``name``, for a
    printed sheet that shows names as they are.
    """
    cols = ["grid_id", "building_id", "role", "name", "phone", "role_label", "withheld"]
    people = plan.layers.get("people")
    if people is None or len(people) == 0:
        return pd.DataFrame(columns=cols)
    people = pd.DataFrame(people).reset_index()
    people = people[[c for c in cols if c in people.columns]].reindex(columns=cols)
    people["withheld"] = [w is True or str(w).lower() in ("true", "1") for w in people["withheld"]]
    if withheld_as is not None:
        people.loc[people["withheld"], "name"] = withheld_as
    return people


def withhold_people(people: pd.DataFrame) -> pd.DataFrame:
    """The posts of a ``people`` layer without who holds them: one row per filled post (grid,
    building, role, the template's label), ``name`` and ``phone`` empty, ``withheld`` true.

    What an anonymous visitor of the public map is given (``app.auth.visible_plan``): pages then
    say "网格长 已指定（姓名不公开）" for an assigned post and "未指定" only for an empty one.
    """
    frame = pd.DataFrame(people)
    if "grid_id" in frame.columns:
        frame = frame[frame["grid_id"].notna() & (frame["grid_id"].astype(str) != "")]
    keep = [c for c in ("grid_id", "building_id", "role", "template_role", "role_label") if c in frame.columns]
    return frame[keep].assign(name=None, phone=None, withheld=True).reset_index(drop=True)


def person_text(name, lang: str, *, withheld: bool = False) -> str:
    """A post holder's name as shown: the name, or "已指定（姓名不公开）" when it is withheld."""
    if withheld and _blank(name):
        return text("name_withheld", lang)
    return "" if _blank(name) else str(name)


def escalation_of(plan: Plan, grid_id) -> list:
    """The grid's escalation chain (网格吹哨、部门报到): the plan's ``escalation`` metadata for the
    grid's community (the most common ``community`` of its buildings), else ``"*"``; a list of
    ``{level, role, name, phone}`` (empty when the plan has none)."""
    chains = plan.meta.get("escalation") or {}
    if not chains:
        return []
    community = grid_communities(plan.buildings, plan.grids.loc[[grid_id]]).iloc[0]
    return [dict(c) for c in chains.get(community) or chains.get("*") or []]


def community_office(plan: Plan, grid_id) -> dict | None:
    """The community office a resident can call about the grid: the first community-level entry
    (``level`` 社区 or ``community``) of its escalation chain with a phone, as ``{name, role,
    phone}``; ``None`` without one. Office numbers are not personal data: shown to everyone."""
    for c in escalation_of(plan, grid_id):
        if str(c.get("level", "")).strip().lower() in ("社区", "community") and not _blank(c.get("phone")):
            return {k: None if _blank(c.get(k)) else str(c[k]) for k in ("name", "role", "phone")}
    return None


def _blank(value) -> bool:
    """None, NaN, pandas' NA or empty text."""
    return value is None or (np.ndim(value) == 0 and pd.isna(value)) or str(value).strip() == ""


def _role_text(role, lang: str, label=None) -> str:
    """The role's words; a staffing template's own Chinese label (e.g. 第一网格长) on Chinese pages."""
    if lang == "zh" and not _blank(label):
        return str(label)
    return text(f"role_{role}", lang) if not _blank(role) else ""


def flag_columns(buildings: pd.DataFrame) -> list:
    """The ``flag_*`` columns (counts of special households) of ``buildings``."""
    return [c for c in buildings.columns if c.startswith("flag_")]


def grid_card(plan: Plan, grid_id, *, lang: str = "zh", adjacency: nx.Graph | None = None,
              undersize: list | None = None) -> dict:
    """Everything a grid's page and its API entry show, in plain Python values.

    Parameters
    ----------
    plan : geo.plan.Plan
    grid_id : str
        The grid (index of ``plan.grids``).
    lang : {"zh", "en"}
    adjacency : networkx.Graph, optional
        :func:`grid_adjacency` of ``plan.grids``, when the caller keeps it (it is the costly part).
    undersize : list, optional
        :func:`partitioning.undersize.undersize_reasons` of the plan, when the caller keeps it (made
        here, with the plan's graph, only for a grid that is undersize or holds no households).

    Returns
    -------
    dict
        ``grid_id``, ``grid_code``, ``households``, ``n_buildings``, ``persons`` (or ``None``),
        ``status``, ``status_text``, ``undersize_text`` (why an undersize grid cannot grow, in
        words: :func:`undersize_text`; else ``None``), ``staff`` (people of the grid without a building: role,
        role_text, name, phone, ``withheld`` and ``count`` — the posts of one role whose names are
        withheld are one entry; empty when the plan has no ``people`` layer), ``office`` (the
        community office: :func:`community_office`, or ``None``), ``neighbours`` (codes),
        ``units`` (the upper levels' units holding it: level, unit_code, name), ``emergency``
        (codes of the emergency grids inside it), ``subgrids`` (its towers' emergency sub-grids by
        unit and floor: :func:`maps.towers.grid_subgrids`), ``posts`` (the posts it needs:
        :func:`maps.towers.grid_posts`),
        ``number`` (the grid's number people read, :func:`partitioning.codes.short_code`),
        ``neighbour_numbers`` (number by neighbour code),
        ``buildings`` (in reading order, :func:`partitioning.codes.building_numbers`: ``no``, ``building_id``, ``name`` (name or address from
        the data, :func:`geo.names.building_names`, else ``None``), ``households``,
        ``units`` (单元 of a tower, else 1), ``leaders``, ``special`` — counts of flagged households by flag), ``special`` (the grid's
        counts of flagged households by flag).
    """
    grid = plan.grids.loc[grid_id]
    adjacency = grid_adjacency(plan.grids) if adjacency is None else adjacency
    codes = plan.grids["grid_code"]
    people = plan_people(plan)
    in_grid = people[people["grid_id"].astype(str) == str(grid_id)]
    staff = _posts([r for r in in_grid.itertuples() if _blank(r.building_id)], lang)
    buildings = plan.buildings[plan.buildings["grid_id"] == grid_id]
    flags = flag_columns(buildings)
    names = building_names(buildings)
    rows = []
    numbers = building_numbers(buildings.geometry)
    units = building_units(plan, grid_id)
    for bid in numbers.sort_values(kind="stable").index:
        b = buildings.loc[bid]
        no = int(numbers[bid])
        leaders = people[people["building_id"].astype(str) == str(bid)]
        rows.append({
            "no": no, "building_id": str(bid),
            "name": names[bid],
            "households": int(b["households"]),
            "units": units.get(str(bid), 1),
            "leaders": _posts(list(leaders.itertuples()), lang),
            "special": {f[5:]: int(b[f]) for f in flags if not _blank(b[f]) and int(b[f]) > 0},
        })
    persons = grid.get("persons") if "persons" in grid.index else None
    return {
        "grid_id": str(grid_id), "grid_code": str(grid["grid_code"]),
        "number": short_code(grid["grid_code"], plan.meta.get("code_prefix")),
        "households": int(grid["households"]), "n_buildings": int(grid["n_buildings"]),
        "persons": None if _blank(persons) else int(persons),
        "status": str(grid["status"]), "status_text": status_text(str(grid["status"]), lang),
        "undersize_text": _undersize_text(plan, grid_id, undersize, lang),
        "staff": staff,
        "office": community_office(plan, grid_id),
        "neighbours": sorted(str(codes.loc[n]) for n in adjacency.neighbors(grid_id)),
        "neighbour_numbers": {str(codes.loc[n]): short_code(codes.loc[n], plan.meta.get("code_prefix"))
                              for n in adjacency.neighbors(grid_id)},
        "units": _units_of(plan, buildings),
        "emergency": _emergency_codes(plan, grid_id),
        "subgrids": grid_subgrids(plan, grid_id, lang=lang),
        "posts": grid_posts(plan, grid_id, lang=lang),
        "buildings": rows,
        "special": {k: n for k in dict.fromkeys(k for r in rows for k in r["special"])
                    if (n := sum(r["special"].get(k, 0) for r in rows))},
    }


def _posts(rows: list, lang: str) -> list:
    """Post holders as the card shows them: ``role``, ``role_text``, ``name``, ``phone``,
    ``withheld``, ``count``; the withheld posts of one role are one entry counting them."""
    out, hidden = [], {}
    for r in rows:
        withheld = bool(getattr(r, "withheld", False)) and _blank(r.name)
        post = {"role": r.role, "role_text": _role_text(r.role, lang, r.role_label),
                "name": None if _blank(r.name) else str(r.name),
                "phone": None if _blank(r.phone) else str(r.phone), "withheld": withheld, "count": 1}
        if not withheld:
            out.append(post)
        elif post["role_text"] in hidden:
            hidden[post["role_text"]]["count"] += 1
        else:
            hidden[post["role_text"]] = post
            out.append(post)
    return out


def _units_of(plan: Plan, buildings: pd.DataFrame) -> list:
    """The units of the upper levels holding a grid's buildings, coarsest first."""
    units = plan.layers.get("levels")
    if units is None or len(units) == 0:
        return []
    out = []
    for level in dict.fromkeys(units["level"].astype(str)):
        col = f"unit_{level}"
        if col not in buildings.columns or buildings.empty:
            continue
        row = units.loc[(units["level"].astype(str) == level) & (units["unit_id"] == buildings[col].iloc[0])]
        if len(row):
            name = row["name"].iloc[0]
            out.append({"level": level, "unit_code": str(row["unit_code"].iloc[0]),
                        "name": None if _blank(name) else str(name)})
    return out


def _emergency_codes(plan: Plan, grid_id) -> list:
    """Codes of the emergency grids inside a grid (empty without an emergency layout)."""
    emergency = plan.layers.get("grids_emergency")
    if emergency is None:
        return []
    return sorted(emergency.loc[emergency["parent_grid_id"].astype(str) == str(grid_id), "grid_code"].astype(str))


_SEARCH_FIELDS = ("name", "addr:street", "addr:housenumber", "address", "addr", "community")


def search_plan(plan: Plan, query: str, *, limit: int = 20) -> list:
    """Grids and buildings matching ``query``: grid code, building ID, or name/address text.

    Exact grid codes come first, then codes ending with the query (``84`` finds
    ``…0084``), then building IDs and text fields (``name``, ``address``, ``addr:*``,
    ``community``) containing it, case-insensitively.

    Returns
    -------
    list of dict
        ``kind`` (``grid``/``building``), ``grid_code``, ``number`` (the grid's number people
        read), ``building_id`` (buildings), ``label`` (id and text fields, for programs).
    """
    q = query.strip().lower()
    if not q:
        return []
    hits: list = []
    codes = plan.grids["grid_code"].astype(str)
    low = codes.str.lower()
    for mask in (low == q, low.str.endswith(q) & (low != q), low.str.contains(q, regex=False)
                 & ~low.str.endswith(q)):
        hits += [{"kind": "grid", "grid_code": c, "number": short_code(c, plan.meta.get("code_prefix")), "label": c}
                 for c in codes[mask]]
    b = plan.buildings
    ids = b.index.astype(str)
    match = pd.Series(ids.str.lower().str.contains(q, regex=False), index=b.index)
    fields = [f for f in _SEARCH_FIELDS if f in b.columns]
    for f in fields:
        match |= b[f].astype(str).str.lower().str.contains(q, regex=False) & b[f].notna()
    for bid in b.index[match.to_numpy()][: max(0, limit - len(hits))]:
        words = [str(b.at[bid, f]) for f in fields if not _blank(b.at[bid, f])]
        hits.append({"kind": "building", "building_id": str(bid), "grid_code": str(b.at[bid, "grid_code"]),
                     "number": short_code(str(b.at[bid, "grid_code"]), plan.meta.get("code_prefix")),
                     "label": " · ".join([str(bid), *words])})
    return hits[:limit]


