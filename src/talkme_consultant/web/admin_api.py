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
from talkme_consultant.talkme.payloads import mask_phone
from talkme_consultant.web.answers import answer_from, conflict_answers, masked_phone
from talkme_consultant.web.auth import require_admin
from talkme_consultant.web.deps import FilesDep, KnowledgeDep, SettingsDep, StoreDep
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
from talkme_consultant.web.uploads import UPLOAD_REQUEST_BODY, receive_upload, sanitize_filename

router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin"], responses=ADMIN_ONLY)

MAX_LIST_LIMIT = 1000
# A negative, zero, non-numeric or huge `limit` is a 422 naming the field, never "every row".
ListLimit = Annotated[
    int, Query(ge=1, le=MAX_LIST_LIMIT, description=f"How many rows, 1-{MAX_LIST_LIMIT}.")
]
BAD_NAME = error_response("The file name is empty, too long or not a file name.")
NO_FILE = error_response("No stored file under this name.")


@router.get("/files", summary="List knowledge-base files")
async def list_files(files: FilesDep) -> FileList:
    """Every stored file with its size, hash, origin and record count."""
    return FileList(
        files=[
            answer_from(FileEntry, f, filename=f.name, records=f.records_count)
            for f in await files.list_files()
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
async def get_file(filename: str, files: FilesDep) -> Response:
    """The file's original bytes."""
    name = sanitize_filename(filename)
    stored = await files.get_file(name)
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
async def upload_files(
    request: Request, files: FilesDep, settings: SettingsDep
) -> UploadAccepted | JSONResponse:
    """Store readable files and rebuild the index in the background.

    Every file is checked first (name, type, size, count, readability — each file is read in a
    child process with memory and time limits); if any is refused, nothing is stored and the
    answer names each bad file and why.
    """
    return await receive_upload(request, files, settings)


@router.delete(
    "/files/{filename}",
    summary="Delete one knowledge-base file",
    responses={400: BAD_NAME, 404: NO_FILE},
)
async def delete_file(filename: str, files: FilesDep) -> FileDeleted:
    """Remove the file and its records; the index is rebuilt in the background."""
    name = sanitize_filename(filename)
    version = await files.delete_file(name)
    if version is None:
        raise HTTPException(status_code=404, detail=f"file {name!r} not found")
    return FileDeleted(deleted=name, version=version)


@router.delete("/files", summary="Delete every knowledge-base file")
async def delete_all_files(files: FilesDep) -> FilesDeleted:
    """Empty the knowledge base."""
    count, version = await files.delete_all()
    return FilesDeleted(deleted=count, version=version)


@router.post(
    "/knowledge-base/regenerate",
    summary="Re-parse every file and rebuild the index",
    status_code=202,
    responses={409: error_response("A rebuild is already running; nothing was started.")},
)
async def regenerate(knowledge: KnowledgeDep) -> RebuildStarted:
    """Start a rebuild in the background; 409 when one is already running."""
    if not knowledge.start_refresh(force=True, reparse=True):
        raise HTTPException(status_code=409, detail="a rebuild is already running")
    return RebuildStarted()


@router.get("/knowledge-base/status", summary="The knowledge base being served")
async def kb_status(knowledge: KnowledgeDep, files: FilesDep) -> KnowledgeBaseStatus:
    """Version, record count, files, the score of the business's own case file, and records
    that disagree (the newest of each is served)."""
    state = await files.stored_state()
    stored = await files.list_files()
    return KnowledgeBaseStatus(
        ready=knowledge.ready,
        version=knowledge.version,
        stored_version=state.version,
        records=knowledge.record_count,
        files=len(stored),
        file_errors={f.name: f.error for f in stored if f.error},
        rebuilding=knowledge.rebuilding,
        evaluation=knowledge.latest_evaluation(state),
        answering=AnswerThreshold.model_validate(asdict(knowledge.calibration)),
        conflicts=conflict_answers(knowledge.conflicts),
    )


@router.get("/knowledge-base/regeneration/status", summary="Progress of the latest rebuild")
async def regeneration_status(knowledge: KnowledgeDep) -> RebuildStatus:
    """State and progress (embedded representations done / total) of the latest rebuild."""
    return answer_from(RebuildStatus, knowledge.status, running=knowledge.rebuilding)


@router.get("/admin/calls", summary="TalkMe calls: sent, recorded in test mode, pending, failed")
async def calls(
    store: StoreDep, status: Listed[CallStatus] | None = None, limit: ListLimit = 100
) -> CallList:
    """The outbox, newest first (tokens are never shown)."""
    rows = await store.outbox.list_calls(status=status, limit=limit)
    return CallList(
        calls=[
            answer_from(CallEntry, c, conversation=c.conversation_key, body=json.loads(c.body))
            for c in rows
        ]
    )


@router.get("/admin/events", summary="Handoffs, guard events, outages, unanswered questions")
async def events(
    store: StoreDep,
    kind: str | None = None,
    conversation: str | None = None,
    limit: ListLimit = 100,
) -> EventList:
    """Recorded events, newest first."""
    rows = await store.stats.events(kind=kind, conversation_key=conversation, limit=limit)
    return EventList(events=[EventEntry.model_validate(row) for row in rows])


@router.get("/admin/leads", summary="Visitors who asked to book and left a phone number")
async def leads(store: StoreDep, limit: ListLimit = 100) -> LeadList:
    """Leads, newest first, with the dialogue summary for the operator."""
    rows = await store.stats.leads(limit=limit)
    return LeadList(
        leads=[
            answer_from(
                LeadEntry,
                lead,
                conversation=lead.conversation_key,
                phone_masked=mask_phone(lead.phone),
            )
            for lead in rows
        ]
    )


@router.get(
    "/admin/operator-answers",
    summary="What operators answered to the questions the bot handed over",
)
async def operator_answers(
    store: StoreDep, limit: ListLimit = 100, conversation: str | None = None
) -> OperatorAnswerList:
    """Operator answers read from TalkMe (needs TALKME_ACCOUNT_API_KEY), newest first; one
    conversation's, oldest first, with `conversation`."""
    answers = store.operator_answers
    if conversation is not None:
        rows = (await answers.operator_answers_for(conversation))[:limit]
    else:
        rows = await answers.list_answers(limit=limit)
    return OperatorAnswerList(
        answers=[answer_from(OperatorAnswerEntry, a, conversation=a.conversation_key) for a in rows]
    )


@router.get(
    "/admin/conversations/{key}",
    summary="One conversation's remembered dialogue",
    responses={404: error_response("No conversation under this key.")},
)
async def conversation(key: str, store: StoreDep) -> ConversationView:
    """State, summary and the remembered messages of a conversation."""
    found = await store.conversations.get(key)
    if found is None:
        raise HTTPException(status_code=404, detail=f"conversation {key!r} not found")
    history = await store.conversations.history(key, limit=500)
    return answer_from(
        ConversationView,
        found,
        user_id=found.key,
        phone_number=masked_phone(found.phone),
        messages=[answer_from(RememberedMessage, m, at=m.created_at) for m in history],
    )
