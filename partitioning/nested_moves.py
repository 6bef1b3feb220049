"""Building moves between nested layouts: the last pass of the nested redraws (issue 14, item 5).

After the region redraws (:func:`partitioning.nested.redraw_nested`) most children (emergency grids)
still outside the band are of two kinds (Suzhou, docs/hierarchy.md): the rest of a normal grid beside
a building above the children's band (50 = 31 + **19**), and a lumpy split (41 = **18** + 23). Both
are fixed by moving one building (or one group of overlapping buildings, never split) to the
adjacent child, often in the adjacent parent: the engine on a region finds such a move only by chance.

:func:`move_buildings` moves buildings one at a time, each move to an adjacent child across no
barrier (or swaps two; once neither finds anything, chains of two moves: a building to the adjacent
child with one building out of that child to a third, or into the first from a third), and keeps a
move only if it makes the layouts strictly better in this order:

1. no more parents outside the band (``parent_target`` ± ``tolerance``; the normal layout first);
2. fewer children outside the band (a child that is one building above the band is ``oversize`` and
   counts as neither, as in :func:`partitioning.metrics.partition_metrics`);
3. fewer households outside the bands, children's and parents' added.

Every child stays connected and inside one parent, every parent connected and inside one unit of
``within``; ``blocked`` parents (towers) are never touched; no parent is emptied. Moves are tried in
sorted order of the buildings: the same layouts give the same result. Each move lowers the ordered
figures, so the pass ends; it is cheap (no engine run).
"""

from __future__ import annotations

import logging
from collections import defaultdict

import networkx as nx
import pandas as pd

from partitioning.graph import crossing_cost

__all__ = ["move_buildings", "stuck_buildings"]

logger = logging.getLogger(__name__)

_MAX_SWEEPS = 20
_MAX_SETS = 400  # connected sets looked at per building before it is taken as not stuck


def _atoms(graph: nx.Graph, ids: list) -> dict:
    """Atom (the smallest building id) of every building: buildings joined by ``overlap`` edges are one."""
    linked = nx.Graph()
    linked.add_nodes_from(ids)
    linked.add_edges_from((u, v) for u, v, o in graph.edges(data="overlap") if o)
    return {v: min(comp, key=str) for comp in nx.connected_components(linked) for v in comp}


def stuck_buildings(graph: nx.Graph, lo: float, hi: float) -> dict:
    """Buildings with households that no connected group of buildings holding them can put in ``[lo, hi]``,
    each with its atom (the smallest id of its buildings joined by ``overlap`` edges: they stay together).

    A building of 19 households whose neighbours hold 20, 31 and 42 is in a unit of 19 or of at least
    39 whatever the layout: at ``[20, 30]`` it is stuck outside the band. Buildings joined by
    ``overlap`` edges count as one; every edge of ``graph`` may be crossed. A building whose
    connected groups up to ``hi`` are too many to look at (``_MAX_SETS``) is taken as not stuck.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.path_graph(["a", "b", "c"])
    >>> nx.set_node_attributes(g, {"a": 19, "b": 20, "c": 5}, "households")
    >>> stuck_buildings(g, 20, 30)
    {'a': 'a'}
    """
    ids = list(graph.nodes)
    atom_of = _atoms(graph, ids)
    h: dict = defaultdict(int)
    for v in ids:
        h[atom_of[v]] += int(graph.nodes[v]["households"])
    adj: dict = defaultdict(set)
    for u, v in graph.edges:
        a, b = atom_of[u], atom_of[v]
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
    stuck = set()
    for a in sorted((x for x in h if 0 < h[x] < lo), key=str):
        seen = {frozenset([a])}
        stack = [(frozenset([a]), h[a])]
        fits = False
        while stack and not fits and len(seen) < _MAX_SETS:
            group, total = stack.pop()
            for b in sorted(set().union(*(adj[x] for x in group)) - group, key=str):
                grown, t = group | {b}, total + h[b]
                if t > hi or grown in seen:
                    continue
                if t >= lo:
                    fits = True
                    break
                seen.add(grown)
                stack.append((grown, t))
        if not fits and len(seen) < _MAX_SETS:
            stuck.add(a)
    return {v: atom_of[v] for v in ids if atom_of[v] in stuck}


def _connected(nodes: set, adj: dict) -> bool:
    if not nodes:
        return True
    start = next(iter(nodes))
    seen, stack = {start}, [start]
    while stack:
        for w in adj[stack.pop()]:
            if w in nodes and w not in seen:
                seen.add(w)
                stack.append(w)
    return len(seen) == len(nodes)


class _Band:
    def __init__(self, target: float, tolerance: float):
        self.lo, self.hi = target * (1 - tolerance), target * (1 + tolerance)

    def figures(self, h: int, heavy: int, size: int) -> tuple[int, float]:
        """(outside the band, households outside) of a unit of ``h`` households, ``heavy`` atoms holding
        households, ``size`` atoms; an empty unit or one atom above the band counts as neither."""
        if size == 0 or (heavy == 1 and h > self.hi):
            return 0, 0.0
        out = max(0.0, self.lo - h, h - self.hi)
        return int(out > 0), out


def move_buildings(graph: nx.Graph, parent: pd.Series, child: pd.Series, *, parent_target: int, child_target: int,
                   tolerance: float, blocked=(), within: pd.Series | None = None) -> tuple[pd.Series, pd.Series, dict]:
    """Move single buildings between adjacent children where that puts more children in their band.

    Parameters and the order of the figures: see the module. ``parent`` and ``child`` are by
    ``building_id``, every child inside one parent.

    Returns
    -------
    parent, child : pandas.Series
        The layouts after the moves (the same ids; a child emptied by its moves disappears).
    figures : dict
        ``moves``; ``changed_parents`` and ``changed_children`` (sets of ids whose buildings changed).
    """
    ids = list(graph.nodes)
    parent = parent.reindex(ids).astype(str).copy()
    child = child.reindex(ids).astype(str).copy()
    atom_of = _atoms(graph, ids)
    members: dict = defaultdict(list)
    for v in ids:
        members[atom_of[v]].append(v)
    h = {a: sum(int(graph.nodes[v]["households"]) for v in vs) for a, vs in members.items()}
    ch_of = {a: child[a] for a in members}
    par_of = {c: p for c, p in zip(child.to_numpy(), parent.to_numpy())}
    unit = None if within is None else {a: within[a] for a in members}
    adj: dict = defaultdict(set)  # any edge: connectivity
    step: dict = defaultdict(set)  # edges across no barrier: moves
    for u, v, crosses in graph.edges(data="crosses", default="none"):
        a, b = atom_of[u], atom_of[v]
        if a != b:
            adj[a].add(b)
            adj[b].add(a)
            if crossing_cost(crosses) == 0:
                step[a].add(b)
                step[b].add(a)
    atoms_in: dict = defaultdict(set)
    for a, c in ch_of.items():
        atoms_in[c].add(a)
    children_in: dict = defaultdict(set)
    for c, p in par_of.items():
        children_in[p].add(c)
    blocked = {str(b) for b in blocked}
    cb, pb = _Band(child_target, tolerance), _Band(parent_target, tolerance)

    def figures(band, atoms: set) -> tuple[int, float]:
        return band.figures(sum(h[a] for a in atoms), sum(1 for a in atoms if h[a] > 0), len(atoms))

    def parent_atoms(p, sets) -> set:
        return set().union(*(sets.get(c, atoms_in[c]) for c in children_in[p]))

    def evaluate(move: dict):
        """(parents outside, children outside, households outside) after ``move`` (atom → child) minus
        now; ``None`` if the move breaks a rule (see the module)."""
        after = {c: set(atoms_in[c]) for c in {ch_of[a] for a in move} | set(move.values())}
        for a in move:
            after[ch_of[a]].discard(a)
        for a, c in move.items():
            after[c].add(a)
        parents = {par_of[c] for c in after}
        if parents & blocked or (unit is not None and len({unit[a] for c in after for a in after[c]}) > 1):
            return None
        d = [0, 0, 0.0]
        for c, atoms in after.items():
            (o0, d0), (o1, d1) = figures(cb, atoms_in[c]), figures(cb, atoms)
            d[1] += o1 - o0
            d[2] += d1 - d0
        new_parent = {}
        if len(parents) > 1:
            for p in parents:
                new_parent[p] = parent_atoms(p, after)
                (o0, d0), (o1, d1) = figures(pb, parent_atoms(p, {})), figures(pb, new_parent[p])
                d[0] += o1 - o0
                d[2] += d1 - d0
        key = (d[0], d[1], round(d[2], 9))
        if d[0] > 0 or key >= (0, 0, 0):
            return None
        if not all(_connected(atoms, adj) for atoms in after.values()):
            return None
        if not all(atoms and _connected(atoms, adj) for atoms in new_parent.values()):
            return None
        return key

    def outside(c) -> bool:
        return figures(cb, atoms_in[c])[0] > 0 or figures(pb, parent_atoms(par_of[c], {}))[0] > 0

    def options(a, bad, chains):
        """Moves of ``a`` to an adjacent child, then swaps of ``a`` with an atom of that child."""
        c1 = ch_of[a]
        near = sorted({ch_of[b] for b in step[a]} - {c1})
        for c2 in near:
            if c1 in bad or c2 in bad:
                yield {a: c2}
        for c2 in near:
            if c1 in bad or c2 in bad:
                for b in sorted(x for x in atoms_in[c2] if step[x] & (atoms_in[c1] - {a})):
                    yield {a: c2, b: c1}
        if not chains:
            return
        for c2 in near:  # chains: a to c2, then one atom out of c2 or into c1 from a third child
            for b in sorted((x for x in atoms_in[c2] if x != a), key=str):
                for c3 in sorted({ch_of[y] for y in step[b]} - {c1, c2}):
                    if bad & {c1, c2, c3}:
                        yield {a: c2, b: c3}
            for b in sorted({x for y in atoms_in[c1] - {a} for x in step[y]}, key=str):
                c3 = ch_of[b]
                if c3 not in (c1, c2) and bad & {c1, c2, c3}:
                    yield {a: c2, b: c1}

    moves, changed_c, changed_p = 0, set(), set()
    chains = False  # chains of two moves only once single moves and swaps find nothing (they cost more)
    for _ in range(_MAX_SWEEPS):
        bad = {c for c in atoms_in if atoms_in[c] and outside(c)}
        near_bad = {a for c in bad for a in atoms_in[c]}
        done = 0
        for a in sorted(near_bad | {b for x in near_bad for b in step[x]}, key=str):
            best = None
            for move in options(a, bad, chains):
                key = evaluate(move)
                if key is not None and (best is None or key < best[0]):
                    best = (key, move)
            if best is None:
                continue
            move = best[1]
            touched = {ch_of[x] for x in move} | set(move.values())
            for x in move:
                atoms_in[ch_of[x]].discard(x)
            for x, c in move.items():
                atoms_in[c].add(x)
                ch_of[x] = c
            for c in touched:
                changed_c.add(c)
                changed_p.add(par_of[c])
                if not atoms_in[c]:
                    del atoms_in[c]
                    children_in[par_of[c]].discard(c)
            done += 1
        moves += done
        if not done and chains:
            break
        chains = not done
    child = pd.Series([ch_of[atom_of[v]] for v in ids], index=child.index, name=child.name)
    parent = pd.Series([par_of[c] for c in child.to_numpy()], index=parent.index, name=parent.name)
    logger.info("nested layouts: %d building move(s) between %d child unit(s)", moves, len(changed_c))
    return parent, child, {"moves": moves, "changed_parents": changed_p, "changed_children": changed_c}
