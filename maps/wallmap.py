"""Printed wall maps (作战图): one sheet per grid and a community overview, A3 to A0, PDF or PNG.

A grid sheet shows the grid's boundary and buildings, each building labelled with its number and
households, the neighbouring grids greyed with their numbers, barriers and boundaries when the plan
has them, a legend, a north arrow, a scale bar in metres, the grid's figures, a contact table (grid
leader, grid worker, community police, volunteers, and a leader per building — from a roster when
given, blank rows to fill by hand otherwise), a QR code linking to the grid's web page, the plan
version, the date, "示意图" and the data attribution. The overview shows every grid in colours that
differ between neighbours (:func:`maps.webmap.grid_colours`) with a table of the grids.

Sheets are drawn server-side with matplotlib (Agg canvas, no pyplot state) in a CJK font found by
:func:`find_cjk_font`, and saved with TrueType font embedding, so the PDF text is real, selectable
text. Sizes scale with the paper; no text is smaller than 7 pt at print size.

Roster
------
An optional ``pandas.DataFrame`` (or list of dicts) with columns ``grid_id``, ``role``, ``name``
and optionally ``phone`` and ``building_id``. ``role`` is one of ``grid_leader``, ``grid_worker``,
``police``, ``building_leader``, ``volunteer`` (or the Chinese 网格长, 网格员, 社区民警, 楼栋长,
志愿者); a ``building_leader`` row names its ``building_id``. An optional ``role_label`` (e.g.
第一网格长) is printed instead of the role's name. Without a roster, the plan's ``people`` layer
(posts filled by ``partitioning.staffing``, same columns) is used.

Examples
--------
>>> import geo                                                    # doctest: +SKIP
>>> from maps.wallmap import grid_sheet, save_sheet
>>> plan = geo.read_plan("suzhou.gpkg")
>>> code = plan.grids["grid_code"].iloc[0]
>>> save_sheet(grid_sheet(plan, code, paper="A3", plan_name="suzhou"), "grid.pdf")
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from matplotlib.figure import Figure

from geo.errors import CRSError, InputError
from geo.plan import Plan, atomic_path, gridplan_version
from maps import _sheet as sh
from maps._sheet import MissingFontError, find_cjk_font
from maps.i18n import LANGUAGES, text
from maps.webmap import PALETTE, grid_colours

__all__ = ["PAPERS", "DEFAULT_BASE_URL", "ROSTER_COLUMNS", "ROLES", "MissingFontError", "find_cjk_font",
           "grid_url", "grid_sheet", "overview_sheet", "save_sheet", "print_all"]

logger = logging.getLogger(__name__)

#: ISO 216 paper sizes in millimetres, portrait (width, height).
PAPERS = {"A3": (297, 420), "A2": (420, 594), "A1": (594, 841), "A0": (841, 1189)}
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
ROSTER_COLUMNS = ("grid_id", "role", "name", "phone", "building_id")
ROLES = ("grid_leader", "grid_worker", "police", "building_leader", "volunteer")
#: Map scales offered (1:N), the largest that fits the grid is used.
_SCALES = (200, 250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7500, 10000,
           12500, 15000, 20000, 25000, 30000, 40000, 50000, 75000, 100000, 150000, 200000, 250000)

_GRID_LINE = "#d62728"
_GRID_FILL = "#fff4e6"
_BUILDING_FILL = "#f4a261"
_BUILDING_EDGE = "#7a4419"
_OTHER_FILL = "#f2f2f2"
_OTHER_EDGE = "#9a9a9a"
_OTHER_BUILDING = "#d4d4d4"
_MAJOR = "#5b5b5b"
_MINOR = "#b0b0b0"
_BOUNDARY = "#6a3d9a"


# --- what a sheet needs from the plan ---------------------------------------------------------

@dataclass
class _Sheet:
    """A page under construction: figure, size (mm), scale factor, font, language."""

    fig: Figure
    page: tuple[float, float]
    s: float
    font: sh.CJKFont
    lang: str

    def pt(self, base: float) -> float:
        """A type size of ``base`` points on A3, scaled to the paper, never under 7 pt."""
        return max(sh.MIN_PT, round(base * self.s, 1))


def _check(plan: Plan, paper: str, orientation: str, lang: str) -> None:
    if paper not in PAPERS:
        raise InputError(f"paper {paper!r}: choose one of {', '.join(PAPERS)}")
    if orientation not in ("auto", "portrait", "landscape"):
        raise InputError(f"orientation {orientation!r}: choose auto, portrait or landscape")
    if lang not in LANGUAGES:
        raise InputError(f"language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    crs = plan.buildings.crs
    if crs is None or not crs.is_projected:
        raise CRSError(f"the plan's CRS is {crs!r}: wall maps measure in metres and need the plan's "
                       "projected metric CRS; re-create the plan with `gridplan partition`")


def _font(font) -> sh.CJKFont:
    if font is None:
        return sh.cjk_font()
    return font if isinstance(font, sh.CJKFont) else sh.font_from_file(font)


def _new_sheet(paper: str, landscape: bool, lang: str, font) -> _Sheet:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    w, h = PAPERS[paper]
    page = (h, w) if landscape else (w, h)
    fig = Figure(figsize=(page[0] / 25.4, page[1] / 25.4))
    FigureCanvasAgg(fig)
    return _Sheet(fig, page, min(page) / 297.0, _font(font), lang)


def _grid_number(code: str, prefix: str | None) -> str:
    """The short number of a grid (:func:`partitioning.codes.short_code`, as on the web), at least 2 digits."""
    from partitioning.codes import short_code

    number = short_code(code, prefix)
    return f"{int(number):02d}" if number.isdigit() else number


def _community(plan: Plan, community_name: str | None, lang: str) -> str:
    return community_name or plan.meta.get("community_name") or text("community_placeholder", lang)


def _plan_name(plan: Plan, plan_name: str | None) -> str:
    return plan_name or plan.meta.get("plan_name") or "plan"


def grid_url(base_url: str, plan_name: str, grid_code: str) -> str:
    """The web page of a grid: ``{base}/plans/{plan_name}/grids/{grid_code}``."""
    return f"{base_url.rstrip('/')}/plans/{plan_name}/grids/{grid_code}"


def _attribution(plan: Plan, attribution: str | None) -> str:
    if attribution:
        return attribution
    if plan.meta.get("attribution"):
        return str(plan.meta["attribution"])
    inputs = plan.meta.get("inputs") or []
    paths = [str(i.get("path", "")) for i in inputs if isinstance(i, dict)]
    ids = plan.buildings.index.astype(str)
    if any(p.endswith((".osm.pbf", ".osm")) for p in paths) or ids.str.match(r"^[wr]\d+$").all():
        return "© OpenStreetMap contributors (ODbL)"
    return ", ".join(Path(p).name for p in paths if p) or "—"


def _roster(roster, plan: Plan) -> pd.DataFrame | None:
    """The roster as a DataFrame with the documented columns and role keys.

    Without one, the plan's ``people`` layer (posts filled by ``partitioning.staffing``) is used;
    ``None`` when there is neither.
    """
    if roster is None:
        people = plan.layers.get("people")
        if people is None or not len(people):
            return None
        roster = people.reset_index() if people.index.name in ROSTER_COLUMNS else people
    frame = pd.DataFrame(roster).copy()
    missing = [c for c in ("grid_id", "role", "name") if c not in frame.columns]
    if missing:
        raise InputError(f"roster: missing column(s) {', '.join(missing)}; a roster has the columns "
                         f"{', '.join(ROSTER_COLUMNS)} (phone and building_id optional)")
    for col in ("phone", "building_id"):
        if col not in frame.columns:
            frame[col] = ""
    aliases = {text(f"role_{r}", "zh"): r for r in ROLES}
    frame["role"] = frame["role"].astype(str).str.strip().map(lambda r: aliases.get(r, r))
    unknown = sorted(set(frame["role"]) - set(ROLES))
    if unknown:
        raise InputError(f"roster: unknown role(s) {', '.join(unknown)}; use {', '.join(ROLES)}")
    for col in (*ROSTER_COLUMNS, "role_label"):
        if col in frame.columns:
            frame[col] = frame[col].fillna("").astype(str)
    return frame


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


# --- the grid sheet ---------------------------------------------------------------------------

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


# --- the community overview -------------------------------------------------------------------

def _code_prefix(plan: Plan) -> str | None:
    """The administrative prefix every grid code shares, when codes are prefix + number."""
    from partitioning.codes import PLACEHOLDER

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
    if prefix:  # codes without an administrative part ("" prefix) are their numbers: nothing to explain
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


def _sheet_chars(plan: Plan, lang, roster, plan_name, community_name, attribution, printed) -> set:
    """Every character a sheet of ``plan`` can print (words, names, codes, IDs, dates)."""
    from maps import i18n

    strings = [v.get(lang, "") for v in i18n._TEXT.values()]
    strings += [_community(plan, community_name, lang), _plan_name(plan, plan_name),
                _attribution(plan, attribution), printed or "", str(plan.meta.get("written", "")),
                str(plan.meta.get("gridplan_version", "")), gridplan_version()]
    strings += plan.grids["grid_code"].astype(str).tolist() + plan.buildings.index.astype(str).tolist()
    if roster is not None:
        cols = [c for c in ("name", "phone", "building_id", "role_label") if c in roster.columns]
        strings += roster[cols].to_numpy().ravel().tolist()
    return set("".join(map(str, strings)))


# --- writing ----------------------------------------------------------------------------------

def save_sheet(fig: Figure, out, *, dpi: int = 300) -> Path:
    """Write a sheet to ``out`` (``.pdf`` or ``.png``) atomically; fonts embedded as TrueType.

    The PDF carries no creation date, so the same plan and date give the same file.
    """
    import matplotlib

    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        raise InputError(f"{out}: a wall map is written as .pdf or .png")
    meta = ({"Title": fig.get_label(), "Creator": f"gridplan {gridplan_version()}", "Producer": None,
             "CreationDate": None} if fmt == "pdf" else {"Title": fig.get_label(), "Software": "gridplan"})
    with matplotlib.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42, "text.usetex": False,
                                "pdf.compression": 4}):
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta)
    logger.info("wrote %s", out)
    return out


#: What the worker processes of :func:`print_all` print (inherited by fork, never pickled).
_JOB: dict = {}


def _print_one(code: str) -> Path:
    job = _JOB
    fig = grid_sheet(job["plan"], code, paper=job["paper"], **job["common"])
    return save_sheet(fig, job["out_dir"] / f"{code}.{job['fmt']}", dpi=job["dpi"])


def print_all(plan: Plan, out_dir, *, paper: str = "A3", overview_paper: str = "A1", fmt: str = "pdf",
              dpi: int = 300, orientation: str = "auto", lang: str = "zh", roster=None,
              base_url: str = DEFAULT_BASE_URL, plan_name: str | None = None,
              community_name: str | None = None, attribution: str | None = None,
              printed: str | None = None, jobs: int = 1, progress: bool = False) -> list[Path]:
    """One sheet per grid (``{grid_code}.{fmt}``) and the overview (``overview.{fmt}``) in ``out_dir``.

    Parameters
    ----------
    plan : geo.plan.Plan
    out_dir : path
        Folder to write to (created when missing); files are replaced atomically.
    paper, overview_paper : {"A3", "A2", "A1", "A0"}
        Paper of the grid sheets and of the overview.
    fmt : {"pdf", "png"}
    jobs : int
        Worker processes (POSIX ``fork`` only; elsewhere sheets are printed one by one).
    progress : bool
        Show a progress bar.
    orientation, lang, roster, base_url, plan_name, community_name, attribution, printed, dpi
        As for :func:`grid_sheet` and :func:`save_sheet`.

    Returns
    -------
    list of Path
        The files written: the overview first, then the grids in code order.
    """
    import multiprocessing
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    if fmt not in ("pdf", "png"):
        raise InputError(f"format {fmt!r}: wall maps are written as pdf or png")
    out_dir = Path(out_dir)
    roster = _roster(roster, plan)
    _check(plan, paper, orientation, lang)
    if jobs > 1 and "fork" not in multiprocessing.get_all_start_methods():
        logger.info("no fork on this platform: printing the sheets in one process")
        jobs = 1
    codes = sorted(plan.grids["grid_code"].astype(str))
    with tempfile.TemporaryDirectory(prefix="gridplan-font-") as folder:
        # every sheet is set in a font cut down to the characters the run can print: matplotlib then
        # subsets a small font into each PDF instead of a CJK font of tens of thousands of glyphs
        font = sh.subset_font(sh.cjk_font(), _sheet_chars(plan, lang, roster, plan_name, community_name,
                                                          attribution, printed), folder)
        common = dict(orientation=orientation, lang=lang, roster=roster, base_url=base_url,
                      plan_name=plan_name, community_name=community_name, attribution=attribution,
                      printed=printed, font=font)
        written = [save_sheet(overview_sheet(plan, paper=overview_paper, **common), out_dir / f"overview.{fmt}",
                              dpi=dpi)]
        _JOB.update(plan=plan, paper=paper, common=common, out_dir=out_dir, fmt=fmt, dpi=dpi)
        try:
            bar = tqdm(total=len(codes), desc="wall maps", unit="sheet", disable=not progress)
            if jobs > 1:
                with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                    for path in pool.map(_print_one, codes, chunksize=max(1, len(codes) // (8 * jobs))):
                        written.append(path)
                        bar.update()
            else:
                for code in codes:
                    written.append(_print_one(code))
                    bar.update()
            bar.close()
        finally:
            _JOB.clear()
            sh.release_font(font)
    logger.info("wrote %d sheets to %s", len(written), out_dir)
    return written
