"""End to end through the command line on the three real data sets: partition → check → map."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

import geo
from app.cli import cli
from tests.realdata import KOTKA, KUNMING, SUZHOU


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def _partition(tmp_path_factory, name, *args):
    out = tmp_path_factory.mktemp(name) / f"{name}.gpkg"
    code, text = invoke("partition", *args, "-o", out)
    assert code == 0, text
    return out, text


@pytest.fixture(scope="module")
def suzhou_plan(tmp_path_factory):
    return _partition(tmp_path_factory, "suzhou", SUZHOU)


@pytest.fixture(scope="module")
def kunming_plan(tmp_path_factory):
    return _partition(tmp_path_factory, "kunming", KUNMING, "--id-field", "id")


@pytest.fixture(scope="module")
def kotka_plan(tmp_path_factory):
    # straight from the .osm.pbf: buildings and its highways as barriers
    return _partition(tmp_path_factory, "kotka", KOTKA, "--barriers", KOTKA)


def test_help_on_every_command():
    code, text = invoke("--help")
    assert code == 0
    commands = re.findall(r"^  (\w+)\s", text.split("Commands:")[1], flags=re.M)
    assert {"partition", "check", "map", "serve", "demo"} <= set(commands)
    for command in commands:
        code, text = invoke(command, "--help")
        assert code == 0 and "Usage: gridplan " + command in text


def test_suzhou_summary(suzhou_plan):
    path, text = suzhou_plan
    assert "plan written to" in text
    assert "buildings:          3076 (estimated" in text
    n_grids = int(re.search(r"grids:\s+(\d+)", text).group(1))
    hh = int(re.search(r"households:\s+(\d+)", text).group(1))
    assert hh == 34575
    assert 34575 / 50 * 0.7 < n_grids < 34575 / 50 * 1.1
    assert re.search(r"households/grid:\s+min \d+, median [\d.]+, max \d+", text)
    assert "disconnected grids: 0   split buildings: 0" in text
    assert re.search(r"runtime:\s+[\d.]+ s", text)
    assert "note: " in text and "estimated" in text  # said so in the output


@pytest.mark.parametrize("plan_fixture", ["suzhou_plan", "kunming_plan", "kotka_plan"])
def test_check_passes_on_real_data(plan_fixture, request):
    path, _ = request.getfixturevalue(plan_fixture)
    code, text = invoke("check", path, "--json")
    assert code == 0, text
    result = json.loads(text)
    assert result["ok"] and result["violations"] == []
    m = result["metrics"]
    assert m["disconnected_grids"] == 0 and m["split_buildings"] == 0 and m["unassigned_buildings"] == 0
    cov = result["coverage"]
    assert cov["overlap_area_m2"] < 1.0 and cov["gap_area_m2"] < 1.0
    assert cov["multipart_grids"] == [] and cov["cut_buildings"] == []
    plan = geo.read_plan(path)
    # every building in exactly one grid, and the grid figures add up
    assert plan.buildings.index.is_unique and plan.buildings["grid_id"].notna().all()
    counts = plan.buildings.groupby("grid_id")["households"].sum()
    assert (counts.reindex(plan.grids.index) == plan.grids["households"]).all()
    assert [g["grid_code"] for g in result["grids"]] == sorted(plan.grids["grid_code"])


def test_plan_records_its_making(suzhou_plan):
    path, _ = suzhou_plan
    meta = geo.read_plan(path).meta
    assert meta["target"] == 50 and meta["tolerance"] == 0.2 and meta["seed"] == 0
    assert meta["crs"] == "EPSG:4549" and meta["source_crs"] == "EPSG:4326"
    (inp,) = meta["inputs"]
    assert inp["role"] == "buildings" and len(inp["sha256"]) == 64
    assert meta["gridplan_version"] and meta["written"]


def test_kotka_barriers_stored_and_respected(kotka_plan):
    path, text = kotka_plan
    plan = geo.read_plan(path)
    assert "barriers" in plan.layers and len(plan.layers["barriers"]) > 100
    assert plan.meta["crs"] == "EPSG:32635"
    assert [i["role"] for i in plan.meta["inputs"]] == ["buildings", "barriers"]


def test_same_seed_same_plan(tmp_path, kunming_plan):
    first, _ = kunming_plan
    again = tmp_path / "again.gpkg"
    code, text = invoke("partition", KUNMING, "--id-field", "id", "-o", again)
    assert code == 0, text
    a, b = geo.read_plan(first).buildings, geo.read_plan(again).buildings
    assert (a["grid_id"] == b["grid_id"].reindex(a.index)).all()


def test_check_fails_on_a_broken_plan(tmp_path, kunming_plan):
    path, _ = kunming_plan
    plan = geo.read_plan(path)
    # move one building into a grid far away: that grid is no longer connected
    far = plan.grids.geometry.centroid.distance(plan.buildings.geometry.iloc[0].centroid).idxmax()
    plan.buildings.iloc[0, plan.buildings.columns.get_loc("grid_id")] = far
    broken = geo.write_plan(plan, tmp_path / "broken.gpkg")
    code, text = invoke("check", broken)
    assert code == 4
    assert "violates its guarantees" in text
    far_code = str(plan.grids.at[far, "grid_code"])
    assert far_code in text and far not in text and "households figure disagrees" in text  # named by code
    lines = text.splitlines()
    assert lines[0].startswith(f"check FAILED: {broken} (") and "guarantee(s):" in lines[0]  # the verdict first
    assert lines[1].startswith("  - ") and "np." not in text


def test_check_prints_its_verdict_first_and_every_grid_only_when_verbose(kunming_plan):
    """Before: one line per grid (609 on Suzhou) came before the verdict."""
    path, _ = kunming_plan
    code, text = invoke("check", path)
    assert code == 0, text
    lines = text.splitlines()
    n_grids = len(geo.read_plan(path).grids)
    assert lines[0].startswith(f"check passed: {path} ({n_grids} grids, 140 buildings, ")
    assert len(lines) < 20 and "--verbose" in lines[-1]
    code, verbose = invoke("check", path, "--verbose")
    assert code == 0 and verbose.splitlines()[0] == lines[0]
    listed = [line for line in verbose.splitlines() if re.match(r"  \d+: \d+, \d+, \w+$", line)]
    assert len(listed) == n_grids
    code, as_json = invoke("check", path, "--json")
    assert json.loads(as_json)["totals"] == {"ok": True, "violations": 0, "grids": n_grids, "buildings": 140,
                                              "households": int(geo.read_plan(path).grids["households"].sum())}


def test_map_writes_html(tmp_path, kunming_plan):
    path, _ = kunming_plan
    out = tmp_path / "map.html"
    code, text = invoke("map", path, "-o", out)
    assert code == 0, text
    html = out.read_text(encoding="utf-8")

    def has(word):  # labels sit in the page as text or JSON-escaped (both render as the word)
        return word in html or json.dumps(word)[1:-1] in html

    assert "leaflet" in html.lower()
    assert has("网格编码") and has("户数")  # Chinese by default
    assert "322667424" in html  # a building's tooltip carries its own ID
    code, _ = invoke("map", path, "-o", tmp_path / "en.html", "--lang", "en")
    html = (tmp_path / "en.html").read_text(encoding="utf-8")
    assert has("Households") and not has("户数")


def _loads(html: str) -> list[str]:
    """What a page loads: its scripts' and style sheets' addresses, and its tile URL templates."""
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html) + re.findall(r'L\.tileLayer\(\s*"([^"]+)"', html)


def test_map_file_is_self_contained_by_default(tmp_path, kunming_plan):
    path, _ = kunming_plan
    code, text = invoke("map", path, "-o", tmp_path / "map.html")
    assert code == 0 and "self-contained" in text, text
    html = (tmp_path / "map.html").read_text(encoding="utf-8")
    assert _loads(html) == []                                 # nothing from outside the file
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html and "cdnjs" not in html
    assert "Leaflet 1.9.4" in html and ".leaflet-container" in html  # Leaflet's script and CSS, inline
    assert 'url("data:image/png;base64,' in html              # the images its CSS uses, too
    assert "地图脚本未能加载" in html and json.dumps("无底图")[1:-1] in html  # the notice and the basemap note


def test_map_online_and_intranet_tiles(tmp_path, kunming_plan):
    path, _ = kunming_plan
    code, text = invoke("map", path, "-o", tmp_path / "online.html", "--online")
    assert code == 0, text
    loads = _loads((tmp_path / "online.html").read_text(encoding="utf-8"))
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js" in loads
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in loads
    assert [u for u in loads if "jsdelivr" not in u and "openstreetmap" not in u] == []  # no folium extras
    code, text = invoke("map", path, "-o", tmp_path / "intranet.html", "--tiles-url", "http://tiles.lan/{z}/{x}/{y}.png")
    assert code == 0, text
    assert _loads((tmp_path / "intranet.html").read_text(encoding="utf-8")) == ["http://tiles.lan/{z}/{x}/{y}.png"]


def test_map_without_vendored_assets_says_what_to_do(tmp_path, kunming_plan, monkeypatch):
    import app as app_module

    monkeypatch.setattr(app_module, "VENDOR_DIR", tmp_path / "no-vendor")
    path, _ = kunming_plan
    result = CliRunner().invoke(cli, ["map", str(path), "-o", str(tmp_path / "m.html")])
    assert result.exit_code == 1 and "python -m app.vendor" in result.output and "--online" in result.output
    assert not (tmp_path / "m.html").exists()


def test_grids_option_balances_to_households_per_grid(tmp_path):
    out = tmp_path / "k10.gpkg"
    code, text = invoke("partition", KUNMING, "--id-field", "id", "--grids", "10", "-o", out)
    assert code == 0, text
    plan = geo.read_plan(out)
    households = int(plan.buildings["households"].sum())
    assert plan.meta["n_grids_requested"] == 10
    assert plan.meta["target"] == round(households / 10)  # the balance figures use this target
    assert plan.meta["metrics"]["target"] == plan.meta["target"]
    assert f"(target {round(households / 10)} per grid)" in text
