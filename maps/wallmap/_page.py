"""The page of a sheet: header, footer, a north-up map at a round scale, its furniture, labels."""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import PathCollection
from matplotlib.patches import Polygon, Rectangle
from matplotlib.transforms import Affine2D
from matplotlib_scalebar.scalebar import ScaleBar

from geo.plan import Plan, gridplan_version
from maps import _sheet as sh
from maps.i18n import text
from maps.wallmap._content import _BOUNDARY, _GRID_LINE, _MAJOR, _MINOR, _SCALES, PAPERS, _attribution, _Sheet

logger = logging.getLogger(__name__)

#: Type sizes (points) on A3, for reading from 1 m; larger paper scales them (A1: ×2). Listed in
#: docs/wallmaps.md; tests measure them in the PDF.
TITLE_PT = 64  # the title's em is 22.6 mm at A3, its glyphs about 20 mm high
KICKER_PT = 28  # the community name beside (or above) the title
SUBTITLE_PT = 14
HEADING_PT = 14
BODY_PT = 12  # figures, legend, tables: names and phones
LABEL_PT = 10  # building labels (never under 9 pt: sh.MIN_PT)
NEIGHBOUR_PT = 11
FINE_PT = 9  # footer, captions, scale bar

# --- page furniture ---------------------------------------------------------------------------

def _frame_layout(sheet: _Sheet) -> dict:
    """Margins, header and footer of a page (mm)."""
    s = sheet.s
    w, h = sheet.page
    m = 10 * s
    header = (TITLE_PT + SUBTITLE_PT * 1.6) * sh.MM_PER_PT * s + 8 * s
    footer = 8 * s
    return {"m": m, "header": header, "footer": footer, "gap": 5 * s,
            "body": (m, m + footer, w - 2 * m, h - 2 * m - header - footer)}


def _header(sheet: _Sheet, lay: dict, title: str, subtitle: str, kicker: str | None = None) -> None:
    """The title (``kicker`` — the community — before it, or above it when the line is too long)."""
    w, h = sheet.page
    m, hh = lay["m"], lay["header"]
    width = w - 2 * m
    ax = sh.panel(sheet.fig, m, h - m - hh, width, hh)
    size, ksize = sheet.pt(TITLE_PT), sheet.pt(KICKER_PT)
    tw = sh.text_size_mm(title, size, sheet.font)[0]
    if tw > width:  # a long --title: smaller rather than cut
        size = max(sh.MIN_PT, size * width / tw * 0.98)
        tw = sh.text_size_mm(title, size, sheet.font)[0]
    base = hh - 3 * sheet.s - size * sh.MM_PER_PT * 0.88
    sub = sheet.pt(SUBTITLE_PT)
    if kicker:
        kw = sh.text_size_mm(kicker, ksize, sheet.font)[0]
        gap = 4 * sheet.s
        if kw + gap + tw <= width:  # one line: kicker and title on one baseline, centred together
            x = (width - kw - gap - tw) / 2
            sh.put(ax, x, base, kicker, size=ksize, font=sheet.font, bold=True, ha="left", va="baseline")
            sh.put(ax, x + kw + gap, base, title, size=size, font=sheet.font, bold=True, ha="left",
                   va="baseline")
        else:  # the kicker on the subtitle's line
            subtitle = f"{kicker} · {subtitle}"
            sh.put(ax, width / 2, base, title, size=size, font=sheet.font, bold=True, ha="center", va="baseline")
    else:
        sh.put(ax, width / 2, base, title, size=size, font=sheet.font, bold=True, ha="center", va="baseline")
    sh.put(ax, width / 2, 3.5 * sheet.s, sh.fit_text(subtitle, width, sub, sheet.font), size=sub, font=sheet.font,
           ha="center", va="baseline", color="#333333")


def _footer(sheet: _Sheet, lay: dict, plan: Plan, attribution: str | None, printed: str | None) -> None:
    w, _ = sheet.page
    m, fh = lay["m"], lay["footer"]
    ax = sh.panel(sheet.fig, m, m, w - 2 * m, fh)
    lang, size = sheet.lang, sheet.pt(FINE_PT)
    written = str(plan.meta.get("written") or plan.meta.get("created") or "")[:16].replace("T", " ")
    version = plan.meta.get("gridplan_version") or gridplan_version()
    left = (f"{text('schematic', lang)}: {text('schematic_note', lang)} · "
            f"{text('data_source', lang)}: {_attribution(plan, attribution)}")
    right = (f"{text('plan_version', lang)}: {written} (gridplan {version}) · "
             f"{text('printed', lang)}: {printed or date.today().isoformat()}")
    rw = sh.text_size_mm(right, size, sheet.font)[0]
    left = sh.fit_text(left, w - 2 * m - rw - 5 * sheet.s, size, sheet.font)
    sh.put(ax, 0, fh * 0.35, left, size=size, font=sheet.font, ha="left", va="center", color="#333333")
    sh.put(ax, w - 2 * m, fh * 0.35, right, size=size, font=sheet.font, ha="right", va="center",
           color="#333333")


def _choose_scale(bounds, map_w: float, map_h: float, *, pad: float) -> int:
    """The largest nice scale 1:N at which ``bounds`` plus ``pad`` (share) fits the map (mm)."""
    x0, y0, x1, y1 = bounds
    dx, dy = (x1 - x0) * (1 + 2 * pad) + 10, (y1 - y0) * (1 + 2 * pad) + 10
    need = max(dx / map_w, dy / map_h) * 1000  # metres per metre of paper
    for n in _SCALES:
        if n >= need:
            return n
    return int(np.ceil(need / 1000) * 1000)


def _map_axes(sheet: _Sheet, rect, centre, denominator: int):
    """A north-up map axes on ``rect`` (mm) at scale 1:``denominator`` centred on ``centre`` (m)."""
    x, y, w, h = rect
    ax = sheet.fig.add_axes((x / sheet.page[0], y / sheet.page[1], w / sheet.page[0], h / sheet.page[1]))
    half_w, half_h = w * denominator / 2000, h * denominator / 2000
    ax.set_xlim(centre[0] - half_w, centre[0] + half_w)
    ax.set_ylim(centre[1] - half_h, centre[1] + half_h)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()  # no ticks to build (costly over hundreds of sheets); the frame is drawn below
    sh.panel(sheet.fig, x, y, w, h).add_patch(sh.rect(0, 0, w, h, fc="none", ec="black", lw=0.8, zorder=3))
    return ax


def _page(sheet: _Sheet, lay: dict, plan: Plan, title: str, subtitle: str, bounds, *, pad, attribution,
          printed, kicker=None):
    """Header, footer and the north-up map fitted to ``bounds``: (axes, rect, scale, window)."""
    _header(sheet, lay, title, subtitle, kicker)
    _footer(sheet, lay, plan, attribution, printed)
    rect = lay["map"]
    denominator = _choose_scale(bounds, rect[2], rect[3], pad=pad)
    ax = _map_axes(sheet, rect, ((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2), denominator)
    window = shapely.box(ax.get_xlim()[0], ax.get_ylim()[0], ax.get_xlim()[1], ax.get_ylim()[1])
    return ax, rect, denominator, window


def _display(geoms, window, denominator: int) -> np.ndarray:
    """Geometries cut to the map window and simplified to 0.05 mm at print size (lighter PDFs)."""
    geoms = shapely.clip_by_rect(np.asarray(geoms), *window.bounds) if window is not None else np.asarray(geoms)
    geoms = shapely.simplify(geoms, denominator * 5e-5, preserve_topology=True)
    return geoms[~shapely.is_empty(geoms)]


def _to_paper(xy: np.ndarray, ax, denominator: int) -> np.ndarray:
    """Map coordinates (m) → mm from the map rectangle's lower-left corner."""
    x0, _ = ax.get_xlim()
    y0, _ = ax.get_ylim()
    return (xy - np.array([x0, y0])) * 1000 / denominator


def _north_arrow(sheet: _Sheet, rect) -> None:

    x, y, w, h = rect
    size = 12 * sheet.s
    ax = sh.panel(sheet.fig, x + w - size - 3 * sheet.s, y + h - 1.6 * size - 3 * sheet.s, size,
                  1.6 * size)
    c = size / 2
    ax.add_patch(Polygon([(c, size * 1.05), (c - size * 0.3, size * 0.15), (c, size * 0.4)],
                         closed=True, fc="black", ec="black", lw=0.6))
    ax.add_patch(Polygon([(c, size * 1.05), (c + size * 0.3, size * 0.15), (c, size * 0.4)],
                         closed=True, fc="white", ec="black", lw=0.6))
    sh.put(ax, c, size * 1.32, text("north", sheet.lang), size=sheet.pt(14), font=sheet.font, bold=True,
           ha="center", va="center")


def _scale_bar(sheet: _Sheet, ax, denominator: int) -> None:

    bar = ScaleBar(1, "m", location="lower left", length_fraction=0.22, box_alpha=0.85,
                   font_properties={"family": sheet.font.family, "size": sheet.pt(10)}, scale_loc="top",
                   label=f"{text('scale', sheet.lang)} 1:{denominator:,}".replace(",", " "),
                   label_loc="bottom", width_fraction=0.006, border_pad=0.6)
    ax.add_artist(bar)


def _map_furniture(sheet: _Sheet, ax, rect, denominator: int, note: str | None) -> None:
    """North arrow, scale bar and, when labels were left out, a note at the top of the map."""
    if note:
        sh.put(ax, 0.5, 0.985, note, size=sheet.pt(11), font=sheet.font, transform=ax.transAxes, ha="center",
               va="top", color=_GRID_LINE, bbox={"fc": "white", "ec": "none", "alpha": 0.85})
    _north_arrow(sheet, rect)
    _scale_bar(sheet, ax, denominator)


def _legend(sheet: _Sheet, ax, x: float, top: float, items, *, size: float) -> float:
    """Legend entries ``(label, kind, style)`` below ``top``; returns the height used (mm)."""

    row = size * sh.MM_PER_PT * 1.9
    sh.put(ax, x, top - row / 2, text("legend", sheet.lang), size=size, font=sheet.font, bold=True,
           va="center_baseline")
    y = top - row
    sw, sh_ = 9 * sheet.s, size * sh.MM_PER_PT * 1.1
    for label, kind, style in items:
        mid = y - row / 2
        if kind == "patch":
            ax.add_patch(Rectangle((x, mid - sh_ / 2), sw, sh_, **style))
        else:
            ax.plot([x, x + sw], [mid, mid], **style)
        sh.put(ax, x + sw + 2 * sheet.s, mid, label, size=size, font=sheet.font, va="center_baseline")
        y -= row
    return top - y


def _qr(sheet: _Sheet, ax, x: float, y: float, size: float, url: str, caption: str) -> None:
    """A vector QR code of ``url`` with its lower-left corner at (x, y), ``size`` mm wide."""

    path, n = sh.qr_path(url)
    scale = size / n
    ax.add_collection(PathCollection([path.transformed(Affine2D().scale(scale).translate(x, y))],
                                     facecolors="black", edgecolors="none", linewidths=0), autolim=False)
    sh.put(ax, x + size / 2, y - 2.2 * sheet.s, caption, size=sheet.pt(10), font=sheet.font,
           ha="center", va="top")


def _figure_lines(sheet: _Sheet, ax, x: float, top: float, heading: str, pairs, *, size: float) -> float:
    """A heading and ``key: value`` lines below ``top``; returns the height used (mm)."""
    row = size * sh.MM_PER_PT * 1.75
    sh.put(ax, x, top - row / 2, heading, size=size * 1.15, font=sheet.font, bold=True, va="center_baseline")
    y = top - row * 1.15
    # one multi-line text: the lines need no alignment with anything else, and fewer texts print faster
    sh.put(ax, x, y - row * 0.2, "\n".join(f"{key}: {value}" for key, value in pairs), size=size,
           font=sheet.font, va="top", linespacing=1.45)
    return top - y + row * len(pairs)


def _paper_lines(geoms, ax, denominator: int):
    """Boundaries of (multi)polygons ``geoms`` (map metres) as one geometry in the map's paper mm."""
    lines = shapely.union_all(shapely.boundary(np.asarray(geoms, dtype=object)))
    return shapely.transform(lines, lambda xy: _to_paper(xy, ax, denominator))


def _furniture_boxes(sheet: _Sheet, rect) -> np.ndarray:
    """Boxes (paper mm in the map) of the north arrow and the scale bar, which labels keep clear of."""
    s = sheet.s
    return np.array([(rect[2] - 15 * s - 3 * s, rect[3] - 19.2 * s - 3 * s, rect[2], rect[3]),  # north arrow
                     (0, 0, 0.22 * rect[2] + 14 * s, 18 * s)])  # scale bar


def _place_and_draw(sheet: _Sheet, ax, rect, denominator, anchors_m, lines, fallbacks, *, size,
                    colour="black", bg="white", taken=None, avoid=None, full_at=None) -> tuple[int, np.ndarray]:
    """Place labels (priority order) without overlap and draw them.

    ``taken``: boxes (paper mm) already used (default: the map furniture); ``avoid``: lines (paper
    mm, see :func:`_paper_lines`) no label may cross; ``full_at``: the full label only on its anchor
    (1) or at the first ``full_at`` positions, the short form elsewhere. Returns how many labels were left out and
    the boxes taken now (for labels placed next).
    """
    if taken is None:
        taken = _furniture_boxes(sheet, rect)
    if not len(anchors_m):
        return 0, taken
    anchors = _to_paper(np.asarray(anchors_m), ax, denominator)
    lead = 1.15

    def box(lines_):
        ws = [sh.text_size_mm(t, size, sheet.font)[0] for t in lines_]
        return max(ws) + 0.8, len(lines_) * size * sh.MM_PER_PT * lead + 0.5

    sizes = np.array([box(ls) for ls in lines])
    fb = np.array([box(ls) for ls in fallbacks]) if fallbacks is not None else None
    centres, form, taken = sh.place_labels(anchors, sizes, (0.5, 0.5, rect[2] - 0.5, rect[3] - 0.5),
                                           fallback_sizes=fb, obstacles=taken, lines=avoid,
                                           full_at=full_at)
    x0, y0 = ax.get_xlim()[0], ax.get_ylim()[0]
    for i in np.flatnonzero(form >= 0):
        label = "\n".join(lines[i] if form[i] == 0 else fallbacks[i])
        cx, cy = centres[i] * denominator / 1000 + np.array([x0, y0])
        sh.put(ax, cx, cy, label, size=size, font=sheet.font, ha="center", va="center", color=colour,
               linespacing=lead, multialignment="center", zorder=6,
               bbox=None if bg is None else {"boxstyle": "square,pad=0.08", "fc": bg, "ec": "none",
                                             "alpha": 0.8})
        if np.hypot(*(centres[i] - anchors[i])) > 0.5:  # a leader line to a moved label
            ax.plot([anchors_m[i][0], cx], [anchors_m[i][1], cy], color=colour, lw=0.35, zorder=5)
    return int((form < 0).sum()), taken


def _context_layers(sheet: _Sheet, ax, plan: Plan, window) -> list:
    """Barriers and boundaries inside ``window``; returns their legend entries."""
    items = []
    barriers = plan.layers.get("barriers")
    if barriers is not None and len(barriers):
        near = barriers.iloc[barriers.sindex.query(window)]
        klass = near["barrier_class"] if "barrier_class" in near.columns else pd.Series("minor", near.index)
        for cls, colour, width, key in (("minor", _MINOR, 1.2, "legend_minor"), ("major", _MAJOR, 2.6, "legend_major")):
            part = near[klass == cls]
            if len(part):
                sh.add_lines(ax, part.geometry.values, colors=colour, linewidths=width * sheet.s ** 0.5,
                             zorder=2, capstyle="round")
                items.append((text(key, sheet.lang), "line", {"color": colour, "lw": width * sheet.s ** 0.5}))
    boundaries = plan.layers.get("boundaries")
    if plan.meta.get("split"):  # the parts a big file was cut into to plan it: no line on the ground
        boundaries = None
    if boundaries is not None and len(boundaries):
        near = boundaries.iloc[boundaries.sindex.query(window)]
        if len(near):
            sh.add_lines(ax, shapely.boundary(near.geometry.values), colors=_BOUNDARY, linewidths=1.2,
                         linestyles="--", zorder=4)
            items.append((text("legend_boundary", sheet.lang), "line",
                          {"color": _BOUNDARY, "lw": 1.2, "ls": "--"}))
    return items


def _pick_orientation(paper, orientation, bounds, layout, *, pad, font=None) -> bool:
    """``True`` for landscape: the orientation in which the map shows ``bounds`` at the larger scale.

    Tables that do not fit continue on following pages, so the map decides: a wide grid prints
    landscape and fills the frame. A tie (a square grid) prints portrait.
    """
    if orientation != "auto":
        return orientation == "landscape"
    score = {}
    for landscape in (False, True):
        w, h = PAPERS[paper]
        page = (h, w) if landscape else (w, h)
        lay = layout(_Sheet(None, page, min(page) / 297.0, font, "zh"))
        _, _, mw, mh = lay["map"]
        x0, y0, x1, y1 = bounds
        score[landscape] = max((x1 - x0) * (1 + 2 * pad) / mw, (y1 - y0) * (1 + 2 * pad) / mh)  # metres per mm
    return score[True] < score[False] * 0.98
