"""Numbers for the owner: sessions, messages, errors, handoffs, leads, tokens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import Conversation, Event, InboundMessage, Lead, OutboxCall

# One `turn_error` per failed attempt of a turn; one `turn_failed` when a turn ran out of
# attempts and the visitor was handed to a person instead.
ERROR_EVENT_KINDS = (EventKind.TURN_ERROR,)


@dataclass
class StoreStats:
    """Counters derived from the store (nothing is kept only in memory)."""

    total_sessions: int = 0
    messages_received: int = 0
    messages_processed: int = 0
    messages_pending: int = 0
    turn_errors: int = 0
    turns_failed: int = 0
    failed_calls: int = 0
    pending_calls: int = 0
    recorded_calls: int = 0
    sent_calls: int = 0
    leads: int = 0
    handoffs_by_reason: dict[str, int] = field(default_factory=dict)
    events_by_kind: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class StatsRepository:
    """Aggregate queries; cheap enough to run on every stats request."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def totals(self) -> StoreStats:
        """Every counter at once."""
        stats = StoreStats()
        async with self._sessions.read() as session:
            row = (
                await session.execute(
                    select(
                        func.count(),
                        func.coalesce(func.sum(Conversation.prompt_tokens), 0),
                        func.coalesce(func.sum(Conversation.completion_tokens), 0),
                        func.coalesce(func.sum(Conversation.cost), 0.0),
                    ).select_from(Conversation)
                )
            ).one()
            stats.total_sessions = int(row[0])
            stats.prompt_tokens, stats.completion_tokens = int(row[1]), int(row[2])
            stats.cost = float(row[3])
            received, processed = (
                await session.execute(
                    select(func.count(), func.count(InboundMessage.processed_at)).select_from(
                        InboundMessage
                    )
                )
            ).one()
            stats.messages_received, stats.messages_processed = int(received), int(processed)
            stats.messages_pending = stats.messages_received - stats.messages_processed
            for status, count in await session.execute(
                select(OutboxCall.status, func.count()).group_by(OutboxCall.status)
            ):
                setattr(stats, f"{status}_calls", int(count))
            for kind, count in await session.execute(
                select(Event.kind, func.count()).group_by(Event.kind)
            ):
                stats.events_by_kind[kind] = int(count)
            stats.turn_errors = sum(stats.events_by_kind.get(k, 0) for k in ERROR_EVENT_KINDS)
            stats.turns_failed = stats.events_by_kind.get(EventKind.TURN_FAILED, 0)
            for (data,) in await session.execute(
                select(Event.data).where(Event.kind == EventKind.HANDOFF)
            ):
                reason = str(json.loads(data).get("reason", "unknown"))
                stats.handoffs_by_reason[reason] = stats.handoffs_by_reason.get(reason, 0) + 1
            stats.leads = int(await session.scalar(select(func.count()).select_from(Lead)) or 0)
        return stats

    async def active_sessions(self, since: float) -> list[Conversation]:
        """Conversations with activity after `since`, most recent first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(Conversation)
                .where(Conversation.last_activity >= since)
                .order_by(Conversation.last_activity.desc())
            )
            return list(rows.scalars())

    async def events(
        self, *, kind: str | None = None, conversation_key: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Recent events, newest first."""
        async with self._sessions.read() as session:
            query = select(Event).order_by(Event.id.desc()).limit(limit)
            if kind:
                query = query.where(Event.kind == kind)
            if conversation_key:
                query = query.where(Event.conversation_key == conversation_key)
            return [
                {
                    "id": event.id,
                    "conversation_key": event.conversation_key,
                    "kind": event.kind,
                    "data": json.loads(event.data),
                    "created_at": event.created_at,
                }
                for event in (await session.execute(query)).scalars()
            ]

    async def leads(self, limit: int = 100) -> list[Lead]:
        """Recent leads, newest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(select(Lead).order_by(Lead.id.desc()).limit(limit))
            return list(rows.scalars())
