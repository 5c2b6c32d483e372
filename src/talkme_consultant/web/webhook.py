"""The TalkMe webhook: validate, store durably, acknowledge at once; the answer comes later."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from talkme_consultant.service.clock import now
from talkme_consultant.service.runtime import Runtime
from talkme_consultant.store.inbox import IncomingMessage
from talkme_consultant.talkme.payloads import (
    SECRET_HEADER,
    SECRET_QUERY_PARAM,
    WEBHOOK_PATH,
    WebhookPayload,
    mask_token,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# A burst never delays a turn by more than this many debounce windows.
MAX_WAIT_WINDOWS = 4

router = APIRouter(prefix=WEBHOOK_PATH, tags=["webhook"])


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"success": False, "error": message, **extra})


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


@router.post(
    "",
    summary="Receive one visitor message from TalkMe",
    responses={400: {}, 401: {}, 413: {}, 422: {}},
)
async def receive(request: Request) -> JSONResponse:
    """Store the message (deduplicated by TalkMe's message id) and acknowledge it."""
    started = time.perf_counter()
    runtime: Runtime = request.app.state.runtime
    metrics = runtime.metrics
    secret = runtime.settings.webhook_secret
    if secret is not None:
        supplied = request.headers.get(SECRET_HEADER) or request.query_params.get(
            SECRET_QUERY_PARAM, ""
        )
        if not hmac.compare_digest(supplied.encode(), secret.get_secret_value().encode()):
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
    message_id = payload.message_id
    site = payload.site.id if payload.site and payload.site.id else ""
    dialog = payload.dialog_id
    settings = runtime.settings
    accepted = await runtime.store.inbox.accept(
        IncomingMessage(
            conversation_key=key,
            dedup_key=f"{site}:{key}:{message_id}" if message_id is not None else None,
            text=payload.text,
            is_attachment=payload.is_attachment,
            token=payload.token,
            site_id=site or None,
            client_name=payload.client.name,
            phone=payload.client.phone,
            dialog_id=int(dialog) if dialog is not None else None,
        ),
        now=now(),
        debounce=settings.debounce_seconds,
        max_wait=settings.debounce_seconds * MAX_WAIT_WINDOWS,
    )
    if accepted and runtime.turns is not None:
        runtime.turns.notify()
    outcome = "accepted" if accepted else "duplicate"
    metrics.webhooks.labels(outcome=outcome).inc()
    metrics.ack_seconds.observe(time.perf_counter() - started)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("webhook %s for %s (token %s)", outcome, key, mask_token(payload.token))
    return JSONResponse({"success": True, "duplicate": not accepted})
