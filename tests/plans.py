"""A tiny hand-made plan with people and special households, for the web app's access-control tests.

The plan (two grids of 100 m in EPSG:4549)::

    +--------+--------+    G1 (code 320508001001001): b1, b2; grid leader 王芳 13812341234,
    | G1     | G2     |        building leader of b1 is <script>alert(1)</script> 13900001111
    | b1  b2 | b3  b4 |    G2 (…002): b3, b4; grid leader 赵磊 13700007777
    +--------+--------+    special households: 刘奶奶 (b1, elderly alone), 孙大爷 (b3, disabled)
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

import geo
from partitioning.tessellation import CUT_TOLERANCE_M2, cell_adjacency

__all__ = ["RESIDENTS", "STAFF_NAMES", "PHONES", "XSS", "tiny_people_plan", "square_assignment", "single_moves"]

RESIDENTS = ("刘奶奶", "孙大爷", "平江路12号", "干将路3号")
STAFF_NAMES = ("王芳", "赵磊")
PHONES = ("13812341234", "13900001111", "13700007777", "0512-65001234")
XSS = "<script>alert(1)</script>"


def tiny_people_plan(folder) -> Path:
    """Write the tiny plan of the picture above into ``folder`` and return its path."""
    x0, y0 = 500_000.0, 3_460_000.0
    grids, buildings = [], []
    for i in (1, 2):
        gx = (i - 1) * 100
        grids.append({"grid_id": f"G{i}", "grid_code": f"320508001001{i:03d}", "households": 20, "n_buildings": 2,
                      "status": "ok", "geometry": shapely.box(x0 + gx, y0, x0 + gx + 100, y0 + 100)})
        for j, bx in enumerate((10, 60)):
            n = 2 * i - 1 + j
            buildings.append({"building_id": f"b{n}", "grid_id": f"G{i}", "grid_code": f"320508001001{i:03d}",
                              "households": 10,
                              "households_source": "field", "flag_elderly_alone": int(n == 1),
                              "flag_disabled": int(n == 3),
                              "geometry": shapely.box(x0 + gx + bx, y0 + 40, x0 + gx + bx + 20, y0 + 60)})
    people = pd.DataFrame([
        {"person_id": "P1", "grid_id": "G1", "building_id": None, "role": "grid_leader", "role_label": "网格长",
         "name": "王芳", "phone": "13812341234", "home": "平江路1号"},
        {"person_id": "P2", "grid_id": "G1", "building_id": "b1", "role": "building_leader", "role_label": "楼栋长",
         "name": XSS, "phone": "13900001111", "home": "b1"},
        {"person_id": "P3", "grid_id": "G2", "building_id": None, "role": "grid_leader", "role_label": "网格长",
         "name": "赵磊", "phone": "13700007777", "home": "b4"},
    ])
    b = gpd.GeoDataFrame(buildings, crs=4549).set_index("building_id")
    households = gpd.GeoDataFrame({
        "household_id": ["h1", "h2"], "building_id": ["b1", "b3"], "match": ["inside", "inside"],
        "persons": [1, 2], "name": ["刘奶奶", "孙大爷"], "address": ["平江路12号", "干将路3号"],
        "elderly_alone": [1, 0], "disabled": [0, 1]},
        geometry=[b.geometry["b1"].centroid, b.geometry["b3"].centroid], crs=4549).set_index("household_id")
    plan = geo.Plan(buildings=b, grids=gpd.GeoDataFrame(grids, crs=4549).set_index("grid_id"),
                    meta={"code_prefix": "320508001001", "target": 20,
                          "escalation": {"*": [{"level": "街道", "role": "派出所", "name": "平江派出所",
                                                "phone": "0512-65001234"}]}},
                    layers={"people": gpd.GeoDataFrame(people, geometry=[None] * len(people), crs=4549),
                            "households": households})
    return geo.write_plan(plan, Path(folder) / "tiny.gpkg")


def square_assignment(cells, buildings, size=300.0):
    """A simple assignment for testing grid polygons: cells connected within squares of ``size`` m,
    overlapping footprints together (must-link). Returns the ``grid_id`` Series and each building's square."""
    c = buildings.geometry.centroid
    square = (np.floor(c.x / size).astype(int).astype(str) + "_" + np.floor(c.y / size).astype(int).astype(str))
    adj = cell_adjacency(cells)
    g = nx.Graph()
    g.add_nodes_from(cells.index)
    g.add_edges_from((a, b) for a, b in zip(adj["a"], adj["b"]) if square[a] == square[b])
    geoms = buildings.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    over = (i < j) & (shapely.area(shapely.intersection(geoms[i], geoms[j])) > CUT_TOLERANCE_M2)
    g.add_edges_from(zip(buildings.index[i[over]], buildings.index[j[over]]))
    return pd.Series(
        {n: f"G{k:04d}" for k, comp in enumerate(sorted(nx.connected_components(g), key=min)) for n in comp}
    ).reindex(buildings.index), square


def single_moves(plan, graph, *, keeps_connected: bool = True):
    """Moves of one building to a neighbouring grid, in the graph's edge order: ``(building, its
    grid, the neighbour's grid)`` for buildings that overlap no other footprint and whose grid keeps
    at least two other buildings, connected (``keeps_connected``) or falling apart without it."""
    from partitioning.editing.rules import _overlap_partners

    grid = plan.buildings["grid_id"]
    for u, v in sorted(graph.edges):
        if grid[u] == grid[v] or len(_overlap_partners(graph, [u])) > 1:
            continue
        rest = [b for b in grid.index[grid == grid[u]] if b != u]
        if len(rest) > 1 and nx.is_connected(graph.subgraph(rest)) == keeps_connected:
            yield u, grid[u], grid[v]
