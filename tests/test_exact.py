"""The exact re-split of coarse pieces (partitioning._exact), against brute force on small graphs."""

from __future__ import annotations

import itertools
from unittest import mock

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partitioning._exact import connected_sets, exact_split, repair

TARGET, TOLERANCE = 50, 0.2
LO, HI = TARGET * (1 - TOLERANCE), TARGET * (1 + TOLERANCE)


@st.composite
def coarse_pieces(draw):
    """A connected graph of 3–8 coarse buildings (walk-up and tower units of 0–45 households, as in
    the synthetic urban villages and new towns), lattice positions 10 m apart, some barrier edges."""
    n = draw(st.integers(3, 8))
    h = draw(st.lists(st.sampled_from([0, 12, 18, 20, 24, 28, 30, 36, 40, 45]), min_size=n, max_size=n))
    tree = [draw(st.integers(0, v - 1)) for v in range(1, n)]  # a random spanning tree keeps it connected
    edges = {(p, v) for v, p in zip(range(1, n), tree)}
    edges |= {e for e in itertools.combinations(range(n), 2) if draw(st.integers(0, 9)) == 0}
    cost = {e: draw(st.sampled_from([0.0, 0.0, 0.0, 1.0])) for e in sorted(edges)}
    adj: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for (a, b), c in cost.items():
        adj[a].append((b, c))
        adj[b].append((a, c))
    xy = np.array([(10.0 * (v % 3), 10.0 * (v // 3)) for v in range(n)])
    return adj, xy, np.array(h, dtype=np.int64)


def _nx(adj):
    g = nx.Graph()
    g.add_nodes_from(range(len(adj)))
    g.add_edges_from((v, u) for v, nbrs in enumerate(adj) for u, _ in nbrs)
    return g


def _band(labels, h):
    grid_h = np.bincount(labels, weights=h)
    excess = np.maximum(0.0, np.maximum(LO - grid_h, grid_h - HI))
    return int((excess > 1e-9).sum()), round(float(excess.sum()), 9)


def _partitions(n):
    """Every labelling of ``n`` nodes with labels in first-use order (each set partition once)."""
    def rec(prefix, used):
        if len(prefix) == n:
            yield list(prefix)
            return
        for g in range(used + 1):
            yield from rec(prefix + [g], max(used, g + 1))
    yield from rec([], 0)


def _free_band(labels, h):
    """(grids outside, minus the grids within the band, excess): the order over any number of grids."""
    out, excess = _band(labels, h)
    return out, out - int(labels.max()) - 1, excess


def _best_band(adj, h, k, cap):
    """Brute force: the least (grids outside, excess) over splits into ``k`` connected grids of at most
    ``cap`` households each (with ``k=None``, the least :func:`_free_band` over any number of grids);
    None when there is none."""
    g = _nx(adj)
    best = None
    for labels in _partitions(len(adj)):
        if k is not None and max(labels) + 1 != k:
            continue
        lab = np.array(labels)
        if np.bincount(lab, weights=h).max() > cap:
            continue
        if all(nx.is_connected(g.subgraph(np.flatnonzero(lab == q).tolist())) for q in range(max(labels) + 1)):
            band = _band(lab, h) if k is not None else _free_band(lab, h)
            best = band if best is None or band < best else best
    return best


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(piece=coarse_pieces(), cap=st.sampled_from([40, 60, 100]))
def test_connected_sets_are_every_connected_set_once(piece, cap):
    adj, _, h = piece
    g = _nx(adj)
    found = connected_sets(adj, h, cap, limit=10_000)
    assert found is not None
    expected = sorted(sorted(s) for r in range(1, len(adj) + 1) for s in itertools.combinations(range(len(adj)), r)
                      if h[list(s)].sum() <= cap and nx.is_connected(g.subgraph(s)))
    assert sorted(found) == expected  # complete, and each set once


def test_connected_sets_give_up_past_the_limit():
    """A clique of 12 light buildings has 4,095 connected sets: past the limit the region is left to the moves."""
    adj = [[(u, 0.0) for u in range(12) if u != v] for v in range(12)]
    assert connected_sets(adj, np.ones(12), cap=60, limit=1_000) is None
    assert len(connected_sets(adj, np.ones(12), cap=60, limit=5_000)) == 2**12 - 1


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(piece=coarse_pieces(), data=st.data(), search=st.booleans())
def test_exact_split_is_the_best_split(piece, data, search):
    """Connected grids, ``k`` of them, every building once, and no split into ``k`` connected grids of
    candidate size has fewer grids outside the band (or as many and less excess): brute force; by the
    depth-first search and by the integer programme alike.  With ``k=None`` the number of grids is
    free: no split has fewer grids outside, or as many and more within the band, or then less excess."""
    adj, xy, h = piece
    k = data.draw(st.one_of(st.none(), st.integers(1, len(adj))))
    with mock.patch("partitioning._exact._SEARCH_SETS", 10_000 if search else 0):
        labels = exact_split(adj, xy, h, k, target=TARGET, tolerance=TOLERANCE, crossing_weight=250.0)
    best = _best_band(adj, h, k, HI + h.max())
    if labels is None:
        assert best is None
        return
    grids = int(labels.max()) + 1
    assert sorted(set(labels.tolist())) == list(range(grids)) and grids == (k or grids)
    g = _nx(adj)
    assert all(nx.is_connected(g.subgraph(np.flatnonzero(labels == q).tolist())) for q in range(grids))
    assert (_band(labels, h) if k is not None else _free_band(labels, h)) == best


def test_repair_packs_what_single_moves_cannot():
    """::

        a(36) - b(24) - c(36) - d(24)

    Two grids {a, b, c} {d} (96 / 24, both outside the band): no single move mends both, the exact
    split {a, b} {c, d} (60 / 60) does.  Three grids {a} {b, c} {d} (36 / 60 / 24): every split into
    three has two grids outside, so the plan is kept as it was."""
    adj = [[(1, 0.0)], [(0, 0.0), (2, 0.0)], [(1, 0.0), (3, 0.0)], [(2, 0.0)]]
    h = np.array([36, 24, 36, 24])
    xy = np.array([(0.0, 0.0), (10.0, 0.0), (20.0, 0.0), (30.0, 0.0)])
    options = dict(target=TARGET, tolerance=TOLERANCE, crossing_weight=250.0)
    two = repair(adj, xy, h, np.array([0, 0, 0, 1]), **options)
    assert two[0] == two[1] != two[2] == two[3] and _band(two, h) == (0, 0.0)
    three = np.array([0, 1, 1, 2])
    assert repair(adj, xy, h, three, **options).tolist() == three.tolist()


def test_repair_may_choose_the_number_of_grids():
    """Six walk-ups of 30 households in a row (180): the engine's count, 180 / 50 rounded up, is 4,
    and any four grids leave two outside (60 / 60 / 30 / 30); three grids of 60 are all within the
    band.  With ``free_k`` (the engine's own choice of the count) the re-split makes three; asked
    for four (``n_grids``), it keeps four."""
    n = 6
    adj = [[(u, 0.0) for u in (v - 1, v + 1) if 0 <= u < n] for v in range(n)]
    h = np.full(n, 30)
    xy = np.column_stack([10.0 * np.arange(n), np.zeros(n)])
    options = dict(target=TARGET, tolerance=TOLERANCE, crossing_weight=250.0)
    four = np.array([0, 0, 1, 1, 2, 3])
    assert repair(adj, xy, h, four, **options).tolist() == four.tolist()
    three = repair(adj, xy, h, four, free_k=True, **options)
    assert np.bincount(three, weights=h).tolist() == [60, 60, 60]


def test_the_engine_chooses_the_count_of_grids_of_a_coarse_piece():
    """A row of 70 walk-ups alternating 36 and 24 households (2,100): 2,100 / 50 makes 42 grids, of
    which some must be outside the band (70 buildings cannot make 42 grids of 40–60: a 36 or a 24 alone
    is outside); 35 grids of 36 + 24 are all within it, and the engine finds them.  With
    ``n_grids=42`` the count is kept."""
    from partitioning.engine import partition

    g = nx.path_graph([f"w{v:02d}" for v in range(70)])
    for v, node in enumerate(g.nodes):
        g.nodes[node].update(households=36 if v % 2 == 0 else 24, x=20.0 * v, y=0.0)
    nx.set_edge_attributes(g, "none", "crosses")
    nx.set_edge_attributes(g, False, "overlap")
    grids = partition(g, target=50, seed=0).grids
    assert len(grids) == 35 and grids["households"].eq(60).all() and grids["status"].eq("ok").all()
    assert len(partition(g, target=50, n_grids=42, seed=0).grids) == 42


def test_a_long_run_of_buildings_without_households_is_listed_without_recursion():
    """Sheds and garages without households can form runs of thousands of buildings in one piece."""
    n = 3_000
    adj = [[] for _ in range(n)]
    for i in range(n - 1):
        adj[i].append((i + 1, 0.0))
        adj[i + 1].append((i, 0.0))
    assert connected_sets(adj, [30] + [0] * (n - 1), cap=60, limit=10_000) is None  # too many, no RecursionError
    short = [[(1, 0.0)], [(0, 0.0), (2, 0.0)], [(1, 0.0)]]
    assert sorted(connected_sets(short, [30, 0, 0], cap=60)) == [[0], [0, 1], [0, 1, 2], [1], [1, 2], [2]]


def test_repair_never_makes_the_worst_grid_worse():
    """::

        a(4) - b(4) - c(24) - d(30)

    The engine's {a, b, c} {d} (32 / 30) has both grids outside the band; {a, b} {c, d} (8 / 54) has one
    outside, but a grid of 8 households, further from 50 than any grid before: the plan is kept."""
    adj = [[(1, 0.0)], [(0, 0.0), (2, 0.0)], [(1, 0.0), (3, 0.0)], [(2, 0.0)]]
    h = np.array([4, 4, 24, 30])
    xy = np.array([(0.0, 0.0), (10.0, 0.0), (20.0, 0.0), (30.0, 0.0)])
    options = dict(target=TARGET, tolerance=TOLERANCE, crossing_weight=250.0)
    free = exact_split(adj, xy, h, 2, **options)
    assert np.bincount(free, weights=h).tolist() == [8, 54]  # what an unguarded re-split would make
    engine = np.array([0, 0, 0, 1])
    assert repair(adj, xy, h, engine, **options).tolist() == engine.tolist()
