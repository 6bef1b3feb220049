"""The community overview: every grid coloured so that neighbours differ, numbered, with a grid table."""

from __future__ import annotations

import logging

import numpy as np
import shapely
from matplotlib.figure import Figure

from geo.errors import InputError
from geo.plan import Plan
from maps import _sheet as sh
from maps.i18n import text
from maps.wallmap import _tables as tb
from maps.wallmap._content import (
    _base_url,
    _check,
    _community,
    _font,
    _new_sheet,
    _plan_name,
    _roster,
    _Sheet,
    _unit_names,
)
from maps.wallmap._page import (
    BODY_PT,
    LABEL_PT,
    _context_layers,
    _display,
    _figure_lines,
    _frame_layout,
    _legend,
    _map_furniture,
    _page,
    _pick_orientation,
    _place_and_draw,
    _qr,
)
from maps.wallmap.options import SheetOptions, sheet_options
from maps.web.colours import PALETTE, grid_colours
from partitioning.codes import PLACEHOLDER, short_code

__all__ = ["overview_sheet", "TABLE_PT"]

logger = logging.getLogger(__name__)


def _code_prefix(plan: Plan) -> str | None:
    """The administrative prefix every grid code shares, when codes are prefix + number."""

    codes = plan.grids["grid_code"].astype(str)
    for pre in (plan.meta.get("code_prefix"), PLACEHOLDER):
        if pre is not None and codes.str.startswith(pre).all() and codes.str.slice(len(pre)).str.isdigit().all():
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
    rows = [[short_code(r.grid_code, prefix), str(int(r.households)), str(int(r.n_buildings)),
             *leaders.get(g, ("", ""))] for g, r in grids.iterrows()]
    if prefix is None:  # codes without a shared prefix: print them whole
        header.insert(1, text("grid_code", lang))
        for row, code in zip(rows, grids["grid_code"].astype(str)):
            row.insert(1, code)
    return header, rows, prefix


#: Type size of the grid table on the pages after the overview's map (points, any paper).
TABLE_PT = 12


def _community_summary(plan: Plan, lang: str) -> list:
    """Rows (community, grids, households) when the plan's levels or boundaries name more than one
    community; ``[]`` otherwise."""
    names = _unit_names(plan)
    if names.nunique() < 2:
        return []
    by = plan.grids.assign(community=names.replace("", "—")).groupby("community", sort=True)
    return [[c, str(len(g)), str(int(g["households"].sum()))] for c, g in by]


def _overview_layout(sheet: _Sheet, header, rows) -> dict:
    """Map and side panel of the overview; the grid table in the panel when it fits at body size
    in at most 40 % of the width (``table``: size, widths, rows per column, columns), else ``None``
    and the table goes to the following pages."""
    lay = _frame_layout(sheet)
    x, y, w, h = lay["body"]
    side = 75 * sheet.s  # figures, QR code and legend above the table
    size = sheet.pt(BODY_PT)
    widths = tb.column_widths(header, rows, size, sheet.font,
                              least=[0] * (len(header) - 2) + [sh.text_size_mm(s_, size, sheet.font)[0]
                                                                for s_ in ("网格长名", "13800000000")])
    per_col = max(int((h - side) / tb.row_height(size)) - 1, 1)
    n_cols = int(np.ceil(len(rows) / per_col)) or 1
    gap = 3 * sheet.s
    table_w = n_cols * (sum(widths) + gap) - gap
    fits = table_w <= 0.4 * w
    panel_w = max(table_w if fits else 0, 90 * sheet.s)
    lay.update(map=(x, y, w - panel_w - lay["gap"], h), panel=(x + w - panel_w, y, panel_w, h), side=side,
               table=(size, widths, per_col, n_cols) if fits else None)
    return lay


def overview_sheet(plan: Plan, options: SheetOptions | None = None, *, roster=None, **overrides) -> Figure:
    """The community overview: every grid coloured (neighbours differ), numbered, with a grid table.

    Parameters are those of :func:`grid_sheet` (the paper defaults to A1); the QR code links to the plan's web map
    (``{base_url}/plans/{plan_name}/``) and the title is ``"网格总览图"`` after the community's name.
    The table of grids is beside the map when it fits at body size, else on the following pages
    (``more_pages``) at :data:`TABLE_PT` points.

    Returns
    -------
    SheetFigure

    Raises
    ------
    InputError
        When the community has no name: neither ``community_name``, nor ``plan.meta["community_name"]``,
        nor a named unit in the plan's ``levels`` or ``boundaries`` (an overview without its
        community's name is not hung on a wall).
    """
    opts = sheet_options(options, overrides)
    paper, orientation, lang, font = opts.paper or "A1", opts.orientation, opts.lang, opts.font
    title, attribution, printed = opts.title, opts.attribution, opts.printed
    _check(plan, paper, orientation, lang)
    roster = _roster(roster, plan)
    name = _plan_name(plan, opts.plan_name)
    community = _community(plan, opts.community_name)
    if community is None:
        raise InputError("the plan names no community (no community_name in its metadata, no named unit in its "
                         "levels or boundaries), and an overview is titled with it: give the community's name "
                         "(gridplan print --community-name 养育巷社区)")
    url = _base_url(plan, opts.base_url)
    heading = title or text("overview_heading", lang)
    header, rows, prefix = _overview_table(plan, roster, lang)
    bounds = tuple(plan.grids.total_bounds)
    pad = 0.02

    def layout(probe):
        return _overview_layout(probe, header, rows)

    landscape = _pick_orientation(paper, orientation, bounds, layout, pad=pad, font=_font(font))
    sheet = _new_sheet(paper, landscape, lang, font)
    sheet.fig.set_label(f"{community} {heading}")
    lay = _overview_layout(sheet, header, rows)
    hh = int(plan.grids["households"].sum())
    subtitle = " · ".join([f"{text('n_grids', lang)} {len(plan.grids)}", f"{text('households', lang)} {hh}",
                           f"{text('plan', lang)} {name}"])
    ax, rect, denominator, window = _page(sheet, lay, plan, heading, subtitle, bounds, pad=pad,
                                          attribution=attribution, printed=printed, kicker=community)
    colours = grid_colours(plan.grids)
    sh.add_polygons(ax, plan.grids.geometry.values, facecolors=[colours[g] for g in plan.grids.index],
                    edgecolors="#333333", linewidths=0.6 * sheet.s ** 0.5, zorder=1)
    sh.add_polygons(ax, _display(plan.buildings.geometry.values, None, denominator), facecolors="#5a5a5a",
                    edgecolors="none", alpha=0.55, zorder=2)
    context = _context_layers(sheet, ax, plan, window)
    order = plan.grids.geometry.area.sort_values(ascending=False, kind="stable").index
    ordered = plan.grids.loc[order]
    anchors = shapely.get_coordinates(shapely.point_on_surface(ordered.geometry.values))
    labels = [[short_code(c, prefix)] for c in ordered["grid_code"]]
    omitted, _ = _place_and_draw(sheet, ax, rect, denominator, anchors, labels, None,
                                 size=max(sh.MIN_PT, round(LABEL_PT * sheet.s ** 0.5, 1)))
    if omitted:
        logger.warning("overview: %d of %d grid labels left out for lack of room at 1:%d on %s",
                       omitted, len(plan.grids), denominator, paper)
    _map_furniture(sheet, ax, rect, denominator,
                   text("grid_labels_omitted", lang).format(n=omitted) if omitted else None)

    px, py, pw, ph = lay["panel"]
    pax = sh.panel(sheet.fig, px, py, pw, ph)
    body = sheet.pt(BODY_PT)
    pairs = [(text("n_grids", lang), len(plan.grids)), (text("households", lang), hh),
             (text("buildings", lang), len(plan.buildings)), (text("target", lang), plan.meta.get("target", "—"))]
    used = _figure_lines(sheet, pax, 0, ph, text("plan_figures", lang), pairs, size=body)
    qr_size = min(32 * sheet.s, pw * 0.4)
    if url:
        _qr(sheet, pax, pw - qr_size, ph - qr_size, qr_size, f"{url.rstrip('/')}/plans/{name}/",
            text("scan_plan", lang))
    items = [(text("legend_grids", lang), "patch", {"fc": PALETTE[0], "ec": "#333333", "lw": 0.6}),
             (text("legend_buildings", lang), "patch", {"fc": "#5a5a5a", "alpha": 0.55, "ec": "none"}),
             *context]
    top = ph - max(used, qr_size + 8 * sheet.s if url else 0) - 3 * sheet.s
    top -= _legend(sheet, pax, 0, top, items, size=body) + 4 * sheet.s
    note = (text("code_note", lang).format(prefix=prefix, width=len(str(plan.grids["grid_code"].iloc[0])) - len(prefix))
            if prefix else None)  # codes without an administrative part ("" prefix) are their numbers
    align = ["left"] + ["left"] * (prefix is None) + ["right", "right", "left", "left"]
    if lay["table"] is not None:  # beside the map
        size, widths, per_col, n_cols = lay["table"]
        if note:
            sh.put(pax, 0, top - tb.row_height(size) / 2, note, size=size, font=sheet.font, va="center_baseline")
            top -= tb.row_height(size)
        rest, x = rows, 0.0
        for _ in range(n_cols):
            rest = tb.flow(pax, x, top, 0, widths, header, rest, size=size, font=sheet.font, align=align)
            x += sum(widths) + 3 * sheet.s
        return sheet.fig
    # the table on the following pages, at TABLE_PT whatever the paper
    sh.put(pax, 0, top, text("grid_table_follows", lang), size=body, font=sheet.font, va="top", color="#333333")
    top -= tb.row_height(body)
    if note:
        sh.put(pax, 0, top, note, size=body, font=sheet.font, va="top")
        top -= tb.row_height(body)
    summary = _community_summary(plan, lang)
    if summary:  # several named communities: their figures here, the grids overleaf
        top -= 2 * sheet.s
        sh.put(pax, 0, top - tb.heading_height(body) / 2, text("per_community", lang), size=body, font=sheet.font,
               bold=True, va="center_baseline")
        top -= tb.heading_height(body)
        sh_header = [text("level_community", lang), text("n_grids", lang), text("households", lang)]
        widths_ = tb.column_widths(sh_header, summary, body, sheet.font)
        tb.flow(pax, 0, top, 0, [w * pw / sum(widths_) for w in widths_], sh_header, summary, size=body,
                font=sheet.font, align=["left", "right", "right"])
    widths = tb.column_widths(header, rows, TABLE_PT, sheet.font,
                              least=[0] * (len(header) - 2) + [sh.text_size_mm(s_, TABLE_PT, sheet.font)[0] + 3
                                                                for s_ in ("网格长名", "13800000000")])
    sheet.fig.more_pages = tb.continuation_pages(
        plan, paper, landscape, lang, sheet.font, title=text("grid_table", lang), kicker=community,
        subtitle=f"{note} · {subtitle}" if note else subtitle, widths=widths, header=header, rows=rows,
        size=TABLE_PT, align=align, attribution=attribution, printed=printed)
    return sheet.fig
