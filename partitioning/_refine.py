"""Local search that moves boundary nodes between neighbouring parts (as in AZP and max-p's tabu phase).

A move takes a node from its part ``A`` to a part ``B`` holding one of its neighbours.  A move is made
only when ``A`` stays connected without the node (checked by a search inside ``A``, parts are small) and
when it improves, lexicographically:

1. the balance excess: households outside the tolerance band ``[t(1 − tol), t(1 + tol)]``, summed over
   parts;
2. a weighted sum of compactness (household-weighted moment of inertia about the part's centre,
   updated in O(1) from running sums), the squared deviation from ``t`` and the barrier edges inside
   parts.

Parts never become empty, so the number of parts is kept.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LocalSearch", "better"]

_EPS = 1e-9


def better(new: tuple, old: tuple) -> bool:
    """Whether the cost ``new`` beats ``old``: compared item by item, the last one relatively."""
    for a, b in zip(new[:-1], old[:-1]):
        if a < b - _EPS:
            return True
        if a > b + _EPS:
            return False
    return new[-1] < old[-1] - _EPS * max(1.0, abs(old[-1]))


class LocalSearch:
    """Move-based refinement of one connected group's partition.

    Parameters
    ----------
    adj : list of list of tuple(int, float)
        For each node, its neighbours and the crossing cost of the edge (0 when no barrier is crossed).
    xy : numpy.ndarray
        Node coordinates (metres), shape ``(n, 2)``.
    households : numpy.ndarray
        Households of each node.
    labels : numpy.ndarray
        Initial part of each node (``0 .. k-1``), each part connected.
    target, tolerance : float
        The band is ``target × (1 ± tolerance)``.
    balance_weight, crossing_weight : float
        Weights of the squared deviation (per household²) and of the crossing cost, in units of the
        moment of inertia (household·m²).
    """

    def __init__(self, adj, xy, households, labels, *, target, tolerance, balance_weight, crossing_weight):
        self.adj = adj
        self.x = xy[:, 0].tolist()
        self.y = xy[:, 1].tolist()
        self.h = [int(v) for v in households]
        # nodes without households still weigh a little, so that they stay near their part
        self.w = [max(float(v), 0.5) for v in households]
        self.lab = [int(v) for v in labels]
        self.t = float(target)
        self.lo = target * (1 - tolerance)
        self.hi = target * (1 + tolerance)
        self.beta = balance_weight
        self.lam = crossing_weight
        k = max(self.lab) + 1
        self.members = [set() for _ in range(k)]
        self.H = [0] * k
        self.W = [0.0] * k
        self.Sx = [0.0] * k
        self.Sy = [0.0] * k
        self.Sq = [0.0] * k
        for v, g in enumerate(self.lab):
            self._add(v, g)

    def _add(self, v, g, sign=1):
        w = self.w[v]
        if sign > 0:
            self.members[g].add(v)
        else:
            self.members[g].discard(v)
        self.H[g] += sign * self.h[v]
        self.W[g] += sign * w
        self.Sx[g] += sign * w * self.x[v]
        self.Sy[g] += sign * w * self.y[v]
        self.Sq[g] += sign * w * (self.x[v] ** 2 + self.y[v] ** 2)

    def _excess(self, hh):
        return max(0.0, self.lo - hh, hh - self.hi)

    @staticmethod
    def _inertia(W, Sx, Sy, Sq):
        return Sq - (Sx * Sx + Sy * Sy) / W if W > 0 else 0.0

    def _outside(self, hh):
        return 1 if hh < self.lo - _EPS or hh > self.hi + _EPS else 0

    def _delta(self, v, a, b):
        """(Δ excess, Δ parts outside the band, Δ secondary objective) of moving node ``v`` from part
        ``a`` to part ``b``."""
        h = self.h[v]
        Ha, Hb = self.H[a], self.H[b]
        lo, hi = self.lo, self.hi
        d_ex = (max(0.0, lo - Ha + h, Ha - h - hi) + max(0.0, lo - Hb - h, Hb + h - hi)
                - max(0.0, lo - Ha, Ha - hi) - max(0.0, lo - Hb, Hb - hi))
        if d_ex > _EPS:  # worse balance: rejected whatever the rest
            return d_ex, 0, 0.0
        out = self._outside
        d_out = out(Ha - h) + out(Hb + h) - out(Ha) - out(Hb)
        w, x, y = self.w[v], self.x[v], self.y[v]
        q = w * (x * x + y * y)
        ia = self._inertia(self.W[a], self.Sx[a], self.Sy[a], self.Sq[a])
        ib = self._inertia(self.W[b], self.Sx[b], self.Sy[b], self.Sq[b])
        ia2 = self._inertia(self.W[a] - w, self.Sx[a] - w * x, self.Sy[a] - w * y, self.Sq[a] - q)
        ib2 = self._inertia(self.W[b] + w, self.Sx[b] + w * x, self.Sy[b] + w * y, self.Sq[b] + q)
        t = self.t
        d_bal = (Ha - h - t) ** 2 + (Hb + h - t) ** 2 - (Ha - t) ** 2 - (Hb - t) ** 2
        d_cross = 0.0
        lab = self.lab
        for u, c in self.adj[v]:
            if c:
                if lab[u] == b:
                    d_cross += c
                elif lab[u] == a:
                    d_cross -= c
        return d_ex, d_out, (ia2 + ib2 - ia - ib) + self.beta * d_bal + self.lam * d_cross

    def _d_dev(self, v, a, b):
        """Δ Σ|H − t| of moving node ``v`` from part ``a`` to part ``b``."""
        h, t = self.h[v], self.t
        return abs(self.H[a] - h - t) + abs(self.H[b] + h - t) - abs(self.H[a] - t) - abs(self.H[b] - t)

    def _stays_connected(self, v, a):
        """Whether part ``a`` without ``v`` is still connected."""
        lab = self.lab
        inside = [u for u, _ in self.adj[v] if lab[u] == a]
        if len(inside) <= 1:
            return True
        need = set(inside)
        need.discard(inside[0])
        seen = {v, inside[0]}
        stack = [inside[0]]
        while stack:
            u = stack.pop()
            for z, _ in self.adj[u]:
                if z not in seen and lab[z] == a:
                    seen.add(z)
                    need.discard(z)
                    if not need:
                        return True
                    stack.append(z)
        return not need

    def cost(self) -> tuple[int, float, float]:
        """(parts outside the band, balance excess, secondary objective) of the current labels."""
        excess = sum(self._excess(hh) for hh in self.H)
        inertia = sum(self._inertia(*sums) for sums in zip(self.W, self.Sx, self.Sy, self.Sq))
        balance = sum((hh - self.t) ** 2 for hh in self.H)
        lab = self.lab
        crossing = sum(c for v, nbrs in enumerate(self.adj) for u, c in nbrs if c and u > v and lab[u] == lab[v])
        outside = sum(1 for hh in self.H if self._excess(hh) > _EPS)
        return outside, excess, inertia + self.beta * balance + self.lam * crossing

    # --- ejection chains -----------------------------------------------------------------------------

    def _move(self, v, a, b):
        self._add(v, a, -1)
        self._add(v, b, 1)
        self.lab[v] = b

    def _boundary(self, g):
        """(node, neighbouring part) pairs of part ``g``, in a fixed order."""
        lab = self.lab
        return sorted({(v, lab[u]) for v in self.members[g] for u, _ in self.adj[v] if lab[u] != g})

    def _push(self, g, depth, visited, budget):
        """Moves that take load out of the overfull part ``g`` along a chain of parts, leaving every part
        of the chain in the band (``g`` at least closer to it); ``None`` if there is none."""
        for v, b in self._boundary(g):
            if budget[0] <= 0:
                return None
            budget[0] -= 1
            h = self.h[v]
            if b in visited or h == 0 or self.H[g] - h < self.lo or len(self.members[g]) == 1:
                continue
            if not self._stays_connected(v, g):
                continue
            if self.H[b] + h <= self.hi:
                return [(v, g, b)]
            if depth > 1:
                self._move(v, g, b)
                rest = self._push(b, depth - 1, visited | {b}, budget)
                self._move(v, b, g)
                if rest is not None and self.H[b] + h - sum(self.h[w] for w, f, _ in rest if f == b) <= self.hi:
                    return [(v, g, b)] + rest
        return None

    def _pull(self, g, depth, visited, budget):
        """Moves that bring load into the underfull part ``g`` along a chain of parts."""
        lab = self.lab
        sources = sorted({(u, lab[u]) for v in self.members[g] for u, _ in self.adj[v] if lab[u] != g})
        for u, b in sources:
            if budget[0] <= 0:
                return None
            budget[0] -= 1
            h = self.h[u]
            if b in visited or h == 0 or self.H[g] + h > self.hi or len(self.members[b]) == 1:
                continue
            if not self._stays_connected(u, b):
                continue
            if self.H[b] - h >= self.lo:
                return [(u, b, g)]
            if depth > 1:
                self._move(u, b, g)
                rest = self._pull(b, depth - 1, visited | {b}, budget)
                self._move(u, g, b)
                if rest is not None and self.H[b] - h + sum(self.h[w] for w, _, t in rest if t == b) >= self.lo:
                    return [(u, b, g)] + rest
        return None

    def eject_chains(self, *, depth: int = 3, budget: int = 5_000) -> int:
        """Fix parts outside the band by chains of moves through neighbouring parts (ejection chains,
        Glover 1996): an overfull part passes a building to a neighbour, which passes one on, until a
        part with room takes it; an underfull part pulls the other way.  Returns the parts fixed."""
        fixed = 0
        for _ in range(len(self.H)):
            outside = [g for g in range(len(self.H)) if self._excess(self.H[g]) > _EPS]
            progress = False
            for g in sorted(outside, key=lambda g: (-self._excess(self.H[g]), g)):
                if self._excess(self.H[g]) <= _EPS:
                    continue
                before = self._excess(self.H[g])
                search = self._push if self.H[g] > self.hi else self._pull
                chain = search(g, depth, {g}, [budget])
                if chain is None:
                    continue
                for v, a, b in chain:
                    self._move(v, a, b)
                fixed += self._excess(self.H[g]) < before
                progress = True
            if not progress:
                break
        return fixed

    def _deviation_chain(self, g, depth, visited, budget, before):
        """Moves along a chain of parts, from part ``g`` on, that lower Σ|H − t| over the parts they
        touch without adding band excess or a part outside the band; ``before`` holds those parts'
        loads before the chain.  ``None`` if there is none."""
        t = self.t
        for v, b in self._boundary(g):
            if budget[0] <= 0:
                return None
            budget[0] -= 1
            h = self.h[v]
            # each move brings its part nearer the target (a chain passes load down, never back up)
            if b in visited or h == 0 or abs(self.H[g] - h - t) >= abs(self.H[g] - t) - _EPS:
                continue
            if len(self.members[g]) == 1 or not self._stays_connected(v, g):
                continue
            touched = {**before, b: before.get(b, self.H[b])}
            self._move(v, g, b)
            after = [self.H[p] for p in touched]
            gain = sum(abs(x - t) for x in touched.values()) - sum(abs(x - t) for x in after)
            if (gain > _EPS and sum(map(self._excess, after)) <= sum(map(self._excess, touched.values())) + _EPS
                    and sum(map(self._outside, after)) <= sum(map(self._outside, touched.values()))):
                self._move(v, b, g)
                return [(v, g, b)]
            onward = depth > 1 and self.H[b] > t + _EPS  # b, now above the target, passes load on
            rest = self._deviation_chain(b, depth - 1, visited | {b}, budget, touched) if onward else None
            self._move(v, b, g)
            if rest is not None:
                return [(v, g, b)] + rest
        return None

    def deviation_chains(self, *, depth: int = 3, budget: int = 200, max_passes: int = 3) -> int:
        """Lower Σ|H − t| by chains of moves where no single move or swap can: a part above the target
        passes a building to a neighbour, which, now above the target, may pass one on, up to ``depth``
        parts (the ejection chains of :meth:`eject_chains`, for the deviation once in the band).  Each
        move brings its part nearer the target; no band excess or part outside the band is added.
        ``budget`` bounds the moves tried from each part, ``max_passes`` the sweeps over the parts
        (on Suzhou: grids within ±10 % 84.6 → 86.6 %, 0.1 s).  Returns the chains made."""
        made = 0
        for _ in range(max_passes):
            progress = False
            for g in sorted(range(len(self.H)), key=lambda g: (-(self.H[g] - self.t), g)):
                if self.H[g] <= self.t + _EPS:
                    break
                chain = self._deviation_chain(g, depth, {g}, [budget], {g: self.H[g]})
                if chain is None:
                    continue
                for v, a, b in chain:
                    self._move(v, a, b)
                made += 1
                progress = True
            if not progress:
                break
        return made

    def settle(self, rng: np.random.Generator) -> np.ndarray:
        """The engine's last round once the band is as good as it gets: :meth:`tighten`, :meth:`swap`,
        :meth:`deviation_chains`, then the moves of :meth:`run` that restore compactness without
        raising Σ|H − t|; return the labels."""
        self.tighten(rng)
        self.swap()
        self.deviation_chains()
        return self.run(rng, hold_deviation=True)

    def tighten(self, rng: np.random.Generator, *, max_passes: int = 30) -> np.ndarray:
        """Tighter balance once the band is reached: make the moves that keep the balance excess and
        lower the total deviation Σ|H − t| (the best by the secondary objective first), until none is
        left; return the labels.  A move that only trades compactness is left to :meth:`run`."""
        n = len(self.lab)
        lab = self.lab
        for _ in range(max_passes):
            moved = 0
            for v in rng.permutation(n).tolist():
                a = lab[v]
                if self.h[v] == 0 or len(self.members[a]) == 1:
                    continue
                best = None
                for b in sorted({lab[u] for u, _ in self.adj[v]} - {a}):
                    d_dev = self._d_dev(v, a, b)
                    if d_dev > -_EPS:
                        continue
                    d_ex, d_out, d_sec = self._delta(v, a, b)
                    if d_ex > _EPS or (d_ex > -_EPS and d_out > 0):
                        continue
                    key = (round(d_ex, 9), d_out, round(d_dev, 9), d_sec)
                    if best is None or key < best[0]:
                        best = (key, b)
                if best is not None and self._stays_connected(v, a):
                    self._move(v, a, best[1])
                    moved += 1
            if not moved:
                break
        return np.asarray(lab, dtype=np.int64)

    def _connected_after(self, g, out, into):
        """Whether part ``g`` without node ``out`` and with node ``into`` is connected."""
        members = (self.members[g] - {out}) | {into}
        start = into
        seen = {start}
        stack = [start]
        while stack:
            u = stack.pop()
            for z, _ in self.adj[u]:
                if z not in seen and z in members:
                    seen.add(z)
                    stack.append(z)
        return len(seen) == len(members)

    def swap(self, *, max_rounds: int = 10) -> int:
        """Tighter balance by exchanges: a boundary node of part ``A`` and one of a neighbouring part
        ``B`` trade places when that lowers Σ|H − t| without adding band excess and both parts stay
        connected (a single move cannot when both parts are near the target but one node too
        coarse).  Returns the swaps made."""
        lab, t = self.lab, self.t
        made = 0
        for _ in range(max_rounds):
            pairs = sorted({(min(lab[v], lab[u]), max(lab[v], lab[u])) for v in range(len(lab))
                            for u, _ in self.adj[v] if lab[u] != lab[v]})
            changed = False
            for a, b in pairs:
                side_a = sorted({v for v in self.members[a] for u, _ in self.adj[v] if lab[u] == b})
                side_b = sorted({v for v in self.members[b] for u, _ in self.adj[v] if lab[u] == a})
                Ha, Hb = self.H[a], self.H[b]
                before = abs(Ha - t) + abs(Hb - t)
                ex_before = self._excess(Ha) + self._excess(Hb)
                options = []
                for u in side_a:
                    for v in side_b:
                        d = self.h[v] - self.h[u]
                        gain = before - abs(Ha + d - t) - abs(Hb - d - t)
                        if gain > _EPS and self._excess(Ha + d) + self._excess(Hb - d) <= ex_before + _EPS:
                            options.append((-gain, u, v))
                for _, u, v in sorted(options):
                    if self._connected_after(a, u, v) and self._connected_after(b, v, u):
                        self._move(u, a, b)
                        self._move(v, b, a)
                        made += 1
                        changed = True
                        break
            if not changed:
                break
        return made

    def run(self, rng: np.random.Generator, *, max_passes: int = 30, hold_deviation: bool = False) -> np.ndarray:
        """Make improving moves until none is left (or ``max_passes`` sweeps); return the labels.

        With ``hold_deviation`` a move must not raise Σ|H − t| either: compactness is restored after
        :meth:`tighten` and :meth:`swap` only where it costs no balance."""
        n = len(self.lab)
        lab = self.lab
        for _ in range(max_passes):
            moved = 0
            for v in rng.permutation(n).tolist():
                a = lab[v]
                if len(self.members[a]) == 1:
                    continue
                best = None
                for b in sorted({lab[u] for u, _ in self.adj[v]} - {a}):
                    if hold_deviation and self._d_dev(v, a, b) > _EPS:
                        continue
                    d_ex, d_out, d_sec = self._delta(v, a, b)
                    if d_ex < -_EPS or (d_ex <= _EPS and (d_out, d_sec) < (0, -_EPS)):
                        key = (round(d_ex, 9), d_out, d_sec)
                        if best is None or key < best[0]:
                            best = (key, b)
                if best is not None and self._stays_connected(v, a):
                    b = best[1]
                    self._add(v, a, -1)
                    self._add(v, b, 1)
                    lab[v] = b
                    moved += 1
            if not moved:
                break
        return np.asarray(lab, dtype=np.int64)
