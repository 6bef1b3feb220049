"""Hand edits of a plan (partitioning.editing) on the real Kunming plan: every edit keeps a valid
partition and a gap- and overlap-free coverage; refused edits say why."""

from __future__ import annotations

import networkx as nx
import pytest
import shapely

import geo
from partitioning.editing import EditError, edit_graph, lock_grids, merge_grids, move_buildings, rerun_grids, split_grid
from partitioning.editing.rules import _overlap_partners
from partitioning.metrics import partition_metrics, validate_partition
from tests.plans import single_moves


@pytest.fixture(scope="module")
def plan(plan_path):
    return geo.read_plan(plan_path)


@pytest.fixture(scope="module")
def graph(plan):
    return edit_graph(plan)


def _assert_valid(before, after, graph):
    """One grid per building, grids connected, figures summed, polygons a coverage of the same area."""
    assert validate_partition(graph, after.buildings["grid_id"]) == []
    assert set(after.grids.index) == set(after.buildings["grid_id"])
    sums = after.buildings.groupby("grid_id")["households"].sum()
    assert (after.grids["households"] == sums.reindex(after.grids.index)).all()
    assert shapely.coverage_is_valid(after.grids.geometry.values)
    assert after.grids.union_all().area == pytest.approx(before.grids.union_all().area, rel=1e-9)
    assert (after.buildings["grid_code"] == after.grids["grid_code"].reindex(after.buildings["grid_id"]).to_numpy()).all()


def _edge(plan, graph, *, keeps_connected):
    move = next(single_moves(plan, graph, keeps_connected=keeps_connected), None)
    assert move, "no such edge in the plan"
    return move


def test_move_recomputes_only_the_two_grids(plan, graph):
    building, source, target = _edge(plan, graph, keeps_connected=True)
    result = move_buildings(plan, graph, [building], target)
    after = result.plan
    assert result.changed == sorted([source, target]) and result.removed == []
    assert after.buildings.at[building, "grid_id"] == target
    hh = plan.buildings.at[building, "households"]
    assert after.grids.at[target, "households"] == plan.grids.at[target, "households"] + hh
    assert after.grids.at[source, "n_buildings"] == plan.grids.at[source, "n_buildings"] - 1
    assert after.grids.at[target, "geometry"].contains(plan.buildings.at[building, "geometry"].representative_point())
    others = plan.grids.index.difference([source, target])
    assert after.grids.loc[others].geometry.geom_equals(plan.grids.loc[others].geometry).all()
    assert plan.buildings.at[building, "grid_id"] == source  # the input plan is untouched
    # the metrics, recomputed for the changed grids only, are those of the whole plan computed afresh
    back = move_buildings(after, graph, [building], source).plan
    for edited in (after, back):
        fresh = partition_metrics(graph, edited.buildings["grid_id"], target=plan.meta["target"],
                                  tolerance=plan.meta["tolerance"])
        assert edited.meta["metrics"] == fresh
    def same(m):
        return {k: v for k, v in m.items() if k != "runtime_s"}
    assert same(back.meta["metrics"]) == same(plan.meta["metrics"])  # moved back: the plan's own figures
    _assert_valid(plan, after, graph)
    for g in (source, target):
        status = after.grids.at[g, "status"]
        assert (status != "ok") == any(w.startswith(f"grid {g} ") for w in result.warnings)


def test_refusals(plan, graph):
    building, source, target = _edge(plan, graph, keeps_connected=False)
    with pytest.raises(EditError, match="fall apart"):
        move_buildings(plan, graph, [building], target)
    ok, ok_source, ok_target = _edge(plan, graph, keeps_connected=True)
    far = next(g for g in plan.grids.index
               if not any(plan.buildings.at[u, "grid_id"] == g for u in graph[ok]) and g != ok_source)
    with pytest.raises(EditError, match="do not touch"):
        move_buildings(plan, graph, [ok], far)
    with pytest.raises(EditError, match="do not touch"):
        merge_grids(plan, graph, ok_source, far)
    with pytest.raises(EditError, match="no grid"):
        move_buildings(plan, graph, [ok], "G9999")
    locked = lock_grids(plan, [ok_target]).plan
    with pytest.raises(EditError, match="locked"):
        move_buildings(locked, graph, [ok], ok_target)
    with pytest.raises(EditError, match="locked"):
        split_grid(locked, graph, ok_target)
    unlocked = lock_grids(locked, [ok_target], locked=False).plan
    assert move_buildings(unlocked, graph, [ok], ok_target).plan.buildings.at[ok, "grid_id"] == ok_target


def test_overlapping_buildings_move_together(plan, graph):
    """A grid boundary between two overlapping footprints would cut a building."""
    grid = plan.buildings["grid_id"]
    u, v = next((u, v) for u, v, o in sorted(graph.edges(data="overlap")) if o and grid[u] == grid[v])
    group = sorted(_overlap_partners(graph, [u]))
    target = next((grid[w] for x in group for w in graph[x] if grid[w] != grid[u]), None)
    if target is None:
        pytest.skip("the overlapping pair has no neighbouring grid in this plan")
    with pytest.raises(EditError, match="overlap"):
        move_buildings(plan, graph, [u], target)


def test_merge_split_rerun_keep_a_valid_coverage(plan, graph):
    _, a, b = _edge(plan, graph, keeps_connected=True)
    merged = merge_grids(plan, graph, a, b)
    assert merged.removed == [b] and b not in merged.plan.grids.index
    assert merged.plan.grids.at[a, "households"] == plan.grids.loc[[a, b], "households"].sum()
    _assert_valid(plan, merged.plan, graph)
    split = split_grid(merged.plan, graph, a)
    assert split.changed[0] == a and len(split.changed) == 2 and len(split.plan.grids) == len(plan.grids)
    assert split_grid(merged.plan, graph, a).plan.buildings["grid_id"].equals(split.plan.buildings["grid_id"])
    assert split.plan.grids["grid_code"].is_unique
    _assert_valid(plan, split.plan, graph)
    rerun = rerun_grids(split.plan, graph, split.changed, seed=0)
    assert set(rerun.plan.buildings["grid_id"]) - set(split.plan.grids.index) <= set(rerun.changed)
    assert rerun.plan.grids["grid_code"].is_unique
    _assert_valid(plan, rerun.plan, graph)


def test_move_targets_add_overlapping_partners(plan, graph):
    """A building overlapping others drags them into the selection; the targets are the grids it touches."""
    from partitioning.editing import move_targets

    overlapping = sorted({u for u, v, d in graph.edges(data=True) if d.get("overlap")})
    assert overlapping, "the Kunming plan has overlapping footprints"
    first = overlapping[0]
    out = move_targets(plan, graph, [first])
    assert out["buildings"][0] == first and set(out["partners"]) == _overlap_partners(graph, [first]) - {first}
    grid = plan.buildings["grid_id"]
    assert out["from"] == sorted(set(grid[out["buildings"]]))
    expected = {grid[u] for v in out["buildings"] for u in graph[v]} - set(out["from"])
    assert {t["grid_id"] for t in out["targets"]} == expected
    building, source, target = _edge(plan, graph, keeps_connected=True)
    assert target in {t["grid_id"] for t in move_targets(plan, graph, [building])["targets"]}
    with pytest.raises(EditError, match="no building nope"):
        move_targets(plan, graph, ["nope"])


@pytest.fixture(scope="module")
def emergency_plan(tmp_path_factory):
    """The Kunming buildings planned with an emergency layout of ~20 households per grid."""
    from click.testing import CliRunner

    from app.cli import cli
    from tests.conftest import KUNMING

    out = tmp_path_factory.mktemp("emergency") / "kunming.gpkg"
    result = CliRunner().invoke(cli, ["partition", str(KUNMING), "--id-field", "id", "--emergency-target", "20",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    return geo.read_plan(out)


def test_edits_redraw_the_emergency_grids_of_the_grids_they_touch(emergency_plan):
    """After a move, a split and a merge the emergency grids still nest in the grids (`gridplan check` passes);
    the emergency grids of untouched grids keep their ids, codes and polygons."""
    from partitioning.check import check_plan
    from partitioning.hierarchy import EMERGENCY_COLUMN

    plan = emergency_plan
    graph = edit_graph(plan)
    building, source, target = _edge(plan, graph, keeps_connected=True)
    moved = move_buildings(plan, graph, [building], target)
    split = split_grid(moved.plan, graph, target)
    new_grid = next(g for g in split.changed if g != target)
    edited = merge_grids(split.plan, graph, target, new_grid).plan
    touched = {source, target, new_grid}
    assert not any("emergency" in w for w in moved.warnings + split.warnings)
    result = check_plan(edited)
    assert result.ok, result.violations
    em, b = edited.layers["grids_emergency"], edited.buildings
    assert (b.groupby(EMERGENCY_COLUMN)["grid_id"].nunique() == 1).all()
    assert set(em.index) == set(b[EMERGENCY_COLUMN]) and em.index.is_unique and em["grid_code"].is_unique
    assert (em["grid_code"].str[:-2] == b.groupby(EMERGENCY_COLUMN)["grid_code"].first().reindex(em.index)).all()
    old = plan.layers["grids_emergency"]
    untouched = old.index[~old["parent_grid_id"].isin(touched)]
    assert len(untouched) and em.loc[untouched, "grid_code"].tolist() == old.loc[untouched, "grid_code"].tolist()
    assert em.loc[untouched].geometry.geom_equals(old.loc[untouched].geometry).all()


def test_split_offers_other_cuts_best_first(suzhou_plan_path):
    """Seed 0 is the engine's cut; seeds 1, 2, … the other cuts into two connected halves, each new,
    ranked: halves inside the band first, then the more even; asking past the last is refused."""
    plan = geo.read_plan(suzhou_plan_path)
    graph = edit_graph(plan)
    lo, hi = plan.meta["target"] * (1 - plan.meta["tolerance"]), plan.meta["target"] * (1 + plan.meta["tolerance"])
    small = plan.grids[plan.grids["n_buildings"].between(6, 9)]
    grid = small["households"].idxmax()
    members = set(plan.buildings.index[plan.buildings["grid_id"] == grid])
    seen, ranks = [], []
    for seed in range(4):
        result = split_grid(plan, graph, grid, seed=seed)
        new = result.plan.buildings["grid_id"]
        halves = [set(new.index[new == g]) & members for g in result.changed]
        assert len(halves) == 2 and all(halves) and halves[0] | halves[1] == members
        assert all(nx.is_connected(graph.subgraph(h)) for h in halves)
        _assert_valid(plan, result.plan, graph)
        cut = frozenset(map(frozenset, halves))
        assert cut not in seen  # every seed another cut
        seen.append(cut)
        hh = [int(plan.buildings.loc[list(h), "households"].sum()) for h in halves]
        ranks.append((not all(lo <= h <= hi for h in hh), abs(hh[0] - hh[1])))
    assert ranks[1:] == sorted(ranks[1:])  # the other cuts come best first
    with pytest.raises(EditError, match="no other cut number 9999"):
        split_grid(plan, graph, grid, seed=9999)


def test_a_plan_made_with_gap_0_is_edited_and_checked_on_its_own_graph(kunming_inputs):
    """A plan made with gap 0 m is edited on the 0 m graph it was made and is checked on, not on a
    25 m one (the editor used to read ``gap_m or DEFAULT_GAP``): a building that only reaches a
    grid across a gap cannot be moved into it."""
    from partitioning.check import check_plan
    from partitioning.editing import move_targets
    from partitioning.graph import grid_graph, plan_graph
    from partitioning.pipeline import make_plan
    from partitioning.settings import DEFAULT_GAP, PlanSettings

    plan, _ = make_plan(kunming_inputs, PlanSettings(gap=0.0, seed=1))
    graph = edit_graph(plan)
    assert graph.graph["gap"] == 0.0
    assert {frozenset(e) for e in graph.edges} == {frozenset(e) for e in plan_graph(plan).edges}
    assert check_plan(plan).ok
    wide = grid_graph(plan.buildings, plan.layers["cells"], gap=DEFAULT_GAP)
    grid_of = plan.buildings["grid_id"]
    reach = [(b, set(t["grid_id"] for t in move_targets(plan, wide, [b])["targets"])
              - set(t["grid_id"] for t in move_targets(plan, graph, [b])["targets"]) - {grid_of[b]})
             for b in plan.buildings.index]
    building, only_wide = next((b, sorted(g)) for b, g in reach if g)
    with pytest.raises(EditError) as refused:
        move_buildings(plan, graph, [building], only_wide[0])
    assert refused.value.reason in ("not_touching", "falls_apart")


def test_a_tower_with_its_sheds_stays_oversize_after_an_edit():
    """The engine puts sheds without households into the tower's grid (no empty grids); the editor's
    status of that grid (the metrics' rule, :func:`partitioning.metrics.figure_status`) is still
    oversize, not out of tolerance; a house cut off by the tower alone is undersize, as the engine says."""
    import networkx as nx
    import pandas as pd

    from partitioning.metrics import figure_status, grid_figures

    g = nx.Graph()
    for i, (v, h) in enumerate([("tower", 120), ("shed", 0), ("house", 10), ("garden", 20)]):
        g.add_node(v, households=h, x=10.0 * i, y=0.0)
    g.add_edge("tower", "shed", overlap=False)
    g.add_edge("tower", "house", overlap=False)
    g.add_edge("tower", "garden", overlap=False)
    g.add_edge("garden", "house", overlap=False)

    def status(assignment):
        figures, _ = grid_figures(g, pd.Series(assignment), target=50, tolerance=0.2)
        return figure_status(figures, target=50, tolerance=0.2).to_dict()

    # house and garden (30 households) are cut off by the tower: they cannot grow
    assert status({"tower": "T", "shed": "T", "house": "H", "garden": "H"}) == {"T": "oversize", "H": "undersize"}
    assert status({"tower": "T", "shed": "T", "house": "H", "garden": "G"}) == {
        "T": "oversize", "H": "out_of_tolerance", "G": "out_of_tolerance"}  # either could grow
    assert status({"tower": "T", "house": "T", "shed": "S", "garden": "G"})["T"] == "out_of_tolerance"
    g.remove_edge("garden", "house")
    assert status({"tower": "T", "shed": "T", "house": "H", "garden": "G"})["H"] == "undersize"
