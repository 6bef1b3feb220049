"""Reading CSV tables (rosters, special households, household points, counts) whatever their encoding.

Tables from Chinese offices are often saved by spreadsheet programs as GBK; every CSV reader of
gridplan goes through :func:`read_csv`, which tries UTF-8 (with or without BOM), then GB18030 (a
superset of GBK and GB2312), and otherwise raises an :class:`~geo.errors.InputError` naming the file
and the byte that cannot be decoded.
"""

from __future__ import annotations

import logging

import pandas as pd

from geo.errors import InputError

__all__ = ["read_csv", "ENCODINGS"]

logger = logging.getLogger(__name__)

#: Encodings tried in turn when none is given.
ENCODINGS = ("utf-8-sig", "gb18030")


def read_csv(path, *, encoding: str | None = None, **kwargs) -> pd.DataFrame:
    """:func:`pandas.read_csv` of ``path`` in ``encoding``, or in the first of :data:`ENCODINGS` that decodes it.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    encoding : str, optional
        Its encoding; by default UTF-8, then GB18030.
    **kwargs
        Passed to :func:`pandas.read_csv`.

    Raises
    ------
    InputError
        When no encoding decodes the file (naming the byte offset), or the file is not CSV.
    """
    last = None
    for enc in (encoding,) if encoding else ENCODINGS:
        try:
            table = pd.read_csv(path, encoding=enc, **kwargs)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except LookupError as exc:
            raise InputError(f"{path}: unknown encoding {enc!r}; give e.g. utf-8 or gb18030") from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{path}: cannot be read as CSV ({' '.join(str(exc).split())}); "
                             "save it as comma-separated text") from exc
        if enc != ENCODINGS[0]:
            logger.info("%s: read as %s", path, enc)
        return table
    raise InputError(f"{path}: byte {last.start} cannot be decoded as {', '.join((encoding,) if encoding else ENCODINGS)}; "
                     "save the table as UTF-8 CSV, or name its encoding") from last
