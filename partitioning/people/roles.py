"""The roles people hold in a grid: the one list staffing, the wall maps, the web card and the CLI use.

Every post of a staffing template *shows as* one of these (``shows_as`` in
``staffing_templates.toml``); rosters name them by key or by their Chinese name
(``maps.i18n``: ``role_grid_leader`` → 网格长 …). The order is the order people are listed in.

Examples
--------
>>> ROLES[0], len(ROLES)
('grid_leader', 5)
"""

from __future__ import annotations

__all__ = ["ROLES"]

#: Role keys in listing order: 网格长, 网格员, 社区民警, 楼栋长, 志愿者.
ROLES = ("grid_leader", "grid_worker", "police", "building_leader", "volunteer")
