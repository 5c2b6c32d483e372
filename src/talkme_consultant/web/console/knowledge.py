"""Knowledge pages: files (upload, delete, rebuild with progress), the records browser and the
«Проверить вопрос» playground, which asks the very engine that answers TalkMe."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from talkme_consultant.dialog.local import LocalDialogue
from talkme_consultant.service.case_scoring import CASES_FILENAME
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.knowledge_files import KnowledgeFiles, Unreadable
from talkme_consultant.store.knowledge import FileInfo
from talkme_consultant.web.console.base import SignedIn, SignedInWithCsrf, pagination, render
from talkme_consultant.web.console.conflicts import conflict_views, rival_notes
from talkme_consultant.web.console.phrasings import taught_records
from talkme_consultant.web.console.upload_words import refusal_words, unreadable_words
from talkme_consultant.web.console.wording import finish_codes
from talkme_consultant.web.deps import FilesDep, KnowledgeDep, RuntimeDep, SettingsDep, StoreDep
from talkme_consultant.web.schemas import UploadAccepted
from talkme_consultant.web.uploads import UploadRefusal, sanitize_filename, take_upload

router = APIRouter(prefix="/console/knowledge", include_in_schema=False)

RECORDS_PAGE = 50
MAX_QUESTION_CHARS = 2000
PLAYGROUND_HITS = 5


async def _status_context(knowledge: KnowledgeBase, files: KnowledgeFiles) -> dict[str, object]:
    status = knowledge.status
    percent = math.floor(100 * status.done / status.total) if status.total else None
    return {
        "status": status,
        "rebuilding": knowledge.rebuilding,
        "percent": percent,
        "records": knowledge.record_count,
        "evaluation": knowledge.latest_evaluation(await files.stored_state()),
    }


@router.get("", response_class=HTMLResponse)
async def files_page(
    request: Request,
    session: SignedIn,
    knowledge: KnowledgeDep,
    files: FilesDep,
    store: StoreDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """Files with their status and errors, upload, delete and rebuild; records that disagree;
    the owner's answers and the wordings taught for records."""
    stored = await files.list_files()
    return render(
        request,
        session,
        "knowledge.html",
        {
            **_files_context(stored),
            "conflicts": conflict_views(knowledge.conflicts, {f.name: f for f in stored}),
            "owner_faq": await store.lessons.list_faq(),
            "taught": await taught_records(store.lessons, knowledge),
            "max_files": settings.upload_max_files,
            "max_mb": settings.upload_max_bytes // (1024 * 1024),
            **await _status_context(knowledge, files),
        },
        page="knowledge",
    )


def _files_context(stored: list[FileInfo]) -> dict[str, object]:
    """The knowledge files, and the case file apart: it holds no records, only the questions
    the bot checks itself on, so it is not listed (or deleted) like a price list."""
    return {
        "files": [f for f in stored if f.name != CASES_FILENAME],
        "cases": next((f for f in stored if f.name == CASES_FILENAME), None),
        "cases_name": CASES_FILENAME,
    }


@router.get("/files", response_class=HTMLResponse)
async def files_part(request: Request, session: SignedIn, files: FilesDep) -> HTMLResponse:
    """The files table and the case file (fetched again after an upload)."""
    return render(request, session, "_kb_files.html", _files_context(await files.list_files()))


@router.get("/status", response_class=HTMLResponse)
async def status_part(
    request: Request, session: SignedIn, knowledge: KnowledgeDep, files: FilesDep
) -> HTMLResponse:
    """The rebuild's progress and the case file's score (htmx polls it while a rebuild runs)."""
    return render(request, session, "_kb_status.html", await _status_context(knowledge, files))


@router.post("/rebuild", response_class=HTMLResponse)
async def rebuild(
    request: Request, session: SignedInWithCsrf, knowledge: KnowledgeDep, files: FilesDep
) -> HTMLResponse:
    """Re-read every file and rebuild the index in the background."""
    knowledge.start_refresh(force=True, reparse=True)
    return render(request, session, "_kb_status.html", await _status_context(knowledge, files))


@router.post("/upload")
async def upload(
    request: Request, _: SignedInWithCsrf, files: FilesDep, settings: SettingsDep
) -> Response:
    """The admin API's upload (same limits and all-or-nothing checks), behind the console's
    session and CSRF token instead of the bearer token; a refusal is said in Russian."""
    try:
        outcome = await take_upload(request, files, settings)
    except UploadRefusal as refusal:
        return JSONResponse({"error": refusal_words(refusal)}, status_code=refusal.status_code)
    if isinstance(outcome, Unreadable):
        refused = {"error": unreadable_words(outcome.errors), "errors": outcome.errors}
        return JSONResponse(refused, status_code=422)
    accepted = UploadAccepted(uploaded=outcome.files, errors={}, version=outcome.version)
    return JSONResponse(accepted.model_dump(mode="json"))


@router.post("/files/{filename}/delete")
async def delete_file(filename: str, _: SignedInWithCsrf, files: FilesDep) -> RedirectResponse:
    """Remove a file and its records; the index is rebuilt in the background."""
    name = sanitize_filename(filename)
    if await files.delete_file(name) is None:
        raise HTTPException(status_code=404, detail=f"Файл {name!r} не найден.")
    return RedirectResponse("/console/knowledge", status_code=303)


@router.get("/records", response_class=HTMLResponse)
async def records(
    request: Request,
    session: SignedIn,
    store: StoreDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Every record, searchable by its text."""
    total, found = await store.knowledge.browse_records(
        q.strip() or None, offset=(page - 1) * RECORDS_PAGE, limit=RECORDS_PAGE
    )
    return render(
        request,
        session,
        "records.html",
        {
            "found": found,
            "q": q.strip(),
            **pagination(total, page, RECORDS_PAGE),
        },
        page="knowledge",
    )


@router.get("/records/{row_id}", response_class=HTMLResponse)
async def record(request: Request, row_id: int, session: SignedIn, store: StoreDep) -> HTMLResponse:
    """One record: its text, fields and where it came from."""
    found = await store.knowledge.get_record(row_id)
    if found is None:
        raise HTTPException(status_code=404, detail="Такой записи нет (база могла обновиться).")
    return render(request, session, "record.html", {"record": found}, page="knowledge")


@router.get("/playground", response_class=HTMLResponse)
async def playground_page(request: Request, session: SignedIn) -> HTMLResponse:
    """The «Проверить вопрос» form."""
    return render(request, session, "playground.html", {}, page="knowledge")


@router.post("/playground", response_class=HTMLResponse)
async def playground(
    request: Request,
    question: Annotated[str, Form(min_length=1, max_length=MAX_QUESTION_CHARS)],
    session: SignedInWithCsrf,
    knowledge: KnowledgeDep,
    runtime: RuntimeDep,
) -> HTMLResponse:
    """The ranked records with scores and confidence, and the reply a new visitor asking this
    would get: a fresh dialogue through the engine TalkMe turns use (as `eval answers` does),
    with a note when a record it used won over an older one that says otherwise."""
    text = question.strip()
    if not text:
        raise HTTPException(status_code=400, detail="Введите вопрос.")
    hits = await knowledge.search(text, k=PLAYGROUND_HITS)
    dialogue = LocalDialogue(runtime.engine, key=f"console-playground-{secrets.token_hex(8)}")
    outcome = await dialogue.say(text)
    return render(
        request,
        session,
        "_playground_result.html",
        {
            "question": text,
            "hits": hits,
            "reply": "\n\n".join(outcome.replies),
            "outcome": outcome,
            "threshold": knowledge.answer_threshold,
            "finish_codes": finish_codes(runtime.settings),
            "rivals": rival_notes(knowledge.conflicts, outcome.meta.get("records") or []),
        },
    )
