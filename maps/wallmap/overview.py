"""The community overview: every grid coloured so that neighbours differ, numbered, with a grid table."""

from __future__ import annotations

import logging

import numpy as np
import shapely
from matplotlib.figure import Figure

from geo.plan import Plan
from maps import _sheet as sh
from maps.i18n import text
from maps.wallmap._content import (DEFAULT_BASE_URL, _check, _community, _font, _grid_number, _new_sheet,
                                   _plan_name, _roster, _Sheet)
from maps.wallmap._page import (_context_layers, _display, _figure_lines, _frame_layout, _legend, _map_furniture,
                                _page, _pick_orientation, _place_and_draw, _qr)
from maps.webmap import PALETTE, grid_colours

logger = logging.getLogger(__name__)

def _code_prefix(plan: Plan) -> str | None:
    """The administrative prefix every grid code shares, when codes are prefix + number."""
    from partitioning.codes import PLACEHOLDER

    codes = plan.grids["grid_code"].astype(str)
    for pre in (plan.meta.get("code_prefix"), PLACEHOLDER):
        if pre and codes.str.startswith(pre).all() and codes.str.slice(len(pre)).str.isdigit().all():
            return pre
    return None


def _overview_table(plan: Plan, roster, lang) -> tuple[list, list, str | None]:
    """Header, rows and shared code prefix of the overview's grid table (rows in code order)."""
    prefix = _code_prefix(plan)
    grids = plan.grids.sort_values("grid_code")
    leaders = {}
    if roster is not None:
        for p in roster[roster["role"] == "grid_leader"].itertuples():
            leaders.setdefault(p.grid_id, (p.name, p.phone))
    header = [text("number", lang), text("households", lang), text("buildings", lang),
              text("role_grid_leader", lang), text("phone", lang)]
    rows = [[_grid_number(str(r.grid_code), prefix), str(int(r.households)), str(int(r.n_buildings)),
             *leaders.get(g, ("", ""))] for g, r in grids.iterrows()]
    if prefix is None:  # codes without a shared prefix: print them whole
        header.insert(1, text("grid_code", lang))
        for row, code in zip(rows, grids["grid_code"].astype(str)):
            row.insert(1, code)
    return header, rows, prefix


def _table_plan(sheet: _Sheet, header, rows, height: float, max_width: float):
    """Type size, column widths, rows per column and columns of the overview's grid table.

    The type shrinks from the paper's body size towards 7 pt until every row fits in
    ``max_width``; when even 7 pt does not, the table is cut (the caller notes it).
    """
    gap = 3 * sheet.s
    ncol = len(header)
    for size in np.unique(np.clip(np.linspace(sheet.pt(8.5), sh.MIN_PT, 5), sh.MIN_PT, None))[::-1]:
        pad = 0.5 * size * sh.MM_PER_PT
        sample = [header, *rows[:400], [""] * (ncol - 2) + ["网格长名", "13800000000"]]
        widths = [max(sh.text_size_mm(str(r[j]), size, sheet.font)[0] for r in sample) + 2 * pad
                  for j in range(ncol)]
        row_h = size * sh.MM_PER_PT * 1.6
        per_col = max(int(height / row_h) - 1, 1)
        n_cols = int(np.ceil(len(rows) / per_col)) or 1
        if n_cols * (sum(widths) + gap) - gap <= max_width:
            break
    else:
        n_cols = max(int((max_width + gap) / (sum(widths) + gap)), 1)
    return size, widths, row_h, per_col, n_cols


def _overview_layout(sheet: _Sheet, header, rows) -> dict:
    lay = _frame_layout(sheet)
    x, y, w, h = lay["body"]
    side = 62 * sheet.s  # figures, QR code and legend above the table
    # the map comes first: the table gets a third of the width, more only when it cannot fit
    for share in (0.33, 0.55):
        size, widths, row_h, per_col, n_cols = _table_plan(sheet, header, rows, h - side, share * w)
        if per_col * n_cols >= len(rows):
            break
    panel_w = max(n_cols * (sum(widths) + 3 * sheet.s) - 3 * sheet.s, 80 * sheet.s)
    lay.update(map=(x, y, w - panel_w - lay["gap"], h), panel=(x + w - panel_w, y, panel_w, h), side=side,
               table=(size, widths, row_h, per_col, n_cols), fits=per_col * n_cols >= len(rows))
    return lay


def overview_sheet(plan: Plan, *, paper: str = "A1", orientation: str = "auto", lang: str = "zh",
                   roster=None, title: str | None = None, community_name: str | None = None,
                   base_url: str = DEFAULT_BASE_URL, plan_name: str | None = None,
                   attribution: str | None = None, printed: str | None = None, font=None) -> Figure:
    """The community overview: every grid coloured (neighbours differ), numbered, with a grid table.

    Parameters are those of :func:`grid_sheet`; the QR code links to the plan's web map
    (``{base_url}/plans/{plan_name}/``) and the title defaults to ``"{community} 网格总览图"``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check(plan, paper, orientation, lang)
    roster = _roster(roster, plan)
    name = _plan_name(plan, plan_name)
    community = _community(plan, community_name, lang)
    title = title or text("overview_title", lang).format(community=community)
    header, rows, prefix = _overview_table(plan, roster, lang)
    bounds = tuple(plan.grids.total_bounds)
    pad = 0.02

    def layout(probe):
        return _overview_layout(probe, header, rows)

    landscape = _pick_orientation(paper, orientation, bounds, layout, pad=pad, font=_font(font))
    sheet = _new_sheet(paper, landscape, lang, font)
    sheet.fig.set_label(title)
    lay = _overview_layout(sheet, header, rows)
    hh = int(plan.grids["households"].sum())
    subtitle = " · ".join([f"{text('n_grids', lang)} {len(plan.grids)}", f"{text('households', lang)} {hh}",
                           f"{text('plan', lang)} {name}"])
    ax, rect, denominator, window = _page(sheet, lay, plan, title, subtitle, bounds, pad=pad,
                                          attribution=attribution, printed=printed)
    colours = grid_colours(plan.grids)
    sh.add_polygons(ax, plan.grids.geometry.values, facecolors=[colours[g] for g in plan.grids.index],
                    edgecolors="#333333", linewidths=0.6 * sheet.s ** 0.5, zorder=1)
    sh.add_polygons(ax, _display(plan.buildings.geometry.values, None, denominator), facecolors="#5a5a5a",
                    edgecolors="none", alpha=0.55, zorder=2)
    context = _context_layers(sheet, ax, plan, window)
    order = plan.grids.geometry.area.sort_values(ascending=False, kind="stable").index
    ordered = plan.grids.loc[order]
    anchors = shapely.get_coordinates(shapely.point_on_surface(ordered.geometry.values))
    labels = [[_grid_number(str(c), prefix)] for c in ordered["grid_code"]]
    omitted = _place_and_draw(sheet, ax, rect, denominator, anchors, labels, None,
                              size=max(sh.MIN_PT, round(9 * sheet.s ** 0.5, 1)))
    if omitted:
        logger.warning("overview: %d of %d grid labels left out for lack of room at 1:%d on %s",
                       omitted, len(plan.grids), denominator, paper)
    _map_furniture(sheet, ax, rect, denominator,
                   text("grid_labels_omitted", lang).format(n=omitted) if omitted else None)

    px, py, pw, ph = lay["panel"]
    pax = sh.panel(sheet.fig, px, py, pw, ph)
    body = sheet.pt(8.5)
    pairs = [(text("n_grids", lang), len(plan.grids)), (text("households", lang), hh),
             (text("buildings", lang), len(plan.buildings)), (text("target", lang), plan.meta.get("target", "—"))]
    used = _figure_lines(sheet, pax, 0, ph, text("plan_figures", lang), pairs, size=body)
    qr_size = min(28 * sheet.s, pw * 0.4)
    _qr(sheet, pax, pw - qr_size, ph - qr_size, qr_size, f"{base_url.rstrip('/')}/plans/{name}/",
        text("scan_plan", lang))
    items = [(text("legend_grids", lang), "patch", {"fc": PALETTE[0], "ec": "#333333", "lw": 0.6}),
             (text("legend_buildings", lang), "patch", {"fc": "#5a5a5a", "alpha": 0.55, "ec": "none"}),
             *context]
    top = ph - max(used, qr_size + 8 * sheet.s) - 3 * sheet.s
    _legend(sheet, pax, 0, top, items, size=body)

    size, widths, row_h, per_col, n_cols = lay["table"]
    top = ph - lay["side"]
    if prefix is not None:
        width = len(str(plan.grids["grid_code"].iloc[0])) - len(prefix)
        sh.put(pax, 0, top + row_h * 0.8, text("code_note", lang).format(prefix=prefix, width=width),
               size=size, font=sheet.font, va="center_baseline")
    capacity = per_col * n_cols
    shown = rows if len(rows) <= capacity else rows[:capacity - 1]
    if len(rows) > capacity:
        left_out = len(rows) - len(shown)
        shown = [*shown, text("rows_omitted", lang).format(n=left_out)]
        logger.warning("overview: %d grid rows left out of the table for lack of room on %s; print on "
                       "a larger paper", left_out, paper)
    align = ["left"] + ["left"] * (prefix is None) + ["right", "right", "left", "left"]
    x = 0.0
    for c in range(n_cols):
        chunk = shown[c * per_col:(c + 1) * per_col]
        if not chunk:
            break
        sh.table(pax, x, top, widths, header, chunk, size=size, font=sheet.font, row_h=row_h, align=align)
        x += sum(widths) + 3 * sheet.s
    return sheet.fig
