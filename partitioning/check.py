"""Checking a plan: every guarantee a plan keeps, verified on the graph it was made on.

:func:`check_plan` rebuilds the plan's graph (:func:`partitioning.graph.plan_graph`: its own
buildings, cells, barriers, boundaries and gap) and reports every violation in a
:class:`CheckResult`; :func:`summary_lines` is the summary ``gridplan partition`` and
``gridplan check`` print.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from geo.errors import ids_text, plain
from geo.plan import Plan
from partitioning.graph import empty_groups, group_values, plan_graph
from partitioning.hierarchy import check_hierarchy
from partitioning.metrics import partition_metrics, validate_partition
from partitioning.settings import PlanSettings
from partitioning.tessellation import coverage_report, study_area
from partitioning.towers import check_subgrids
from partitioning.undersize import major_crossings, undersize_reasons

__all__ = ["CheckResult", "check_plan", "grid_names", "summary_lines", "subgrid_lines"]

logger = logging.getLogger(__name__)


@dataclass
class CheckResult:
    """What ``check_plan`` found: ``violations`` empty means the plan keeps every guarantee.

    ``totals()`` is the verdict and the plan's size (what ``gridplan check`` prints first);
    ``metrics``, ``coverage``, ``levels``, ``emergency`` and ``subgrids`` (the towers split in the
    emergency layout, :func:`partitioning.towers.check_subgrids`) the figures; ``undersize`` why each
    undersize grid cannot grow (:func:`partitioning.undersize.undersize_reasons`), ``crossings`` each
    link across a major barrier inside a grid, by name (:func:`partitioning.undersize.major_crossings`);
    ``grids`` one entry per grid (printed only with ``--verbose``).
    """

    violations: list[str] = field(default_factory=list)
    n_buildings: int = 0
    metrics: dict = field(default_factory=dict)
    coverage: dict = field(default_factory=dict)
    grids: list = field(default_factory=list)
    levels: dict = field(default_factory=dict)
    emergency: dict | None = None
    subgrids: dict | None = None
    undersize: list = field(default_factory=list)
    crossings: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def totals(self) -> dict:
        """``ok``, the number of ``violations``, and the plan's ``grids``, ``buildings`` and
        ``households``."""
        return {"ok": self.ok, "violations": len(self.violations), "grids": len(self.grids),
                "buildings": int(self.n_buildings),
                "households": int(sum(g["households"] for g in self.grids))}

    def to_dict(self) -> dict:
        return {"ok": self.ok, "totals": self.totals(), "violations": self.violations, "metrics": self.metrics,
                "coverage": self.coverage, "grids": self.grids, "levels": self.levels,
                "emergency": self.emergency, "subgrids": self.subgrids, "undersize": self.undersize,
                "major_crossings": self.crossings}


def check_plan(plan: Plan) -> CheckResult:
    """Verify a plan: every building in exactly one grid, grids connected, figures consistent,
    polygons a gap- and overlap-free coverage that cuts no building; with levels or an emergency
    layout, the same at every level and the nesting (:func:`partitioning.hierarchy.check_hierarchy`).

    The contiguity graph is rebuilt from the plan (:func:`partitioning.graph.plan_graph`: its
    buildings, cells, barriers and boundaries with its own ``gap_m``), so a plan edited elsewhere
    is checked against the rules it was made with.
    """
    buildings, grids = plan.buildings, plan.grids
    res = CheckResult(n_buildings=len(buildings))
    assignment = buildings["grid_id"]
    unassigned = assignment.isna() | (assignment.astype(str) == "")
    if unassigned.any():
        res.violations.append(f"{int(unassigned.sum())} building(s) are in no grid: "
                              + ids_text(buildings.index[unassigned]))
    if buildings.index.duplicated().any():
        dup = sorted(set(buildings.index[buildings.index.duplicated()]))
        res.violations.append(f"building(s) listed more than once (in two grids): {ids_text(dup)}")
    unknown = sorted(set(assignment.dropna()) - set(grids.index))
    if unknown:
        res.violations.append(f"buildings refer to grid(s) missing from the grids layer: {ids_text(unknown)}")
    empty = sorted(set(grids.index) - set(assignment.dropna()))
    if empty:
        res.violations.append(f"grid(s) without buildings: {ids_text(grid_names(empty, grids))}")
    hh = buildings.groupby("grid_id")["households"].sum()
    stored = grids["households"].reindex(hh.index)
    wrong = hh.index[stored.to_numpy() != hh.to_numpy()]
    if len(wrong):
        res.violations.append("grids whose households figure disagrees with their buildings: "
                              + ids_text(f"{name} ({plain(stored[g])} ≠ {plain(hh[g])})"
                                         for g, name in zip(wrong, grid_names(wrong, grids))))
    boundaries = plan.layers.get("boundaries")
    if boundaries is not None:
        boundaries = boundaries.reset_index()
    graph = plan_graph(plan)
    settings = PlanSettings.from_meta(plan.meta)
    clean = assignment[~unassigned]
    used = clean.unique()
    named = clean.map(dict(zip(used, grid_names(used, grids))))  # the messages name grids by code
    res.violations.extend(validate_partition(graph, named))
    res.violations.extend(_mixed_groups(buildings, named, settings.group_field))
    if not unassigned.any():
        res.undersize = undersize_reasons(plan, graph)
        res.crossings = major_crossings(plan, graph)
    res.metrics = partition_metrics(graph, clean, target=settings.target, tolerance=settings.tolerance)
    area = study_area(buildings, boundary=boundaries)
    res.coverage = coverage_report(grids, buildings, clean, area=area)
    cov = res.coverage
    for key, label in (("overlap_area_m2", "m² of grids overlap"), ("gap_area_m2", "m² of the area is in no grid")):
        if cov.get(key, 0) > 1.0:
            res.violations.append(f"{cov[key]:.1f} {label}")
    if cov.get("multipart_grids"):
        res.violations.append(f"{len(cov['multipart_grids'])} grid(s) are in several pieces: "
                              + ids_text(grid_names(cov["multipart_grids"], grids)))
    if cov.get("cut_buildings"):
        res.violations.append(f"{len(cov['cut_buildings'])} building(s) are cut by a grid boundary: "
                              + ids_text(cov["cut_buildings"]))
    hierarchy_problems, res.levels, res.emergency = check_hierarchy(plan, graph, area=area)
    res.violations.extend(hierarchy_problems)
    if plan.layers.get("subgrids") is not None:
        em_target = (plan.meta.get("emergency") or {}).get("target") or settings.target
        sub_problems, res.subgrids = check_subgrids(plan, target=float(em_target), tolerance=settings.tolerance)
        res.violations.extend(sub_problems)
    res.grids = [{"grid_id": str(g), "grid_code": str(r.grid_code), "households": int(r.households),
                  "n_buildings": int(r.n_buildings), "status": str(r.status)}
                 for g, r in grids.sort_values("grid_code").iterrows()]
    return res


def _honest_lines(m: dict) -> list[str]:
    """The figures over all grids and households, towers included (plans made before them lack them)."""
    if m.get("share_within_tolerance_all") is None:
        return []
    share = m["oversize_households"] / m["households_total"] if m["households_total"] else 0.0
    return [f"all grids:          {m['share_within_tolerance_all']:.1%} of all {m['n_grids']} grids within "
            f"tolerance; {m['share_households_within']:.1%} of households live in such a grid",
            f"oversize grids:     {m['oversize_grids']} hold {m['oversize_households']} households ({share:.1%}; "
            "towers, one grid each)"]


def subgrid_lines(figures: dict | None) -> list[str]:
    """The line on the towers the emergency layout split (none without an emergency layout)."""
    if not figures:
        return []
    share = figures["share_within_tolerance"]
    return [f"tower sub-grids:    {figures['towers_split']} tower(s) split by unit and floor into "
            f"{figures['n_subgrids']} emergency sub-grids (target {figures['target']:g})"
            + (f", {share:.1%} within tolerance, {figures['crossing_units']} across tiny units" if share is not None
               else "")]


def _mixed_groups(buildings, assignment, group_field) -> list[str]:
    """Grids holding buildings of two groups of ``group_field`` (none without a group field)."""
    if group_field is None:
        return []
    group = group_values(buildings, group_field)
    held = ~empty_groups(group, buildings["households"].to_numpy())  # a group without households bars nobody
    values = pd.Series(group, index=buildings.index)[held].fillna("(none)")
    values = values[values.index.isin(assignment.index)]
    kinds = values.groupby(assignment.reindex(values.index)).unique()
    mixed = kinds[kinds.map(len) > 1]
    return [f"{len(mixed)} grid(s) mix buildings of several '{group_field}' groups: "
            + ids_text(f"{g} ({' / '.join(sorted(map(str, v)))})" for g, v in mixed.items())] if len(mixed) else []


def grid_names(ids, grids: pd.DataFrame) -> list[str]:
    """The grids ``ids`` as people know them: by their code (the ``grid_code`` column of ``grids``),
    by id where a grid has none; a code two grids share (an edited plan) is followed by the id, so
    that every name stays one grid's.

    Examples
    --------
    >>> grids = pd.DataFrame({"grid_code": ["GS01-02", "GS01-03", "GS01-03"]}, index=["G0002", "G0003", "G0004"])
    >>> grid_names(["G0002", "G0009", "G0004"], grids)
    ['GS01-02', 'G0009', 'GS01-03 (G0004)']
    """
    if "grid_code" not in grids:
        return [str(g) for g in ids]
    codes = grids["grid_code"].dropna().astype(str)
    shared = set(codes[codes.duplicated(keep=False)])
    named = {g: f"{c} ({g})" if c in shared else c for g, c in codes.items()}
    return [named.get(g, str(g)) for g in ids]


def summary_lines(metrics: dict, *, target: int, grids: pd.DataFrame | None = None) -> list[str]:
    """The human-readable summary ``gridplan partition`` and ``gridplan check`` print; with the plan's
    ``grids``, grids are named by code (:func:`grid_names`)."""
    m = metrics
    lines = [
        f"grids:              {m['n_grids']}",
        f"households:         {m['households_total']}  (target {target} per grid)",
        f"households/grid:    min {m['households_min']}, median {m['households_median']:g}, "
        f"max {m['households_max']}",
        f"within tolerance:   {m['share_within_tolerance']:.1%} of non-oversize grids "
        f"(worst deviation {m['worst_deviation']:.0%})",
        f"oversize/undersize: {m['oversize_grids']} / {m['undersize_grids']} grid(s)",
        *_honest_lines(m),
        f"disconnected grids: {m['disconnected_grids']}   split buildings: {m['split_buildings']}",
    ]
    lines.append(f"compactness:        {m['mean_distance_m']:.0f} m household-weighted mean distance to "
                 f"grid centre; largest grid diameter {m['max_diameter_m']:.0f} m")
    lines.append(f"barrier crossings:  {m['barrier_crossing_grids']} grid(s) ({m['major_crossing_grids']} "
                 "across a major barrier)")
    cov = m.get("coverage")
    if cov:
        lines.append(f"polygons:           overlap {cov.get('overlap_area_m2', 0):.1f} m², gap "
                     f"{cov.get('gap_area_m2', 0):.1f} m², multipart {len(cov.get('multipart_grids', []))}, "
                     f"cut buildings {len(cov.get('cut_buildings', []))}")
        detached = cov.get("detached_grids") or []
        if detached:
            lines.append(f"detached groups:    {len(detached)} grid(s) also hold a group of buildings without "
                         "households that borders no other grid of its community (a campus or yard across a "
                         "road), drawn as a second polygon: "
                         + ids_text(detached if grids is None else grid_names(detached, grids)))
    t = m.get("timings")
    if t:
        lines.append(f"runtime:            {t['total_s']:.2f} s (cells {t['tessellation_s']:.2f}, graph "
                     f"{t['graph_s']:.2f}, partition and grid polygons {t['partition_s']:.2f})")
    return lines
