"""A seeded synthetic Chinese city at any size: the input data of the scale tests.

The city is a lattice of superblocks (街区) bounded by main roads, crossed by a river. Each
superblock is one community (社区) -- two where the river cuts it -- and 3 × 3 superblocks make a
street (街道). Minor roads split a superblock into residential compounds (小区) of one kind each:

- ``walkup``: rows of walk-up buildings running east–west, 5–7 floors, 2–4 units, 2 households per
  floor per unit, the rows spaced for sunlight;
- ``tower``: high-rise towers of 18–33 floors, 1–3 units of 2 households per floor;
- ``village``: an urban village (城中村) of dense low-rise houses 2–4 m apart, 2–6 floors, 1–2
  households per floor, in lanes;
- ``public``: non-residential buildings (school, offices, market), 0 households;
- ``courtyard``: an old town of courtyard houses (合院, 大杂院) of 1–2 floors on lanes, a north hall
  and three wings around each yard, 5–10 households a courtyard (none by default; see :data:`MIXES`).

:data:`MIXES` names mixes of these kinds for cities of different urban form (a new town of towers,
urban villages among walk-ups, an old town), the synthetic areas of the corpus benchmark.

Superblocks are filled from the centre outwards until the city holds the requested number of
households (the last superblock may be filled only in part). Every superblock, lattice line and
river draws from its own random stream derived from the seed, so the same seed gives the same
city, and a larger city contains the smaller one (same seed and parameters).

Coordinates are in CGCS2000 / 3-degree Gauss–Krüger CM 120°E (EPSG:4549), around Suzhou.
See ``docs/synth.md`` for the parameters and layers.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo._synth_kinds import BUILDING_KIND, FILL, rects
from geo.errors import InputError
from geo.plan import atomic_path

__all__ = ["SynthParams", "SynthCity", "KINDS", "MIXES", "synth_city", "write_city"]

logger = logging.getLogger(__name__)

#: Compound kinds and the building kinds they hold.
KINDS = ("walkup", "tower", "village", "public", "courtyard")
CRS = "EPSG:4549"
#: Origin of the city's centre in EPSG:4549 (near Suzhou, 120.5°E 31.3°N).
ORIGIN = (548_000.0, 3_463_000.0)
#: County (district) code prefix of the generated division codes (姑苏区).
COUNTY = "320508"
_NAME_CHARS = "湖山桥河园林塘枫桂梅竹荷春秋新南北东西金银石龙凤柳溪泉塔平安和福康宁乐"
_STREAM_BLOCK, _STREAM_XLINE, _STREAM_YLINE, _STREAM_RIVER, _STREAM_NAMES, _STREAM_POINTS = range(6)


@dataclass(frozen=True)
class SynthParams:
    """Parameters of the synthetic city (lengths in metres).

    Attributes
    ----------
    block_size : tuple of float
        Mean west–east and south–north spacing of the main roads (a superblock's size).
    block_jitter : float
        Each main road is shifted by up to this much from the regular lattice.
    primary_every : int
        Every n-th main road is a primary road (``highway=primary``), the others secondary.
    street_blocks : int
        A street (街道) is ``street_blocks × street_blocks`` superblocks.
    kind_weights : tuple of float
        Probability of a compound being ``walkup``, ``tower``, ``village``, ``public``, ``courtyard``.
    setback : float
        Buildings keep this distance from a main road's centre line.
    minor_setback : float
        ... and this distance from a minor road's centre line.
    river : bool
        Whether a river crosses the city west to east.
    river_width : float
        Width of the river; buildings keep ``setback`` from its banks.
    """

    block_size: tuple = (480.0, 420.0)
    block_jitter: float = 40.0
    primary_every: int = 3
    street_blocks: int = 3
    kind_weights: tuple = (0.50, 0.20, 0.15, 0.15, 0.0)
    setback: float = 12.0
    minor_setback: float = 8.0
    river: bool = True
    river_width: float = 40.0


#: Mixes of compound kinds by name (``gridplan synth --mix``; figures and sources in docs/synth.md).
MIXES: dict[str, SynthParams] = {
    # the default mix: walk-up compounds with some towers, an urban village, schools and offices
    "default": SynthParams(),
    # a new town (新城) of high-rise compounds on large superblocks, walk-ups the exception
    "new_town": SynthParams(block_size=(520.0, 460.0), kind_weights=(0.15, 0.65, 0.0, 0.20, 0.0)),
    # urban villages (城中村) among walk-up compounds, few towers
    "village": SynthParams(kind_weights=(0.45, 0.05, 0.40, 0.10, 0.0)),
    # an old town (老城) of courtyard houses on lanes in small blocks, walk-up infill, canals
    "old_town": SynthParams(block_size=(320.0, 280.0), block_jitter=25.0, river_width=20.0,
                            kind_weights=(0.15, 0.0, 0.0, 0.10, 0.75)),
}


@dataclass
class SynthCity:
    """A generated city: every layer in EPSG:4549.

    Attributes
    ----------
    buildings : GeoDataFrame
        ``building_id``, ``kind`` (walkup/tower/village/public), ``floors``, ``units``,
        ``households``, ``height``, ``compound_id``, ``community_id``, ``street_id``.
    households : GeoDataFrame or None
        One point per household inside its building: ``household_id``, ``building_id``.
    roads : GeoDataFrame
        Lines with ``highway`` (primary, secondary, residential) or ``waterway`` (river) and ``name``.
    streets, communities : GeoDataFrame
        Polygons with ``code`` (9- and 12-digit division codes), ``name``; communities also
        ``street_id``. Only communities holding buildings are listed.
    params : dict
        The seed, households asked for and :class:`SynthParams`.
    """

    buildings: gpd.GeoDataFrame
    households: gpd.GeoDataFrame | None
    roads: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    params: dict = field(default_factory=dict)

    def layers(self) -> dict:
        """The layers by name, in the order they are written."""
        out = {"buildings": self.buildings, "households": self.households, "roads": self.roads,
               "streets": self.streets, "communities": self.communities}
        return {k: v for k, v in out.items() if v is not None}


def _rng(seed: int, *key: int) -> np.random.Generator:
    """An independent stream for one part of the city (a superblock, a road, the river)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *(int(k) + 2**20 for k in key)]))


def _line_pos(seed, stream, i, spacing, jitter):
    return i * spacing + _rng(seed, stream, i).uniform(-jitter, jitter)


class _River:
    """A meandering river west to east: centre line ``y(x)`` and the water polygon."""

    def __init__(self, seed, params, half_extent):
        rng = _rng(seed, _STREAM_RIVER)
        by = params.block_size[1]
        self.base = by * rng.uniform(0.25, 0.75)
        self.amp = by * rng.uniform(0.4, 0.9)
        self.wavelength = params.block_size[0] * rng.uniform(4.0, 7.0)
        self.phase = rng.uniform(0, 2 * np.pi)
        xs = np.arange(-half_extent, half_extent + 20.0, 20.0)
        self.line = shapely.LineString(np.column_stack([xs, self.y(xs)]))
        self.water = self.line.buffer(params.river_width / 2, cap_style="flat")
        self.keep_out = self.line.buffer(params.river_width / 2 + params.setback, cap_style="flat")
        shapely.prepare(self.keep_out)

    def y(self, x):
        return self.base + self.amp * np.sin(2 * np.pi * x / self.wavelength + self.phase)


def _block_order(radius):
    ij = np.array([(i, j) for i in range(-radius, radius) for j in range(-radius, radius)])
    d = np.hypot(ij[:, 0] + 0.5, ij[:, 1] + 0.5)
    return ij[np.lexsort((ij[:, 0], ij[:, 1], d))]


def _block(seed, params, i, j, river):
    """The compounds, minor roads and buildings of superblock (i, j) in local metres."""
    bw, bh = params.block_size
    jit = params.block_jitter
    x0, x1 = (_line_pos(seed, _STREAM_XLINE, k, bw, jit) for k in (i, i + 1))
    y0, y1 = (_line_pos(seed, _STREAM_YLINE, k, bh, jit) for k in (j, j + 1))
    rng = _rng(seed, _STREAM_BLOCK, i, j)
    nx_, ny_ = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    xs = np.linspace(x0, x1, nx_ + 1)
    ys = np.linspace(y0, y1, ny_ + 1)
    xs[1:-1] += rng.uniform(-0.1, 0.1, nx_ - 1) * (x1 - x0)
    ys[1:-1] += rng.uniform(-0.1, 0.1, ny_ - 1) * (y1 - y0)
    minor = [shapely.LineString([(x, y0), (x, y1)]) for x in xs[1:-1]]
    minor += [shapely.LineString([(x0, y), (x1, y)]) for y in ys[1:-1]]
    sb, ms = params.setback, params.minor_setback
    parts, comp_no = [], 0
    for a in range(ny_):
        for b in range(nx_):
            cx0 = xs[b] + (sb if b == 0 else ms)
            cx1 = xs[b + 1] - (sb if b == nx_ - 1 else ms)
            cy0 = ys[a] + (sb if a == 0 else ms)
            cy1 = ys[a + 1] - (sb if a == ny_ - 1 else ms)
            kind = KINDS[int(rng.choice(len(KINDS), p=params.kind_weights))]
            rows = FILL[kind](rng, cx0, cy0, cx1, cy1)
            if not rows:
                continue
            arr = np.array(rows, dtype=float)
            angle = np.deg2rad(rng.uniform(-6.0, 6.0))
            ox, oy = (cx0 + cx1) / 2, (cy0 + cy1) / 2
            geoms = rects(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], angle, ox, oy)
            inside = shapely.within(geoms, shapely.box(cx0, cy0, cx1, cy1))
            if river is not None:
                inside &= ~shapely.intersects(river.keep_out, geoms)
            frame = pd.DataFrame(arr[inside], columns=["cx", "cy", "w", "h", "floors", "units", "households"])
            frame["angle"], frame["ox"], frame["oy"] = angle, ox, oy
            frame["kind"] = BUILDING_KIND[kind]
            frame["compound"] = comp_no
            frame["geometry"] = geoms[inside]
            parts.append(frame)
            comp_no += 1
    buildings = pd.concat(parts, ignore_index=True) if parts else None
    return (x0, y0, x1, y1), minor, buildings


def _names(seed, n, suffix):
    rng = _rng(seed, _STREAM_NAMES, len(suffix))
    seen, out = set(), []
    chars = np.array(list(_NAME_CHARS))
    for _ in range(n):
        name = "".join(rng.choice(chars, 2, replace=False)) + suffix
        k = 2
        base = name
        while name in seen:
            name = base.replace(suffix, f"{k}{suffix}")
            k += 1
        seen.add(name)
        out.append(name)
    return out


def synth_city(households: int, *, seed: int = 0, params: SynthParams | None = None,
               household_points: bool = True, progress: bool = False) -> SynthCity:
    """Generate a city holding about ``households`` households.

    Parameters
    ----------
    households : int
        Households wanted: the city holds at least this many and fewer than one building more.
    seed : int, default 0
        Seed of every random choice: the same seed and parameters give the same city.
    params : SynthParams, optional
        Layout parameters (default: :class:`SynthParams`).
    household_points : bool, default True
        Also generate one point per household (the ``households`` layer).
    progress : bool, default False
        Log the progress every 100 superblocks.

    Returns
    -------
    SynthCity

    Examples
    --------
    >>> city = synth_city(3000, seed=1, household_points=False)
    >>> int(city.buildings["households"].sum()) >= 3000, city.buildings.crs.to_string()
    (True, 'EPSG:4549')
    """
    if households < 1:
        raise InputError(f"a city needs at least one household, got {households}")
    params = params or SynthParams()
    if len(params.kind_weights) != len(KINDS) or abs(sum(params.kind_weights) - 1) > 1e-9:
        raise InputError(f"kind_weights must be {len(KINDS)} probabilities summing to 1, got {params.kind_weights}")
    # about 3,000 households a superblock: a lattice with room to spare
    radius = int(np.ceil(np.sqrt(households / 1000.0) / 2)) + 2
    half_extent = radius * max(params.block_size) * 1.5
    river = _River(seed, params, half_extent) if params.river else None
    blocks: list = []
    minor_roads: list = []
    frames: list = []
    total = 0
    for i, j in _block_order(radius):
        rect, minor, b = _block(seed, params, i, j, river)
        if b is not None:
            b["block"] = len(blocks)
            cum = total + b["households"].cumsum().to_numpy()
            if cum[-1] >= households:
                b = b.iloc[: int(np.searchsorted(cum, households)) + 1]
            total += int(b["households"].sum())
            frames.append(b)
        blocks.append((i, j, rect))
        minor_roads += minor
        if progress and len(blocks) % 100 == 0:
            logger.info("synth: %d superblocks, %d households", len(blocks), total)
        if total >= households:
            break
    else:
        raise InputError(f"the lattice is too small for {households} households (internal sizing error)")
    return _assemble(frames, blocks, minor_roads, river, seed, params, households, household_points)


def _join_empty_communities(communities: gpd.GeoDataFrame, b: pd.DataFrame) -> gpd.GeoDataFrame:
    """A community needs residents: one whose buildings hold no households (a superblock of schools
    and offices, a river bank of public buildings) joins the nearest community that has some, as
    such units (单位) belong to a neighbouring community; ``b``'s ``community_id`` follows."""
    held = b.groupby("community_id")["households"].sum()
    empty = [code for code in communities["code"] if held.get(code, 0) == 0]
    if not empty or len(empty) == len(communities):
        return communities
    geoms = dict(zip(communities["code"], communities.geometry))
    living = [code for code in communities["code"] if code not in empty]
    for code in empty:
        into = min(living, key=lambda other: (other[:9] != code[:9], shapely.distance(geoms[code], geoms[other]),
                                              other))  # the same street first
        b.loc[b["community_id"] == code, "community_id"] = into
        geoms[into] = shapely.union_all([geoms[into], geoms[code]])
        logger.info("community %s holds no households: joined to %s", code, into)
    kept = communities[~communities["code"].isin(empty)].copy()
    kept["geometry"] = [geoms[code] for code in kept["code"]]
    return kept.reset_index(drop=True)


def _assemble(frames, blocks, minor_roads, river, seed, params, households, household_points):
    ox, oy = ORIGIN
    b = pd.concat(frames, ignore_index=True)
    b["geometry"] = shapely.transform(b["geometry"].to_numpy(), lambda c: c + (ox, oy))
    n = len(b)
    width = max(5, len(str(n)))
    b["building_id"] = [f"B{k + 1:0{width}d}" for k in range(n)]
    s = params.street_blocks
    # communities: superblocks (split by the river), numbered in their street
    rects = {k: shapely.box(*rect) for k, (_, _, rect) in enumerate(blocks)}
    street_of_block = {k: (i // s, j // s) for k, (i, j, _) in enumerate(blocks)}
    street_keys = sorted(set(street_of_block.values()), key=lambda t: (-t[1], t[0]))
    street_code = {key: f"{COUNTY}{n_ + 1:03d}" for n_, key in enumerate(street_keys)}
    comm_rows, seq = [], {}
    water = river.water if river is not None else None
    b["community_id"] = ""
    for k in sorted(rects, key=lambda k: (-blocks[k][1], blocks[k][0])):
        in_block = (b["block"] == k).to_numpy()
        if not in_block.any():
            continue
        area = rects[k] if water is None else rects[k].difference(water)
        pieces = sorted(shapely.get_parts(area), key=lambda p: -p.centroid.y)
        centre_idx = np.flatnonzero(in_block)
        centres = b.geometry.to_numpy()[centre_idx]
        local = shapely.transform(shapely.centroid(centres), lambda c: c - (ox, oy))
        for piece in pieces:
            mine = shapely.intersects(piece, local)
            if not mine.any():
                continue
            key = street_of_block[k]
            seq[key] = seq.get(key, 0) + 1
            code = f"{street_code[key]}{seq[key]:03d}"
            b.loc[b.index[centre_idx[mine]], "community_id"] = code
            comm_rows.append({"code": code, "street_id": street_code[key], "geometry": piece})
    communities = _join_empty_communities(gpd.GeoDataFrame(comm_rows, geometry="geometry", crs=CRS), b)
    communities["name"] = _names(seed, len(communities), "社区")
    communities["geometry"] = shapely.transform(communities.geometry.to_numpy(), lambda c: c + (ox, oy))
    street_geoms = {}
    for k, key in street_of_block.items():
        street_geoms.setdefault(key, []).append(rects[k])
    streets = gpd.GeoDataFrame(
        {"code": [street_code[key] for key in street_keys]},
        geometry=[shapely.union_all(street_geoms[key]) if water is None else
                  shapely.union_all(street_geoms[key]).difference(water) for key in street_keys],
        crs=CRS)
    streets["name"] = _names(seed, len(streets), "街道")
    streets["geometry"] = shapely.transform(streets.geometry.to_numpy(), lambda c: c + (ox, oy))
    b["street_id"] = b["community_id"].str[:9]
    b["compound_id"] = b["community_id"] + "-" + (b["compound"] + 1).astype(int).astype(str).str.zfill(2)
    for col in ("floors", "units", "households"):
        b[col] = b[col].astype("int64")
    b["height"] = np.round(b["floors"] * np.where(b["kind"] == "public", 4.2, 2.9), 1)
    buildings = gpd.GeoDataFrame(
        b[["building_id", "kind", "floors", "units", "households", "height", "compound_id",
           "community_id", "street_id", "geometry"]], geometry="geometry", crs=CRS)
    roads = _roads(blocks, minor_roads, river, seed, params)
    points = _household_points(b, seed) if household_points else None
    logger.info("synth: %d buildings, %d households, %d communities in %d streets", len(buildings),
                int(buildings["households"].sum()), len(communities), len(streets))
    info = {"seed": int(seed), "households_requested": int(households), **asdict(params)}
    return SynthCity(buildings=buildings, households=points, roads=roads, streets=streets,
                     communities=communities[["code", "name", "street_id", "geometry"]], params=info)


def _roads(blocks, minor_roads, river, seed, params):
    ox, oy = ORIGIN
    bw, bh = params.block_size
    ii = np.array([b[0] for b in blocks])
    jj = np.array([b[1] for b in blocks])
    ymin = min(r[1] for *_, r in blocks) - 30
    ymax = max(r[3] for *_, r in blocks) + 30
    xmin = min(r[0] for *_, r in blocks) - 30
    xmax = max(r[2] for *_, r in blocks) + 30
    rows = []
    for k in range(ii.min(), ii.max() + 2):
        x = _line_pos(seed, _STREAM_XLINE, k, bw, params.block_jitter)
        cls = "primary" if k % params.primary_every == 0 else "secondary"
        rows.append((cls, None, f"{k:+d}号路", shapely.LineString([(x, ymin), (x, ymax)])))
    for k in range(jj.min(), jj.max() + 2):
        y = _line_pos(seed, _STREAM_YLINE, k, bh, params.block_jitter)
        cls = "primary" if k % params.primary_every == 0 else "secondary"
        rows.append((cls, None, f"{k:+d}号街", shapely.LineString([(xmin, y), (xmax, y)])))
    rows += [("residential", None, "", line) for line in minor_roads]
    if river is not None:
        rows.append((None, "river", "城河", shapely.clip_by_rect(river.line, xmin, ymin, xmax, ymax)))
    frame = pd.DataFrame(rows, columns=["highway", "waterway", "name", "geometry"])
    frame = frame[~shapely.is_empty(frame["geometry"].to_numpy())]
    geoms = shapely.transform(frame["geometry"].to_numpy(), lambda c: c + (ox, oy))
    return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geoms, crs=CRS).reset_index(drop=True)


def _household_points(b, seed):
    """One point per household, uniform inside its building's rectangle."""
    rng = _rng(seed, _STREAM_POINTS)
    reps = b["households"].to_numpy()
    idx = np.repeat(np.arange(len(b)), reps)
    u = rng.uniform(-0.45, 0.45, len(idx))
    v = rng.uniform(-0.45, 0.45, len(idx))
    cx, cy = b["cx"].to_numpy()[idx], b["cy"].to_numpy()[idx]
    x = cx + u * b["w"].to_numpy()[idx]
    y = cy + v * b["h"].to_numpy()[idx]
    ang, rx, ry = (b[c].to_numpy()[idx] for c in ("angle", "ox", "oy"))
    c, s = np.cos(ang), np.sin(ang)
    px = rx + (x - rx) * c - (y - ry) * s + ORIGIN[0]
    py = ry + (x - rx) * s + (y - ry) * c + ORIGIN[1]
    width = max(7, len(str(len(idx))))
    return gpd.GeoDataFrame({"household_id": [f"H{k + 1:0{width}d}" for k in range(len(idx))],
                             "building_id": b["building_id"].to_numpy()[idx]},
                            geometry=shapely.points(px, py), crs=CRS)


def write_city(city: SynthCity, path) -> Path:
    """Write the city's layers to one GeoPackage, atomically.

    Layers ``buildings``, ``households`` (when generated), ``roads``, ``streets``, ``communities``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        for name, gdf in city.layers().items():
            gdf.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return path
