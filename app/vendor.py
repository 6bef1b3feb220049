"""Vendor the web maps' browser assets into ``app/static/vendor`` from the npm registry.

Run at install time (``make venv``): ``python -m app.vendor``. For each package of
:data:`maps.web.assets.WEB_ASSETS` it runs ``npm pack NAME@VERSION`` (npm checks the tarball's
integrity) into a cache folder, then copies the files the maps use, and those their CSS refers
to (:data:`maps.web.assets.VENDOR_EXTRA`), to ``app/static/vendor/NAME@VERSION/``. Nothing is
copied by hand and nothing vendored is committed; offline mode (the default of ``gridplan serve``)
serves these copies and refuses to start without them, and ``gridplan map`` writes them into its
file.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from app import VENDOR_DIR, missing_assets
from maps.web.assets import VENDOR_EXTRA, WEB_ASSETS

__all__ = ["packages", "vendor"]

logger = logging.getLogger(__name__)


def packages() -> dict:
    """``{(name, version): [paths to copy]}`` for every package the maps use."""
    out: dict = {}
    for name, version, path in WEB_ASSETS.values():
        out.setdefault((name, version), []).append(path)
    for (name, _version), paths in out.items():
        paths.extend(VENDOR_EXTRA.get(name, ()))
    return out


def _tarball(name: str, version: str, cache: Path) -> Path:
    """The package's tarball in ``cache``, fetched with ``npm pack`` when not there yet."""
    stem = f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    target = cache / stem
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("app.vendor: npm is not installed (Debian: apt-get install npm)")
        logger.info("npm pack %s@%s", name, version)
        subprocess.run([npm, "pack", f"{name}@{version}", "--pack-destination", str(cache), "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
    return target


def vendor(*, dest: Path = VENDOR_DIR, cache: Path | None = None) -> list[Path]:
    """Fetch and copy every asset; returns the package folders written."""
    cache = Path(cache or Path(tempfile.gettempdir()) / "gridplan-npm-cache")
    cache.mkdir(parents=True, exist_ok=True)
    written = []
    for (name, version), paths in packages().items():
        folder = dest / f"{name}@{version}"
        staging = Path(tempfile.mkdtemp(prefix=".vendor-", dir=dest.parent if dest.parent.exists() else None))
        try:
            with tarfile.open(_tarball(name, version, cache)) as tar:
                members = [m for m in tar.getmembers()
                           if (m.isfile() or m.isdir()) and any(
                               m.name == f"package/{p}" or m.name.startswith(f"package/{p}/") for p in paths)]
                tar.extractall(staging, members=members, filter="data")
            missing = [p for p in paths if not (staging / "package" / p).exists()]
            if missing:
                raise SystemExit(f"app.vendor: {name}@{version} has no {', '.join(missing)}")
            shutil.rmtree(folder, ignore_errors=True)
            folder.parent.mkdir(parents=True, exist_ok=True)
            (staging / "package").rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        written.append(folder)
        logger.info("vendored %s@%s → %s", name, version, folder)
    for stale in set(_vendored(dest)) - {f"{name}@{version}" for name, version in packages()}:
        shutil.rmtree(dest / stale)
        logger.info("removed %s (no longer used)", stale)
    return written


def _vendored(dest: Path) -> list[str]:
    """The package folders in ``dest``: ``name@version`` or ``@scope/name@version``."""
    if not dest.is_dir():
        return []
    tops = [p for p in dest.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return [f"{p.name}/{q.name}" for p in tops if p.name.startswith("@") for q in p.iterdir() if q.is_dir()] + \
        [p.name for p in tops if not p.name.startswith("@")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.vendor", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="Folder for the npm tarballs (default: a temp folder).")
    parser.add_argument("--check", action="store_true", help="Only report whether the assets are there.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="app.vendor: %(message)s")
    if not args.check:
        vendor(cache=args.cache)
    missing = missing_assets()
    for path in missing:
        logger.error("missing %s", path)
    logger.info("%d asset files ready in %s", sum(1 for _ in VENDOR_DIR.rglob("*") if _.is_file()), VENDOR_DIR)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
