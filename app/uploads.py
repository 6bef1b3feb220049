"""Uploaded input files: size limit, type by content, zipped Shapefiles unpacked safely.

The 新建方案 and 更新户数 pages (:mod:`app.newplan`) take footprints, ledgers, boundaries and
barriers as multipart uploads. This module is what stands between such a body and the job that
reads it:

- **Size.** A request to an upload route may carry ``UPLOAD_LIMIT`` bytes (200 MB by default);
  a larger one is refused with 413 from its ``Content-Length`` before anything (the CSRF check
  included) reads the body (:func:`init_app`). The error page says the limit in the visitor's
  language.
- **Type, by content.** The file's first bytes decide (:func:`sniff`): a ZIP holding ``xl/`` is a
  spreadsheet, a ZIP holding a ``.shp`` a zipped Shapefile, ``SQLite format 3`` a GeoPackage,
  ``{`` a GeoJSON, ``0 SECTION`` a DXF drawing, other text (no NUL byte) a CSV table. The name
  the browser sent is never used: files are stored as ``<role>.<suffix>`` in the job's folder.
- **Zipped Shapefiles** are unpacked member by member (:func:`extract_shapefile`): an absolute
  path, a ``..`` part, a link, more than one ``.shp`` or more than ``UNZIP_LIMIT`` bytes unpacked
  refuse the file; only the Shapefile's parts (``.shp .shx .dbf .prj .cpg``) are kept.
- **Atomic.** Every file is written to a temporary name in the job folder and renamed when whole.

Refusals are :class:`UploadRefused` (an :class:`geo.errors.InputError`) with a ``reason`` key of
``maps.i18n`` (``upload_<reason>``) and its ``params``, so pages say them in zh or en.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from flask import abort, request

from geo.errors import InputError

__all__ = ["ACCEPTED", "ROUTE_CEILING", "UPLOAD_ENDPOINTS", "UploadRefused", "extract_shapefile", "init_app", "save_upload", "sniff"]

logger = logging.getLogger(__name__)

#: What each upload field accepts (kinds of :func:`sniff`).
ACCEPTED = {
    "footprints": ("gpkg", "shapefile", "geojson", "dxf"),
    "ledger": ("xlsx", "csv"),
    "boundary": ("gpkg", "shapefile", "geojson"),
    "barriers": ("gpkg", "shapefile", "geojson"),
}
#: The suffix a stored file of each kind gets.
SUFFIX = {"gpkg": ".gpkg", "geojson": ".geojson", "dxf": ".dxf", "xlsx": ".xlsx", "csv": ".csv", "zip": ".zip"}
#: The parts of a Shapefile kept from a ZIP.
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
#: What upload routes say to :func:`app._data.body_limit` (whose hook runs first): no limit of their
#: own; :func:`init_app` then sets ``UPLOAD_LIMIT``, a setting, which a decorator cannot read.
ROUTE_CEILING = 2**40
#: Endpoints whose request bodies may be ``UPLOAD_LIMIT`` bytes (each also says ``body_limit(ROUTE_CEILING)``).
UPLOAD_ENDPOINTS = frozenset({"newplan.create", "recount.create"})
_HEAD = 64 * 1024
_CHUNK = 1024 * 1024


class UploadRefused(InputError):
    """An uploaded file that is not taken; ``reason`` names its ``upload_<reason>`` text in
    :mod:`maps.i18n`, ``params`` fills it."""

    def __init__(self, reason: str, message: str, **params):
        self.reason, self.params = reason, params
        super().__init__(message)


def init_app(app) -> None:
    """The upload size limit: registered before the CSRF check (:func:`app.auth.init_app`) reads a form."""

    @app.before_request
    def _limit_upload():
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = int(app.config["UPLOAD_LIMIT"])
            if (request.content_length or 0) > request.max_content_length:
                _drain(request.content_length)
                abort(413)


def _drain(length: int) -> None:
    """Read and drop a refused body (up to 2 × its announced length, in chunks) so that the 413 page
    reaches the browser instead of a reset connection (a server closing on unread data resets it)."""
    stream = request.environ.get("wsgi.input")
    if stream is None or length > 4 * 2**30:
        return
    left = length
    try:
        while left > 0:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
    except OSError:  # the client went away: nothing to answer
        pass


def sniff(path, *, head: bytes | None = None) -> str:
    """The kind of a file by its content: ``gpkg``, ``shapefile`` (a ZIP holding a ``.shp``),
    ``xlsx``, ``zip`` (another ZIP), ``geojson``, ``dxf``, ``csv`` or ``unknown``."""
    if head is None:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError):
            return "unknown"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.lower().endswith(".shp") for n in names):
            return "shapefile"
        return "zip"
    if b"\x00" in head:
        return "unknown"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):  # a JSON object: GeoJSON when it says a GeoJSON type
        return "geojson" if b'"type"' in head or b'"features"' in head else "unknown"
    lines = [ln.strip() for ln in text.splitlines()[:2]]
    if lines[:2] == [b"0", b"SECTION"]:
        return "dxf"
    return "csv"


def save_upload(storage, folder, role: str, *, unzip_limit: int) -> Path | None:
    """Store the uploaded file of field ``role`` in ``folder`` as ``<role>.<suffix>``; ``None`` when
    the field was left empty.

    Returns the file to read: the ``.shp`` of a zipped Shapefile (unpacked into ``folder/<role>/``).

    Raises
    ------
    UploadRefused
        A kind the field does not take, or a ZIP that is unsafe or holds no single Shapefile.
    """
    if storage is None or not storage.filename:
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{role}.upload-", dir=folder)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(storage.stream, out, _CHUNK)
        if tmp.stat().st_size == 0:
            raise UploadRefused("empty", f"{role}: the file is empty", field=role)
        kind = sniff(tmp)
        if kind not in ACCEPTED[role]:
            raise UploadRefused("wrong_type", f"{role}: a {kind} file is not taken here; give one of "
                                f"{', '.join(ACCEPTED[role])}", field=role, kind=kind,
                                accepted=", ".join(ACCEPTED[role]))
        if kind == "shapefile":
            return extract_shapefile(tmp, folder / role, stem=role, limit=unzip_limit)
        target = folder / f"{role}{SUFFIX[kind]}"
        os.replace(tmp, target)
        logger.info("upload %s: %s, %d bytes", role, kind, target.stat().st_size)
        return target
    finally:
        tmp.unlink(missing_ok=True)


def _unsafe(info: zipfile.ZipInfo) -> bool:
    """An entry that would land outside the folder, or is not a plain file."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    mode = info.external_attr >> 16
    return (name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts
            or (mode and stat.S_ISLNK(mode)))


def extract_shapefile(archive, dest, *, stem: str, limit: int) -> Path:
    """Unpack the one Shapefile of ZIP ``archive`` into folder ``dest`` as ``<stem>.shp`` (and its
    ``.shx .dbf .prj .cpg``); the path of the ``.shp``.

    Raises
    ------
    UploadRefused
        An absolute or ``..`` entry, a link (zip-slip), more than ``limit`` bytes unpacked, no or
        several ``.shp``, or a ``.shp`` without its ``.dbf``/``.shx``.
    """
    dest = Path(dest)
    with zipfile.ZipFile(archive) as z:
        infos = [i for i in z.infolist() if not i.is_dir()]
        bad = [i.filename for i in infos if _unsafe(i)]
        if bad:
            raise UploadRefused("zip_unsafe", f"the ZIP has entries outside its folder or links: {', '.join(bad[:5])}",
                                entries=", ".join(bad[:5]))
        shps = [i for i in infos if i.filename.lower().endswith(".shp") and not _hidden(i.filename)]
        if len(shps) != 1:
            raise UploadRefused("zip_shapefiles", f"the ZIP holds {len(shps)} Shapefiles (.shp); put exactly one "
                                "in it", count=len(shps))
        base = shps[0].filename[:-4]
        parts = {i.filename[len(base):].lower(): i for i in infos
                 if i.filename[:len(base)] == base and i.filename[len(base):].lower() in SHAPEFILE_PARTS}
        missing = [p for p in (".shx", ".dbf") if p not in parts]
        if missing:
            raise UploadRefused("zip_parts", f"the Shapefile in the ZIP has no {', '.join(missing)} beside its .shp",
                                missing=", ".join(missing))
        total = sum(i.file_size for i in parts.values())
        if total > limit:
            raise UploadRefused("zip_too_large", f"the Shapefile unpacks to {total} bytes, more than {limit}",
                                size=total, limit=limit)
        tmp = Path(tempfile.mkdtemp(prefix=f".{stem}.unzip-", dir=dest.parent))
        try:
            written = 0
            for suffix, info in parts.items():
                with z.open(info) as src, open(tmp / f"{stem}{suffix}", "wb") as out:
                    while chunk := src.read(_CHUNK):  # the sizes a ZIP declares are not trusted either
                        written += len(chunk)
                        if written > limit:
                            raise UploadRefused("zip_too_large", f"the Shapefile unpacks to more than {limit} bytes",
                                                size=written, limit=limit)
                        out.write(chunk)
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("upload %s: a zipped Shapefile (%s), %d bytes unpacked", stem, ", ".join(sorted(parts)), written)
    return dest / f"{stem}.shp"


def _hidden(name: str) -> bool:
    """macOS's ``__MACOSX/`` copies and dot files are not the Shapefile."""
    return any(p.startswith((".", "__MACOSX")) for p in PurePosixPath(name.replace("\\", "/")).parts)
