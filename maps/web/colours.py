"""Grid colours on the maps: grids sharing a boundary never share a fill colour.

:func:`grid_colours` colours the grid adjacency graph (:func:`grid_adjacency`) greedily, largest
degree first, from :data:`PALETTE`; the community map, the printed overview and the editor page
(which is sent the colours and the palette, never a copy of the rule) all use it.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

__all__ = ["PALETTE", "grid_adjacency", "grid_colours"]

logger = logging.getLogger(__name__)

#: Fill colours (ColorBrewer Set3, readable under dark outlines); neighbours never share one.
PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69",
           "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")

def grid_adjacency(grids: gpd.GeoDataFrame, *, tolerance: float = 0.05) -> nx.Graph:
    """Grids that share a boundary (or come within ``tolerance`` metres) are neighbours."""
    graph = nx.Graph()
    graph.add_nodes_from(grids.index)
    geoms = np.asarray(grids.geometry.values)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=tolerance)
    keep = left < right
    graph.add_edges_from(zip(grids.index[left[keep]], grids.index[right[keep]]))
    return graph


def grid_colours(grids: gpd.GeoDataFrame) -> dict:
    """A colour per grid, different from every neighbour's (deterministic)."""
    graph = grid_adjacency(grids)
    # largest-first greedy colouring; ties broken by grid id for a stable result
    order = sorted(graph.nodes, key=lambda n: (-graph.degree(n), str(n)))
    colour_of: dict = {}
    for node in order:
        used = {colour_of[m] for m in graph.neighbors(node) if m in colour_of}
        colour_of[node] = next(i for i in range(len(graph) + 1) if i not in used)
    n_colours = max(colour_of.values(), default=0) + 1
    if n_colours > len(PALETTE):
        logger.warning("grid colouring needs %d colours; the palette has %d, so a few neighbours may "
                       "share a colour", n_colours, len(PALETTE))
    return {g: PALETTE[c % len(PALETTE)] for g, c in colour_of.items()}


