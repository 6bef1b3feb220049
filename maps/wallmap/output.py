"""Writing sheets: one to a file, or every grid and the overview of a plan into a folder."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from matplotlib.figure import Figure

from geo.errors import InputError
from geo.plan import Plan, atomic_path, gridplan_version
from maps import _sheet as sh
from maps.wallmap._content import (DEFAULT_BASE_URL, _attribution, _base_url, _check, _community, _plan_name,
                                   _roster, _unit_names)
from maps.wallmap.grid import _grid_figure
from maps.wallmap.overview import overview_sheet

__all__ = ["save_sheet", "print_all"]

logger = logging.getLogger(__name__)

def _sheet_chars(plan: Plan, lang, roster, plan_name, community_name, attribution, printed) -> set:
    """Every character a sheet of ``plan`` can print (words, names, codes, IDs, dates)."""
    from maps import i18n

    strings = [v.get(lang, "") for v in i18n._TEXT.values()]
    chains = plan.meta.get("escalation") or {}
    strings += [str(c.get(k) or "") for chain in chains.values() for c in chain for k in ("level", "role", "name",
                                                                                            "phone")]
    strings += [community_name or "", str(plan.meta.get("community_name") or ""), *_unit_names(plan),
                _plan_name(plan, plan_name),
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

    The pages a sheet's tables continue on (``fig.more_pages``) follow in the same PDF; as PNG
    they are written beside it as ``{stem}-2.png`` …. The PDF carries no creation date, so the
    same plan and date give the same file. Returns ``out``.
    """
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        raise InputError(f"{out}: a wall map is written as .pdf or .png")
    pages = [fig, *getattr(fig, "more_pages", [])]
    with matplotlib.rc_context({"pdf.fonttype": 42, "ps.fonttype": 42, "text.usetex": False,
                                "pdf.compression": 4}):
        if fmt == "pdf":
            meta = {"Title": fig.get_label(), "Creator": f"gridplan {gridplan_version()}", "Producer": None,
                    "CreationDate": None}
            with atomic_path(out) as tmp:
                with PdfPages(tmp, metadata=meta) as pdf:
                    for page in pages:
                        pdf.savefig(page, dpi=dpi)
        else:
            for n, page in enumerate(pages, start=1):
                target = out if n == 1 else out.with_name(f"{out.stem}-{n}{out.suffix}")
                with atomic_path(target) as tmp:
                    page.savefig(tmp, format="png", dpi=dpi,
                                 metadata={"Title": page.get_label(), "Software": "gridplan"})
    logger.info("wrote %s (%d page(s))", out, len(pages))
    return out


#: What the worker processes of :func:`print_all` print (inherited by fork, never pickled).
_JOB: dict = {}


def _print_one(code: str) -> Path:
    job = _JOB
    grid_id = job["grid_ids"][code]
    fig = _grid_figure(job["plan"], code, paper=job["paper"], community=job["communities"].get(grid_id),
                       **job["common"])
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
    # the overview refuses a plan that names no community: checked before any sheet is set
    overview_community = _community(plan, community_name)
    url = _base_url(plan, base_url)  # warned about once, not per sheet
    given = community_name or plan.meta.get("community_name")
    communities = (pd.Series(str(given), index=plan.grids.index) if given else _unit_names(plan)).to_dict()
    with tempfile.TemporaryDirectory(prefix="gridplan-font-") as folder:
        # every sheet is set in a font cut down to the characters the run can print: matplotlib then
        # subsets a small font into each PDF instead of a CJK font of tens of thousands of glyphs
        font = sh.subset_font(sh.cjk_font(), _sheet_chars(plan, lang, roster, plan_name, community_name,
                                                          attribution, printed), folder)
        overview = overview_sheet(plan, paper=overview_paper, orientation=orientation, lang=lang, roster=roster,
                                  base_url=url or "", plan_name=plan_name, community_name=overview_community,
                                  attribution=attribution, printed=printed, font=font)
        written = [save_sheet(overview, out_dir / f"overview.{fmt}", dpi=dpi)]
        common = dict(orientation=orientation, lang=lang, roster=roster, url=url,
                      plan_name=_plan_name(plan, plan_name), title=None, attribution=attribution,
                      printed=printed, font=font)
        grid_ids = dict(zip(plan.grids["grid_code"].astype(str), plan.grids.index))
        _JOB.update(plan=plan, paper=paper, common=common, out_dir=out_dir, fmt=fmt, dpi=dpi, grid_ids=grid_ids,
                    communities={g: c for g, c in communities.items() if c})
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
