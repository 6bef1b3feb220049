"""The moves of the local search (partitioning._refine.LocalSearch) that tighten the balance once
every grid is in the band: single moves, swaps and chains of moves."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partitioning._refine import LocalSearch
from tests.test_region import _connected, _grow, _lattice

T, TOL = 50, 0.2
WEIGHTS = dict(target=T, tolerance=TOL, balance_weight=1.0, crossing_weight=0.0)


def _deviation(search):
    return sum(abs(x - T) for x in search.H)


def test_a_chain_passes_load_where_no_single_move_or_swap_can():
    """::

        a1(50) a2(4) | b1(4) b2(42) b3(4) | c1(46)      54 | 50 | 46: Σ|h − 50| = 8

    a2 to the middle grid makes it 54 (Σ still 8), b3 to the last grid makes the middle 46 (8);
    swapping a2 and b1 changes nothing. The chain a2 → middle, b3 → last gives 50 | 50 | 50."""
    h = [50, 4, 4, 42, 4, 46]
    adj = [[(u, 0.0) for u in (v - 1, v + 1) if 0 <= u < len(h)] for v in range(len(h))]
    xy = np.array([(10.0 * v, 0.0) for v in range(len(h))])
    search = LocalSearch(adj, xy, h, [0, 0, 1, 1, 1, 2], **WEIGHTS)
    search.tighten(np.random.default_rng(0))
    search.swap()
    assert _deviation(search) == 8
    assert search.deviation_chains() == 1
    assert search.H == [50, 50, 50]
    assert search.lab == [0, 1, 1, 1, 2, 2]


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(3, 6), cols=st.integers(4, 8), seed=st.integers(0, 10_000))
def test_chains_never_add_deviation_excess_or_a_grid_outside_the_band(rows, cols, seed):
    """On fine lattices grown from random seeds: Σ|h − 50| never rises, no band excess and no grid
    outside the band is added, every grid stays connected and holds a building."""
    rng = np.random.default_rng(seed)
    adj, xy = _lattice(rows, cols)
    h = rng.integers(2, 15, size=len(adj))
    k = max(2, round(h.sum() / T))
    labels = _grow(adj, k, rng)
    search = LocalSearch(adj, xy, h, labels, **WEIGHTS)
    before = (_deviation(search), sum(map(search._excess, search.H)), sum(map(search._outside, search.H)))
    search.deviation_chains()
    after = (_deviation(search), sum(map(search._excess, search.H)), sum(map(search._outside, search.H)))
    assert after[0] <= before[0] and after[1] <= before[1] + 1e-9 and after[2] <= before[2]
    new = np.array(search.lab)
    assert len(np.unique(new)) == k and _connected(adj, new)
    assert search.H == np.bincount(new, weights=h, minlength=k).astype(int).tolist()
