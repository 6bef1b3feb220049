"""What a sheet needs from the plan: paper, font, names, codes, addresses, people."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from geo.errors import CRSError, InputError
from geo.plan import Plan
from maps import _sheet as sh
from maps.i18n import LANGUAGES, text

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
    """The short number of a grid: its code without the administrative prefix, at least 2 digits."""
    from partitioning.codes import PLACEHOLDER

    for pre in (prefix, PLACEHOLDER):
        if pre and code.startswith(pre) and len(code) > len(pre):
            seq = code[len(pre):]
            return f"{int(seq):02d}" if seq.isdigit() else seq
    return code


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
