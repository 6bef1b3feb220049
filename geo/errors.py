"""The exceptions gridplan raises.

Library code raises these; only the edges convert them: the command line prints the message and
exits with :attr:`GridplanError.exit_code`, the Flask app answers with an HTTP error page.
Every message names the file, the feature(s) and the fix.

The fix, when it is "give this option", is the error's :attr:`GridplanError.hint`, written with the
library's parameter names in braces (``"name it with {crs:EPSG:4549}"``) and never a command-line
flag: :meth:`GridplanError.hint_text` spells each parameter as a Python argument
(``crs='EPSG:4549'``) for a notebook, and the command line passes its own spelling
(``--crs EPSG:4549``). In a traceback the hint shows as a note under the message.

Messages name rows and features with :func:`rows_text` and :func:`ids_text`, as a user finds them
in their own file: a line of a CSV file as a text editor or a spreadsheet numbers it (the header
is line 1, the first record line 2), a feature of a layer by
its position counted from 1 (as QGIS's attribute table and a GeoJSON file read top to bottom), or
the feature's own ID. Values are shown as plain text, never as Python or NumPy reprs
(``np.int64(0)``, ``['a']``), and a long list is cut with the count of the rest.

Examples
--------
>>> import numpy as np
>>> rows_text(np.array([0, 4]))
'features 1, 5 (counting from 1)'
>>> rows_text([0, 4], csv=True)
'lines 2, 6'
>>> ids_text([np.int64(7), "B001", np.str_("B002")])
'7, B001, B002'
>>> ids_text(range(20), limit=3)
'0, 1, 2 … (+17 more)'
>>> err = CRSError("roads.shp: has no CRS", hint="name it with {crs:EPSG:4549}")
>>> err.hint_text()
"name it with crs='EPSG:4549'"
>>> err.hint_text(lambda name: "--" + name.replace("_", "-"))
'name it with --crs EPSG:4549'
>>> str(err)
'roads.shp: has no CRS'
"""

from __future__ import annotations

import string
from collections.abc import Callable

__all__ = [
    "GridplanError",
    "InputError",
    "CRSError",
    "ValidationError",
    "InfeasibleError",
    "PlanFileError",
    "PlanCheckError",
    "SHOW",
    "ids_text",
    "rows_text",
    "plain",
]


class _Option:
    """A parameter named in a hint, spelt by ``flag`` (the CLI) or as a Python argument."""

    def __init__(self, name: str, flag: Callable[[str], str] | None):
        self.name, self.flag = name, flag

    def __format__(self, value: str) -> str:
        if self.flag is not None:
            flag = self.flag(self.name)
            return f"{flag} {value}" if value else flag
        return f"{self.name}={value!r}" if value else f"`{self.name}`"


class _Hint(string.Formatter):
    def __init__(self, flag):
        self.flag = flag

    def get_value(self, key, args, kwargs):
        return _Option(str(key), self.flag)


class GridplanError(Exception):
    """Base class of every error gridplan reports to a user.

    Parameters
    ----------
    message : str
        What is wrong, naming the file, row or feature.
    hint : str, optional
        What to do, with the parameters it names in braces: ``{crs}``, or ``{crs:EPSG:4549}``
        with a value (see :meth:`hint_text`).
    """

    exit_code = 1

    def __init__(self, message: str = "", *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint
        if hint:
            self.add_note(f"hint: {self.hint_text()}")

    def hint_text(self, flag: Callable[[str], str] | None = None) -> str | None:
        """The hint with each parameter spelt by ``flag(name)`` (e.g. a CLI flag), by default as
        the Python argument (``crs='EPSG:4549'``, or `` `crs` `` without a value)."""
        if not self.hint:
            return None
        return _Hint(flag).format(self.hint)


class InputError(GridplanError):
    """An input file cannot be read or does not hold what was asked of it."""

    exit_code = 2


class CRSError(InputError):
    """Coordinates without a CRS, or a CRS that cannot be used."""


class ValidationError(InputError):
    """Input features that cannot be used; ``problems`` lists every one of them.

    Parameters
    ----------
    path : str
        The file the features came from.
    problems : list of str
        One line per problem, each naming the feature(s) and the fix.
    """

    def __init__(self, path: str, problems: list[str], *, hint: str | None = None):
        self.path = str(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} problem(s) make the input unusable:\n{lines}",
                         hint=hint)


class InfeasibleError(GridplanError):
    """A partition request that cannot be met (e.g. more grids than buildings)."""

    exit_code = 3


class PlanFileError(GridplanError):
    """A plan file that is missing, unreadable or not a gridplan plan."""

    exit_code = 2


class PlanCheckError(GridplanError):
    """A plan that violates its guarantees (reported by ``gridplan check``)."""

    exit_code = 4


# --- naming rows and features in messages ---------------------------------------------------------

#: How many IDs or rows one message shows before "… (+N more)".
SHOW = 12


def plain(value) -> str:
    """A value as plain text: NumPy scalars as their Python value (``7``, not ``np.int64(7)``)."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        value = item()
    return str(value)


def ids_text(ids, *, limit: int = SHOW) -> str:
    """Feature IDs (or any values) as ``a, b, c … (+N more)``."""
    ids = [plain(i) for i in ids]
    more = f" … (+{len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def rows_text(positions, *, csv: bool = False, limit: int = SHOW) -> str:
    """Rows given by their 0-based positions in the table as the user counts them.

    ``csv``: ``lines 2, 6`` (line numbers of the file, the header being line 1); otherwise
    ``features 1, 5 (counting from 1)`` (the position of each feature in its layer).
    """
    numbers = [int(plain(p)) + (2 if csv else 1) for p in positions]
    word = ("line" if csv else "feature") + ("s" if len(numbers) != 1 else "")
    return f"{word} {ids_text(numbers, limit=limit)}" + ("" if csv else " (counting from 1)")
