"""Our own folium layers and the small helpers that put labels and links on a web map.

Labels at points (grid numbers, building numbers), a layer fetched after the page is drawn (the
buildings under a community map), a metric scale bar and the basemap note; every text from the
input is HTML-escaped (:func:`escaped`) before a tooltip or label shows it. folium is imported
only when a map is drawn.
"""

from __future__ import annotations

import functools
import html

import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from folium.map import Layer
from folium.template import Template
from folium.utilities import JsCode

from maps.web.assets import js_str
from maps.web.geojson import to_lonlat

__all__ = ["labels_layer", "fetched_layer", "metric_scale", "basemap_note", "label_zoom", "label_points", "escaped",
           "click_to"]

_LABELS_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
  pointToLayer: function (f, ll) {
    return L.marker(ll, {icon: L.divIcon({className: {{ this.css_class|tojson }}, html: f.properties.label,
                                          iconSize: null}), keyboard: false,
                         interactive: {{ 'true' if this.url else 'false' }}});
  },
  onEachFeature: function (f, layer) {
    {%- if this.url %}
    if (f.properties.code) {
      layer.on('click', function () {
        window.location.href = {{ this.url|tojson }}.replace('__CODE__', encodeURIComponent(f.properties.code));
      });
    }
    {%- endif %}
  }
});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
(function (map) {
  function toggle() { map.getContainer().classList.toggle('gp-labels-small', map.getZoom() < {{ this.min_zoom }}); }
  map.on('zoomend', toggle); toggle();
})({{ this._parent.get_name() }});
{% endmacro %}
"""

_FETCHED_JS = """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(null, {style: {{ this.style|tojson }}, interactive: false});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
fetch({{ this.url|tojson }}).then(function (r) { return r.json(); }).then(function (data) {
  {{ this.get_name() }}.addData(data);
  {{ this.get_name() }}.bringToBack();
});
{% endmacro %}
"""


@functools.cache
def _layer_classes():
    """Our folium elements, defined once (folium is imported only when a map is drawn)."""

    class Labels(Layer):
        """Text labels (``label``, HTML) at points; a click opens ``url`` with the point's ``code``.

        Below ``min_zoom`` the labels are hidden (they would cover each other), by a CSS class
        on the map, so the layer control keeps working.
        """

        _template = Template(_LABELS_JS)

        def __init__(self, points, *, name, css_class, url=None, min_zoom=0):
            super().__init__(name=name, overlay=True, control=True, show=True)
            self._name = "GridplanLabels"
            self.data = points.__geo_interface__
            self.css_class, self.url, self.min_zoom = css_class, url, int(min_zoom)

    class Fetched(Layer):
        """GeoJSON the page fetches from ``url``, drawn under the rest, not interactive."""

        _template = Template(_FETCHED_JS)

        def __init__(self, url, *, name, style):
            super().__init__(name=name, overlay=True, control=True, show=True)
            self._name = "GridplanFetched"
            self.url, self.style = url, style

    class MetricScale(MacroElement):
        """A scale bar in metres only."""

        _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    class BasemapNote(MacroElement):
        """A note in the map's corner: ``none`` at once (no basemap), ``failed`` when a tile of the
        basemap does not load (a tile server out of reach): the grids show on a blank background."""

        _template = Template("""
{% macro script(this, kwargs) %}
(function (map, none, failed) {
  var shown = false;
  function note(words) {
    if (shown) { return; }
    shown = true;
    var control = L.control({position: 'bottomleft'});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'gp-basemap-note');
      div.style.cssText = 'background:rgba(255,255,255,.85);padding:2px 8px;font-size:12px;color:#444;' +
        'max-width:32em;border-radius:3px';
      div.textContent = words;
      return div;
    };
    control.addTo(map);
  }
  if (none) { note(none); }
  map.eachLayer(function (layer) {
    if (layer instanceof L.TileLayer) { layer.on('tileerror', function () { note(failed); }); }
  });
})({{ this._parent.get_name() }}, {{ this.none|tojson }}, {{ this.failed|tojson }});
{% endmacro %}
""")

        def __init__(self, *, none, failed):
            super().__init__()
            self._name = "GridplanBasemapNote"
            self.none, self.failed = none, failed

    return Labels, Fetched, MetricScale, BasemapNote


def labels_layer(points: gpd.GeoDataFrame, **kwargs):
    """Text labels at points (``label``, HTML; ``code``: the page a click opens)."""
    return _layer_classes()[0](points, **kwargs)


def fetched_layer(url: str, **kwargs):
    """GeoJSON the page fetches from ``url`` once drawn, under the rest, not interactive."""
    return _layer_classes()[1](url, **kwargs)


def metric_scale():
    """A scale bar in metres only."""
    return _layer_classes()[2]()


def basemap_note(**kwargs):
    """The note in the map's corner when there is no basemap or its tiles fail."""
    return _layer_classes()[3](**kwargs)


def label_zoom(grids: gpd.GeoDataFrame, *, pixels: float = 32.0) -> int:
    """The web-map zoom from which a typical grid is ``pixels`` wide (metric CRS in, EPSG:3857 zooms)."""
    size = float(np.median(np.sqrt(grids.area))) if len(grids) else 1.0
    x0, y0, x1, y1 = grids.total_bounds if len(grids) else (0, 0, 0, 0)
    centre = gpd.GeoDataFrame(geometry=[shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)], crs=grids.crs)
    lat = float(to_lonlat(centre).geometry.y.iloc[0])
    metres_per_pixel_z0 = 156543.03 * np.cos(np.radians(lat))
    return int(np.clip(np.ceil(np.log2(pixels * metres_per_pixel_z0 / max(size, 1.0))), 0, 20))


def label_points(gdf: gpd.GeoDataFrame, labels, codes=None) -> gpd.GeoDataFrame:
    pts = gpd.GeoDataFrame({"label": list(labels)}, geometry=gdf.geometry.representative_point().values,
                           crs=gdf.crs)
    if codes is not None:
        pts["code"] = list(codes)
    return pts


def escaped(frame: gpd.GeoDataFrame, columns) -> gpd.GeoDataFrame:
    """``frame`` with its text ``columns`` HTML-escaped: tooltips and labels are shown as HTML,
    and names come from the input data."""
    return frame.assign(**{c: frame[c].astype(str).map(html.escape) for c in columns})


def click_to(url: str):

    return JsCode("function (f, layer) { if (f.properties.link) { layer.on('click', function () { "
                  f"window.location.href = {js_str(url)}.replace('__CODE__', encodeURIComponent(f.properties.link)); "
                  "}); } }")
