"""Tables of a sheet that flow: as many rows as fit in a column, the rest in the next column or on
continuation pages (same paper, the header row repeated)."""

from __future__ import annotations

import logging

from geo.plan import Plan
from maps import _sheet as sh
from maps.i18n import text
from maps.wallmap._content import _new_sheet
from maps.wallmap._page import _footer, _frame_layout, _header

logger = logging.getLogger(__name__)


def row_height(size: float) -> float:
    """Height (mm) of a table row set at ``size`` points."""
    return size * sh.MM_PER_PT * 1.75


def heading_height(size: float) -> float:
    """Height (mm) of a block's heading set at ``size`` points."""
    return size * sh.MM_PER_PT * 1.9


def column_widths(header, rows, size: float, font, *, least=None) -> list[float]:
    """Widths (mm) that hold the header and the first 400 rows at ``size`` pt (``least``: minimums)."""
    pad = 0.6 * size * sh.MM_PER_PT
    sample = [header, *rows[:400]]
    widths = [max(sh.text_size_mm(str(r[j]), size, font)[0] for r in sample if j < len(r)) + 2 * pad
              for j in range(len(header))]
    return [max(w, m) for w, m in zip(widths, least)] if least else widths


def flow(ax, x: float, top: float, bottom: float, widths, header, rows, *, size: float, font,
         align=None) -> list:
    """Draw the rows that fit between ``top`` and ``bottom`` (mm), under the header; return the rest."""
    row_h = row_height(size)
    fit = int((top - bottom) / row_h) - 1
    if fit < 1 or not rows:
        return rows
    sh.table(ax, x, top, widths, header, rows[:fit], size=size, font=font, row_h=row_h, align=align)
    return rows[fit:]


def continuation_pages(plan: Plan, paper: str, landscape: bool, lang: str, font, *, title: str, kicker,
                       subtitle: str, widths, header, rows, size: float, align=None, attribution=None,
                       printed=None, gap: float = 6.0) -> list:
    """Pages holding ``rows`` in as many columns of ``widths`` as the paper takes; the figures.

    The pages take the orientation that needs fewer pages (``landscape`` on a tie)."""
    def capacity(land: bool) -> int:  # rows one page holds in this orientation
        probe = _new_sheet(paper, land, lang, font)
        _, _, w, h = _frame_layout(probe)["body"]
        return max(1, int((w + gap * probe.s) / (sum(widths) + gap * probe.s))) * (int(h / row_height(size)) - 1)

    # a table page is read close up, not from across the room: the orientation that needs fewer
    # pages, else the first page's
    landscape = min((landscape, not landscape), key=lambda land: -(-len(rows) // capacity(land)))
    pages = []
    while rows:
        sheet = _new_sheet(paper, landscape, lang, font)
        lay = _frame_layout(sheet)
        page_title = text("continued", lang).format(title=title, page=len(pages)) if pages else title
        sheet.fig.set_label(page_title)
        _header(sheet, lay, page_title, subtitle, kicker)
        _footer(sheet, lay, plan, attribution, printed)
        x, y, w, h = lay["body"]
        ax = sh.panel(sheet.fig, x, y, w, h)
        col_w = sum(widths) + gap * sheet.s
        n_cols = max(1, int((w + gap * sheet.s) / col_w))
        for c in range(n_cols):
            before = len(rows)
            rows = flow(ax, c * col_w, h, 0, widths, header, rows, size=size, font=sheet.font, align=align)
            if not rows or len(rows) == before:
                break
        if rows and len(rows) == before and c == 0:  # not one row fits: never loop for ever
            logger.warning("%s: %d table rows do not fit a %s page; left out", title, len(rows), paper)
            break
        pages.append(sheet.fig)
    return pages
