"""Towers in the emergency layout: an oversize tower split into sub-grids by unit and floor range.

In normal times a tower is never split: it is one grid (or joins neighbours when small enough), as
every other building (``docs/hierarchy.md``: splitting it causes 管理断层 and multiplies building
leaders). In an emergency the layout splits every emergency grid above the band whose households all
live in one building (a tower, with any sheds of 0 households beside it) into *sub-grids* (:func:`tower_subgrids`), each a contiguous block of the building's
structure (:class:`geo.storeys.Storeys`):

- whole units first: a unit whose households fit the band is one block;
- then contiguous floor ranges within one unit (whole floors: a flat is never split);
- a block spans two or more units only when every one of them is *tiny* (fewer households than the
  band's lower end, so it cannot make a block of its own); such blocks are reported
  (``crosses_units``).

Block counts are chosen by an exact dynamic programme (:func:`split_tower`): for each unit and
number of blocks the best floor ranges, then over units the best combination, maximising the share
of blocks within ``target × (1 ± tolerance)`` (ties: the smallest mean squared deviation from the
target). Sub-grid codes extend the emergency grid's code by two digits (more past 99), numbered
unit by unit, floor by floor. Every household is in exactly one sub-grid: the blocks tile the
building's units × floors, less any unit without households (a ledger that names only unit 5 leaves
units 1–4 empty), which needs no sub-grid.

The plan keeps the sub-grids in its ``subgrids`` table and the split towers' households by unit and
floor in its ``storeys`` table (``docs/plan-format.md``); :func:`check_subgrids` verifies them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.storeys import Storeys, building_storeys, storeys_of
from partitioning.hierarchy import EMERGENCY_COLUMN

__all__ = ["Block", "split_tower", "tower_subgrids", "refresh_subgrids", "subgrid_figures", "check_subgrids",
           "SUBGRID_COLUMNS", "STOREY_COLUMNS"]

logger = logging.getLogger(__name__)

#: Columns of the plan's ``subgrids`` table.
SUBGRID_COLUMNS = ("subgrid_id", "subgrid_code", "emergency_grid_id", "grid_id", "building_id", "unit_from",
                   "unit_to", "floor_from", "floor_to", "households", "crosses_units", "status")
#: Columns of the plan's ``storeys`` table (one row per unit and floor of a split tower).
STOREY_COLUMNS = ("building_id", "unit", "floor", "households", "source")
_WITHIN = 1e12  # one more block within the band outweighs any deviation


@dataclass(frozen=True)
class Block:
    """A contiguous block of a tower: units ``unit_from``–``unit_to`` (whole units when they differ),
    floors ``floor_from``–``floor_to`` (counting from 1), and its households."""

    unit_from: int
    unit_to: int
    floor_from: int
    floor_to: int
    households: int

    @property
    def crosses_units(self) -> bool:
        return self.unit_to > self.unit_from


def _score(h: np.ndarray, target: float, lo: float, hi: float) -> np.ndarray:
    """A block's value: a big bonus when within the band, less its squared deviation."""
    return np.where((h >= lo) & (h <= hi), _WITHIN, 0.0) - (h - target) ** 2


def _floor_splits(floors: np.ndarray, k_max: int, target: float, lo: float, hi: float):
    """Best split of one unit's floors into 1…k_max contiguous ranges: value by k and the cuts."""
    n = len(floors)
    prefix = np.concatenate([[0], np.cumsum(floors)]).astype(float)
    k_max = max(1, min(k_max, n))
    best = np.full((k_max + 1, n + 1), -np.inf)
    arg = np.zeros((k_max + 1, n + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for k in range(1, k_max + 1):
        for j in range(k, n + 1):
            i = np.arange(k - 1, j)
            value = best[k - 1, i] + _score(prefix[j] - prefix[i], target, lo, hi)
            m = int(np.argmax(value))
            best[k, j], arg[k, j] = value[m], i[m]
    cuts = {}
    for k in range(1, k_max + 1):
        if np.isfinite(best[k, n]):
            edges, j = [n], n
            for kk in range(k, 0, -1):
                j = int(arg[kk, j])
                edges.append(j)
            cuts[k] = (float(best[k, n]), edges[::-1])
    return cuts


def split_tower(storeys: Storeys, *, target: float, tolerance: float) -> list[Block]:
    """Split a tower into contiguous blocks of about ``target`` households (see the module's rules).

    Parameters
    ----------
    storeys : geo.storeys.Storeys
        The tower's households by unit and floor.
    target, tolerance : float
        The emergency target and the band ``target × (1 ± tolerance)``.

    Returns
    -------
    list of Block
        In unit then floor order; they tile the units × floors (less units without households), so
        their households add up to the tower's.

    Examples
    --------
    3 units × 18 floors × 2 flats (36 households a unit) at a target of 18: each unit in two blocks
    of 9 floors and 18 households:

    >>> import numpy as np
    >>> from geo.storeys import Storeys
    >>> blocks = split_tower(Storeys(np.full((3, 18), 2), "ledger"), target=18, tolerance=0.2)
    >>> [(b.unit_from, b.floor_from, b.floor_to, b.households) for b in blocks]
    [(1, 1, 9, 18), (1, 10, 18, 18), (2, 1, 9, 18), (2, 10, 18, 18), (3, 1, 9, 18), (3, 10, 18, 18)]
    """
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    m = storeys.households
    units = m.shape[0]
    per_unit = m.sum(axis=1)
    tiny = per_unit < lo
    options = []  # per unit: {k: (value, cuts)}
    for u in range(units):
        # at most w = per_unit // lo blocks can be within the band, and a best split never has two
        # out-of-band blocks side by side (merged, the share could only grow): at most 2w + 1 blocks
        k_max = 2 * int(per_unit[u] // lo) + 1 if lo > 0 else m.shape[1]
        options.append(_floor_splits(m[u], k_max, target, lo, hi))
    # dp over units: state (units done, blocks used) -> (value, back-pointer)
    dp: list[dict] = [dict() for _ in range(units + 1)]
    dp[0][0] = (0.0, None)
    for u in range(1, units + 1):
        if per_unit[u - 1] == 0:  # a unit without households (a ledger naming only unit 5) needs no sub-grid
            for n0, (v0, _) in dp[u - 1].items():
                dp[u][n0] = (v0, ("skip", u - 1, n0, 0))
        for n0, (v0, _) in dp[u - 1].items():  # unit u on its own, in k blocks
            for k, (v, _cuts) in options[u - 1].items():
                key = n0 + k
                if key not in dp[u] or v0 + v > dp[u][key][0]:
                    dp[u][key] = (v0 + v, ("unit", u - 1, n0, k))
        start = u - 1  # a run of two or more tiny units, units start+1 … u, as one block
        while start >= 1 and tiny[start - 1] and tiny[u - 1]:
            start -= 1
            if not tiny[start:u].all():
                break
            h = float(per_unit[start:u].sum())
            v = float(_score(np.array(h), target, lo, hi))
            for n0, (v0, _) in dp[start].items():
                key = n0 + 1
                if key not in dp[u] or v0 + v > dp[u][key][0]:
                    dp[u][key] = (v0 + v, ("run", start, n0, 1))

    def share(item):
        n, (v, _) = item
        within = np.floor((v + _WITHIN / 2) / _WITHIN)  # deviations are far below _WITHIN
        return (within / n, (v - within * _WITHIN) / n)
    n, _ = max(dp[units].items(), key=share)
    blocks, u = [], units
    while u > 0:
        kind, first, n0, k = dp[u][n][1]
        if kind == "skip":
            u, n = first, n0
            continue
        if kind == "run":
            blocks.append(Block(first + 1, u, 1, m.shape[1], int(per_unit[first:u].sum())))
            u, n = first, n0
            continue
        edges = options[first][k][1]
        for a, b in reversed(list(zip(edges[:-1], edges[1:]))):
            blocks.append(Block(first + 1, first + 1, a + 1, b, int(m[first, a:b].sum())))
        u, n = first, n0
    return blocks[::-1]


def tower_subgrids(buildings: pd.DataFrame, emergency: pd.DataFrame, assignment: pd.Series, *, target: float,
                   tolerance: float, cells: pd.DataFrame | None = None,
                   known: dict[str, Storeys] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sub-grids of every tower that is an emergency grid on its own (sheds aside) above the band.

    Parameters
    ----------
    buildings : GeoDataFrame
        The plan's buildings (``households``, ``grid_id``), metric CRS.
    emergency : DataFrame
        The ``grids_emergency`` layer (``grid_code``, ``households``, ``n_buildings``).
    assignment : Series
        The emergency grid of every building.
    target, tolerance : float
        The emergency target and the tolerance.
    cells : DataFrame, optional
        A ledger's households by building, unit and floor (:attr:`geo.load.Inputs.storeys`).
    known : dict, optional
        Storeys already known by building (the plan's ``storeys`` table when redrawing).

    Returns
    -------
    subgrids : DataFrame
        :data:`SUBGRID_COLUMNS`, indexed by ``subgrid_id`` (``S0001`` …), in code order.
    storeys : DataFrame
        :data:`STOREY_COLUMNS` of the towers split.
    """
    hi = target * (1 + tolerance)
    # a tower: an emergency grid above the band whose households all live in one building (sheds and
    # shops of 0 households join a neighbouring grid, so a tower's grid may hold them too)
    housed = assignment[buildings["households"].reindex(assignment.index).fillna(0).to_numpy() > 0]
    per_grid = housed.value_counts()
    towers = emergency[(emergency["households"] > hi)
                       & emergency.index.isin(per_grid.index[per_grid.to_numpy() == 1])]
    members = housed[housed.isin(towers.index)]
    building_of = pd.Series(members.index, index=members.to_numpy())
    todo = buildings.loc[building_of.reindex(towers.index).dropna().to_numpy()]
    known = dict(known or {})
    fresh = building_storeys(todo.loc[[b for b in todo.index if str(b) not in known]], cells=cells)
    structure = {**{str(k): v for k, v in fresh.items()}, **known}
    rows, storey_rows = [], []
    for eid in sorted(towers.index, key=lambda e: str(emergency.at[e, "grid_code"])):
        if eid not in building_of.index:
            continue
        bid = str(building_of[eid])
        s = structure[bid]
        if s.total() != int(buildings.at[bid, "households"]):
            logger.warning("tower %s: its storeys hold %d households, not %d; not split", bid, s.total(),
                           int(buildings.at[bid, "households"]))
            continue
        code = str(emergency.at[eid, "grid_code"])
        blocks = split_tower(s, target=target, tolerance=tolerance)
        width = max(2, len(str(len(blocks))))
        for k, b in enumerate(blocks, start=1):
            within = target * (1 - tolerance) <= b.households <= hi
            rows.append((f"{code}{k:0{width}d}", str(eid), str(buildings.at[bid, "grid_id"]), bid, b.unit_from,
                         b.unit_to, b.floor_from, b.floor_to, b.households, b.crosses_units,
                         "ok" if within else "out_of_tolerance"))
        u, f = np.indices(s.households.shape)
        storey_rows.append(pd.DataFrame({"building_id": bid, "unit": u.ravel() + 1, "floor": f.ravel() + 1,
                                         "households": s.households.ravel(), "source": s.source}))
    subgrids = pd.DataFrame(rows, columns=list(SUBGRID_COLUMNS[1:]))
    subgrids.index = pd.Index([f"S{i:04d}" for i in range(1, len(subgrids) + 1)], name="subgrid_id")
    storeys = (pd.concat(storey_rows, ignore_index=True) if storey_rows
               else pd.DataFrame(columns=list(STOREY_COLUMNS)))
    figures = subgrid_figures(subgrids, target=target, tolerance=tolerance)
    logger.info("emergency: %d tower(s) split into %d sub-grids (%.0f%% within tolerance, %d across units)",
                figures["towers_split"], figures["n_subgrids"], 100 * (figures["share_within_tolerance"] or 0),
                figures["crossing_units"])
    return subgrids, storeys


def refresh_subgrids(layers: dict, buildings: pd.DataFrame, meta: dict, *, tolerance: float) -> dict:
    """The plan's layers with the sub-grids drawn again from its (redrawn) emergency layout, after
    an edit or an update; ``meta['emergency']['subgrids']`` updated in place.

    A tower keeps its storeys (a ledger's units and floors) while its households are unchanged;
    otherwise they are estimated again (:func:`geo.storeys.building_storeys`).
    """
    target = (meta.get("emergency") or {}).get("target")
    if "grids_emergency" not in layers or target is None:
        return layers
    old = layers.get("storeys")
    hh = buildings["households"]
    known = {b: s for b, s in (storeys_of(old) if old is not None and len(old) else {}).items()
             if b in hh.index and s.total() == int(hh[b])}
    sub, storeys = tower_subgrids(buildings, layers["grids_emergency"], buildings[EMERGENCY_COLUMN],
                                  target=float(target), tolerance=tolerance, known=known)
    out = {k: v for k, v in layers.items() if k not in ("subgrids", "storeys")}
    if len(sub):
        out["subgrids"], out["storeys"] = sub, storeys
    meta["emergency"] = {**meta["emergency"], "subgrids": subgrid_figures(sub, target=target, tolerance=tolerance)}
    return out


def subgrid_figures(subgrids: pd.DataFrame, *, target: float, tolerance: float) -> dict:
    """``n_subgrids``, ``towers_split``, ``share_within_tolerance`` (of the sub-grids, ``None`` if none),
    ``crossing_units`` (blocks spanning tiny units), ``households`` and ``target``."""
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    h = subgrids["households"].astype(int)
    return {"n_subgrids": len(subgrids), "towers_split": int(subgrids["building_id"].nunique()),
            "share_within_tolerance": round(float(((h >= lo) & (h <= hi)).mean()), 4) if len(h) else None,
            "crossing_units": int(subgrids["crosses_units"].astype(bool).sum()),
            "households": int(h.sum()), "target": target}


def check_subgrids(plan, *, target: float, tolerance: float) -> tuple[list[str], dict | None]:
    """Violations and figures of a plan's sub-grids (``None`` figures when it has none).

    Each split tower's blocks tile its units × floors (every household in exactly one sub-grid, units
    and floors contiguous), their households add up to the tower's and to its ``storeys`` rows, a
    block spans units only when they are all tiny, codes are unique and extend the emergency grid's
    code, and the emergency and normal grids named are the building's.
    """
    sub = plan.layers.get("subgrids")
    if sub is None or len(sub) == 0:
        return [], None
    table = plan.layers.get("storeys")
    if table is None or len(table) == 0:
        return ["the plan has sub-grids but no 'storeys' table of the towers' households by unit and floor"], None
    problems = []
    structure = storeys_of(table)
    b = plan.buildings
    em = plan.layers.get("grids_emergency")
    codes = sub["subgrid_code"].astype(str)
    if codes.duplicated().any():
        problems.append(f"sub-grid codes repeat: {', '.join(sorted(set(codes[codes.duplicated()]))[:12])}")
    lo = target * (1 - tolerance)
    for bid, g in sub.groupby(sub["building_id"].astype(str)):
        if bid not in b.index:
            problems.append(f"sub-grids of {bid}: no such building")
            continue
        s = structure.get(bid)
        if s is None:
            problems.append(f"tower {bid}: has sub-grids but no rows in the storeys table")
            continue
        if s.total() != int(b.at[bid, "households"]):
            problems.append(f"tower {bid}: its storeys hold {s.total()} households, the building {int(b.at[bid, 'households'])}")
        cover = np.zeros(s.households.shape, dtype=np.int64)
        for r in g.itertuples():
            u0, u1, f0, f1 = int(r.unit_from), int(r.unit_to), int(r.floor_from), int(r.floor_to)
            if not (1 <= u0 <= u1 <= s.units and 1 <= f0 <= f1 <= s.floors):
                problems.append(f"sub-grid {r.subgrid_code}: units {u0}–{u1}, floors {f0}–{f1} lie outside tower "
                                f"{bid} ({s.units} units, {s.floors} floors)")
                continue
            if u1 > u0 and ((f0, f1) != (1, s.floors) or (s.households[u0 - 1:u1].sum(axis=1) >= lo).any()):
                problems.append(f"sub-grid {r.subgrid_code}: spans units {u0}–{u1} of tower {bid}, which only "
                                "whole tiny units may")
            cover[u0 - 1:u1, f0 - 1:f1] += 1
            wanted = "ok" if lo <= int(r.households) <= target * (1 + tolerance) else "out_of_tolerance"
            if str(r.status) != wanted:
                problems.append(f"sub-grid {r.subgrid_code}: status {r.status}, but its {int(r.households)} "
                                f"households make it {wanted}")
            if int(s.households[u0 - 1:u1, f0 - 1:f1].sum()) != int(r.households):
                problems.append(f"sub-grid {r.subgrid_code}: households {int(r.households)} ≠ "
                                f"{int(s.households[u0 - 1:u1, f0 - 1:f1].sum())} on its units and floors")
            if em is not None and r.emergency_grid_id in em.index:
                parent = str(em.at[r.emergency_grid_id, "grid_code"])
                if not str(r.subgrid_code).startswith(parent) or len(str(r.subgrid_code)) <= len(parent):
                    problems.append(f"sub-grid {r.subgrid_code}: its code does not extend its emergency grid's {parent}")
            else:
                problems.append(f"sub-grid {r.subgrid_code}: emergency grid {r.emergency_grid_id} is not in the plan")
            if str(b.at[bid, "grid_id"]) != str(r.grid_id):
                problems.append(f"sub-grid {r.subgrid_code}: grid {r.grid_id} is not tower {bid}'s ({b.at[bid, 'grid_id']})")
        lost = (cover == 0) & (s.households > 0)  # a unit-floor without households may be in none
        if lost.any() or (cover > 1).any():
            problems.append(f"tower {bid}: {int(lost.sum())} unit-floor(s) with households in no sub-grid and "
                            f"{int((cover > 1).sum())} in several")
    return problems, subgrid_figures(sub, target=target, tolerance=tolerance)
