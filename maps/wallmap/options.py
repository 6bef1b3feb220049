"""How a wall map is printed: one frozen :class:`SheetOptions`, passed through every sheet function."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from maps.wallmap._content import DEFAULT_BASE_URL

__all__ = ["SheetOptions", "sheet_options"]


@dataclass(frozen=True)
class SheetOptions:
    """The options of a printed sheet (grid sheet or overview), checked when a sheet is made.

    Parameters
    ----------
    paper : {"A3", "A2", "A1", "A0"}, optional
        Default A3 for a grid sheet, A1 for the overview.
    orientation : {"auto", "portrait", "landscape"}
        ``auto`` takes the one that shows the map at the larger scale.
    lang : {"zh", "en"}
    dpi : int
        Resolution of PNG output (:func:`maps.wallmap.save_sheet`).
    base_url : str, optional
        Web app address the QR code links to; default ``plan.meta["base_url"]``; ``""`` leaves
        the QR code out silently.
    plan_name : str, optional
        Name of the plan in the web app; default ``plan.meta["plan_name"]``.
    community_name : str, optional
        The community's name in the title; default from the plan.
    title : str, optional
        The title; default ``"第{number}网格 作战图"`` (grid) or ``"网格总览图"`` (overview).
    attribution : str, optional
        Data attribution; default from the plan's inputs.
    printed : str, optional
        Date printed on the sheet (default today).
    font : path, optional
        Font file to set the sheet in (default :func:`maps.wallmap.find_cjk_font`).

    Examples
    --------
    >>> options = SheetOptions(paper="A2", lang="en")
    >>> options.but(dpi=150).dpi, options.paper
    (150, 'A2')
    """

    paper: str | None = None
    orientation: str = "auto"
    lang: str = "zh"
    dpi: int = 300
    base_url: str | None = DEFAULT_BASE_URL
    plan_name: str | None = None
    community_name: str | None = None
    title: str | None = None
    attribution: str | None = None
    printed: str | None = None
    font: object = None

    def but(self, **changes) -> SheetOptions:
        """These options with ``changes`` (a new object: the options are frozen)."""
        return replace(self, **changes) if changes else self


def sheet_options(options: SheetOptions | None, overrides: dict) -> SheetOptions:
    """``options`` (default :class:`SheetOptions`) with the keyword ``overrides`` a sheet function was given.

    Raises
    ------
    TypeError
        For a keyword that is not a field of :class:`SheetOptions`.
    """
    names = {f.name for f in fields(SheetOptions)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"unknown sheet option(s) {', '.join(unknown)}; SheetOptions has {', '.join(sorted(names))}")
    return (options or SheetOptions()).but(**overrides)
