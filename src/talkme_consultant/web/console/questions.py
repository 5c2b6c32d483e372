"""Open questions: what visitors asked that the bot could not answer, newest first.

For now one row per `unanswered` event; grouping similar phrasings comes from the store later.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from talkme_consultant.web.console.base import SignedIn, render, runtime_of

router = APIRouter(prefix="/console/questions", include_in_schema=False)

SHOWN = 200


@router.get("", response_class=HTMLResponse)
async def questions_page(request: Request, session: SignedIn) -> HTMLResponse:
    """The newest questions the bot handed over for not knowing the answer."""
    events = await runtime_of(request).store.browse.events_of_kind("unanswered", limit=SHOWN)
    return render(request, session, "questions.html", {"questions": events}, page="questions")
