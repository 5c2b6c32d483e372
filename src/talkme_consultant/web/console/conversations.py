"""Conversation pages: the filtered list, one transcript, «Ответ неверный», and exports."""

from __future__ import annotations

import json
import time
from datetime import datetime, tzinfo
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from talkme_consultant.helpers.kinds import ConversationState, EventKind
from talkme_consultant.store.browse import ConversationRow
from talkme_consultant.store.questions import MarkOutcome
from talkme_consultant.web.console.base import SignedIn, SignedInWithCsrf, pagination, render
from talkme_consultant.web.console.filters import ChosenFilters, conversation_filters
from talkme_consultant.web.console.phone_links import whole_phone
from talkme_consultant.web.console.questions import QUESTIONS_CHANGED
from talkme_consultant.web.console.wording import finish_codes
from talkme_consultant.web.csv_export import csv_response
from talkme_consultant.web.deps import (
    KnowledgeDep,
    ProfileDep,
    QuestionsDep,
    SettingsDep,
    StoreDep,
)
from talkme_consultant.web.export_table import Table
from talkme_consultant.web.xlsx_export import xlsx_response

router = APIRouter(prefix="/console/conversations", include_in_schema=False)

PAGE_SIZE = 50
MAX_EXPORT_ROWS = 50_000
# The names `Draft.answerer` takes (answer/base.py); a fixed list spares a scan of every reply.
ANSWERERS = ("offline", "llm")
EXPORT_HEADERS = (
    "Диалог",
    "Создан",
    "Последнее сообщение",
    "Имя",
    "Телефон",
    "Кто ведёт",
    "Сообщений",
    "Передан человеку",
    "Лид",
    "Уточнение",
    "Проверка фактов",
)
WHO_LEADS: dict[str, str] = {ConversationState.BOT: "бот", ConversationState.OPERATOR: "человек"}


@router.get("", response_class=HTMLResponse)
async def conversation_list(
    request: Request,
    chosen: Annotated[ChosenFilters, Depends(conversation_filters)],
    session: SignedIn,
    store: StoreDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Conversations, most recently active first, filtered and paginated."""
    total, rows = await store.browse.find(
        chosen.filter, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render(
        request,
        session,
        "conversations.html",
        {
            "rows": rows,
            **pagination(total, page, PAGE_SIZE),
            "chosen": chosen,
            "answerers": ANSWERERS,
        },
        page="conversations",
    )


def _export_rows(rows: list[ConversationRow]) -> list[dict[str, object]]:
    return [
        {
            "conversation": row.key,
            "visitor_name": row.visitor_name,
            "client_name": row.client_name,
            "phone": row.phone,
            "state": row.state,
            "messages": row.messages,
            "created_at": row.created_at,
            "last_activity": row.last_activity,
            "handed_over": row.handed_over,
            "lead": row.has_lead,
            "clarified": row.clarified,
            "guard_event": row.guard,
        }
        for row in rows
    ]


def _export_table(rows: list[ConversationRow], zone: tzinfo) -> Table:
    """The list as the owner's spreadsheet: Russian headers, local dates, «да»/«нет»."""
    return Table(
        name="conversations",
        title="Диалоги",
        headers=EXPORT_HEADERS,
        rows=[
            [
                row.key,
                datetime.fromtimestamp(row.created_at, zone),
                datetime.fromtimestamp(row.last_activity, zone),
                row.visitor_name or row.client_name,
                whole_phone(row.phone) if row.phone else None,
                WHO_LEADS.get(row.state, row.state),
                row.messages,
                row.handed_over,
                row.has_lead,
                row.clarified,
                row.guard,
            ]
            for row in rows
        ],
    )


@router.get("/export.{kind}")
async def export(
    kind: str,
    chosen: Annotated[ChosenFilters, Depends(conversation_filters)],
    _: SignedIn,
    store: StoreDep,
    profile: ProfileDep,
) -> Response:
    """The filtered list as .xlsx, CSV or JSON (at most 50,000 rows). The owner downloads it to
    call visitors back, so phones are whole; the spreadsheets' cells are data, never formulas
    (web/csv_export.py, web/xlsx_export.py)."""
    if kind not in ("xlsx", "csv", "json"):
        raise HTTPException(status_code=404, detail="Экспорт бывает только xlsx, csv или json.")
    rows = await store.browse.page(chosen.filter, offset=0, limit=MAX_EXPORT_ROWS)
    if kind == "json":
        return Response(
            json.dumps({"conversations": _export_rows(rows)}, ensure_ascii=False),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="conversations.json"'},
        )
    table = _export_table(rows, profile.zone())
    return await xlsx_response(table) if kind == "xlsx" else csv_response(table)


@router.get("/{key}", response_class=HTMLResponse)
async def transcript(
    request: Request,
    key: str,
    session: SignedIn,
    store: StoreDep,
    knowledge: KnowledgeDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """One conversation: every message, and beside each bot reply what it was made of."""
    conversation = await store.conversations.get(key)
    if conversation is None:
        raise HTTPException(status_code=404, detail=f"Диалог {key!r} не найден.")
    messages = await store.browse.transcript(key)
    events = await store.browse.events(key)
    marked = {
        event.data.get("message_id")
        for event in events
        if event.kind == EventKind.ANSWER_MARKED_WRONG
    }
    return render(
        request,
        session,
        "conversation.html",
        {
            "conversation": conversation,
            "messages": messages,
            "events": events,
            "marked": marked,
            "leads": await store.leads.of_conversation(key),
            "threshold": knowledge.answer_threshold,
            "finish_codes": finish_codes(settings),
        },
        page="conversations",
    )


@router.post("/{key}/messages/{message_id}/wrong")
async def mark_wrong(
    request: Request,
    key: str,
    message_id: int,
    _: SignedInWithCsrf,
    store: StoreDep,
    questions: QuestionsDep,
) -> Response:
    """The owner found this bot answer wrong: the visitor's question before it becomes an open
    question (kind «wrong»), and an `answer_marked_wrong` event keeps the mark in the history."""
    if not await store.browse.bot_message(key, message_id):
        raise HTTPException(status_code=404, detail="Такого ответа бота в этом диалоге нет.")
    outcome = await questions.mark_wrong(message_id)
    if outcome is MarkOutcome.NO_QUESTION:
        raise HTTPException(
            status_code=400, detail="Перед этим ответом нет вопроса посетителя — отмечать нечего."
        )
    if outcome is MarkOutcome.ASKED_ALREADY:
        if request.headers.get("hx-request"):
            return HTMLResponse(
                '<a href="/console/questions" data-testid="mark-wrong-asked-already">'
                "Этот вопрос уже среди открытых</a> — второй раз он не считается.",
                headers=QUESTIONS_CHANGED,
            )
        return RedirectResponse(f"/console/conversations/{key}#m{message_id}", status_code=303)
    if outcome is MarkOutcome.MARKED:
        await store.conversations.record_event(
            key, EventKind.ANSWER_MARKED_WRONG, {"message_id": message_id}, time.time()
        )
    if request.headers.get("hx-request"):
        return HTMLResponse(
            '<span class="badge bad">Отмечен как неверный</span> '
            '<a href="/console/questions" data-testid="mark-wrong-open-questions">'
            "вопрос — в открытых</a>",
            headers=QUESTIONS_CHANGED,
        )
    return RedirectResponse(f"/console/conversations/{key}#m{message_id}", status_code=303)
