"""Where the real data lives: Suzhou bundled in data/, the others in ../shared/data/real beside the
checkout (or GRIDPLAN_REAL_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("GRIDPLAN_REAL_DATA", REPO.parent / "shared" / "data" / "real"))
#: Suzhou Gusu's real footprints as bundled with the project (``data/suzhou_gusu/buildings.geojson``,
#: byte for byte ``suzhou_gusu_buildings.geojson`` of the shared data; see data/README.md): the tests
#: on Suzhou run without ../shared. Kunming, Kotka and the district boundaries need it.
SUZHOU = REPO / "data" / "suzhou_gusu" / "buildings.geojson"
KUNMING = REAL / "kunming_panlong_buildings.geojson"
KOTKA = REAL / "kotka_finland.osm.pbf"
