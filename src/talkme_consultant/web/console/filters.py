"""Reading the conversation list's filters from the query string, with errors the owner reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated
from urllib.parse import urlencode

from fastapi import HTTPException, Query

from talkme_consultant.store.browse import ConversationFilter
from talkme_consultant.web.deps import ProfileDep

MAX_SEARCH_CHARS = 200


@dataclass(frozen=True)
class ChosenFilters:
    """The filter for the store and the query string that reproduces it (for pages, exports)."""

    filter: ConversationFilter
    query: str
    values: dict[str, str]


def _flag(name: str, value: str) -> bool | None:
    if value == "":
        return None
    if value in ("yes", "no"):
        return value == "yes"
    raise HTTPException(status_code=400, detail=f"Фильтр «{name}»: ожидается yes, no или пусто.")


def _day(name: str, value: str, zone: tzinfo, *, end: bool) -> float | None:
    if value == "":
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            status_code=400, detail=f"Дата «{name}»: ожидается ГГГГ-ММ-ДД, получено {value!r}."
        ) from None
    if end:
        day += timedelta(days=1)  # "until 30.11" includes the whole of that day
    return datetime.combine(day, time.min, zone).timestamp()


def conversation_filters(
    profile: ProfileDep,
    since: Annotated[str, Query()] = "",
    until: Annotated[str, Query()] = "",
    started: Annotated[str, Query()] = "",
    handed: Annotated[str, Query()] = "",
    lead: Annotated[str, Query()] = "",
    clarified: Annotated[str, Query()] = "",
    guard: Annotated[str, Query()] = "",
    answerer: Annotated[str, Query(max_length=32)] = "",
    q: Annotated[str, Query(max_length=MAX_SEARCH_CHARS)] = "",
) -> ChosenFilters:
    """FastAPI dependency: the owner's filters, validated."""
    zone = profile.zone()
    values = {
        "since": since,
        "until": until,
        "started": started,
        "handed": handed,
        "lead": lead,
        "clarified": clarified,
        "guard": guard,
        "answerer": answerer,
        "q": q.strip(),
    }
    chosen = ConversationFilter(
        since=_day("с", since, zone, end=False),
        until=_day("по", until, zone, end=True),
        started_since=_day("начат не раньше", started, zone, end=False),
        handed_over=_flag("передан человеку", handed),
        lead=_flag("лид", lead),
        clarified=_flag("уточнение", clarified),
        guard=_flag("проверка фактов", guard),
        answerer=answerer or None,
        text=values["q"] or None,
    )
    query = urlencode({name: value for name, value in values.items() if value})
    return ChosenFilters(filter=chosen, query=query, values=values)
