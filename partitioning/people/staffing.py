"""Staffing: templates of the posts a grid needs, and the optimal assignment of a roster to them.

A *template* (``staffing_templates.toml`` beside this module, or the user's own file of the same
form) lists *posts*: a role and how many per grid, per building, or per N households of the grid
(so an oversize grid — one big building — gets more volunteers). :func:`posts` turns a template
into one row per post of a plan; :func:`assign` fills them from a roster (:func:`partitioning.people.roster.read_roster`)
with a minimum-cost assignment (:func:`scipy.optimize.linear_sum_assignment`) per role:

- cost = metres from the person's home to the grid (0 inside it) or to the building;
- building leaders: a resident of the building costs 0, anyone else their distance plus
  ``outsider_penalty`` (so residents are taken wherever there is one);
- a person who can hold several posts (``availability``) appears once per post, the k-th post
  costing ``k × workload_penalty`` more (work is spread before anyone doubles up);
- a home farther than ``max_distance`` cannot be matched; a person without a known home costs
  ``max_distance`` (taken last);
- the matching takes as many posts as can be filled, and among those the least total cost;
- nobody holds two posts of one role in one grid (two volunteer posts, or the leaders of two of its
  buildings): where the matching doubled someone up, the extra posts are filled again without them
  (:func:`_one_per_grid`), and a post nobody else can take stays empty and counts as a gap (缺口).
  A person has one role (the roster's ``role``), so nobody holds two *different* roles either.

Assignments already in the plan (``existing``) are kept when the person, role, grid (and building,
still in that grid) are still there and the post is still wanted; only the rest is re-solved.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import tomllib
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from geo.errors import CRSError, InputError
from geo.storeys import unit_counts
from partitioning.people.roles import ROLES
from partitioning.units import grid_majority

__all__ = ["TEMPLATES_PATH", "Staffing", "Assignment", "load_templates", "role_aliases", "get_template", "posts",
           "assign", "import_roster", "roster_of", "gaps", "doubled_posts", "grid_communities", "tower_units",
           "PEOPLE_COLUMNS"]

logger = logging.getLogger(__name__)

#: The built-in templates: 1+1+N (Zhangwan 1包50), 4+N (Zunyi), 1+4+6N (Jifeng), 3 (Huizhou 三人小组).
TEMPLATES_PATH = Path(__file__).resolve().parent / "staffing_templates.toml"
#: Columns of the plan's ``people`` layer written by :func:`assign`.
PEOPLE_COLUMNS = ("person_id", "grid_id", "building_id", "role", "template_role", "role_label", "name", "phone",
                  "organisation", "home", "lon", "lat", "availability", "distance_m", "kept")
_PER = ("grid", "building", "unit", "households")
_FORBIDDEN = 1e12


@dataclass
class Staffing:
    """Roles (key → ``{zh, en, shows_as}``) and templates (name → ``{aliases, description, posts}``)."""

    roles: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)


@dataclass
class Assignment:
    """The result of :func:`assign`.

    Attributes
    ----------
    people : DataFrame
        The plan's ``people`` layer: one row per filled post (:data:`PEOPLE_COLUMNS`), then one
        row per roster person without a post (``grid_id`` empty).
    gaps : DataFrame
        One row per grid and role: ``grid_id``, ``grid_code``, ``community``, ``role``,
        ``role_label``, ``required``, ``filled``, ``missing``.
    """

    people: pd.DataFrame
    gaps: pd.DataFrame

    def by_community(self) -> pd.DataFrame:
        """Required, filled and missing posts per community and role (the 缺口 table)."""
        return (self.gaps.groupby(["community", "role", "role_label"], sort=True)[["required", "filled", "missing"]]
                .sum().reset_index())

    def totals(self) -> dict:
        """Posts required, filled and missing over the whole plan, and per role."""
        g = self.gaps
        return {"required": int(g["required"].sum()), "filled": int(g["filled"].sum()),
                "missing": int(g["missing"].sum()),
                "grids_complete": int((g.groupby("grid_id")["missing"].sum() == 0).sum()),
                "grids": int(g["grid_id"].nunique()),
                "by_role": {r: {"required": int(s["required"].sum()), "filled": int(s["filled"].sum()),
                                "missing": int(s["missing"].sum())} for r, s in g.groupby("role", sort=True)}}


def _check(staffing: Staffing, source: str) -> None:
    problems = []
    for key, role in staffing.roles.items():
        if role.get("shows_as") not in ROLES:
            problems.append(f"role {key}: shows_as must be one of {', '.join(ROLES)}")
    for name, t in staffing.templates.items():
        for i, p in enumerate(t.get("posts", []), start=1):
            if p.get("role") not in staffing.roles:
                problems.append(f"template {name}, post {i}: unknown role {p.get('role')!r}")
            if p.get("per") not in _PER:
                problems.append(f"template {name}, post {i}: per must be one of {', '.join(_PER)}")
            if not isinstance(p.get("count"), int) or p["count"] < 1:
                problems.append(f"template {name}, post {i}: count must be a whole number ≥ 1")
        if not t.get("posts"):
            problems.append(f"template {name}: no posts")
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))


def load_templates(*paths) -> Staffing:
    """The built-in roles and templates, then those of each file in ``paths`` (later wins).

    Examples
    --------
    >>> s = load_templates()
    >>> sorted(s.templates)
    ['1+1+N', '1+4+6N', '3', '4+N']
    """
    staffing = Staffing()
    for path in (TEMPLATES_PATH, *map(Path, paths)):
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"{path}: cannot read the staffing templates ({exc})") from exc
        staffing.roles.update(data.get("roles", {}))
        staffing.templates.update(data.get("templates", {}))
        _check(staffing, str(path))
    return staffing


def role_aliases(staffing: Staffing) -> dict:
    """Every accepted name of a role (key, Chinese, English) → the role key."""
    out = {}
    for key, role in staffing.roles.items():
        out.update({key: key, role.get("zh", key): key, str(role.get("en", key)).lower(): key})
    return out


def get_template(staffing: Staffing, name: str) -> dict:
    """The template called ``name`` (or one of its aliases); an error listing them otherwise."""
    for key, t in staffing.templates.items():
        if name == key or name in t.get("aliases", []):
            return {"name": key, **t}
    names = ", ".join(f"{k} ({'/'.join(t.get('aliases', []))})" for k, t in staffing.templates.items())
    raise InputError(f"unknown staffing template {name!r}; choose one of {names}")


def posts(buildings: pd.DataFrame, grids: pd.DataFrame, template: dict) -> pd.DataFrame:
    """One row per post the template asks of the plan: ``grid_id``, ``building_id`` (empty for a
    grid's post), ``role``.

    Buildings without households get no building post; a per-unit post asks ``count`` people per
    unit (单元, :func:`geo.storeys.unit_counts`) of a tower — a building that is an oversize grid of
    its own, kept whole in normal times: three units, three building leaders — and ``count`` per
    other building; a per-households post asks for ``max(min, ceil(households / count))`` people
    per grid.
    """
    rows = []
    households = grids["households"].astype("int64")
    for p in template["posts"]:
        if p["per"] == "grid":
            n = pd.Series(p["count"], index=grids.index)
        elif p["per"] == "households":
            n = np.maximum(int(p.get("min", 0)), np.ceil(households / p["count"]).astype("int64"))
        else:
            b = buildings[buildings["households"] > 0]
            each = p["count"] * (tower_units(b, grids) if p["per"] == "unit" else 1)
            rows.append(pd.DataFrame({"grid_id": np.repeat(b["grid_id"].astype(str).to_numpy(), each),
                                      "building_id": np.repeat(b.index.astype(str).to_numpy(), each),
                                      "role": p["role"]}))
            continue
        rows.append(pd.DataFrame({"grid_id": np.repeat(grids.index.astype(str).to_numpy(), n.to_numpy()),
                                  "building_id": "", "role": p["role"]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["grid_id", "building_id", "role"])


def tower_units(buildings: pd.DataFrame, grids: pd.DataFrame) -> np.ndarray:
    """Units of each building in an oversize grid (a tower), 1 for the others."""
    status = grids["status"].astype(str) if "status" in grids.columns else pd.Series(dtype=str)
    status.index = status.index.astype(str)
    tower = buildings["grid_id"].astype(str).map(status).eq("oversize").to_numpy()
    units = np.ones(len(buildings), dtype=np.int64)
    if tower.any():
        units[tower] = unit_counts(buildings[tower])[0].to_numpy()
    return units


def grid_communities(buildings: pd.DataFrame, grids: pd.DataFrame, *, column: str = "community",
                     default: str = "") -> pd.Series:
    """Each grid's community: the most common ``column`` value of its buildings
    (:func:`partitioning.units.grid_majority`), else ``default``."""
    if column not in buildings.columns:
        return pd.Series(default, index=grids.index.astype(str), dtype=object)
    return grid_majority(buildings, column).reindex(grids.index.astype(str)).fillna(default)


def _homes(roster: pd.DataFrame, buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Each person's home as a shapely point in the plan's CRS (``None`` when unknown)."""
    points = np.full(len(roster), None, dtype=object)
    rep = buildings.geometry.representative_point()
    in_plan = roster["home"].astype(str).isin(buildings.index.astype(str))
    if in_plan.any():
        points[in_plan.to_numpy()] = rep.loc[roster.loc[in_plan, "home"].astype(str)].to_numpy()
    lonlat = (~in_plan & roster["lon"].notna() & roster["lat"].notna()).to_numpy()
    if lonlat.any():
        pts = gpd.GeoSeries.from_xy(roster["lon"].to_numpy()[lonlat], roster["lat"].to_numpy()[lonlat], crs=4326)
        points[lonlat] = pts.to_crs(buildings.crs).to_numpy()
    return points


def _role_cost(slots: pd.DataFrame, homes: np.ndarray, home_ids: np.ndarray, grid_geom: pd.Series,
               building_xy: pd.DataFrame, *, max_distance: float, outsider_penalty: float):
    """Metres from each person's home (columns) to each post (rows), and the cost of each pair
    (forbidden beyond ``max_distance``)."""
    known = np.array([h is not None for h in homes], dtype=bool)
    dist = np.full((len(slots), len(homes)), np.nan)
    is_building = (slots["building_id"] != "").to_numpy()
    if known.any():
        h = np.asarray(homes[known], dtype=object)
        kcols = np.flatnonzero(known)
        if (~is_building).any():
            g = slots.loc[~is_building, "grid_id"]
            uniq = g.unique()
            d = shapely.distance(np.asarray(grid_geom.loc[uniq].to_numpy())[:, None], h[None, :])
            dist[np.ix_(np.flatnonzero(~is_building), kcols)] = d[pd.Index(uniq).get_indexer(g)]
        if is_building.any():
            xy = building_xy.loc[slots.loc[is_building, "building_id"]].to_numpy()
            dist[np.ix_(np.flatnonzero(is_building), kcols)] = cdist(xy, shapely.get_coordinates(h))
    resident = (slots["building_id"].to_numpy()[:, None] == home_ids[None, :]) & is_building[:, None]
    dist[resident] = 0.0
    cost = np.where(np.isnan(dist), float(max_distance), dist)
    cost[is_building[:, None] & ~resident] += outsider_penalty
    cost[dist > max_distance] = _FORBIDDEN
    return dist, cost


def _solve(cost: np.ndarray, copies: np.ndarray, used: np.ndarray, workload_penalty: float):
    """Posts (rows) × people (columns, ``copies[j]`` times each, the k-th copy of a person who already
    holds ``used[j]`` posts costing ``(used[j] + k) × workload_penalty`` more): the filled rows and
    each one's person."""
    cols = np.repeat(np.arange(cost.shape[1]), copies)
    extra = (used[cols] + np.concatenate([np.arange(c) for c in copies] or [np.zeros(0, int)])) * workload_penalty
    c = cost[:, cols] + extra[None, :]
    c[cost[:, cols] >= _FORBIDDEN] = _FORBIDDEN
    rows, chosen = linear_sum_assignment(c)
    ok = c[rows, chosen] < _FORBIDDEN
    return rows[ok], cols[chosen[ok]]


def _one_per_grid(cost: np.ndarray, grid_of: np.ndarray, capacity: np.ndarray, *, workload_penalty: float):
    """Fill posts (rows, in grids ``grid_of``) with people (columns, each holding up to ``capacity``
    posts) at least cost, never giving one person two posts of the role in one grid.

    One minimum-cost assignment over every post a person can hold (a person repeated once per post)
    is solved first. Where it gave someone two posts in one grid (their copies are interchangeable,
    so nothing in it forbids that), the person keeps the cheaper one and the others are freed. The
    freed and still-open posts are then filled in rounds giving each person at most one more post
    and forbidding the grids where they already hold one, until a round fills nothing. The result
    is the optimum whenever the first assignment has no such double; otherwise it may fill a post
    fewer, or cost a little more, than an exact solution of the constrained problem.
    """
    n_posts, n_people = cost.shape
    rows, who = _solve(cost, capacity, np.zeros(n_people, dtype="int64"), workload_penalty)
    order = np.lexsort((cost[rows, who], grid_of[rows], who))  # per (person, grid): the cheapest first
    rows, who = rows[order], who[order]
    pair = pd.Series(list(zip(who, grid_of[rows])))
    first = ~pair.duplicated().to_numpy()
    if first.all():
        return rows, who
    doubled = int((~first).sum())
    rows, who = list(rows[first]), list(who[first])
    grids, gidx = np.unique(grid_of, return_inverse=True)
    holds = np.zeros((n_people, len(grids)), dtype=bool)
    holds[who, gidx[rows]] = True
    used = np.bincount(np.asarray(who, dtype="int64"), minlength=n_people)
    while True:
        open_rows = np.setdiff1d(np.arange(n_posts), rows)
        free = np.flatnonzero(used < capacity)
        if len(open_rows) == 0 or len(free) == 0:
            break
        c = cost[np.ix_(open_rows, free)].copy()
        c[holds[np.ix_(free, gidx[open_rows])].T] = _FORBIDDEN
        r, j = _solve(c, np.ones(len(free), dtype="int64"), used[free], workload_penalty)
        if len(r) == 0:
            break
        r, j = open_rows[r], free[j]
        rows += list(r)
        who += list(j)
        holds[j, gidx[r]] = True
        used += np.bincount(j, minlength=n_people)
    logger.info("%d post(s) would have gone to someone already holding the role in the grid; filled again "
                "without them, %d post(s) fewer in all (left empty: 缺口)", doubled, max(0, len(first) - len(rows)))
    return np.asarray(rows, dtype="int64"), np.asarray(who, dtype="int64")


def assign(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, roster: pd.DataFrame, template: dict, *,
           staffing: Staffing | None = None, existing: pd.DataFrame | None = None, max_distance: float = 3000.0,
           outsider_penalty: float = 1000.0, workload_penalty: float = 500.0,
           community_column: str = "community", community: str = "") -> Assignment:
    """Fill the template's posts in each grid from the roster, optimally.

    Parameters
    ----------
    buildings, grids : GeoDataFrame
        The plan's (``plan.buildings`` with ``grid_id``, ``households``; ``plan.grids``), in a
        projected metric CRS.
    roster : DataFrame
        From :func:`partitioning.people.roster.read_roster`, indexed by ``person_id``; ``role`` holds role keys.
    template : dict
        From :func:`get_template`.
    staffing : Staffing, optional
        Roles for the labels and ``shows_as`` (the built-in ones by default).
    existing : DataFrame, optional
        The plan's current ``people`` layer; its posts are kept where still valid.
    max_distance : float
        Metres beyond which a home is too far for a post.
    outsider_penalty, workload_penalty : float
        Metres added for a building leader living elsewhere, and per extra post of one person.
    community_column, community : str
        Buildings' column naming their community, and the name used when there is none.

    Returns
    -------
    Assignment
    """
    if buildings.crs is None or not buildings.crs.is_projected:
        raise CRSError(f"staffing needs a plan in a projected metric CRS, not {buildings.crs}")
    staffing = staffing or load_templates()
    roster = roster.copy()
    roster.index = roster.index.astype(str)
    wanted = posts(buildings, grids, template)
    wanted["slot"] = wanted.groupby(["grid_id", "building_id", "role"]).cumcount()
    capacity = roster["availability"].astype("int64").copy()
    kept, held = [], set()  # held: (person, grid, role) of the posts kept
    if existing is not None and len(existing) and "person_id" in existing.columns:
        old = pd.DataFrame(existing).reset_index(drop=("person_id" in pd.DataFrame(existing).columns))
        old = old[old["grid_id"].notna() & (old["grid_id"].astype(str) != "")]
        open_slots = wanted.groupby(["grid_id", "building_id", "role"]).size().to_dict()
        b_grid = buildings["grid_id"].astype(str)
        for r in old.itertuples():
            pid, bid = str(r.person_id), "" if pd.isna(r.building_id) else str(r.building_id)
            key = (str(r.grid_id), bid, getattr(r, "template_role", r.role))
            still = (pid in roster.index and roster.at[pid, "role"] == key[2] and capacity[pid] > 0
                     and open_slots.get(key, 0) > 0 and (bid == "" or b_grid.get(bid) == key[0])
                     and (pid, key[0], key[2]) not in held)  # never two posts of a role in one grid
            if still:
                held.add((pid, key[0], key[2]))
                open_slots[key] -= 1
                capacity[pid] -= 1
                kept.append({"person_id": pid, "grid_id": key[0], "building_id": bid, "template_role": key[2],
                             "distance_m": getattr(r, "distance_m", np.nan), "kept": True})
        if kept:
            k = pd.DataFrame(kept)
            k["slot"] = k.groupby(["grid_id", "building_id", "template_role"]).cumcount()
            done = set(zip(k["grid_id"], k["building_id"], k["template_role"], k["slot"]))
            wanted = wanted[[t not in done for t in zip(wanted["grid_id"], wanted["building_id"], wanted["role"],
                                                         wanted["slot"])]]
        logger.info("kept %d existing post(s) of %d", len(kept), len(old))
    homes = _homes(roster, buildings)
    home_ids = roster["home"].astype(str).to_numpy()
    grid_geom = grids.geometry.simplify(5.0)  # within 5 m: ample for "near home", much faster
    grid_geom.index = grid_geom.index.astype(str)
    rep = buildings.geometry.representative_point()
    building_xy = pd.DataFrame({"x": rep.x.to_numpy(), "y": rep.y.to_numpy()}, index=buildings.index.astype(str))
    filled = []
    for role, slots in wanted.groupby("role", sort=True):
        slots = slots.reset_index(drop=True)
        people = np.flatnonzero((roster["role"] == role).to_numpy() & (capacity.to_numpy() > 0))
        if len(people) == 0:
            continue
        dist, base = _role_cost(slots, homes[people], home_ids[people], grid_geom, building_xy,
                                max_distance=max_distance, outsider_penalty=outsider_penalty)
        pids = roster.index[people]
        grid_of = slots["grid_id"].to_numpy()
        # a person already holding this role in a grid (a kept post) takes no other post of it there
        for p, g, r in held:
            j = pids.get_indexer([p])[0] if r == role else -1
            if j >= 0:
                base[grid_of == g, j] = _FORBIDDEN
        rows, who = _one_per_grid(base, grid_of, capacity.to_numpy()[people], workload_penalty=workload_penalty)
        filled.append(pd.DataFrame({"person_id": pids[who], "grid_id": grid_of[rows],
                                    "building_id": slots["building_id"].to_numpy()[rows], "template_role": role,
                                    "distance_m": dist[rows, who], "kept": False}))
        logger.info("%s: %d of %d post(s) filled from %d people", role, len(rows), len(slots), len(people))
    columns = ["person_id", "grid_id", "building_id", "template_role", "distance_m", "kept"]
    posted = pd.concat([pd.DataFrame(kept, columns=columns), *filled], ignore_index=True)[columns]
    people = _people_layer(posted, roster, staffing)
    return Assignment(people=people, gaps=gaps(buildings, grids, template, people, staffing=staffing,
                                               community_column=community_column, community=community))


def roster_of(people: pd.DataFrame) -> pd.DataFrame:
    """The roster held in a plan's ``people`` layer (one row per person, ``role`` = template role)."""
    frame = pd.DataFrame(people).reset_index(drop="person_id" in pd.DataFrame(people).columns)
    frame = frame.drop_duplicates("person_id").set_index("person_id")
    frame.index = frame.index.astype(str)
    out = frame.reindex(columns=["name", "phone", "template_role", "organisation", "home", "lon", "lat", "availability"])
    out = out.rename(columns={"template_role": "role"})
    out["home"] = out["home"].fillna("").astype(str)
    out["availability"] = pd.to_numeric(out["availability"], errors="coerce").fillna(1).astype("int64")
    for col in ("lon", "lat"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def import_roster(roster: pd.DataFrame, *, existing: pd.DataFrame | None = None,
                  staffing: Staffing | None = None) -> pd.DataFrame:
    """A plan's ``people`` layer for a new roster: the posts of people still in it with the same
    role are kept (with their new details), everyone else is listed without a post."""
    staffing = staffing or load_templates()
    roster = roster.copy()
    roster.index = roster.index.astype(str)
    columns = ["person_id", "grid_id", "building_id", "template_role", "distance_m", "kept"]
    posted = pd.DataFrame(columns=columns)
    if existing is not None and len(existing) and not {"person_id", "template_role"} <= set(existing.columns):
        logger.warning("the plan's people layer was not made by gridplan people import: replaced by the roster")
    elif existing is not None and len(existing):
        old = pd.DataFrame(existing).reset_index(drop="person_id" in pd.DataFrame(existing).columns)
        old = old[old["grid_id"].notna() & (old["grid_id"].astype(str) != "")]
        pid = old["person_id"].astype(str)
        same = pid.isin(roster.index) & (old["template_role"].to_numpy() == roster["role"].reindex(pid).to_numpy())
        posted = old.loc[same.to_numpy(dtype=bool), columns].assign(person_id=lambda d: d["person_id"].astype(str),
                                                                    kept=True)
        logger.info("roster: %d post(s) of people still in the roster kept, %d dropped",
                    len(posted), int((~same).sum()))
    return _people_layer(posted, roster, staffing)


def _people_layer(posted: pd.DataFrame, roster: pd.DataFrame, staffing: Staffing) -> pd.DataFrame:
    idle = roster.index.difference(posted["person_id"].astype(str).unique())
    rows = pd.concat([posted, pd.DataFrame({"person_id": idle, "template_role": roster.loc[idle, "role"].to_numpy(),
                                            "grid_id": None, "building_id": None, "kept": False})],
                     ignore_index=True)
    info = roster.loc[rows["person_id"].astype(str)]
    rows["role"] = [staffing.roles[r]["shows_as"] for r in rows["template_role"]]
    rows["role_label"] = [staffing.roles[r].get("zh", r) for r in rows["template_role"]]
    for col in ("name", "phone", "organisation", "home", "lon", "lat", "availability"):
        rows[col] = info[col].to_numpy()
    rows["building_id"] = rows["building_id"].replace("", None)
    rows["kept"] = rows["kept"].astype(bool)
    rows["distance_m"] = pd.to_numeric(rows["distance_m"]).round(1)
    return rows[list(PEOPLE_COLUMNS)].sort_values(["grid_id", "building_id", "role", "person_id"],
                                                  na_position="last").reset_index(drop=True)


def gaps(buildings: pd.DataFrame, grids: pd.DataFrame, template: dict, people: pd.DataFrame, *,
         staffing: Staffing | None = None, community_column: str = "community", community: str = "") -> pd.DataFrame:
    """Posts required, filled and missing (缺口) per grid and role, from a ``people`` layer.

    A person holding several posts of one role in one grid (a plan assigned by an older gridplan:
    :func:`doubled_posts`) fills one of them; the others count as missing.
    """
    staffing = staffing or load_templates()
    people = pd.DataFrame(people)
    posted = people[people["grid_id"].notna() & (people["grid_id"].astype(str) != "")]
    if "person_id" in posted.columns:  # one person is one post of a role in a grid (see doubled_posts)
        posted = posted.drop_duplicates(["person_id", "grid_id", "template_role"])
    wanted = posts(buildings, grids, template)
    req = wanted.groupby(["grid_id", "role"]).size().rename("required")
    got = posted.groupby(["grid_id", "template_role"]).size().rename("filled")
    got.index = got.index.set_names(["grid_id", "role"])
    gaps = pd.concat([req, got], axis=1).fillna(0).astype("int64").reset_index()
    gaps["missing"] = (gaps["required"] - gaps["filled"]).clip(lower=0)
    codes = grids["grid_code"].copy()
    codes.index = codes.index.astype(str)
    gaps["grid_code"] = gaps["grid_id"].map(codes).astype(str)
    gaps["community"] = gaps["grid_id"].map(grid_communities(buildings, grids, column=community_column,
                                                              default=community))
    gaps["role_label"] = [staffing.roles[r].get("zh", r) for r in gaps["role"]]
    return gaps[["grid_id", "grid_code", "community", "role", "role_label", "required", "filled", "missing"]]


def doubled_posts(people: pd.DataFrame) -> pd.DataFrame:
    """People holding more than one post of a role in one grid: ``person_id``, ``name``,
    ``grid_id``, ``template_role``, ``posts``. Empty for a layer made by :func:`assign`, which never
    does that; a plan assigned by an older gridplan may have some (``gridplan people assign`` puts
    them right)."""
    frame = pd.DataFrame(people)
    cols = ["person_id", "name", "grid_id", "template_role", "posts"]
    if not {"person_id", "grid_id", "template_role"} <= set(frame.columns):
        return pd.DataFrame(columns=cols)
    posted = frame[frame["grid_id"].notna() & (frame["grid_id"].astype(str) != "")].reindex(
        columns=["person_id", "name", "grid_id", "template_role"])
    n = (posted.groupby(["person_id", "grid_id", "template_role"], sort=True)
         .agg(name=("name", "first"), posts=("grid_id", "size")).reset_index())
    return n.loc[n["posts"] > 1, cols].reset_index(drop=True)
