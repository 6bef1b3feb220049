"""The buildings of each compound kind of a synthetic city (:mod:`geo.synth`): one function per
kind fills a compound's rectangle with buildings, as rows of ``(cx, cy, w, h, floors, units,
households)``.  The figures (floors, units, households per floor) and their sources are in
``docs/synth.md``.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["FILL", "BUILDING_KIND", "rects"]


def rects(cx, cy, w, h, angle, ox, oy):
    """Rectangles centred at (cx, cy) of size w × h, rotated by ``angle`` about (ox, oy)."""
    dx = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
    dy = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
    x = cx[:, None] + w[:, None] * dx
    y = cy[:, None] + h[:, None] * dy
    c, s = np.cos(angle), np.sin(angle)
    xr = ox + (x - ox) * c - (y - oy) * s
    yr = oy + (x - ox) * s + (y - oy) * c
    return shapely.polygons(np.stack([xr, yr], axis=-1))


def _walkup(rng, x0, y0, x1, y1):
    """Rows of walk-ups: (cx, cy, w, h, floors, units, households)."""
    rows = []
    depth = 11.0
    y = y0 + depth / 2
    while y + depth / 2 <= y1:
        floors_row = rng.integers(5, 8)
        x = x0
        while True:
            units = int(rng.integers(2, 5))
            length = units * rng.uniform(12.0, 14.0)
            if x + length > x1:
                break
            floors = int(np.clip(floors_row + rng.integers(-1, 2), 5, 7))
            rows.append((x + length / 2, y, length, depth, floors, units, floors * units * 2))
            x += length + rng.uniform(8.0, 14.0)
        # sunlight spacing: about 1.1 × the height of the row to the south
        y += depth + 1.1 * 2.9 * floors_row + rng.uniform(-1.0, 2.0)
    return rows


def _tower(rng, x0, y0, x1, y1):
    out = []
    w, h = 26.0, 17.0
    sx, sy = rng.uniform(42.0, 50.0), rng.uniform(52.0, 62.0)
    for cy in np.arange(y0 + h / 2, y1 - h / 2 + 1e-9, sy):
        for cx in np.arange(x0 + w / 2, x1 - w / 2 + 1e-9, sx):
            if rng.random() < 0.08:  # open space, a clubhouse lawn
                continue
            floors, units = int(rng.integers(18, 34)), int(rng.integers(1, 4))
            out.append((cx, cy, w if units > 1 else 18.0, h, floors, units, floors * units * 2))
    return out


def _village(rng, x0, y0, x1, y1):
    out = []
    lane_every = int(rng.integers(5, 8))
    y, row = y0, 0
    while True:
        d = rng.uniform(10.0, 13.0)
        if y + d > y1:
            break
        x, col = x0, 0
        while True:
            w = rng.uniform(8.0, 12.0)
            if x + w > x1:
                break
            if rng.random() > 0.1:
                floors = int(rng.integers(2, 7))
                out.append((x + w / 2, y + d / 2, w, d, floors, 1, floors * int(rng.integers(1, 3))))
            col += 1
            x += w + (6.0 if col % lane_every == 0 else rng.uniform(2.0, 4.0))
        row += 1
        y += d + (6.0 if row % lane_every == 0 else rng.uniform(2.0, 4.0))
    return out


def _public(rng, x0, y0, x1, y1):
    out = []
    y = y0
    while y < y1 - 20:
        x = x0
        d = rng.uniform(20.0, 40.0)
        while x < x1 - 20:
            w = rng.uniform(25.0, 70.0)
            if x + w <= x1 and y + d <= y1 and rng.random() < 0.6:
                out.append((x + w / 2, y + d / 2, w, d, int(rng.integers(2, 6)), 0, 0))
            x += w + rng.uniform(15.0, 30.0)
        y += d + rng.uniform(20.0, 35.0)
    return out


def _courtyard(rng, x0, y0, x1, y1):
    """An old town of courtyard houses (合院, 大杂院) on lanes: plots of 16–24 m × 20–28 m side by side,
    rows back to back with a 4–6 m lane (巷, 弄) between every two rows and a 3–4 m alley every 6–10
    plots; on each plot a north hall (正房, 1–2 floors, 2–4 households), a south wing (倒座, 1 floor,
    1–2) and east and west wings (厢房, 1 floor, 1–2 each, one in ten missing)."""
    out = []
    y, row = y0, 0
    while True:
        d = rng.uniform(20.0, 28.0)
        if y + d > y1:
            break
        x, col = x0, 0
        alley_every = int(rng.integers(6, 11))
        while True:
            w = rng.uniform(16.0, 24.0)
            if x + w > x1:
                break
            floors = int(rng.integers(1, 3))
            out.append((x + w / 2, y + d - 3.75, w - 1.0, 7.5, floors, 1, floors * int(rng.integers(1, 3)) + 1))
            out.append((x + w / 2, y + 2.5, w - 1.0, 5.0, 1, 1, int(rng.integers(1, 3))))
            side = d - 15.5
            for cx in (x + 2.75, x + w - 2.75):
                if rng.random() > 0.1:
                    out.append((cx, y + 6.5 + side / 2, 4.5, side, 1, 1, int(rng.integers(1, 3))))
            col += 1
            x += w + (rng.uniform(3.0, 4.0) if col % alley_every == 0 else 1.0)
        row += 1
        y += d + (rng.uniform(4.0, 6.0) if row % 2 == 0 else 1.0)
    return out


#: The function filling a compound of each kind.
FILL = {"walkup": _walkup, "tower": _tower, "village": _village, "public": _public, "courtyard": _courtyard}
#: The ``kind`` of the buildings of each compound kind.
BUILDING_KIND = {"walkup": "walkup", "tower": "tower", "village": "village_house", "public": "public",
                 "courtyard": "courtyard_house"}
