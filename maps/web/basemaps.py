"""Basemaps: the tile layers under a web map, their datum, and the one check of a basemap choice.

:data:`BASEMAPS` lists them by the key used in configuration and on the command line;
:func:`check_basemap` is the one place a choice is refused (unknown, needs a key or a tile URL,
from the internet while the app is offline, not for a file opened from disk), with
:class:`geo.errors.GridplanError` (a setting, not an input file: exit code 1).
:func:`basemap_datum` says which datum the tiles are drawn in: overlays are shifted to it by
:func:`geo.crs.to_datum`.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
from folium import plugins

from geo.errors import GridplanError
from maps.i18n import text
from maps.web.assets import script_guard
from maps.web.layers import basemap_note, metric_scale

__all__ = ["Basemap", "BASEMAPS", "OFFLINE_BASEMAPS", "basemap_datum", "check_basemap", "base_map", "add_tiles"]

@dataclass(frozen=True)
class Basemap:
    """A basemap: tile layers (base, then annotation overlays), attribution and datum."""

    key: str
    label_zh: str
    label_en: str
    tiles: tuple = ()          # (url template, layer name) pairs; ``{key}`` is the API key
    attribution: str = ""
    subdomains: str = "abc"
    datum: str = "wgs84"        # "gcj02": overlays are shifted to match the tiles
    needs_key: bool = False
    max_zoom: int = 19

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


_TDT = ("https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
        "&LAYER=%s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
        "&TILECOL={x}&tk={key}")
_TDT_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'

#: Basemaps by the key used in configuration and on the command line.
BASEMAPS = {
    "osm": Basemap("osm", "OpenStreetMap", "OpenStreetMap",
                   (("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "OpenStreetMap"),),
                   '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
                   subdomains="abc"),
    "tianditu-vec": Basemap("tianditu-vec", "天地图 矢量", "Tianditu vector",
                            ((_TDT % ("vec", "vec"), "vec"), (_TDT % ("cva", "cva"), "cva")),
                            _TDT_ATTR, subdomains="01234567", needs_key=True, max_zoom=18),
    "tianditu-img": Basemap("tianditu-img", "天地图 影像", "Tianditu imagery",
                            ((_TDT % ("img", "img"), "img"), (_TDT % ("cia", "cia"), "cia")),
                            _TDT_ATTR, subdomains="01234567", needs_key=True, max_zoom=18),
    "amap": Basemap("amap", "高德地图 (GCJ-02)", "Amap (GCJ-02)",
                    (("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
                      "&style=8&x={x}&y={y}&z={z}", "amap"),),
                    "&copy; 高德地图 AutoNavi", subdomains="1234", datum="gcj02", max_zoom=18),
    "intranet": Basemap("intranet", "内网底图", "Intranet tiles", (("{url}", "intranet"),)),
    "none": Basemap("none", "无底图", "No basemap"),
}


#: Basemaps whose tiles do not come from the internet: the only ones an offline app may serve.
OFFLINE_BASEMAPS = ("intranet", "none")


def check_basemap(basemap: str, *, key: str | None = None, tiles_url: str | None = None,
                  offline: bool = False, for_file: bool = False) -> Basemap:
    """The :class:`Basemap` of ``basemap``, once it is known to be usable as asked.

    Parameters
    ----------
    basemap : str
        A key of :data:`BASEMAPS`.
    key : str, optional
        The Tianditu browser key (the ``tianditu-*`` basemaps need one).
    tiles_url : str, optional
        The intranet tile URL template (basemap ``intranet`` needs one).
    offline : bool
        The page may load nothing from the internet: only :data:`OFFLINE_BASEMAPS`.
    for_file : bool
        For a self-contained file opened from disk (``gridplan map``): no key and no datum shift.

    Raises
    ------
    geo.errors.GridplanError
        Naming the basemap and the fix.
    """
    spec = BASEMAPS.get(basemap)
    if spec is None:
        raise GridplanError(f"unknown basemap {basemap!r}; choose one of {', '.join(BASEMAPS)}")
    if offline and basemap not in OFFLINE_BASEMAPS:
        raise GridplanError(f"basemap {basemap} loads its tiles from the internet, and the app is offline (the "
                         "default): serve with --online (OFFLINE = False in instance/config.py) to use it, or "
                         "choose --basemap intranet with --tiles-url, or none")
    if for_file and (spec.needs_key or spec.datum != "wgs84"):
        raise GridplanError(f"basemap {basemap!r} is for the web app only (a key, or tiles in another datum)")
    if spec.needs_key and not key:
        raise GridplanError(f"basemap {basemap} needs TIANDITU_KEY (a Tianditu browser key)")
    if spec.key == "intranet" and not tiles_url:
        raise GridplanError("basemap intranet needs TILES_URL (e.g. http://tiles.local/{z}/{x}/{y}.png)")
    return spec


def basemap_datum(basemap: str) -> str:
    """The datum a basemap's tiles are drawn in (``gcj02`` for Amap, else ``wgs84``)."""
    return BASEMAPS[basemap].datum if basemap in BASEMAPS else "wgs84"


def add_tiles(fmap, spec: Basemap, *, lang: str, basemap_key: str | None, tiles_url: str | None,
               tiles_attribution: str | None) -> None:
    """The basemap's tile layers, and the note that tells when there is none or its tiles fail."""

    for i, (url, _name) in enumerate(spec.tiles):
        url = url.replace("{key}", basemap_key or "").replace("{url}", tiles_url or "")
        attribution = tiles_attribution if spec.key == "intranet" and tiles_attribution else spec.attribution
        folium.TileLayer(tiles=url, attr=attribution or spec.label(lang), name=spec.label(lang) if i == 0
                         else f"{spec.label(lang)} · {text('annotation', lang)}",
                         subdomains=spec.subdomains, max_zoom=20, max_native_zoom=spec.max_zoom,
                         overlay=i > 0, control=i > 0).add_to(fmap)
    basemap_note(none=text("basemap_none_note", lang) if not spec.tiles else None,
                        failed=text("basemap_failed_note", lang)).add_to(fmap)


def base_map(bounds, *, lang: str, basemap: str, basemap_key: str | None, tiles_url: str | None,
              tiles_attribution: str | None):

    spec = check_basemap(basemap, key=basemap_key, tiles_url=tiles_url)
    xmin, ymin, xmax, ymax = bounds
    fmap = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], tiles=None, control_scale=False,
                      prefer_canvas=False, zoom_control=True, max_zoom=20)
    script_guard(fmap, lang=lang, hint="server")
    metric_scale().add_to(fmap)
    add_tiles(fmap, spec, lang=lang, basemap_key=basemap_key, tiles_url=tiles_url,
               tiles_attribution=tiles_attribution)
    fmap.fit_bounds([[ymin, xmin], [ymax, xmax]])
    plugins.Fullscreen(title=text("fullscreen", lang), title_cancel=text("fullscreen_exit", lang)).add_to(fmap)
    plugins.MeasureControl(primary_length_unit="meters", secondary_length_unit="kilometers",
                           primary_area_unit="sqmeters", secondary_area_unit="hectares").add_to(fmap)
    plugins.LocateControl(icon="fa-solid fa-location-crosshairs",
                          strings={"title": text("locate_me", lang)}).add_to(fmap)
    return fmap


