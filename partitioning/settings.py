"""What a planner asks of a plan, in one place: the defaults, :class:`PlanSettings`, and reading
them back from a plan's metadata.

Every step that works on an existing plan (checking, updating, editing, the maps) reads the
plan's settings through :meth:`PlanSettings.from_meta`, so that a plan made with ``gap=0`` is
edited, updated and checked on the same graph it was made on, and the defaults are typed once.

Examples
--------
>>> s = PlanSettings.from_meta({"target": 40, "tolerance": 0.1, "gap_m": 0.0, "seed": 3})
>>> s.target, s.tolerance, s.gap, s.seed
(40, 0.1, 0.0, 3)
>>> PlanSettings.from_meta({}) == PlanSettings()
True
>>> s.band()
(36.0, 44.0)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geo.errors import GridplanError

__all__ = ["DEFAULT_TARGET", "DEFAULT_TOLERANCE", "DEFAULT_GAP", "WIDE_TOLERANCE", "PlanSettings", "balance_target",
           "bridge_households", "settings_error"]

logger = logging.getLogger(__name__)

#: Households per grid ("1包50": one grid leader for about 50 households).
DEFAULT_TARGET: int = 50
#: A grid is balanced within target × (1 ± tolerance).
DEFAULT_TOLERANCE: float = 0.2
#: Default gap (metres) under which two buildings are neighbours.  Rows of Chinese walk-up housing
#: (4–6 floors) stand 15–22 m apart (sunlight spacing of about 1.0–1.2 × their height), compound
#: lanes are 4–10 m wide: 25 m joins the buildings of one block while streets and rivers are
#: separated by the barrier layer, not by distance.  It is the distance the benchmark of issue 3 used.
DEFAULT_GAP: float = 25.0
#: The wide band: a block enclosed by major barriers (main roads, rivers) holding at least
#: target × (1 − WIDE_TOLERANCE) households makes grids of its own; a smaller one joins its
#: neighbours across the shortest link (partitioning.graph.build_contiguity_graph).
WIDE_TOLERANCE: float = 0.4


@dataclass(frozen=True)
class PlanSettings:
    """What the user asked for; stored in the plan's metadata.

    Attributes
    ----------
    target : int
        Households per grid ("1包50": 50).
    tolerance : float
        A grid is balanced within target × (1 ± tolerance).
    n_grids : int, optional
        Ask for this many grids instead of deriving it from the households.
    seed : int
        Seed of every random choice; the same input and seed give the same plan.
    gap : float
        Buildings this close (m) are neighbours in the contiguity graph.
    code_prefix : str, optional
        Administrative prefix of the grid codes (county + street + community codes).
    levels : tuple of partitioning.hierarchy.Level
        Upper levels (coarsest first) the grids nest in; empty for a flat plan.
    level_name : str
        Name of the grids' own level (e.g. ``small``), stored in the metadata.
    emergency_target : int, optional
        Households per emergency grid: adds an emergency layout nested in the grids.
    group_field : str, optional
        A field of the buildings naming the group each is in (e.g. its compound, 小区): grids never
        mix buildings of two groups (:func:`partitioning.graph.build_contiguity_graph`).
    """

    target: int = DEFAULT_TARGET
    tolerance: float = DEFAULT_TOLERANCE
    n_grids: int | None = None
    seed: int = 0
    gap: float = DEFAULT_GAP
    code_prefix: str | None = None
    levels: tuple = ()
    level_name: str = "grid"
    emergency_target: int | None = None
    group_field: str | None = None

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> PlanSettings:
        """The settings a plan was made with, from its metadata (``docs/plan-format.md``).

        ``target`` is the target the plan was balanced to (households ÷ grids when a number of
        grids was asked for, see :func:`balance_target`); a setting the metadata lacks (a plan
        from an older version) takes its default. ``levels`` stays empty: the metadata describes
        the levels (``meta["levels"]``) but does not hold their boundaries, which are the plan's
        ``levels`` layer.

        Parameters
        ----------
        meta : mapping
            A plan's ``meta``.

        Returns
        -------
        PlanSettings
        """
        def value(key: str, default: Any) -> Any:
            got = meta.get(key)
            return default if got is None else got

        emergency = meta.get("emergency") or {}
        prefix = meta.get("code_prefix")
        n_grids = meta.get("n_grids_requested")
        group_field = meta.get("group_field")
        return cls(target=int(value("target", DEFAULT_TARGET)),
                   tolerance=float(value("tolerance", DEFAULT_TOLERANCE)),
                   n_grids=None if n_grids is None else int(n_grids),
                   seed=int(value("seed", 0)),
                   gap=float(value("gap_m", DEFAULT_GAP)),
                   code_prefix=None if prefix is None else str(prefix),
                   level_name=str(value("grid_level", "grid")),
                   emergency_target=None if emergency.get("target") is None else int(emergency["target"]),
                   group_field=None if group_field is None else str(group_field))

    def band(self) -> tuple[float, float]:
        """The households a balanced grid holds: ``target × (1 ± tolerance)``."""
        return self.target * (1 - self.tolerance), self.target * (1 + self.tolerance)


def balance_target(settings: PlanSettings, households: int) -> int:
    """The households per grid a plan is balanced to: ``target``, or households ÷ ``n_grids``
    when a number of grids was asked for (stored as the plan's ``target``).

    Examples
    --------
    >>> balance_target(PlanSettings(), 1000), balance_target(PlanSettings(n_grids=8), 1000)
    (50, 125)
    """
    if settings.n_grids is None:
        return settings.target
    return max(1, round(households / settings.n_grids))


def bridge_households(target: float) -> float:
    """The households from which a block enclosed by major barriers makes grids of its own: the low
    end of the wide band, ``target × (1 − WIDE_TOLERANCE)``, for the target a plan is balanced to
    (:func:`balance_target`).

    Examples
    --------
    >>> bridge_households(50)
    30.0
    """
    return target * (1 - WIDE_TOLERANCE)


def settings_error(cls: type[GridplanError], message: str, *options: str) -> GridplanError:
    """An error about the settings asked for, saying it in library terms, with the settings it is
    about in ``options`` (names of :class:`PlanSettings` fields and of
    :func:`partitioning.pipeline.partition` parameters) for an interface to name them as its user
    spells them (the command line: by its options).

    Examples
    --------
    >>> from geo.errors import InfeasibleError
    >>> err = settings_error(InfeasibleError, "a plan with levels takes no number of grids", "n_grids", "levels")
    >>> str(err), err.options
    ('a plan with levels takes no number of grids', ('n_grids', 'levels'))
    """
    error = cls(message)
    error.options = tuple(options)  # type: ignore[attr-defined]
    return error
