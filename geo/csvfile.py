"""Reading CSV tables (rosters, special households, household points, counts) whatever their encoding.

Tables from Chinese offices are often saved by spreadsheet programs as GBK; every CSV reader of
gridplan goes through :func:`read_csv`, which tries UTF-8 (with or without BOM), then GB18030 (a
superset of GBK and GB2312), and otherwise raises an :class:`~geo.errors.InputError` naming the file
and the byte that cannot be decoded.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from geo.errors import InputError
from geo.headers import ALIASES, header_key

__all__ = ["read_csv", "read_table", "is_table", "ENCODINGS", "TABLE_SUFFIXES"]

logger = logging.getLogger(__name__)

#: File name endings read as plain tables (not through GDAL).
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls")

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
    where = f"byte {last.start}" if last is not None else "a byte"
    raise InputError(f"{path}: {where} cannot be decoded as {', '.join((encoding,) if encoding else ENCODINGS)}; "
                     "save the table as UTF-8 CSV, or name its encoding") from last


def is_table(path) -> bool:
    """Whether ``path`` is a CSV or spreadsheet file (by its name)."""
    return str(path).lower().endswith(TABLE_SUFFIXES)


def _with_header(raw: pd.DataFrame, p) -> pd.DataFrame:
    """The table under its header row: the first of the first 10 rows naming a known column.

    Ledgers often carry a title above the header (``XX社区住户台账``, merged across the sheet);
    the rows above the header are skipped and ``attrs["first_line"]`` keeps the line of the first
    record in the file, so messages still name lines as the user sees them.
    """
    known = {header_key(a) for names in ALIASES.values() for a in names}
    at = 0
    for i in range(min(10, len(raw))):
        cells = {header_key(v) for v in raw.iloc[i] if isinstance(v, str) and v.strip()}
        if cells & known:
            at = i
            break
    header = [str(v).strip() if isinstance(v, str) and v.strip() else f"column {j + 1}"
              for j, v in enumerate(raw.iloc[at])] if len(raw) else []
    table = raw.iloc[at + 1:].reset_index(drop=True)
    table.columns = header
    table.attrs["first_line"] = at + 2
    if at:
        logger.info("%s: the header is line %d (the lines above it are a title)", p, at + 1)
    return table


def read_table(path, *, sheet=None, encoding: str | None = None) -> pd.DataFrame:
    """A CSV (any of :data:`ENCODINGS`) or spreadsheet (``.xlsx``, ``.xls``) as a table of text.

    Parameters
    ----------
    path : str or Path
    sheet : str or int, optional
        The worksheet of a spreadsheet, by name or position counted from 1; default the first.
    encoding : str, optional
        Of a CSV file (see :func:`read_csv`).

    Returns
    -------
    DataFrame
        Every cell as text (IDs such as ``007`` keep their zeros), empty cells missing. The header
        is the first of the first 10 lines that names a column gridplan knows (a title above it
        is skipped), else line 1; row ``i`` (0-based) is line ``i + attrs["first_line"]`` of the
        file or the sheet, blank lines included.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file; check the path")
    if p.suffix.lower() in (".csv", ".txt"):
        if sheet is not None:
            raise InputError(f"{p}: a worksheet applies to spreadsheets (.xlsx), not to CSV files", hint="leave out {sheet}")
        # blank lines are kept (as empty rows) so that row i stays line i + first_line of the file
        raw = read_csv(p, encoding=encoding, header=None, dtype=str, keep_default_na=False, na_values=[""],
                       skipinitialspace=True, skip_blank_lines=False)
        return _with_header(raw, p)
    try:
        book = pd.ExcelFile(p)
    except Exception as exc:  # zip/xml errors, a missing xlrd for .xls
        raise InputError(f"{p}: cannot be read as a spreadsheet ({' '.join(str(exc).split())[:200]}); "
                         "save it as .xlsx or as CSV") from exc
    with book:
        names = book.sheet_names
        if sheet is None:
            chosen = names[0]
        elif str(sheet) in names:
            chosen = str(sheet)
        elif str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
            chosen = names[int(sheet) - 1]
        else:
            raise InputError(f"{p}: has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
        raw = pd.read_excel(book, sheet_name=chosen, header=None, dtype=str, keep_default_na=False,
                            na_values=[""])
    if len(names) > 1 and sheet is None:
        logger.info("%s: read the first sheet %r of %d (choose another sheet to override)", p, chosen, len(names))
    return _with_header(raw, p)
