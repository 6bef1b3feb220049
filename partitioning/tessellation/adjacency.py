"""Which cells touch: the pairs of cells sharing an edge (:func:`cell_adjacency`), and the
contiguity graph kept to buildings whose cells touch (:func:`keep_adjacent_cells`), so that every
grid of connected buildings is one polygon."""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from partitioning.tessellation._geometry import shared_edges

__all__ = ["cell_adjacency", "keep_adjacent_cells"]

logger = logging.getLogger(__name__)


def cell_adjacency(cells: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pairs of cells that share an edge, with the length of the shared boundary.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        Cells from :func:`tessellate` (neighbours share identical vertices).

    Returns
    -------
    pandas.DataFrame
        Columns ``a``, ``b`` (building ids, ``a < b`` in the cells' order) and
        ``shared_length`` (m). Grids made of cells connected through these pairs are single
        polygons, so this is a contiguity graph the partition can use.
    """
    geoms = cells.geometry.values
    parts, owner = shapely.get_parts(geoms, return_index=True)
    edges = shared_edges(parts)
    a, b = owner[edges["a"].to_numpy()], owner[edges["b"].to_numpy()]
    pairs = pd.DataFrame(
        {"a": np.minimum(a, b), "b": np.maximum(a, b), "shared_length": edges["length"].to_numpy()}
    )
    pairs = pairs[pairs["a"] != pairs["b"]].groupby(["a", "b"], as_index=False)["shared_length"].sum()
    ids = cells.index.to_numpy()
    return pd.DataFrame(
        {"a": ids[pairs["a"]], "b": ids[pairs["b"]], "shared_length": pairs["shared_length"]}
    ).reset_index(drop=True)


def keep_adjacent_cells(graph: nx.Graph, cells: gpd.GeoDataFrame, *,
                        adjacency: pd.DataFrame | None = None, copy: bool = True) -> nx.Graph:
    """The contiguity graph without the edges whose buildings' cells do not touch.

    Two buildings close to each other can have their cells separated by a third building's
    cell; a grid holding the first two but not the third would be two polygons. Partitioning
    on this graph makes every grid of connected buildings one polygon.

    Parameters
    ----------
    graph : networkx.Graph
        Contiguity graph whose nodes are building ids.
    cells : geopandas.GeoDataFrame
        Cells from :func:`tessellate`.
    adjacency : pandas.DataFrame, optional
        :func:`cell_adjacency` of ``cells``, when the caller has it already.
    copy : bool, default True
        Drop the edges from a copy of ``graph``; with False, from ``graph`` itself (a graph the
        caller has just built: copying Suzhou's took 0.07 s).

    Returns
    -------
    networkx.Graph
        ``graph`` (or its copy) keeping only edges between buildings whose cells share an edge.
    """
    adj = cell_adjacency(cells) if adjacency is None else adjacency
    touching = set(zip(adj["a"], adj["b"])) | set(zip(adj["b"], adj["a"]))
    out = graph.copy() if copy else graph
    drop = [(u, v) for u, v in graph.edges if (u, v) not in touching]
    out.remove_edges_from(drop)
    logger.info("contiguity graph: %d of %d edges join buildings whose cells do not touch; dropped",
                len(drop), graph.number_of_edges())
    return out
