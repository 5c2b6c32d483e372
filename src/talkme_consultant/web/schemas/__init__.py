"""What the monitoring and admin routes answer, as models: the OpenAPI description at `/docs`.

One module per group of routes (`monitoring`, `knowledge`, `owner`, `lessons`, and what they
all share in `shared`); the package names what each of them lists in its `__all__`, so a route,
or a check of the description, finds any model in one place.

Every field is named as the routes have always sent it (existing scripts read them). Answers
built by a route are closed (`extra="forbid"`): an undocumented field is a bug, and mypy sees a
misspelt one. Only the case-file score, which the knowledge service writes as a dict, stays open
to figures added later.

A value the route itself decides from a small fixed set is a literal, or one of the shared
enums of `helpers/kinds.py` (`Listed`: its values inline, as a literal's are). Values read back
from stored history (event kinds, handoff reasons, file origins) and values other rooms extend
freely (TalkMe methods, answerer names) are strings whose known values the field descriptions
list, so a row of another version never turns an owner's view into a 500.
"""

from __future__ import annotations

from talkme_consultant.web.schemas.knowledge import *  # noqa: F403
from talkme_consultant.web.schemas.lessons import *  # noqa: F403
from talkme_consultant.web.schemas.monitoring import *  # noqa: F403
from talkme_consultant.web.schemas.owner import *  # noqa: F403
from talkme_consultant.web.schemas.shared import *  # noqa: F403
