"""The owner's own answers on the knowledge page: edit, delete, and the `.xlsx` export behind the
console's session (the admin API's copy needs the bearer token a browser link cannot send)."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse, Response

from talkme_consultant.service.lessons import LessonError
from talkme_consultant.web.console.base import SignedIn, SignedInWithCsrf
from talkme_consultant.web.deps import LessonsDep, StoreDep
from talkme_consultant.web.owner_faq_xlsx import owner_faq_workbook

router = APIRouter(prefix="/console/knowledge/owner-faq", include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BACK = "/console/knowledge#owner-faq"


@router.get(".xlsx")
async def export(store: StoreDep, _: SignedIn) -> Response:
    """The owner's answers as a spreadsheet (Вопрос, Ответ), the admin API's same file."""
    entries = await store.lessons.list_faq()
    buffer = io.BytesIO()
    owner_faq_workbook(entries).save(buffer)
    return Response(
        buffer.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="owner-faq.xlsx"'},
    )


@router.post("/{faq_id}")
async def edit(
    lessons: LessonsDep,
    faq_id: int,
    _: SignedInWithCsrf,
    question: Annotated[str, Form(max_length=1000)] = "",
    answer: Annotated[str, Form(max_length=4000)] = "",
) -> RedirectResponse:
    """Change an owner's answer; the new wording is served within seconds."""
    if not question.strip() or not answer.strip():
        raise HTTPException(status_code=400, detail="И вопрос, и ответ должны быть заполнены.")
    try:
        entry = await lessons.edit_answer(faq_id, question, answer)
    except LessonError as error:
        raise HTTPException(status_code=400, detail=f"Ответ не сохранён: {error}") from error
    if entry is None:
        raise HTTPException(status_code=404, detail="Такого вашего ответа нет — его уже удалили.")
    return RedirectResponse(BACK, status_code=303)


@router.post("/{faq_id}/delete")
async def delete(lessons: LessonsDep, faq_id: int, _: SignedInWithCsrf) -> RedirectResponse:
    """Stop serving an owner's answer; the questions it answered are open again."""
    if await lessons.delete_answer(faq_id) is None:
        raise HTTPException(status_code=404, detail="Такого вашего ответа нет — его уже удалили.")
    return RedirectResponse(BACK, status_code=303)
