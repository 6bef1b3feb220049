"""A large city made of copies of the Suzhou footprints side by side (seeded), for the big-file
benchmark and its test."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

SUZHOU_SMALL = "data/suzhou_gusu/buildings.geojson"


def make_tiled(src, out, copies: int, *, seed: int = 0) -> int:
    """Write ``copies`` copies of ``src`` in a near-square arrangement, each shifted by a seeded
    jitter (up to 50 m) and 20 m apart, with unique ``Id``; returns the number of buildings."""
    base = gpd.read_file(src)
    minx, miny, maxx, maxy = base.total_bounds
    mlat = math.cos(math.radians((miny + maxy) / 2))
    deg_m = 1 / 111_320.0
    w, h = maxx - minx + 20 * deg_m / mlat, maxy - miny + 20 * deg_m
    cols = math.ceil(math.sqrt(copies))
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(copies):
        jx, jy = rng.uniform(0, 50, 2) * deg_m
        dx, dy = (k % cols) * (w + 50 * deg_m / mlat) + jx / mlat, (k // cols) * (h + 50 * deg_m) + jy
        part = base.copy()
        part["geometry"] = part.geometry.translate(dx, dy)
        part["Id"] = np.arange(len(base)) + k * len(base)
        parts.append(part)
    city = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=base.crs)
    city.to_file(out, driver="GeoJSON", engine="pyogrio")
    return len(city)
