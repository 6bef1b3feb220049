"""Made-up sample inputs for the bundled Suzhou footprints: a household ledger and a CAD drawing.

Run ``python -m geo.samples`` (seeded, so the files are the same every time) to write

``data/suzhou_gusu/ledger.csv`` (GBK, as a spreadsheet program saves it) and ``ledger.xlsx``
    A household ledger (台账) of the western part of the area, one row per unit: 小区, 楼栋号,
    单元, 户数. The buildings have no names, so the ledger numbers them by their generated IDs:
    building ``B00003`` (the file's third footprint) is 楼栋 3, written the ways offices write it
    (``3幢``, ``3栋``, ``3号楼``, ``三号楼``, ``3#``, ``３号`` in full-width digits, with the 小区
    before it, with the 单元 after it). Households are the estimate (area × floors) of each
    building split over its units. The usual mess is added on purpose: rows of buildings that
    are not in the footprints (:data:`UNKNOWN`), rows entered twice (:data:`DUPLICATES`), a blank
    line, and a 合计 (total) line at the end.
``data/suzhou_gusu/cad.dxf``
    A CAD drawing (DXF, GBK, coordinates in EPSG:4549, CGCS2000 Gauss–Krüger CM 120°E) of one
    block of the same area: footprints as closed LWPOLYLINEs on layer ``建筑`` (a few as
    hatches), each labelled with its number (``3幢``) on layer ``楼号``, road edges as open
    polylines on layer ``道路``, one footprint left open by mistake, and a title on ``注记``.

Every name and number is invented; no real households are described.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from geo.load import load_buildings

__all__ = ["make_ledger", "make_cad", "write_samples", "DATA", "UNKNOWN", "DUPLICATES", "CAD_CRS"]

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[1] / "data" / "suzhou_gusu"
#: Ledger rows of buildings that are not among the footprints (demolished, or mistyped).
UNKNOWN = 8
#: Ledger rows entered twice.
DUPLICATES = 6
#: The CRS of the sample drawing.
CAD_CRS = "EPSG:4549"
_COMPOUNDS = ("苏州花园", "桂花新村", "沧浪新村", "南园小区", "三元坊", "十全里", "盘门花园", "金狮巷",
              "杨枝塘", "东大街小区", "吴衙场", "带城桥")
_CN = "零一二三四五六七八九"


def _chinese(n: int) -> str:
    """12 → 十二, 305 → 三百零五 (n < 10000)."""
    if n == 0:
        return "零"
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            out += ("零" if zero and out else "") + ("" if (unit == "十" and d == 1 and not out) else _CN[d]) + unit
            zero = False
        else:
            zero = True
    return out


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _sample_buildings():
    return load_buildings(DATA / "buildings.geojson").buildings


def make_ledger(buildings=None, *, seed: int = 0, share: float = 0.4) -> pd.DataFrame:
    """The sample ledger as a table (see the module), its rows in the order of the file.

    Parameters
    ----------
    buildings : GeoDataFrame, optional
        The bundled buildings as :func:`geo.load_buildings` returns them (read when not given).
    seed : int
        The seed of every random choice.
    share : float
        The western share of the buildings the ledger covers.
    """
    rng = np.random.default_rng(seed)
    b = _sample_buildings() if buildings is None else buildings
    pts = shapely.get_coordinates(shapely.point_on_surface(b.geometry.values))
    west = pts[:, 0] <= np.quantile(pts[:, 0], share)
    cell = (np.floor((pts[:, 0] - pts[:, 0].min()) / 300).astype(int) * 7
            + np.floor((pts[:, 1] - pts[:, 1].min()) / 300).astype(int))
    rows = []
    for i in np.flatnonzero(west & (b["households"].to_numpy() > 0)):
        number = int(b.index[i][1:])
        compound = _COMPOUNDS[cell[i] % len(_COMPOUNDS)]
        # an office's count differs from the estimate (vacant flats, shops, subdivided flats)
        hh = max(1, int(round(int(b["households"].iloc[i]) * rng.uniform(0.7, 1.3))))
        units = max(1, int(np.ceil(hh / 24)))
        split = np.full(units, hh // units) + (np.arange(units) < hh % units)
        form = rng.choice(8, p=[0.3, 0.2, 0.13, 0.1, 0.08, 0.06, 0.1, 0.03])
        key = [f"{number}幢", f"{number}栋", f"{number}号楼", f"{number}#", _fullwidth(f"{number}号"),
               f"{_chinese(number)}号楼", f"{compound}{number}幢", f"{number}幢"][form]
        for u, n in enumerate(split, start=1):
            unit = f"{u}单元"
            # a few offices write the unit into the building cell and leave 单元 empty
            k, un = (f"{key}{unit}", "") if form == 7 else (key, unit)
            rows.append({"小区": compound, "楼栋号": k, "单元": un, "户数": str(int(n)), "clean": True})
    table = pd.DataFrame(rows)
    # the mess: unknown buildings, rows entered twice, a blank line, a total at the end
    n_max = int(b.index.str[1:].astype(int).max())
    for j in range(UNKNOWN):
        at = int(rng.integers(0, len(table)))
        number = n_max + 100 + int(rng.integers(0, 900))
        row = {"小区": table.at[at, "小区"], "楼栋号": f"{number}幢" if j % 2 else f"{number}号楼",
               "单元": "1单元", "户数": str(int(rng.integers(6, 30))), "clean": False}
        table = pd.concat([table.iloc[:at], pd.DataFrame([row]), table.iloc[at:]], ignore_index=True)
    for _ in range(DUPLICATES):
        src = int(rng.integers(0, len(table) - 50))
        copy = table.iloc[[src]].assign(clean=False)
        at = src + int(rng.integers(1, 40))
        table = pd.concat([table.iloc[:at], copy, table.iloc[at:]], ignore_index=True)
    at = int(rng.integers(len(table) // 3, 2 * len(table) // 3))
    blank = pd.DataFrame([{"小区": "", "楼栋号": "", "单元": "", "户数": "", "clean": False}])
    table = pd.concat([table.iloc[:at], blank, table.iloc[at:]], ignore_index=True)
    total = int(pd.to_numeric(table["户数"], errors="coerce").sum())
    table.loc[len(table)] = {"小区": "合计", "楼栋号": "", "单元": "", "户数": str(total), "clean": False}
    return table.reset_index(drop=True)


def _dxf_polyline(layer: str, handle: str, coords, closed: bool) -> list[str]:
    out = ["0", "LWPOLYLINE", "5", handle, "8", layer, "100", "AcDbEntity", "100", "AcDbPolyline",
           "90", str(len(coords)), "70", "1" if closed else "0"]
    for x, y in coords:
        out += ["10", f"{x:.3f}", "20", f"{y:.3f}"]
    return out


def _dxf_hatch(layer: str, handle: str, coords) -> list[str]:
    out = ["0", "HATCH", "5", handle, "8", layer, "100", "AcDbEntity", "100", "AcDbHatch",
           "10", "0.0", "20", "0.0", "30", "0.0", "210", "0.0", "220", "0.0", "230", "1.0", "2", "SOLID",
           "70", "1", "71", "0", "91", "1", "92", "2", "72", "0", "73", "1", "93", str(len(coords))]
    for x, y in coords:
        out += ["10", f"{x:.3f}", "20", f"{y:.3f}"]
    return out + ["97", "0", "75", "0", "76", "1", "98", "0"]


def _dxf_text(layer: str, handle: str, x: float, y: float, text: str, height: float = 2.5) -> list[str]:
    return ["0", "TEXT", "5", handle, "8", layer, "100", "AcDbEntity", "100", "AcDbText",
            "10", f"{x:.3f}", "20", f"{y:.3f}", "30", "0.0", "40", f"{height:g}", "1", text]


def make_cad(path, buildings=None, *, seed: int = 0, size: float = 260.0) -> dict:
    """Write the sample drawing (see the module) to ``path``; return what it holds.

    The block is the ``size`` × ``size`` m square around the footprint nearest the centre of the
    ledger's part of the area.
    """
    rng = np.random.default_rng(seed)
    b = _sample_buildings() if buildings is None else buildings
    b = b.to_crs(CAD_CRS)
    pts = shapely.get_coordinates(shapely.point_on_surface(b.geometry.values))
    cx, cy = np.quantile(pts[:, 0], 0.2), np.median(pts[:, 1])
    box = shapely.box(cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
    inside = b[b.geometry.within(box) & (b.geom_type == "Polygon")]
    ents, handle = [], 0x100
    hatches = set(rng.choice(len(inside), size=3, replace=False).tolist())
    open_one = int(rng.integers(0, len(inside)))
    for j, (bid, geom) in enumerate(zip(inside.index, inside.geometry)):
        ring = list(geom.exterior.coords)[:-1]  # CAD stores a closed polyline without repeating the first vertex
        h = f"{handle:X}"
        handle += 1
        if j in hatches:
            ents += _dxf_hatch("建筑", h, ring)
        else:
            ents += _dxf_polyline("建筑", h, ring, closed=j != open_one)
        p = geom.representative_point()
        ents += _dxf_text("楼号", f"{handle:X}", p.x, p.y, f"{int(bid[1:])}幢")
        handle += 1
    for y in (cy - size / 2 + 5, cy + size / 2 - 5):  # two road edges
        ents += _dxf_polyline("道路", f"{handle:X}", [(cx - size / 2, y), (cx + size / 2, y)], closed=False)
        handle += 1
    ents += _dxf_text("注记", f"{handle:X}", cx - size / 2, cy + size / 2 + 5, "姑苏区某街道房屋示意图（样例）", 5)
    header = ["0", "SECTION", "2", "HEADER", "9", "$ACADVER", "1", "AC1015", "9", "$DWGCODEPAGE", "3", "ANSI_936",
              "9", "$INSUNITS", "70", "6", "0", "ENDSEC"]
    text = "\n".join(header + ["0", "SECTION", "2", "ENTITIES"] + ents + ["0", "ENDSEC", "0", "EOF"]) + "\n"
    Path(path).write_bytes(text.encode("gbk"))
    return {"footprints": len(inside), "hatches": len(hatches), "open": inside.index[open_one],
            "ids": list(inside.index)}


def write_samples(folder=DATA, *, seed: int = 0) -> list[Path]:
    """Write ``ledger.csv`` (GBK), ``ledger.xlsx`` and ``cad.dxf`` into ``folder``."""
    folder = Path(folder)
    b = _sample_buildings()
    ledger = make_ledger(b, seed=seed).drop(columns="clean")
    csv, xlsx, dxf = folder / "ledger.csv", folder / "ledger.xlsx", folder / "cad.dxf"
    ledger.to_csv(csv, index=False, encoding="gbk")
    sheet = ledger.replace("", None).assign(户数=lambda t: pd.to_numeric(t["户数"]).astype("Int64"))
    sheet.to_excel(xlsx, index=False, sheet_name="台账")
    info = make_cad(dxf, b, seed=seed)
    logger.info("ledger: %d rows; drawing: %d footprints", len(ledger), info["footprints"])
    return [csv, xlsx, dxf]


if __name__ == "__main__":
    for written in write_samples():
        print(f"wrote {written} ({written.stat().st_size / 1024:.0f} KiB)")  # noqa: T201 (a script's output)
