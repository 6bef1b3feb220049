"""Contiguity graphs, the balanced partition engine, tessellation into grid polygons, codes and metrics.

The public surface:

- :func:`build_contiguity_graph` — buildings as nodes, neighbours as edges, barriers respected;
- :func:`partition` — balanced, contiguous grids that never split a building;
- :func:`partition_metrics`, :func:`validate_partition` — figures and validity of any partition;
- :func:`study_area`, :func:`tessellate`, :func:`grid_polygons`, :func:`coverage_report` — grid polygons;
- :func:`grid_codes` — printed grid codes;
- :func:`make_plan`, :func:`check_plan` (in :mod:`partitioning.pipeline`) — the whole pipeline, and
  :func:`plan_area` — its core step for one area (also run per community by :mod:`partitioning.parallel`);
- :class:`Level`, :func:`update_plan`, :func:`diff_plans` — nested levels, minimal-change updates, diffs.
"""

from partitioning.codes import grid_codes
from partitioning.diff import diff_plans
from partitioning.engine import PartitionResult, partition
from partitioning.graph import build_contiguity_graph
from partitioning.hierarchy import Level
from partitioning.metrics import partition_metrics, validate_partition
from partitioning.pipeline import AreaPlan, PlanSettings, check_plan, make_plan, plan_area
from partitioning.tessellation import coverage_report, grid_polygons, study_area, tessellate
from partitioning.update import update_plan

__all__ = [
    "build_contiguity_graph",
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
]
