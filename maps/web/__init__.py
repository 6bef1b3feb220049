"""Web maps of a plan (folium / Leaflet) and the data behind the web pages, one room a step.

- :mod:`maps.web.queries` — what the pages and the API show, as plain values: layouts, a grid's
  card, people, escalation, search;
- :mod:`maps.web.geojson` — plan geometry for the browser: EPSG:4326, lightened, as GeoJSON;
- :mod:`maps.web.colours` — grid adjacency and colours no two neighbours share;
- :mod:`maps.web.pages` — the folium maps: community, grid (作战图), editor, the self-contained file;
- :mod:`maps.web.basemaps` — the tile layers, their datum, the one check of a basemap choice;
- :mod:`maps.web.layers` — our own folium layers (labels, fetched GeoJSON, scale, notes);
- :mod:`maps.web.assets` — pinned browser assets: CDN, vendored or inlined, and the script guard.

The datum shift for offset basemaps (GCJ-02) is :func:`geo.crs.to_datum`; building numbers and
grid numbers are :func:`partitioning.codes.building_numbers` and
:func:`partitioning.codes.short_code`, the rules of the printed sheets and the editor too.
"""

from maps.web.basemaps import BASEMAPS, basemap_datum, check_basemap
from maps.web.colours import PALETTE, grid_adjacency, grid_colours
from maps.web.geojson import layer_geojson
from maps.web.pages import community_map, editor_map, grid_map, plan_map
from maps.web.queries import grid_card, search_plan

__all__ = ["BASEMAPS", "basemap_datum", "check_basemap", "PALETTE", "grid_adjacency", "grid_colours",
           "layer_geojson", "community_map", "editor_map", "grid_map", "plan_map", "grid_card", "search_plan"]
