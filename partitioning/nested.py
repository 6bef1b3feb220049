"""Two nested layouts redrawn together where the finer one is out of balance (issue 14, item 5).

The emergency layout splits each normal grid on its own (:func:`partitioning.hierarchy.emergency_layout`):
a normal grid of 50 households in five lumpy buildings often has no split into two grids of 20–30, so
on Suzhou only ~75% of emergency grids are within ±20% against ~94% for a flat run at 25. Grouping a
flat run at 25 into grids of 50 instead (bottom-up) loses ~5 points on the normal grids (a fine grid
whose neighbours are all taken has no partner). :func:`redraw_nested` keeps the top-down layouts and
redraws them *locally*, both levels at once, where the finer one fails:

1. For every parent (normal grid) holding a child (emergency grid) outside the band, take the
   *region* of that parent and the parents adjacent to it (never an ``oversize`` parent, never across
   a unit of ``within``); in the second round, the parents up to two steps away.
2. Redraw the region bottom-up: the engine splits its buildings into children (as many as it chooses
   at the children's target; as many as the region's parents × the ratio of the targets; as many as
   the region holds now), then groups the children into the region's number of parents by the engine
   run on the children's adjacency graph (:func:`quotient_graph`). Every parent is a union of whole
   children: nesting holds by construction.
   A stuck building (:func:`partitioning.nested_moves.stuck_buildings`: no connected group holding it
   is within the children's band) is set apart, the engine splits the rest, then it joins an adjacent
   child outside the band (or stays a child of its own).
3. Keep the redraw only if the region has **no fewer parents within the band, and fewer children
   outside the band or as many and more within it** than before (parents first: the normal layout is
   never made worse); among the redraws that pass, the most parents within the band, then the fewest
   children outside, then the most within. Two rounds (regions of one,
   then two steps); a region redrawn in vain is tried again only once it has changed.
4. Last, single buildings are moved (or swapped, or moved in chains of two) between adjacent children
   where that puts more children within the band and no parent out of it
   (:func:`partitioning.nested_moves.move_buildings`).

The same applies to the finest level of a plan with levels (:func:`nested_levels`: the parents are
the units of the level above the grids). See ``docs/hierarchy.md`` ("Redrawing nested layouts").

The same seed gives the same layouts: regions are visited in sorted order and every engine run
takes the seed.
"""

from __future__ import annotations

import logging

import networkx as nx
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from geo.errors import InfeasibleError
from partitioning import engine
from partitioning.graph import crossing_cost, subgraph
from partitioning.hierarchy import count_status, emergency_layout
from partitioning.nested_moves import move_buildings, stuck_buildings

__all__ = ["quotient_graph", "redraw_nested", "nested_emergency", "nested_levels"]

logger = logging.getLogger(__name__)

_ROUNDS = 2


def quotient_graph(graph: nx.Graph, groups: pd.Series) -> nx.Graph:
    """The adjacency graph of groups of buildings, for the engine.

    Nodes are the groups (sorted) with ``households`` (summed) and ``x``, ``y`` (the household-weighted
    centre, a building of no households weighing half a household, as in the engine); an edge joins
    two groups whose buildings share an edge, with the cheapest ``crosses`` among those edges. The
    graph's attributes (``gap``) are kept.

    Examples
    --------
    >>> import networkx as nx, pandas as pd
    >>> g = nx.path_graph(["a", "b", "c"])
    >>> for k, v in enumerate(g.nodes):
    ...     g.nodes[v].update(households=10, x=10.0 * k, y=0.0)
    >>> q = quotient_graph(g, pd.Series({"a": "A", "b": "A", "c": "C"}))
    >>> dict(q.nodes(data="households")), list(q.edges)
    ({'A': 20, 'C': 10}, [('A', 'C')])
    """
    ids = list(graph.nodes)
    label = groups.reindex(ids).astype(str).to_numpy()
    h = np.array([int(graph.nodes[v]["households"]) for v in ids], dtype=np.int64)
    xy = np.array([(float(graph.nodes[v]["x"]), float(graph.nodes[v]["y"])) for v in ids]).reshape(-1, 2)
    w = np.maximum(h, 0.5)
    names, code = np.unique(label, return_inverse=True)
    sh = np.bincount(code, weights=h, minlength=len(names)).astype(np.int64)
    sw = np.bincount(code, weights=w, minlength=len(names))
    sx = np.bincount(code, weights=w * xy[:, 0], minlength=len(names)) / sw
    sy = np.bincount(code, weights=w * xy[:, 1], minlength=len(names)) / sw
    q = nx.Graph(**graph.graph)
    for k, name in enumerate(names):
        q.add_node(str(name), households=int(sh[k]), x=float(sx[k]), y=float(sy[k]))
    index = {v: k for k, v in enumerate(ids)}
    for u, v, crosses in graph.edges(data="crosses", default="none"):
        a, b = str(label[index[u]]), str(label[index[v]])
        if a == b:
            continue
        if not q.has_edge(a, b) or crossing_cost(crosses) < crossing_cost(q.edges[a, b]["crosses"]):
            q.add_edge(a, b, crosses=crosses)
    return q


def _within(h: pd.Series, target: float, tolerance: float) -> int:
    return int(((h >= target * (1 - tolerance)) & (h <= target * (1 + tolerance))).sum())


def _sums(hh: pd.Series, children: pd.Series, hi: float) -> tuple[pd.Series, pd.Series]:
    """(households of each child, whether it is one building with households above ``hi``: oversize,
    counted as neither within nor outside the band, as in the metrics)."""
    h = hh.groupby(children).sum()
    return h, (h > hi) & ((hh > 0).groupby(children).sum() == 1)


def _children(hh: pd.Series, children: pd.Series, target: float, tolerance: float) -> tuple[int, int]:
    """(children outside the band, negated; children within it); an oversize child counts as neither.
    Fewer outside comes first: at a share of ~95%, one more child outside costs as much as ~19 more
    within."""
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    h, oversize = _sums(hh, children, hi)
    inside = (h >= lo) & (h <= hi)
    return -int((~inside & ~oversize).sum()), int(inside.sum())


def _region(graph: nx.Graph, parent: pd.Series, pid: str, blocked: set, within: pd.Series | None,
            hops: int = 1) -> list[str]:
    """``pid`` and the parents up to ``hops`` steps from it, not blocked, in the same unit of ``within``."""
    members = parent.index[parent.to_numpy() == pid]
    near = {pid}
    for _ in range(hops):
        for v in parent.index[parent.isin(near).to_numpy()]:
            for w in graph.neighbors(v):
                p = parent[w]
                if p not in blocked and (within is None or within[w] == within[members[0]]):
                    near.add(p)
    return sorted(near)


def _join_stuck(sub: nx.Graph, hh: pd.Series, children: pd.Series, alone: pd.Series, target: float,
                tolerance: float) -> pd.Series:
    """Each stuck child joined to an adjacent child outside the band (the smallest; never one building above
    the band), if any: it is outside whatever it holds, so one child outside instead of two (a child of
    its own where every neighbour is within the band)."""
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    children = children.copy()
    for name in sorted(pd.unique(alone.to_numpy())):
        mine = children.index[children.to_numpy() == name]
        h, oversize = _sums(hh, children, hi)
        near = {children[w] for v in mine for w in sub.neighbors(v)} - {name}
        # not into one building above the band (oversize, counted as neither): it would be counted outside
        out = sorted((int(h[c]), c) for c in near if h[c] < lo or (h[c] > hi and not oversize[c]))
        if out:
            children[mine] = out[0][1]
    return children


def _redraw(sub: nx.Graph, hh: pd.Series, k: int, counts: list, old: tuple, stuck: dict, *,
            child_target, parent_target, tolerance, seed):
    """Best bottom-up redraw of one region that beats ``old`` (parents within the band, :func:`_children`):
    ``(figures, children, parents)`` or ``None``. ``counts``: numbers of children to try (``None``: the
    engine's choice at ``child_target``). ``stuck``: the region's buildings that no child within the band
    can hold, by atom (:func:`partitioning.nested_moves.stuck_buildings`): the engine splits the rest
    (no child within the band is lost, and the engine does not spend its repairs on them), then each
    atom joins a child (:func:`_join_stuck`). Stops at a redraw with every parent and every child but
    those holding a stuck building within the band."""
    best = None
    alone = pd.Series(stuck, dtype=object).map(lambda a: f"stuck {a}")
    rest = subgraph(sub, [v for v in sub.nodes if v not in stuck]) if stuck else sub
    n_alone = alone.nunique()
    for n in counts:
        if n is not None and n - n_alone < 1:
            continue
        try:
            children = engine.partition(rest, target=child_target, n_grids=None if n is None else n - n_alone,
                                        tolerance=tolerance, seed=seed, regional=False).assignment if len(rest) else alone[:0]
            children = _join_stuck(sub, hh, pd.concat([children.astype(str), alone]).reindex(hh.index), alone,
                                   child_target, tolerance)
            figures = _children(hh, children, child_target, tolerance)
            if figures <= (old[1] if best is None or best[0][0] < k else best[0][1]):
                continue  # whatever the grouping, not better than before nor than the best so far
            groups = engine.partition(quotient_graph(sub, children), n_grids=k, tolerance=tolerance,
                                      seed=seed, regional=False).assignment
        except InfeasibleError:
            continue
        parents = children.map(groups)
        key = (_within(hh.groupby(parents).sum(), parent_target, tolerance), figures)
        if key[0] >= old[0] and key[1] > old[1] and (best is None or key > best[0]):
            best = (key, children, parents)
            if key[0] == k and -key[1][0] == (children[list(stuck)].nunique() if stuck else 0):
                break
    return best


def redraw_nested(graph: nx.Graph, parent: pd.Series, child: pd.Series, *, parent_target: int, child_target: int,
                  tolerance: float, seed: int, blocked=(), within: pd.Series | None = None,
                  progress: bool = False) -> tuple[pd.Series, pd.Series, dict]:
    """Redraw two nested layouts locally where the children are out of balance (see the module).

    Parameters
    ----------
    graph : networkx.Graph
        The plan's contiguity graph.
    parent, child : pandas.Series
        The coarse (normal grids) and fine (emergency grids) layout by ``building_id``; every child
        lies in one parent.
    parent_target, child_target : int
        Households per parent and per child.
    tolerance, seed
        As for :func:`partitioning.engine.partition`.
    blocked : iterable of str
        Parents never redrawn (``oversize`` grids: a tower is its own grid).
    within : pandas.Series, optional
        A unit of every building that no parent may cross (the level above the parents).

    Returns
    -------
    parent, child : pandas.Series
        The layouts after the redraws. A redrawn region's parents take the ids of the parents they
        replace (as many); its children are named ``<parent id>/r<engine id>`` (renumber them afterwards).
    figures : dict
        ``regions_redrawn``, ``regions_tried``, the children within the band before and after, and of the
        last pass of :func:`partitioning.nested_moves.move_buildings` its ``moves`` and the ids it changed
        (``moved_parents``, ``moved_children``).
    """
    ids = pd.Index(list(graph.nodes), name="building_id")
    parent = parent.reindex(ids).astype(str).copy()
    child = child.reindex(ids).astype(str).copy()
    hh = pd.Series(dict(graph.nodes(data="households"))).reindex(ids).astype(np.int64)
    blocked = {str(b) for b in blocked}
    before = _within(hh.groupby(child).sum(), child_target, tolerance)
    stuck = stuck_buildings(graph, child_target * (1 - tolerance), child_target * (1 + tolerance))
    tried = redrawn = 0
    failed: set = set()  # regions redrawn in vain: tried again only once they changed
    for rnd in range(_ROUNDS):
        ch = hh.groupby(child).sum()
        bad = set(ch.index[((ch < child_target * (1 - tolerance)) | (ch > child_target * (1 + tolerance)))])
        todo = sorted(set(parent[child.isin(bad)]) - blocked)
        done = 0
        for pid in tqdm(todo, desc=f"redraw {rnd + 1}", unit="grid", disable=not progress):
            members = parent.index[parent.to_numpy() == pid]
            if not len(members) or child[members].isin(bad).sum() == 0:
                continue  # redrawn already, or its children fixed by a neighbour's redraw
            region = _region(graph, parent, pid, blocked, within, hops=rnd + 1)
            nodes = parent.index[parent.isin(region).to_numpy()]
            k = len(region)
            key = (tuple(region), frozenset(nodes))
            if key in failed:
                continue
            old = (_within(hh[nodes].groupby(parent[nodes]).sum(), parent_target, tolerance),
                   _children(hh[nodes], child[nodes], child_target, tolerance))
            counts = [None, *sorted({max(k, round(k * parent_target / child_target)), int(child[nodes].nunique())})]
            tried += 1
            best = _redraw(subgraph(graph, nodes), hh[nodes], k, counts, old, {v: stuck[v] for v in nodes if v in stuck},
                           child_target=child_target, parent_target=parent_target, tolerance=tolerance, seed=seed)
            if best is None:
                failed.add(key)
                continue
            _, new_child, new_parent = best
            names = dict(zip(sorted(pd.unique(new_parent.to_numpy())), region))
            parent[nodes] = new_parent[nodes].map(names).to_numpy()
            child[nodes] = (parent[nodes] + "/r" + new_child[nodes].astype(str)).to_numpy()
            done += 1
        redrawn += done
        if not done:
            break
    parent, child, moved = move_buildings(graph, parent, child, parent_target=parent_target,
                                          child_target=child_target, tolerance=tolerance, blocked=blocked,
                                          within=within)
    after = _within(hh.groupby(child).sum(), child_target, tolerance)
    logger.info("nested layouts: %d of %d region(s) redrawn; children within ±%.0f%%: %d → %d",
                redrawn, tried, tolerance * 100, before, after)
    return parent, child, {"regions_redrawn": redrawn, "regions_tried": tried, "children_within_before": before,
                           "children_within_after": after, "moves": moved["moves"],
                           "moved_parents": moved["changed_parents"], "moved_children": moved["changed_children"]}


def _status(old: pd.Series, h: pd.Series, n: pd.Series, target: float, tolerance: float) -> pd.Series:
    """``status`` of every unit: kept where the unit is unchanged (in ``old``), else from its households
    ``h`` and its buildings holding households ``n`` (:func:`partitioning.hierarchy.count_status`)."""
    fresh = pd.Series(count_status(h.to_numpy(), n.reindex(h.index).to_numpy(), target, tolerance), index=h.index)
    return old.reindex(h.index).fillna(fresh).astype(str)


def nested_emergency(graph: nx.Graph, assignment: pd.Series, status: pd.Series, *, target: int,
                     emergency_target: int, tolerance: float, seed: int, within: pd.Series | None = None,
                     progress: bool = False) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame]:
    """The emergency layout, with both layouts redrawn locally where it is out of balance.

    Each normal grid is split on its own (:func:`partitioning.hierarchy.emergency_layout`), then
    :func:`redraw_nested` redraws regions of adjacent normal grids bottom-up wherever that puts more
    emergency grids within the band without putting fewer normal grids in it; ``oversize`` normal
    grids (towers) are never redrawn, and no normal grid crosses a unit of ``within``.

    Parameters
    ----------
    graph : networkx.Graph
        The plan's contiguity graph.
    assignment, status : pandas.Series
        The normal grid of every building, and the engine's ``status`` of every normal grid.
    target, emergency_target : int
        Households per normal grid and per emergency grid.
    tolerance, seed
        As for :func:`partitioning.engine.partition`.
    within : pandas.Series, optional
        The unit (lowest upper level) of every building, for a plan with levels.

    Returns
    -------
    assignment, status : pandas.Series
        The normal grids (the same ids; a redrawn grid keeps the id of one it replaces) and their status.
    emergency : pandas.Series
        Emergency grid id (``E0001`` …, numbered by normal grid then in reading order) by ``building_id``.
    grids : pandas.DataFrame
        Indexed by emergency grid id: ``parent_id``, ``households``, ``n_buildings``, ``status``.
    """
    emergency, info = emergency_layout(graph, assignment, target=emergency_target, tolerance=tolerance, seed=seed,
                                       progress=progress)
    return _nested(graph, assignment, emergency, status, info, parent_target=target, child_target=emergency_target,
                   tolerance=tolerance, seed=seed, within=within, id_format="E{:04d}", progress=progress)


def nested_levels(graph: nx.Graph, parent: pd.Series, grids: pd.Series, status: pd.Series, info: pd.DataFrame, *,
                  parent_target: int, target: int, tolerance: float, seed: int, within: pd.Series | None = None,
                  progress: bool = False) -> tuple[pd.Series, pd.Series, pd.Series, pd.DataFrame]:
    """The finest level of a plan with levels (the grids), redrawn with the level above it.

    As :func:`nested_emergency`, with the units of the lowest generated level (of ``parent_target``
    households, their engine ``status``) as the parents and the grids (``info``: the grids' frame of
    :func:`partitioning.hierarchy.partition_within`) as the children; ``within`` is the level above
    the parents. Returns the parents, their status, the grids (``G0001`` …) and the grids' frame.
    """
    return _nested(graph, parent, grids, status, info, parent_target=parent_target, child_target=target,
                   tolerance=tolerance, seed=seed, within=within, id_format="G{:04d}", progress=progress)


def _nested(graph, parent, child, status, info, *, parent_target, child_target, tolerance, seed, within, id_format,
            progress):
    """Redraw (:func:`redraw_nested`), then the parents' status, the children renumbered and their frame."""
    new_parent, new_child, figures = redraw_nested(graph, parent, child, parent_target=parent_target,
                                                   child_target=child_target, tolerance=tolerance, seed=seed,
                                                   blocked=status.index[status == "oversize"], within=within,
                                                   progress=progress)
    hh = pd.Series(dict(graph.nodes(data="households"))).reindex(new_child.index)
    grouped = hh.groupby(new_parent)
    redrawn = {*new_parent[new_child.str.contains("/r", regex=False)].unique(), *figures["moved_parents"]}
    occupied = (hh > 0).groupby(new_parent).sum()
    status = _status(status[~status.index.isin(list(redrawn))], grouped.sum(), occupied, parent_target, tolerance)
    order = (pd.DataFrame({"parent": new_parent, "child": new_child}).drop_duplicates("child")
             .sort_values("parent", kind="stable"))
    names = dict(zip(order["child"], (id_format.format(k + 1) for k in range(len(order)))))
    children = new_child.map(names).rename("unit_id")
    grouped = hh.groupby(children)
    frame = pd.DataFrame({"parent_id": new_parent.groupby(children).first(), "households": grouped.sum(),
                          "n_buildings": grouped.size()})
    kept = info["status"][info.index.isin(list(set(names) - figures["moved_children"]))].rename(index=names)
    frame["status"] = _status(kept, frame["households"], (hh > 0).groupby(children).sum(), child_target, tolerance)
    frame.index.name = "unit_id"
    return new_parent.rename(parent.name), status, children, frame
