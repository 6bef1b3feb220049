"""Where the editor keeps plan versions and edit sessions: one interface, two backends.

- :class:`~app.store.files.FileStore` — SQLite beside the plan files (``VERSIONS_DB`` a path, or
  unset): the embedded default, whole plans per version.
- :class:`~app.store.postgis.PostgisStore` — PostgreSQL/PostGIS (``VERSIONS_DB`` a
  ``postgresql://`` URL, ``gridplan serve --db``): the city deployment; versions keep what
  changed, geometry in PostGIS columns.

Both follow the interface :class:`~app.store.base.VersionStore` and the one rule of concurrent
saves, :func:`~app.store.base.settle` (conflicts per community).
"""

from __future__ import annotations

from app.store.base import (
    FILE_AUTHOR,
    FIRST_COMMENT,
    OUTSIDE_COMMENT,
    SessionConflict,
    VersionConflict,
    VersionStore,
)
from app.store.session import EditSession

__all__ = ["VersionStore", "VersionConflict", "SessionConflict", "EditSession", "FILE_AUTHOR", "FIRST_COMMENT",
           "OUTSIDE_COMMENT", "open_store", "is_database_url", "safe_url"]


def is_database_url(where) -> bool:
    """Whether ``where`` names a PostgreSQL database rather than an SQLite file."""
    return str(where).startswith(("postgresql://", "postgres://"))


def safe_url(where) -> str:
    """``where`` as it may be shown or logged: a database URL without its password."""
    from urllib.parse import urlsplit, urlunsplit

    if not is_database_url(where):
        return str(where)
    parts = urlsplit(str(where))
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def open_store(where) -> VersionStore:
    """The version store at ``where``: a ``postgresql://`` URL, else an SQLite file (made when missing)."""
    if is_database_url(where):
        from app.store.postgis import PostgisStore

        return PostgisStore(str(where))
    from app.store.files import FileStore

    return FileStore(where)
