"""Knowledge-base management and the owner's views, behind the admin token.

The file routes keep the paths of the system this product replaces, so existing scripts work.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES
from talkme_consultant.service.knowledge_base import CASES_FILENAME
from talkme_consultant.service.runtime import Runtime
from talkme_consultant.talkme.payloads import mask_phone
from talkme_consultant.web.auth import require_admin

router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin"])

_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def sanitize_filename(raw: str) -> str:
    """The bare file name of an upload: no folders, no traversal, no control characters."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name or name in {".", ".."} or len(name) > 200:
        raise HTTPException(status_code=400, detail=f"invalid file name {raw!r}")
    return name


def _check_type(name: str) -> None:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES and name != CASES_FILENAME:
        allowed = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise HTTPException(
            status_code=415,
            detail=f"{name}: unsupported file type {suffix or '(none)'}; supported: {allowed}",
        )


@router.get("/files", summary="List knowledge-base files")
async def list_files(request: Request) -> dict[str, Any]:
    """Every stored file with its size, hash, origin and record count."""
    files = await _runtime(request).store.knowledge.list_files()
    return {
        "files": [
            {
                "filename": f.name,
                "size": f.size,
                "sha256": f.sha256,
                "origin": f.origin,
                "records": f.records_count,
                "error": f.error,
                "updated_at": f.updated_at,
            }
            for f in files
        ]
    }


@router.get("/files/{filename}", summary="Download one knowledge-base file")
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


@router.post("/files/upload", summary="Upload one or more knowledge-base files")
async def upload_files(
    request: Request, files: Annotated[list[UploadFile], File(description="files")]
) -> JSONResponse:
    """Store readable files and rebuild the index in the background.

    Every file is checked first (name, type, size, readability); if any is refused, nothing is
    stored and the answer names each bad file and why.
    """
    runtime = _runtime(request)
    limit = runtime.settings.upload_max_bytes
    accepted: list[tuple[str, bytes]] = []
    for upload in files:
        name = sanitize_filename(upload.filename or "")
        _check_type(name)
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise HTTPException(
                status_code=413, detail=f"{name}: larger than the {limit}-byte upload limit"
            )
        accepted.append((name, content))
    parsed = await runtime.knowledge.parse_files(accepted, origin="upload")
    errors = {u.name: u.error for u in parsed if u.error}
    if errors:
        # Bad input changes nothing: the owner fixes the file and uploads the set again.
        names = ", ".join(f"{name}: {reason}" for name, reason in errors.items())
        return JSONResponse(
            status_code=422,
            content={
                "success": False,
                "error": f"unreadable file(s), nothing was stored — {names}",
                "errors": errors,
            },
        )
    report = await runtime.knowledge.store_files(parsed)
    runtime.knowledge.request_refresh()
    return JSONResponse(
        {"success": True, "uploaded": report.files, "errors": {}, "version": report.version}
    )


@router.delete("/files/{filename}", summary="Delete one knowledge-base file")
async def delete_file(filename: str, request: Request) -> dict[str, Any]:
    """Remove the file and its records; the index is rebuilt in the background."""
    runtime = _runtime(request)
    name = sanitize_filename(filename)
    if await runtime.store.knowledge.get_file(name) is None:
        raise HTTPException(status_code=404, detail=f"file {name!r} not found")
    version = await runtime.knowledge.delete_files([name])
    runtime.knowledge.request_refresh()
    return {"success": True, "deleted": name, "version": version}


@router.delete("/files", summary="Delete every knowledge-base file")
async def delete_all_files(request: Request) -> dict[str, Any]:
    """Empty the knowledge base."""
    runtime = _runtime(request)
    count = len(await runtime.store.knowledge.list_files())
    version = await runtime.knowledge.delete_files(None)
    runtime.knowledge.request_refresh()
    return {"success": True, "deleted": count, "version": version}


@router.post("/knowledge-base/regenerate", summary="Re-parse every file and rebuild the index")
async def regenerate(request: Request) -> JSONResponse:
    """Start a rebuild in the background; 409 when one is already running."""
    knowledge = _runtime(request).knowledge
    if not knowledge.start_refresh(force=True, reparse=True):
        raise HTTPException(status_code=409, detail="a rebuild is already running")
    return JSONResponse(status_code=202, content={"success": True, "state": "started"})


@router.get("/knowledge-base/status", summary="The knowledge base being served")
async def kb_status(request: Request) -> dict[str, Any]:
    """Version, record count, files, and the score of the business's own case file."""
    runtime = _runtime(request)
    knowledge = runtime.knowledge
    state = await runtime.store.knowledge.state()
    files = await runtime.store.knowledge.list_files()
    evaluation = knowledge.evaluation
    if evaluation is None and state.evaluation:
        evaluation = json.loads(state.evaluation)
    return {
        "ready": knowledge.ready,
        "version": knowledge.version,
        "stored_version": state.version,
        "records": knowledge.record_count,
        "files": len(files),
        "file_errors": {f.name: f.error for f in files if f.error},
        "rebuilding": knowledge.rebuilding,
        "evaluation": evaluation,
    }


@router.get("/knowledge-base/regeneration/status", summary="Progress of the latest rebuild")
async def regeneration_status(request: Request) -> dict[str, Any]:
    """State and progress (embedded representations done / total) of the latest rebuild."""
    knowledge = _runtime(request).knowledge
    status = knowledge.status
    return {
        "running": knowledge.rebuilding,
        "state": status.state,
        "done": status.done,
        "total": status.total,
        "started_at": status.started_at,
        "finished_at": status.finished_at,
        "error": status.error,
        "file_errors": status.file_errors,
    }


# A negative LIMIT is an error on PostgreSQL and "no limit" on SQLite; past 64 bits it is an
# overflow in the driver. Larger values are cut to MAX_LIST_ROWS below.
MAX_LIST_ROWS = 1000
Limit = Annotated[int, Query(ge=0, le=2**63 - 1, description=f"At most {MAX_LIST_ROWS} rows.")]


@router.get("/admin/calls", summary="TalkMe calls: sent, recorded in test mode, pending, failed")
async def calls(
    request: Request, status: Annotated[str | None, Query()] = None, limit: Limit = 100
) -> dict[str, Any]:
    """The outbox, newest first (tokens are never shown)."""
    rows = await _runtime(request).store.outbox.list_calls(
        status=status, limit=min(limit, MAX_LIST_ROWS)
    )
    return {
        "calls": [
            {
                "id": c.id,
                "conversation": c.conversation_key,
                "method": c.method,
                "body": json.loads(c.body),
                "status": c.status,
                "attempts": c.attempts,
                "last_error": c.last_error,
                "created_at": c.created_at,
                "done_at": c.done_at,
            }
            for c in rows
        ]
    }


@router.get("/admin/events", summary="Handoffs, guard events, outages, unanswered questions")
async def events(
    request: Request, kind: str | None = None, conversation: str | None = None, limit: Limit = 100
) -> dict[str, Any]:
    """Recorded events, newest first."""
    rows = await _runtime(request).store.stats.events(
        kind=kind, conversation_key=conversation, limit=min(limit, MAX_LIST_ROWS)
    )
    return {"events": rows}


@router.get("/admin/leads", summary="Visitors who asked to book and left a phone number")
async def leads(request: Request, limit: Limit = 100) -> dict[str, Any]:
    """Leads, newest first, with the dialogue summary for the operator."""
    rows = await _runtime(request).store.stats.leads(limit=min(limit, MAX_LIST_ROWS))
    return {
        "leads": [
            {
                "id": lead.id,
                "conversation": lead.conversation_key,
                "name": lead.name,
                "phone": lead.phone,
                "phone_masked": mask_phone(lead.phone),
                "interest": lead.interest,
                "summary": lead.summary,
                "created_at": lead.created_at,
            }
            for lead in rows
        ]
    }


@router.get("/admin/conversations/{key}", summary="One conversation's remembered dialogue")
async def conversation(key: str, request: Request) -> dict[str, Any]:
    """State, summary and the remembered messages of a conversation."""
    store = _runtime(request).store
    found = await store.conversations.get(key)
    if found is None:
        raise HTTPException(status_code=404, detail=f"conversation {key!r} not found")
    history = await store.conversations.history(key, limit=500)
    return {
        "user_id": found.key,
        "state": found.state,
        "client_name": found.client_name,
        "visitor_name": found.visitor_name,
        "phone_number": mask_phone(found.phone) if found.phone else None,
        "summary": found.summary,
        "messages": [
            {"role": m.role, "text": m.text, "at": m.created_at, "meta": m.meta} for m in history
        ],
    }
