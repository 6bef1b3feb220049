"""Household ledgers (台账): tables of households by building, joined to the footprints by a key.

A street or community office keeps its households in a spreadsheet by address — 小区, 楼栋号,
单元, 户数 — not as coordinates. :func:`read_ledger` reads such a table (CSV in UTF-8 or GBK,
``.xlsx``), :func:`match_ledger` joins its rows to the buildings by a building key, and
:func:`ledger_households` does both for ``gridplan partition --households`` and ``gridplan update
--households`` (one rule for both commands).

The table
    One row per household, or a count column (``户数``/``households``) giving the households of
    the row (a building, or a unit of it). The building column is ``--ledger-key``, else the first
    of ``building_id``, ``楼栋号``, ``楼栋``, ``楼号``, ``幢号`` … (see :data:`geo.headers.ALIASES`);
    a ``小区`` column names the compound. Rows are named by their line in the file or the sheet
    (the header is line 1), as a spreadsheet user counts them.

The key on the buildings
    ``--building-key FIELD``, else the first building field named like a building number
    (``楼栋号``, ``楼号``, ``name``, ``名称`` …), else the building IDs. Generated IDs
    (``B00001``… in file order) match a ledger building number by their number: ``3幢`` is
    ``B00003``.

Matching
    Both sides are normalised by :func:`split_building` into (compound, number): full-width
    characters made half-width, Chinese numerals made digits, the marker (幢, 栋, 号楼, 楼, 座,
    #, 号) and what follows it (单元, 室) dropped, the text before the number kept as the compound.
    A row matches the building of the same number whose compound is the same, or contains the
    other, or is missing on one side. A row that matches no building, or several, is reported
    with its line and the nearest candidates; nothing is dropped silently. Buildings the ledger
    does not mention keep the estimate (footprint area × floors), and the summary says how many.

Examples
--------
>>> split_building("苏州花园3幢2单元301室")
('苏州花园', '3')
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.building_numbers import chinese_number, clean_compound, compatible, split_building
from geo.csvfile import read_table
from geo.errors import InputError, ValidationError, ids_text, rows_text
from geo.headers import ALIASES, find_column, header_key
from geo.storeys import ledger_cells

__all__ = [
    "Ledger",
    "LedgerMatch",
    "split_building",
    "chinese_number",
    "read_ledger",
    "match_ledger",
    "ledger_households",
    "BUILDING_FIELDS",
    "MAX_SEARCHED",
]

logger = logging.getLogger(__name__)

#: Unmatched rows whose nearest buildings are searched (difflib over every building's key).
MAX_SEARCHED = 500
#: Building fields (besides the building aliases of :mod:`geo.headers`) tried as the buildings' key.
BUILDING_FIELDS = ("cad_text", "名称", "建筑名称", "name")

_GENERATED = re.compile(r"^B(\d{5,})$")


@dataclass
class Ledger:
    """A household ledger as read: the table and the roles of its columns.

    Attributes
    ----------
    table : DataFrame
        As read (text); row ``i`` is line ``i + first_line`` of the file.
    path : str
    key : str
        The building column.
    count : str or None
        The households column; ``None``: one row per household.
    compound, unit, persons, room : str or None
        The 小区, 单元, persons and 室号 columns, when there are.
    first_line : int
        The line of the file holding the table's first row (2 under a header on line 1).
    """

    table: pd.DataFrame
    path: str
    key: str
    count: str | None = None
    compound: str | None = None
    unit: str | None = None
    persons: str | None = None
    first_line: int = 2
    room: str | None = None


def _whole_numbers(table: pd.DataFrame, column: str, path: str, what: str, first_line: int = 2) -> pd.Series:
    raw = table[column]
    text = raw.fillna("").astype(str).str.strip()
    values = pd.to_numeric(text.map(lambda v: unicodedata.normalize("NFKC", v).rstrip("户人 ")), errors="coerce")
    rows = table.index.to_numpy()
    problems = []
    for mask, why in ((text.eq(""), "are empty"), (values.isna() & text.ne(""), "are not numbers"),
                      (values < 0, "are negative"), (values.notna() & (values % 1 != 0), "are not whole numbers")):
        if mask.any():
            shown = ids_text(f"{rows[i] + first_line} ({text.iloc[i]!r})" if text.iloc[i]
                             else str(rows[i] + first_line) for i in np.flatnonzero(mask))
            problems.append(f"{int(mask.sum())} {what} value(s) of column {column!r} {why}: lines {shown}")
    if problems:
        problems.append(f"{what}s must be whole numbers ≥ 0: fix the {column!r} column, or remove the rows")
        raise ValidationError(path, problems)
    return values.astype("int64")


def read_ledger(path, *, key: str | None = None, count: str | None = None, sheet=None,
                encoding: str | None = None, table: pd.DataFrame | None = None) -> Ledger:
    """Read a household ledger: CSV (UTF-8 or GBK/GB18030) or a spreadsheet's sheet.

    Parameters
    ----------
    path : str or Path
    key : str, optional
        The building column (``--ledger-key``); by default the first building-like header.
    count : str, optional
        The households column; by default ``户数``/``households`` if there is one, else every row
        is one household.
    sheet : str or int, optional
        Worksheet of a spreadsheet (``--sheet``), default the first.
    encoding : str, optional
        Of a CSV file (``--encoding``), default UTF-8 then GB18030.
    table : DataFrame, optional
        The table already read from ``path``.

    Examples
    --------
    >>> led = read_ledger("data/suzhou_gusu/ledger.csv")
    >>> led.key, led.count, led.compound, led.unit
    ('楼栋号', '户数', '小区', '单元')
    """
    path = str(path)
    if table is None:
        table = read_table(path, sheet=sheet, encoding=encoding)
    if table.empty:
        raise InputError(f"{path}: has no rows")
    key_col = find_column(table, "building", given=key, path=path)
    if key_col is None:
        raise InputError(f"{path}: has no building column to join the ledger on (looked for 楼栋号, 楼栋, 楼号, "
                         f"building_id …); its columns are: {', '.join(map(str, table.columns))}; name the "
                         "column", hint="name the column with {ledger_key}")
    count_col = find_column(table, "households", given=count, path=path)
    ledger = Ledger(table=table.reset_index(drop=True), path=path, key=key_col, count=count_col,
                    compound=find_column(table, "compound"), unit=find_column(table, "unit"),
                    persons=find_column(table, "persons"), first_line=int(table.attrs.get("first_line", 2)),
                    room=find_column(table, "room"))
    logger.info("%s: ledger of %d rows, building column %r, %s", path, len(table), key_col,
                f"households column {count_col!r}" if count_col else "one household per row")
    return ledger


@dataclass
class LedgerMatch:
    """The ledger joined to the buildings.

    Attributes
    ----------
    households : Series
        ``int64`` households of each building the ledger matched, indexed by ``building_id``.
    persons : Series or None
        Persons per matched building, when the ledger has a persons column.
    rows : DataFrame
        One row per ledger row: ``line``, ``key`` (as written), ``building_id``, ``status``
        (``matched``, ``unmatched``, ``ambiguous``, ``duplicate``, ``blank``), ``households`` and
        ``candidates`` (the nearest buildings, for rows not matched).
    building_key : str
        What the buildings were matched on (a field, or ``building_id``).
    notes : list of str
        The summary and every problem, for the output.
    cells : DataFrame or None
        The matched rows' households by ``building_id``, ``unit`` and ``floor`` (from the 单元 and
        室号 columns or the address: :func:`geo.storeys.ledger_cells`).
    """

    households: pd.Series
    persons: pd.Series | None
    rows: pd.DataFrame
    building_key: str
    notes: list = field(default_factory=list)
    cells: pd.DataFrame | None = None

    def counts(self) -> dict:
        """Rows and households by status."""
        by = self.rows.groupby("status")["households"]
        return {"rows": by.size().to_dict(), "households": by.sum().astype(int).to_dict()}


def _building_field(buildings: pd.DataFrame) -> str | None:
    """The buildings' field holding building numbers: the first with a value of the names tried.

    ``building`` (OSM's building type) and ``building_id`` (the index) are not tried.
    """
    names = [a for a in ALIASES["building"] if a not in ("building", "building_id")] + list(BUILDING_FIELDS)
    by_key = {header_key(c): c for c in buildings.columns if c != "geometry"}
    for name in names:
        col = by_key.get(header_key(name))
        if col is not None and buildings[col].fillna("").astype(str).str.strip().ne("").any():
            logger.info("ledger: matching the buildings' field %r", col)
            return col
    return None


def _building_keys(buildings: pd.DataFrame, building_key: str | None, path: str) -> tuple[pd.Series, pd.Series, str]:
    """Key text and compound of each building, and what the key is."""
    compound = pd.Series("", index=buildings.index, dtype=object)
    if building_key is None:
        building_key = _building_field(buildings)
    if building_key is not None and building_key != "building_id":
        if building_key not in buildings.columns:
            raise InputError(f"{path}: the buildings have no field {building_key!r} for the building key; their fields "
                             f"are: {', '.join(c for c in buildings.columns if c != 'geometry')}")
        keys = buildings[building_key]
        comp_col = find_column(buildings, "compound")
        if comp_col is not None and comp_col != building_key:
            compound = buildings[comp_col].fillna("").astype(str)
        return keys, compound, building_key
    ids = pd.Series(buildings.index.astype(str), index=buildings.index)
    generated = ids.str.fullmatch(_GENERATED.pattern)
    if generated.all():
        # B00003 is the third feature of the file: a ledger's building 3
        return ids.str[1:].astype(int).astype(str), compound, "building_id"
    return ids, compound, "building_id"


def match_ledger(ledger: Ledger, buildings: pd.DataFrame, *, building_key: str | None = None,
                 others: str = "keep the estimate") -> LedgerMatch:
    """Join the ledger's rows to the buildings (see the module's rules).

    Parameters
    ----------
    ledger : Ledger
    buildings : DataFrame
        Indexed by ``building_id``.
    building_key : str, optional
        The buildings' field to match on (``--building-key``); by default a building-number field,
        else the building IDs.
    others : str
        What happens to the buildings the ledger does not mention, for the summary.

    Returns
    -------
    LedgerMatch

    Examples
    --------
    >>> import geo
    >>> b = geo.io.read_buildings("data/suzhou_gusu/buildings.geojson")
    >>> m = match_ledger(read_ledger("data/suzhou_gusu/ledger.csv"), b)
    >>> m.building_key, m.households.index[0]
    ('building_id', 'B00001')
    """
    t = ledger.table
    first = ledger.first_line
    keys, bcompound, key_name = _building_keys(buildings, building_key, ledger.path)
    exact: dict[str, list] = {}
    by_number: dict[str, list] = {}
    labels: dict[str, str] = {}
    for bid, raw, comp in zip(buildings.index, keys, bcompound):
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            continue
        text = unicodedata.normalize("NFKC", str(raw)).strip()
        parsed = split_building(text)
        c = clean_compound(unicodedata.normalize("NFKC", comp)) if comp else (parsed[0] if parsed else "")
        exact.setdefault(text, []).append((bid, c))
        if key_name == "building_id" and text != str(bid):
            exact.setdefault(str(bid), []).append((bid, c))  # B00003 as written, besides its number 3
        if parsed is None:
            continue
        by_number.setdefault(parsed[1], []).append((bid, c))
        labels[bid] = f"{c}{parsed[1]}" if c else parsed[1]

    blank = t.isna().all(axis=1) | t.fillna("").astype(str).apply(lambda c: c.str.strip()).eq("").all(axis=1)
    counts = pd.Series(np.where(blank, 0, 1), index=t.index, dtype="int64")
    if ledger.count:
        counts[~blank] = _whole_numbers(t[~blank], ledger.count, ledger.path, "household", first)
    persons = None
    if ledger.persons:
        persons = pd.Series(0, index=t.index, dtype="int64")
        persons[~blank] = _whole_numbers(t[~blank], ledger.persons, ledger.path, "person", first)
    key_text = t[ledger.key].fillna("").astype(str).str.strip()
    row_comp = (t[ledger.compound].fillna("").astype(str) if ledger.compound
                else pd.Series("", index=t.index))

    # duplicates: a row equal in every column to an earlier one (a double entry) — unless each row is
    # one household and nothing but the building tells them apart
    identity = [c for c in t.columns if c not in {ledger.key, ledger.compound, ledger.unit, ledger.count}]
    check_dups = ledger.count is not None or bool(identity)
    norm = t.fillna("").astype(str).apply(lambda c: c.str.strip().map(lambda v: unicodedata.normalize("NFKC", v)))
    dup = norm.duplicated(keep="first") & ~blank if check_dups else pd.Series(False, index=t.index)
    first_of = {}
    if dup.any():
        rows_by = norm.apply(tuple, axis=1)
        seen: dict = {}
        for i, r in rows_by.items():
            if r in seen and dup[i]:
                first_of[i] = seen[r]
            seen.setdefault(r, i)

    status, building, candidates = [], [], []
    searched = 0
    ids = set(map(str, buildings.index))
    all_labels = sorted(set(labels.values()))
    by_label: dict[str, list] = {}
    for bid, lab in labels.items():
        by_label.setdefault(lab, []).append(bid)
    for i in t.index:
        cand = ""
        if blank[i]:
            st, bid = "blank", None
        elif dup[i]:
            st, bid = "duplicate", None
            cand = f"repeats line {first_of[i] + first}"
        else:
            text = unicodedata.normalize("NFKC", key_text[i])
            given = clean_compound(unicodedata.normalize("NFKC", row_comp[i]))
            found = [b for b, c in exact.get(text, []) if compatible(given, c)]
            parsed = split_building(text) if not found else None
            if parsed is not None:
                comp = given or parsed[0]
                found = [b for b, c in by_number.get(parsed[1], []) if compatible(comp, c)]
            if not found and text in ids:
                found = [text]  # a building ID as written
            if len(found) == 1:
                st, bid = "matched", found[0]
            elif found:
                st, bid = "ambiguous", None
                cand = ids_text((f"{labels.get(b, b)} [{b}]" for b in found), limit=5)
            else:
                st, bid = "unmatched", None
                if parsed is None:
                    cand = "no building number in it" if text else "the building cell is empty"
                elif by_number.get(parsed[1]):  # the number exists, in other compounds
                    cand = "in other compounds: " + ids_text(
                        (f"{labels[b]} [{b}]" for b, _ in by_number[parsed[1]]), limit=5)
                elif searched < MAX_SEARCHED:
                    searched += 1
                    comp = given or parsed[0]
                    near = difflib.get_close_matches(f"{comp}{parsed[1]}", all_labels, n=3, cutoff=0.5)
                    near = near or difflib.get_close_matches(parsed[1], all_labels, n=3, cutoff=0.5)
                    cand = ("nearest: " + ", ".join(f"{n} [{ids_text(by_label[n], limit=2)}]" for n in near)
                            if near else "no building near that name")
                else:
                    cand = f"nearest not searched beyond the first {MAX_SEARCHED} unmatched rows"
        status.append(st)
        building.append(bid)
        candidates.append(cand)
    shown = key_text.where(key_text.ne(""), norm.apply(lambda r: ",".join(r), axis=1))
    rows = pd.DataFrame({"line": t.index + first, "key": shown.to_numpy(), "building_id": building,
                         "status": status, "households": counts.to_numpy(), "candidates": candidates},
                        index=t.index)
    ok = rows["status"] == "matched"
    households = rows.loc[ok, "households"].groupby(rows.loc[ok, "building_id"]).sum().astype("int64")
    households = households.reindex([b for b in buildings.index if b in households.index])
    households.index.name = "building_id"
    per_persons = None
    if persons is not None:
        per_persons = persons[ok].groupby(rows.loc[ok, "building_id"]).sum().astype("int64")
        per_persons = per_persons.reindex(households.index)
    match = LedgerMatch(households=households.rename("households"), persons=per_persons, rows=rows,
                        building_key=key_name,
                        cells=ledger_cells(t, building=rows["building_id"].where(ok), households=rows["households"],
                                           unit_col=ledger.unit, room_col=ledger.room, key_col=ledger.key))
    match.notes = _notes(match, ledger, n_buildings=len(buildings), others=others)
    for note in match.notes:
        logger.info(note)
    return match


def _notes(match: LedgerMatch, ledger: Ledger, *, n_buildings: int, others: str) -> list[str]:
    rows, path = match.rows, ledger.path
    n = rows["status"].value_counts()
    hh = rows.groupby("status")["households"].sum()
    unit = "household(s)" if ledger.count else "row(s) = household(s)"
    notes = [f"{path}: ledger of {len(rows)} row(s) joined on {ledger.key!r} ↔ buildings' "
             f"{match.building_key!r}: {int(n.get('matched', 0))} row(s) matched "
             f"{len(match.households)} building(s) with {int(hh.get('matched', 0))} {unit}; "
             f"{n_buildings - len(match.households)} building(s) the ledger does not mention {others}; "
             f"left out: {int(n.get('unmatched', 0))} unmatched, {int(n.get('ambiguous', 0))} ambiguous, "
             f"{int(n.get('duplicate', 0))} duplicate row(s) ({int(hh.get('unmatched', 0) + hh.get('ambiguous', 0) + hh.get('duplicate', 0))} households)"
             + (f"; {int(n['blank'])} blank line(s) skipped" if n.get("blank") else "")]
    what = {"unmatched": "match no building", "ambiguous": "match several buildings (give the 小区, or "
            "a building key field that tells them apart)", "duplicate": "repeat an earlier row exactly "
            "(counted once)"}
    for st, text in what.items():
        bad = rows[rows["status"] == st]
        if bad.empty:
            continue
        detail = "; ".join(f"line {r.line} {r.key!r}" + (f" ({r.candidates})" if r.candidates else "")
                           for r in bad.head(20).itertuples())
        more = (f"; all lines: {rows_text(bad.index + ledger.first_line - 2, csv=True, limit=500)}"
                if len(bad) > 20 else "")
        notes.append(f"{path}: {len(bad)} row(s) {text}, left out: {detail}{more}")
    if n.get("unmatched") or n.get("ambiguous"):
        notes.append(f"{path}: fix the rows above (or the buildings' {match.building_key!r}), or choose the "
                     "columns with the ledger key and the building key")
    return notes


def ledger_households(path, buildings: pd.DataFrame, *, key: str | None = None, count: str | None = None,
                      building_key: str | None = None, sheet=None, encoding: str | None = None,
                      table: pd.DataFrame | None = None, others: str = "keep the estimate") -> LedgerMatch:
    """:func:`read_ledger` then :func:`match_ledger`: households of the buildings the ledger names.

    A ledger of which no row matches a building is refused (:class:`~geo.errors.InputError`): the
    wrong columns were joined.

    Examples
    --------
    >>> import geo
    >>> b = geo.io.read_buildings("data/suzhou_gusu/buildings.geojson")
    >>> m = ledger_households("data/suzhou_gusu/ledger.xlsx", b)
    >>> share = m.counts()["rows"]["matched"] / len(m.rows)
    >>> bool(share > 0.95)
    True
    """
    ledger = read_ledger(path, key=key, count=count, sheet=sheet, encoding=encoding, table=table)
    match = match_ledger(ledger, buildings, building_key=building_key, others=others)
    rows = match.rows[match.rows["status"] != "blank"]
    if len(rows) and not (rows["status"] == "matched").any():
        keys, _, name = _building_keys(buildings, building_key, ledger.path)
        raise InputError(f"{ledger.path}: no row of the ledger matches a building: its {ledger.key!r} "
                         f"({ids_text(rows['key'].head(3), limit=3)} …) against the buildings' {name!r} "
                         f"({ids_text(buildings.index[:3] if name == 'building_id' else keys.head(3), limit=3)} …)",
                         hint="choose the columns with {ledger_key} and {building_key}")
    return match
