"""What a saved version changed, by feature, and in which communities; a save applied to a later
version (:func:`rebase`).

Every layer of a plan is compared feature by feature (by its index: ``building_id``, ``grid_id``
…): a feature is *added*, *changed* (any attribute or its geometry) or *removed*
(:func:`layer_changes`). The buildings' assignment (``grid_id``, ``grid_code``) is compared on its
own, as the PostGIS store keeps it in its own rows.

**Communities.** A building's community is its ``unit_community`` (plans with a ``community``
level), else the boundary (``boundaries`` layer, when it holds several) it lies in, else the code
of its grid without the last three digits (the grid's sequence number: the community's 12-digit
code, or the ``--prefix``; see ``docs/tessellation.md``, "Grid codes"). Grids never cross a
community (levels and boundaries cut the contiguity graph). A
version changes the communities of the buildings it changes (before and after) and of the grids
it changes. A change to anything else — cells, households, people, boundaries, levels, or the
plan's settings — changes the whole plan (:data:`WHOLE_PLAN`), which conflicts with every other
save.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import geo
from partitioning.codes import new_ids, next_codes

__all__ = ["WHOLE_PLAN", "ASSIGNMENT", "PlanChanges", "plan_changes", "layer_changes", "rebase", "plan_layers",
           "building_communities"]

logger = logging.getLogger(__name__)

#: The community of a change that concerns the whole plan.
WHOLE_PLAN = "*"
#: The buildings' columns that are their assignment.
ASSIGNMENT = ("grid_id", "grid_code")
#: Layers whose changes are the grids' (an emergency grid lies in one normal grid).
_GRID_LAYERS = ("grids", "grids_emergency")
#: Metadata an edit recomputes or a writer stamps: not a change of the plan's settings.
_VOLATILE_META = {"metrics", "edited", "written", "gridplan_version", "format_version"}
#: Figures of grids by their buildings, per contiguity graph: a rebase measures the grids it changed only.
_METRICS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Prefix of the ids of new features of a layer, renamed when two saves made the same id.
_ID_PREFIX = {"grids": "G", "grids_emergency": "E"}


def plan_layers(plan: geo.Plan) -> dict:
    """Every layer of ``plan`` by name, ``buildings`` and ``grids`` first."""
    return {"buildings": plan.buildings, "grids": plan.grids,
            **{k: v for k, v in plan.layers.items() if v is not None}}


def building_communities(plan: geo.Plan, ids) -> pd.Series:
    """The community of each of the buildings ``ids`` of ``plan`` (see the module's docstring)."""
    b = plan.buildings.loc[[i for i in ids if i in plan.buildings.index]]
    if "unit_community" in b.columns:
        return b["unit_community"].astype(str)
    codes = b["grid_code"] if "grid_code" in b.columns else b["grid_id"].map(plan.grids["grid_code"])
    out = codes.astype(str).str[:-3]
    bounds = plan.layers.get("boundaries")
    if bounds is not None and len(bounds) > 1 and len(b):
        point, bound = bounds.sindex.query(b.geometry.representative_point(), predicate="within")
        first = ~pd.Index(point).duplicated()
        out.iloc[point[first]] = [f"boundary {k}" for k in bounds.index[bound[first]]]
    return out


def _signatures(frame: pd.DataFrame, cols: list, *, geometry: bool) -> pd.Series:
    """One hash per feature of ``frame`` over ``cols`` (not its geometry) and, with ``geometry``, its geometry."""
    name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    values = frame[[c for c in cols if c != name]].astype(str)
    if geometry and name is not None:
        values = values.assign(__wkb=shapely.to_wkb(frame.geometry.to_numpy(), hex=True))
    return pd.Series(pd.util.hash_pandas_object(values, index=False).to_numpy(), index=frame.index)


@dataclass
class LayerChanges:
    """Ids of a layer's features added or changed (``put``) and removed; ``whole``: the layer has no
    unique index (only the whole layer compares), or it is new or gone."""

    put: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    whole: bool = False

    def __bool__(self) -> bool:
        return bool(self.put or self.removed or self.whole)


def layer_changes(old: pd.DataFrame | None, new: pd.DataFrame | None, *, columns=None) -> LayerChanges:
    """The features of ``new`` added or changed since ``old``, and those removed (by index).

    ``columns`` limits the comparison to those columns (and leaves out the geometry)."""
    if old is None or new is None:
        if old is None and new is None:
            return LayerChanges()
        return LayerChanges(put=[] if new is None else list(new.index), removed=[] if old is None else list(old.index),
                            whole=True)
    if not (old.index.is_unique and new.index.is_unique) or isinstance(new.index, pd.RangeIndex):
        cols = [c for c in new.columns if columns is None or c in columns]
        same = list(old.columns) == list(new.columns) and len(old) == len(new) and bool(
            (_signatures(old, cols, geometry=True) == _signatures(new, cols, geometry=True).to_numpy()).all())
        return LayerChanges() if same else LayerChanges(put=list(new.index), removed=list(old.index), whole=True)
    cols = list(dict.fromkeys([*old.columns, *new.columns]))
    if columns is not None:
        cols = [c for c in columns if c in cols]
    old, new = _aligned(old, cols, new), _aligned(new, cols, old)
    common = old.index.intersection(new.index)
    differs = _differs(old.loc[common], new.loc[common], cols, geometry=columns is None)
    added = new.index.difference(old.index)
    removed = old.index.difference(new.index)
    return LayerChanges(put=list(common[differs]) + list(added), removed=list(removed))


def _differs(old: pd.DataFrame, new: pd.DataFrame, cols: list, *, geometry: bool) -> np.ndarray:
    """Which rows of two frames with the same index differ in ``cols`` (missing equals missing) or,
    with ``geometry``, in their geometry (the same geometry object, as edits keep it, is equal)."""
    name = new.geometry.name if isinstance(new, gpd.GeoDataFrame) else None
    out = np.zeros(len(new), dtype=bool)
    for c in cols:
        if c == name:
            continue
        x, y = old[c], new[c]
        try:
            same = (x.to_numpy() == y.to_numpy()) | (x.isna().to_numpy() & y.isna().to_numpy())
            out |= ~np.asarray(same, dtype=bool)
        except (TypeError, ValueError):  # values that do not compare (lists, mixed types): as text
            out |= x.astype(str).to_numpy() != y.astype(str).to_numpy()
    if geometry and name is not None and isinstance(old, gpd.GeoDataFrame):
        a, b = old.geometry.to_numpy(), new.geometry.to_numpy()
        check = ~out & (np.fromiter(map(id, a), np.int64, len(a)) != np.fromiter(map(id, b), np.int64, len(b)))
        if check.any():
            out[check] = shapely.to_wkb(a[check]) != shapely.to_wkb(b[check])
    return out


def _aligned(frame: pd.DataFrame, cols: list, other: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``other``'s columns it lacks, as a writer adds them to every row (0 for a
    number, such as ``locked``; missing otherwise): a column added is no change of the rows it leaves at 0."""
    missing = [c for c in cols if c not in frame.columns]
    if not missing:
        return frame
    fill = {c: 0 if other[c].dtype.kind in "iufb" else None for c in missing}
    return frame.assign(**fill)[[c for c in cols if c in frame.columns or c in fill]]


@dataclass
class PlanChanges:
    """What one plan changed against another: per layer (:class:`LayerChanges`), the buildings'
    assignment (``assignment``), whether the settings changed (``meta``), and the communities."""

    layers: dict
    assignment: LayerChanges
    meta: bool
    communities: frozenset


def _building_columns(buildings: pd.DataFrame) -> list:
    return [c for c in buildings.columns if c not in ASSIGNMENT and c != buildings.geometry.name]


def plan_changes(old: geo.Plan, new: geo.Plan) -> PlanChanges:
    """What ``new`` changed against ``old`` (see the module's docstring)."""
    a, b = plan_layers(old), plan_layers(new)
    layers = {}
    for name in dict.fromkeys([*a, *b]):
        if name == "buildings":
            props = layer_changes(pd.DataFrame(a[name][_building_columns(a[name])]),
                                  pd.DataFrame(b[name][_building_columns(b[name])]))
            geoms = layer_changes(a[name][[a[name].geometry.name]], b[name][[b[name].geometry.name]])
            layers[name] = LayerChanges(put=sorted(set(props.put) | set(geoms.put)), removed=props.removed)
        else:
            layers[name] = layer_changes(a.get(name), b.get(name))
    assignment = layer_changes(a["buildings"], b["buildings"], columns=list(ASSIGNMENT))
    meta = {k: v for k, v in old.meta.items() if k not in _VOLATILE_META} != {
        k: v for k, v in new.meta.items() if k not in _VOLATILE_META}
    whole = meta or layers["buildings"].whole or any(
        ch for name, ch in layers.items() if name not in ("buildings", *_GRID_LAYERS)) or any(
        layers[n].whole for n in _GRID_LAYERS if n in layers)
    if whole:
        return PlanChanges(layers, assignment, meta, frozenset({WHOLE_PLAN}))
    ids = set(layers["buildings"].put) | set(layers["buildings"].removed) | set(assignment.put) | set(assignment.removed)
    touched = set(layers["grids"].put) | set(layers["grids"].removed)
    keys = set()
    for plan in (old, new):
        members = plan.buildings.index[plan.buildings["grid_id"].astype(str).isin(touched).to_numpy()]
        keys |= set(building_communities(plan, ids | set(members)))
    return PlanChanges(layers, assignment, meta, frozenset(keys))


def _renames(name: str, latest: pd.DataFrame | None, parent: pd.DataFrame | None, new: pd.DataFrame) -> dict:
    """New ids for the features ``new`` added (not in ``parent``) whose id a save since gave another one."""
    if name not in _ID_PREFIX or latest is None:
        return {}
    before = set() if parent is None else set(parent.index)
    taken = [g for g in new.index if g not in before and g in latest.index]
    if not taken:
        return {}
    return new_ids(list(latest.index) + list(new.index), taken, prefix=_ID_PREFIX[name])


def _merge_layer(latest, new, changes: LayerChanges, renames: dict):
    """``latest`` with the features ``changes`` put (from ``new``, renamed) and removed."""
    cols = list(dict.fromkeys([*latest.columns, *new.columns]))
    dropped = [renames.get(i, i) for i in changes.put] + changes.removed
    kept = _aligned(latest.drop(index=[i for i in dropped if i in latest.index]), cols, new)
    put = _aligned(new.loc[changes.put].rename(index=renames), cols, latest)
    out = pd.concat([kept[cols], put[cols]]) if len(put) else kept[cols]
    for col in cols:
        source = latest if col in latest.columns else new
        if source[col].dtype.kind in "iub":
            out[col] = out[col].fillna(0).astype(source[col].dtype)
    out.index.name = latest.index.name
    if isinstance(latest, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=latest.geometry.name, crs=latest.crs)
    return out


def _recode(grids: pd.DataFrame, *, added: list, theirs: pd.DataFrame) -> pd.DataFrame:
    """``grids`` with the next free codes for the grids ``added`` whose code a grid of ``theirs`` (the
    latest version) has under another id (both saves numbered a new grid after the same last one)."""
    taken = set(theirs["grid_code"].astype(str))
    clash = [g for g in added if g in grids.index and g not in theirs.index and str(grids.at[g, "grid_code"]) in taken]
    if not clash:
        return grids
    codes = grids["grid_code"].astype(str)
    fresh = next_codes([c for g, c in codes.items() if g not in clash], {g: codes[g][:-3] for g in clash}, clash)
    grids = grids.copy()
    grids.loc[clash, "grid_code"] = [fresh[g] for g in clash]
    return grids


def rebase(latest: geo.Plan, parent: geo.Plan, new: geo.Plan, *, changes: PlanChanges | None = None,
           make_graph: Callable | None = None) -> geo.Plan:
    """``latest`` with the changes ``new`` made to ``parent`` (the two touch different communities).

    Grids and emergency grids ``new`` added under an id another save gave a grid since get the next
    free ids, and grids it added under a code taken since the next free code of their community;
    the plan's metrics are measured again on the merged assignment.
    """
    from partitioning.editing import edit_graph
    from partitioning.metrics import partition_metrics
    from partitioning.settings import PlanSettings

    changes = changes or plan_changes(parent, new)
    a, b, c = plan_layers(latest), plan_layers(parent), plan_layers(new)
    renames = {n: _renames(n, a.get(n), b.get(n), c[n]) for n in _GRID_LAYERS if n in c}
    out = {}
    for name in dict.fromkeys([*a, *c]):
        if name not in c or name not in a:
            out[name] = a.get(name)
            continue
        layer = c[name].copy()
        if name == "buildings":
            layer["grid_id"] = layer["grid_id"].replace(renames.get("grids", {}))
            if "grid_id_emergency" in layer.columns:
                layer["grid_id_emergency"] = layer["grid_id_emergency"].replace(renames.get("grids_emergency", {}))
            put = sorted(set(changes.layers[name].put) | set(changes.assignment.put))
            ch = LayerChanges(put=put, removed=changes.layers[name].removed)
        else:
            ch = changes.layers[name]
            if name == "grids_emergency" and "parent_grid_id" in layer.columns:
                layer["parent_grid_id"] = layer["parent_grid_id"].replace(renames.get("grids", {}))
        out[name] = _merge_layer(a[name], layer, ch, renames.get(name, {}))
    grids = _recode(out["grids"], added=[renames.get("grids", {}).get(g, g) for g in c["grids"].index
                                         if g not in b["grids"].index], theirs=a["grids"])
    grids = grids.sort_values("grid_code")
    buildings = out["buildings"]
    buildings["grid_code"] = grids["grid_code"].reindex(buildings["grid_id"]).to_numpy()
    plan = geo.Plan(buildings=buildings, grids=grids, meta=dict(latest.meta),
                    layers={k: v for k, v in out.items() if k not in ("buildings", "grids") and v is not None})
    settings = PlanSettings.from_meta(plan.meta)
    graph = (make_graph or edit_graph)(plan)
    plan.meta["metrics"] = partition_metrics(graph, buildings["grid_id"].astype(str), target=settings.target,
                                             tolerance=settings.tolerance, cache=_METRICS.setdefault(graph, {}))
    logger.info("saved on a later version: %d buildings and %d grids changed, %d grids renamed",
                len(changes.layers["buildings"].put) + len(changes.assignment.put), len(changes.layers["grids"].put),
                len(renames.get("grids", {})))
    return plan

