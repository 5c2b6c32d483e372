"""Open questions: what visitors asked that the bot could not answer, grouped by meaning, and
the owner's three actions on a group (write the answer, point to a record, dismiss).

Each action posts through htmx and swaps the group for a line saying what happened; the
answer is served by the running knowledge base within seconds (`service/lessons.py`). New
questions join a group by themselves; «Перегруппировать» groups every open question again in
the background, and the page says when it is done.
"""

from __future__ import annotations

import math
from textwrap import shorten
from typing import Annotated, get_args

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape

from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import LessonError, UnknownRecord
from talkme_consultant.service.open_questions import (
    REGROUP_LIMIT,
    GroupNotFound,
    GroupStatus,
    OpenQuestions,
    UnknownWording,
    editable_question,
)
from talkme_consultant.service.operator_suggestions import OperatorSuggestion, operator_suggestions
from talkme_consultant.store.lessons import faq_id_of
from talkme_consultant.store.store import Store
from talkme_consultant.web.console.base import (
    SignedIn,
    SignedInWithCsrf,
    render,
    render_in_thread,
)
from talkme_consultant.web.console.plurals import plural
from talkme_consultant.web.deps import KnowledgeDep, QuestionsDep, StoreDep

router = APIRouter(prefix="/console/questions", include_in_schema=False)

PAGE_SIZE = 20
# Tells the page (htmx's HX-Trigger) that open questions changed: the menu's badge and the
# page's totals listen for it and fetch themselves again.
QUESTIONS_CHANGED = {"HX-Trigger": "questions-changed"}
SEARCH_HITS = 5
MAX_ANSWER_CHARS = 4000
MAX_SEARCH_CHARS = 1000
MAX_QUESTION_CHARS = 1000
# A group lists at most this many wordings to tick; a form names no more.
MAX_WORDINGS = 200
# The page draws this many of a group's wordings; the owner asks for the rest. A big group's
# hundreds of wordings would make the page heavy (a first page of 10,000 questions weighed
# about 900 KB) and hold the process for a quarter of a second each time it is drawn.
SHOWN_WORDINGS = 20
Ticked = Annotated[list[int], Form(max_length=MAX_WORDINGS)]
# An empty list is refused by the group, never read as «every wording».
_NO_WORDING = (
    "Отметьте хотя бы одну формулировку вопроса. Если отмеченных уже нет в группе, "
    "обновите страницу."
)
STATUSES: tuple[GroupStatus, ...] = get_args(GroupStatus)
STATUS_LABELS: dict[str, str] = {
    "open": "Открытые",
    "answered": "С ответом",
    "linked": "Привязанные к записи",
    "dismissed": "Отложенные",
}
KIND_LABELS: dict[str, str] = {
    "not_known": "не знал",
    "unclear": "не понял уточнение",
    "wrong": "ответ отмечен неверным",
}


@router.get("", response_class=HTMLResponse)
async def questions_page(
    request: Request,
    session: SignedIn,
    questions: QuestionsDep,
    store: StoreDep,
    knowledge: KnowledgeDep,
    status: GroupStatus = "open",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Groups of one status, most asked first, with an operator's answer where one exists."""
    found = await questions.page(status, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    suggestions: dict[int, OperatorSuggestion] = {}
    resolutions = {
        group.id: await _resolution_words(group.resolution, store, knowledge)
        for group in found.groups
        if group.resolution
    }
    if status == "open":
        suggestions = await operator_suggestions(store.operator_answers, found.groups)
    return await render_in_thread(
        request,
        session,
        "questions.html",
        {
            "found": found,
            "status": status,
            "statuses": STATUSES,
            "status_labels": STATUS_LABELS,
            "kind_labels": KIND_LABELS,
            "editable_question": editable_question,
            "max_wordings": MAX_WORDINGS,
            "shown_wordings": SHOWN_WORDINGS,
            "suggestions": suggestions,
            "resolutions": resolutions,
            "page": page,
            "pages": max(1, math.ceil(found.total_groups / PAGE_SIZE)),
            "base_query": f"status={status}",
            **_regroup_state(questions),
            "regroup_capped": found.total_questions > REGROUP_LIMIT,
            "regroup_limit": _number(REGROUP_LIMIT),
        },
        page="questions",
    )


async def _resolution_words(resolution: str, store: Store, knowledge: KnowledgeBase) -> str:
    """What resolved a group, as the owner knows it: her answer's question or the record's
    title, never the id the store keeps."""
    faq_id = faq_id_of(resolution)
    if faq_id is not None:
        entry = await store.lessons.get_faq(faq_id)
        return f"ответ владельца: «{entry.question}»" if entry else "ответ владельца (удалён)"
    record = knowledge.record(resolution)
    if record is None:
        return "запись базы знаний (её уже нет в базе)"
    title = record.title or shorten(record.text, 80, placeholder="…")
    return f"запись «{title}»"


def _regroup_state(questions: OpenQuestions) -> dict[str, object]:
    """What `_regroup_status.html` shows: a regrouping running, or what the last one did."""
    return {"regrouping": questions.regrouping, "regrouped": _regrouped(questions)}


def _regrouped(questions: OpenQuestions) -> str | None:
    """What the last regrouping in this process did, in the owner's words."""
    done = questions.last_regroup
    if done is None:
        return None
    said = f"Перегруппировано: {_questions(done.questions)}, {_groups(done.groups)}."
    if done.capped:
        said += (
            f" Взяты {_number(REGROUP_LIMIT)} самых новых открытых вопросов; более ранние"
            " остались в прежних группах."
        )
    return said


def _done(request: Request, message: str) -> Response:
    """htmx gets the line that replaces the group, and the page is told that the questions
    changed so its counters fetch themselves again; a plain form post goes back to the list."""
    if request.headers.get("hx-request"):
        return HTMLResponse(
            f'<article class="card resolved" data-testid="question-resolved">{escape(message)}'
            "</article>",
            headers=QUESTIONS_CHANGED,
        )
    return RedirectResponse("/console/questions", status_code=303)


def _refused(status_code: int, message: str) -> HTTPException:
    return HTTPException(status_code=status_code, detail=message)


@router.post("/{group_id}/answer")
async def answer_group(
    request: Request,
    group_id: int,
    _: SignedInWithCsrf,
    questions: QuestionsDep,
    answer: Annotated[str, Form(max_length=MAX_ANSWER_CHARS)] = "",
    question: Annotated[str, Form(max_length=MAX_QUESTION_CHARS)] = "",
    wording: Ticked = [],  # noqa: B006 - FastAPI copies a form's default
) -> Response:
    """Save the owner's answer under the question as edited, teaching only the wordings ticked
    (questions asked after the page was drawn stay open)."""
    if not answer.strip():
        raise _refused(400, "Напишите ответ: пустой ответ не сохраняется.")
    if not question.strip():
        raise _refused(400, "Напишите вопрос, на который это ответ.")
    try:
        __, resolved = await questions.answer(group_id, answer, question, wording)
    except GroupNotFound as error:
        raise _refused(404, "Этой группы вопросов уже нет среди открытых.") from error
    except UnknownWording as error:
        raise _refused(400, _NO_WORDING) from error
    except LessonError as error:
        raise _refused(400, f"Ответ не сохранён: {error}") from error
    return _done(
        request,
        f"Ответ сохранён ({_questions(resolved)}). Бот начнёт отвечать им через несколько секунд.",
    )


@router.post("/{group_id}/link")
async def link_group(
    request: Request,
    group_id: int,
    _: SignedInWithCsrf,
    questions: QuestionsDep,
    record_id: Annotated[str, Form(min_length=1, max_length=32)],
    wording: Ticked = [],  # noqa: B006 - FastAPI copies a form's default
) -> Response:
    """Point a group to the record that already answers it: the ticked wordings find it."""
    try:
        __, resolved = await questions.link(group_id, record_id, wording)
    except GroupNotFound as error:
        raise _refused(404, "Этой группы вопросов уже нет среди открытых.") from error
    except UnknownWording as error:
        raise _refused(400, _NO_WORDING) from error
    except UnknownRecord as error:
        raise _refused(404, "Такой записи в базе знаний нет: обновите поиск.") from error
    return _done(
        request,
        f"Вопрос привязан к записи ({_questions(resolved)}): бот найдёт её по этим словам.",
    )


@router.post("/{group_id}/dismiss")
async def dismiss_group(
    request: Request, group_id: int, _: SignedInWithCsrf, questions: QuestionsDep
) -> Response:
    """Set a group aside (spam, off-topic); a later repeat is open again."""
    try:
        dismissed = await questions.dismiss(group_id)
    except GroupNotFound as error:
        raise _refused(404, "Этой группы вопросов уже нет среди открытых.") from error
    return _done(request, f"Отложено ({_questions(dismissed)}).")


@router.post("/regroup")
async def regroup_questions(_: SignedInWithCsrf, questions: QuestionsDep) -> Response:
    """Group every open question again, in the background (a long list takes a while); the
    page shows the groups stored meanwhile and says when it is done."""
    questions.start_regroup()
    return RedirectResponse("/console/questions", status_code=303)


@router.get("/regroup", response_class=HTMLResponse)
async def regroup_status(
    request: Request, session: SignedIn, questions: QuestionsDep
) -> HTMLResponse:
    """Whether a regrouping still runs, asked every two seconds by the page while it does."""
    return render(request, session, "_regroup_status.html", _regroup_state(questions))


@router.get("/open-count", response_class=HTMLResponse)
async def open_count(_: SignedIn, questions: QuestionsDep) -> HTMLResponse:
    """The menu's badge: how many questions are open (nothing when none)."""
    count = await questions.open_count()
    return HTMLResponse(str(count) if count else "")


@router.get("/totals", response_class=HTMLResponse)
async def totals(
    request: Request, session: SignedIn, questions: QuestionsDep, status: GroupStatus = "open"
) -> HTMLResponse:
    """The page's «N групп, M вопросов» line, fetched again after each action."""
    found = await questions.page(status, 0)
    return render(request, session, "_question_totals.html", {"found": found, "status": status})


@router.get("/{group_id}/wordings", response_class=HTMLResponse)
async def more_wordings(
    request: Request,
    group_id: int,
    session: SignedIn,
    questions: QuestionsDep,
    start: Annotated[int, Query(ge=0, le=MAX_WORDINGS)] = SHOWN_WORDINGS,
) -> HTMLResponse:
    """The wordings of an open group the page did not draw, up to `MAX_WORDINGS`: once shown
    they are ticked like the others and their newest question is the one a tick names."""
    try:
        group = await questions.group(group_id)
    except GroupNotFound as error:
        raise _refused(404, "Этой группы вопросов уже нет среди открытых.") from error
    return render(
        request,
        session,
        "_question_wordings.html",
        {"g": group, "start": start, "end": MAX_WORDINGS, "max_wordings": MAX_WORDINGS},
    )


@router.get("/{group_id}/search", response_class=HTMLResponse)
async def search_records(
    request: Request,
    group_id: int,
    session: SignedIn,
    knowledge: KnowledgeDep,
    q: Annotated[str, Query(max_length=MAX_SEARCH_CHARS)] = "",
) -> HTMLResponse:
    """Records the bot would find for `q` (the same retrieval it answers from), to link one."""
    hits = await knowledge.search(q, SEARCH_HITS) if q.strip() else []
    return render(
        request,
        session,
        "_question_hits.html",
        {
            "hits": hits,
            "group_id": group_id,
            "query": q.strip(),
            "threshold": knowledge.answer_threshold,
        },
    )


def _questions(count: int) -> str:
    return plural(count, "вопрос", "вопроса", "вопросов")


def _groups(count: int) -> str:
    return plural(count, "группа", "группы", "групп")


def _number(count: int) -> str:
    """«20 000»: thousands apart, as Russian text writes them."""
    return f"{count:,}".replace(",", "\N{NO-BREAK SPACE}")
