"""Health, stats and session management under /webhook/talkme (the seed's endpoints)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from talkme_consultant.service.clock import now
from talkme_consultant.service.runtime import Runtime
from talkme_consultant.talkme.payloads import mask_phone
from talkme_consultant.web.auth import require_admin
from talkme_consultant.web.webhook_access import webhook_access

log = logging.getLogger(__name__)

# A session is active while its visitor wrote within this many seconds.
ACTIVE_SECONDS = 30 * 60

router = APIRouter(prefix="/webhook/talkme", tags=["monitoring"])
metrics_router = APIRouter(tags=["monitoring"])


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/health", summary="Liveness and readiness, including the store")
async def health(request: Request) -> JSONResponse:
    """200 when the store answers and the knowledge index is loaded; 503 otherwise."""
    runtime = _runtime(request)
    checks: dict[str, Any] = {}
    healthy = True
    try:
        await runtime.store.ping()
        checks["store"] = "ok"
    except Exception as error:
        log.warning("health: store check failed: %s", type(error).__name__)
        checks["store"] = f"error: {type(error).__name__}"
        healthy = False
    checks["knowledge_base"] = {
        "ready": runtime.knowledge.ready,
        "records": runtime.knowledge.record_count,
        "version": runtime.knowledge.version,
    }
    healthy = healthy and runtime.knowledge.ready
    checks["answerer"] = runtime.components.primary.name
    checks["talkme_test_mode"] = runtime.settings.talkme_test_mode
    # "open": anyone who knows the URL may post; "secret": WEBHOOK_SECRET is required.
    checks["webhook"] = webhook_access(runtime.settings).value
    llm = runtime.metrics
    checks["llm"] = {
        "enabled": runtime.settings.llm_enabled,
        "outages": llm.llm_outages,
        "last_outage_at": _iso(llm.last_llm_outage),
        "degraded": llm.last_llm_outage is not None and now() - llm.last_llm_outage < 300,
    }
    return JSONResponse(
        status_code=200 if healthy else 503,
        content={"status": "ok" if healthy else "unhealthy", "checks": checks},
    )


@router.get("/stats", summary="Sessions, messages, errors", dependencies=[Depends(require_admin)])
async def stats(request: Request) -> dict[str, Any]:
    """Counters from the store plus the active sessions (phone numbers masked)."""
    runtime = _runtime(request)
    totals = await runtime.store.stats.totals()
    active = await runtime.store.stats.active_sessions(now() - ACTIVE_SECONDS)
    return {
        "total_sessions": totals.total_sessions,
        "active_sessions": len(active),
        "messages_received": totals.messages_received,
        "messages_processed": totals.messages_processed,
        "messages_pending": totals.messages_pending,
        "errors": totals.turn_errors + totals.failed_calls,
        "turn_errors": totals.turn_errors,
        "turns_failed": totals.turns_failed,
        "failed_calls": totals.failed_calls,
        "pending_calls": totals.pending_calls,
        "sent_calls": totals.sent_calls,
        "recorded_calls": totals.recorded_calls,
        "handoffs_by_reason": totals.handoffs_by_reason,
        "events": totals.events_by_kind,
        "leads": totals.leads,
        "llm": {
            "prompt_tokens": totals.prompt_tokens,
            "completion_tokens": totals.completion_tokens,
            "estimated_cost": round(totals.cost, 6),
            "latency": runtime.metrics.model_latency(),
            "outages": runtime.metrics.llm_outages,
        },
        "sessions": [
            {
                "user_id": c.key,
                "messages_count": c.messages_count,
                "client_name": c.client_name,
                "phone_number": mask_phone(c.phone) if c.phone else None,
                "state": c.state,
                "created_at": _iso(c.created_at),
                "last_activity": _iso(c.last_activity),
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "estimated_cost": round(c.cost, 6),
            }
            for c in active
        ],
    }


@router.delete(
    "/session/{user_id}",
    summary="Forget one conversation",
    dependencies=[Depends(require_admin)],
    responses={404: {}},
)
async def delete_session(user_id: str, request: Request) -> dict[str, Any]:
    """Delete a conversation's state and memory; 404 when it is unknown."""
    if not await _runtime(request).store.conversations.delete(user_id):
        raise HTTPException(status_code=404, detail=f"session {user_id!r} not found")
    return {"success": True, "deleted": user_id}


@router.delete(
    "/sessions", summary="Forget every conversation", dependencies=[Depends(require_admin)]
)
async def delete_sessions(request: Request) -> dict[str, Any]:
    """Delete every conversation; returns how many there were."""
    count = await _runtime(request).store.conversations.delete_all()
    return {"success": True, "deleted": count}


@metrics_router.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
async def prometheus(request: Request) -> Response:
    """The instance's counters in Prometheus text format."""
    registry = _runtime(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
