"""The city deployment's version store: plans, versions and edit sessions in PostgreSQL/PostGIS.

A version keeps **what changed**, not the whole plan. Version 1 of a plan (``gridplan db import``,
or the plan file the server first reads) holds every feature of every layer; each later version
holds the rows of the features it added, changed or removed (:func:`app.store.changes.plan_changes`)
and, in ``assignments``, one row per building whose grid changed (building id → grid id and code).
The plan at version *n* is, for each feature, its row of the highest version ≤ *n*. Geometry is in
PostGIS columns, each geometry with the plan's SRID (``plans.srid``, the EPSG code of the plan's
metric CRS; 0 with the CRS's WKT in ``plans.crs`` when it has none).

Tables (schema version :data:`app.store.pg_schema.SCHEMA_VERSION`, in ``gridplan_schema``; made and
migrated when a store opens the database, under an advisory lock): ``plans``; ``versions`` (author, comment,
parent, time, diff, the plan's metadata and layer layout, the communities changed); ``features``
(plan, layer, feature id, version, order, removed, attributes as ``jsonb``, ``geom``);
``assignments``; ``edit_sessions``. The users database of :mod:`app.auth` (``users``,
``sessions``, ``login_failures``, ``audit_log``) may share the database (``serve --db``).

Saves of one plan take its ``plans`` row lock (``SELECT … FOR UPDATE``) for the check and the
rows: one transaction, all or nothing. Saves on an older version follow
:func:`app.store.base.settle` (conflicts per community).

**The plan file.** The web app reads plans from GeoPackage files; with this store the file is a
copy of the latest version, written beside a marker (``.NAME.gpkg.version``: version and SHA-256)
after the save's commit, under a file lock (``.NAME.gpkg.lock``), never over a later version. A
file older than the latest version (another worker or machine saved, or a write failed) is written
again when next read; a file whose bytes the marker does not know was changed outside the editor
and becomes a new version.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path

import pandas as pd

import geo
from app.store import safe_url
from app.store.base import FILE_AUTHOR, FIRST_COMMENT, OUTSIDE_COMMENT, SessionConflict, diff_json, settle
from app.store.changes import WHOLE_PLAN, LayerChanges, PlanChanges, plan_changes, plan_layers
from app.store.pg_rows import PlanRows, crs_srid, feature_rows, plan_layout
from app.store.pg_schema import SCHEMA_VERSION, StoreError, connect, migrate
from geo.plan import atomic_path

__all__ = ["PostgisStore", "SCHEMA_VERSION", "StoreError", "write_plans"]

logger = logging.getLogger(__name__)


@contextmanager
def _file_lock(path: Path):
    """An exclusive lock on the plan file's writes (``.NAME.gpkg.lock`` beside it), across processes."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- the store -----------------------------------------------------------------------------------------

class PostgisStore:
    """Versions of plans, and the editors' sessions, in a PostgreSQL/PostGIS database.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/database`` (libpq's form; ``?host=/folder`` for a Unix socket).

    Raises
    ------
    StoreError
        The server cannot be reached, has no PostGIS, or holds a newer schema.
    """

    def __init__(self, url: str):
        self.url = url
        self._cache: dict[str, tuple[PlanRows, dict]] = {}  # plan → rows at the latest version read, plans by version
        self._cache_lock = threading.Lock()
        with self._connection() as con:
            migrate(con)

    def __repr__(self) -> str:
        return f"PostgisStore({safe_url(self.url)!r})"

    @contextmanager
    def _connection(self):
        """A connection for one call (closed after it: nothing outlives a request or a forked worker)."""
        with connect(self.url) as con:
            yield con

    @contextmanager
    def _write(self, plan: str):
        """A transaction holding the plan's row lock (saves of one plan, one at a time)."""
        with self._connection() as con, con.transaction():
            con.execute("SELECT 1 FROM plans WHERE plan = %s FOR UPDATE", (plan,))
            yield con

    @staticmethod
    def _latest(con, plan: str) -> int | None:
        return con.execute("SELECT max(version) FROM versions WHERE plan = %s", (plan,)).fetchone()[0]

    def latest(self, plan: str) -> int | None:
        """Number of the latest version of ``plan`` (None before the first)."""
        with self._connection() as con:
            return self._latest(con, plan)

    def plans(self) -> list[str]:
        """The names of the plans in the database."""
        with self._connection() as con:
            return [r[0] for r in con.execute("SELECT plan FROM plans ORDER BY plan")]

    # loading

    def load(self, plan: str, version: int) -> geo.Plan:
        """The plan as it was at ``version``."""
        with self._connection() as con:
            return self._load(con, plan, version)

    def _load(self, con, plan: str, version: int) -> geo.Plan:
        row = con.execute("SELECT meta, layout FROM versions WHERE plan = %s AND version = %s",
                          (plan, version)).fetchone()
        if row is None:
            raise KeyError(version)
        with self._cache_lock:
            state, plans = self._cache.get(plan, (None, {}))
            if version in plans:
                return plans[version]
        if state is None or state.version > version:
            state, since = PlanRows(), 0
        else:
            since = state.version
        features = con.execute(
            "SELECT DISTINCT ON (layer, fid) layer, fid, seq, removed, props::text, ST_AsBinary(geom) FROM features "
            "WHERE plan = %s AND version > %s AND version <= %s ORDER BY layer, fid, version DESC",
            (plan, since, version)).fetchall()
        assignments = con.execute(
            "SELECT DISTINCT ON (building_id) building_id, grid_id, grid_code FROM assignments "
            "WHERE plan = %s AND version > %s AND version <= %s ORDER BY building_id, version DESC",
            (plan, since, version)).fetchall()
        crs = con.execute("SELECT crs FROM plans WHERE plan = %s", (plan,)).fetchone()[0]
        fresh = PlanRows()
        fresh.layers = {k: dict(v) for k, v in state.layers.items()}
        fresh.assignment = dict(state.assignment)
        fresh.apply(features, assignments, version)
        out = fresh.plan(row[0], row[1], crs)
        with self._cache_lock:
            _, plans = self._cache.get(plan, (None, {}))
            plans = {v: p for v, p in plans.items() if v > version - 3}
            plans[version] = out
            self._cache[plan] = (fresh, plans)
        return out

    # writing versions

    def _insert(self, con, plan: str, version: int, parent: int | None, author: str, comment: str, diff,
                new: geo.Plan, communities, *, old: geo.Plan | None, known: PlanChanges | None = None) -> None:
        """Version ``version`` of ``plan``: ``new``'s rows that differ from ``old`` (all of them without;
        ``known``: ``plan_changes(old, new)`` when the caller has it)."""
        layout = plan_layout(new)
        srid = con.execute("SELECT srid FROM plans WHERE plan = %s", (plan,)).fetchone()[0]
        con.execute("INSERT INTO versions (plan, version, parent, author, comment, diff, meta, layout, communities) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (plan, version, parent, author, comment, diff,
                     json.dumps(new.meta, ensure_ascii=False, default=str), json.dumps(layout), list(communities)))
        layers = plan_layers(new)
        if old is None:
            changes = {n: LayerChanges(put=list(f.index)) for n, f in layers.items()}
            assignment = LayerChanges(put=list(new.buildings.index))
        else:
            found = known or plan_changes(old, new)
            changes, assignment = found.layers, found.assignment
        n_features = 0
        with con.cursor().copy("COPY features (plan, layer, fid, version, seq, removed, props, geom) "
                               "FROM STDIN") as copy:
            for name, ch in changes.items():
                if name in layers:
                    put = set(ch.put)
                    for row in feature_rows(plan, version, name, layers[name], layout[name], ch.put, srid):
                        copy.write_row(row)
                        n_features += 1
                else:
                    put = set()
                for fid in ch.removed:
                    if fid not in put:
                        copy.write_row((plan, name, str(fid), version, 0, True, None, None))
                        n_features += 1
        b = new.buildings
        with con.cursor().copy("COPY assignments (plan, version, building_id, grid_id, grid_code) FROM STDIN") as copy:
            for building in assignment.put:
                copy.write_row((plan, version, str(building), str(b.at[building, "grid_id"]),
                                None if pd.isna(b.at[building, "grid_code"]) else str(b.at[building, "grid_code"])))
        logger.info("plan %s: version %d stored as %d feature rows and %d assignment rows", plan, version,
                    n_features, len(assignment.put))

    def add_plan(self, plan: str, new: geo.Plan, *, author: str = FILE_AUTHOR, comment: str = FIRST_COMMENT) -> int:
        """Store ``new`` as a plan of the database (version 1), or as a new version of the plan of that
        name (its changes against the latest; the whole plan changed). Returns the version."""
        srid, crs = crs_srid(new.crs)
        with self._connection() as con, con.transaction():
            con.execute("INSERT INTO plans (plan, srid, crs) VALUES (%s, %s, %s) ON CONFLICT (plan) DO NOTHING",
                        (plan, srid, crs))
            con.execute("SELECT 1 FROM plans WHERE plan = %s FOR UPDATE", (plan,))
            latest = self._latest(con, plan)
            old = None if latest is None else self._load(con, plan, latest)
            version = 1 if latest is None else latest + 1
            self._insert(con, plan, version, latest, author, comment,
                         None if old is None else diff_json(old, new), new, [WHOLE_PLAN], old=old)
        return version

    def ensure(self, plan: str, path) -> int:
        """The latest version of ``plan``, after reconciling it with the plan file ``path`` (see the
        module's docstring: the file is imported, written again, or recorded as changed outside)."""
        path = Path(path)
        latest = self.latest(plan)
        if latest is None:
            if not path.exists():
                raise KeyError(plan)
            version = self.add_plan(plan, geo.read_plan(path))
            self._mark(path, plan, version)
            return version
        if self._current(path, plan) == latest:
            return latest
        with _file_lock(path):  # one writer of the file at a time, in every process
            current = self._current(path, plan)
            if not path.exists() or current is not None:  # missing, or older than the latest
                with self._connection() as con:
                    latest = self._latest(con, plan)
                    return latest if current == latest else self._materialise(con, plan, latest, path)
            outside = geo.read_plan(path)
            with self._write(plan) as con:
                latest = self._latest(con, plan)
                old = self._load(con, plan, latest)
                found = plan_changes(old, outside)
                version = latest
                if any(found.layers.values()) or found.assignment or found.meta:
                    version = latest + 1
                    logger.warning("plan %s: %s; recorded as version %d", plan, OUTSIDE_COMMENT, version)
                    self._insert(con, plan, version, latest, FILE_AUTHOR, OUTSIDE_COMMENT, diff_json(old, outside),
                                 outside, [WHOLE_PLAN], old=old, known=found)
            self._mark(path, plan, version)
        return version

    def _current(self, path: Path, plan: str) -> int | None:
        """The version of ``plan`` the file ``path`` holds by its marker, None when the marker does not
        know the file's bytes (or there is no file)."""
        from app.store.files import _file_digest

        mark = self._marked(path)
        if mark.get("plan") == plan and path.exists() and mark.get("sha256") == _file_digest(path):
            return mark["version"]
        return None

    def _write_file(self, plan: str, version: int, new: geo.Plan, path: Path) -> None:
        """Write version ``version`` (``new``) to the plan file, unless it holds a later one already or a
        later one was saved since (its save writes it: of saves at once, only the last writes the file)."""
        with _file_lock(path):
            current = self._current(path, plan)
            if (current is None or current < version) and self.latest(plan) == version:
                geo.write_plan(new, path)
                self._mark(path, plan, version)

    @staticmethod
    def _marker(path: Path) -> Path:
        return path.with_name(f".{path.name}.version")

    def _marked(self, path: Path) -> dict:
        try:
            return json.loads(self._marker(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _mark(self, path: Path, plan: str, version: int) -> None:
        from app.store.files import _digest

        with atomic_path(self._marker(path)) as tmp:
            tmp.write_text(json.dumps({"plan": plan, "version": version, "sha256": _digest(path.read_bytes())}),
                           encoding="utf-8")

    def _materialise(self, con, plan: str, version: int, path: Path) -> int:
        geo.write_plan(self._load(con, plan, version), path)
        self._mark(path, plan, version)
        return version

    def export(self, plan: str, path, *, version: int | None = None) -> int:
        """Write ``plan`` as it is at ``version`` (default the latest) to the plan file ``path``
        (atomically); returns the version written."""
        with self._connection() as con:
            version = version or self._latest(con, plan)
            if version is None:
                raise KeyError(plan)
            geo.write_plan(self._load(con, plan, version), path)
        return version

    def save(self, plan: str, new: geo.Plan, *, base: int, author: str, comment: str = "",
             parent_plan: geo.Plan | None = None, path=None, make_graph: Callable | None = None) -> int:
        """Store ``new`` as the version after the latest, made from ``base`` (see
        :meth:`app.store.base.VersionStore.save`), and write it to the plan file ``path``."""
        with self._write(plan) as con:
            latest = self._latest(con, plan)
            parent = parent_plan
            if parent is None:
                parent = self._load(con, plan, base) if isinstance(base, int) and 1 <= base <= (latest or 0) else new
            settled = settle(
                base=base, latest=latest, parent=parent, new=new, make_graph=make_graph,
                load=lambda v: self._load(con, plan, v),
                since=lambda: [set(r[0]) for r in con.execute(
                    "SELECT communities FROM versions WHERE plan = %s AND version > %s", (plan, base))])
            new, version = settled.plan, latest + 1
            self._insert(con, plan, version, latest, author, comment, diff_json(settled.old, new), new,
                         sorted(settled.communities), old=settled.old, known=settled.changes)
            self._put_session(con, plan, author, base=version, ops=[], pos=0)
        if path is not None:  # after the commit, so that other saves need not wait for it
            try:
                self._write_file(plan, version, new, Path(path))
            except OSError as exc:  # the version is saved; the file is written again when next read
                logger.error("plan %s: version %d saved, but writing %s failed (%s); it is written when next read",
                             plan, version, path, exc)
        logger.info("plan %s: version %d saved by %s", plan, version, author)
        return version

    def versions(self, plan: str) -> list[dict]:
        """Every version of ``plan``, newest first: number, parent, author, comment, time, diff, communities."""
        with self._connection() as con:
            rows = con.execute("SELECT version, parent, author, comment, created, diff, communities FROM versions "
                               "WHERE plan = %s ORDER BY version DESC", (plan,)).fetchall()
        return [{"version": v, "parent": p, "author": a, "comment": c,
                 "created": t.astimezone(timezone.utc).isoformat(timespec="seconds"), "diff": d, "communities": list(k)}
                for v, p, a, c, t, d, k in rows]

    # sessions

    def session(self, plan: str, user: str) -> dict | None:
        """The stored edit session of ``user`` on ``plan``: ``base``, ``ops``, ``pos``, ``rev``."""
        with self._connection() as con:
            row = con.execute("SELECT base, ops, pos, rev FROM edit_sessions WHERE plan = %s AND username = %s",
                              (plan, user)).fetchone()
        return None if row is None else {"base": row[0], "ops": row[1], "pos": row[2], "rev": row[3]}

    def put_session(self, plan: str, user: str, *, base: int, ops: list, pos: int, rev: int) -> int:
        """Store a session read at revision ``rev``; returns its new revision (SessionConflict when stale)."""
        import psycopg

        try:
            with self._connection() as con, con.transaction():
                row = con.execute("SELECT rev FROM edit_sessions WHERE plan = %s AND username = %s FOR UPDATE",
                                  (plan, user)).fetchone()
                if (row[0] if row else 0) != rev:
                    raise SessionConflict()
                return self._put_session(con, plan, user, base=base, ops=ops, pos=pos)
        except psycopg.errors.UniqueViolation as exc:  # two first writes at once
            raise SessionConflict() from exc

    @staticmethod
    def _put_session(con, plan, user, *, base, ops, pos) -> int:
        return con.execute(
            "INSERT INTO edit_sessions (plan, username, base, ops, pos, rev) VALUES (%s, %s, %s, %s, %s, 1) "
            "ON CONFLICT (plan, username) DO UPDATE SET base = excluded.base, ops = excluded.ops, pos = excluded.pos, "
            "rev = edit_sessions.rev + 1, updated = now() RETURNING rev",
            (plan, user, base, json.dumps(ops, ensure_ascii=False), pos)).fetchone()[0]


def write_plans(store: PostgisStore, folder) -> list[Path]:
    """The plan file of each plan of the database in ``folder`` (``NAME.gpkg``), as at its latest
    version: written when missing or older, kept when up to date (what ``serve --db`` serves).

    Raises
    ------
    StoreError
        The database holds no plan.
    """
    folder = Path(folder)
    names = store.plans()
    if not names:
        raise StoreError(f"{safe_url(store.url)}: the database holds no plan; add one with `gridplan db import PLAN.gpkg`")
    paths = []
    for name in names:
        path = folder / f"{name}.gpkg"
        store.ensure(name, path)
        paths.append(path)
    logger.info("%d plan file(s) of the database in %s", len(paths), folder)
    return paths
