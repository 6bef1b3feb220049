"""Hand edits of a plan: move buildings, merge, split, lock and re-run grids, with validation.

The engine's plan is a draft the planner finishes. Each edit is a pure function: it takes a
:class:`geo.plan.Plan` and its contiguity graph (:func:`edit_graph`) and returns an
:class:`EditResult` with a new plan and the warnings of the change, or raises
:class:`EditError` with the reason the change is refused:

- a building is never split: a building is one node of the graph, and overlapping footprints
  (``overlap`` edges) must stay in one grid;
- a grid never falls apart: every grid the change touches must stay connected in the graph,
  and buildings only move into a grid they touch;
- a locked grid (``locked`` column of the grids) never changes;
- with levels, buildings stay in their lowest-level unit.

A grid left outside ``target × (1 ± tolerance)`` is allowed, flagged by its ``status`` and
returned as a warning. Only the grids a change touches are recomputed: their polygons are
dissolved from the plan's ``cells`` layer (no re-tessellation), their figures summed from the
buildings; the plan's ``metrics`` are recomputed on the graph.

The rules live in :mod:`~partitioning.editing.rules`, the messages in
:mod:`~partitioning.editing.messages`, what an edit recomputes in
:mod:`~partitioning.editing.recompute`, the edits themselves in :mod:`~partitioning.editing.operations`.
"""

from partitioning.editing.messages import BUILDING_FIELDS, GRID_FIELDS, REFUSALS, WARNINGS, EditError
from partitioning.editing.operations import (
                                             OPERATIONS,
                                             lock_grids,
                                             merge_grids,
                                             move_buildings,
                                             move_targets,
                                             rerun_grids,
                                             split_grid,
)
from partitioning.editing.recompute import EditResult, edit_graph

__all__ = ["EditError", "REFUSALS", "WARNINGS", "GRID_FIELDS", "BUILDING_FIELDS",
           "EditResult", "edit_graph", "move_targets", "move_buildings", "merge_grids", "split_grid",
           "rerun_grids", "lock_grids", "OPERATIONS"]
