"""The TalkMe webhook: validate, store durably, acknowledge at once; the answer comes later."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from talkme_consultant.store.inbox import IncomingMessage
from talkme_consultant.talkme.payloads import (
    SECRET_HEADER,
    SECRET_QUERY_PARAM,
    WEBHOOK_PATH,
    WebhookPayload,
    mask_token,
)
from talkme_consultant.web.deps import RuntimeDep
from talkme_consultant.web.webhook_access import secret_matches
from talkme_consultant.web.webhook_schema import (
    MAX_BODY_BYTES,
    OPENAPI_EXTRA,
    RESPONSES,
    WebhookAccepted,
)

log = logging.getLogger(__name__)

# inbound_messages.dedup_key is VARCHAR(192); a longer key is replaced by its digest.
MAX_DEDUP_KEY_CHARS = 192
STORE_FAILED = "could not store the message, retry"
RETRY_AFTER_SECONDS = 1

router = APIRouter(prefix=WEBHOOK_PATH, tags=["webhook"])


def _error(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"success": False, "error": message, **extra},
        headers=headers,
    )


def _field_errors(error: ValidationError) -> list[dict[str, str]]:
    fields = []
    for item in error.errors(include_input=False, include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        fields.append({"field": location or "body", "message": item["msg"]})
    return fields


async def _read_body(request: Request) -> bytes | None:
    """The body, or None once it exceeds the limit (without reading the rest into memory)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def incoming_message(payload: WebhookPayload) -> IncomingMessage:
    """What the store keeps of a validated webhook (every value fits its column)."""
    key = payload.conversation_key
    message_id = payload.message_id
    site = payload.site.id if payload.site and payload.site.id else ""
    dedup_key = None
    if message_id is not None:
        dedup_key = f"{site}:{key}:{message_id}"
        if len(dedup_key) > MAX_DEDUP_KEY_CHARS:
            # Long site ids and keys together overflow the column; the digest is as unique.
            dedup_key = "sha256:" + hashlib.sha256(dedup_key.encode()).hexdigest()
    dialog = payload.original_message.dialog_id if payload.original_message else None
    return IncomingMessage(
        conversation_key=key,
        dedup_key=dedup_key,
        text=payload.text,
        is_attachment=payload.is_attachment,
        token=payload.token,
        site_id=site or None,
        client_name=payload.client.name,
        phone=payload.client.phone,
        dialog_id=dialog,
    )


@router.post(
    "",
    summary="Receive one visitor message from TalkMe",
    response_model=WebhookAccepted,
    responses=RESPONSES,
    # The body is read raw (for the 400 and 413 answers); its schema is documented explicitly.
    openapi_extra=OPENAPI_EXTRA,
)
async def receive(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Store the message (deduplicated by TalkMe's message id) and acknowledge it."""
    started = time.perf_counter()
    metrics = runtime.metrics
    supplied = request.headers.get(SECRET_HEADER) or request.query_params.get(
        SECRET_QUERY_PARAM, ""
    )
    if not secret_matches(runtime.settings, supplied):
        metrics.webhooks.labels(outcome="unauthorized").inc()
        return _error(401, "webhook secret missing or wrong")
    body = await _read_body(request)
    if body is None:
        metrics.webhooks.labels(outcome="too_large").inc()
        return _error(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        metrics.webhooks.labels(outcome="bad_json").inc()
        return _error(400, "request body is not valid JSON")
    if not isinstance(data, dict):
        metrics.webhooks.labels(outcome="bad_json").inc()
        return _error(400, "request body must be a JSON object")
    try:
        payload = WebhookPayload.model_validate(data)
    except ValidationError as error:
        metrics.webhooks.labels(outcome="invalid").inc()
        fields = _field_errors(error)
        names = ", ".join(sorted({f["field"] for f in fields}))
        return _error(422, f"invalid webhook payload: {names}", fields=fields)

    key = payload.conversation_key
    try:
        accepted = await runtime.receive_message(incoming_message(payload))
    except Exception as error:
        # Never a 200 for a message that is not stored: TalkMe (or whoever sent it) may retry.
        metrics.webhooks.labels(outcome="store_failed").inc()
        log.error("webhook for %s not stored: %s", key, type(error).__name__)
        return _error(503, STORE_FAILED, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    outcome = "accepted" if accepted else "duplicate"
    metrics.webhooks.labels(outcome=outcome).inc()
    metrics.ack_seconds.observe(time.perf_counter() - started)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("webhook %s for %s (token %s)", outcome, key, mask_token(payload.token))
    return JSONResponse({"success": True, "duplicate": not accepted})
