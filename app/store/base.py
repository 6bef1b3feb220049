"""What every version store offers the editor (:class:`VersionStore`), its errors, and the one
rule of concurrent saves both backends follow (:func:`settle`).

A store keeps, per plan, every saved **version** (author, comment, parent, the diff against its
parent, the communities it changed) and each user's stored edit session (base version,
operations, position, revision). Two backends implement it: :class:`app.store.files.FileStore`
(SQLite beside the plan files, whole plans per version: the embedded default) and
:class:`app.store.postgis.PostgisStore` (PostgreSQL/PostGIS, only what changed per version: the
city deployment). :func:`app.store.open_store` picks one from ``VERSIONS_DB``.

**Conflicts are per community.** A save based on version *b* when the latest is *l > b* is
refused (:class:`VersionConflict`, 409 in the editor) only when a version after *b* changed one
of the communities the save changes (:mod:`app.store.changes`); otherwise the save's changes are
applied to the latest version (:func:`app.store.changes.rebase`) and stored after it. Two planners
editing two communities of one plan never conflict; two in one community get the 409 flow.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import geo
from app.store.changes import WHOLE_PLAN, PlanChanges, plan_changes, rebase
from geo.errors import GridplanError
from partitioning.diff import diff_plans

__all__ = ["VersionStore", "VersionConflict", "SessionConflict", "FILE_AUTHOR", "FIRST_COMMENT",
           "OUTSIDE_COMMENT", "Settled", "settle", "diff_json"]

#: Author and comment of a version recorded from the plan file itself.
FILE_AUTHOR = "gridplan"
FIRST_COMMENT = "the plan file"
OUTSIDE_COMMENT = "the plan file was changed outside the editor"


class VersionConflict(GridplanError):
    """A save based on a version that is no longer the latest, in a community changed since."""

    def __init__(self, base, latest, communities: Iterable[str] = ()):
        self.base, self.latest, self.communities = base, latest, sorted(communities)
        where = ""
        named = [c for c in self.communities if c != WHOLE_PLAN]
        if named:
            where = f" in community {', '.join(named[:5])}{' …' if len(named) > 5 else ''}"
        super().__init__(f"version {base} is not the latest ({latest} was saved since{where}); reload the latest "
                         "version and apply your changes again")


class SessionConflict(GridplanError):
    """An edit session changed by another request (another window or tab) since it was read."""

    def __init__(self):
        super().__init__("your edit session was changed in another window; reload the editor")


class VersionStore(Protocol):
    """Versions of plans and the editors' sessions: what :mod:`app.editor` and :mod:`app.recount` use."""

    def latest(self, plan: str) -> int | None:
        """Number of the latest version of ``plan`` (None before the first)."""

    def ensure(self, plan: str, path) -> int:
        """The latest version of ``plan`` after reconciling it with the plan file ``path``: the file
        becomes version 1 of a new plan, and a file changed outside the editor a new version."""

    def save(self, plan: str, new: geo.Plan, *, base: int, author: str, comment: str = "",
             parent_plan: geo.Plan | None = None, path=None, make_graph: Callable | None = None) -> int:
        """Store ``new`` (made from version ``base``, whose plan is ``parent_plan``) as a new version,
        write it to ``path``, start the author's session again; returns the new version's number.
        Raises :class:`VersionConflict` (see :func:`settle`)."""

    def versions(self, plan: str) -> list[dict]:
        """Every version, newest first: ``version``, ``parent``, ``author``, ``comment``, ``created``,
        ``diff``, ``communities``."""

    def load(self, plan: str, version: int) -> geo.Plan:
        """The plan as it was at ``version`` (KeyError when there is none)."""

    def session(self, plan: str, user: str) -> dict | None:
        """The stored edit session of ``user`` on ``plan``: ``base``, ``ops``, ``pos``, ``rev``."""

    def put_session(self, plan: str, user: str, *, base: int, ops: list, pos: int, rev: int) -> int:
        """Store a session read at revision ``rev``; returns its new revision (SessionConflict when stale)."""


@dataclass
class Settled:
    """What a save stores: ``plan``, after the version whose plan is ``old``, and the communities
    the save changed; ``changes`` are the plan's changes against ``old`` (measured when first asked)."""

    plan: geo.Plan
    old: geo.Plan
    communities: frozenset
    known: PlanChanges | None = None

    @property
    def changes(self) -> PlanChanges:
        if self.known is None:
            self.known = plan_changes(self.old, self.plan)
        return self.known


def settle(*, base, latest, since: Callable[[], list], parent: geo.Plan, new: geo.Plan,
           load: Callable[[int], geo.Plan], make_graph: Callable | None = None) -> Settled:
    """What a save of ``new`` made from version ``base`` stores after version ``latest``.

    Parameters
    ----------
    base, latest : int
        The version the save was made from, and the latest version now (inside the store's write
        transaction).
    since : callable
        Returns the communities changed by each version after ``base`` (called only when
        ``latest != base``).
    parent, new : geo.Plan
        The plan of version ``base`` and the plan to save.
    load : callable
        The plan of a version (for the latest, when the save is applied to it).
    make_graph : callable, optional
        The contiguity graph of a plan, to recompute the metrics of a rebased plan (default
        :func:`partitioning.editing.edit_graph`).

    Raises
    ------
    VersionConflict
        ``base`` is not a version before the latest, or a version since changed a community the
        save changes (or the whole plan).
    """
    mine = plan_changes(parent, new)
    if latest == base:
        return Settled(new, parent, mine.communities, mine)
    if not isinstance(base, int) or latest is None or not 1 <= base < latest:
        raise VersionConflict(base, latest)
    theirs = frozenset().union(*since())
    ours = mine.communities
    clash = ours & theirs if WHOLE_PLAN not in ours | theirs else ours | theirs
    if clash:
        raise VersionConflict(base, latest, clash)
    old = load(latest)
    merged = rebase(old, parent, new, changes=mine, make_graph=make_graph)
    return Settled(merged, old, ours)


def diff_json(parent: geo.Plan, new: geo.Plan) -> str:
    """What a version changed against its parent, as stored (:func:`partitioning.diff.diff_plans`)."""
    return json.dumps(diff_plans(parent, new).to_dict(), ensure_ascii=False, default=str)
