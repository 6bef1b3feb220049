"""Why an edit is refused (:data:`REFUSALS`, raised as :class:`EditError`) or warned about
(:data:`WARNINGS`): messages in English with fields a user interface fills in and says in the
user's language (``maps.i18n``)."""

from __future__ import annotations

from geo.errors import GridplanError

__all__ = ["REFUSALS", "WARNINGS", "GRID_FIELDS", "BUILDING_FIELDS", "EditError"]


#: Why an edit is refused: reason → message (English; ``maps.i18n`` has each in Chinese as
#: ``refused_<reason>``, with the same fields).
REFUSALS = {
    "unknown_grid": "no grid '{grid}' in the plan",
    "unknown_building": "no building {buildings} in the plan",
    "locked": "grid {grids} is locked; unlock it first",
    "falls_apart": "grid {grid} ({code}) would fall apart into {pieces} pieces; move buildings that keep it connected",
    "no_building": "select at least one building to move",
    "already_there": "the selected buildings are already in grid {grid}",
    "overlap_left": ("building(s) {moving} overlap {left}: a grid boundary between them would cut a building; "
                     "select them together"),
    "other_unit": "the buildings are in another {level} unit than grid {grid}; a grid stays inside its unit",
    "not_touching": "building(s) {buildings} do not touch grid {grid} ({code}); move them to a neighbouring grid",
    "same_grid": "choose two different grids to merge",
    "different_units": "grids {a} and {b} are in different {level} units",
    "grids_not_touching": "grids {a} and {b} do not touch; merge neighbouring grids",
    "bad_seed": "grid {grid}: seed {seed} is not a whole number 0, 1, 2, …",
    "one_building": "grid {grid} is one building (or overlapping footprints): it cannot be split",
    "no_other_cut": ("grid {grid}: no other cut number {seed} (the engine found {found} other cut(s) into two "
                     "connected halves)"),
    "no_grid": "select at least one grid to re-run",
}


#: What an edit that is allowed warns about: reason → message (English; ``maps.i18n`` has each as
#: ``warning_<reason>``, with the same fields).
WARNINGS = {
    "out_of_band": "grid {grid} ({code}): {households} households, outside {lo:g}–{hi:g} ({status})",
    "emergency_stale": "the emergency layout was drawn before this edit; redraw it with `gridplan update`",
}


#: Fields of :data:`REFUSALS` and :data:`WARNINGS` that hold grid ids, and building ids (one id or
#: a list): a user interface names them as people know them (a grid's number, a building's name).
GRID_FIELDS = ("grid", "grids", "a", "b")
BUILDING_FIELDS = ("buildings", "moving", "left")


def _said(params: dict) -> dict:
    """Fields as the English message writes them: lists joined by commas."""
    return {k: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v for k, v in params.items()}


class EditError(GridplanError):
    """A hand edit refused: it would split a building, break a grid apart, or touch a locked grid.

    ``reason`` is a key of :data:`REFUSALS` and ``params`` its fields, so that a user interface
    can say it in the user's language. Grids and buildings are given by id in ``params``
    (:data:`GRID_FIELDS`, :data:`BUILDING_FIELDS`; a list where several), for the interface to name.
    """

    exit_code = 4

    def __init__(self, reason: str, **params):
        self.reason, self.params = reason, params
        super().__init__(REFUSALS[reason].format(**_said(params)))
