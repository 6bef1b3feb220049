"""People of a plan in one place: who holds which post in which grid.

- :mod:`partitioning.people.roles` — the one list of roles (网格长, 网格员, 社区民警, 楼栋长, 志愿者);
- :mod:`partitioning.people.roster` — reading and validating a roster (花名册) and the special
  households list, phone numbers normalised and masked; synthetic rosters for demos;
- :mod:`partitioning.people.staffing` — staffing templates, the posts of a plan, filling them
  from a roster, gaps and doubled posts.

``gridplan people …`` (:mod:`app.cli_people`) is the command line over these; the wall maps and
the web card show the result.
"""

from partitioning.people.roles import ROLES

__all__ = ["ROLES"]
