"""The overview page: the period's figures, the daily chart and the knowledge base's health."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from talkme_consultant.web.console.base import SignedIn, render
from talkme_consultant.web.deps import (
    FilesDep,
    KnowledgeDep,
    ProfileDep,
    QuestionsDep,
    SettingsDep,
    StoreDep,
)

router = APIRouter(prefix="/console", include_in_schema=False)

# The conversation list's filters behind each conversation figure: the list counts with the
# same expressions (store/figures.py), so it shows as many conversations as the figure says.
FIGURE_FILTERS = {
    "conversations": {},
    "answered": {"handed": "no", "clarified": "no"},
    "clarified": {"handed": "no", "clarified": "yes"},
    "handed_over": {"handed": "yes"},
    "leads": {"lead": "yes"},
}


class Period(StrEnum):
    """The periods the overview offers."""

    TODAY = "today"
    WEEK = "7"
    MONTH = "30"


PERIOD_DAYS = {Period.TODAY: 1, Period.WEEK: 7, Period.MONTH: 30}
PERIOD_LABELS = {Period.TODAY: "Сегодня", Period.WEEK: "7 дней", Period.MONTH: "30 дней"}


def figure_links(since: date) -> dict[str, str]:
    """Where each conversation figure of a period starting on `since` leads: the conversation
    list of the conversations it counts."""
    return {
        name: "/console/conversations?" + urlencode({"started": since.isoformat(), **extra})
        for name, extra in FIGURE_FILTERS.items()
    }


def day_starts(now: datetime, days: int) -> list[float]:
    """Local midnights of the last `days` days, oldest first (DST-safe: built from dates)."""
    today = now.date()
    zone = now.tzinfo
    return [
        datetime.combine(today - timedelta(days=back), datetime.min.time(), zone).timestamp()
        for back in range(days - 1, -1, -1)
    ]


@router.get("", response_class=HTMLResponse)
async def overview(
    request: Request,
    session: SignedIn,
    store: StoreDep,
    knowledge: KnowledgeDep,
    files: FilesDep,
    profile: ProfileDep,
    settings: SettingsDep,
    questions: QuestionsDep,
    period: Period = Period.WEEK,
) -> HTMLResponse:
    """The overview for today, 7 or 30 days."""
    zone = profile.zone()
    starts = day_starts(datetime.now(zone), PERIOD_DAYS[period])
    view = await store.overview.period(starts)
    state = await files.stored_state()
    chart = {
        "days": [datetime.fromtimestamp(day.start, zone).strftime("%d.%m") for day in view.days],
        "answered": [day.answered for day in view.days],
        "clarified": [day.clarified for day in view.days],
        "handed_over": [day.handed_over for day in view.days],
    }
    return render(
        request,
        session,
        "overview.html",
        {
            "view": view,
            "period": period,
            "periods": PERIOD_LABELS,
            "links": figure_links(datetime.fromtimestamp(starts[0], zone).date()),
            "open_questions": await questions.open_count(),
            "chart": chart,
            "records": knowledge.record_count,
            "last_rebuild": knowledge.status.finished_at or state.updated_at,
            "rebuilding": knowledge.rebuilding,
            "evaluation": knowledge.latest_evaluation(state),
            "llm": settings.llm_enabled,
        },
        page="overview",
    )
