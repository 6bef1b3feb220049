"""Rosters of grid staff: reading, validating and masking the people who staff the grids.

A roster is a table (CSV or Excel) with one row per person:

========================  ====================================================================
column (or Chinese name)  meaning
========================  ====================================================================
``person_id`` (编号)       optional; the person's own ID (``P0001`` … in file order when absent)
``name`` (姓名)            required
``phone`` (电话, 手机)      required; a mainland mobile (``13812345678``, ``+86`` allowed) or a
                          landline (``0512-65123456``)
``role`` (角色)            required; a role key or its Chinese name (see the staffing templates)
``organisation`` (单位)    optional; e.g. the unit a cadre comes from
``home`` (住址, 楼栋)       optional; a ``building_id`` of the plan (a resident of that building)
                          or a free-text address
``lon``, ``lat``           optional; home position (WGS84) when ``home`` is not a building
``availability`` (可承担)  optional; how many posts the person can hold (1 when empty)
========================  ====================================================================

Every bad row is reported at once (:class:`geo.errors.ValidationError`): missing columns,
empty names, malformed phones, unknown roles, duplicate people.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from geo.csvfile import read_csv
from geo.errors import InputError, ValidationError

__all__ = ["ROSTER_FIELDS", "HEADER_ALIASES", "read_roster", "validate_roster", "normalise_phone", "mask_phone",
           "synthetic_roster", "SPECIAL_FLAGS", "read_special_households", "add_special_households",
           "synthetic_special_households"]

logger = logging.getLogger(__name__)

#: Columns of a validated roster, in order.
ROSTER_FIELDS = ("person_id", "name", "phone", "role", "organisation", "home", "lon", "lat", "availability")
#: Chinese (and other) headers accepted for each column.
HEADER_ALIASES = {
    "编号": "person_id", "id": "person_id", "姓名": "name", "电话": "phone", "手机": "phone",
    "手机号": "phone", "联系电话": "phone", "角色": "role", "岗位": "role", "单位": "organisation",
    "organization": "organisation", "工作单位": "organisation", "住址": "home", "楼栋": "home",
    "home_building": "home", "address": "home", "可承担": "availability", "经度": "lon", "纬度": "lat",
}
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalise_phone(value) -> str | None:
    """A phone number without spaces and ``+86``; ``None`` when it is not a Chinese number.

    Examples
    --------
    >>> normalise_phone("+86 138 1234 5678")
    '13812345678'
    >>> normalise_phone("0512-65123456")
    '0512-65123456'
    >>> normalise_phone("12345") is None
    True
    """
    s = re.sub(r"[\s()]", "", str(value))
    s = re.sub(r"^(\+86|0086)-?", "", s)
    return s if _MOBILE.match(s) or _LANDLINE.match(s) else None


def mask_phone(value) -> str | None:
    """Mask the middle of a phone number for viewers: ``13812341234`` → ``138****1234``.

    Examples
    --------
    >>> mask_phone("13812341234")
    '138****1234'
    >>> mask_phone("0512-65123456")
    '0512-****3456'
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == "":
        return None
    s = str(value).strip()
    if "-" in s:
        area, number = s.split("-", 1)
        return f"{area}-****{number[-4:]}" if len(number) > 4 else f"{area}-****"
    return f"{s[:3]}****{s[-4:]}" if len(s) > 7 else "****"


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=str, engine="openpyxl")
        if suffix == ".csv":
            return read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, ImportError) as exc:
        raise InputError(f"{path}: cannot read the roster ({exc})") from exc
    raise InputError(f"{path}: a roster is a .csv (UTF-8) or .xlsx file")


def read_roster(path, *, roles: dict | None = None) -> pd.DataFrame:
    """Read and validate a roster file (CSV in UTF-8, or Excel .xlsx).

    Parameters
    ----------
    path : str or Path
    roles : dict, optional
        Accepted role names (keys and Chinese names) → role key, e.g.
        :func:`partitioning.people.staffing.role_aliases`; any role is accepted when not given.

    Returns
    -------
    DataFrame
        Indexed by ``person_id`` with the columns of :data:`ROSTER_FIELDS` (``availability``
        an integer ≥ 1, ``lon``/``lat`` floats or NaN, phones normalised).

    Raises
    ------
    geo.errors.ValidationError
        Every bad row, each named by its line in the file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such roster file")
    return validate_roster(_read_table(path), roles=roles, source=str(path))


def validate_roster(table: pd.DataFrame, *, roles: dict | None = None, source: str = "roster") -> pd.DataFrame:
    """Validate a roster table (see :func:`read_roster`); lines are numbered as in a CSV file."""
    frame = table.rename(columns=lambda c: HEADER_ALIASES.get(str(c).strip().lower(),
                                                              HEADER_ALIASES.get(str(c).strip(), str(c).strip().lower())))
    missing = [c for c in ("name", "phone", "role") if c not in frame.columns]
    if missing:
        raise ValidationError(source, [f"missing column(s) {', '.join(missing)}; a roster has the columns "
                                       "name, phone, role (and person_id, organisation, home, availability)"])
    frame = frame.reindex(columns=list(ROSTER_FIELDS)).astype(object)
    frame = frame.where(frame.notna(), "").map(lambda v: str(v).strip())
    problems = []
    line = pd.Series(range(2, len(frame) + 2), index=frame.index)  # line 1 is the header
    if (frame["person_id"] == "").all():
        frame["person_id"] = [f"P{i:04d}" for i in range(1, len(frame) + 1)]
    for i in frame.index[frame["person_id"] == ""]:
        problems.append(f"line {line[i]}: person_id is empty (give every person an ID or none at all)")
    for i in frame.index[frame["name"] == ""]:
        problems.append(f"line {line[i]}: name is empty")
    phones = frame["phone"].map(normalise_phone)
    for i in frame.index[phones.isna()]:
        problems.append(f"line {line[i]}: phone {frame.at[i, 'phone']!r} is not a mobile (11 digits, 1[3-9]…) "
                        "or landline (0512-65123456) number")
    frame["phone"] = phones
    if roles is not None:
        keys = frame["role"].map(lambda r: roles.get(r, roles.get(r.lower())))
        for i in frame.index[keys.isna()]:
            problems.append(f"line {line[i]}: unknown role {frame.at[i, 'role']!r}; "
                            f"use one of {', '.join(sorted(set(roles.values())))}")
        frame["role"] = keys
    avail = pd.to_numeric(frame["availability"].replace("", "1"), errors="coerce")
    for i in frame.index[avail.isna() | (avail < 1) | (avail % 1 != 0)]:
        problems.append(f"line {line[i]}: availability {frame.at[i, 'availability']!r} is not a whole number ≥ 1")
    frame["availability"] = avail.fillna(1).clip(lower=1).astype("int64")
    for col in ("lon", "lat"):
        frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce").astype(float)
    duplicate_keys: tuple[tuple[str | list[str], str], ...] = (("person_id", "person_id"),
                                                               (["name", "phone"], "name and phone"))
    for key, what in duplicate_keys:
        dup = frame.duplicated(key, keep=False) & (frame["person_id"] != "")
        for _, rows in frame[dup].groupby(key, sort=False):
            problems.append(f"lines {', '.join(str(line[i]) for i in rows.index)}: the same {what} "
                            f"({', '.join(map(str, rows[key].iloc[0:1].to_numpy().ravel()))}) more than once; "
                            "keep one row per person")
    if problems:
        raise ValidationError(source, problems)
    logger.info("%s: %d people in the roster", source, len(frame))
    return frame.set_index("person_id")


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂华建国文红玉兰春梅志海燕鹏辉斌宇浩凯婷雪琳晨欣怡佳子涵晓东"
_ORGANISATIONS = {
    "grid_leader": ["社区居委会"], "first_grid_leader": ["区委组织部", "区财政局", "区住建局"],
    "official": ["区民政局", "区卫健委", "区司法局"], "street_official": ["街道办事处"],
    "community_cadre": ["社区居委会"], "grid_worker": ["社区网格站"], "police": ["派出所"],
    "medic": ["社区卫生服务中心"], "building_leader": ["楼栋居民"],
}


def synthetic_roster(buildings: pd.DataFrame, demand: dict, *, seed: int = 0, fill: float = 0.8,
                     resident_share: float = 0.8) -> pd.DataFrame:
    """A made-up roster for demos and tests: invented names and phones, never real people.

    Parameters
    ----------
    buildings : DataFrame
        The plan's buildings (index ``building_id``, ``households``): homes are drawn from them,
        weighted by households.
    demand : dict
        Role key → number of posts to staff (e.g. the counts of
        :func:`partitioning.people.staffing.posts`); about ``fill`` × that many people are made.
    seed : int
        Seed of the ``numpy.random.Generator``: the same seed gives the same roster.
    fill : float
        Share of the demand the roster covers (the rest shows as gaps).
    resident_share : float
        Share of building leaders made residents of a building with households.

    Returns
    -------
    DataFrame
        The columns of a roster file (:data:`ROSTER_FIELDS`, ``person_id`` a column).
    """
    rng = np.random.default_rng(seed)
    homes = buildings.index[buildings["households"] > 0].astype(str).to_numpy()
    weights = buildings.loc[buildings["households"] > 0, "households"].to_numpy(dtype=float)
    weights = weights / weights.sum()
    rows, phones = [], set()
    for role, n in sorted(demand.items()):
        count = int(round(n * fill))
        if role == "building_leader":
            n_res = int(round(count * resident_share))
            home = list(rng.choice(homes, size=min(n_res, len(homes)), replace=False))
            home += list(rng.choice(homes, size=count - len(home), p=weights))
        else:
            home = list(rng.choice(homes, size=count, p=weights))
        for h in home:
            name = _SURNAMES[rng.integers(len(_SURNAMES))] + "".join(
                _GIVEN[k] for k in rng.integers(len(_GIVEN), size=rng.integers(1, 3)))
            phone = None
            while phone is None or phone in phones:
                phone = f"1{rng.choice([3, 5, 7, 8, 9])}{rng.integers(10**9):09d}"
            phones.add(phone)
            orgs = _ORGANISATIONS.get(role, ["社区志愿者协会", "党员志愿服务队"])
            rows.append({"name": name, "phone": phone, "role": role, "organisation": orgs[rng.integers(len(orgs))],
                         "home": h, "availability": int(rng.choice([1, 1, 1, 1, 2]))})
    frame = pd.DataFrame(rows, columns=[c for c in ROSTER_FIELDS if c not in ("person_id", "lon", "lat")])
    frame.insert(0, "person_id", [f"P{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


#: Flags of special households (需要日常走访的重点人群); a ``flag_*`` column per flag on buildings.
SPECIAL_FLAGS = ("elderly_alone", "disabled", "low_income", "ill", "other")
_STREETS = ("平江路", "干将路", "临顿路", "人民路", "十全街", "凤凰街", "东北街", "白塔路", "大儒巷", "钮家巷")


def read_special_households(path, buildings: pd.DataFrame) -> pd.DataFrame:
    """Read special households (CSV: ``household_id``, ``building_id``, ``name``, ``address``,
    ``persons`` and one 0/1 column per flag of :data:`SPECIAL_FLAGS`), checked against the plan.

    Raises
    ------
    geo.errors.ValidationError
        Unknown buildings, duplicate IDs, rows without any flag.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    table = read_csv(path, dtype={"household_id": str, "building_id": str, "name": str, "address": str},
                     keep_default_na=False)
    missing = [c for c in ("household_id", "building_id") if c not in table.columns]
    flags = [f for f in SPECIAL_FLAGS if f in table.columns]
    if missing or not flags:
        raise ValidationError(str(path), [f"needs the columns household_id, building_id and at least one of "
                                          f"{', '.join(SPECIAL_FLAGS)} (missing: {', '.join(missing) or 'flags'})"])
    problems = []
    for i in table.index[~table["building_id"].isin(buildings.index.astype(str))]:
        problems.append(f"line {i + 2}: building {table.at[i, 'building_id']!r} is not in the plan")
    for i in table.index[table["household_id"].duplicated(keep="first")]:
        problems.append(f"line {i + 2}: household_id {table.at[i, 'household_id']!r} more than once")
    values = table[flags].apply(pd.to_numeric, errors="coerce").fillna(0).astype("int64").clip(0, 1)
    for i in table.index[values.sum(axis=1) == 0]:
        problems.append(f"line {i + 2}: no flag set ({', '.join(flags)})")
    if problems:
        raise ValidationError(str(path), problems)
    table[flags] = values
    return table.set_index("household_id")


def add_special_households(plan, special: pd.DataFrame):
    """Put special households into ``plan`` (in place): they join the ``households`` layer (as points
    at their building, ``match`` = ``special``; rows of the same ``household_id`` are replaced) and
    the buildings' ``flag_*`` columns count the flagged households of every point."""
    import geopandas as gpd

    pts = plan.buildings.geometry.representative_point()
    new = gpd.GeoDataFrame(special.assign(match="special"), geometry=pts.loc[special["building_id"]].to_numpy(),
                           crs=plan.crs)
    new.index.name = "household_id"
    old = plan.layers.get("households")
    if old is not None and len(old):
        old = old[~old.index.astype(str).isin(new.index)]
        new = pd.concat([old, new])
    plan.layers["households"] = new
    flags = [f for f in SPECIAL_FLAGS if f in new.columns]
    counts = new[flags].apply(pd.to_numeric, errors="coerce").fillna(0).groupby(new["building_id"].astype(str)).sum()
    for f in flags:
        plan.buildings[f"flag_{f}"] = counts[f].reindex(plan.buildings.index.astype(str)).fillna(0).astype("int64").to_numpy()
    logger.info("%d special household(s) in %d building(s)", len(special), special["building_id"].nunique())
    return plan


def synthetic_special_households(buildings: pd.DataFrame, *, seed: int = 0, rate: float = 0.05) -> pd.DataFrame:
    """Made-up special households for demos (invented names and addresses, no real people): about
    ``rate`` of each building's households, each with one or two flags.
    """
    rng = np.random.default_rng(seed)
    n = rng.binomial(buildings["households"].clip(lower=0).to_numpy(dtype="int64"), rate)
    building_ids = np.repeat(buildings.index.astype(str).to_numpy(), n)
    rows = []
    p = np.array([0.4, 0.15, 0.2, 0.2, 0.05])
    for k, bid in enumerate(building_ids, start=1):
        flags = set(rng.choice(SPECIAL_FLAGS, size=rng.choice([1, 1, 1, 2]), replace=False, p=p))
        surname = _SURNAMES[rng.integers(len(_SURNAMES))]
        rows.append({"household_id": f"S{k:05d}", "building_id": bid,
                     "name": surname + ("奶奶" if rng.random() < 0.5 else "大爷") if "elderly_alone" in flags
                     else surname + "".join(_GIVEN[j] for j in rng.integers(len(_GIVEN), size=2)),
                     "address": f"{_STREETS[rng.integers(len(_STREETS))]}{rng.integers(1, 300)}号"
                                f"{rng.integers(1, 7)}0{rng.integers(1, 5)}室",
                     "persons": int(1 if "elderly_alone" in flags else rng.integers(1, 5)),
                     **{f: int(f in flags) for f in SPECIAL_FLAGS}})
    return pd.DataFrame(rows, columns=["household_id", "building_id", "name", "address", "persons", *SPECIAL_FLAGS])
