"""Printed wall maps (作战图): one sheet per grid and a community overview, A3 to A0, PDF or PNG.

A grid sheet shows the grid's boundary and buildings, each building labelled with its number and
households, the neighbouring grids greyed with their numbers, barriers and boundaries when the plan
has them, a legend, a north arrow, a scale bar in metres, the grid's figures, a contact table (grid
leader, grid worker, community police, volunteers, and a leader per building — from a roster when
given, blank rows to fill by hand otherwise), the escalation chain (网格吹哨: grid → community →
street → departments, with phones), a QR code linking to the grid's web page, the plan
version, the date, "示意图" and the data attribution. The overview shows every grid in colours that
differ between neighbours (:func:`maps.web.colours.grid_colours`) with a table of the grids.

Sheets are drawn server-side with matplotlib (Agg canvas, no pyplot state) in a CJK font found by
:func:`find_cjk_font`, and saved with TrueType font embedding, so the PDF text is real, selectable
text. Type is sized for reading from 1 m (A3: title 64 pt, names, phones and tables 12 pt, building
labels 10 pt, nothing under 9 pt; larger paper scales it), see docs/wallmaps.md. Tables that do not
fit continue on following pages of the same PDF (``fig.more_pages``). The QR code needs the web
app's address (``base_url`` or the plan's ``base_url``): there is no default.

Roster
------
An optional ``pandas.DataFrame`` (or list of dicts) with columns ``grid_id``, ``role``, ``name``
and optionally ``phone`` and ``building_id``. ``role`` is one of ``grid_leader``, ``grid_worker``,
``police``, ``building_leader``, ``volunteer`` (or the Chinese 网格长, 网格员, 社区民警, 楼栋长,
志愿者); a ``building_leader`` row names its ``building_id``. An optional ``role_label`` (e.g.
第一网格长) is printed instead of the role's name. Without a roster, the plan's ``people`` layer
(posts filled by ``partitioning.people.staffing``, same columns) is used.

Examples
--------
>>> import geo
>>> from maps.wallmap import SheetOptions, grid_sheet, save_sheet
>>> plan = geo.read_plan("suzhou.gpkg")  # doctest: +SKIP
>>> options = SheetOptions(paper="A3", plan_name="suzhou", community_name="养育巷社区",
...                        base_url="https://grid.example.gov.cn")
>>> save_sheet(grid_sheet(plan, "3", options), "grid.pdf")  # doctest: +SKIP
"""

from maps._sheet import MissingFontError, find_cjk_font
from maps.wallmap._content import DEFAULT_BASE_URL, PAPERS, ROLES, ROSTER_COLUMNS, grid_url
from maps.wallmap.grid import building_table, grid_sheet
from maps.wallmap.options import SheetOptions
from maps.wallmap.output import print_all, save_sheet
from maps.wallmap.overview import overview_sheet

__all__ = ["PAPERS", "DEFAULT_BASE_URL", "ROSTER_COLUMNS", "ROLES", "MissingFontError", "find_cjk_font",
           "grid_url", "SheetOptions", "grid_sheet", "building_table", "overview_sheet", "save_sheet", "print_all"]
