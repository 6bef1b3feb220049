"""What changed between two plans of the same area: buildings moved, grids added, removed or
changed, households per grid before and after.

Grids are compared by ``grid_id`` (``gridplan update`` keeps the ids of the grids it does not
redraw). Two plans made independently (two runs of ``gridplan partition``) number their grids
independently: with ``match=True`` the new grids are first matched to the old ones by the most
shared buildings (an optimal one-to-one matching, Hungarian algorithm), the fair way to count the
buildings a fresh partition moves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
from scipy.optimize import linear_sum_assignment

from geo.names import building_names
from geo.plan import Plan
from partitioning.codes import building_numbers, short_code

__all__ = ["PlanDiff", "diff_plans", "match_grids"]

logger = logging.getLogger(__name__)


def match_grids(old: pd.Series, new: pd.Series) -> dict:
    """Match the grids of two assignments one-to-one so that the most buildings keep their grid.

    Parameters
    ----------
    old, new : pandas.Series
        ``grid_id`` by ``building_id``; only buildings in both count.

    Returns
    -------
    dict
        Old ``grid_id`` of each matched new grid; new grids left over (when there are more new grids
        than old ones) are not in it.

    Examples
    --------
    >>> old = pd.Series({"a": "G1", "b": "G1", "c": "G2"})
    >>> new = pd.Series({"a": "X", "b": "Y", "c": "Y"})
    >>> match_grids(old, new)
    {'X': 'G1', 'Y': 'G2'}
    """
    common = old.index.intersection(new.index)
    table = pd.crosstab(old[common].astype(str), new[common].astype(str))
    if table.empty:
        return {}
    rows, cols = linear_sum_assignment(-table.to_numpy())
    return {table.columns[c]: table.index[r] for r, c in zip(rows, cols)}


@dataclass
class PlanDiff:
    """The differences between an old and a new plan.

    Attributes
    ----------
    moved : pandas.DataFrame
        Buildings in both plans whose grid changed: ``building_id``, ``from_grid``, ``to_grid``,
        ``from_code``, ``to_code``, ``households``, and what people read: ``name`` (name or address
        from the data, :func:`geo.names.building_names`, else ``None``), ``number`` (its number in
        its new grid, :func:`partitioning.codes.building_numbers`), ``from_number`` and ``to_number`` (the
        grids' numbers, :func:`partitioning.codes.short_code`).
    added_buildings, removed_buildings : list of str
        Buildings only in the new / only in the old plan.
    grids : pandas.DataFrame
        One row per grid of either plan (indexed by the old id, or the new id for a new grid):
        ``change`` (``unchanged``, ``changed``: other buildings, ``households``: same buildings, other
        households, ``added``, ``removed``), ``new_id`` (with matching), ``grid_code``,
        ``number`` (the grid's number people read, a removed grid's too), ``households_before``,
        ``households_after``, ``buildings_before``, ``buildings_after``.
    matched : bool
        Whether new grids were matched to old ones by shared buildings.
    """

    moved: pd.DataFrame
    added_buildings: list
    removed_buildings: list
    grids: pd.DataFrame
    matched: bool = False

    def summary(self) -> dict:
        """Counts: buildings moved (and their share of the buildings in both plans), grids by change."""
        counts = self.grids["change"].value_counts()
        common = int(self.grids["buildings_before"].sum()) - len(self.removed_buildings)
        return {
            "buildings_moved": int(len(self.moved)),
            "share_moved": round(len(self.moved) / common, 4) if common else 0.0,
            "buildings_added": len(self.added_buildings),
            "buildings_removed": len(self.removed_buildings),
            **{f"grids_{k}": int(counts.get(k, 0)) for k in ("unchanged", "changed", "households", "added",
                                                             "removed")},
            "matched": self.matched,
        }

    def to_dict(self) -> dict:
        """JSON-serialisable: the summary, every move and every grid that is not unchanged."""
        grids = self.grids[self.grids["change"] != "unchanged"].reset_index()
        return {
            "summary": self.summary(),
            "moved": self.moved.astype(object).where(self.moved.notna(), None).to_dict(orient="records"),
            "added_buildings": self.added_buildings,
            "removed_buildings": self.removed_buildings,
            "grids": grids.astype(object).where(grids.notna(), None).to_dict(orient="records"),
        }

    def lines(self) -> list[str]:
        """A human-readable report: grids by number (code, id), buildings by name where they have one."""
        s = self.summary()
        out = [f"buildings moved:    {s['buildings_moved']} ({s['share_moved']:.1%} of the buildings in both plans)"
               + ("  [grids matched by shared buildings]" if self.matched else ""),
               f"buildings added:    {s['buildings_added']}   removed: {s['buildings_removed']}",
               f"grids:              {s['grids_unchanged']} unchanged, {s['grids_changed']} changed, "
               f"{s['grids_households']} with other households only, {s['grids_added']} added, "
               f"{s['grids_removed']} removed"]
        changed = self.grids[self.grids["change"] != "unchanged"]
        if len(changed):
            out.append("grid (code, id): households before → after, buildings before → after, change")
            for gid, r in changed.iterrows():
                out.append(f"  {r['number']} ({r['grid_code']}, {gid}): {_num(r['households_before'])} → "
                           f"{_num(r['households_after'])}, {_num(r['buildings_before'])} → "
                           f"{_num(r['buildings_after'])}, {r['change']}")
        if len(self.moved):
            out.append("moved buildings (building: from grid → to grid):")
            out += [f"  {r.name + ' (' + r.building_id + ')' if r.name else r.building_id}: "
                    f"{r.from_number} → {r.to_number}" for r in self.moved.itertuples()]
        return out


def _numbers_in_grid(plan: Plan, building_ids, assignment: pd.Series) -> list:
    """The number of each building in its grid of ``plan`` (reading order, as on the grid's page)."""
    if not len(building_ids):
        return []
    numbers = {}
    for grid in pd.unique(assignment[building_ids]):
        members = plan.buildings.loc[assignment.index[assignment.to_numpy() == grid]]
        numbers.update(building_numbers(members.geometry).astype(int).to_dict())
    return [numbers[b] for b in building_ids]


def _num(v) -> str:
    return "-" if pd.isna(v) else str(int(v))


def diff_plans(old: Plan, new: Plan, *, match: bool = False) -> PlanDiff:
    """Compare two plans of the same buildings.

    Parameters
    ----------
    old, new : geo.plan.Plan
    match : bool, default False
        Match new grids to old ones by shared buildings first (for plans made independently);
        by default grids are compared by ``grid_id``.

    Returns
    -------
    PlanDiff
    """
    a = old.buildings["grid_id"].astype(str)
    b = new.buildings["grid_id"].astype(str)
    rename = {}
    if match:
        pairs = match_grids(a, b)
        rename = {g: pairs.get(g, f"new:{g}") for g in b.unique()}
        b_key = b.map(rename)
    else:
        b_key = b
    common = a.index.intersection(b.index)
    moved_ids = common[a[common].to_numpy() != b_key[common].to_numpy()]
    code_a = old.grids["grid_code"].astype(str)
    code_b = new.grids["grid_code"].astype(str)
    prefix_a, prefix_b = old.meta.get("code_prefix"), new.meta.get("code_prefix")
    moved = pd.DataFrame({
        "building_id": moved_ids.astype(str),
        "from_grid": a[moved_ids].to_numpy(),
        "to_grid": b[moved_ids].to_numpy(),
        "from_code": a[moved_ids].map(code_a).to_numpy(),
        "to_code": b[moved_ids].map(code_b).to_numpy(),
        "households": new.buildings.loc[moved_ids, "households"].astype("int64").to_numpy(),
        "name": building_names(new.buildings.loc[moved_ids]).to_numpy(),
        "number": _numbers_in_grid(new, moved_ids, b),
    })
    moved["from_number"] = [None if pd.isna(c) else short_code(c, prefix_a) for c in moved["from_code"]]
    moved["to_number"] = [None if pd.isna(c) else short_code(c, prefix_b) for c in moved["to_code"]]
    added = sorted(map(str, b.index.difference(a.index)))
    removed = sorted(map(str, a.index.difference(b.index)))

    before = old.buildings.groupby(a)
    after = new.buildings.groupby(b_key)
    ids = sorted(set(a) | set(b_key))
    grids = pd.DataFrame(index=pd.Index(ids, name="grid_id"))
    grids["households_before"] = before["households"].sum().reindex(ids)
    grids["households_after"] = after["households"].sum().reindex(ids)
    grids["buildings_before"] = before.size().reindex(ids)
    grids["buildings_after"] = after.size().reindex(ids)
    back = {v: k for k, v in rename.items()}
    in_a, in_b = set(a), set(b_key)
    grids["new_id"] = [back.get(g, g) if g in in_b else None for g in ids]
    grids["grid_code"] = [code_a.get(g) if g in code_a.index else code_b.get(back.get(g, g)) for g in ids]
    grids["number"] = [None if c is None or pd.isna(c) else short_code(c, prefix_a if g in code_a.index else prefix_b)
                       for g, c in zip(ids, grids["grid_code"])]
    # a grid's buildings changed when one moved in or out, or was added to or removed from it
    entered_or_left = (set(a[moved_ids]) | set(b_key[moved_ids]) | set(a[a.index.difference(b.index)])
                       | set(b_key[b.index.difference(a.index)]))
    change = []
    for g in ids:
        if g not in in_b:
            change.append("removed")
        elif g not in in_a:
            change.append("added")
        elif g in entered_or_left:
            change.append("changed")
        elif grids.at[g, "households_before"] != grids.at[g, "households_after"]:
            change.append("households")
        else:
            change.append("unchanged")
    grids["change"] = change
    for col in ("households_before", "households_after", "buildings_before", "buildings_after"):
        grids[col] = grids[col].astype("Int64")
    result = PlanDiff(moved=moved, added_buildings=added, removed_buildings=removed,
                      grids=grids[["change", "new_id", "grid_code", "number", "households_before", "households_after",
                                   "buildings_before", "buildings_after"]], matched=match)
    logger.info("diff: %s", result.summary())
    return result
