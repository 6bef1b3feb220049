"""Maps of a plan: on the web and on the wall.

- :mod:`maps.web` — the web app's battle maps (folium / Leaflet): pages, GeoJSON, colours,
  basemaps, assets, and the data the pages show;
- :mod:`maps.wallmap` — printed wall maps (PDF): a grid's battle map sheet and the overview,
  with :mod:`maps._sheet` (matplotlib paper, fonts, text fitting) under them;
- :mod:`maps.names` — how people know grids and buildings in messages (numbers, names);
- :mod:`maps.i18n` — every word the maps and pages show, in Chinese and English.

Grid numbers and building numbers follow one rule for all of them
(:func:`partitioning.codes.short_code`, :func:`partitioning.codes.building_numbers`).
"""
