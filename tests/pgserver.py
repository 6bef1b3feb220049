"""A throw-away PostgreSQL + PostGIS server for the tests and benchmarks, from Debian's packages
(``postgresql``, ``postgresql-15-postgis-3``: ``make system-deps`` installs them).

:class:`TestServer` runs ``initdb`` into a temporary folder and ``pg_ctl start`` on a Unix socket
in that folder only (no TCP port); :meth:`TestServer.database` makes a fresh database with PostGIS
(from a template made once). Run as root (CI containers), the server runs as the ``postgres``
user, as PostgreSQL refuses to run as root. Anything missing is :class:`ServerUnavailable` with
what to install: the tests fail with it, they never skip.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["TestServer", "ServerUnavailable"]

_PACKAGES = "postgresql postgresql-15-postgis-3 (make system-deps installs them)"


class ServerUnavailable(RuntimeError):
    """The test server cannot start: what is missing and how to get it."""


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise ServerUnavailable(f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); install {_PACKAGES}")
    bindir = found[-1].parent
    version = bindir.parent.name
    if not list(Path(f"/usr/share/postgresql/{version}/extension").glob("postgis.control")):
        raise ServerUnavailable(f"PostGIS is not installed for PostgreSQL {version}; install "
                                f"postgresql-{version}-postgis-3 (make system-deps installs it)")
    return bindir


class TestServer:
    """A PostgreSQL server in a temporary folder, reached by its Unix socket; :meth:`stop` removes it."""

    __test__ = False  # not a test class for pytest

    def __init__(self):
        self.bindir = _bin_dir()
        self.folder = Path(tempfile.mkdtemp(prefix="gridplan-pg-", dir="/tmp"))  # short: socket paths ≤ 107 bytes
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.port = 5432
        self._as = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            try:
                user = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ServerUnavailable(f"running as root and there is no postgres user; install {_PACKAGES}") from exc
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "gridplan", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o",
                  f"-k {self.folder} -c listen_addresses='' -p {self.port} -F -c max_connections=100", "start")
        self._sql("postgres", "CREATE DATABASE gridplan_template")
        self._sql("gridplan_template", "CREATE EXTENSION postgis")

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self._as, str(self.bindir / program), *args], capture_output=True, text=True,
                              cwd=self.folder)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise ServerUnavailable(f"{program} failed ({done.returncode}): {done.stderr.strip()[-2000:]}\n{log}")

    def url(self, database: str = "postgres") -> str:
        """The database's URL (``postgresql://`` over the server's Unix socket)."""
        return f"postgresql://gridplan@/{database}?host={self.folder}&port={self.port}"

    def _sql(self, database: str, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as con:
            con.execute(statement)

    def database(self) -> str:
        """A new, empty database with PostGIS; its URL."""
        name = f"gridplan_{os.getpid()}_{next(self._names)}"
        self._sql("postgres", f"CREATE DATABASE {name} TEMPLATE gridplan_template")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
