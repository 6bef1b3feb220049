"""One numbering everywhere: on the bundled Suzhou plan, the web grid card, the printed sheet's
building table and the editor's data number every grid's buildings identically and show the same
grid number (``partitioning.codes.building_numbers`` and ``short_code``, the one rule of each).

The surfaces are read as their users get them: the web card from ``maps.web.queries.grid_card``
(what the grid page and ``/api/…/grids/<code>`` show), the sheet from
``maps.wallmap.building_table`` (the rows the PDF draws) and its title, the editor from its API
(``/edit``: the grid rows with their numbers; ``/edit/buildings.geojson``: each building's
``no``; the editor's messages: ``maps.names.building_labels``).
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import geo
from app import create_app
from maps.i18n import text
from maps.names import building_labels
from maps.wallmap import building_table, grid_sheet
from maps.web.colours import grid_adjacency
from maps.web.queries import grid_card
from tests.test_app import signed_in


@pytest.fixture(scope="module")
def plan(suzhou_plan_path):
    return geo.read_plan(suzhou_plan_path)


@pytest.fixture(scope="module")
def multi(plan):
    """The grids of more than one building: where numbering can disagree."""
    counts = plan.buildings["grid_id"].value_counts()
    grids = sorted(counts.index[counts > 1])
    assert len(grids) > 500  # Suzhou: 524 of 609 grids
    return grids


@pytest.fixture(scope="module")
def web(plan, multi):
    """Each multi-building grid's card: (number, building numbers by building ID)."""
    adjacency = grid_adjacency(plan.grids)
    out = {}
    for g in multi:
        card = grid_card(plan, g, adjacency=adjacency)
        out[g] = (card["number"], {r["building_id"]: r["no"] for r in card["buildings"]})
    return out


@pytest.fixture(scope="module")
def editor(suzhou_plan_path, tmp_path_factory):
    """What the editor page is sent: the state's grid rows and the buildings' GeoJSON."""
    folder = tmp_path_factory.mktemp("consistency")
    copy = folder / "suzhou.gpkg"
    shutil.copy(suzhou_plan_path, copy)
    app = create_app({"TESTING": True, "PLANS": [str(copy)], "USERS_DB": str(folder / "users.sqlite"),
                      "VERSIONS_DB": str(folder / "versions.sqlite")})
    client = signed_in(app, "editor")
    state = client.get("/api/plans/suzhou/edit")
    buildings = client.get("/api/plans/suzhou/edit/buildings.geojson")
    assert state.status_code == 200 and buildings.status_code == 200
    return state.get_json(), buildings.get_json()


def test_every_grid_numbers_its_buildings_alike_on_web_sheet_and_editor(plan, multi, web, editor):
    _, features = editor
    editor_no = {str(f["id"]): f["properties"]["no"] for f in features["features"]}
    disagree = {"sheet": [], "editor": []}
    for g in multi:
        _, on_web = web[g]
        table = building_table(plan, g)
        on_sheet = dict(zip(table.index.astype(str), table["no"].astype(int)))
        in_editor = {b: editor_no[b] for b in on_web}
        assert sorted(on_web.values()) == list(range(1, len(on_web) + 1)), g
        if on_sheet != on_web:
            disagree["sheet"].append(g)
        if in_editor != on_web:
            disagree["editor"].append(g)
        # the sheet prints its rows in number order
        assert list(table["no"]) == list(range(1, len(table) + 1)), g
    assert disagree == {"sheet": [], "editor": []}, {k: len(v) for k, v in disagree.items()}


def test_the_editors_messages_name_unnamed_buildings_by_the_web_number(plan, multi, web):
    # the editor's refusals and change table say "N号网格第k栋" for a building without a name
    sample = multi[::10]
    ids = [b for g in sample for b in web[g][1]]
    labels = building_labels(plan, ids)
    for g in sample:
        number, numbers = web[g]
        for b, no in numbers.items():
            if labels[b] != b and "网格第" in labels[b]:
                assert labels[b] == text("building_in_grid", "zh").format(grid=number, no=no), (g, b)


def test_every_grid_shows_the_same_number_on_web_sheet_and_editor(plan, multi, web, editor):
    state, _ = editor
    in_editor = {r["grid_id"]: r["number"] for r in state["grids"]}
    codes = plan.grids["grid_code"].astype(str)
    differ = [g for g in multi if in_editor[g] != web[g][0]]
    assert not differ, f"{len(differ)} grids: web {web[differ[0]][0]!r}, editor {in_editor[differ[0]]!r}"
    # the number is the code without prefix and zeros: what the search box and the QR code take
    assert all(web[g][0] == codes[g].lstrip("0") for g in multi if codes[g].lstrip("0"))
    # the printed sheet's title carries the same number (three sheets: each takes a second to lay out)
    for g in (multi[0], multi[len(multi) // 2], multi[-1]):
        fig = grid_sheet(plan, codes[g], base_url="", community_name="养育巷社区", plan_name="suzhou")
        assert fig.get_label() == "养育巷社区 " + text("grid_sheet_heading", "zh").format(number=web[g][0])


def test_building_numbers_read_north_to_south_in_rows_of_the_typical_footprint(plan, multi, web):
    # rows of sqrt(median footprint area) from the grid's northernmost building, west to east in a row
    import numpy as np
    import shapely

    for g in multi[::25]:
        mine = plan.buildings[plan.buildings["grid_id"] == g]
        pts = shapely.get_coordinates(shapely.point_on_surface(mine.geometry.values))
        row = np.floor((pts[:, 1].max() - pts[:, 1]) / np.sqrt(np.median(mine.area))).astype(int)
        frame = pd.DataFrame({"row": row, "x": pts[:, 0], "no": [web[g][1][str(b)] for b in mine.index]})
        ordered = frame.sort_values("no")
        assert ordered["row"].is_monotonic_increasing, g
        assert all(grp["x"].is_monotonic_increasing for _, grp in ordered.groupby("row")), g
