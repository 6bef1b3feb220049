"""The plan file: one GeoPackage every part of gridplan reads and writes.

See ``docs/plan-format.md`` for the layers and columns. Writing is atomic: the plan is written
to a temporary file beside the target and renamed over it, so a failed write never leaves a
half-written or lost plan.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import PlanFileError

__all__ = ["Plan", "FORMAT_VERSION", "read_plan", "write_plan", "gridplan_version", "atomic_path",
           "is_temporary", "clean_temporaries"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
BUILDINGS, GRIDS, META = "buildings", "grids", "plan_meta"
#: Optional layers a plan may carry, in the plan's metric CRS.
#: ``subgrids`` and ``storeys`` are tables without geometry (the emergency layout's tower blocks).
OPTIONAL_LAYERS = ("cells", "households", "barriers", "boundaries", "levels", "grids_emergency", "people",
                   "subgrids", "storeys")


def gridplan_version() -> str:
    try:
        return version("gridplan")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


@dataclass
class Plan:
    """A grid plan in memory.

    Attributes
    ----------
    buildings : GeoDataFrame
        Indexed by ``building_id``: ``grid_id``, ``households``, ``households_source``, the input
        attributes, footprint geometry, in the plan's metric CRS.
    grids : GeoDataFrame
        Indexed by ``grid_id``: ``grid_code``, ``households``, ``n_buildings``, ``status``, polygon.
    meta : dict
        ``plan_meta``: target, tolerance, seed, CRS, inputs with checksums, version, time, figures.
    layers : dict of str to GeoDataFrame
        Optional layers (``cells``, ``households``, ``barriers``, ``boundaries``).
    """

    buildings: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    meta: dict = field(default_factory=dict)
    layers: dict = field(default_factory=dict)

    @property
    def crs(self):
        return self.buildings.crs


def atomic_path(target) -> _AtomicPath:
    """Context manager giving a temporary path beside ``target``, renamed over it on success.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out.html"
    >>> with atomic_path(out) as tmp:
    ...     _ = tmp.write_text("<html>…</html>", encoding="utf-8")
    >>> out.read_text(encoding="utf-8"), [p.name for p in out.parent.iterdir()]  # no temporary file left
    ('<html>…</html>', ['out.html'])
    >>> import shutil; shutil.rmtree(out.parent)
    """
    return _AtomicPath(Path(target))


#: Temporary files of :func:`atomic_path`: ``.NAME.tmp-PID-XXXX.SUFFIX`` (the writer's process id,
#: so one left by a crash is recognisable), and the side files GDAL/SQLite put beside them.
_TEMPORARY = re.compile(r"^\..+\.tmp-(?P<pid>\d+)-[^.]+(?:\.[^.]+)?(?:-journal|-wal|-shm)?$")
_SIDE_FILES = ("-journal", "-wal", "-shm")


def is_temporary(path) -> bool:
    """Whether ``path`` is a temporary file of :func:`atomic_path`, a hidden file or an SQLite side
    file (``-journal``, ``-wal``, ``-shm``): never a plan."""
    name = Path(path).name
    return name.startswith(".") or name.endswith(_SIDE_FILES)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending; another user's is alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def clean_temporaries(folder) -> list[Path]:
    """Remove the temporary files of :func:`atomic_path` in ``folder`` whose writer process is gone
    (left by a crash or ``kill -9``); a live writer's file is left alone. Returns those removed."""
    removed = []
    for f in sorted(Path(folder).glob(".*")):
        m = _TEMPORARY.match(f.name)
        if m and f.is_file() and not _alive(int(m["pid"])):
            f.unlink(missing_ok=True)
            removed.append(f)
    return removed


class _AtomicPath:
    def __init__(self, target: Path):
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.target.name}.tmp-{os.getpid()}-", suffix=self.target.suffix,
                                    dir=self.target.parent)
        os.close(fd)
        os.unlink(name)  # GDAL and others want to create the file themselves
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)


def _text(value):
    """A value of an object column as GeoPackage text (missing values stay missing)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if value is None or pd.isna(value):
        return None
    return str(value)


def _to_layer(gdf: gpd.GeoDataFrame, index_name: str) -> gpd.GeoDataFrame:
    named = index_name is not None and gdf.index.name == index_name
    out = gdf.reset_index() if named else gdf.reset_index(drop=True)
    # GeoPackage has no object dtype: write mixed columns as text
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for col in out.columns:
        if col != geometry and out[col].dtype == object:
            out[col] = out[col].map(_text)
    return out


def write_plan(plan: Plan, path) -> Path:
    """Write ``plan`` to a GeoPackage at ``path`` atomically.

    ``meta`` gains ``format_version``, ``gridplan_version`` and ``written`` (UTC time).
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise PlanFileError(f"{path}: a plan is a GeoPackage; name it *.gpkg")
    meta = dict(plan.meta)
    meta.update(format_version=FORMAT_VERSION, gridplan_version=gridplan_version(),
                written=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    with atomic_path(path) as tmp:
        pyogrio.write_dataframe(_to_layer(plan.buildings, "building_id"), tmp, layer=BUILDINGS,
                                driver="GPKG")
        pyogrio.write_dataframe(_to_layer(plan.grids, "grid_id"), tmp, layer=GRIDS, driver="GPKG")
        for name, gdf in plan.layers.items():
            if gdf is not None and len(gdf):
                pyogrio.write_dataframe(_to_layer(gdf, gdf.index.name), tmp, layer=name, driver="GPKG")
        table = pd.DataFrame({"key": list(meta),
                              "value": [json.dumps(v, ensure_ascii=False, default=str) for v in meta.values()]})
        pyogrio.write_dataframe(table, tmp, layer=META, driver="GPKG")
    plan.meta = meta
    logger.info("wrote plan %s (%d buildings, %d grids)", path, len(plan.buildings), len(plan.grids))
    return path


def _damaged(path, exc) -> PlanFileError:
    detail = " ".join(str(exc).split())[:200]
    return PlanFileError(f"{path}: the file is damaged and cannot be read ({type(exc).__name__}: {detail}); "
                         "restore it from a copy or re-run `gridplan partition`")


def unregenerable_contents(path) -> list[str]:
    """What a plan file holds that re-partitioning cannot make again: people, special households,
    the escalation chain (one plain phrase each, e.g. ``"1,234 people"``); empty if none or no file.

    Parameters
    ----------
    path : str or Path
        An existing plan file (a file that is not a readable plan is reported as damaged).
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        layers = {str(n) for n in pyogrio.list_layers(path)[:, 0]}
        found = []
        if "people" in layers:
            n = int(pyogrio.read_info(path, layer="people", force_feature_count=True)["features"])
            if n:
                found.append(f"{n:,} people")
        if "households" in layers:
            h = pyogrio.read_dataframe(path, layer="households", read_geometry=False)
            special = h["match"].eq("special") if "match" in h.columns else pd.Series(False, index=h.index)
            if "name" in h.columns:  # a named household is a resident someone entered, whatever its match
                special |= h["name"].notna() & h["name"].astype(str).str.strip().ne("")
            n = int(special.sum())
            if n:
                found.append(f"{n:,} special households")
        if META in layers:
            table = pyogrio.read_dataframe(path, layer=META)
            meta = {k: json.loads(v) for k, v in zip(table["key"], table["value"])}
            if meta.get("escalation"):
                found.append("the escalation chain")
    except Exception as exc:
        raise _damaged(path, exc) from exc
    return found


def read_plan(path) -> Plan:
    """Read a plan written by :func:`write_plan`; a clear error if it is not one."""
    path = Path(path)
    if not path.exists():
        raise PlanFileError(f"{path}: no such plan file; make one with `gridplan partition ... -o {path.name}`")
    try:
        layers = {str(n) for n in pyogrio.list_layers(path)[:, 0]}
    except Exception as exc:
        raise PlanFileError(f"{path}: is not a GeoPackage ({exc})") from exc
    missing = {BUILDINGS, GRIDS, META} - layers
    if missing:
        raise PlanFileError(f"{path}: is not a gridplan plan (missing layer(s) {', '.join(sorted(missing))}); "
                            "make one with `gridplan partition`")
    try:
        table = pyogrio.read_dataframe(path, layer=META)
        meta = {k: json.loads(v) for k, v in zip(table["key"], table["value"])}
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise PlanFileError(f"{path}: plan format {meta['format_version']} is newer than this gridplan "
                                f"understands ({FORMAT_VERSION}); upgrade gridplan")
        buildings = pyogrio.read_dataframe(path, layer=BUILDINGS).set_index("building_id")
        grids = pyogrio.read_dataframe(path, layer=GRIDS).set_index("grid_id")
        extra = {}
        for name in OPTIONAL_LAYERS:
            if name in layers:
                gdf = pyogrio.read_dataframe(path, layer=name)
                key = {"cells": "building_id", "households": "household_id",
                       "boundaries": "boundary_id", "levels": "unit_key", "grids_emergency": "grid_id",
                       "subgrids": "subgrid_id"}.get(name)
                extra[name] = gdf.set_index(key) if key in gdf.columns else gdf
    except PlanFileError:
        raise
    except Exception as exc:  # pyogrio/GDAL/JSON errors of a damaged file: one message, no traceback
        raise _damaged(path, exc) from exc
    return Plan(buildings=buildings, grids=grids, meta=meta, layers=extra)
