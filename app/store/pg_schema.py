"""The PostgreSQL/PostGIS schema of the city deployment's version store (:mod:`app.store.postgis`):
its tables, made and migrated under an advisory lock when a store opens the database
(:func:`migrate`), and the connection (:func:`connect`) with errors a deployer can act on."""

from __future__ import annotations

import logging

from app.store import safe_url
from geo.errors import GridplanError

__all__ = ["SCHEMA_VERSION", "StoreError", "connect", "migrate"]

logger = logging.getLogger(__name__)

#: The schema this release writes; a store opened on an older one migrates it (:data:`_MIGRATIONS`).
SCHEMA_VERSION = 1

#: Statements that bring the schema from version ``n - 1`` to ``n``.
_MIGRATIONS = {
    1: """
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE plans (
    plan text PRIMARY KEY, srid integer NOT NULL, crs text NOT NULL, created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE versions (
    plan text NOT NULL REFERENCES plans ON DELETE CASCADE, version integer NOT NULL, parent integer,
    author text NOT NULL, comment text NOT NULL DEFAULT '', created timestamptz NOT NULL DEFAULT now(),
    diff jsonb, meta jsonb NOT NULL, layout jsonb NOT NULL, communities text[] NOT NULL,
    PRIMARY KEY (plan, version)
);
CREATE TABLE features (
    plan text NOT NULL, layer text NOT NULL, fid text NOT NULL, version integer NOT NULL, seq integer NOT NULL,
    removed boolean NOT NULL DEFAULT false, props jsonb, geom geometry,
    PRIMARY KEY (plan, layer, fid, version), FOREIGN KEY (plan, version) REFERENCES versions ON DELETE CASCADE
);
CREATE INDEX features_geom ON features USING gist (geom);
CREATE TABLE assignments (
    plan text NOT NULL, version integer NOT NULL, building_id text NOT NULL, grid_id text NOT NULL, grid_code text,
    PRIMARY KEY (plan, building_id, version), FOREIGN KEY (plan, version) REFERENCES versions ON DELETE CASCADE
);
CREATE TABLE edit_sessions (
    plan text NOT NULL, username text NOT NULL, base integer NOT NULL, ops jsonb NOT NULL, pos integer NOT NULL,
    rev integer NOT NULL, updated timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (plan, username)
);
""",
}
_LOCK = 0x67726964  # advisory lock of the schema's creation and migration ("grid")


class StoreError(GridplanError):
    """The database cannot be used: unreachable, without PostGIS, or of a newer schema."""


def connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, options="-c TimeZone=UTC")
    except psycopg.OperationalError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise StoreError(f"{safe_url(url)}: cannot connect to PostgreSQL ({detail}); check the URL, that the server "
                         "runs and that the user may connect (see docs/deploy.md)") from exc


def migrate(con) -> int:
    """Create or migrate the schema of the database on ``con`` to :data:`SCHEMA_VERSION`; returns
    the version it was at (0 for an empty database)."""
    import psycopg

    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        con.execute("CREATE TABLE IF NOT EXISTS gridplan_schema (version integer NOT NULL)")
        row = con.execute("SELECT version FROM gridplan_schema").fetchone()
        was = 0 if row is None else row[0]
        if was > SCHEMA_VERSION:
            raise StoreError(f"the database's gridplan schema is version {was}, newer than this gridplan's "
                             f"({SCHEMA_VERSION}); upgrade gridplan")
        try:
            for n in range(was + 1, SCHEMA_VERSION + 1):
                con.execute(_MIGRATIONS[n])
                logger.info("database schema: version %d", n)
        except psycopg.errors.FeatureNotSupported as exc:
            raise StoreError(f"PostGIS is not installed on the database server ({exc}); install "
                             "postgresql-15-postgis-3 (see docs/deploy.md)") from exc
        except psycopg.errors.UndefinedFile as exc:
            raise StoreError(f"PostGIS is not installed on the database server ({exc}); install "
                             "postgresql-15-postgis-3 (see docs/deploy.md)") from exc
        if row is None:
            con.execute("INSERT INTO gridplan_schema VALUES (%s)", (SCHEMA_VERSION,))
        elif was < SCHEMA_VERSION:
            con.execute("UPDATE gridplan_schema SET version = %s", (SCHEMA_VERSION,))
    return was
