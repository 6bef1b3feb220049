"""Contiguity graphs, the balanced partition engine, tessellation into grid polygons, codes and metrics.

The public surface:

- :func:`build_contiguity_graph` — buildings as nodes, neighbours as edges, barriers respected;
- :func:`partition` — balanced, contiguous grids that never split a building;
- :func:`partition_metrics`, :func:`validate_partition` — figures and validity of any partition;
- :func:`study_area`, :func:`tessellate`, :func:`grid_polygons`, :func:`coverage_report` — grid polygons;
- :func:`grid_codes` — printed grid codes;
- :func:`partitioning.pipeline.partition` — the whole pipeline as ``gridplan partition`` runs it
  (:func:`make_plan` in one piece), :class:`PlanSettings` (:mod:`partitioning.settings`), and
  :func:`plan_area` — its core step for one area (also run per community by :mod:`partitioning.parallel`);
- :func:`grid_graph`, :func:`plan_graph` — the graph grids are drawn on (contiguity and touching
  cells: grids in one piece), and a plan's own graph, which checking, updates and edits use;
- :func:`check_plan` (:mod:`partitioning.check`) — every guarantee of a plan;
- :class:`Level`, :func:`update_plan`, :func:`diff_plans` — nested levels, minimal-change updates, diffs;
- :func:`split_tower` (:mod:`partitioning.towers`) — a tower's emergency sub-grids by unit and floor.
"""

from partitioning.area import AreaPlan, plan_area
from partitioning.check import check_plan
from partitioning.codes import grid_codes
from partitioning.diff import diff_plans
from partitioning.engine import PartitionResult, partition
from partitioning.graph import build_contiguity_graph, grid_graph, plan_graph
from partitioning.hierarchy import Level
from partitioning.metrics import partition_metrics, validate_partition
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings
from partitioning.tessellation import coverage_report, grid_polygons, study_area, tessellate
from partitioning.towers import split_tower
from partitioning.update import update_plan

__all__ = [
    "build_contiguity_graph",
    "grid_graph",
    "plan_graph",
    "partition",
    "PartitionResult",
    "partition_metrics",
    "validate_partition",
    "study_area",
    "tessellate",
    "grid_polygons",
    "coverage_report",
    "grid_codes",
    "PlanSettings",
    "make_plan",
    "check_plan",
    "plan_area",
    "AreaPlan",
    "Level",
    "update_plan",
    "diff_plans",
    "split_tower",
]
