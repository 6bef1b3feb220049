"""Building footprints from CAD drawings (DXF).

Survey and design offices hand over CAD drawings: footprints drawn as closed polylines
(LWPOLYLINE/POLYLINE with the closed flag, or a last vertex on the first), sometimes as hatches,
on a layer such as ``建筑`` or ``JZ``, with the building numbers as text (``3幢``) inside them,
among roads, dimension lines and labels on other layers. GDAL's DXF driver (through pyogrio)
reads every entity into one layer with a ``Layer`` field: closed polylines come as closed
LineStrings, hatches as Polygons, texts as Points with a ``Text`` field.

:func:`read_cad_footprints` keeps the closed polylines and hatches of the chosen CAD layers as
polygons, gives each the texts that lie inside it (``cad_text``, a building number to join a
ledger on) and its CAD layer (``cad_layer``), and reports what it left out. A DXF drawing carries
no CRS: the user names the one it was drawn in (``--crs EPSG:4549``: CGCS2000 3-degree
Gauss–Krüger CM 120°E, Suzhou; EPSG:4513–4533 the same zones with the zone number before the
easting, EPSG:4534–4554 without).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import ensure_crs
from geo.errors import CRSError, InputError, ids_text

__all__ = ["read_cad_footprints", "cad_layers", "dxf_encoding"]

logger = logging.getLogger(__name__)

_LINE_TYPES = ("LineString", "MultiLineString")
_POLY_TYPES = ("Polygon", "MultiPolygon")


def _no_crs(p: Path) -> CRSError:
    return CRSError(f"{p}: a DXF drawing carries no CRS",
                    hint="name the one it was drawn in with {crs}, e.g. {crs:EPSG:4549} (CGCS2000 3-degree "
                    "Gauss-Krüger CM 120E, Suzhou/Shanghai), EPSG:4547 (CM 114E), EPSG:4527 (zone 39 with the "
                    "zone number in the easting); a drawing in local city coordinates (城建坐标) must be "
                    "georeferenced first")


def dxf_encoding(path) -> str | None:
    """The encoding of a DXF drawing's texts and layer names when the drawing does not declare it.

    A drawing declares its code page in the header (``$DWGCODEPAGE``, e.g. ``ANSI_936`` for GBK;
    AutoCAD 2007 and later write UTF-8), and GDAL follows it. Without one GDAL assumes
    Windows-1252, which turns Chinese layer names and texts into mojibake: this answers ``UTF-8`` if
    the file decodes as UTF-8, else ``GB18030`` if it decodes as that, else ``None``.
    """
    data = Path(path).read_bytes()
    if b"$DWGCODEPAGE" in data or data.isascii():
        return None
    for encoding in ("UTF-8", "GB18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        logger.info("%s: no code page declared; the texts decode as %s and are read so (name another "
                    "encoding to override)", path, encoding)
        return encoding
    return None


def _read_entities(p: Path, encoding: str | None = None) -> gpd.GeoDataFrame:
    encoding = encoding or dxf_encoding(p)
    # GDAL applies DXF_ENCODING only to a drawing with a HEADER section; one without is read as
    # ISO-8859-1, whose characters map one to one back to the file's bytes
    headerless = bool(encoding) and b"HEADER" not in p.read_bytes()[:4096]
    try:
        if encoding and not headerless:
            with pyogrio_config({"DXF_ENCODING": encoding}):
                gdf = pyogrio.read_dataframe(p, on_invalid="ignore")
        else:
            gdf = pyogrio.read_dataframe(p, on_invalid="ignore")
        if headerless:
            for col in ("Layer", "Text"):
                if col in gdf.columns:
                    gdf[col] = gdf[col].map(lambda v: v.encode("latin-1").decode(str(encoding))
                                            if isinstance(v, str) else v)
    except (UnicodeError, LookupError) as exc:
        raise InputError(f"{p}: the drawing's texts cannot be decoded as {encoding} ({exc})",
                         hint="name their encoding with {encoding}, e.g. {encoding:GBK} or "
                         "{encoding:UTF-8}") from exc
    except Exception as exc:
        raise InputError(f"{p}: cannot be read as a DXF drawing ({' '.join(str(exc).split())[:200]}); "
                         "save it from CAD as DXF (AutoCAD 2000–2018 DXF)") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or len(gdf) == 0:
        raise InputError(f"{p}: the drawing holds no entities")
    gdf["Layer"] = gdf["Layer"].fillna("0").astype(str) if "Layer" in gdf.columns else "0"
    return gdf


class pyogrio_config:
    """Set GDAL configuration options for the duration of a ``with`` block, then restore them."""

    def __init__(self, options: dict):
        self.options = options

    def __enter__(self):
        self.old = {k: pyogrio.get_gdal_config_option(k) for k in self.options}
        pyogrio.set_gdal_config_options(self.options)

    def __exit__(self, *exc):
        pyogrio.set_gdal_config_options(self.old)


def cad_layers(path, *, encoding: str | None = None) -> pd.DataFrame:
    """Each CAD layer of a DXF drawing with its number of closed outlines, open lines and texts."""
    gdf = _read_entities(Path(path), encoding)
    kind = _kinds(gdf)
    return pd.crosstab(gdf["Layer"], kind).reindex(columns=["closed", "open", "text", "other"], fill_value=0)


def _kinds(gdf: gpd.GeoDataFrame) -> pd.Series:
    geoms = gdf.geometry.values
    types = gdf.geom_type.fillna("")
    closed = np.zeros(len(gdf), dtype=bool)
    lines = types.isin(_LINE_TYPES).to_numpy().copy()
    if lines.any():
        merged = [shapely.line_merge(g) if t == "MultiLineString" else g
                  for g, t in zip(geoms[lines], types[lines])]
        closed[lines] = [getattr(g, "geom_type", "") == "LineString" and g.is_closed and len(g.coords) >= 4
                         for g in merged]
    text = types.isin(["Point", "MultiPoint"]).to_numpy().copy()
    if "Text" in gdf.columns:
        text &= gdf["Text"].notna().to_numpy()
    kind = np.select([types.isin(_POLY_TYPES).to_numpy() | closed, lines, text], ["closed", "open", "text"],
                     "other")
    return pd.Series(kind, index=gdf.index, name="kind")


def read_cad_footprints(path, *, cad_layer=None, crs=None, encoding: str | None = None) -> gpd.GeoDataFrame:
    """Building footprints from a DXF drawing's closed polylines and hatches.

    Parameters
    ----------
    path : str or Path
        The ``.dxf`` file.
    cad_layer : str, optional
        The CAD layer(s) holding the footprints, comma-separated (``--layer 建筑``); by default
        every layer that holds closed outlines. Texts are taken from every layer.
    crs : optional
        The CRS the drawing was drawn in (``--crs``): required, a drawing carries none.
    encoding : str, optional
        Of the texts and layer names when the drawing declares no code page (``--encoding``);
        detected by default (:func:`dxf_encoding`).

    Returns
    -------
    GeoDataFrame
        One polygon per closed outline, in file order, with ``cad_layer``, ``cad_handle`` (the
        entity's handle: ``--id-field cad_handle`` keys the buildings by it) and ``cad_text`` (the
        texts inside it, joined by ``/``; empty if none); labelled with ``crs``. ``attrs["notes"]``
        says what was read and what was left out.

    Examples
    --------
    >>> fp = read_cad_footprints("data/suzhou_gusu/cad.dxf", cad_layer="建筑", crs="EPSG:4549")
    >>> fp.crs.to_string(), fp.geom_type.unique().tolist(), fp["cad_text"].iloc[0]
    ('EPSG:4549', ['Polygon'], '304幢')
    """
    p = Path(path)
    if crs is None:
        raise _no_crs(p)
    gdf = _read_entities(p, encoding)
    kind = _kinds(gdf)
    table = pd.crosstab(gdf["Layer"], kind)
    summary = "; ".join(f"{layer}: " + ", ".join(f"{int(n)} {k}" for k, n in row.items() if n)
                        for layer, row in table.iterrows())
    wanted = None
    if cad_layer is not None:
        wanted = [w.strip() for w in str(cad_layer).split(",") if w.strip()]
        unknown = [w for w in wanted if w not in set(gdf["Layer"])]
        if unknown:
            raise InputError(f"{p}: has no CAD layer {ids_text(unknown)}; its layers are: {summary}",
                             hint="choose one with {layer}")
    on_layer = gdf["Layer"].isin(wanted) if wanted else pd.Series(True, index=gdf.index)
    keep = on_layer & (kind == "closed")
    where = f"CAD layer(s) {', '.join(wanted)}" if wanted else "the drawing"
    if not keep.any():
        if (on_layer & (kind == "open")).any():
            fix = ("the outlines are open polylines: close them in CAD (PEDIT → Close, or the polyline's "
                   "Closed property) and save again")
        elif (on_layer & (kind == "text")).any():
            fix = "it holds only text; choose the layer of the building outlines with {layer}"
        else:
            fix = "choose the layer of the building outlines with {layer}"
        raise InputError(f"{p}: {where} holds no closed polylines or hatches to use as footprints "
                         f"(layers: {summary})", hint=fix)
    geoms = []
    for g in gdf.geometry[keep]:
        if g.geom_type in _POLY_TYPES:
            geoms.append(shapely.force_2d(g))
        else:
            ring = shapely.line_merge(g) if g.geom_type == "MultiLineString" else g
            geoms.append(shapely.Polygon(shapely.force_2d(ring).coords))
    out = gpd.GeoDataFrame({"cad_layer": gdf.loc[keep, "Layer"].to_numpy(),
                            "cad_handle": (gdf.loc[keep, "EntityHandle"].astype(str).to_numpy()
                                           if "EntityHandle" in gdf.columns else None)},
                           geometry=geoms, crs=None)
    out["cad_text"] = _texts_inside(out, gdf[kind == "text"])
    notes = [f"{p}: {len(out)} footprint(s) from the closed polylines and hatches of {where} (layers: {summary})"]
    left = on_layer & (kind == "open")
    if left.any():
        handles = gdf.loc[left, "EntityHandle"] if "EntityHandle" in gdf.columns else gdf.index[left]
        notes.append(f"{p}: left out {int(left.sum())} open polyline(s) of {where} (handles {ids_text(handles)}): "
                     "they enclose no footprint; close them in CAD if they are buildings")
    for note in notes:
        logger.info(note)
    out = ensure_crs(out, crs=crs, path=str(p))
    out.attrs["notes"] = notes  # geo.load_buildings reports them
    return out


def _texts_inside(footprints: gpd.GeoDataFrame, texts: gpd.GeoDataFrame) -> pd.Series:
    """The texts whose insertion point lies in each footprint, joined by ``/`` (smallest footprint wins)."""
    label = pd.Series("", index=footprints.index, dtype=object)
    if texts.empty or "Text" not in texts.columns:
        return label
    pts = shapely.force_2d(texts.geometry.values)
    poly_idx, text_idx = footprints.sindex.query(pts, predicate="within")[::-1]
    if len(poly_idx) == 0:
        return label
    area = shapely.area(footprints.geometry.values)
    pairs = pd.DataFrame({"poly": poly_idx, "text": text_idx, "area": area[poly_idx]})
    pairs = pairs.sort_values(["text", "area"]).drop_duplicates("text")  # a text labels one footprint
    strings = texts["Text"].astype(str).str.strip().to_numpy()
    for poly, group in pairs.sort_values("text").groupby("poly"):
        label.iloc[int(poly)] = "/".join(strings[group["text"].to_numpy()])
    return label
