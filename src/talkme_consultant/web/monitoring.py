"""Health, stats and session management under /webhook/talkme (the seed's endpoints)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from talkme_consultant.service.clock import now
from talkme_consultant.service.runtime import Runtime
from talkme_consultant.web.answers import answer_from, masked_phone
from talkme_consultant.web.auth import require_admin
from talkme_consultant.web.schemas import (
    ADMIN_ONLY,
    INVALID_REQUEST,
    ActiveSession,
    HealthChecks,
    HealthReport,
    KnowledgeBaseHealth,
    LlmHealth,
    LlmUsage,
    ModelLatency,
    SessionDeleted,
    SessionsDeleted,
    Stats,
    error_response,
)
from talkme_consultant.web.webhook_access import webhook_access

log = logging.getLogger(__name__)

# A session is active while its visitor wrote within this many seconds.
ACTIVE_SECONDS = 30 * 60
# The model counts as degraded for this long after an outage.
DEGRADED_SECONDS = 300

router = APIRouter(prefix="/webhook/talkme", tags=["monitoring"])
metrics_router = APIRouter(tags=["monitoring"])


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get(
    "/health",
    summary="Liveness and readiness, including the store",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "The store or the index is not ready."}},
)
async def health(request: Request) -> JSONResponse:
    """200 when the store answers and the knowledge index is loaded; 503 otherwise."""
    runtime = _runtime(request)
    healthy = True
    try:
        await runtime.store.ping()
        store = "ok"
    except Exception as error:
        log.warning("health: store check failed: %s", type(error).__name__)
        store = f"error: {type(error).__name__}"
        healthy = False
    knowledge = runtime.knowledge
    healthy = healthy and knowledge.ready
    llm = runtime.metrics
    checks = HealthChecks(
        store=store,
        knowledge_base=KnowledgeBaseHealth(
            ready=knowledge.ready, records=knowledge.record_count, version=knowledge.version
        ),
        answerer=runtime.answerer_name,
        talkme_test_mode=runtime.settings.talkme_test_mode,
        webhook=webhook_access(runtime.settings),
        llm=LlmHealth(
            enabled=runtime.settings.llm_enabled,
            outages=llm.llm_outages,
            last_outage_at=_iso(llm.last_llm_outage) if llm.last_llm_outage is not None else None,
            degraded=llm.last_llm_outage is not None
            and now() - llm.last_llm_outage < DEGRADED_SECONDS,
        ),
    )
    report = HealthReport(status="ok" if healthy else "unhealthy", checks=checks)
    # A JSONResponse of its own, because the status code depends on the report.
    return JSONResponse(status_code=200 if healthy else 503, content=report.model_dump(mode="json"))


@router.get(
    "/stats",
    summary="Sessions, messages, errors",
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)
async def stats(request: Request) -> Stats:
    """Counters from the store plus the active sessions (phone numbers masked)."""
    runtime = _runtime(request)
    totals = await runtime.store.stats.totals()
    active = await runtime.store.stats.active_sessions(now() - ACTIVE_SECONDS)
    metrics = runtime.metrics
    usage = answer_from(
        LlmUsage,
        totals,
        estimated_cost=round(totals.cost, 6),
        latency=ModelLatency.model_validate(metrics.model_latency()),
        outages=metrics.llm_outages,
    )
    sessions = [
        answer_from(
            ActiveSession,
            c,
            user_id=c.key,
            phone_number=masked_phone(c.phone),
            created_at=_iso(c.created_at),
            last_activity=_iso(c.last_activity),
            estimated_cost=round(c.cost, 6),
        )
        for c in active
    ]
    return answer_from(
        Stats,
        totals,
        active_sessions=len(active),
        errors=totals.turn_errors + totals.failed_calls,
        events=totals.events_by_kind,
        llm=usage,
        sessions=sessions,
    )


@router.delete(
    "/session/{user_id}",
    summary="Forget one conversation",
    dependencies=[Depends(require_admin)],
    responses={**ADMIN_ONLY, 404: error_response("No conversation under this key.")},
)
async def delete_session(user_id: str, request: Request) -> SessionDeleted:
    """Delete a conversation's state and memory; 404 when it is unknown."""
    if not await _runtime(request).store.conversations.delete(user_id):
        raise HTTPException(status_code=404, detail=f"session {user_id!r} not found")
    return SessionDeleted(deleted=user_id)


@router.delete(
    "/sessions",
    summary="Forget every conversation",
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)
async def delete_sessions(request: Request) -> SessionsDeleted:
    """Delete every conversation; returns how many there were."""
    count = await _runtime(request).store.conversations.delete_all()
    return SessionsDeleted(deleted=count)


@metrics_router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        # Errors stay JSON: without this the text/plain class would claim them too.
        422: {
            "description": INVALID_REQUEST["description"],
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/InvalidRequest"}}
            },
        },
    },
)
async def prometheus(request: Request) -> Response:
    """The instance's counters in Prometheus text format."""
    registry = _runtime(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
