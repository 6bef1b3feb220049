"""The battle map (作战图) of one grid."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure

from geo.names import building_names
from geo.plan import Plan
from maps import _sheet as sh
from maps.i18n import text
from maps.towers import grid_posts, grid_subgrids
from maps.wallmap import _tables as tb
from maps.wallmap._content import (
    _BUILDING_EDGE,
    _BUILDING_FILL,
    _GRID_FILL,
    _GRID_LINE,
    _OTHER_BUILDING,
    _OTHER_EDGE,
    _OTHER_FILL,
    _base_url,
    _check,
    _community,
    _escalation,
    _new_sheet,
    _plan_name,
    _roster,
    _Sheet,
    grid_url,
)
from maps.wallmap._page import (
    BODY_PT,
    HEADING_PT,
    LABEL_PT,
    NEIGHBOUR_PT,
    _context_layers,
    _display,
    _figure_lines,
    _frame_layout,
    _legend,
    _map_furniture,
    _page,
    _paper_lines,
    _pick_orientation,
    _place_and_draw,
    _qr,
)
from maps.wallmap.options import SheetOptions, sheet_options
from partitioning.codes import building_numbers, resolve_grid_code, short_code

__all__ = ["grid_sheet", "building_table", "PANEL_MM"]

logger = logging.getLogger(__name__)

#: Width of a grid sheet's side panel on A3 (mm): the tables at 12 pt.
PANEL_MM = 104


def _grid_layout(sheet: _Sheet) -> dict:
    """Map and side panel of a grid sheet (mm)."""
    lay = _frame_layout(sheet)
    x, y, w, h = lay["body"]
    panel_w = PANEL_MM * sheet.s
    lay["map"] = (x, y, w - panel_w - lay["gap"], h)
    lay["panel"] = (x + w - panel_w, y, panel_w, h)
    return lay


def _inner_points(geoms) -> np.ndarray:
    """A point deep inside each footprint (the centre of its largest inscribed circle, on its
    largest part), where a label sits clear of the building's own edges and of grid lines along them."""
    parts = [max(shapely.get_parts(g), key=lambda p: p.area) for g in geoms]
    circles = shapely.maximum_inscribed_circle(np.asarray(parts, dtype=object), tolerance=0.25)
    return shapely.get_coordinates(shapely.get_point(circles, 0))


def _contact_rows(roster, grid_id, lang) -> list:
    rows = []
    for role, blanks in (("grid_leader", 1), ("grid_worker", 1), ("police", 1), ("volunteer", 2)):
        people = roster[(roster["grid_id"] == grid_id) & (roster["role"] == role)] if roster is not None else []
        label = text(f"role_{role}", lang)
        if len(people):  # the post's own title (e.g. 第一网格长) when the roster names it
            rows += [[(getattr(p, "role_label", "") if lang == "zh" else "") or label, p.name, p.phone]
                     for p in people.itertuples()]
        else:
            rows += [[label, "", ""]] * blanks
    return rows


def grid_sheet(plan: Plan, grid_code: str, options: SheetOptions | None = None, *, roster=None, escalation=None,
               **overrides) -> Figure:
    """The battle map (作战图) of one grid.

    Parameters
    ----------
    plan : geo.plan.Plan
        The plan (metric CRS).
    grid_code : str
        The grid: its printed code (``plan.grids["grid_code"]``) or its number (``"3"``,
        ``"003"``) or the code's trailing part (see :func:`partitioning.codes.resolve_grid_code`).
    options : SheetOptions, optional
        Paper (default A3), orientation (``auto``: the one that shows the grid at the larger
        scale), language, QR code address and the rest (:class:`SheetOptions`).
    roster : DataFrame or list of dict, optional
        People of the grids (see the module docstring); default the plan's ``people`` layer;
        blank rows are printed without either.
    escalation : list of dict, optional
        The escalation chain (``{level, role, name, phone}``) to print; default the plan's
        ``escalation`` metadata for the grid's community (see docs/people.md).
    **overrides
        Fields of :class:`SheetOptions` given one by one (``paper="A2"``), over ``options``.

    Returns
    -------
    SheetFigure
        The page, sized to the paper; ``more_pages`` holds the pages the building table continues
        on when it does not fit. Write them with :func:`save_sheet`.

    Raises
    ------
    InputError
        Unknown or ambiguous grid, paper, orientation, language, web address or bad roster.
    MissingFontError
        No CJK font installed.
    """

    opts = sheet_options(options, overrides)
    opts = opts.but(paper=opts.paper or "A3")
    _check(plan, opts.paper, opts.orientation, opts.lang)
    code = resolve_grid_code(plan.grids["grid_code"].astype(str), grid_code, prefix=plan.meta.get("code_prefix"))
    grid_id = plan.grids.index[plan.grids["grid_code"].astype(str) == code][0]
    community = _community(plan, opts.community_name, grid_id)
    if community is None:
        logger.warning("grid %s: the plan names no community, so the title has none; give the community's "
                       "name (gridplan print --community-name 养育巷社区)", code)
    return _grid_figure(plan, code, opts.but(plan_name=_plan_name(plan, opts.plan_name)),
                        roster=_roster(roster, plan), url=_base_url(plan, opts.base_url), community=community,
                        escalation=escalation)


def building_table(plan: Plan, grid_id, roster=None) -> pd.DataFrame:
    """The building table of a grid's sheet, as printed: one row per building, in number order.

    Parameters
    ----------
    plan : geo.plan.Plan
    grid_id : str
        The grid (index of ``plan.grids``).
    roster : DataFrame, optional
        People of the grids (the sheet's roster, already read); building leaders come from it.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``building_id``: ``no`` (the building's number in the grid,
        :func:`partitioning.codes.building_numbers`, as on the web page and in the editor),
        ``name`` (its name or address where the data has one, else its own ID: the key of the
        plan's data, which the office can look up), ``households``, ``leader`` and ``phone`` of
        its building leader (``""`` when none).
    """
    mine = plan.buildings[plan.buildings["grid_id"] == grid_id]
    numbers = building_numbers(mine.geometry).sort_values(kind="stable")
    numbered = mine.loc[numbers.index]
    leaders: dict = {}
    if roster is not None:
        for p in roster[(roster["grid_id"] == grid_id) & (roster["role"] == "building_leader")].itertuples():
            leaders.setdefault(p.building_id, (p.name, p.phone))
    names = building_names(numbered)
    held = [leaders.get(str(b), ("", "")) for b in numbered.index]
    return pd.DataFrame({"no": numbers.to_numpy(),
                         "name": [str(n) if n else str(b) for b, n in zip(numbered.index, names)],
                         "households": numbered["households"].astype(int).to_numpy(),
                         "leader": [h[0] for h in held], "phone": [h[1] for h in held]},
                        index=numbered.index)


def _grid_figure(plan: Plan, grid_code: str, opts: SheetOptions, *, roster, url, community,
                 escalation=None) -> Figure:
    """:func:`grid_sheet` once its inputs are checked and resolved (``opts.paper`` and
    ``opts.plan_name`` set; ``url`` may be ``None``)."""
    paper, orientation, lang, font = opts.paper, opts.orientation, opts.lang, opts.font
    title, attribution, printed = opts.title, opts.attribution, opts.printed
    grids = plan.grids
    grid_id = grids.index[grids["grid_code"].astype(str) == str(grid_code)][0]
    grid = grids.loc[grid_id]
    prefix = plan.meta.get("code_prefix")
    number = short_code(grid_code, prefix)
    name = opts.plan_name
    heading = title or text("grid_sheet_heading", lang).format(number=number)

    pad = 0.04
    bounds = grid.geometry.bounds
    landscape = _pick_orientation(paper, orientation, bounds, _grid_layout, pad=pad)
    sheet = _new_sheet(paper, landscape, lang, font)
    sheet.fig.set_label(f"{community} {heading}" if community else heading)
    lay = _grid_layout(sheet)
    mine = plan.buildings[plan.buildings["grid_id"] == grid_id]
    hh_total = int(mine["households"].sum())
    n_sub = len(grid_subgrids(plan, grid_id))  # a tower's emergency sub-grids: said here, listed overleaf
    subtitle = " · ".join([f"{text('grid_code', lang)} {grid_code}", f"{text('households', lang)} {hh_total}",
                           f"{text('buildings', lang)} {len(mine)}", f"{text('plan', lang)} {name}",
                           *([text("subgrids_overleaf", lang).format(n=n_sub)] if n_sub else [])])
    ax, rect, denominator, window = _page(sheet, lay, plan, heading, subtitle, bounds, pad=pad,
                                          attribution=attribution, printed=printed, kicker=community)
    near_grids = grids.iloc[grids.sindex.query(window)]
    others = near_grids[near_grids.index != grid_id]
    sh.add_polygons(ax, _display(others.geometry.values, window, denominator), facecolors=_OTHER_FILL,
                    edgecolors=_OTHER_EDGE, linewidths=0.7, zorder=1)
    sh.add_polygons(ax, _display([grid.geometry], window, denominator), facecolors=_GRID_FILL,
                    edgecolors="none", zorder=1)
    near_b = plan.buildings.iloc[plan.buildings.sindex.query(window)]
    near_b = near_b[near_b["grid_id"] != grid_id]
    sh.add_polygons(ax, _display(near_b.geometry.values, window, denominator), facecolors=_OTHER_BUILDING,
                    edgecolors=_OTHER_EDGE, linewidths=0.2, zorder=2)
    context = _context_layers(sheet, ax, plan, window)
    sh.add_polygons(ax, mine.geometry.values, facecolors=_BUILDING_FILL, edgecolors=_BUILDING_EDGE,
                    linewidths=0.4, zorder=3)
    sh.add_lines(ax, shapely.boundary(np.array([grid.geometry])), colors=_GRID_LINE,
                 linewidths=2.2 * sheet.s ** 0.5, zorder=4)

    table = building_table(plan, grid_id, roster)
    numbered = mine.loc[table.index]
    numbers = table["no"].to_dict()
    # labels never cross a grid line: this grid's boundary and the neighbours' edges
    edges = _paper_lines(_display(near_grids.geometry.values, window, denominator), ax, denominator)
    label_pt = max(sh.MIN_PT, round(LABEL_PT * sheet.s ** 0.75, 1))  # wall sheets are read from further away
    by_priority = numbered.sort_values("households", ascending=False, kind="stable")
    anchors = _inner_points(by_priority.geometry.values)
    # a building without households carries its number only: "0户" is noise on the wall
    lines = [[str(numbers[b]), text("households_unit", lang).format(n=int(hh))] if hh > 0 else [str(numbers[b])]
             for b, hh in zip(by_priority.index, by_priority["households"])]
    omitted, taken = _place_and_draw(sheet, ax, rect, denominator, anchors, lines,
                                     [[str(numbers[b])] for b in by_priority.index], size=label_pt, avoid=edges,
                                     full_at=1)
    # neighbours' numbers, where room is left: clear of the building labels and of grid lines
    clipped = shapely.intersection(others.geometry.values, window)
    keep = ~shapely.is_empty(clipped)
    if keep.any():
        pts = shapely.get_coordinates(shapely.point_on_surface(clipped[keep]))
        labels = [[text("grid_number", lang).format(number=short_code(c, prefix))]
                  for c in others["grid_code"][keep]]
        _place_and_draw(sheet, ax, rect, denominator, pts, labels, None, size=sheet.pt(NEIGHBOUR_PT),
                        colour="#555555", bg=_OTHER_FILL, taken=taken, avoid=edges)
    if omitted:
        logger.warning("grid %s: %d of %d building labels left out for lack of room at 1:%d; the table "
                       "lists every building", grid_code, omitted, len(mine), denominator)
    _map_furniture(sheet, ax, rect, denominator, text("labels_omitted", lang).format(n=omitted) if omitted else None)

    # the side panel: figures and QR code, legend, escalation chain, contacts, buildings
    px, py, pw, ph = lay["panel"]
    pax = sh.panel(sheet.fig, px, py, pw, ph)
    body, head = sheet.pt(BODY_PT), sheet.pt(HEADING_PT)
    gap = 4 * sheet.s
    persons = grid.get("persons") if "persons" in grids.columns else None
    pairs = [(text("households", lang), hh_total), (text("buildings", lang), len(mine)),
             (text("persons", lang), "—" if persons is None or pd.isna(persons) else int(persons)),
             (text("status", lang), text(f"status_{grid['status']}", lang)),
             (text("target", lang), plan.meta.get("target", "—"))]
    # the posts that grow with the grid (building leaders by unit, volunteers by households), on one
    # line whatever the template: the web page lists every post
    grow = {}
    for p in grid_posts(plan, grid_id, lang=lang):
        if p["shows_as"] in ("building_leader", "volunteer"):
            grow[p["shows_as"]] = grow.get(p["shows_as"], 0) + p["count"]
    if grow:
        pairs.append((text("posts", lang), " · ".join(f"{text('role_' + r, lang)} {n}" for r, n in grow.items())))

    qr_size = min(32 * sheet.s, pw * 0.34)
    used = _figure_lines(sheet, pax, 0, ph, text("figures", lang), pairs, size=body)
    if url:
        _qr(sheet, pax, pw - qr_size, ph - qr_size, qr_size, grid_url(url, name, str(grid_code)),
            text("scan_grid", lang))
    top = ph - max(used, qr_size + 7 * sheet.s if url else 0) - gap
    items = [(text("legend_this_grid", lang), "patch", {"fc": _GRID_FILL, "ec": _GRID_LINE, "lw": 1.8}),
             (text("legend_grid_buildings", lang), "patch", {"fc": _BUILDING_FILL, "ec": _BUILDING_EDGE, "lw": 0.5}),
             (text("legend_neighbours", lang), "patch", {"fc": _OTHER_FILL, "ec": _OTHER_EDGE, "lw": 0.7}),
             (text("legend_other_buildings", lang), "patch", {"fc": _OTHER_BUILDING, "ec": _OTHER_EDGE, "lw": 0.3}),
             *context]
    top -= _legend(sheet, pax, 0, top, items, size=body) + gap

    note_h = tb.row_height(body) * 1.2  # room kept for "the table continues overleaf"

    def block(heading_key, header, rows, least, bottom=0.0):
        nonlocal top
        widths = tb.column_widths(header, rows, body, sheet.font, least=least)
        widths = [w * pw / sum(widths) for w in widths]  # the panel's width
        sh.put(pax, 0, top - tb.heading_height(head) / 2, text(heading_key, lang), size=head, font=sheet.font,
               bold=True, va="center_baseline")
        top -= tb.heading_height(head)
        rest = tb.flow(pax, 0, top, bottom, widths, header, rows, size=body, font=sheet.font)
        top -= (len(rows) - len(rest) + 1) * tb.row_height(body) + gap
        return rest, widths

    chain = _escalation(plan, grid_id, roster, lang, escalation)
    contacts = _contact_rows(roster, grid_id, lang)
    phone_w = sh.text_size_mm("0512-65000000", body, sheet.font)[0] + 2 * body * sh.MM_PER_PT
    block("escalation", [text("level", lang), text("post", lang), text("name", lang), text("phone", lang)], chain,
          [0, 0, 0, phone_w])
    block("contacts", [text("role", lang), text("name", lang), text("phone", lang)], contacts, [0, 0, phone_w])

    brows = [[str(r.no), r.name, str(r.households), r.leader, r.phone] for r in table.itertuples()]
    bheader = [text("number", lang), text("building", lang), text("households_column", lang),
               text("role_building_leader", lang), text("phone", lang)]
    align = ["left", "left", "right", "left", "left"]
    least = [0, 0, 0, sh.text_size_mm("楼栋长名", body, sheet.font)[0], phone_w]
    room = int((top - tb.heading_height(head)) / tb.row_height(body)) - 1
    if room >= len(brows):  # the whole table fits
        rest, widths = block("building_leaders", bheader, brows, least)
    elif room >= 4:  # at least three rows here (and the note), the rest overleaf
        rest, widths = block("building_leaders", bheader, brows, least, bottom=note_h)
    else:
        rest = brows
        widths = tb.column_widths(bheader, brows, body, sheet.font, least=least)
        widths = [w * pw / sum(widths) for w in widths]
    if rest:
        sh.put(pax, 0, min(max(top, 0), note_h) + note_h * 0.1, text("table_continues", lang), size=body,
               font=sheet.font, va="bottom", color=_GRID_LINE)
        sheet.fig.more_pages = tb.continuation_pages(
            plan, paper, landscape, lang, sheet.font, title=f"{heading} · {text('building_leaders', lang)}",
            kicker=community, subtitle=subtitle, widths=widths, header=bheader, rows=rest, size=body,
            align=align, attribution=attribution, printed=printed)
        logger.info("grid %s: %d building rows continue on %d more page(s)", grid_code, len(rest),
                    len(sheet.fig.more_pages))
    subgrids = grid_subgrids(plan, grid_id, lang=lang)
    if subgrids:  # a tower's emergency sub-grids by unit and floor, on a page of their own
        header = [text("subgrid_code", lang), text("subgrids", lang)]
        rows = [[g["code"], g["label"] + (f" · {text('subgrid_across', lang)}" if g["across"] else "")]
                for g in subgrids]
        sheet.fig.more_pages += tb.continuation_pages(
            plan, paper, landscape, lang, sheet.font, title=f"{heading} · {text('subgrids', lang)}",
            kicker=community, subtitle=subtitle, widths=tb.column_widths(header, rows, body, sheet.font),
            header=header, rows=rows, size=body, align=["left", "left"], attribution=attribution, printed=printed)
    return sheet.fig
