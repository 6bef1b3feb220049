"""The exceptions gridplan raises.

Library code raises these; only the edges convert them: the command line prints the message and
exits with :attr:`GridplanError.exit_code`, the Flask app answers with an HTTP error page.
Every message names the file, the feature(s) and the fix.
"""

from __future__ import annotations

__all__ = [
    "GridplanError",
    "InputError",
    "CRSError",
    "ValidationError",
    "InfeasibleError",
    "PlanFileError",
    "PlanCheckError",
]


class GridplanError(Exception):
    """Base class of every error gridplan reports to a user."""

    exit_code = 1


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

    def __init__(self, path: str, problems: list[str]):
        self.path = str(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} problem(s) make the input unusable:\n{lines}")


class InfeasibleError(GridplanError):
    """A partition request that cannot be met (e.g. more grids than buildings)."""

    exit_code = 3


class PlanFileError(GridplanError):
    """A plan file that is missing, unreadable or not a gridplan plan."""

    exit_code = 2


class PlanCheckError(GridplanError):
    """A plan that violates its guarantees (reported by ``gridplan check``)."""

    exit_code = 4
