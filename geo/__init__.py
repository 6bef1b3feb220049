"""Reading, validating and projecting gridplan's inputs, and the plan file.

The public surface:

- :func:`load_buildings` — buildings ready for partitioning (read, validate, project, households);
- :func:`prepare_buildings`, :func:`prepare_barriers`, :func:`prepare_boundaries` — the same from
  GeoDataFrames already in memory (a notebook; see ``docs/api.md``);
- :func:`load_barriers`, :func:`load_boundaries` — barrier lines and boundary polygons;
- :func:`ledger_households` — a household ledger (台账) by building joined to the footprints;
- :func:`building_storeys` — a building's units (单元), floors and households per unit and floor;
- :class:`Plan`, :func:`read_plan`, :func:`write_plan` — the plan file;
- :mod:`geo.errors` — the exceptions every part raises.
"""

from geo.errors import GridplanError
from geo.ledger import ledger_households
from geo.load import (
                      Inputs,
                      load_barriers,
                      load_boundaries,
                      load_buildings,
                      prepare_barriers,
                      prepare_boundaries,
                      prepare_buildings,
)
from geo.plan import Plan, read_plan, write_plan
from geo.storeys import building_storeys

__all__ = [
    "GridplanError",
    "Inputs",
    "load_buildings",
    "load_barriers",
    "load_boundaries",
    "prepare_buildings",
    "prepare_barriers",
    "prepare_boundaries",
    "ledger_households",
    "building_storeys",
    "Plan",
    "read_plan",
    "write_plan",
]
