"""Planning community by community: on Dask or in this process, the same plan."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box

import geo
from geo.errors import InfeasibleError, InputError
from geo.synth import SynthParams, synth_city, write_city
from partitioning.area import plan_area
from partitioning.check import check_plan
from partitioning.parallel import community_of, community_seed, make_plan_parallel
from partitioning.pipeline import make_plan
from partitioning.settings import PlanSettings


@pytest.fixture(scope="module")
def city_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("city") / "city.gpkg"
    # small superblocks: several communities in a few thousand households
    write_city(synth_city(4000, seed=11, params=SynthParams(block_size=(260.0, 230.0))), path)
    return path


@pytest.fixture(scope="module")
def city(city_file):
    inputs = geo.load_buildings(city_file, layer="buildings", id_field="building_id", households_field="households")
    barriers = geo.load_barriers(city_file, inputs.crs, layer="roads")
    communities = geo.load_boundaries(city_file, inputs.crs, layer="communities")
    return inputs, barriers, communities


@pytest.fixture(scope="module")
def serial_plan(city):
    inputs, barriers, communities = city
    return make_plan_parallel(inputs, PlanSettings(seed=5), boundaries=communities, barriers=barriers, workers=0)


def _same_plan(a, b):
    pd.testing.assert_series_equal(a.buildings["grid_id"], b.buildings["grid_id"])
    pd.testing.assert_series_equal(a.buildings["grid_code"], b.buildings["grid_code"])
    cols = ["grid_code", "households", "n_buildings", "status", "community_id"]
    pd.testing.assert_frame_equal(pd.DataFrame(a.grids[cols]), pd.DataFrame(b.grids[cols]))
    assert shapely.equals_exact(a.grids.geometry.values, b.grids.geometry.values, 0).all()
    assert shapely.equals_exact(a.layers["cells"].geometry.values, b.layers["cells"].geometry.values, 0).all()


def test_dask_with_two_workers_gives_the_single_process_plan(city, serial_plan):
    inputs, barriers, communities = city
    plan, metrics = make_plan_parallel(inputs, PlanSettings(seed=5), boundaries=communities, barriers=barriers,
                                       workers=2)
    assert len(communities) >= 3
    _same_plan(plan, serial_plan[0])
    assert {k: v for k, v in metrics.items() if k != "timings"} == \
        {k: v for k, v in serial_plan[1].items() if k != "timings"}
    assert plan.meta["parallel"]["workers"] == 2


def test_running_scheduler_gives_the_same_plan(city, serial_plan):
    """``--scheduler ADDRESS``: the workers of a cluster started elsewhere (here one in-process worker)."""
    from dask.distributed import LocalCluster

    inputs, barriers, communities = city
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        plan, _ = make_plan_parallel(inputs, PlanSettings(seed=5), boundaries=communities, barriers=barriers,
                                     scheduler=cluster.scheduler_address)
        assert cluster.scheduler.status.name == "running"  # the command leaves a cluster it did not start
    _same_plan(plan, serial_plan[0])
    assert plan.meta["parallel"]["scheduler"].startswith(("tcp://", "inproc://"))


def test_plan_keeps_every_guarantee(city, serial_plan, tmp_path):
    inputs, _, communities = city
    plan, metrics = serial_plan
    assert metrics["coverage"]["ok"], metrics["coverage"]
    assert metrics["households_total"] == int(inputs.buildings["households"].sum())
    assert metrics["disconnected_grids"] == 0 and metrics["split_buildings"] == 0
    # no grid crosses a community: each grid's buildings lie in the grid's community
    member = community_of(inputs.buildings, communities)
    grid_comm = plan.grids["community_id"].reindex(plan.buildings["grid_id"]).to_numpy()
    assert (grid_comm == member.reindex(plan.buildings.index).to_numpy()).all()
    # codes: the community's 12-digit code + a 3-digit sequence
    assert (plan.grids["grid_code"].str[:12] == plan.grids["community_id"]).all()
    assert plan.grids["grid_code"].is_unique
    # the city-wide figures agree with the check of the written plan (whole-city graph)
    geo.write_plan(plan, tmp_path / "plan.gpkg")
    result = check_plan(geo.read_plan(tmp_path / "plan.gpkg"))
    assert result.ok, result.violations
    for key in ("n_grids", "households_total", "households_min", "households_max", "share_within_tolerance",
                "oversize_grids", "disconnected_grids", "mean_distance_m"):
        assert result.metrics[key] == pytest.approx(metrics[key], abs=1e-3), key


def test_a_community_plan_depends_only_on_its_own_buildings(city, serial_plan):
    """Drop one community: the others keep exactly their grids (same seeds, same codes)."""
    inputs, barriers, communities = city
    dropped = sorted(communities["boundary_id"])[0]
    member = community_of(inputs.buildings, communities)
    rest = geo.Inputs(buildings=inputs.buildings[member != dropped], crs=inputs.crs,
                      source_crs=inputs.source_crs, households_method=inputs.households_method)
    plan, _ = make_plan_parallel(rest, PlanSettings(seed=5), boundaries=communities, barriers=barriers, workers=0)
    full = serial_plan[0].buildings["grid_code"]
    assert (plan.buildings["grid_code"] == full.reindex(plan.buildings.index)).all()
    other_seed, _ = make_plan_parallel(rest, PlanSettings(seed=6), boundaries=communities, barriers=barriers,
                                       workers=0)
    assert community_seed(5, dropped) != community_seed(6, dropped)
    assert not other_seed.buildings["grid_code"].equals(plan.buildings["grid_code"])


def test_real_compounds_planned_apart(kunming_inputs):
    """Kunming's 16 compounds as communities: Voronoi cells of the buildings merged by compound."""
    b = kunming_inputs.buildings
    pts = shapely.point_on_surface(b.geometry.values)
    frame = shapely.buffer(shapely.envelope(shapely.union_all(b.geometry.values)), 100)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame))
    which = shapely.STRtree(pts).query(cells, predicate="contains")
    owner = pd.Series(b["community"].to_numpy()[which[1]], index=which[0]).sort_index()
    comms = gpd.GeoDataFrame({"cell": shapely.intersection(cells[owner.index], frame), "boundary_id": owner.values},
                             geometry="cell", crs=b.crs).dissolve("boundary_id").reset_index()
    comms["name"] = comms["boundary_id"]
    plan, metrics = make_plan_parallel(kunming_inputs, PlanSettings(), boundaries=comms, workers=0)
    assert metrics["communities"] == b["community"].nunique() == 16
    assert metrics["coverage"]["ok"] and metrics["disconnected_grids"] == 0
    grid_comm = plan.grids["community_id"].reindex(plan.buildings["grid_id"]).to_numpy()
    assert (grid_comm == b["community"].to_numpy()).all()
    result = check_plan(plan)
    assert result.ok, result.violations


def test_community_of_hand_made():
    """Two communities A | B; building ``x`` straddles the line with most of it in B,
    ``out`` is in neither::

        +----A----+----B----+
        |  a      | b       |
        |        x|xx       |   out
        +---------+---------+
    """
    comms = gpd.GeoDataFrame({"boundary_id": ["B", "A"], "name": ["b", "a"]},
                             geometry=[box(10, 0, 20, 10), box(0, 0, 10, 10)], crs=32650)
    b = gpd.GeoDataFrame({"households": [1, 1, 1]}, geometry=[box(1, 6, 3, 8), box(11, 6, 13, 8), box(9, 1, 13, 3)],
                         index=pd.Index(["a", "b", "x"], name="building_id"), crs=32650)
    assert community_of(b, comms).to_dict() == {"a": "A", "b": "B", "x": "B"}
    b.loc["out", ["households", "geometry"]] = [1, box(30, 0, 32, 2)]
    with pytest.raises(InputError, match="1 building\\(s\\) lie in no community.*out"):
        community_of(b, comms)


def test_requests_the_parallel_path_refuses(city):
    inputs, barriers, communities = city
    with pytest.raises(InfeasibleError, match=r"number of grids \(n_grids\)") as refused:
        make_plan_parallel(inputs, PlanSettings(n_grids=10), boundaries=communities, workers=0)
    assert "--" not in str(refused.value) and "n_grids" in refused.value.options  # library terms; the CLI adds flags
    with pytest.raises(InputError, match="workers"):
        make_plan_parallel(inputs, PlanSettings(), boundaries=communities, workers=-1)


def test_partition_command_with_workers(city_file, tmp_path):
    from app.cli import cli

    out = tmp_path / "plan.gpkg"
    args = ["partition", str(city_file), "--layer", "buildings", "--id-field", "building_id", "--households-field",
            "households", "--barriers", str(city_file), "--barriers-layer", "roads", "--boundary", str(city_file),
            "--boundary-layer", "communities", "--workers", "0", "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "planned apart" in result.output
    plan = geo.read_plan(out)
    assert plan.meta["parallel"]["communities"] == plan.grids["community_id"].nunique()
    assert plan.grids["households"].sum() == plan.buildings["households"].sum() > 4000
    assert plan.buildings["grid_code"].notna().all()
    no_boundary = CliRunner().invoke(cli, args[:8] + ["--workers", "0", "-o", str(out)])
    assert no_boundary.exit_code == 2 and "--boundary" in no_boundary.output


def _one_community(city):
    """The synthetic city's community of the most buildings alone: its buildings, its polygon, all roads."""
    inputs, barriers, communities = city
    member = community_of(inputs.buildings, communities)
    cid = member.value_counts().sort_index().idxmax()
    alone = geo.Inputs(buildings=inputs.buildings[member == cid], crs=inputs.crs, source_crs=inputs.source_crs,
                       households_method=inputs.households_method)
    return alone, communities[communities["boundary_id"] == cid], barriers, None, cid


def _kunming_as_one(kunming_inputs):
    """Kunming's 140 real buildings in one community drawn 40 m around them, no barriers."""
    hull = shapely.buffer(shapely.convex_hull(shapely.union_all(kunming_inputs.buildings.geometry.values)), 40)
    boundary = gpd.GeoDataFrame({"boundary_id": ["panlong"], "name": ["盘龙"]}, geometry=[hull],
                                crs=kunming_inputs.crs)
    return kunming_inputs, boundary, None, "530103001", "530103001001"


@pytest.mark.parametrize(("case", "seed_matters"), [("synthetic community with roads", True), ("Kunming", False)])
def test_one_community_plans_as_make_plan(case, seed_matters, city, kunming_inputs):
    """A plan whose boundaries are ONE community: the parallel path gives make_plan's plan when
    make_plan gets that community's seed (``community_seed``) and code prefix -- both run
    :func:`partitioning.area.plan_area`. (Kunming's towers, most a grid of their own, leave
    the engine the same choice whatever the seed.)"""
    if case == "Kunming":
        inputs, boundary, barriers, code_prefix, prefix = _kunming_as_one(kunming_inputs)
    else:
        inputs, boundary, barriers, code_prefix, prefix = _one_community(city)
    cid = boundary["boundary_id"].iloc[0]
    par, par_metrics = make_plan_parallel(inputs, PlanSettings(seed=5, code_prefix=code_prefix), boundaries=boundary,
                                          barriers=barriers, workers=0)
    one, one_metrics = make_plan(inputs, PlanSettings(seed=community_seed(5, cid), code_prefix=prefix),
                                 boundaries=boundary, barriers=barriers)
    assert par_metrics["n_grids"] >= 3
    # the same assignment: every building has the same grid code, and codes name grids one to one
    pd.testing.assert_series_equal(par.buildings["grid_code"], one.buildings["grid_code"])
    assert par.grids["grid_code"].is_unique and one.grids["grid_code"].is_unique
    assert par.grids["grid_code"].str.startswith(prefix).all()
    a, b = par.grids.set_index("grid_code"), one.grids.set_index("grid_code")
    cols = ["households", "n_buildings", "status"]
    pd.testing.assert_frame_equal(pd.DataFrame(a[cols]), pd.DataFrame(b[cols]), check_index_type=False)
    assert shapely.equals_exact(a.geometry.values, b.geometry.values, 0).all()
    assert shapely.equals_exact(par.layers["cells"].geometry.values, one.layers["cells"].geometry.values, 0).all()
    differ = {k for k in set(par_metrics) | set(one_metrics) if par_metrics.get(k) != one_metrics.get(k)}
    assert differ == {"timings", "runtime_s", "communities"}
    assert par_metrics["coverage"]["ok"]
    # the seed is what ties the paths: the plan's own seed draws other grids in make_plan
    other, _ = make_plan(inputs, PlanSettings(seed=5, code_prefix=prefix), boundaries=boundary, barriers=barriers)
    assert other.buildings["grid_code"].equals(one.buildings["grid_code"]) is not seed_matters


def test_plan_area_on_a_lattice():
    """3 × 4 squares of 10 households 5 m apart, target 40: three grids of 40, coded with the
    given prefix; the ``seed`` argument stands for the settings' seed::

        r0c0 r0c1 r0c2 r0c3
        r1c0 r1c1 r1c2 r1c3
        r2c0 r2c1 r2c2 r2c3
    """
    ids = [f"r{r}c{c}" for r in range(3) for c in range(4)]
    squares = [box(500_000 + 15 * c, 3_500_000 - 15 * r, 500_010 + 15 * c, 3_500_010 - 15 * r)
               for r in range(3) for c in range(4)]
    b = gpd.GeoDataFrame({"households": [10] * 12}, geometry=squares, index=pd.Index(ids, name="building_id"),
                         crs=4549)
    area = plan_area(b, settings=PlanSettings(target=40, code_prefix="111111111111"), seed=7, prefix="320508001001")
    assert area.assignment.index.equals(b.index) and area.cells.index.equals(b.index)
    assert area.grids["grid_code"].tolist() == ["320508001001001", "320508001001002", "320508001001003"]
    assert area.grids["households"].tolist() == [40, 40, 40]
    assert (area.grids["status"] == "ok").all() and area.coverage["ok"]
    assert area.metrics["disconnected_grids"] == 0
    assert set(area.timings) == {"tessellation_s", "graph_s", "partition_s", "engine_s", "total_s", "cpu_s"}
    assert 0 < area.timings["engine_s"] < area.timings["partition_s"]
    same = plan_area(b, settings=PlanSettings(target=40, seed=7), prefix="320508001001")
    pd.testing.assert_series_equal(same.assignment, area.assignment)
    assert shapely.equals_exact(same.grids.geometry.values, area.grids.geometry.values, 0).all()
    # the seed decides here: the settings' own seed (0) draws other grids
    other = plan_area(b, settings=PlanSettings(target=40, code_prefix="320508001001"))
    assert other.grids["grid_code"].reindex(other.assignment).tolist() != \
        area.grids["grid_code"].reindex(area.assignment).tolist()


def test_city_grids_and_metrics_are_those_of_a_plan_made_in_one_piece(city, serial_plan):
    """The parallel plan of a city of several communities has the grids layer of a plan made in one
    piece (plus ``community_id``), and its city metrics are the single-process definitions
    (:func:`partitioning.metrics.partition_metrics`) on the plan's own graph, as ``check`` computes them."""
    from partitioning.graph import plan_graph
    from partitioning.metrics import partition_metrics

    inputs, barriers, communities = city
    plan, metrics = serial_plan
    assert plan.grids["community_id"].nunique() >= 3
    one, one_metrics = make_plan(inputs, PlanSettings(seed=5), boundaries=communities, barriers=barriers)
    columns = list(one.grids.columns)
    assert list(plan.grids.columns) == columns[:columns.index("status") + 1] + ["community_id"] + \
        columns[columns.index("status") + 1:]
    assert (plan.grids.dtypes.drop("community_id") == one.grids.dtypes).all()
    assert plan.grids.index.name == one.grids.index.name == "grid_id"
    sums = plan.buildings.groupby("grid_id")["households"].sum()
    assert plan.grids["households"].equals(sums.reindex(plan.grids.index))
    fresh = partition_metrics(plan_graph(plan), plan.buildings["grid_id"], target=50, tolerance=0.2)
    assert set(metrics) - {"coverage", "timings", "communities"} == set(fresh) == set(one_metrics) - {
        "coverage", "timings"}
    assert {k: metrics[k] for k in fresh if k != "runtime_s"} == {k: v for k, v in fresh.items() if k != "runtime_s"}
    checked = check_plan(plan)
    assert checked.ok, checked.violations
