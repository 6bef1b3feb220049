"""Building moves between nested layouts (partitioning.nested_moves): a worked case and random
lattices (hypothesis)."""

from __future__ import annotations

import networkx as nx
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partitioning import engine
from partitioning.hierarchy import emergency_layout
from partitioning.metrics import partition_metrics, validate_partition
from partitioning.nested_moves import move_buildings
from tests.test_nested import lattices


def _path(households, crosses=None):
    g = nx.Graph(gap=25.0)
    names = [f"b{k}" for k in range(len(households))]
    for k, (v, h) in enumerate(zip(names, households)):
        g.add_node(v, households=h, x=10.0 * k, y=0.0)
    for k in range(len(names) - 1):
        g.add_edge(names[k], names[k + 1], overlap=False, crosses=(crosses or {}).get(k, "none"))
    return g


def test_the_rest_beside_a_tower_takes_a_building_of_the_next_grid():
    # normal grids A = tower 31 + 19, B = 2 + 22 + 24; emergency grids 31 | 19 | 2+22 | 24:
    # the 19 is under 20; moving the 2 puts every grid of both layouts in its band
    g = _path([31, 19, 2, 22, 24])
    parent = pd.Series(["A", "A", "B", "B", "B"], index=list(g.nodes))
    child = pd.Series(["A1", "A2", "B1", "B1", "B2"], index=list(g.nodes))
    p, c, f = move_buildings(g, parent, child, parent_target=50, child_target=25, tolerance=0.2)
    assert c.to_dict() == {"b0": "A1", "b1": "A2", "b2": "A2", "b3": "B1", "b4": "B2"}
    assert p.to_dict() == {"b0": "A", "b1": "A", "b2": "A", "b3": "B", "b4": "B"}
    assert f["moves"] == 1 and f["changed_parents"] == {"A", "B"}
    # not across a barrier, and never in a blocked (tower) grid
    for kwargs, graph in (({}, _path([31, 19, 2, 22, 24], {1: "minor"})), ({"blocked": ["A"]}, g)):
        p, c, f = move_buildings(graph, parent, child, parent_target=50, child_target=25, tolerance=0.2,
                                 **kwargs)
        assert f["moves"] == 0 and c.equals(child) and p.equals(parent)


def test_a_move_never_puts_a_normal_grid_out_of_its_band():
    # B = 2 + 38 (40, at the band's edge): giving the 2 away would fix the 19 but empty B's band
    g = _path([31, 19, 2, 38])
    parent = pd.Series(["A", "A", "B", "B"], index=list(g.nodes))
    child = pd.Series(["A1", "A2", "B1", "B1"], index=list(g.nodes))
    p, c, f = move_buildings(g, parent, child, parent_target=50, child_target=25, tolerance=0.2)
    assert f["moves"] == 0 and p.equals(parent)


def _outside(graph, assignment, target):
    """Grids outside the band, not counting the oversize ones (one building above it)."""
    m = partition_metrics(graph, assignment, target=target, tolerance=0.2)
    counted = m["n_grids"] - m["oversize_grids"]
    return counted - round(m["share_within_tolerance"] * counted)


@settings(max_examples=40, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(graph=lattices(roads=True), seed=st.integers(0, 2**16))
def test_moves_keep_nesting_and_never_make_either_layout_worse(graph, seed):
    flat = engine.partition(graph, target=50, tolerance=0.2, seed=seed)
    emergency, _ = emergency_layout(graph, flat.assignment, target=25, tolerance=0.2, seed=seed)
    towers = flat.grids.index[flat.grids["status"] == "oversize"]
    p, c, f = move_buildings(graph, flat.assignment, emergency, parent_target=50, child_target=25, tolerance=0.2,
                             blocked=towers)
    assert set(p) == set(flat.assignment)  # no normal grid emptied or added
    assert (pd.DataFrame({"p": p, "c": c}).groupby("c")["p"].nunique() == 1).all()
    assert validate_partition(graph, p) == [] and validate_partition(graph, c) == []
    assert partition_metrics(graph, c, target=25, tolerance=0.2)["split_buildings"] == 0
    assert _outside(graph, p, 50) <= _outside(graph, flat.assignment, 50)
    assert _outside(graph, c, 25) <= _outside(graph, emergency, 25)
    for t in towers:
        assert set(p.index[p == t]) == set(flat.assignment.index[flat.assignment == t])
