"""The answers of the monitoring routes: health, stats and the active sessions."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from talkme_consultant.helpers.kinds import ConversationState, HandoffReason
from talkme_consultant.web.schemas.shared import Answer, Listed, known
from talkme_consultant.web.webhook_access import WebhookAccess

__all__ = [
    "ActiveSession",
    "HealthChecks",
    "HealthReport",
    "KnowledgeBaseHealth",
    "LlmHealth",
    "LlmUsage",
    "ModelLatency",
    "SessionDeleted",
    "SessionsDeleted",
    "Stats",
]


class KnowledgeBaseHealth(Answer):
    """The knowledge index being served."""

    ready: bool = Field(description="An index is loaded and answers searches.")
    records: int
    version: int


class LlmHealth(Answer):
    """The language model, when one is configured."""

    enabled: bool
    outages: int = Field(description="Model outages seen by this instance since it started.")
    last_outage_at: str | None = Field(description="ISO 8601 time of the latest outage.")
    degraded: bool = Field(description="An outage happened within the last five minutes.")


class HealthChecks(Answer):
    """Each part of the service, checked."""

    store: str = Field(description='"ok", or "error: <exception type>" when the store failed.')
    knowledge_base: KnowledgeBaseHealth
    answerer: str = Field(description='The answerer in use: "llm" or "offline".')
    talkme_test_mode: bool = Field(description="Replies are recorded instead of sent to TalkMe.")
    webhook: WebhookAccess = Field(
        description='"secret": WEBHOOK_SECRET is required; "open": anyone with the URL may post.'
    )
    llm: LlmHealth


class HealthReport(Answer):
    """Liveness and readiness; the same body comes with 503 when the service is not ready."""

    status: Literal["ok", "unhealthy"]
    checks: HealthChecks


class ModelLatency(Answer):
    """Model time per turn over the recent window of this instance."""

    p50_ms: float | None = Field(description="Median, in milliseconds; null before any turn.")
    p95_ms: float | None
    turns: float = Field(description="How many turns the window holds.")


class LlmUsage(Answer):
    """Tokens and money spent on the model, over every conversation in the store."""

    prompt_tokens: int
    completion_tokens: int
    estimated_cost: float
    latency: ModelLatency
    outages: int


class ActiveSession(Answer):
    """A conversation whose visitor wrote within the last 30 minutes."""

    user_id: str = Field(description="The conversation key (TalkMe's clientId).")
    messages_count: int
    client_name: str | None
    phone_number: str | None = Field(description="Masked: +7 (916) ***-**-67.")
    state: Listed[ConversationState]
    created_at: str = Field(description="ISO 8601.")
    last_activity: str = Field(description="ISO 8601.")
    prompt_tokens: int
    completion_tokens: int
    estimated_cost: float


class Stats(Answer):
    """Counters from the store (they survive restarts) and the active sessions."""

    total_sessions: int
    active_sessions: int
    messages_received: int
    messages_processed: int
    messages_pending: int
    errors: int = Field(description="turn_errors + failed_calls.")
    turn_errors: int = Field(description="Failed attempts of turns (each is retried).")
    turns_failed: int = Field(description="Turns that ran out of attempts and were handed over.")
    failed_calls: int
    pending_calls: int
    sent_calls: int
    recorded_calls: int
    handoffs_by_reason: dict[str, int] = Field(description=f"{known(HandoffReason)}, …")
    events: dict[str, int] = Field(description="Recorded events by kind (see /admin/events).")
    leads: int
    llm: LlmUsage
    sessions: list[ActiveSession]


class SessionDeleted(Answer):
    """The conversation and everything stored about it are gone."""

    success: Literal[True] = True
    deleted: str = Field(description="The conversation key.")


class SessionsDeleted(Answer):
    """Every conversation is gone."""

    success: Literal[True] = True
    deleted: int = Field(description="How many conversations there were.")
