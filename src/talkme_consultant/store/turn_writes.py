"""The end of a turn: everything it writes, in one commit, only while its worker holds the lease.

`write_turn` reads as the list of what a turn writes: its messages consumed, the dialogue
remembered, the TalkMe calls queued, its events, the question kept for an operator's answer and
its lead recorded; then, under the conversation's row lock, the conversation settled (the lease
given back, the spend added, what the turn learned kept).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from talkme_consultant.helpers.budget import spent_on
from talkme_consultant.helpers.kinds import CallStatus, ConversationState, MessageRole
from talkme_consultant.helpers.outcome import LeadInfo, TurnEvent, TurnOutcome
from talkme_consultant.store.leads import LeadStatus
from talkme_consultant.store.leases import hold_lease
from talkme_consultant.store.models import (
    Conversation,
    DialogMessage,
    Event,
    HandedOverQuestion,
    InboundMessage,
    Lead,
    OutboxCall,
)
from talkme_consultant.store.operator_answers import WAITING
from talkme_consultant.store.outbox import LANE_ACCOUNT, LANE_BOT
from talkme_consultant.store.upsert import insert_for

# Ids per UPDATE when a turn consumes its messages: under every database's parameter limit.
_CONSUME_CHUNK = 500


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


async def write_turn(
    session: AsyncSession, key: str, owner: str, result: TurnResult, *, now: float
) -> bool:
    """Write the turn in `session`; False (nothing written) when `owner` holds no lease on `key`.

    Raises `LeaseNotHeld` when the lease was lost while the turn was being written: the caller
    rolls the whole write back. The row is locked only at the end, after everything else is
    written: a webhook for this visitor updates the same row, and waits for the lock only while
    the few statements that settle the turn run, not while the whole turn is written.
    """
    token = await _leased_token(session, key, owner)
    if token is None:
        return False
    outcome = result.outcome
    await _consume(session, result.consumed_ids, now)
    _remember(session, key, outcome, visitor_spoke=bool(result.consumed_ids), now=now)
    add_calls(session, key, token, result.calls, now)
    session.add_all(event_row(key, event, now) for event in outcome.events)
    if result.handed_over_question:
        _keep_for_operator(session, key, result.handed_over_question, now)
    if outcome.lead is not None:
        await _add_lead(session, key, outcome.lead, now)
    await session.flush()
    # Under the lock, a new statement sees every message committed so far; a webhook still
    # writing one waits, and schedules the turn again after this commit.
    conversation = await hold_lease(session, key, owner)
    await _settle(session, conversation, result)
    return True


def add_calls(
    session: AsyncSession, key: str, token: str, calls: Sequence[PlannedCall], now: float
) -> None:
    """Queue `calls` in the outbox, each due now."""
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


def event_row(key: str | None, event: TurnEvent, now: float) -> Event:
    """The stored row of an event (`key` None: not tied to a conversation)."""
    return Event(
        conversation_key=key,
        kind=event.kind,
        data=json.dumps(event.data, ensure_ascii=False),
        created_at=now,
    )


async def _leased_token(session: AsyncSession, key: str, owner: str) -> str | None:
    """The conversation's TalkMe token while `owner` holds its lease (the row is not locked
    yet: `hold_lease` checks again at the end)."""
    token: str | None = await session.scalar(
        select(Conversation.token).where(Conversation.key == key, Conversation.lease_owner == owner)
    )
    return token


async def _consume(session: AsyncSession, ids: Sequence[int], now: float) -> None:
    """Mark the turn's messages answered."""
    consumed = list(ids)
    for start in range(0, len(consumed), _CONSUME_CHUNK):
        await session.execute(
            update(InboundMessage)
            .where(InboundMessage.id.in_(consumed[start : start + _CONSUME_CHUNK]))
            .values(processed_at=now)
        )


def _remember(
    session: AsyncSession, key: str, outcome: TurnOutcome, *, visitor_spoke: bool, now: float
) -> None:
    """Add the visitor's words and the bot's reply to the dialogue memory. A turn that found
    nothing waiting has no visitor words to remember; the reply keeps its figures in columns
    of its own for the console's reads."""
    if visitor_spoke:
        session.add(_message(key, MessageRole.VISITOR, outcome.visitor_text, now, meta=None))
    if outcome.reply_text:
        meta = outcome.meta
        reply = _message(
            key,
            MessageRole.BOT,
            outcome.reply_text,
            now,
            meta=json.dumps(meta, ensure_ascii=False),
            intent=_short(meta.get("intent")),
            answerer=_short(meta.get("answerer")),
            latency_ms=_number(meta.get("latency_ms")),
            tokens=outcome.prompt_tokens + outcome.completion_tokens,
            cost=outcome.cost,
        )
        session.add(reply)


def _message(key: str, role: MessageRole, text: str, now: float, **columns: Any) -> DialogMessage:
    """A remembered message of the conversation; `columns` are the rest of its row."""
    return DialogMessage(conversation_key=key, role=role, text=text, created_at=now, **columns)


def _keep_for_operator(session: AsyncSession, key: str, question: str, now: float) -> None:
    """Keep the handed-over question until the operator's answer to it is read."""
    session.add(
        HandedOverQuestion(
            conversation_key=key, question=question, handed_over_at=now, status=WAITING
        )
    )


async def _add_lead(session: AsyncSession, key: str, lead: LeadInfo, now: float) -> None:
    """Record the lead; a conversation's phone makes one lead however often it is given."""
    row = insert_for(session, Lead).values(
        conversation_key=key,
        name=lead.name,
        phone=lead.phone,
        interest=lead.interest,
        summary=lead.summary,
        created_at=now,
        status=LeadStatus.BOOKED.value if lead.booked else LeadStatus.NEW.value,
    )
    if lead.booked:
        # A booking made after an earlier lead of the same phone: the owner sees it booked.
        booked = {"status": LeadStatus.BOOKED.value, "interest": lead.interest}
        await session.execute(
            row.on_conflict_do_update(index_elements=["conversation_key", "phone"], set_=booked)
        )
        return
    await session.execute(row.on_conflict_do_nothing(index_elements=["conversation_key", "phone"]))


async def _settle(session: AsyncSession, conversation: Conversation, result: TurnResult) -> None:
    """Give the lease back, add the turn's spend and keep what it learned; the conversation
    stays due only when messages came while the turn ran. Runs under the row lock."""
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "turn_attempts": 0}
    values.update(_spend(conversation, result.outcome, result.budget_day))
    values.update(_learned(result.outcome))
    if not await _still_pending(session, conversation.key):
        values.update(due_at=None, first_pending_at=None)
    await session.execute(
        update(Conversation).where(Conversation.key == conversation.key).values(**values)
    )


def _spend(conversation: Conversation, outcome: TurnOutcome, day: str | None) -> dict[str, Any]:
    """The turn's model tokens and cost added to the conversation's totals and, for a turn
    with a budget day, to that day's count (a count kept for another day starts afresh)."""
    tokens = outcome.prompt_tokens + outcome.completion_tokens
    values: dict[str, Any] = {
        "prompt_tokens": Conversation.prompt_tokens + outcome.prompt_tokens,
        "completion_tokens": Conversation.completion_tokens + outcome.completion_tokens,
        "cost": Conversation.cost + outcome.cost,
    }
    if day is not None:
        # The row is locked: the count read is the latest, and no other turn adds to it.
        spent = spent_on(day, conversation.budget_day, conversation.budget_tokens)
        values.update(budget_day=day, budget_tokens=spent + tokens)
    return values


def _learned(outcome: TurnOutcome) -> dict[str, Any]:
    """What the turn learned about the conversation: a handoff, the visitor's name and phone,
    a new summary (unset values keep what is stored)."""
    values: dict[str, Any] = {}
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
    return values


async def _still_pending(session: AsyncSession, key: str) -> bool:
    """Whether messages of the conversation are still unanswered (they came during the turn)."""
    count = await session.scalar(
        select(func.count())
        .select_from(InboundMessage)
        .where(InboundMessage.conversation_key == key)
        .where(InboundMessage.processed_at.is_(None))
    )
    return bool(count)


def _short(value: object) -> str | None:
    """A meta label for its 32-character column (intents and answerer names are short)."""
    return str(value)[:32] if value is not None else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
