"""The unit (street, community, compound) each grid lies in: the value of a buildings' column that
most of the grid's buildings have (:func:`grid_majority`).  Grids nest in their units, so a grid's
buildings normally share one value; where they do not (a plan drawn without the units as
boundaries), the grid belongs to the unit most of its buildings are in, ties to the smallest value.

>>> import pandas as pd
>>> b = pd.DataFrame({"grid_id": ["G1", "G1", "G1", "G2", "G2"], "community": ["东园", "西园", "东园", "西园", "东园"]})
>>> grid_majority(b, "community").to_dict()
{'G1': '东园', 'G2': '东园'}
"""

from __future__ import annotations

import pandas as pd

__all__ = ["grid_majority"]


def grid_majority(buildings: pd.DataFrame, column: str) -> pd.Series:
    """The ``column`` value most of each grid's buildings have, by ``grid_id`` (str); ties go to the
    smallest value, so the answer does not depend on the buildings' order. Blank values do not count;
    a grid whose buildings all lack one is missing from the result."""
    b = pd.DataFrame({"grid_id": buildings["grid_id"].astype(str), "unit": buildings[column]}).dropna()
    b = b[b["unit"].astype(str) != ""]
    counts = b.groupby(["grid_id", "unit"]).size().rename("n").reset_index()
    top = counts.sort_values(["grid_id", "n", "unit"], ascending=[True, False, True]).drop_duplicates("grid_id")
    return pd.Series(top["unit"].astype(str).to_numpy(), index=pd.Index(top["grid_id"].to_numpy(), name="grid_id"))
