"""Conversation scheduling (due times, leases), memory, and the atomic end of a turn."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from talkme_consultant.store.database import Sessions
from talkme_consultant.store.leases import held_by_installation
from talkme_consultant.store.models import (
    Conversation,
    DialogMessage,
    Event,
    InboundMessage,
    Lead,
    OutboxCall,
)
from talkme_consultant.store.upsert import greatest, insert_for, lock_row


@dataclass(frozen=True)
class PlannedCall:
    """A TalkMe call decided by a turn, to be put in the outbox."""

    method: str
    body: dict[str, Any]


@dataclass(frozen=True)
class PlannedEvent:
    """An event to record with the turn."""

    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class PlannedLead:
    """A lead to record with the turn (one per conversation and phone)."""

    name: str | None
    phone: str
    interest: str | None
    summary: str | None


@dataclass
class TurnResult:
    """Everything one turn writes, committed together with consuming its messages."""

    consumed_ids: Sequence[int]
    visitor_text: str
    bot_text: str | None
    calls: list[PlannedCall] = field(default_factory=list)
    events: list[PlannedEvent] = field(default_factory=list)
    lead: PlannedLead | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    handed_off: bool = False
    visitor_name: str | None = None
    phone: str | None = None
    summary: str | None = None
    summarized_upto: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class ConversationRepository:
    """Reads and writes conversations on behalf of the turn workers."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def due_keys(self, now: float, limit: int) -> list[str]:
        """Conversations whose turn is due and whose lease is free, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(Conversation.key)
                .where(Conversation.due_at <= now)
                .where((Conversation.lease_until.is_(None)) | (Conversation.lease_until < now))
                .order_by(Conversation.due_at)
                .limit(limit)
            )
            return list(rows.scalars())

    async def next_due_at(self) -> float | None:
        """The earliest due time of any waiting conversation (leased ones included)."""
        async with self._sessions.read() as session:
            lease = func.coalesce(Conversation.lease_until, 0)
            due = greatest(session, Conversation.due_at, lease)
            value = await session.scalar(
                select(func.min(due)).where(Conversation.due_at.is_not(None))
            )
            return float(value) if value is not None else None

    async def claim(
        self, key: str, owner: str, *, now: float, lease_seconds: float
    ) -> Conversation | None:
        """Take the conversation's lease if it is due and free; the winner gets the row."""
        async with self._sessions.write() as session:
            result = await session.execute(
                update(Conversation)
                .where(Conversation.key == key)
                .where(Conversation.due_at <= now)
                .where((Conversation.lease_until.is_(None)) | (Conversation.lease_until < now))
                .values(lease_owner=owner, lease_until=now + lease_seconds)
                .returning(Conversation)
            )
            return result.scalar_one_or_none()

    async def extend_lease(self, key: str, owner: str, until: float) -> bool:
        """Keep a long turn's lease alive; False when another worker has taken it over."""
        async with self._sessions.write() as session:
            result = await session.execute(
                update(Conversation)
                .where(Conversation.key == key, Conversation.lease_owner == owner)
                .values(lease_until=until)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, key: str, owner: str, *, retry_at: float | None = None) -> None:
        """Give the lease back without finishing the turn (e.g. after an unexpected error)."""
        async with self._sessions.write() as session:
            values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
            if retry_at is not None:
                values["due_at"] = retry_at
            await session.execute(
                update(Conversation)
                .where(Conversation.key == key, Conversation.lease_owner == owner)
                .values(**values)
            )

    async def release_installation(self, instance_name: str, *, except_owner: str) -> int:
        """Free every conversation lease held by earlier processes of this installation.

        They were killed or stopped (this process is their restart), so what they held is
        orphaned; should one still be running, it loses the lease and commits nothing.
        """
        async with self._sessions.write() as session:
            result = await session.execute(
                update(Conversation)
                .where(
                    held_by_installation(
                        Conversation.lease_owner, instance_name, except_owner=except_owner
                    )
                )
                .values(lease_owner=None, lease_until=None)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def record_failed_attempt(self, key: str, owner: str) -> int | None:
        """Count a failed attempt of the waiting turn, keeping the lease.

        Returns the attempts so far, or None when the lease was lost (then nothing is counted:
        the new holder runs the turn afresh).
        """
        async with self._sessions.write() as session:
            result = await session.execute(
                update(Conversation)
                .where(Conversation.key == key, Conversation.lease_owner == owner)
                .values(turn_attempts=Conversation.turn_attempts + 1)
                .returning(Conversation.turn_attempts)
            )
            attempts = result.scalar_one_or_none()
            return int(attempts) if attempts is not None else None

    async def pending_messages(self, key: str) -> list[InboundMessage]:
        """The conversation's unanswered messages in arrival order."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(InboundMessage)
                .where(InboundMessage.conversation_key == key)
                .where(InboundMessage.processed_at.is_(None))
                .order_by(InboundMessage.id)
            )
            return list(rows.scalars())

    async def history(self, key: str, *, after_id: int = 0, limit: int = 50) -> list[DialogMessage]:
        """The newest `limit` remembered messages after `after_id`, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(DialogMessage)
                .where(DialogMessage.conversation_key == key, DialogMessage.id > after_id)
                .order_by(DialogMessage.id.desc())
                .limit(limit)
            )
            return list(reversed(list(rows.scalars())))

    async def get(self, key: str) -> Conversation | None:
        """One conversation by key."""
        async with self._sessions.read() as session:
            return await session.get(Conversation, key)

    async def enqueue_calls(
        self, key: str, owner: str, token: str, calls: Sequence[PlannedCall], *, now: float
    ) -> None:
        """Put calls in the outbox outside a turn's final commit (the typing indicator)."""
        async with self._sessions.write() as session:
            _add_calls(session, key, token, calls, now)

    async def finish_turn(self, key: str, owner: str, result: TurnResult, *, now: float) -> bool:
        """Commit the turn: consume its messages, remember the dialogue, queue the calls.

        Returns False (and writes nothing) when the lease was lost to another worker.
        """
        async with self._sessions.write() as session:
            conversation = await lock_row(
                session, select(Conversation).where(Conversation.key == key)
            )
            if conversation is None or conversation.lease_owner != owner:
                return False
            if result.consumed_ids:
                await session.execute(
                    update(InboundMessage)
                    .where(InboundMessage.id.in_(list(result.consumed_ids)))
                    .values(processed_at=now)
                )
            session.add(
                DialogMessage(
                    conversation_key=key,
                    role="visitor",
                    text=result.visitor_text,
                    created_at=now,
                    meta=None,
                )
            )
            if result.bot_text:
                session.add(
                    DialogMessage(
                        conversation_key=key,
                        role="bot",
                        text=result.bot_text,
                        created_at=now,
                        meta=json.dumps(result.meta, ensure_ascii=False),
                    )
                )
            _add_calls(session, key, conversation.token, result.calls, now)
            for planned in result.events:
                session.add(
                    Event(
                        conversation_key=key,
                        kind=planned.kind,
                        data=json.dumps(planned.data, ensure_ascii=False),
                        created_at=now,
                    )
                )
            if result.lead is not None:
                lead = insert_for(session, Lead).values(
                    conversation_key=key,
                    name=result.lead.name,
                    phone=result.lead.phone,
                    interest=result.lead.interest,
                    summary=result.lead.summary,
                    created_at=now,
                )
                await session.execute(
                    lead.on_conflict_do_nothing(index_elements=["conversation_key", "phone"])
                )
            still_pending = await session.scalar(
                select(func.count())
                .select_from(InboundMessage)
                .where(InboundMessage.conversation_key == key)
                .where(InboundMessage.processed_at.is_(None))
            )
            values: dict[str, Any] = {
                "lease_owner": None,
                "lease_until": None,
                "turn_attempts": 0,
                "prompt_tokens": Conversation.prompt_tokens + result.prompt_tokens,
                "completion_tokens": Conversation.completion_tokens + result.completion_tokens,
                "cost": Conversation.cost + result.cost,
            }
            if not still_pending:
                values.update(due_at=None, first_pending_at=None)
            if result.handed_off:
                values["state"] = "operator"
            if result.visitor_name:
                values["visitor_name"] = result.visitor_name
            if result.phone:
                values["phone"] = result.phone
            if result.summary is not None:
                values["summary"] = result.summary
            if result.summarized_upto is not None:
                values["summarized_upto"] = result.summarized_upto
            await session.execute(
                update(Conversation).where(Conversation.key == key).values(**values)
            )
            return True

    async def delete(self, key: str) -> bool:
        """Forget a conversation: its state, memory and unanswered messages."""
        async with self._sessions.write() as session:
            result = await session.execute(delete(Conversation).where(Conversation.key == key))
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            await session.execute(
                delete(DialogMessage).where(DialogMessage.conversation_key == key)
            )
            await session.execute(
                delete(InboundMessage).where(
                    InboundMessage.conversation_key == key, InboundMessage.processed_at.is_(None)
                )
            )
            return True

    async def delete_all(self) -> int:
        """Forget every conversation; returns how many there were."""
        async with self._sessions.write() as session:
            result = await session.execute(delete(Conversation))
            await session.execute(delete(DialogMessage))
            await session.execute(
                delete(InboundMessage).where(InboundMessage.processed_at.is_(None))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def record_event(
        self, key: str | None, kind: str, data: dict[str, Any], now: float
    ) -> None:
        """Record an event outside a turn (errors, outages)."""
        async with self._sessions.write() as session:
            session.add(
                Event(
                    conversation_key=key,
                    kind=kind,
                    data=json.dumps(data, ensure_ascii=False),
                    created_at=now,
                )
            )


def _add_calls(
    session: AsyncSession, key: str, token: str, calls: Sequence[PlannedCall], now: float
) -> None:
    for call in calls:
        session.add(
            OutboxCall(
                conversation_key=key,
                method=call.method,
                body=json.dumps(call.body, ensure_ascii=False),
                token=token,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
