"""The owner's console API: open questions grouped, the owner's answers, taught phrasings, and
a search over the knowledge base to find the record that already answers a question."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response

from talkme_consultant.service.lessons import LessonError, UnknownRecord
from talkme_consultant.service.open_questions import GroupNotFound, GroupStatus, UnknownWording
from talkme_consultant.store.questions import MarkOutcome
from talkme_consultant.web.answers import answer_from
from talkme_consultant.web.auth import require_admin
from talkme_consultant.web.deps import KnowledgeDep, LessonsDep, QuestionsDep, StoreDep
from talkme_consultant.web.owner_faq_xlsx import owner_faq_workbook
from talkme_consultant.web.schemas import (
    ADMIN_ONLY,
    GroupAnswered,
    GroupAnswerInput,
    GroupDismissed,
    GroupLinked,
    GroupLinkInput,
    KnowledgeHit,
    KnowledgeSearch,
    OwnerFaqDeleted,
    OwnerFaqEntry,
    OwnerFaqInput,
    OwnerFaqList,
    PhrasingDeleted,
    PhrasingEntry,
    PhrasingList,
    QuestionGroupPage,
    WrongAnswerInput,
    WrongAnswerMarked,
    error_response,
)

router = APIRouter(dependencies=[Depends(require_admin)], tags=["console"], responses=ADMIN_ONLY)

# Ids are 64-bit in the store: anything else is a 422 naming the field, never a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A row id.")]
NO_GROUP = error_response("No question group of that status has this id.")
BAD_TEXT = error_response("A text is empty once control characters are removed.")
NO_FAQ = error_response("No owner's answer under this id.")
NO_WORDING = error_response("A question id named is not a wording of the group.")
BAD_TEXT_OR_WORDING = error_response(
    "A text is empty once control characters are removed, or a question id named is not a "
    "wording of the group."
)


@router.get("/admin/questions", summary="Open questions, grouped by meaning, most asked first")
async def question_groups(
    questions: QuestionsDep,
    status: GroupStatus = "open",
    limit: Annotated[int, Query(ge=1, le=1000, description="Groups per page, 1-1000.")] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Groups to skip.")] = 0,
) -> QuestionGroupPage:
    """Questions the bot handed over for not knowing, clarifications left unclear, and answers
    marked wrong; near-duplicates are one group with a count and the newest examples."""
    return answer_from(QuestionGroupPage, await questions.page(status, limit, offset))


@router.post(
    "/admin/questions/wrong-answers",
    summary="Mark a bot message as a wrong answer",
    status_code=201,
    responses={
        400: error_response("The message is not the bot's, or no visitor question precedes it."),
        404: error_response("No remembered message has this id."),
        409: error_response("This message is already marked wrong."),
    },
)
async def mark_wrong(body: WrongAnswerInput, questions: QuestionsDep) -> WrongAnswerMarked:
    """The visitor's question before the message becomes an open question of kind `wrong`."""
    outcome = await questions.mark_wrong(body.message_id)
    problems = {
        MarkOutcome.NO_MESSAGE: (404, f"no remembered message with id {body.message_id}"),
        MarkOutcome.NOT_BOT: (400, f"message {body.message_id} is not the bot's"),
        MarkOutcome.NO_QUESTION: (400, f"no visitor question before message {body.message_id}"),
        MarkOutcome.ALREADY: (409, f"message {body.message_id} is already marked wrong"),
    }
    if outcome in problems:
        code, message = problems[outcome]
        raise HTTPException(status_code=code, detail=message)
    return WrongAnswerMarked()


@router.post(
    "/admin/questions/{group_id}/answer",
    summary="Write the answer to a group of open questions",
    status_code=201,
    responses={400: BAD_TEXT_OR_WORDING, 404: NO_GROUP},
)
async def answer_group(
    group_id: RowId, body: GroupAnswerInput, questions: QuestionsDep
) -> GroupAnswered:
    """A new owner's answer, served within seconds; the group's wordings named (or all) become
    its phrasings and their questions are marked answered."""
    try:
        entry, resolved = await questions.answer(
            group_id, body.answer, body.question, body.question_ids
        )
    except GroupNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    except (LessonError, UnknownWording) as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return GroupAnswered(answer=answer_from(OwnerFaqEntry, entry), resolved=resolved)


@router.post(
    "/admin/questions/{group_id}/link",
    summary="Point a group to the record that already answers it",
    responses={
        400: NO_WORDING,
        404: error_response("No such open group, or no served record with this id."),
    },
)
async def link_group(group_id: RowId, body: GroupLinkInput, questions: QuestionsDep) -> GroupLinked:
    """The group's wordings named (or all) become extra phrasings of the record, so they find
    it first."""
    try:
        added, resolved = await questions.link(group_id, body.record_id, body.question_ids)
    except (GroupNotFound, UnknownRecord) as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    except UnknownWording as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return GroupLinked(record_id=body.record_id, phrasings_added=added, resolved=resolved)


@router.post(
    "/admin/questions/{group_id}/dismiss",
    summary="Dismiss a group of open questions (spam, off-topic)",
    responses={404: NO_GROUP},
)
async def dismiss_group(group_id: RowId, questions: QuestionsDep) -> GroupDismissed:
    """The group leaves the open list (a later repeat of it is open again)."""
    try:
        dismissed = await questions.dismiss(group_id)
    except GroupNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    return GroupDismissed(dismissed=dismissed)


@router.get("/admin/owner-faq", summary="The owner's own answers")
async def list_owner_faq(store: StoreDep) -> OwnerFaqList:
    """Every answer the owner wrote, oldest first."""
    entries = await store.lessons.list_faq()
    return OwnerFaqList(answers=[answer_from(OwnerFaqEntry, e) for e in entries])


@router.post(
    "/admin/owner-faq",
    summary="Add an owner's answer",
    status_code=201,
    responses={400: BAD_TEXT},
)
async def add_owner_faq(body: OwnerFaqInput, lessons: LessonsDep) -> OwnerFaqEntry:
    """Stored in the database (kept when files are re-ingested) and served within seconds."""
    try:
        entry = await lessons.add_answer(body.question, body.answer)
    except LessonError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return answer_from(OwnerFaqEntry, entry)


@router.get(
    "/admin/owner-faq.xlsx",
    summary="The owner's answers as a spreadsheet",
    response_class=Response,
    responses={
        200: {
            "description": "An .xlsx workbook: one row per answer (Вопрос, Ответ).",
            "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        }
    },
)
async def export_owner_faq(store: StoreDep) -> Response:
    """The same table can be uploaded as a knowledge file elsewhere."""
    entries = await store.lessons.list_faq()
    buffer = io.BytesIO()
    owner_faq_workbook(entries).save(buffer)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="owner-faq.xlsx"'},
    )


@router.put(
    "/admin/owner-faq/{faq_id}",
    summary="Change an owner's answer",
    responses={400: BAD_TEXT, 404: NO_FAQ},
)
async def edit_owner_faq(faq_id: RowId, body: OwnerFaqInput, lessons: LessonsDep) -> OwnerFaqEntry:
    """The new wording is served within seconds; taught phrasings follow it."""
    try:
        entry = await lessons.edit_answer(faq_id, body.question, body.answer)
    except LessonError as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    if entry is None:
        raise HTTPException(status_code=404, detail=f"no owner's answer with id {faq_id}")
    return answer_from(OwnerFaqEntry, entry)


@router.delete(
    "/admin/owner-faq/{faq_id}", summary="Delete an owner's answer", responses={404: NO_FAQ}
)
async def delete_owner_faq(faq_id: RowId, lessons: LessonsDep) -> OwnerFaqDeleted:
    """No longer served; the questions it answered are open again."""
    entry = await lessons.delete_answer(faq_id)
    if entry is None:
        raise HTTPException(status_code=404, detail=f"no owner's answer with id {faq_id}")
    return OwnerFaqDeleted(deleted=faq_id)


@router.get("/admin/knowledge/search", summary="Search the knowledge base being served")
async def search_knowledge(
    knowledge: KnowledgeDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="The question.")],
    k: Annotated[int, Query(ge=1, le=50, description="Hits, 1-50.")] = 5,
) -> KnowledgeSearch:
    """The same retrieval the bot answers from, best first, with record ids to link to."""
    hits = await knowledge.search(q, k)
    return KnowledgeSearch(
        query=q,
        hits=[
            answer_from(
                KnowledgeHit,
                h.record,
                record_id=h.record_id,
                file=h.record.source.file,
                confidence=h.confidence,
            )
            for h in hits
        ],
    )


@router.get("/admin/knowledge/phrasings", summary="Wordings taught for records")
async def list_phrasings(
    store: StoreDep,
    record_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> PhrasingList:
    """Every taught phrasing, or one record's."""
    found = await store.lessons.list_phrasings(record_id)
    return PhrasingList(phrasings=[answer_from(PhrasingEntry, p) for p in found])


@router.delete(
    "/admin/knowledge/phrasings/{phrasing_id}",
    summary="Forget a taught phrasing",
    responses={404: error_response("No taught phrasing has this id.")},
)
async def delete_phrasing(phrasing_id: RowId, lessons: LessonsDep) -> PhrasingDeleted:
    """The record is no longer found by that wording (rebuilt within seconds)."""
    if not await lessons.forget_phrasing(phrasing_id):
        raise HTTPException(status_code=404, detail=f"no taught phrasing with id {phrasing_id}")
    return PhrasingDeleted(deleted=phrasing_id)
