"""The page of a sheet: header, footer, a north-up map at a round scale, its furniture, labels."""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd
import shapely

from geo.plan import Plan, gridplan_version
from maps import _sheet as sh
from maps.i18n import text
from maps.wallmap._content import (_BOUNDARY, _GRID_LINE, _MAJOR, _MINOR, _SCALES, PAPERS, _attribution,
                                   _Sheet)

logger = logging.getLogger(__name__)

# --- page furniture ---------------------------------------------------------------------------

def _frame_layout(sheet: _Sheet) -> dict:
    """Margins, header and footer of a page (mm)."""
    s = sheet.s
    w, h = sheet.page
    m = 10 * s
    header = 17 * s
    footer = 7 * s
    return {"m": m, "header": header, "footer": footer, "gap": 5 * s,
            "body": (m, m + footer, w - 2 * m, h - 2 * m - header - footer)}


def _header(sheet: _Sheet, lay: dict, title: str, subtitle: str) -> None:
    w, h = sheet.page
    m, hh = lay["m"], lay["header"]
    ax = sh.panel(sheet.fig, m, h - m - hh, w - 2 * m, hh)
    sh.put(ax, (w - 2 * m) / 2, hh * 0.62, title, size=sheet.pt(22), font=sheet.font, bold=True,
           ha="center", va="center")
    sh.put(ax, (w - 2 * m) / 2, hh * 0.2, subtitle, size=sheet.pt(9.5), font=sheet.font,
           ha="center", va="center", color="#333333")


def _footer(sheet: _Sheet, lay: dict, plan: Plan, attribution: str | None, printed: str | None) -> None:
    w, _ = sheet.page
    m, fh = lay["m"], lay["footer"]
    ax = sh.panel(sheet.fig, m, m, w - 2 * m, fh)
    lang, size = sheet.lang, sheet.pt(7)
    written = str(plan.meta.get("written") or plan.meta.get("created") or "")[:16].replace("T", " ")
    version = plan.meta.get("gridplan_version") or gridplan_version()
    left = (f"{text('schematic', lang)}: {text('schematic_note', lang)} · "
            f"{text('data_source', lang)}: {_attribution(plan, attribution)}")
    right = (f"{text('plan_version', lang)}: {written} (gridplan {version}) · "
             f"{text('printed', lang)}: {printed or date.today().isoformat()}")
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
          printed):
    """Header, footer and the north-up map fitted to ``bounds``: (axes, rect, scale, window)."""
    _header(sheet, lay, title, subtitle)
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
    from matplotlib.patches import Polygon

    x, y, w, h = rect
    size = 12 * sheet.s
    ax = sh.panel(sheet.fig, x + w - size - 3 * sheet.s, y + h - 1.6 * size - 3 * sheet.s, size,
                  1.6 * size)
    c = size / 2
    ax.add_patch(Polygon([(c, size * 1.05), (c - size * 0.3, size * 0.15), (c, size * 0.4)],
                         closed=True, fc="black", ec="black", lw=0.6))
    ax.add_patch(Polygon([(c, size * 1.05), (c + size * 0.3, size * 0.15), (c, size * 0.4)],
                         closed=True, fc="white", ec="black", lw=0.6))
    sh.put(ax, c, size * 1.32, text("north", sheet.lang), size=sheet.pt(11), font=sheet.font, bold=True,
           ha="center", va="center")


def _scale_bar(sheet: _Sheet, ax, denominator: int) -> None:
    from matplotlib_scalebar.scalebar import ScaleBar

    bar = ScaleBar(1, "m", location="lower left", length_fraction=0.22, box_alpha=0.85,
                   font_properties={"family": sheet.font.family, "size": sheet.pt(8)}, scale_loc="top",
                   label=f"{text('scale', sheet.lang)} 1:{denominator:,}".replace(",", " "),
                   label_loc="bottom", width_fraction=0.006, border_pad=0.6)
    ax.add_artist(bar)


def _map_furniture(sheet: _Sheet, ax, rect, denominator: int, note: str | None) -> None:
    """North arrow, scale bar and, when labels were left out, a note at the top of the map."""
    if note:
        sh.put(ax, 0.5, 0.985, note, size=sheet.pt(8), font=sheet.font, transform=ax.transAxes, ha="center",
               va="top", color=_GRID_LINE, bbox={"fc": "white", "ec": "none", "alpha": 0.85})
    _north_arrow(sheet, rect)
    _scale_bar(sheet, ax, denominator)


def _legend(sheet: _Sheet, ax, x: float, top: float, items, *, size: float) -> float:
    """Legend entries ``(label, kind, style)`` below ``top``; returns the height used (mm)."""
    from matplotlib.patches import Rectangle

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
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Affine2D

    path, n = sh.qr_path(url)
    scale = size / n
    ax.add_collection(PathCollection([path.transformed(Affine2D().scale(scale).translate(x, y))],
                                     facecolors="black", edgecolors="none", linewidths=0), autolim=False)
    sh.put(ax, x + size / 2, y - 2.2 * sheet.s, caption, size=sheet.pt(7.5), font=sheet.font,
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


def _place_and_draw(sheet: _Sheet, ax, rect, denominator, anchors_m, lines, fallbacks, *, size,
                    colour="black", bg="white") -> int:
    """Place labels (priority order) without overlap and draw them; returns how many were left out."""
    if not len(anchors_m):
        return 0
    anchors = _to_paper(np.asarray(anchors_m), ax, denominator)
    lead = 1.15

    def box(lines_):
        ws = [sh.text_size_mm(t, size, sheet.font)[0] for t in lines_]
        return max(ws) + 0.8, len(lines_) * size * sh.MM_PER_PT * lead + 0.5

    sizes = np.array([box(ls) for ls in lines])
    fb = np.array([box(ls) for ls in fallbacks]) if fallbacks is not None else None
    s = sheet.s
    furniture = [(rect[2] - 15 * s - 3 * s, rect[3] - 19.2 * s - 3 * s, rect[2], rect[3]),  # north arrow
                 (0, 0, 0.22 * rect[2] + 12 * s, 16 * s)]  # scale bar
    centres, form = sh.place_labels(anchors, sizes, (0.5, 0.5, rect[2] - 0.5, rect[3] - 0.5),
                                    fallback_sizes=fb, obstacles=np.array(furniture))
    x0, y0 = ax.get_xlim()[0], ax.get_ylim()[0]
    for i in np.flatnonzero(form >= 0):
        label = "\n".join(lines[i] if form[i] == 0 else fallbacks[i])
        cx, cy = centres[i] * denominator / 1000 + np.array([x0, y0])
        sh.put(ax, cx, cy, label, size=size, font=sheet.font, ha="center", va="center", color=colour,
               linespacing=lead, multialignment="center", zorder=6,
               bbox=None if bg is None else {"boxstyle": "square,pad=0.08", "fc": bg, "ec": "none",
                                             "alpha": 0.75})
        if np.hypot(*(centres[i] - anchors[i])) > 0.5:  # a leader line to a moved label
            ax.plot([anchors_m[i][0], cx], [anchors_m[i][1], cy], color=colour, lw=0.35, zorder=5)
    return int((form < 0).sum())


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
    if boundaries is not None and len(boundaries):
        near = boundaries.iloc[boundaries.sindex.query(window)]
        if len(near):
            sh.add_lines(ax, shapely.boundary(near.geometry.values), colors=_BOUNDARY, linewidths=1.2,
                         linestyles="--", zorder=4)
            items.append((text("legend_boundary", sheet.lang), "line",
                          {"color": _BOUNDARY, "lw": 1.2, "ls": "--"}))
    return items


def _pick_orientation(paper, orientation, bounds, layout, *, pad, font=None) -> bool:
    """``True`` for landscape: the orientation whose tables fit and whose map is the larger scale."""
    if orientation != "auto":
        return orientation == "landscape"
    score = {}
    for landscape in (False, True):
        w, h = PAPERS[paper]
        page = (h, w) if landscape else (w, h)
        lay = layout(_Sheet(None, page, min(page) / 297.0, font, "zh"))
        _, _, mw, mh = lay["map"]
        x0, y0, x1, y1 = bounds
        need = max((x1 - x0) * (1 + 2 * pad) / mw, (y1 - y0) * (1 + 2 * pad) / mh)  # metres per mm
        score[landscape] = (not lay.get("fits", True), need)
    return score[True] < score[False]
