"""The Flask app (test client) and the web map's colouring."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import geo
from app import create_app
from app.cli import cli
from geo.errors import PlanFileError
from maps.webmap import grid_adjacency, grid_colours
from tests.realdata import KUNMING


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("app") / "kunming.gpkg"
    result = CliRunner().invoke(cli, ["partition", str(KUNMING), "--id-field", "id", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture()
def client(plan_path):
    app = create_app({"TESTING": True, "PLANS": [str(plan_path)]})
    return app.test_client()


def test_index_lists_plans_in_chinese(client, plan_path):
    plan = geo.read_plan(plan_path)
    page = client.get("/").get_data(as_text=True)
    assert "网格方案" in page and 'lang="zh-CN"' in page
    assert "kunming" in page and f">{len(plan.grids)}<" in page
    assert "/plans/kunming/" in page
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Grid plans" in english


def test_plan_map_page(client):
    resp = client.get("/plans/kunming/")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert "L.map" in html and "网格编码" in html


def test_unknown_plan_is_a_404_page_with_a_message(client):
    resp = client.get("/plans/nowhere/")
    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert "nowhere" in page and "未找到" in page


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "plans": 1}


def test_serving_a_folder_and_missing_plans(tmp_path, plan_path):
    app = create_app({"PLANS": [str(plan_path.parent)]})
    assert list(app.config["PLAN_FILES"]) == ["kunming"]
    with pytest.raises(PlanFileError, match="no such plan file"):
        create_app({"PLANS": [str(tmp_path / "missing.gpkg")]})
    with pytest.raises(PlanFileError, match="no plan files"):
        create_app({"PLANS": [str(tmp_path)]})


def test_neighbouring_grids_never_share_a_colour(plan_path):
    grids = geo.read_plan(plan_path).grids
    colours = grid_colours(grids)
    adjacency = grid_adjacency(grids)
    assert adjacency.number_of_edges() > 0
    assert all(colours[a] != colours[b] for a, b in adjacency.edges)
    assert set(colours) == set(grids.index)
