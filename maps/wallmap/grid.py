"""The battle map (作战图) of one grid."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure

from geo.errors import InputError
from geo.plan import Plan
from maps import _sheet as sh
from maps.i18n import text
from maps.wallmap._content import (_BUILDING_EDGE, _BUILDING_FILL, _GRID_FILL, _GRID_LINE, _OTHER_BUILDING,
                                   _OTHER_EDGE, _OTHER_FILL, DEFAULT_BASE_URL, _check, _community,
                                   _grid_number, _new_sheet, _plan_name, _roster, _Sheet, grid_url)
from maps.wallmap._page import (_context_layers, _display, _figure_lines, _frame_layout, _legend,
                                _map_furniture, _page, _pick_orientation, _place_and_draw, _qr)

logger = logging.getLogger(__name__)

def _grid_layout(sheet: _Sheet, n_rows: int = 0) -> dict:
    """Map and side panel of a grid sheet; ``fits``: whether ``n_rows`` table rows fit at 7 pt."""
    lay = _frame_layout(sheet)
    x, y, w, h = lay["body"]
    panel_w = 92 * sheet.s
    lay["map"] = (x, y, w - panel_w - lay["gap"], h)
    lay["panel"] = (x + w - panel_w, y, panel_w, h)
    # figures, QR code and legend take about 80 mm on A3; then two headings and the table rows
    need = 80 * sheet.s + 2 * sh.MIN_PT * sh.MM_PER_PT * (1.15 * 1.9 + 1.8) + n_rows * sh.MIN_PT * sh.MM_PER_PT * 1.8
    lay["fits"] = need <= h
    return lay


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


def grid_sheet(plan: Plan, grid_code: str, *, paper: str = "A3", orientation: str = "auto",
               lang: str = "zh", roster=None, base_url: str = DEFAULT_BASE_URL, plan_name: str | None = None,
               title: str | None = None, community_name: str | None = None, attribution: str | None = None,
               printed: str | None = None, font=None) -> Figure:
    """The battle map (作战图) of one grid.

    Parameters
    ----------
    plan : geo.plan.Plan
        The plan (metric CRS).
    grid_code : str
        The printed code of the grid (``plan.grids["grid_code"]``).
    paper : {"A3", "A2", "A1", "A0"}
    orientation : {"auto", "portrait", "landscape"}
        ``auto`` takes the one that shows the grid at the larger scale.
    lang : {"zh", "en"}
    roster : DataFrame or list of dict, optional
        People of the grids (see the module docstring); default the plan's ``people`` layer;
        blank rows are printed without either.
    base_url : str
        Web app address the QR code links to (``{base_url}/plans/{plan_name}/grids/{grid_code}``).
    plan_name : str, optional
        Name of the plan in the web app (the plan file's stem); default ``plan.meta["plan_name"]``.
    title : str, optional
        The whole title; default ``"{community} 第{number}网格 作战图"``.
    community_name : str, optional
        Default ``plan.meta["community_name"]``, else the placeholder "XX社区".
    attribution : str, optional
        Data attribution; default from the plan's inputs (OpenStreetMap data is credited).
    printed : str, optional
        Date printed on the sheet (default today).
    font : path, optional
        Font file to set the sheet in (default :func:`find_cjk_font`).

    Returns
    -------
    matplotlib.figure.Figure
        The page, sized to the paper; write it with :func:`save_sheet`.

    Raises
    ------
    InputError
        Unknown grid code, paper, orientation, language or bad roster.
    MissingFontError
        No CJK font installed.
    """
    _check(plan, paper, orientation, lang)
    grids = plan.grids
    match = grids.index[grids["grid_code"].astype(str) == str(grid_code)]
    if not len(match):
        sample = ", ".join(grids["grid_code"].astype(str).sort_values().head(3))
        raise InputError(f"grid {grid_code!r} is not in the plan ({len(grids)} grids: {sample}, …); "
                         "see `gridplan check PLAN` for the codes")
    grid_id = match[0]
    grid = grids.loc[grid_id]
    roster = _roster(roster, plan)
    prefix = plan.meta.get("code_prefix")
    number = _grid_number(str(grid_code), prefix)
    name = _plan_name(plan, plan_name)
    community = _community(plan, community_name, lang)
    title = title or text("grid_sheet_title", lang).format(community=community, number=number)

    pad = 0.06
    bounds = grid.geometry.bounds
    n_rows = len(_contact_rows(roster, grid_id, lang)) + int(grid["n_buildings"])
    landscape = _pick_orientation(paper, orientation, bounds, lambda probe: _grid_layout(probe, n_rows), pad=pad)
    sheet = _new_sheet(paper, landscape, lang, font)
    sheet.fig.set_label(title)
    lay = _grid_layout(sheet)
    mine = plan.buildings[plan.buildings["grid_id"] == grid_id]
    hh_total = int(mine["households"].sum())
    subtitle = " · ".join([f"{text('grid_code', lang)} {grid_code}", f"{text('households', lang)} {hh_total}",
                           f"{text('plan', lang)} {name}"])
    ax, rect, denominator, window = _page(sheet, lay, plan, title, subtitle, bounds, pad=pad,
                                          attribution=attribution, printed=printed)
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

    from partitioning.codes import reading_order

    order = reading_order(mine.geometry.values)
    numbered = mine.iloc[order]
    numbers = {b: i + 1 for i, b in enumerate(numbered.index)}
    label_pt = max(sh.MIN_PT, round(7.5 * sheet.s ** 0.75, 1))  # wall sheets are read from further away
    by_priority = numbered.sort_values("households", ascending=False, kind="stable")
    anchors = shapely.get_coordinates(shapely.point_on_surface(by_priority.geometry.values))
    lines = [[str(numbers[b]), text("households_unit", lang).format(n=int(hh))]
             for b, hh in zip(by_priority.index, by_priority["households"])]
    omitted = _place_and_draw(sheet, ax, rect, denominator, anchors, lines,
                              [[str(numbers[b])] for b in by_priority.index], size=label_pt)
    # neighbours' numbers, where room is left
    clipped = shapely.intersection(others.geometry.values, window)
    keep = ~shapely.is_empty(clipped)
    if keep.any():
        pts = shapely.get_coordinates(shapely.point_on_surface(clipped[keep]))
        labels = [[text("grid_number", lang).format(number=_grid_number(str(c), prefix))]
                  for c in others["grid_code"][keep]]
        _place_and_draw(sheet, ax, rect, denominator, pts, labels, None, size=sheet.pt(8), colour="#555555",
                        bg=None)  # on the plain grey of the neighbours: no backing box needed
    if omitted:
        logger.warning("grid %s: %d of %d building labels left out for lack of room at 1:%d; the table "
                       "lists every building", grid_code, omitted, len(mine), denominator)
    _map_furniture(sheet, ax, rect, denominator, text("labels_omitted", lang).format(n=omitted) if omitted else None)

    # the side panel
    px, py, pw, ph = lay["panel"]
    pax = sh.panel(sheet.fig, px, py, pw, ph)
    body = sheet.pt(8.5)
    persons = grid.get("persons") if "persons" in grids.columns else None
    pairs = [(text("grid_code", lang), grid_code), (text("households", lang), hh_total),
             (text("buildings", lang), len(mine)),
             (text("persons", lang), "—" if persons is None or pd.isna(persons) else int(persons)),
             (text("status", lang), text(f"status_{grid['status']}", lang)),
             (text("target", lang), plan.meta.get("target", "—"))]
    qr_size = min(30 * sheet.s, pw * 0.34)
    used = _figure_lines(sheet, pax, 0, ph, text("figures", lang), pairs, size=body)
    _qr(sheet, pax, pw - qr_size, ph - qr_size, qr_size,
        grid_url(base_url, name, str(grid_code)), text("scan_grid", lang))
    top = ph - max(used, qr_size + 8 * sheet.s) - 3 * sheet.s
    items = [(text("legend_this_grid", lang), "patch", {"fc": _GRID_FILL, "ec": _GRID_LINE, "lw": 1.8}),
             (text("legend_grid_buildings", lang), "patch", {"fc": _BUILDING_FILL, "ec": _BUILDING_EDGE, "lw": 0.5}),
             (text("legend_neighbours", lang), "patch", {"fc": _OTHER_FILL, "ec": _OTHER_EDGE, "lw": 0.7}),
             (text("legend_other_buildings", lang), "patch", {"fc": _OTHER_BUILDING, "ec": _OTHER_EDGE, "lw": 0.3}),
             *context]
    top -= _legend(sheet, pax, 0, top, items, size=body) + 3 * sheet.s

    contacts = _contact_rows(roster, grid_id, lang)
    leaders = {}
    if roster is not None:
        for p in roster[(roster["grid_id"] == grid_id) & (roster["role"] == "building_leader")].itertuples():
            leaders.setdefault(p.building_id, (p.name, p.phone))
    brows = [[str(numbers[b]), str(b), str(int(hh)), *leaders.get(str(b), ("", ""))]
             for b, hh in zip(numbered.index, numbered["households"])]
    # shrink the tables' type to fit, down to 7 pt; then leave rows out with a note
    for size in np.unique(np.clip(np.linspace(body, sh.MIN_PT, 4), sh.MIN_PT, None))[::-1]:
        row_h = size * sh.MM_PER_PT * 1.8
        need = (len(contacts) + len(brows) + 2) * row_h + 2 * (size * 1.15 * sh.MM_PER_PT * 1.9)
        if need <= top:
            break
    room = int((top - 2 * size * 1.15 * sh.MM_PER_PT * 1.9) / row_h) - len(contacts) - 2
    shown = brows if room >= len(brows) else brows[:max(room - 1, 0)]
    left_out = len(brows) - len(shown)
    heading = size * 1.15 * sh.MM_PER_PT * 1.9
    sh.put(pax, 0, top - heading / 2, text("contacts", lang), size=size * 1.15, font=sheet.font, bold=True,
           va="center_baseline")
    top -= heading
    top -= sh.table(pax, 0, top, [pw * 0.26, pw * 0.37, pw * 0.37],
                    [text("role", lang), text("name", lang), text("phone", lang)], contacts,
                    size=size, font=sheet.font, row_h=row_h)
    sh.put(pax, 0, top - heading / 2, text("building_leaders", lang), size=size * 1.15, font=sheet.font,
           bold=True, va="center_baseline")
    top -= heading
    if left_out:
        shown = [*shown, text("rows_omitted", lang).format(n=left_out)]
        logger.warning("grid %s: %d building rows left out of the table for lack of room on %s",
                       grid_code, left_out, paper)
    sh.table(pax, 0, top, [pw * 0.09, pw * 0.27, pw * 0.13, pw * 0.24, pw * 0.27],
             [text("number", lang), text("building", lang), text("households_column", lang),
              text("role_building_leader", lang), text("phone", lang)], shown,
             size=size, font=sheet.font, row_h=row_h, align=["left", "left", "right", "left", "left"])
    return sheet.fig
