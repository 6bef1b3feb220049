"""A synthetic multi-community plan for the drill-down tests (``tests/test_drill.py``,
``tests/test_drill_browser.py``), made as an office would with the command line (``docs/synth.md``,
``docs/hierarchy.md``, ``docs/people.md``)::

    gridplan synth --households 5000 (small superblocks: several streets and communities)
    gridplan partition … --levels street=streets.gpkg,community=communities.gpkg,grid=50   → levels.gpkg
    gridplan people synthetic/import/assign, people residents --synthetic/import           (posts, special households)
    gridplan partition … --boundary city.gpkg --boundary-layer communities                 → flat.gpkg

``levels.gpkg`` is drilled through its ``levels`` layer; ``flat.gpkg`` through its buildings'
``street_id``/``community_id`` columns and its ``boundaries`` layer.
"""

from __future__ import annotations

from pathlib import Path

import pyogrio
from click.testing import CliRunner

__all__ = ["HOUSEHOLDS", "drill_plans"]

HOUSEHOLDS = 5000


def _run(*args) -> None:
    from app.cli import cli

    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def drill_plans(folder: Path) -> dict:
    """Write the plans of the module's note into ``folder``: ``{"levels": path, "flat": path}``."""
    from geo.synth import SynthParams, synth_city, write_city

    folder = Path(folder)
    city = synth_city(HOUSEHOLDS, seed=3, params=SynthParams(block_size=(260, 230), street_blocks=2),
                      household_points=False)
    path = write_city(city, folder / "city.gpkg")
    for layer in ("streets", "communities"):
        frame = pyogrio.read_dataframe(path, layer=layer).rename(columns={"code": "boundary_id"})
        pyogrio.write_dataframe(frame, folder / f"{layer}.gpkg", driver="GPKG")
    common = [path, "--layer", "buildings", "--id-field", "building_id", "--households-field", "households",
              "--barriers", path, "--barriers-layer", "roads"]
    levels, flat = folder / "levels" / "levels.gpkg", folder / "flat" / "flat.gpkg"  # a folder each: served alone
    levels.parent.mkdir()
    flat.parent.mkdir()
    _run("partition", *common, "--levels",
         f"street={folder / 'streets.gpkg'},community={folder / 'communities.gpkg'},grid=50", "-o", levels)
    _run("people", "synthetic", levels, "-o", folder / "roster.csv", "--fill", "0.7")
    _run("people", "import", levels, folder / "roster.csv")
    _run("people", "assign", levels)
    _run("people", "residents", levels, "--synthetic", folder / "special.csv")
    _run("people", "residents", levels, folder / "special.csv")
    _run("partition", *common, "--boundary", path, "--boundary-layer", "communities", "-o", flat)
    return {"levels": levels, "flat": flat}
