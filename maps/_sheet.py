"""Drawing primitives of printed sheets: fonts, millimetre panels, tables, labels, QR codes.

Everything here works in paper millimetres: a *panel* is a matplotlib ``Axes`` without decoration
whose data coordinates are millimetres from its lower-left corner, so text and rules can be placed
exactly where they print. Font sizes are in points (1 pt = 25.4 / 72 mm).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import qrcode
import shapely
from fontTools import subset
from fontTools.ttLib import TTFont
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.font_manager import FontProperties, findSystemFonts, fontManager
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.textpath import text_to_path
from matplotlib.transforms import Affine2D
from qrcode.constants import ERROR_CORRECT_M

from geo.errors import GridplanError

__all__ = ["MissingFontError", "find_cjk_font", "cjk_font", "MM_PER_PT"]

logger = logging.getLogger(__name__)

MM_PER_PT = 25.4 / 72
#: Smallest type size on a sheet (points): fine print (footer, captions). Building labels are at
#: least 9 pt, names, phones and tables at least 12 pt, the title at least 20 mm (docs/wallmaps.md).
MIN_PT = 9.0

#: CJK font families, best first. TrueType-outline fonts come first: matplotlib embeds them as
#: real TrueType (CID Type 2) text; the CFF-outline Noto/Source Han fonts also give selectable
#: text, but matplotlib labels their CFF data as TrueType, which some PDF tools warn about.
CJK_FAMILIES = (
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans SC", "Droid Sans Fallback",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Noto Sans CJK SC", "Source Han Sans SC",
    "Source Han Sans CN", "Noto Serif CJK SC", "AR PL UMing CN",
)
#: Font files to register when matplotlib's font cache predates the font's installation.
CJK_FILES = ("wqy-microhei.ttc", "wqy-zenhei.ttc", "NotoSansCJK-Regular.ttc", "NotoSansSC-Regular.ttf",
             "SourceHanSansSC-Regular.otf", "DroidSansFallbackFull.ttf", "uming.ttc")
FONT_ENV = "GRIDPLAN_CJK_FONT"


class MissingFontError(GridplanError):
    """No font with Chinese glyphs is installed, so a sheet would print boxes instead of text."""

    exit_code = 2


@dataclass(frozen=True)
class CJKFont:
    """A font able to print Chinese: its file, face and the family name matplotlib knows it by."""

    path: Path
    family: str
    index: int = 0
    has_bold: bool = False

    def props(self, size: float, *, bold: bool = False) -> FontProperties:
        weight = "bold" if bold and self.has_bold else "normal"
        return FontProperties(family=self.family, size=size, weight=weight)


def _entry_font(entry) -> CJKFont:
    bold = any(e.name == entry.name and isinstance(e.weight, int) and e.weight >= 600
               for e in fontManager.ttflist)
    return CJKFont(Path(entry.fname), entry.name, int(getattr(entry, "index", 0) or 0), bold)


_FOUND: dict = {}


def _regular(entry) -> bool:
    return entry.weight in (400, "normal", "regular") and entry.style == "normal"


def _lookup(families, files) -> CJKFont | None:
    override = os.environ.get(FONT_ENV)
    if override:
        path = Path(override)
        if not path.is_file():
            raise MissingFontError(f"{FONT_ENV}={override}: no such font file; point it at a .ttf/.ttc/.otf "
                                   "font with Chinese glyphs or unset it")
        return font_from_file(path)
    for rescan in (False, True):
        if rescan:  # fonts installed after matplotlib built its cache
            for fname in findSystemFonts():
                if Path(fname).name in files and not any(e.fname == fname for e in fontManager.ttflist):
                    fontManager.addfont(fname)
        by_name = {}  # per family its regular upright face, else any face
        for entry in sorted(fontManager.ttflist, key=lambda e: not _regular(e)):
            by_name.setdefault(entry.name, entry)
        for family in families:
            if family in by_name:
                return _entry_font(by_name[family])
    return None


def cjk_font(*, families=None, files=None) -> CJKFont:
    """The CJK font sheets are set in (cached); :class:`MissingFontError` when there is none."""
    families = tuple(CJK_FAMILIES if families is None else families)
    files = tuple(CJK_FILES if files is None else files)
    key = (families, files, os.environ.get(FONT_ENV))
    if key not in _FOUND:
        font = _lookup(families, files)
        if font is None:
            raise MissingFontError(
                "no font with Chinese glyphs is installed, so wall maps would print boxes instead of "
                "text. Install one: `apt-get install fonts-wqy-microhei` (or `fonts-noto-cjk`) — "
                f"`make test` and `make demo` install it — or set {FONT_ENV} to a .ttf/.ttc font file.")
        logger.info("wall maps use the font %s (%s)", font.family, font.path)
        _FOUND[key] = font
    return _FOUND[key]


def font_from_file(path) -> CJKFont:
    """The font in file ``path`` (its first face), registered with matplotlib."""
    path = Path(path)
    if not path.is_file():
        raise MissingFontError(f"{path}: no such font file")
    if not any(Path(e.fname) == path for e in fontManager.ttflist):
        fontManager.addfont(str(path))
    return _entry_font(next(e for e in fontManager.ttflist if Path(e.fname) == path))


def find_cjk_font() -> Path:
    """The file of the font with Chinese glyphs that sheets are set in.

    Looks at ``$GRIDPLAN_CJK_FONT`` first, then for installed families in :data:`CJK_FAMILIES`
    order (WenQuanYi Micro Hei, …, Noto Sans CJK SC …).

    Raises
    ------
    MissingFontError
        When no such font is installed; the message names the Debian package to install.
    """
    return cjk_font().path


def subset_font(font: CJKFont, chars, folder) -> CJKFont:
    """A copy of ``font`` holding only ``chars`` (plus ASCII), registered under a family of its own.

    matplotlib subsets the font into every PDF it writes, which for a full CJK font (tens of
    thousands of glyphs) costs most of a sheet's time; printing many sheets from a small font
    avoids it. Text outside ``chars`` would print as missing glyphs, so pass every character the
    sheets may show.
    """


    text = "".join(sorted(set("".join(chars)) | {chr(c) for c in range(32, 127)} | set("…·—×")))
    # the folder is part of the name: a family must never point to a file of an earlier run
    digest = hashlib.sha1(f"{font.path}:{font.index}:{Path(folder).resolve()}:{text}".encode()).hexdigest()[:10]
    family = f"gridplan-{digest}"
    target = Path(folder) / f"{family}.ttf"
    if not target.exists():
        with TTFont(str(font.path), fontNumber=font.index, lazy=True) as tt:
            _subset_into(tt, text, family, target)
    fontManager.addfont(str(target))
    logger.debug("subset %s to %d characters: %s", font.family, len(text), target)
    return CJKFont(target, family, 0, False)


def release_font(font: CJKFont) -> None:
    """Forget a font made by :func:`subset_font` (before its folder is deleted)."""
    fontManager.ttflist[:] = [e for e in fontManager.ttflist if Path(e.fname) != font.path]


def _subset_into(tt, text: str, family: str, target: Path) -> None:
    """Write the glyphs of ``text`` in ``tt`` to ``target`` as a TrueType font named ``family``."""

    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "GSUB", "GPOS", "GDEF", "BASE", "JSTF", "DSIG"]
    options.layout_features = []
    options.hinting = False
    sub = subset.Subsetter(options)
    sub.populate(text=text)
    sub.subset(tt)
    table = tt["name"]
    for name_id in (1, 3, 4, 6, 16):
        table.removeNames(nameID=name_id)
        table.setName(family, name_id, 3, 1, 0x409)
    tt.save(str(target))


# --- text measurement -------------------------------------------------------------------------

_WIDTHS: dict = {}


def text_size_mm(s: str, size: float, font: CJKFont) -> tuple[float, float]:
    """Width and height (mm) of one line ``s`` set at ``size`` points (cached)."""
    key = (s, size, font.family)
    if key not in _WIDTHS:
        w, h, _ = text_to_path.get_text_width_height_descent(s, font.props(size), ismath=False)
        _WIDTHS[key] = (w * MM_PER_PT, max(h, size * 0.88) * MM_PER_PT)
    return _WIDTHS[key]


def fit_text(s: str, width_mm: float, size: float, font: CJKFont) -> str:
    """``s``, shortened with an ellipsis when it is wider than ``width_mm``."""
    if text_size_mm(s, size, font)[0] <= width_mm:
        return s
    while s and text_size_mm(s + "…", size, font)[0] > width_mm:
        s = s[:-1]
    return s + "…"


# --- panels in millimetres --------------------------------------------------------------------

class Panel:
    """A rectangle of the page (mm from its lower-left corner) to draw on in millimetres.

    Artists are added to the figure itself with a millimetre transform: much cheaper than an
    ``Axes`` (no ticks, no data limits), which matters when hundreds of sheets are printed.
    """

    def __init__(self, fig, x: float, y: float, w: float, h: float):

        self.fig, self.w, self.h = fig, w, h
        self.transform = Affine2D().translate(x, y).scale(1 / 25.4) + fig.dpi_scale_trans

    def text(self, x, y, s, **kw):
        kw.setdefault("transform", self.transform)
        return self.fig.text(x, y, s, **kw)

    def add_artist(self, artist, **_):
        artist.set_transform(self.transform)
        return self.fig.add_artist(artist)

    add_patch = add_collection = add_artist

    def plot(self, xs, ys, **kw):

        return self.add_artist(Line2D(xs, ys, **kw))


def panel(fig, x: float, y: float, w: float, h: float) -> Panel:
    """A :class:`Panel` on the rectangle (x, y, w, h) of the page, in mm."""
    return Panel(fig, x, y, w, h)


def rect(x, y, w, h, **kw):

    return Rectangle((x, y), w, h, **kw)


def put(ax, x, y, s, *, size, font: CJKFont, bold=False, **kw):
    """Real (selectable) text at (x, y); never parsed as mathtext."""
    return ax.text(x, y, s, fontproperties=font.props(size, bold=bold), parse_math=False, **kw)


def table(ax, x: float, top: float, widths, header, rows, *, size: float, font: CJKFont,
          row_h: float, align=None) -> float:
    """Draw a ruled table with its top-left corner at (x, top); returns its height (mm).

    ``widths`` are the column widths in mm; cells too wide are shortened with an ellipsis.
    Empty cells stay blank (ruled lines to write on by hand); a row given as one string is a note
    spanning the table's width.
    """
    align = align or ["left"] * len(widths)
    edges = np.concatenate([[x], x + np.cumsum(widths)])
    total_w = edges[-1] - x
    all_rows = [header, *rows]
    y = top
    segments = []
    for i, row in enumerate(all_rows):
        mid = y - row_h / 2
        if isinstance(row, str):  # a note spanning the whole row
            pad = 0.25 * size * MM_PER_PT
            put(ax, x + pad, mid, fit_text(row, total_w - 2 * pad, size, font), size=size, font=font,
                va="center_baseline")
            row = ()
        for j, cell in enumerate(row):
            if cell is None or cell == "":
                continue
            pad = 0.25 * size * MM_PER_PT
            s = fit_text(str(cell), widths[j] - 2 * pad, size, font)
            tx = edges[j] + pad if align[j] == "left" else edges[j + 1] - pad
            put(ax, tx, mid, s, size=size, font=font, bold=(i == 0), ha=align[j], va="center_baseline")
        y -= row_h
        segments.append([(x, y), (x + total_w, y)])
    segments.append([(x, top), (x + total_w, top)])
    segments += [[(e, top), (e, y)] for e in edges]
    ax.add_collection(LineCollection(segments, colors="#444444", linewidths=0.4))
    return top - y


# --- geometry to matplotlib -------------------------------------------------------------------

def _ring_path(ring) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(ring.coords)[:, :2]
    codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
    codes[0] = MplPath.MOVETO
    codes[-1] = MplPath.CLOSEPOLY
    return xy, codes


def polygon_paths(geoms) -> list[MplPath]:
    """One compound matplotlib path per (multi)polygon, holes included."""
    paths = []
    for geom in geoms:
        verts, codes = [], []
        for part in shapely.get_parts(geom):
            if part.is_empty or part.geom_type != "Polygon":
                continue
            for ring in (part.exterior, *part.interiors):
                xy, c = _ring_path(ring)
                verts.append(xy)
                codes.append(c)
        if verts:
            paths.append(MplPath(np.concatenate(verts), np.concatenate(codes)))
    return paths


def add_polygons(ax, geoms, **kw) -> PathCollection:
    """Draw polygons as one collection (``facecolor``/``edgecolor``/``linewidth``… in ``kw``)."""
    coll = PathCollection(polygon_paths(geoms), **kw)
    ax.add_collection(coll, autolim=False)
    return coll


def add_lines(ax, geoms, **kw) -> LineCollection:
    """Draw (multi)line strings and polygon boundaries as one line collection."""
    segments = [np.asarray(p.coords)[:, :2] for g in geoms for p in shapely.get_parts(g) if not p.is_empty]
    coll = LineCollection(segments, **kw)
    ax.add_collection(coll, autolim=False)
    return coll


def qr_path(url: str) -> tuple[MplPath, int]:
    """The QR code of ``url`` as one vector path of unit squares (y up), and its size in modules."""

    # a fixed mask: any mask decodes, and searching the best of eight costs 8× the encoding
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=0)
    qr.add_data(url)
    qr.make(fit=True)
    matrix = np.array(qr.get_matrix(), dtype=bool)
    n = matrix.shape[0]
    rows, cols = np.nonzero(matrix)
    x, y = cols.astype(float), (n - 1 - rows).astype(float)
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)
    verts = (square[None, :, :] + np.stack([x, y], axis=1)[:, None, :]).reshape(-1, 2)
    codes = np.tile([MplPath.MOVETO, MplPath.LINETO, MplPath.LINETO, MplPath.LINETO, MplPath.CLOSEPOLY],
                    len(x)).astype(np.uint8)
    return MplPath(verts, codes), n


# --- label placement --------------------------------------------------------------------------

#: Offsets tried around an anchor, in label half-sizes: centre, then N, S, E, W and the diagonals.
_OFFSETS = ((0, 0), (0, 1.1), (0, -1.1), (1.1, 0), (-1.1, 0), (1.1, 1.1), (-1.1, 1.1), (1.1, -1.1),
            (-1.1, -1.1))


def place_labels(anchors: np.ndarray, sizes: np.ndarray, frame: tuple[float, float, float, float],
                 *, fallback_sizes: np.ndarray | None = None,
                 obstacles: np.ndarray | None = None, lines=None,
                 full_at: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place label boxes near their anchors without overlaps, in the given priority order.

    Parameters
    ----------
    anchors : (n, 2) array
        Anchor points (paper mm); labels are tried in this order (first = most important).
    sizes : (n, 2) array
        Width and height of each label (mm).
    frame : (xmin, ymin, xmax, ymax)
        Labels must lie inside this rectangle.
    fallback_sizes : (n, 2) array, optional
        A smaller form of each label (e.g. the number without the households) tried when the
        full label finds no room.
    obstacles : (m, 4) array, optional
        Boxes ``(xmin, ymin, xmax, ymax)`` no label may cover (north arrow, scale bar, labels
        placed before).
    lines : shapely geometry, optional
        Lines (paper mm) no label may cross, e.g. grid boundaries.
    full_at : int, optional
        Try the full label only at the first ``full_at`` positions (1: on its anchor only), so
        that a label moved away from its building carries the short form: the full text only
        where it fits.

    Returns
    -------
    centres : (n, 2) array
        Where each label goes (NaN when it is left out).
    form : (n,) int array
        0 full label, 1 fallback form, -1 left out.
    placed : (k, 4) array
        Every box now taken (the obstacles and the labels placed), for labels placed after these.
    """
    n = len(anchors)
    centres = np.full((n, 2), np.nan)
    form = np.full(n, -1)
    placed = np.empty((0, 4)) if obstacles is None else np.asarray(obstacles, dtype=float).reshape(-1, 4)
    x0, y0, x1, y1 = frame
    if lines is not None:
        shapely.prepare(lines)
    for i in range(n):
        options = [(0, sizes[i])] + ([(1, fallback_sizes[i])] if fallback_sizes is not None else [])
        done = False
        for kind, (w, h) in options:
            offsets = _OFFSETS[:full_at] if kind == 0 and full_at and fallback_sizes is not None else _OFFSETS
            for dx, dy in offsets:
                cx, cy = anchors[i, 0] + dx * w / 2, anchors[i, 1] + dy * h / 2
                box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
                if box[0] < x0 or box[1] < y0 or box[2] > x1 or box[3] > y1:
                    continue
                if len(placed) and np.any((placed[:, 0] < box[2]) & (placed[:, 2] > box[0])
                                          & (placed[:, 1] < box[3]) & (placed[:, 3] > box[1])):
                    continue
                if lines is not None and lines.intersects(shapely.box(*box)):
                    continue
                placed = np.vstack([placed, box])
                centres[i] = cx, cy
                form[i] = kind
                done = True
                break
            if done:
                break
    return centres, form, placed
