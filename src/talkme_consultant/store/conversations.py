"""Conversations for the turn workers: which are due, their waiting messages and memory, the
end of a turn (written by `store.turn_writes`), and forgetting a visitor."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    String,
    Text,
    bindparam,
    case,
    delete,
    func,
    literal,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnEvent
from talkme_consultant.store.forgotten_words import forget_words
from talkme_consultant.store.leases import (
    ConversationLeases,
    LeaseNotHeld,
    claim_in,
    hold_lease,
    lease_free,
)
from talkme_consultant.store.models import (
    PERSONAL_TABLES,
    Conversation,
    DialogMessage,
    InboundMessage,
    table_of,
)
from talkme_consultant.store.turn_writes import (
    PlannedCall,
    TurnResult,
    add_calls,
    event_row,
    write_turn,
)
from talkme_consultant.store.upsert import greatest, last_chars

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class TurnPlan:
    """What a turn reads when it starts, and the typing indicator it queues first."""

    lease_seconds: float
    max_attempts: int
    max_chars: int
    memory_messages: int
    memory_chars: int
    typing: Sequence[PlannedCall]


@dataclass(frozen=True)
class TurnStart:
    """A claimed conversation and what its turn needs. `pending` and `history` are empty when
    the turn has used up its attempts (the caller hands the visitor over)."""

    conversation: Conversation
    pending: PendingTurn
    history: list[RememberedMessage]
    typing: bool


@dataclass(frozen=True, slots=True)
class RememberedMessage:
    """A remembered message as a turn and the transcript read it: a detached copy (its text may
    be cut and must never be written back). Not an ORM object: building those for a dialogue's
    forty messages cost a third of a millisecond of every turn."""

    id: int
    conversation_key: str
    role: str
    text: str
    created_at: float
    meta: str | None


@dataclass(frozen=True)
class Schedule:
    """What the turn scheduler learns in one look: the conversations due now and free, oldest
    first, and when the next of the others may become due (a live lease counts as due when it
    runs out; None: nothing waits)."""

    due: list[str]
    next_at: float | None


@dataclass(frozen=True)
class TurnEnd:
    """A committed turn; `still_due` when messages came while it ran, so its conversation
    waits for another turn."""

    still_due: bool


CUT_MARK = "…"  # marks text cut to its end (as the dialog engine marks it)
_NO_CAP = 2**31 - 1  # a `max_chars` no text reaches (PostgreSQL's text is at most 1 GB)


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

    async def schedule(self, now: float, limit: int) -> Schedule:
        """`due_keys` and the next due time of the conversations not due now, in one statement:
        the scheduler looks after every stored message and every turn, so a look is one round
        trip. Conversations due now are left out of `next_at`, so one the scheduler has queued
        but not yet claimed never makes it look again at once."""
        async with self._sessions.read_connection() as connection:
            rows = (await connection.execute(_SCHEDULE, {"now": now, "limit": limit})).all()
        # Sorted here: a UNION promises no order of its rows.
        due = sorted((float(row[1]), str(row[0])) for row in rows if row[0] is not None)
        later = [float(row[1]) for row in rows if row[0] is None and row[1] is not None]
        return Schedule(due=[key for _, key in due], next_at=min(later, default=None))

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
        async with self._sessions.read_connection() as connection:
            return await _pending(connection, key, max_chars)

    async def history(
        self, key: str, *, after_id: int = 0, limit: int = 50, max_chars: int | None = None
    ) -> list[RememberedMessage]:
        """The newest `limit` remembered messages after `after_id`, oldest first.

        With `max_chars`, a longer text is read as its end led by "…" (the database cuts it), so
        a turn never loads a huge message remembered before the turn's text was capped.
        """
        async with self._sessions.read_connection() as connection:
            return await _history(connection, key, after_id, limit, max_chars)

    async def begin_turn(
        self, key: str, owner: str, plan: TurnPlan, *, now: float
    ) -> TurnStart | None:
        """Claim a due conversation and read what its turn needs, in one transaction: the
        waiting messages, the remembered dialogue and, on a turn's first attempt with messages
        waiting, the typing indicator queued. None when the conversation is not due or another
        worker holds it. Four round trips in one: each costs the store a transaction."""
        async with self._sessions.write_connection() as connection:
            conversation = await claim_in(
                connection, key, owner, now=now, lease_seconds=plan.lease_seconds
            )
            if conversation is None:
                return None
            if conversation.turn_attempts >= plan.max_attempts:
                return TurnStart(conversation, PendingTurn([], [], False), [], typing=False)
            pending = await _pending(connection, key, plan.max_chars)
            typing = bool(pending.ids) and conversation.turn_attempts == 0 and bool(plan.typing)
            if typing:
                typing = await _queue_typing(connection, key, conversation.token, plan.typing, now)
            history = (
                await _history(
                    connection,
                    key,
                    conversation.summarized_upto,
                    plan.memory_messages,
                    plan.memory_chars,
                )
                if pending.ids
                else []
            )
            return TurnStart(conversation, pending, history, typing=typing)

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
            async with self._sessions.write_connection() as connection:
                await add_calls(connection, key, token, calls, now)
                # Locked after the calls are written: see `write_turn`.
                await hold_lease(connection, key, owner)
                return True
        except LeaseNotHeld:
            return False

    async def finish_turn(
        self, key: str, owner: str, result: TurnResult, *, now: float
    ) -> TurnEnd | None:
        """Commit the turn (see `store.turn_writes`): consume its messages, remember the
        dialogue, queue the calls. Returns None (and writes nothing) when the lease was lost
        to another worker."""
        try:
            async with self._sessions.write_connection() as connection:
                still_due = await write_turn(connection, key, owner, result, now=now)
                return TurnEnd(still_due)
        except LeaseNotHeld:
            return None

    async def delete(self, key: str, *, now: float) -> bool:
        """Forget a visitor: the conversation and everything stored about it (memory, every
        inbound message, events, leads, outbox calls with their texts and token, open
        questions), and their words in the owner's lessons (`store.forgotten_words`, moving the
        knowledge version when a lesson changes). False when nothing at all was stored under
        `key`.

        A call already being sent may still reach TalkMe; its row is gone either way, and the
        dispatcher's later update of it changes nothing. A turn running meanwhile loses its
        lease with the row, so it writes nothing back.
        """
        async with self._sessions.write() as session:
            # First: it reads the visitor's messages to know their words.
            await forget_words(session, key, now=now)
            result = await session.execute(delete(Conversation).where(Conversation.key == key))
            removed = int(result.rowcount)  # type: ignore[attr-defined]
            for table in PERSONAL_TABLES:
                rows = await session.execute(delete(table).where(table.conversation_key == key))
                removed += int(rows.rowcount)  # type: ignore[attr-defined]
            # Rows left behind by an older version's delete still count as "known".
            return removed > 0

    async def delete_all(self, *, now: float) -> int:
        """Forget every visitor (as `delete` does for one); returns how many conversations there
        were. Events not tied to a conversation (outages) are kept."""
        async with self._sessions.write() as session:
            await forget_words(session, None, now=now)
            result = await session.execute(delete(Conversation))
            for table in PERSONAL_TABLES:
                await session.execute(delete(table).where(table.conversation_key.is_not(None)))
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def record_event(
        self, key: str | None, kind: EventKind, data: dict[str, Any], now: float
    ) -> None:
        """Record an event outside a turn (errors, outages)."""
        async with self._sessions.write() as session:
            session.add(event_row(key, TurnEvent(kind, data), now))


def _schedule_query() -> Any:
    """Rows of (key, due_at) for the due and free conversations, then one (NULL, time): the
    earliest time any other waiting conversation becomes due (`Schedule.next_at`). Built once,
    with bound parameters (`now`, `limit`): it runs after every stored message and turn."""
    table = table_of(Conversation)
    due_at, lease_until = table.c.due_at, table.c.lease_until
    now = bindparam("now", type_=Float)
    due_now = (due_at <= now) & ((lease_until.is_(None)) | (lease_until < now))
    due = (
        select(table.c.key, due_at)
        .where(due_now)
        .order_by(due_at)
        .limit(bindparam("limit", type_=Integer))
        .subquery("due")
    )
    lease = func.coalesce(lease_until, 0.0)
    # max(due_at, lease end) in SQL both dialects share (SQLite has no `greatest`).
    becomes_due = case((due_at > lease, due_at), else_=lease)
    later = select(null().label("key"), func.min(becomes_due).label("at")).where(
        due_at.is_not(None), ~due_now
    )
    return union_all(select(due.c.key, due.c.due_at.label("at")), later)


_SCHEDULE = _schedule_query()


def _pending_query() -> Any:
    """A conversation's waiting messages (`p_key`): each id, whether it is an attachment, and
    its text when the newer messages' text is shorter than `p_chars` (summed by the database)."""
    inbound = table_of(InboundMessage).c
    newer = func.sum(func.length(inbound.text)).over(order_by=inbound.id.desc(), rows=(None, -1))
    max_chars = bindparam("p_chars", type_=Integer)
    text = case((func.coalesce(newer, 0) < max_chars, inbound.text), else_=null())
    return (
        select(inbound.id, inbound.is_attachment, text)
        .where(inbound.conversation_key == bindparam("p_key", type_=String))
        .where(inbound.processed_at.is_(None))
        .order_by(inbound.id)
    )


def _history_query(dialect: str) -> Any:
    """The newest `p_limit` remembered messages of `p_key` after `p_after`, newest first, a text
    longer than `p_chars` read as its end led by the cut mark."""
    dialog = table_of(DialogMessage).c
    max_chars = bindparam("p_chars", type_=Integer)
    end = last_chars(dialect, dialog.text, max_chars - len(CUT_MARK))
    text = case(
        (func.length(dialog.text) > max_chars, literal(CUT_MARK, Text) + end),
        else_=dialog.text,
    )
    columns = [
        dialog.id,
        dialog.conversation_key,
        dialog.role,
        text.label("text"),
        dialog.created_at,
        dialog.meta,
    ]
    return (
        select(*columns)
        .where(
            dialog.conversation_key == bindparam("p_key", type_=String),
            dialog.id > bindparam("p_after", type_=Integer),
        )
        .order_by(dialog.id.desc())
        .limit(bindparam("p_limit", type_=Integer))
    )


# A turn's reads, built once with bound parameters: they run for every answer.
_PENDING = _pending_query()
_HISTORY = {dialect: _history_query(dialect) for dialect in ("sqlite", "postgresql")}


async def _pending(connection: AsyncConnection, key: str, max_chars: int) -> PendingTurn:
    """The conversation's waiting messages in one statement: every id, and the text of only the
    newest ones whose text, with the message that crosses `max_chars`, covers it (the length of
    the newer messages is summed by the database)."""
    rows = (await connection.execute(_PENDING, {"p_key": key, "p_chars": max_chars})).all()
    return PendingTurn(
        ids=[int(row[0]) for row in rows],
        texts=[str(row[2]) for row in rows if row[2] is not None],
        attachments_only=bool(rows) and all(row[1] for row in rows),
    )


async def _history(
    connection: AsyncConnection, key: str, after_id: int, limit: int, max_chars: int | None
) -> list[RememberedMessage]:
    """See `ConversationRepository.history`."""
    # Without a cap, no remembered text is longer than the longest a text column holds.
    values = {"p_key": key, "p_after": after_id, "p_limit": limit, "p_chars": max_chars}
    if max_chars is None:
        values["p_chars"] = _NO_CAP
    found = await connection.execute(_HISTORY[connection.dialect.name], values)
    return [
        RememberedMessage(
            row.id, row.conversation_key, row.role, row.text, row.created_at, row.meta
        )
        for row in reversed(found.all())
    ]


async def _queue_typing(
    connection: AsyncConnection, key: str, token: str, calls: Sequence[PlannedCall], now: float
) -> bool:
    """Queue the typing indicator in its own savepoint; False when the store refused it. The
    claim stands either way: the turn then runs, and a store that keeps failing fails its final
    write, which counts the attempt, so the visitor is handed over in the end instead of the
    claim being retried for ever."""
    try:
        async with connection.begin_nested():
            await add_calls(connection, key, token, calls, now)
    except SQLAlchemyError as error:
        # The type only: the statement's parameters hold the visitor's token.
        log.warning("could not queue the typing indicator for %s: %s", key, type(error).__name__)
        return False
    return True
