"""Writing sheets: one to a file, or every grid and the overview of a plan into a folder."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from geo.errors import InputError
from geo.plan import Plan, atomic_path, gridplan_version
from maps import _sheet as sh
from maps.wallmap._content import _attribution, _base_url, _check, _community, _plan_name, _roster, _unit_names
from maps.wallmap.grid import _grid_figure
from maps.wallmap.options import SheetOptions, sheet_options
from maps.wallmap.overview import overview_sheet

__all__ = ["save_sheet", "print_all"]

logger = logging.getLogger(__name__)

def _sheet_chars(plan: Plan, opts: SheetOptions, roster) -> set:
    """Every character a sheet of ``plan`` can print (words, names, codes, IDs, dates)."""
    from maps import i18n

    strings = [v.get(opts.lang, "") for v in i18n._TEXT.values()]
    chains = plan.meta.get("escalation") or {}
    strings += [str(c.get(k) or "") for chain in chains.values() for c in chain for k in ("level", "role", "name",
                                                                                            "phone")]
    strings += [opts.community_name or "", str(plan.meta.get("community_name") or ""), *_unit_names(plan),
                _plan_name(plan, opts.plan_name),
                _attribution(plan, opts.attribution), opts.printed or "", str(plan.meta.get("written", "")),
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
    opts = job["opts"]
    fig = _grid_figure(job["plan"], code, opts, roster=job["roster"], url=job["url"],
                       community=job["communities"].get(grid_id))
    return save_sheet(fig, job["out_dir"] / f"{code}.{job['fmt']}", dpi=opts.dpi)


def print_all(plan: Plan, out_dir, options: SheetOptions | None = None, *, overview_paper: str = "A1",
              fmt: str = "pdf", roster=None, jobs: int = 1, progress: bool = False, **overrides) -> list[Path]:
    """One sheet per grid (``{grid_code}.{fmt}``) and the overview (``overview.{fmt}``) in ``out_dir``.

    Parameters
    ----------
    plan : geo.plan.Plan
    out_dir : path
        Folder to write to (created when missing); files are replaced atomically.
    options : SheetOptions, optional
        The sheets' options (paper of the grid sheets: default A3); ``**overrides`` as for
        :func:`grid_sheet`. A ``title`` is left out (each sheet has its own).
    overview_paper : {"A3", "A2", "A1", "A0"}
        Paper of the overview.
    fmt : {"pdf", "png"}
    jobs : int
        Worker processes (POSIX ``fork`` only; elsewhere sheets are printed one by one).
    progress : bool
        Show a progress bar.
    roster
        As for :func:`grid_sheet`.

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
    opts = sheet_options(options, overrides)
    opts = opts.but(paper=opts.paper or "A3", title=None)
    community_name = opts.community_name
    roster = _roster(roster, plan)
    _check(plan, opts.paper, opts.orientation, opts.lang)
    if jobs > 1 and "fork" not in multiprocessing.get_all_start_methods():
        logger.info("no fork on this platform: printing the sheets in one process")
        jobs = 1
    codes = sorted(plan.grids["grid_code"].astype(str))
    # the overview refuses a plan that names no community: checked before any sheet is set
    overview_community = _community(plan, community_name)
    url = _base_url(plan, opts.base_url)  # warned about once, not per sheet
    given = community_name or plan.meta.get("community_name")
    communities = (pd.Series(str(given), index=plan.grids.index) if given else _unit_names(plan)).to_dict()
    with tempfile.TemporaryDirectory(prefix="gridplan-font-") as folder:
        # every sheet is set in a font cut down to the characters the run can print: matplotlib then
        # subsets a small font into each PDF instead of a CJK font of tens of thousands of glyphs
        font = sh.subset_font(sh.cjk_font(), _sheet_chars(plan, opts, roster), folder)
        overview = overview_sheet(plan, opts.but(paper=overview_paper, base_url=url or "",
                                                 community_name=overview_community, font=font), roster=roster)
        written = [save_sheet(overview, out_dir / f"overview.{fmt}", dpi=opts.dpi)]
        grid_ids = dict(zip(plan.grids["grid_code"].astype(str), plan.grids.index))
        _JOB.update(plan=plan, opts=opts.but(plan_name=_plan_name(plan, opts.plan_name), font=font), roster=roster,
                    url=url, out_dir=out_dir, fmt=fmt, grid_ids=grid_ids,
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
