"""Issue 18 item 3: people read codes, names and words, never internal ids or keys.

Every page a planner or official opens (plans, community map, a grid's battle map with special
households, search, the editor page and what its API hands the page to show) is rendered in
Chinese and English for the Kunming plan with special households of every flag
(``partitioning.people.roster.SPECIAL_FLAGS``: ``flag_ill``, ``flag_other``…); the visible text must hold no
``flag_*`` or other ``snake_case`` key, no grid id (``G0001``) and no building id (the OSM way ids).
"""

from __future__ import annotations

import re

import pytest

import geo
from maps.i18n import text
from partitioning.people.roster import SPECIAL_FLAGS, add_special_households, synthetic_special_households
from tests.test_app import signed_in
from tests.test_editor_api import app_on_copy
from tests.textcheck import leaks, visible_text


@pytest.fixture(scope="module")
def special_path(plan_path, tmp_path_factory):
    """The Kunming plan with made-up special households: every flag in some building."""
    plan = geo.read_plan(plan_path)
    more = plan.buildings.assign(households=plan.buildings["households"] + 40)
    special = synthetic_special_households(more, seed=3, rate=0.2).set_index("household_id")
    assert all(special[f].sum() for f in SPECIAL_FLAGS)
    add_special_households(plan, special)
    return geo.write_plan(plan, tmp_path_factory.mktemp("names") / "kunming.gpkg")


@pytest.fixture(scope="module")
def special_plan(special_path):
    return geo.read_plan(special_path)


@pytest.fixture()
def app(special_path, tmp_path):
    return app_on_copy(special_path, tmp_path)


def _flagged_grid(plan) -> str:
    """The grid with the most kinds of special household."""
    flags = [c for c in plan.buildings.columns if c.startswith("flag_")]
    kinds = (plan.buildings[flags] > 0).groupby(plan.buildings["grid_id"]).any().sum(axis=1)
    return str(kinds.idxmax())


def _internal_ids(plan, page: str) -> list:
    ids = [str(b) for b in plan.buildings.index] + [str(g) for g in plan.grids.index]
    return [i for i in ids if re.search(rf"(?<![\w.]){re.escape(i)}(?![\w.])", page)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_key_or_internal_id_reaches_a_page(app, special_plan, lang):
    plan = special_plan
    client = signed_in(app, "admin")  # an admin sees everything: special households by name, flags
    grid = _flagged_grid(plan)
    code = plan.grids.at[grid, "grid_code"]
    name = str(plan.buildings["name"].dropna().loc[lambda s: s.str.strip() != ""].iloc[0])
    pages = {
        "plans": "/", "community map": "/plans/kunming/", "grid page": f"/plans/kunming/grids/{code}",
        "search": f"/plans/kunming/search?q={name}", "editor": "/plans/kunming/edit",
    }
    for what, url in pages.items():
        resp = client.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
        assert resp.status_code == 200, (what, resp.status_code)
        html = resp.get_data(as_text=True)
        page = visible_text(html)
        assert not leaks(page), (what, leaks(page))
        assert not _internal_ids(plan, page), (what, _internal_ids(plan, page))
        if what == "grid page":
            flags = {c[5:] for c in plan.buildings.columns if c.startswith("flag_")
                     and plan.buildings.loc[plan.buildings["grid_id"] == grid, c].sum()}
            assert {"ill", "other"} <= flags
            for flag in flags:  # every flag by its word, in the table, the figures and the residents
                assert text(f"flag_{flag}", lang) in page and text(f"flag_{flag}", lang) != f"flag_{flag}"
            assert "flag_" not in html  # not in the map's tooltips either
    # what the editor's script shows comes from its API: the grids' rows and the warnings
    state = client.get(f"/api/plans/kunming/edit?lang={lang}").get_json()
    assert not leaks(" ".join(state["warnings"]))


def test_every_flag_has_both_words():
    """Each flag the data may carry (rosters, household points) is said in Chinese and English; a
    flag of the input's own is said by its name in words, never as a key."""
    from geo.households import FLAG_COLUMNS

    for flag in {*SPECIAL_FLAGS, *FLAG_COLUMNS}:
        zh, en = text(f"flag_{flag}", "zh"), text(f"flag_{flag}", "en")
        assert zh != en and "flag_" not in zh + en and re.search(r"[\u4e00-\u9fff]", zh), flag
    assert text("flag_night_shift", "zh") == "night shift"


def test_building_labels_name_address_or_number_in_grid(special_plan):
    """A building is its name (with its compound), else its number on its grid's page; an id the
    plan does not hold stays as given."""
    import doctest

    import geo.names
    from maps.names import building_labels, grid_number
    from maps.web.queries import grid_card

    assert doctest.testmod(geo.names).failed == 0
    plan = special_plan
    named = plan.buildings.index[plan.buildings["name"].fillna("").str.strip() != ""][0]
    unnamed = plan.buildings.index[plan.buildings["name"].fillna("").str.strip() == ""][0]
    grid = plan.buildings.at[unnamed, "grid_id"]
    no = next(r["no"] for r in grid_card(plan, grid)["buildings"] if r["building_id"] == unnamed)
    number = grid_number(plan, grid)
    for lang, word in (("zh", f"{number}号网格第{no}栋"), ("en", f"grid {number} building {no}")):
        labels = building_labels(plan, [named, unnamed, "nope"], lang=lang)
        assert labels[unnamed] == word and labels["nope"] == "nope"
        assert str(plan.buildings.at[named, "name"]).strip() in labels[named]
