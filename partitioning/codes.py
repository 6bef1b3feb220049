"""Printed grid codes (网格编码): administrative prefix + sequence number.

The structure follows the unit-grid coding of CJ/T 349 and the practice of Beijing and Xi'an:

``<county 6 digits><street 3 digits><community 3 digits><sequence>``

The first 12 digits are the community's administrative division code (县级行政区划代码 +
街道/乡镇代码 + 社区/村代码, e.g. ``320508019044`` for 姑苏区金阊街道养育巷社区), the sequence
(``width`` digits, default 3) numbers the grids of the community west→east, north→south.

Without ``--prefix`` the prefix comes from the data (:func:`code_prefix`): the boundary file's
community division code when it holds one community with a 12-digit code; otherwise there is no
administrative part and a code is its sequence number alone (``001``, ``002``…), short and never
mistaken for a real division code. Plans made before this rule used twelve zeros
(:data:`PLACEHOLDER`, ``000000000000001``); they keep their codes, and :func:`short_code` reads both.
What people read on pages, in messages and on labels is :func:`short_code`: the code without its
administrative prefix and leading zeros (``320508019044084`` → ``84``).

How grids are ordered: each grid is represented by a point inside it
(``shapely.point_on_surface``). The grids are cut into horizontal rows of height ``h`` counted
from the northernmost point, with ``h`` the typical grid size (the square root of the median grid
area); rows are numbered north to south and, within a row, grids west to east. Codes therefore
read like text on the printed map, and a change to one grid renumbers at most the grids after it
in its row and the rows below.

Buildings are numbered by the same rule within their grid (:func:`building_numbers`, rows of the
typical footprint size): "building 3" of a grid is the same building on its web page, on the
printed sheet, in the editor and in the version change table.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely

from geo.errors import InputError

__all__ = ["PLACEHOLDER", "DEFAULT_PREFIX", "grid_codes", "reading_order", "building_numbers", "new_ids",
           "next_codes", "short_code", "code_prefix"]

logger = logging.getLogger(__name__)

#: Administrative part of plans made before :func:`code_prefix` (county 6 + street 3 + community 3
#: digits of zeros); still read by :func:`short_code`.
PLACEHOLDER = "0" * 12
#: Administrative part when neither ``--prefix`` nor the data gives one: none (codes ``001``, ``002``…).
DEFAULT_PREFIX = ""


def reading_order(geometries, *, row_height=None):
    """Positions of geometries in reading order: rows north→south, west→east in a row.

    Parameters
    ----------
    geometries : array_like of shapely geometries
        Non-empty geometries in a CRS whose x grows eastwards and y northwards.
    row_height : float, optional
        Height of a row in CRS units; default the square root of the median area (or, for
        geometries without area, of the median bounding-box area).

    Returns
    -------
    numpy.ndarray
        Integer indices into ``geometries``, first the north-west geometry.
    """
    geoms = np.asarray(geometries, dtype=object)
    if len(geoms) == 0:
        return np.array([], dtype=np.int64)
    if shapely.is_empty(geoms).any() or pd.isna(geoms).any():
        raise InputError("cannot order empty geometries: every grid needs a polygon")
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    if row_height is None:
        size = shapely.area(geoms)
        if not (size > 0).any():
            b = shapely.bounds(geoms)
            size = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        row_height = float(np.sqrt(np.median(size))) or 1.0
    row = np.floor((pts[:, 1].max() - pts[:, 1]) / row_height).astype(np.int64)
    return np.lexsort((-pts[:, 1], pts[:, 0], row))


def building_numbers(geometries, grid_ids=None) -> pd.Series:
    """Each building's number in its grid (1, 2…), in :func:`reading_order`.

    The one building numbering of every page, sheet and message: the grid page's building table
    and labels, the printed sheet, the editor and the version change table.

    Parameters
    ----------
    geometries : geopandas.GeoSeries
        Building footprints (metric CRS), indexed by building ID.
    grid_ids : array_like, optional
        Each building's grid, aligned with ``geometries``: numbering restarts at 1 in each grid.
        Default: the buildings are one grid.

    Returns
    -------
    pandas.Series
        The number (int) of each building, indexed like ``geometries``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> b = gpd.GeoSeries([box(20, 0, 30, 10), box(0, 0, 10, 10), box(0, 20, 10, 30), box(50, 0, 60, 10)],
    ...                   index=["b1", "b2", "b3", "b4"])
    >>> building_numbers(b).to_dict()
    {'b1': 3, 'b2': 2, 'b3': 1, 'b4': 4}
    >>> building_numbers(b, ["A", "A", "A", "B"]).to_dict()
    {'b1': 3, 'b2': 2, 'b3': 1, 'b4': 1}
    """
    geoms = np.asarray(geometries.values, dtype=object)
    numbers = np.zeros(len(geoms), dtype=np.int64)
    groups = (pd.Series(np.zeros(len(geoms), dtype=np.int64)) if grid_ids is None
              else pd.Series(np.asarray(grid_ids, dtype=object)))
    for members in groups.groupby(groups, sort=False, dropna=False).indices.values():
        numbers[members[reading_order(geoms[members])]] = np.arange(1, len(members) + 1)
    return pd.Series(numbers, index=geometries.index, name="no")


def grid_codes(grids, *, prefix=None, parent=None, width=3):
    """The printed code of every grid.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Grid polygons indexed by ``grid_id``.
    prefix : str, optional
        Administrative prefix: the 12-digit community code, or, with ``parent``, the part
        above it (e.g. the 9-digit county + street code). Default: none (:data:`DEFAULT_PREFIX`),
        codes are the sequence number (``001``).
    parent : pandas.Series, optional
        Parent unit (e.g. the community's 3-digit code) by ``grid_id``. Numbering restarts at 1
        within each parent and the parent's value follows the prefix in the code.
    width : int, default 3
        Digits of the sequence number (zero-padded).

    Returns
    -------
    pandas.Series
        ``grid_code`` (str) indexed like ``grids``; codes are unique.

    Raises
    ------
    geo.errors.InputError
        For a prefix of other than ASCII letters and digits, a parent missing for some grid, more grids in a parent
        than ``width`` digits can number, or a grid without geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame(geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1), box(0, 1, 1, 2)],
    ...                      index=["a", "b", "c"])
    >>> grid_codes(g, prefix="320508019044").to_dict()
    {'a': '320508019044003', 'b': '320508019044002', 'c': '320508019044001'}
    """
    if width < 1:
        raise InputError(f"width must be at least 1, got {width}")
    prefix = DEFAULT_PREFIX if prefix is None else str(prefix)
    if prefix and not (prefix.isascii() and prefix.isalnum()):
        raise InputError(f"grid code prefix {prefix!r} must be ASCII digits or letters only (codes appear in "
                         "web addresses and file names), e.g. 320508019044 (county + street + community)")
    if parent is None:
        groups = pd.Series("", index=grids.index)
    else:
        groups = parent.reindex(grids.index)
        if groups.isna().any():
            missing = ", ".join(map(str, grids.index[groups.isna()][:10]))
            raise InputError(f"parent unit missing for grids {missing}")
        groups = groups.astype(str)
    admin = {g: prefix + g for g in groups.unique()}
    for code in admin.values():
        if code and not (code.isdigit() and len(code) == 12):
            logger.info("grid code prefix %s is not a 12-digit division code (county+street+community)", code)
            break
    codes = pd.Series(index=grids.index, dtype=object, name="grid_code")
    geoms = np.asarray(grids.geometry.values, dtype=object)
    for group, members in groups.groupby(groups, sort=True).indices.items():
        if len(members) >= 10**width:
            raise InputError(f"{len(members)} grids in {admin[group] or 'the plan'} need more than "
                             f"{width} digits of sequence number; raise width")
        order = members[reading_order(geoms[members])]
        codes.iloc[order] = [f"{admin[group]}{i:0{width}d}" for i in range(1, len(order) + 1)]
    return codes


def short_code(code, prefix=None) -> str:
    """The grid's number as people read it: its code without the administrative prefix and leading zeros.

    The one rule for every label, page, table and message (web maps, the editor, the change
    table); internal ids (``G0337``) stay in exports and the API.

    Parameters
    ----------
    code : str
        The grid's code.
    prefix : str, optional
        The plan's administrative prefix (``meta["code_prefix"]``); the zeros of older plans
        (:data:`PLACEHOLDER`) are dropped too.

    Examples
    --------
    >>> short_code("320508019044084", "320508019044")
    '84'
    >>> short_code("000000000000344"), short_code("007"), short_code("001005")
    ('344', '7', '1005')
    """
    code = str(code)
    for pre in (prefix, PLACEHOLDER):
        if pre and code.startswith(str(pre)) and len(code) > len(str(pre)):
            code = code[len(str(pre)):]
            break
    return code.lstrip("0") or code


def code_prefix(boundaries=None, *, prefix=None) -> str:
    """The administrative prefix of a plan's grid codes.

    ``prefix`` when given (``--prefix``: the 15-digit national-style scheme of
    :func:`grid_codes`); else the boundary data's community division code, when every boundary
    carries the same 12-digit code as its id (its ``id``, ``code`` or ``adcode`` field, see
    :func:`geo.io.read_boundaries`), in the first of ``boundaries`` that does; else
    :data:`DEFAULT_PREFIX` (codes ``001``, ``002``…).

    Parameters
    ----------
    boundaries : GeoDataFrame or sequence of GeoDataFrame, optional
        Boundary polygons with ``boundary_id`` (the ``--boundary`` file, given levels' units).
    prefix : str, optional
        The user's prefix.

    Examples
    --------
    >>> import pandas as pd
    >>> code_prefix(pd.DataFrame({"boundary_id": ["320508019044"]}))
    '320508019044'
    >>> code_prefix(pd.DataFrame({"boundary_id": ["A001", "A002"]})), code_prefix(prefix="3205080190")
    ('', '3205080190')
    """
    if prefix is not None:
        return str(prefix)
    frames = [] if boundaries is None else ([boundaries] if hasattr(boundaries, "columns") else list(boundaries))
    for frame in frames:
        ids = set() if frame is None or "boundary_id" not in frame.columns else set(frame["boundary_id"].astype(str))
        if len(ids) == 1 and (only := ids.pop()).isdigit() and len(only) == 12:
            logger.info("grid codes: prefix %s, the boundary's division code", only)
            return only
    return DEFAULT_PREFIX


def new_ids(old_ids, fresh, *, prefix: str) -> dict:
    """Ids for grids added to a plan: ``prefix`` + the numbers after the highest in use.

    ``fresh`` (temporary names) are numbered in sorted order, as wide as the widest id in use
    (at least 4 digits).

    Examples
    --------
    >>> new_ids(["G0001", "G0007"], ["b", "a"], prefix="G")
    {'a': 'G0008', 'b': 'G0009'}
    """
    numbers = [int(s[len(prefix):]) for s in map(str, old_ids) if s.startswith(prefix) and s[len(prefix):].isdigit()]
    width = max([len(s) - len(prefix) for s in map(str, old_ids) if s.startswith(prefix)] + [4])
    start = max(numbers, default=0)
    return {tmp: f"{prefix}{start + k + 1:0{width}d}" for k, tmp in enumerate(sorted(fresh))}


def next_codes(codes, parent_code, new, default_width: int = 3) -> dict:
    """Next free codes for ``new`` grids: their parent's code (``parent_code[g]``) + the sequence
    after its last child among ``codes``, taken in sorted order of ``new``.

    Examples
    --------
    >>> next_codes(["000000000000001", "000000000000002"], {"x": "000000000000", "y": "000000000000"}, ["x", "y"])
    {'x': '000000000000003', 'y': '000000000000004'}
    >>> next_codes(["001", "002"], {"x": ""}, ["x"])
    {'x': '003'}
    """
    out = {}
    used = set(codes)
    for g in sorted(new):
        pcode = parent_code[g]
        siblings = [c for c in used if c.startswith(pcode) and c[len(pcode):].isdigit()]
        width = max([len(c) - len(pcode) for c in siblings] + [default_width])
        seq = max((int(c[len(pcode):]) for c in siblings), default=0) + 1
        out[g] = f"{pcode}{seq:0{width}d}"
        used.add(out[g])
    return out


def resolve_grid_code(codes, text, *, prefix=None, width=3) -> str:
    """The grid code a person means by ``text``: the whole code, its number, or its trailing part.

    People call a grid by its number ("3号网格", "003"), not by its 15-digit code. ``text`` is
    matched, after stripping blanks and ignoring case,

    1. as a whole code;
    2. as the grid's sequence number when it is at most ``width`` digits (``"3"``, ``"03"`` and
       ``"003"`` all mean the code ending ``…003``; leading zeros do not matter): the number is
       compared with the code's part after ``prefix`` when the code starts with it, else with its
       last ``width`` characters;
    3. as the code's trailing part otherwise (``"044003"``: the community's 3 digits and the
       grid's 3 in a plan of several communities).

    Parameters
    ----------
    codes : iterable of str
        The plan's grid codes (``plan.grids["grid_code"]``).
    text : str
        What the person typed.
    prefix : str, optional
        Administrative prefix shared by the codes (``plan.meta["code_prefix"]``).
    width : int, default 3
        Digits of the sequence number when the code does not start with ``prefix``.

    Returns
    -------
    str
        The one code meant.

    Raises
    ------
    geo.errors.InputError
        When no code matches (the message shows a few codes) or several do (the message lists
        them, so the person can type more digits).

    Examples
    --------
    >>> codes = ["320508019044001", "320508019044003", "320508019044013"]
    >>> resolve_grid_code(codes, "3")
    '320508019044003'
    >>> resolve_grid_code(codes, "013")
    '320508019044013'
    >>> resolve_grid_code(codes, " 320508019044001 ")
    '320508019044001'
    >>> resolve_grid_code(["320508019001003", "320508019002003"], "3")
    Traceback (most recent call last):
    ...
    geo.errors.InputError: grid '3' is ambiguous: 2 grids match (320508019001003, 320508019002003); give more digits of the code
    >>> resolve_grid_code(["320508019001003", "320508019002003"], "002003")
    '320508019002003'
    """
    codes = sorted({str(c) for c in codes})
    wanted = str(text).strip()
    if not wanted:
        raise InputError("no grid given: give its code or number, e.g. 3 or " + (codes[0] if codes else "001"))
    key = wanted.lower()
    exact = [c for c in codes if c.lower() == key]
    if exact:
        return exact[0]

    def sequence(code: str) -> str:
        if prefix and code.startswith(str(prefix)) and len(code) > len(str(prefix)):
            return code[len(str(prefix)):]
        return code[-width:]

    if wanted.isdigit() and len(wanted) <= width:
        found = [c for c in codes if sequence(c).isdigit() and int(sequence(c)) == int(wanted)]
    else:
        found = [c for c in codes if c.lower().endswith(key)]
    if len(found) == 1:
        return found[0]
    if found:
        shown = ", ".join(found[:10]) + (f", … ({len(found) - 10} more)" if len(found) > 10 else "")
        raise InputError(f"grid {wanted!r} is ambiguous: {len(found)} grids match ({shown}); give more digits "
                         "of the code")
    sample = ", ".join(codes[:3])
    raise InputError(f"grid {wanted!r} is not in the plan ({len(codes)} grids: {sample}, …); give a grid's "
                     "number (e.g. 3) or its whole code")


__all__ += ["resolve_grid_code"]  # added here, not above: other work edits the head of this module
