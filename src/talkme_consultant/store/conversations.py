"""Conversation scheduling (due times), memory, and the atomic end of a turn."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, case, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from talkme_consultant.helpers.budget import spent_on
from talkme_consultant.helpers.kinds import CallStatus, ConversationState, EventKind, MessageRole
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.store.leases import (
    ConversationLeases,
    LeaseNotHeld,
    hold_lease,
    lease_free,
)
from talkme_consultant.store.models import (
    Conversation,
    DialogMessage,
    Event,
    HandedOverQuestion,
    InboundMessage,
    Lead,
    OpenQuestion,
    OperatorAnswer,
    OutboxCall,
)
from talkme_consultant.store.outbox import LANE_ACCOUNT, LANE_BOT
from talkme_consultant.store.upsert import greatest, insert_for, last_chars


@dataclass(frozen=True)
class PlannedCall:
    """A TalkMe call decided by a turn, to be put in the outbox (see `store.outbox` lanes)."""

    method: str
    body: dict[str, Any]
    lane: str = LANE_BOT


@dataclass
class TurnResult:
    """Everything one turn writes, committed together with consuming its messages: what the
    engine decided (its texts cleaned) and what the service adds to it. The default outcome
    decides nothing: the turn only consumes its messages and gives the lease back."""

    consumed_ids: Sequence[int]
    outcome: TurnOutcome = field(default_factory=lambda: TurnOutcome(visitor_text="", replies=[]))
    calls: list[PlannedCall] = field(default_factory=list)
    # The business's local day (YYYY-MM-DD) the turn's model tokens count against; None: no turn.
    budget_day: str | None = None
    # The visitor question handed to an operator, kept until the operator's answer is read.
    handed_over_question: str | None = None


@dataclass(frozen=True)
class PendingTurn:
    """A conversation's unanswered messages, read for one turn.

    `ids` holds every waiting message (the turn consumes them all); `texts` only the newest ones
    whose text, with the message that crosses the limit, covers `max_chars`: a flood of thousands
    of long messages is never read into memory whole.
    """

    ids: list[int]
    texts: list[str]
    attachments_only: bool


CUT_MARK = "…"  # marks text cut to its end (as the dialog engine marks it)
# Ids per UPDATE when a turn consumes its messages: under every database's parameter limit.
_CONSUME_CHUNK = 500


class ConversationRepository(ConversationLeases):
    """Reads and writes conversations on behalf of the turn workers (their leases: see
    `ConversationLeases`)."""

    async def due_keys(self, now: float, limit: int) -> list[str]:
        """Conversations whose turn is due and whose lease is free, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(Conversation.key)
                .where(Conversation.due_at <= now)
                .where(lease_free(Conversation.lease_until, now))
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

    async def pending_turn(self, key: str, *, max_chars: int) -> PendingTurn:
        """The unanswered messages for one turn: all their ids, the text of only the newest."""
        async with self._sessions.read() as session:
            rows = (
                await session.execute(
                    select(
                        InboundMessage.id,
                        InboundMessage.is_attachment,
                        func.length(InboundMessage.text),
                    )
                    .where(InboundMessage.conversation_key == key)
                    .where(InboundMessage.processed_at.is_(None))
                    .order_by(InboundMessage.id)
                )
            ).all()
            tail: list[int] = []
            covered = 0
            for row in reversed(rows):
                if covered >= max_chars:
                    break
                tail.append(row[0])
                covered += int(row[2] or 0)
            texts: dict[int, str] = {}
            if tail:
                found = await session.execute(
                    select(InboundMessage.id, InboundMessage.text).where(
                        InboundMessage.id.in_(tail)
                    )
                )
                texts = {int(row[0]): row[1] for row in found}
            return PendingTurn(
                ids=[int(row[0]) for row in rows],
                texts=[texts[i] for i in reversed(tail) if i in texts],
                attachments_only=bool(rows) and all(row[1] for row in rows),
            )

    async def history(
        self, key: str, *, after_id: int = 0, limit: int = 50, max_chars: int | None = None
    ) -> list[DialogMessage]:
        """The newest `limit` remembered messages after `after_id`, oldest first.

        With `max_chars`, a longer text is read as its end led by "…" (the database cuts it), so
        a turn never loads a huge message remembered before the turn's text was capped.
        """
        async with self._sessions.read() as session:
            query = (
                select(DialogMessage)
                .where(DialogMessage.conversation_key == key, DialogMessage.id > after_id)
                .order_by(DialogMessage.id.desc())
                .limit(limit)
            )
            if max_chars is None:
                rows = await session.execute(query)
                return list(reversed(list(rows.scalars())))
            end = last_chars(session, DialogMessage.text, max_chars - len(CUT_MARK))
            text = case(
                (func.length(DialogMessage.text) > max_chars, literal(CUT_MARK, Text) + end),
                else_=DialogMessage.text,
            )
            columns = [
                DialogMessage.id,
                DialogMessage.conversation_key,
                DialogMessage.role,
                text.label("text"),
                DialogMessage.created_at,
                DialogMessage.meta,
            ]
            found = await session.execute(query.with_only_columns(*columns))
            # Detached copies: the cut text must never be written back.
            return [
                DialogMessage(
                    id=row.id,
                    conversation_key=row.conversation_key,
                    role=row.role,
                    text=row.text,
                    created_at=row.created_at,
                    meta=row.meta,
                )
                for row in reversed(found.all())
            ]

    async def get(self, key: str) -> Conversation | None:
        """One conversation by key."""
        async with self._sessions.read() as session:
            return await session.get(Conversation, key)

    async def enqueue_calls(
        self, key: str, owner: str, token: str, calls: Sequence[PlannedCall], *, now: float
    ) -> bool:
        """Put calls in the outbox outside a turn's final commit (the typing indicator).

        Only while `owner` holds the conversation's lease: False (and nothing queued) once the
        conversation was forgotten or taken over, so a forgotten visitor's token is not stored
        again by a turn that was already running.
        """
        try:
            async with self._sessions.write() as session:
                _add_calls(session, key, token, calls, now)
                await session.flush()
                # Locked after the calls are written: see `finish_turn`.
                await hold_lease(session, key, owner)
                return True
        except LeaseNotHeld:
            return False

    async def finish_turn(self, key: str, owner: str, result: TurnResult, *, now: float) -> bool:
        """Commit the turn: consume its messages, remember the dialogue, queue the calls.

        Returns False (and writes nothing) when the lease was lost to another worker.

        The conversation's row is locked only at the end, after everything else is written: a
        webhook for this visitor updates the same row, and waits for the lock only while the
        few statements that settle the turn run, not while the whole turn is written.
        """
        try:
            return await self._finish_turn(key, owner, result, now=now)
        except LeaseNotHeld:
            return False

    async def _finish_turn(self, key: str, owner: str, result: TurnResult, *, now: float) -> bool:
        async with self._sessions.write() as session:
            token = await session.scalar(
                select(Conversation.token).where(
                    Conversation.key == key, Conversation.lease_owner == owner
                )
            )
            if token is None:
                return False
            consumed = list(result.consumed_ids)
            for start in range(0, len(consumed), _CONSUME_CHUNK):
                await session.execute(
                    update(InboundMessage)
                    .where(InboundMessage.id.in_(consumed[start : start + _CONSUME_CHUNK]))
                    .values(processed_at=now)
                )
            outcome = result.outcome
            if consumed:
                # A turn that found nothing waiting has no visitor words to remember.
                session.add(
                    DialogMessage(
                        conversation_key=key,
                        role=MessageRole.VISITOR,
                        text=outcome.visitor_text,
                        created_at=now,
                        meta=None,
                    )
                )
            if outcome.reply_text:
                session.add(
                    DialogMessage(
                        conversation_key=key,
                        role=MessageRole.BOT,
                        text=outcome.reply_text,
                        created_at=now,
                        meta=json.dumps(outcome.meta, ensure_ascii=False),
                        intent=_short(outcome.meta.get("intent")),
                        answerer=_short(outcome.meta.get("answerer")),
                        latency_ms=_number(outcome.meta.get("latency_ms")),
                        tokens=outcome.prompt_tokens + outcome.completion_tokens,
                        cost=outcome.cost,
                    )
                )
            _add_calls(session, key, token, result.calls, now)
            for planned in outcome.events:
                session.add(
                    Event(
                        conversation_key=key,
                        kind=planned.kind,
                        data=json.dumps(planned.data, ensure_ascii=False),
                        created_at=now,
                    )
                )
            if result.handed_over_question:
                session.add(
                    HandedOverQuestion(
                        conversation_key=key,
                        question=result.handed_over_question,
                        handed_over_at=now,
                        status="waiting",
                    )
                )
            if outcome.lead is not None:
                lead = insert_for(session, Lead).values(
                    conversation_key=key,
                    name=outcome.lead.name,
                    phone=outcome.lead.phone,
                    interest=outcome.lead.interest,
                    summary=outcome.lead.summary,
                    created_at=now,
                )
                await session.execute(
                    lead.on_conflict_do_nothing(index_elements=["conversation_key", "phone"])
                )
            await session.flush()
            # Under the lock, a new statement sees every message committed so far; a webhook
            # still writing one waits, and schedules the turn again after this commit.
            conversation = await hold_lease(session, key, owner)
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
                "prompt_tokens": Conversation.prompt_tokens + outcome.prompt_tokens,
                "completion_tokens": Conversation.completion_tokens + outcome.completion_tokens,
                "cost": Conversation.cost + outcome.cost,
            }
            if not still_pending:
                values.update(due_at=None, first_pending_at=None)
            day = result.budget_day
            if day is not None:
                # The row is locked: the count read is the latest, and no other turn adds to it.
                spent = spent_on(day, conversation.budget_day, conversation.budget_tokens)
                tokens = outcome.prompt_tokens + outcome.completion_tokens
                values.update(budget_day=day, budget_tokens=spent + tokens)
            if outcome.handed_off:
                values["state"] = ConversationState.OPERATOR
            if outcome.visitor_name:
                values["visitor_name"] = outcome.visitor_name
            if outcome.phone:
                values["phone"] = outcome.phone
            if outcome.summary is not None:
                values["summary"] = outcome.summary
            if outcome.summarized_upto is not None:
                values["summarized_upto"] = outcome.summarized_upto
            await session.execute(
                update(Conversation).where(Conversation.key == key).values(**values)
            )
            return True

    async def delete(self, key: str) -> bool:
        """Forget a visitor: the conversation and everything stored about it (memory, every
        inbound message, events, leads, outbox calls with their texts and token). False when
        nothing at all was stored under `key`.

        A call already being sent may still reach TalkMe; its row is gone either way, and the
        dispatcher's later update of it changes nothing. A turn running meanwhile loses its
        lease with the row, so it writes nothing back.
        """
        async with self._sessions.write() as session:
            result = await session.execute(delete(Conversation).where(Conversation.key == key))
            removed = int(result.rowcount)  # type: ignore[attr-defined]
            for table in _PERSONAL_TABLES:
                rows = await session.execute(delete(table).where(table.conversation_key == key))
                removed += int(rows.rowcount)  # type: ignore[attr-defined]
            # Rows left behind by an older version's delete still count as "known".
            return removed > 0

    async def delete_all(self) -> int:
        """Forget every visitor (as `delete` does for one); returns how many conversations there
        were. Events not tied to a conversation (outages) are kept."""
        async with self._sessions.write() as session:
            result = await session.execute(delete(Conversation))
            for table in _PERSONAL_TABLES:
                await session.execute(delete(table).where(table.conversation_key.is_not(None)))
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def record_event(
        self, key: str | None, kind: EventKind, data: dict[str, Any], now: float
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


def _short(value: object) -> str | None:
    """A meta label for its 32-character column (intents and answerer names are short)."""
    return str(value)[:32] if value is not None else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# Every table whose rows belong to one visitor, by `conversation_key`.
_PERSONAL_TABLES: tuple[
    type[DialogMessage]
    | type[InboundMessage]
    | type[Event]
    | type[Lead]
    | type[OutboxCall]
    | type[HandedOverQuestion]
    | type[OperatorAnswer]
    | type[OpenQuestion],
    ...,
] = (
    DialogMessage,
    InboundMessage,
    Event,
    Lead,
    OutboxCall,
    HandedOverQuestion,
    OperatorAnswer,
    OpenQuestion,
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
                # The account key comes from the settings when the call is made, never stored.
                token="" if call.lane == LANE_ACCOUNT else token,
                lane=call.lane,
                status=CallStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
