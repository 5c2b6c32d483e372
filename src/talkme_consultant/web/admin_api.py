"""Knowledge-base management and the owner's views, behind the admin token.

The file routes keep the paths of the system this product replaces, so existing scripts work.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from talkme_consultant.helpers.kinds import CallStatus
from talkme_consultant.service.runtime import Runtime
from talkme_consultant.talkme.payloads import mask_phone
from talkme_consultant.web.auth import require_admin
from talkme_consultant.web.schemas import (
    ADMIN_ONLY,
    AnswerThreshold,
    CallEntry,
    CallList,
    ConversationView,
    EventEntry,
    EventList,
    FileDeleted,
    FileEntry,
    FileList,
    FilesDeleted,
    InvalidRequest,
    KnowledgeBaseStatus,
    LeadEntry,
    LeadList,
    Listed,
    OperatorAnswerEntry,
    OperatorAnswerList,
    RebuildStarted,
    RebuildStatus,
    RememberedMessage,
    UploadAccepted,
    UploadRefused,
    error_response,
)
from talkme_consultant.web.uploads import (
    UPLOAD_REQUEST_BODY,
    UploadLimits,
    read_upload,
    sanitize_filename,
)

router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin"], responses=ADMIN_ONLY)

MAX_LIST_LIMIT = 1000
# A negative, zero, non-numeric or huge `limit` is a 422 naming the field, never "every row".
ListLimit = Annotated[
    int, Query(ge=1, le=MAX_LIST_LIMIT, description=f"How many rows, 1-{MAX_LIST_LIMIT}.")
]
BAD_NAME = error_response("The file name is empty, too long or not a file name.")
NO_FILE = error_response("No stored file under this name.")


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/files", summary="List knowledge-base files")
async def list_files(request: Request) -> FileList:
    """Every stored file with its size, hash, origin and record count."""
    files = await _runtime(request).store.knowledge.list_files()
    return FileList(
        files=[
            FileEntry(
                filename=f.name,
                size=f.size,
                sha256=f.sha256,
                origin=f.origin,
                records=f.records_count,
                error=f.error,
                updated_at=f.updated_at,
            )
            for f in files
        ]
    )


@router.get(
    "/files/{filename}",
    summary="Download one knowledge-base file",
    response_class=Response,
    responses={
        200: {
            "description": "The file's original bytes, as an attachment under its name.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        400: BAD_NAME,
        404: NO_FILE,
    },
)
async def get_file(filename: str, request: Request) -> Response:
    """The file's original bytes."""
    name = sanitize_filename(filename)
    stored = await _runtime(request).store.knowledge.get_file(name)
    if stored is None:
        raise HTTPException(status_code=404, detail=f"file {name!r} not found")
    return Response(
        stored.content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.post(
    "/files/upload",
    summary="Upload one or more knowledge-base files",
    response_model=UploadAccepted,
    # The body is read by the route itself, after the admin check: see web/uploads.py.
    openapi_extra={"requestBody": UPLOAD_REQUEST_BODY},
    responses={
        400: error_response("The multipart body is malformed, empty, or a file name is bad."),
        413: error_response(
            "Over UPLOAD_MAX_REQUEST_BYTES, UPLOAD_MAX_BYTES or UPLOAD_MAX_FILES; nothing stored."
        ),
        415: error_response("Not multipart/form-data, or a file type no loader reads."),
        422: {
            "model": UploadRefused | InvalidRequest,
            "description": "A file could not be read (each is named), or a query value is "
            "invalid; nothing was stored.",
        },
    },
)
async def upload_files(request: Request) -> UploadAccepted | JSONResponse:
    """Store readable files and rebuild the index in the background.

    Every file is checked first (name, type, size, count, readability — each file is read in a
    child process with memory and time limits); if any is refused, nothing is stored and the
    answer names each bad file and why.
    """
    runtime = _runtime(request)
    settings = runtime.settings
    accepted = await read_upload(
        request,
        UploadLimits(
            max_request_bytes=settings.upload_max_request_bytes,
            max_file_bytes=settings.upload_max_bytes,
            max_files=settings.upload_max_files,
        ),
    )
    parsed = await runtime.knowledge.parse_files(accepted, origin="upload")
    errors = {u.name: u.error for u in parsed if u.error}
    if errors:
        # Bad input changes nothing: the owner fixes the file and uploads the set again.
        names = ", ".join(f"{name}: {reason}" for name, reason in errors.items())
        refused = UploadRefused(
            error=f"unreadable file(s), nothing was stored — {names}", errors=errors
        )
        return JSONResponse(status_code=422, content=refused.model_dump(mode="json"))
    report = await runtime.knowledge.store_files(parsed)
    runtime.knowledge.request_refresh()
    return UploadAccepted(uploaded=report.files, errors={}, version=report.version)


@router.delete(
    "/files/{filename}",
    summary="Delete one knowledge-base file",
    responses={400: BAD_NAME, 404: NO_FILE},
)
async def delete_file(filename: str, request: Request) -> FileDeleted:
    """Remove the file and its records; the index is rebuilt in the background."""
    runtime = _runtime(request)
    name = sanitize_filename(filename)
    if await runtime.store.knowledge.get_file(name) is None:
        raise HTTPException(status_code=404, detail=f"file {name!r} not found")
    version = await runtime.knowledge.delete_files([name])
    runtime.knowledge.request_refresh()
    return FileDeleted(deleted=name, version=version)


@router.delete("/files", summary="Delete every knowledge-base file")
async def delete_all_files(request: Request) -> FilesDeleted:
    """Empty the knowledge base."""
    runtime = _runtime(request)
    count = len(await runtime.store.knowledge.list_files())
    version = await runtime.knowledge.delete_files(None)
    runtime.knowledge.request_refresh()
    return FilesDeleted(deleted=count, version=version)


@router.post(
    "/knowledge-base/regenerate",
    summary="Re-parse every file and rebuild the index",
    status_code=202,
    responses={409: error_response("A rebuild is already running; nothing was started.")},
)
async def regenerate(request: Request) -> RebuildStarted:
    """Start a rebuild in the background; 409 when one is already running."""
    knowledge = _runtime(request).knowledge
    if not knowledge.start_refresh(force=True, reparse=True):
        raise HTTPException(status_code=409, detail="a rebuild is already running")
    return RebuildStarted()


@router.get("/knowledge-base/status", summary="The knowledge base being served")
async def kb_status(request: Request) -> KnowledgeBaseStatus:
    """Version, record count, files, and the score of the business's own case file."""
    runtime = _runtime(request)
    knowledge = runtime.knowledge
    state = await runtime.store.knowledge.state()
    files = await runtime.store.knowledge.list_files()
    evaluation = knowledge.evaluation
    if evaluation is None and state.evaluation:
        evaluation = json.loads(state.evaluation)
    return KnowledgeBaseStatus(
        ready=knowledge.ready,
        version=knowledge.version,
        stored_version=state.version,
        records=knowledge.record_count,
        files=len(files),
        file_errors={f.name: f.error for f in files if f.error},
        rebuilding=knowledge.rebuilding,
        evaluation=evaluation,
        answering=AnswerThreshold.model_validate(asdict(knowledge.calibration)),
    )


@router.get("/knowledge-base/regeneration/status", summary="Progress of the latest rebuild")
async def regeneration_status(request: Request) -> RebuildStatus:
    """State and progress (embedded representations done / total) of the latest rebuild."""
    knowledge = _runtime(request).knowledge
    status = knowledge.status
    return RebuildStatus(
        running=knowledge.rebuilding,
        state=status.state,
        done=status.done,
        total=status.total,
        started_at=status.started_at,
        finished_at=status.finished_at,
        error=status.error,
        file_errors=status.file_errors,
    )


@router.get("/admin/calls", summary="TalkMe calls: sent, recorded in test mode, pending, failed")
async def calls(
    request: Request, status: Listed[CallStatus] | None = None, limit: ListLimit = 100
) -> CallList:
    """The outbox, newest first (tokens are never shown)."""
    rows = await _runtime(request).store.outbox.list_calls(status=status, limit=limit)
    return CallList(
        calls=[
            CallEntry(
                id=c.id,
                conversation=c.conversation_key,
                method=c.method,
                body=json.loads(c.body),
                status=c.status,
                attempts=c.attempts,
                last_error=c.last_error,
                created_at=c.created_at,
                done_at=c.done_at,
            )
            for c in rows
        ]
    )


@router.get("/admin/events", summary="Handoffs, guard events, outages, unanswered questions")
async def events(
    request: Request,
    kind: str | None = None,
    conversation: str | None = None,
    limit: ListLimit = 100,
) -> EventList:
    """Recorded events, newest first."""
    rows = await _runtime(request).store.stats.events(
        kind=kind, conversation_key=conversation, limit=limit
    )
    return EventList(events=[EventEntry.model_validate(row) for row in rows])


@router.get("/admin/leads", summary="Visitors who asked to book and left a phone number")
async def leads(request: Request, limit: ListLimit = 100) -> LeadList:
    """Leads, newest first, with the dialogue summary for the operator."""
    rows = await _runtime(request).store.stats.leads(limit=limit)
    return LeadList(
        leads=[
            LeadEntry(
                id=lead.id,
                conversation=lead.conversation_key,
                name=lead.name,
                phone=lead.phone,
                phone_masked=mask_phone(lead.phone),
                interest=lead.interest,
                summary=lead.summary,
                created_at=lead.created_at,
            )
            for lead in rows
        ]
    )


@router.get(
    "/admin/operator-answers",
    summary="What operators answered to the questions the bot handed over",
)
async def operator_answers(
    request: Request, limit: ListLimit = 100, conversation: str | None = None
) -> OperatorAnswerList:
    """Operator answers read from TalkMe (needs TALKME_ACCOUNT_API_KEY), newest first; one
    conversation's, oldest first, with `conversation`."""
    store = _runtime(request).store.operator_answers
    if conversation is not None:
        rows = (await store.operator_answers_for(conversation))[:limit]
    else:
        rows = await store.list_answers(limit=limit)
    return OperatorAnswerList(
        answers=[
            OperatorAnswerEntry(
                id=row.id,
                conversation=row.conversation_key,
                question=row.question,
                answer=row.answer,
                operator_at=row.operator_at,
                harvested_at=row.harvested_at,
            )
            for row in rows
        ]
    )


@router.get(
    "/admin/conversations/{key}",
    summary="One conversation's remembered dialogue",
    responses={404: error_response("No conversation under this key.")},
)
async def conversation(key: str, request: Request) -> ConversationView:
    """State, summary and the remembered messages of a conversation."""
    store = _runtime(request).store
    found = await store.conversations.get(key)
    if found is None:
        raise HTTPException(status_code=404, detail=f"conversation {key!r} not found")
    history = await store.conversations.history(key, limit=500)
    return ConversationView(
        user_id=found.key,
        state=found.state,
        client_name=found.client_name,
        visitor_name=found.visitor_name,
        phone_number=mask_phone(found.phone) if found.phone else None,
        summary=found.summary,
        messages=[
            RememberedMessage(id=m.id, role=m.role, text=m.text, at=m.created_at, meta=m.meta)
            for m in history
        ],
    )
