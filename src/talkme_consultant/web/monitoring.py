"""Health, stats and session management under /webhook/talkme (the seed's endpoints)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from talkme_consultant.service.clock import now
from talkme_consultant.service.forgetting import forget_every_visitor, forget_visitor
from talkme_consultant.web.answers import answer_from, masked_phone
from talkme_consultant.web.auth import require_admin
from talkme_consultant.web.deps import (
    KnowledgeDep,
    MetricsDep,
    RuntimeDep,
    SettingsDep,
    StoreDep,
)
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


@router.get(
    "/health",
    summary="Liveness and readiness, including the store",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "The store or the index is not ready."}},
)
async def health(
    runtime: RuntimeDep,
    store: StoreDep,
    knowledge: KnowledgeDep,
    metrics: MetricsDep,
    settings: SettingsDep,
) -> JSONResponse:
    """200 when the store answers and the knowledge index is loaded; 503 otherwise."""
    healthy = True
    try:
        await store.ping()
        store_check = "ok"
    except Exception as error:
        log.warning("health: store check failed: %s", type(error).__name__)
        store_check = f"error: {type(error).__name__}"
        healthy = False
    healthy = healthy and knowledge.ready
    last_outage = metrics.last_llm_outage
    checks = HealthChecks(
        store=store_check,
        knowledge_base=KnowledgeBaseHealth(
            ready=knowledge.ready, records=knowledge.record_count, version=knowledge.version
        ),
        answerer=runtime.answerer_name,
        talkme_test_mode=settings.talkme_test_mode,
        webhook=webhook_access(settings),
        llm=LlmHealth(
            enabled=settings.llm_enabled,
            outages=metrics.llm_outages,
            last_outage_at=_iso(last_outage) if last_outage is not None else None,
            degraded=last_outage is not None and now() - last_outage < DEGRADED_SECONDS,
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
async def stats(store: StoreDep, metrics: MetricsDep) -> Stats:
    """Counters from the store plus the active sessions (phone numbers masked)."""
    totals = await store.stats.totals()
    active = await store.stats.active_sessions(now() - ACTIVE_SECONDS)
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
async def delete_session(user_id: str, store: StoreDep, knowledge: KnowledgeDep) -> SessionDeleted:
    """Delete a conversation's state and memory, and the visitor's words in the owner's lessons;
    404 when it is unknown."""
    if not await forget_visitor(store.conversations, knowledge, user_id):
        raise HTTPException(status_code=404, detail=f"session {user_id!r} not found")
    return SessionDeleted(deleted=user_id)


@router.delete(
    "/sessions",
    summary="Forget every conversation",
    dependencies=[Depends(require_admin)],
    responses=ADMIN_ONLY,
)
async def delete_sessions(store: StoreDep, knowledge: KnowledgeDep) -> SessionsDeleted:
    """Delete every conversation, and the visitors' words in the owner's lessons; returns how
    many conversations there were."""
    count = await forget_every_visitor(store.conversations, knowledge)
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
async def prometheus(metrics: MetricsDep) -> Response:
    """The instance's counters in Prometheus text format."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
