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

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    String,
    Text,
    bindparam,
    case,
    exists,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

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
    table_of,
)
from talkme_consultant.store.operator_answers import WAITING
from talkme_consultant.store.outbox import LANE_ACCOUNT, LANE_BOT
from talkme_consultant.store.upsert import insert_for

# Ids per UPDATE when a turn consumes its messages: under every database's parameter limit.
_CONSUME_CHUNK = 500
_OUTBOX = table_of(OutboxCall)
# The statements every turn runs are built once: building one anew cost more Python than SQLite
# took to run it.
_INBOUND = table_of(InboundMessage)
_CONSUME = (
    update(_INBOUND)
    .where(_INBOUND.c.id.in_(bindparam("p_ids", expanding=True)))
    .values(processed_at=bindparam("p_now", type_=Float))
)
_INSERT_CALLS = insert(_OUTBOX)
_INSERT_MESSAGES = insert(table_of(DialogMessage))
_INSERT_EVENTS = insert(table_of(Event))


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
    connection: AsyncConnection, key: str, owner: str, result: TurnResult, *, now: float
) -> bool:
    """Write the turn in `connection`'s transaction (Core statements: this runs after every
    answer); True when messages came while it ran, so the conversation is still due.
    `LeaseNotHeld` when `owner` holds no lease on `key` (any more), and the caller rolls the
    whole write back.

    The row is locked only at the end, after everything else is written: a webhook for this
    visitor updates the same row, and waits for the lock only while the few statements that
    settle the turn run, not while the whole turn is written.
    """
    outcome = result.outcome
    await _consume(connection, result.consumed_ids, now)
    await _remember(connection, key, outcome, visitor_spoke=bool(result.consumed_ids), now=now)
    await _add_turn_calls(connection, key, owner, result.calls, now)
    await _add_events(connection, key, outcome.events, now)
    if result.handed_over_question:
        await _keep_for_operator(connection, key, result.handed_over_question, now)
    if outcome.lead is not None:
        await _add_lead(connection, key, outcome.lead, now)
    # Under the lock, a new statement sees every message committed so far; a webhook still
    # writing one waits, and schedules the turn again after this commit.
    locked = await hold_lease(connection, key, owner)
    return await _settle(connection, key, locked, result)


async def add_calls(
    connection: AsyncConnection,
    key: str,
    token: str,
    calls: Sequence[PlannedCall],
    now: float,
) -> None:
    """Queue `calls` in the outbox, each due now (one statement for them all)."""
    if calls:
        await connection.execute(
            _INSERT_CALLS, [_call_row(key, call, now, token=token) for call in calls]
        )


async def _add_turn_calls(
    connection: AsyncConnection, key: str, owner: str, calls: Sequence[PlannedCall], now: float
) -> None:
    """Queue the turn's calls with the conversation's token as stored now (a webhook during
    the turn may have brought a newer one), read by the insert itself: only while `owner`
    holds the lease, else nothing is queued (and `hold_lease` rolls the turn back)."""
    if not calls:
        return
    rows = []
    for call in calls:
        row = _call_row(key, call, now, token="")
        del row["token"]
        rows.append({**row, "account": call.lane == LANE_ACCOUNT, "p_owner": owner})
    await connection.execute(_INSERT_TURN_CALL, rows)


def _insert_turn_call() -> Any:
    """INSERT … SELECT of one call (see `_add_turn_calls`), built once."""
    conversations = table_of(Conversation).c
    stored_token = case((bindparam("account", type_=Boolean), ""), else_=conversations.token)
    key = bindparam("conversation_key", type_=String)
    columns = [
        key,
        bindparam("method", type_=String),
        bindparam("body", type_=Text),
        stored_token,
        bindparam("lane", type_=String),
        bindparam("status", type_=String),
        bindparam("attempts", type_=Integer),
        bindparam("next_attempt_at", type_=Float),
        bindparam("created_at", type_=Float),
    ]
    owner = bindparam("p_owner", type_=String)
    source = select(*columns).where(conversations.key == key, conversations.lease_owner == owner)
    names = ["conversation_key", "method", "body", "token", "lane", "status", "attempts"]
    return insert(_OUTBOX).from_select([*names, "next_attempt_at", "created_at"], source)


_INSERT_TURN_CALL = _insert_turn_call()


def _call_row(key: str, call: PlannedCall, now: float, *, token: str) -> dict[str, Any]:
    """An outbox row's values; the account key comes from the settings when the call is made,
    never stored."""
    return {
        "conversation_key": key,
        "method": call.method,
        "body": json.dumps(call.body, ensure_ascii=False),
        "token": "" if call.lane == LANE_ACCOUNT else token,
        "lane": call.lane,
        "status": CallStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def event_row(key: str | None, event: TurnEvent, now: float) -> Event:
    """The stored row of an event (`key` None: not tied to a conversation)."""
    return Event(**_event_values(key, event, now))


def _event_values(key: str | None, event: TurnEvent, now: float) -> dict[str, Any]:
    return {
        "conversation_key": key,
        "kind": event.kind,
        "data": json.dumps(event.data, ensure_ascii=False),
        "created_at": now,
    }


async def _add_events(
    connection: AsyncConnection, key: str, events: Sequence[TurnEvent], now: float
) -> None:
    if events:
        rows = [_event_values(key, event, now) for event in events]
        await connection.execute(_INSERT_EVENTS, rows)


async def _consume(connection: AsyncConnection, ids: Sequence[int], now: float) -> None:
    """Mark the turn's messages answered."""
    consumed = list(ids)
    for start in range(0, len(consumed), _CONSUME_CHUNK):
        chunk = consumed[start : start + _CONSUME_CHUNK]
        await connection.execute(_CONSUME, {"p_ids": chunk, "p_now": now})


async def _remember(
    connection: AsyncConnection,
    key: str,
    outcome: TurnOutcome,
    *,
    visitor_spoke: bool,
    now: float,
) -> None:
    """Add the visitor's words and the bot's reply to the dialogue memory (one statement). A
    turn that found nothing waiting has no visitor words to remember; the reply keeps its
    figures in columns of its own for the console's reads."""
    rows: list[dict[str, Any]] = []
    if visitor_spoke:
        rows.append(_message(key, MessageRole.VISITOR, outcome.visitor_text, now, meta=None))
    if outcome.reply_text:
        meta = outcome.meta
        rows.append(
            _message(
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
        )
    if rows:
        await connection.execute(_INSERT_MESSAGES, rows)


def _message(key: str, role: MessageRole, text: str, now: float, **columns: Any) -> dict[str, Any]:
    """A remembered message's row; `columns` are the rest of it. Every row of one insert
    names the same columns, so the visitor's row gets the reply's figures empty."""
    row: dict[str, Any] = {
        "conversation_key": key,
        "role": role,
        "text": text,
        "created_at": now,
        "meta": None,
        "intent": None,
        "answerer": None,
        "latency_ms": None,
        "tokens": 0,
        "cost": 0.0,
    }
    row.update(columns)
    return row


async def _keep_for_operator(
    connection: AsyncConnection, key: str, question: str, now: float
) -> None:
    """Keep the handed-over question until the operator's answer to it is read."""
    await connection.execute(
        insert(table_of(HandedOverQuestion)).values(
            conversation_key=key, question=question, handed_over_at=now, status=WAITING
        )
    )


async def _add_lead(connection: AsyncConnection, key: str, lead: LeadInfo, now: float) -> None:
    """Record the lead; a conversation's phone makes one lead however often it is given."""
    row = insert_for(connection, table_of(Lead)).values(
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
        await connection.execute(
            row.on_conflict_do_update(index_elements=["conversation_key", "phone"], set_=booked)
        )
        return
    await connection.execute(
        row.on_conflict_do_nothing(index_elements=["conversation_key", "phone"])
    )


async def _settle(
    connection: AsyncConnection, key: str, locked: Row[Any], result: TurnResult
) -> bool:
    """Give the lease back, add the turn's spend and keep what it learned; the conversation
    stays due only when messages came while the turn ran (asked in the same statement, under
    the row lock; True then). Runs under the row lock."""
    conversations = table_of(Conversation)
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "turn_attempts": 0}
    values.update(_spend(locked, result.outcome, result.budget_day))
    values.update(_learned(result.outcome))
    inbound = table_of(InboundMessage).c
    still_pending = exists().where(inbound.conversation_key == key, inbound.processed_at.is_(None))
    values["due_at"] = case((still_pending, conversations.c.due_at), else_=null())
    values["first_pending_at"] = case(
        (still_pending, conversations.c.first_pending_at), else_=null()
    )
    settled = await connection.execute(
        update(conversations)
        .where(conversations.c.key == key)
        .values(**values)
        .returning(conversations.c.due_at)
    )
    return settled.scalar() is not None


def _spend(locked: Row[Any], outcome: TurnOutcome, day: str | None) -> dict[str, Any]:
    """The turn's model tokens and cost added to the conversation's totals and, for a turn
    with a budget day, to that day's count (a count kept for another day starts afresh)."""
    columns = table_of(Conversation).c
    tokens = outcome.prompt_tokens + outcome.completion_tokens
    values: dict[str, Any] = {
        "prompt_tokens": columns.prompt_tokens + outcome.prompt_tokens,
        "completion_tokens": columns.completion_tokens + outcome.completion_tokens,
        "cost": columns.cost + outcome.cost,
    }
    if day is not None:
        # The row is locked: the count read is the latest, and no other turn adds to it.
        spent = spent_on(day, locked.budget_day, locked.budget_tokens)
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


def _short(value: object) -> str | None:
    """A meta label for its 32-character column (intents and answerer names are short)."""
    return str(value)[:32] if value is not None else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
