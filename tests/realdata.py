"""Where the shared real data lives (../shared/data/real beside the checkout, or GRIDPLAN_REAL_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("GRIDPLAN_REAL_DATA", REPO.parent / "shared" / "data" / "real"))
SUZHOU = REAL / "suzhou_gusu_buildings.geojson"
KUNMING = REAL / "kunming_panlong_buildings.geojson"
KOTKA = REAL / "kotka_finland.osm.pbf"
