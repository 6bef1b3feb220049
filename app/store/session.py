"""An editor's session of one plan in memory: the operations of :mod:`partitioning.editing` and
the plans they made (the stored form, ``base``/``ops``/``pos``/``rev``, lives in a version store)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geo
from partitioning import editing

__all__ = ["EditSession"]


@dataclass
class EditSession:
    """One user's edits of one plan: the operations and the plans they made.

    ``plans[0]`` is version ``base`` as loaded; ``plans[i + 1]`` is what ``ops[i]`` made of
    ``plans[i]``; ``plans[pos]`` is the current plan (undo lowers ``pos``, redo raises it, a new
    operation drops the redo tail). ``rev`` is the revision of the stored session these match.
    """

    base: int
    plans: list
    make_graph: Callable = editing.edit_graph
    ops: list = field(default_factory=list)
    pos: int = 0
    rev: int = 0
    graph: object = None

    @property
    def plan(self) -> geo.Plan:
        return self.plans[self.pos]

    @property
    def notices(self) -> list:
        """The warnings of the operation that made the current plan (``EditResult.notices``)."""
        return self.ops[self.pos - 1]["notices"] if self.pos else []

    def contiguity(self):
        """The contiguity graph of the plans (their buildings and cells never change)."""
        if self.graph is None:
            self.graph = self.make_graph(self.plans[0])
        return self.graph

    def apply(self, op: str, args: dict) -> editing.EditResult:
        """Apply an operation to the current plan; the redo tail is dropped when it succeeds."""
        result = self._run(op, args, self.plan)
        del self.plans[self.pos + 1:], self.ops[self.pos:]
        self._append(op, args, result)
        return result

    def _run(self, op: str, args: dict, plan: geo.Plan) -> editing.EditResult:
        func, needs_graph = editing.OPERATIONS[op]
        return func(plan, self.contiguity(), **args) if needs_graph else func(plan, **args)

    def _append(self, op: str, args: dict, result: editing.EditResult) -> None:
        self.plans.append(result.plan)
        self.ops.append({"op": op, "args": args, "notices": result.notices})
        self.pos = len(self.ops)

    def sync(self, stored: dict) -> None:
        """Catch up with the stored session (same base): keep the plans of the operations both
        share, replay the others."""
        same = 0
        for mine, theirs in zip(self.ops, stored["ops"]):
            if (mine["op"], mine["args"]) != (theirs["op"], theirs["args"]):
                break
            same += 1
        del self.plans[same + 1:], self.ops[same:]
        for o in stored["ops"][same:]:
            self._append(o["op"], o["args"], self._run(o["op"], o["args"], self.plans[-1]))
        self.pos, self.rev = stored["pos"], stored["rev"]

    def stored(self) -> dict:
        return {"base": self.base, "ops": self.ops, "pos": self.pos}
