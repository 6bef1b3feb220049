"""Redrawing a plan with minimal change: households return or move out, buildings are added or
demolished, and the grids follow while moving as few buildings as possible.

Every building moved between grids breaks a relationship a grid leader built, so
:func:`update_plan` works outward from the change and stops as soon as the plan is valid and
balanced again:

1. **Apply the change.** New household counts; demolished buildings leave their grid; added
   buildings join the neighbouring grid with the fewest households (a building overlapping an
   assigned one joins that one's grid; one inside a locked grid joins it; a group of added
   buildings with no assigned neighbour becomes a grid of its own). Cells are re-tessellated only
   when buildings were added or demolished, with locked grids' outlines as barriers, so locked grids
   keep their polygons.
2. **Reconnect.** A grid split in two by a demolition or a new cell keeps its largest piece; the
   other pieces join a neighbouring grid.
3. **Repair locally.** Each grid outside ``target × (1 ± tolerance)`` is repaired by ejection chains
   (:meth:`partitioning._refine.LocalSearch.eject_chains`: one building passed to a neighbour, which
   may pass one on) among the grids within one, then two, hops of it.
4. **Re-partition a neighbourhood.** Only grids the chains cannot repair are re-partitioned by the
   engine together with their neighbours (1, 2, 3 hops, then the whole parent unit); the new grids
   are matched to the old ones by the most shared buildings (Hungarian algorithm), so matched grids
   keep their ids and codes, and the smallest neighbourhood that puts every grid in the band wins.

Locked grids never change: no building enters or leaves them (except demolished buildings and new
buildings standing inside them). Grids whose buildings did not change keep their ids, codes and
polygons; new grids get new ids (after the largest) and the next free code in their parent unit.
With levels, buildings move only between grids of the same lowest-level unit; emergency grids are
redrawn only inside normal grids that changed.

The steps live in :mod:`~partitioning.update.changes` (reading and applying the change),
:mod:`~partitioning.update.repair` (stages 2–4 on the assignment) and
:mod:`~partitioning.update.redraw` (:func:`update_plan`: the whole update, ids, codes and layers).
"""

from partitioning.update.changes import read_household_changes
from partitioning.update.redraw import MOVE_REASONS, UpdateResult, update_plan

__all__ = ["UpdateResult", "update_plan", "read_household_changes", "MOVE_REASONS"]
