"""The bound of the benchmarks (``tests/benchmarks/bound.py``): the grids forced out of the band,
checked against brute force on tiny graphs and against the engine's plan of a small synthetic city."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from tests.benchmarks.bound import area_bound, in_band_bound, most_in_band, packing_bound, same_k_outside

LO, HI = 40, 60


def _partitions(items):
    """Every partition of ``items`` into blocks."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        yield [[first], *part]
        for i in range(len(part)):
            yield [*part[:i], [first, *part[i]], *part[i + 1:]]


def _splits(graph, k=None, cap=10**9):
    """The households of the grids of every split of ``graph`` into connected grids (``k`` of them
    when given) holding at most ``cap`` households each."""
    for part in _partitions(list(graph.nodes)):
        loads = [sum(graph.nodes[v]["households"] for v in block) for block in part]
        if ((k is None or len(part) == k) and max(loads) <= cap
                and all(nx.is_connected(graph.subgraph(block)) for block in part)):
            yield loads


def _outside(loads):
    return sum(not LO <= load <= HI for load in loads)


def _tiny(seed, *, cycles=False):
    """A random tree of 7 buildings of walk-up sizes (20–56 households); with ``cycles``, two edges more."""
    rng = np.random.default_rng(seed)
    g = nx.random_labeled_tree(7, seed=int(rng.integers(1 << 30)))
    if cycles:
        g.add_edges_from(tuple(rng.choice(7, size=2, replace=False).tolist()) for _ in range(2))
    sizes = rng.choice([20, 24, 28, 30, 36, 40, 42, 48, 56], size=7)
    for v, h in zip(g.nodes, sizes.tolist()):
        g.nodes[v].update(households=int(h), x=10.0 * v, y=0.0)
    nx.set_edge_attributes(g, False, "overlap")
    return g


def _fits(graph):
    """The numbers of grids whose band holds the households of ``graph``."""
    total = sum(h for _, h in graph.nodes(data="households"))
    return [k for k in range(-(-total // HI), total // LO + 1) if 1 <= k <= len(graph)]


@pytest.mark.parametrize("seed", range(10))
def test_packing_bound_is_the_brute_force_optimum_on_trees(seed):
    """On a tree the left-over buildings make exactly ``|R| − |E(R)|`` parts: the packing bound is the
    fewest grids outside the band over every split; with cycles it never exceeds it (a bound)."""
    g = _tiny(seed)
    assert packing_bound(g, LO, HI) == min(_outside(loads) for loads in _splits(g))
    assert most_in_band(g, LO, HI) == max(len(loads) - _outside(loads) for loads in _splits(g))
    c = _tiny(seed, cycles=True)
    assert packing_bound(c, LO, HI) <= min(_outside(loads) for loads in _splits(c))


@pytest.mark.parametrize("seed", range(6))
def test_in_band_bound_holds_every_split_of_k_grids(seed):
    """The knapsack of one piece with ``k`` grids is at least the most grids within the band of any
    split into ``k`` connected grids (and some number of grids reaches it)."""
    g = _tiny(seed)
    total = sum(h for _, h in g.nodes(data="households"))
    piece = [(total, len(g), packing_bound(g, LO, HI), most_in_band(g, LO, HI))]
    for k in range(1, len(g) + 1):
        best = max(len(loads) - _outside(loads) for loads in _splits(g, k))
        assert best <= in_band_bound(piece, k, LO, HI)


@pytest.mark.parametrize("seed", range(6))
def test_same_k_outside_is_the_brute_force_optimum(seed):
    """With the engine's number of grids, the exact split finds the fewest grids outside the band of
    any split whose grids hold at most the band's top plus the largest building."""
    g = _tiny(seed)
    cap = HI + max(h for _, h in g.nodes(data="households"))
    for k in _fits(g):
        assert same_k_outside(g, k, 50, 0.2) == min(_outside(loads) for loads in _splits(g, k, cap))


def test_brute_force_sees_grids_forced_out():
    """The tiny cases are not all trivial: some force a grid out whatever the number of grids (the
    packing bound's cases; never more than one: a single grid of everything is a split), and some
    two or more with a number of grids that fits their households (the exact split's cases)."""
    tiny = list(map(_tiny, range(10)))
    assert max(min(_outside(loads) for loads in _splits(g)) for g in tiny) == 1
    assert max(min(_outside(loads) for k in _fits(g) for loads in _splits(g, k)) for g in tiny) >= 2


def test_a_row_of_36s_has_no_grid_within_the_band():
    """A row of five walk-ups of 36 households: alone 36, two together 72 — whatever the number of
    grids, none is within the band.  F alone says one grid (the whole row may be one grid of 180);
    the knapsack over the engine's three grids says none, and the area's bound is 0."""
    row = nx.path_graph(5)
    for v in row.nodes:
        row.nodes[v].update(households=36, x=30.0 * v, y=0.0)
    nx.set_edge_attributes(row, False, "overlap")
    engine = pd.Series(["a", "a", "b", "b", "c"], index=list(row.nodes))
    pieces: list = []
    res = area_bound(row, engine, target=50, tolerance=0.2, n_normal=3, pieces=pieces)
    assert res["forced"] == res["packing_forced"] == 1 and res["in_band_max"] == 0 and res["bound"] == 0
    assert pieces == [{"buildings": 5, "households": 180, "grids": 3, "out": 3, "forced": 1,
                       "how": "packing_forced", "same_k": 3}]


def test_narrow_bound_keeps_buildings_of_the_plans_band_in_their_piece():
    """The ±10 % bound of a ±20 % plan: a walk-up of 58 households beside one of 50 makes two grids
    (each within ±20 %), and no plan puts the 58 within 45–55.  Set apart as an oversize building at
    the narrow band's top (55), the 58 would leave the 50 alone and the bound would be 1: not one."""
    pair = nx.path_graph(2)
    for v, h in enumerate([58, 50]):
        pair.nodes[v].update(households=h, x=30.0 * v, y=0.0)
    nx.set_edge_attributes(pair, False, "overlap")
    engine = pd.Series(["a", "b"], index=[0, 1])
    narrow = area_bound(pair, engine, target=50, tolerance=0.1, n_normal=2, oversize_above=60)
    assert narrow["forced"] == 1 and narrow["bound"] == 0.5
    assert area_bound(pair, engine, target=50, tolerance=0.1, n_normal=2)["bound"] == 1.0  # 58 set apart


def test_area_bound_on_a_small_city_holds_the_engines_plan(tmp_path):
    """On a synthetic city planned as ``gridplan partition`` plans it, the bound is at least the
    engine's share and at most 1, counts every undersize grid as forced, and no piece's exact split
    with the engine's number of grids has fewer grids outside the band than the piece forces."""
    import geo
    from geo.synth import SynthParams, synth_city, write_city
    from partitioning.area import plan_area
    from partitioning.settings import PlanSettings

    pytest.importorskip("ortools")
    path = tmp_path / "city.gpkg"
    write_city(synth_city(4000, seed=11, params=SynthParams(block_size=(260.0, 230.0)), household_points=False),
               path)
    inputs = geo.load_buildings(path, layer="buildings", id_field="building_id", households_field="households")
    area = plan_area(inputs.buildings, settings=PlanSettings(),
                     barriers=geo.load_barriers(path, inputs.crs, layer="roads"),
                     boundaries=geo.load_boundaries(path, inputs.crs, layer="communities"))
    normal = area.figures[~area.figures["oversize"].to_numpy(dtype=bool)]
    within = int(normal["households"].between(LO, HI).sum())
    pieces: list = []
    res = area_bound(area.graph, area.assignment, target=50, tolerance=0.2, n_normal=len(normal), time_limit=4,
                     pieces=pieces)
    assert within / len(normal) <= res["bound"] <= 1.0
    assert within <= res["in_band_max"] <= len(normal) - res["forced"]
    assert res["forced"] >= int(normal["undersize"].sum()) == res["undersize"]
    assert sum(p["forced"] for p in pieces) == res["forced"]
    out = [p for p in pieces if p["out"]]
    assert out and sum(p["out"] for p in out) == len(normal) - within  # every grid outside is in a record
    same = [p for p in out if p["same_k"] is not None]
    assert same  # the engine left grids outside the band on listable coarse pieces of this city
    assert all(p["forced"] <= p["same_k"] for p in same)


def test_partitions_enumerates_bell_numbers():
    """The brute force sees every split: Bell numbers 1, 2, 5, 15, 52, 203, 877."""
    assert [sum(1 for _ in _partitions(list(range(n)))) for n in range(1, 8)] == [1, 2, 5, 15, 52, 203, 877]
