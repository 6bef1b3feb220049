"""The users database and audit log on PostgreSQL: a connection that speaks the part of Python's
``sqlite3`` interface :mod:`app.auth` and :mod:`app.audit` use, so that their SQL (written for
SQLite, in the portable subset: ``ON CONFLICT … DO UPDATE``, ``RETURNING``) runs on either.

:func:`connect` turns ``?`` and ``?N`` parameters into psycopg's, ``with con:`` into a transaction
(committed on success, rolled back on an error, the connection kept open, as ``sqlite3`` does), and
makes rows that read by position and by column name. A script (:meth:`PgConnection.executescript`)
gets PostgreSQL's auto-numbered key for SQLite's ``INTEGER PRIMARY KEY AUTOINCREMENT``.
"""

from __future__ import annotations

import re
import sqlite3

__all__ = ["connect", "PgConnection", "DATABASE_ERRORS"]

_NUMBERED = re.compile(r"\?(\d+)")


def _errors() -> tuple:
    import psycopg

    from app.store.pg_schema import StoreError

    return (sqlite3.Error, psycopg.Error, StoreError)


#: What a failed statement, or a database that cannot be reached, raises on either database.
DATABASE_ERRORS = _errors()


class _Row(tuple):
    """A row read by position (``row[0]``) or by column name (``row["role"]``, ``dict(row)``)."""

    names: tuple = ()

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self) -> tuple:
        return self.names


def _row_factory(cursor):
    names = tuple(c.name for c in cursor.description or ())
    kind = type("Row", (_Row,), {"names": names})
    return lambda values: kind(values)


def _statement(sql: str, params=()):
    """``sql`` and ``params`` in psycopg's form: ``?N`` → ``%(pN)s``, ``?`` → ``%s``, ``%`` → ``%%``."""
    sql = sql.replace("%", "%%")
    if _NUMBERED.search(sql):
        return _NUMBERED.sub(r"%(p\1)s", sql), {f"p{k + 1}": v for k, v in enumerate(params)}
    return sql.replace("?", "%s"), tuple(params)


class PgConnection:
    """A PostgreSQL connection with the ``sqlite3.Connection`` methods the users database uses."""

    def __init__(self, url: str):
        from app.store.pg_schema import connect as pg_connect

        self._con = pg_connect(url)
        self._con.row_factory = _row_factory
        self._transactions: list = []

    def execute(self, sql: str, params=()):
        return self._con.execute(*_statement(sql, params))

    def executemany(self, sql: str, rows):
        statement, _ = _statement(sql, ())
        with self._con.cursor() as cur:
            cur.executemany(statement, [tuple(r) for r in rows])
        return cur

    def executescript(self, script: str) -> None:
        self._con.execute(script.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "bigint GENERATED ALWAYS AS IDENTITY "
                                                                           "PRIMARY KEY"))

    def __enter__(self):
        self._transactions.append(self._con.transaction())
        self._transactions[-1].__enter__()
        return self

    def __exit__(self, *exc):
        self._transactions.pop().__exit__(*exc)
        return False

    def close(self) -> None:
        self._con.close()

    def __del__(self):  # as sqlite3's: a connection nobody closed closes when collected, without a warning
        con = getattr(self, "_con", None)
        if con is not None and not con.closed:
            con.close()


def connect(url: str) -> PgConnection:
    """A connection to the PostgreSQL database ``url`` in the ``sqlite3`` manner (see the module)."""
    return PgConnection(url)
