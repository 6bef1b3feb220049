"""A plan as rows of the PostGIS store's ``features`` and ``assignments`` tables, and back
(:mod:`app.store.postgis`): each layer's layout (index, columns and dtypes, the geometry column)
kept with the version, attributes as JSON text, geometry as EWKB with the plan's SRID, and the
state of a plan at one version rebuilt from its rows (:class:`PlanRows`)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

import geo
from app.store.changes import ASSIGNMENT, plan_layers

__all__ = ["PlanRows", "crs_srid", "feature_rows", "plan_layout"]


def crs_srid(crs) -> tuple[int, str]:
    crs = pyproj.CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    return (epsg, f"EPSG:{epsg}") if epsg else (0, crs.to_wkt())


def plan_layout(plan: geo.Plan) -> dict:
    """Each layer's index, geometry column, columns in order with their dtypes, and the columns kept
    in ``features.props`` (how to rebuild the frames)."""
    out = {}
    for name, frame in plan_layers(plan).items():
        geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
        out[name] = {"index": frame.index.name, "index_dtype": str(frame.index.dtype),
                     "range": isinstance(frame.index, pd.RangeIndex), "geometry": geometry,
                     "order": [str(c) for c in frame.columns],
                     "dtypes": {str(c): str(frame[c].dtype) for c in frame.columns if c != geometry},
                     "props": [str(c) for c in frame.columns
                               if c != geometry and not (name == "buildings" and c in ASSIGNMENT)]}
    return out


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _props(frame: pd.DataFrame, columns: list) -> list[str]:
    """Each row's attributes as JSON text (missing values as null; floats exactly, as Python writes them)."""
    if not columns:
        return ["{}"] * len(frame)
    part = pd.DataFrame(frame[columns]).astype(object)
    records = part.where(part.notna(), None).to_dict(orient="records")
    return [json.dumps(r, ensure_ascii=False, default=_jsonable) for r in records]


def feature_rows(plan_name: str, version: int, name: str, frame: pd.DataFrame, layout: dict, ids, srid: int):
    """The ``features`` rows of the features ``ids`` of layer ``name``."""
    positions = frame.index.get_indexer(ids)
    part = frame.iloc[positions]
    props = _props(part, layout["props"])
    if layout["geometry"]:
        geoms = shapely.set_srid(part.geometry.to_numpy(), srid)
        wkb = shapely.to_wkb(geoms, hex=True, include_srid=True)
    else:
        wkb = [None] * len(part)
    for fid, seq, p, g in zip(part.index, positions, props, wkb):
        yield plan_name, name, str(fid), version, int(seq), False, p, g


def _cast(values, dtype: str):
    """``values`` (a Series or Index) as ``dtype`` when they can be (integers only without missing values)."""
    try:
        target = pd.api.types.pandas_dtype(dtype)
        if target.kind in "iub" and values.isna().any():
            return values
        return values.astype(target)
    except (TypeError, ValueError):
        return values  # left as read; a GeoPackage round trip treats it the same


class PlanRows:
    """The rows of a plan at one version: per layer ``fid → (seq, props, wkb)``, and the assignment."""

    def __init__(self):
        self.version = 0
        self.layers: dict[str, dict] = {}
        self.assignment: dict[str, tuple] = {}

    def apply(self, features, assignments, version: int) -> None:
        for layer, fid, seq, removed, props, wkb in features:
            rows = self.layers.setdefault(layer, {})
            if removed:
                rows.pop(fid, None)
            else:
                rows[fid] = (seq, props, wkb)
        for building, grid, code in assignments:
            self.assignment[building] = (grid, code)
        self.version = version

    def plan(self, meta: dict, layout: dict, crs: str) -> geo.Plan:
        frames = {}
        for name, spec in layout.items():
            rows = sorted(self.layers.get(name, {}).items(), key=lambda kv: (kv[1][0], kv[0]))
            ids = [fid for fid, _ in rows]
            frame = pd.DataFrame.from_records([json.loads(r[1]) for _, r in rows], index=ids,
                                              columns=spec["props"])
            if name == "buildings":
                grid = [self.assignment.get(b, (None, None)) for b in ids]
                frame = frame.assign(grid_id=[g for g, _ in grid], grid_code=[c for _, c in grid])
            frame = pd.DataFrame({c: _cast(frame[c], spec["dtypes"][c]) for c in spec["order"] if c in spec["dtypes"]},
                                 index=frame.index)
            frame.index = pd.RangeIndex(len(frame)) if spec["range"] else _cast(pd.Index(ids), spec["index_dtype"])
            frame.index.name = spec["index"]
            if spec["geometry"]:
                geoms = shapely.from_wkb(np.array([bytes(r[2]) if r[2] is not None else None for _, r in rows],
                                                  dtype=object))
                frame.insert(spec["order"].index(spec["geometry"]), spec["geometry"], geoms)
                frame = gpd.GeoDataFrame(frame, geometry=spec["geometry"], crs=crs)
            frames[name] = frame
        return geo.Plan(buildings=frames.pop("buildings"), grids=frames.pop("grids"), meta=dict(meta),
                        layers=frames)
