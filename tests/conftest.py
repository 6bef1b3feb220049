"""Shared fixtures: the real data sets in ../shared/data/real, loaded through geo/ like the CLI does."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.realdata import KOTKA, KUNMING, REAL, SUZHOU


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"real data missing: {path} (CI clones main with shared/ beside it; set "
                    "GRIDPLAN_REAL_DATA to its data/real folder)")
    return path


@pytest.fixture(scope="session")
def real_data() -> Path:
    return _need(REAL)


@pytest.fixture(scope="session")
def suzhou_inputs():
    import geo

    return geo.load_buildings(_need(SUZHOU))


@pytest.fixture(scope="session")
def suzhou_buildings(suzhou_inputs):
    """Suzhou Gusu: 3,076 buildings, households estimated from area × floors, EPSG:4549."""
    return suzhou_inputs.buildings


@pytest.fixture(scope="session")
def kunming_inputs():
    import geo

    return geo.load_buildings(_need(KUNMING), id_field="id")


@pytest.fixture(scope="session")
def kunming_buildings(kunming_inputs):
    """Kunming Panlong: 140 OSM buildings in 16 compounds (column ``community``), EPSG:4543."""
    return kunming_inputs.buildings


@pytest.fixture(scope="session")
def kotka_inputs():
    import geo

    return geo.load_buildings(_need(KOTKA))


@pytest.fixture(scope="session")
def kotka_buildings(kotka_inputs):
    """Kotka: 2,214 OSM buildings (4 broken, 1 duplicate dropped), UTM 35N."""
    return kotka_inputs.buildings


@pytest.fixture(scope="session")
def kotka_barriers(kotka_inputs):
    """Kotka's highway lines classified major/minor, in the buildings' CRS."""
    import geo

    return geo.load_barriers(_need(KOTKA), kotka_inputs.crs)


@pytest.fixture(scope="session")
def plan_path(tmp_path_factory):
    """A plan of the Kunming buildings made through the command line (the web app's test plan)."""
    from click.testing import CliRunner

    from app.cli import cli

    out = tmp_path_factory.mktemp("app") / "kunming.gpkg"
    result = CliRunner().invoke(cli, ["partition", str(_need(KUNMING)), "--id-field", "id", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def suzhou_plan_path(tmp_path_factory):
    """A plan of the bundled Suzhou demo buildings (``data/suzhou_gusu``: 3,076 buildings, 609 grids)
    made through the command line (~8 s)."""
    from click.testing import CliRunner

    from app.cli import cli

    source = Path(__file__).resolve().parents[1] / "data" / "suzhou_gusu" / "buildings.geojson"
    out = tmp_path_factory.mktemp("suzhou") / "suzhou.gpkg"
    result = CliRunner().invoke(cli, ["partition", str(_need(source)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def plan_file(tmp_path_factory):
    """The tiny hand-made plan with people and special households of ``tests/plans.py``."""
    from tests.plans import tiny_people_plan

    return tiny_people_plan(tmp_path_factory.mktemp("auth"))


@pytest.fixture(autouse=True)
def _quiet_logs(caplog):
    caplog.set_level(logging.INFO)


@pytest.fixture(scope="session")
def city_plan_path(tmp_path_factory):
    """A plan of a small synthetic city (``gridplan synth --households 20000``: 630 buildings, 356
    grids in 8 communities, planned with its roads and community boundaries) made through the
    command line (~8 s)."""
    from click.testing import CliRunner

    from app.cli import cli
    from geo.synth import synth_city, write_city

    folder = tmp_path_factory.mktemp("city")
    city = write_city(synth_city(20000, seed=0, household_points=False), folder / "city.gpkg")
    out = folder / "city-plan.gpkg"
    result = CliRunner().invoke(cli, ["partition", str(city), "--layer", "buildings", "--id-field", "building_id",
                                      "--households-field", "households", "--barriers", str(city), "--barriers-layer",
                                      "roads", "--boundary", str(city), "--boundary-layer", "communities", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def pg_server():
    """A throw-away PostgreSQL + PostGIS server for the session (:mod:`tests.pgserver`); a failure,
    never a skip, when it cannot start."""
    from tests.pgserver import ServerUnavailable, TestServer

    try:
        server = TestServer()
    except ServerUnavailable as exc:
        pytest.fail(f"the test PostgreSQL/PostGIS server cannot start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=["files", "postgis"])
def store_at(request, tmp_path):
    """Where a version store lives, once per backend: an SQLite file, then a fresh PostGIS database."""
    if request.param == "files":
        return str(tmp_path / "versions.sqlite")
    return request.getfixturevalue("pg_server").database()
