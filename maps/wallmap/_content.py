"""What a sheet needs from the plan: paper, font, names, codes, addresses, people."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from geo.errors import CRSError, InputError
from geo.plan import Plan
from maps import _sheet as sh
from maps.i18n import LANGUAGES, text
from partitioning.people.roles import ROLES  # the one role list (staffing, wall map, web card, CLI)
from partitioning.people.staffing import grid_communities

logger = logging.getLogger(__name__)

#: ISO 216 paper sizes in millimetres, portrait (width, height).
PAPERS = {"A3": (297, 420), "A2": (420, 594), "A1": (594, 841), "A0": (841, 1189)}
#: No default web address: a QR code to a guessed address (such as the development server's
#: ``http://127.0.0.1:5000``) leads a resident nowhere. ``None``: the plan's ``base_url``, else no QR code.
DEFAULT_BASE_URL = None
#: Hosts only the computer itself reaches.
_LOCAL_HOSTS = {"localhost", "0.0.0.0", "::1", "::", ""}
ROSTER_COLUMNS = ("grid_id", "role", "name", "phone", "building_id")
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

class SheetFigure(Figure):
    """A sheet's first page; ``more_pages`` holds the pages its tables continue on (often none)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.more_pages: list[Figure] = []


@dataclass
class _Sheet:
    """A page under construction: figure, size (mm), scale factor, font, language."""

    fig: Figure
    page: tuple[float, float]
    s: float
    font: sh.CJKFont
    lang: str

    def pt(self, base: float) -> float:
        """A type size of ``base`` points on A3, scaled to the paper, never under ``sh.MIN_PT`` (9 pt)."""
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

    w, h = PAPERS[paper]
    page = (h, w) if landscape else (w, h)
    fig = SheetFigure(figsize=(page[0] / 25.4, page[1] / 25.4))
    FigureCanvasAgg(fig)
    return _Sheet(fig, page, min(page) / 297.0, _font(font), lang)


def _unit_names(plan: Plan) -> pd.Series:
    """Each grid's community name from the plan's own data (``""`` when unknown), by ``grid_id``.

    Looked up in the finest upper level of the ``levels`` layer whose units have names (the
    ``name`` of the boundary file each level was given as), then in the ``boundaries`` layer
    (the named boundary holding the grid's inner point).
    """

    grids = plan.grids
    names = pd.Series("", index=grids.index, dtype=object)
    levels = plan.layers.get("levels")
    if levels is not None and len(levels) and {"level", "unit_id", "name"} <= set(levels.columns):
        named = levels[levels["name"].fillna("").astype(str).str.strip() != ""]
        order = [lv.get("name") for lv in plan.meta.get("levels") or [] if isinstance(lv, dict)]
        for level in sorted(set(named["level"]), key=lambda lv: -order.index(lv) if lv in order else 0):
            column = f"unit_{level}"
            if column not in plan.buildings.columns:
                continue
            unit_name = dict(zip(named.loc[named["level"] == level, "unit_id"].astype(str),
                                 named.loc[named["level"] == level, "name"].astype(str).str.strip()))
            b = plan.buildings[["grid_id", column]].dropna()
            top = b.groupby("grid_id")[column].agg(lambda v: v.astype(str).value_counts().index[0])
            found = top.map(unit_name).dropna()
            names.loc[found.index.intersection(names.index)] = found
            if (names != "").any():
                return names
    bounds = plan.layers.get("boundaries")
    if bounds is not None and len(bounds) and "name" in bounds.columns:
        bounds = bounds[bounds["name"].fillna("").astype(str).str.strip() != ""]
        if len(bounds):
            points = shapely.point_on_surface(grids.geometry.values)
            g, b = bounds.sindex.query(points, predicate="within")
            names.iloc[g] = bounds["name"].astype(str).str.strip().to_numpy()[b]
    return names


def _community(plan: Plan, community_name: str | None, grid_id=None) -> str | None:
    """The community a sheet is titled with: ``community_name``, ``plan.meta["community_name"]``, else
    the name the plan's levels or boundaries give the grid (or, without ``grid_id``, all of them:
    the one name they share, or up to three joined with 、); ``None`` when none is known."""
    given = community_name or plan.meta.get("community_name")
    if given and str(given).strip():
        return str(given).strip()
    names = _unit_names(plan)
    if grid_id is not None:
        return names.get(grid_id) or None
    distinct = list(dict.fromkeys(n for n in names if n))
    return "、".join(distinct) if 0 < len(distinct) <= 3 else None


def _base_url(plan: Plan, base_url: str | None) -> str | None:
    """The web address QR codes link to: ``base_url``, else ``plan.meta["base_url"]``.

    ``None`` (with a warning) when neither is set: the sheet then has no QR code. ``""`` means no
    QR code, deliberately (no warning). A local address (``localhost``, ``127.x``) is a warning:
    a resident scanning it reaches nothing.
    """

    if base_url == "":
        return None
    url = base_url or plan.meta.get("base_url")
    if not url:
        logger.warning("no web address for the QR codes: the sheets print without a QR code; give the web "
                       "app's address (gridplan print --base-url https://…, $GRIDPLAN_BASE_URL, or the plan's "
                       "base_url)")
        return None
    url = str(url).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"web address {url!r} for the QR codes: give it as http(s)://host[:port], e.g. "
                         "https://grid.example.gov.cn")
    host = (parts.hostname or "").lower()
    if host in _LOCAL_HOSTS or host.startswith("127."):
        logger.warning("the QR codes link to %s, which only this computer reaches: residents who scan them "
                       "reach nothing; give the web app's public address (--base-url)", url)
    return url


def _escalation(plan: Plan, grid_id, roster, lang: str, escalation=None) -> list[list[str]]:
    """Rows (level, post, name, phone) of the grid's escalation chain (网格吹哨): the grid's own
    leader, then the plan's ``escalation`` chain of the grid's community (or ``"*"``).

    ``escalation`` given (a list of ``{level, role, name, phone}``, e.g. masked by the web app)
    replaces the plan's chain. Without a chain, blank rows for the community and the street are
    ruled to fill in by hand.
    """

    rows = []
    leader = ("", "")
    if roster is not None:
        mine = roster[(roster["grid_id"] == grid_id) & (roster["role"] == "grid_leader")]
        if len(mine):
            leader = (mine["name"].iloc[0], mine["phone"].iloc[0])
    rows.append([text("chain_grid", lang), text("role_grid_leader", lang), *leader])
    if escalation is None:
        chains = plan.meta.get("escalation") or {}
        community = grid_communities(plan.buildings, plan.grids.loc[[grid_id]]).iloc[0] if chains else ""
        escalation = chains.get(community) or chains.get("*") or []
    for c in escalation:
        rows.append([str(c.get(k) or "") for k in ("level", "role", "name", "phone")])
    if len(rows) == 1:
        rows += [[text("level_community", lang), "", "", ""], [text("level_street", lang), "", "", ""]]
    return rows


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

    Without one, the plan's ``people`` layer (posts filled by ``partitioning.people.staffing``) is used;
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
