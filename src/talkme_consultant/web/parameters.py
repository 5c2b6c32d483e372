"""Path and query values the store cannot even look up are refused before any route runs.

PostgreSQL rejects NUL in any text it is given, a comparison included, so `/admin/events?kind=%00`
would otherwise come back as a 500 from deep inside the driver.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from talkme_consultant.helpers.cleaning import has_unstorable

UNSTORABLE_MESSAGE = "contains a NUL character or a broken surrogate"


async def refuse_unstorable_parameters(request: Request) -> None:
    """App-wide dependency: a 422 naming every path or query value that holds NUL.

    Async so that FastAPI runs it on the event loop, not in a worker thread for every request.
    """
    problems = [
        {"loc": ("path", name), "msg": UNSTORABLE_MESSAGE, "type": "unstorable_string"}
        for name, value in request.path_params.items()
        if isinstance(value, str) and has_unstorable(value)
    ]
    problems += [
        {"loc": ("query", name), "msg": UNSTORABLE_MESSAGE, "type": "unstorable_string"}
        for name, value in request.query_params.multi_items()
        if has_unstorable(name) or has_unstorable(value)
    ]
    if problems:
        raise RequestValidationError(problems)
