"""Group commit for webhook messages on PostgreSQL (see `store/group_commit.py`).

A batch is one statement on a connection the inbox keeps for itself, prepared once: the
messages go into `inbound_messages`, each conversation is upserted once with its new messages
folded together, and a `NOTIFY` wakes the workers, all in the statement's own transaction. A
transaction per webhook, with its ORM statements built anew, a pooled connection checked out and
pinged and a round trip per step, cost several milliseconds of CPU per webhook, more than the
database's own work; a batch of any size now costs one round trip. The notify is delivered at
the commit, so a worker never looks before the messages are there, and a crash between commit
and notify cannot lose it.

Folding gives what one upsert per message in arrival order would have given (the store specs
check it on every backend): only messages not seen before count, the count grows by their
number, the turn's window starts at the first waiting message and is pushed back by the last
one, and a name, phone, site or dialog id is the last one sent, where any was. Conversations
are upserted in key order, so two processes writing batches for the same conversations take
their row locks in the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import asyncpg  # type: ignore[import-untyped]

from talkme_consultant.store.database import (
    CONNECT_TIMEOUT_SECONDS,
    POOL_RECYCLE_SECONDS,
    asyncpg_dsn,
)
from talkme_consultant.store.group_commit import (
    BOT_STATE,
    TAKE_MESSAGE_DETAILS,
    GroupCommitInbox,
    MessageRefused,
    PendingMessage,
)

# $1-$12: the messages, column by column, in arrival order (with each one's debounce window and
# longest wait); $13 the channel to notify.
_WRITE_BATCH = (
    """
WITH batch AS (
    SELECT *
    FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::bool[], $5::float8[],
        $6::text[], $7::text[], $8::text[], $9::int8[], $10::text[], $11::float8[], $12::float8[]
    ) WITH ORDINALITY AS b(
        key, dedup, text, attachment, received, site_id, client_name, phone, dialog_id, token,
        debounce, max_wait, position
    )
),
inserted AS (
    INSERT INTO inbound_messages (conversation_key, dedup_key, text, is_attachment, received_at)
    SELECT key, dedup, text, attachment, received FROM batch ORDER BY position
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING dedup_key
),
kept AS (
    SELECT * FROM batch WHERE dedup IS NULL OR dedup IN (SELECT dedup_key FROM inserted)
),
folded AS (
    SELECT
        key,
        count(*) AS count,
        (array_agg(received ORDER BY position))[1] AS first,
        (array_agg(received ORDER BY position DESC))[1] AS last,
        (array_agg(token ORDER BY position DESC))[1] AS token,
        (array_agg(debounce ORDER BY position DESC))[1] AS debounce,
        (array_agg(max_wait ORDER BY position DESC))[1] AS max_wait,
        (array_agg(site_id ORDER BY position DESC) FILTER (WHERE site_id IS NOT NULL))[1]
            AS site_id,
        (array_agg(client_name ORDER BY position DESC) FILTER (WHERE client_name IS NOT NULL))[1]
            AS client_name,
        (array_agg(phone ORDER BY position DESC) FILTER (WHERE phone IS NOT NULL))[1] AS phone,
        (array_agg(dialog_id ORDER BY position DESC) FILTER (WHERE dialog_id IS NOT NULL))[1]
            AS dialog_id
    FROM kept
    GROUP BY key
),
upserted AS (
    INSERT INTO conversations (
        key, site_id, client_name, phone, dialog_id, token, state, messages_count, created_at,
        last_activity, due_at, first_pending_at, summarized_upto, prompt_tokens,
        completion_tokens, cost
    )
    SELECT key, site_id, client_name, phone, dialog_id, token, """
    + BOT_STATE
    + """, count, first, last,
        least(last + debounce, first + max_wait), first, 0, 0, 0, 0
    FROM folded
    ORDER BY key
    ON CONFLICT (key) DO UPDATE SET"""
    + TAKE_MESSAGE_DETAILS
    + """
        messages_count = conversations.messages_count + excluded.messages_count,
        last_activity = excluded.last_activity,
        first_pending_at = coalesce(conversations.first_pending_at, excluded.first_pending_at),
        -- The last message's window decides, as its own upsert would have.
        due_at = (
            SELECT least(
                excluded.last_activity + folded.debounce,
                coalesce(conversations.first_pending_at, excluded.first_pending_at)
                    + folded.max_wait
            )
            FROM folded
            WHERE folded.key = excluded.key
        )
    RETURNING key
)
SELECT
    (SELECT array_agg(dedup_key) FROM inserted) AS new_keys,
    (SELECT count(*) FROM upserted) AS conversations,
    (SELECT pg_notify($13, '') FROM (SELECT 1 FROM kept LIMIT 1) AS any_kept) AS notified
"""
)

# Errors that mean the connection or the server is gone, not that a message was refused:
# writing the messages one by one would only fail again, slower.
_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
)
# What a connection the server has already ended (a restart, an administrator) raises when the
# next batch starts on it. The server's goodbye can arrive before its socket closes, and asyncpg
# then refuses to start the statement (InternalClientError) rather than report it closed.
_ENDED_CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InternalClientError,
)
# A batch that takes longer is abandoned (its callers answer 503, TalkMe sends again) and its
# connection dropped: a cut that closes no socket must not hold every webhook for minutes.
BATCH_TIMEOUT_SECONDS = 5.0


class BatchedPostgresInbox(GroupCommitInbox):
    """The PostgreSQL inbox: batches written one at a time on a connection of its own."""

    def __init__(self, url: str, *, notify_channel: str) -> None:
        super().__init__()
        self._dsn = asyncpg_dsn(url)
        self._channel = notify_channel
        self._connection: asyncpg.Connection | None = None
        self._opened_at = 0.0

    async def write_together(self, batch: list[PendingMessage]) -> list[bool]:
        """The batch in one statement: True for a stored message, False for a duplicate."""
        reused = self._connection is not None
        try:
            return await self._write_once(batch)
        except _ENDED_CONNECTION_ERRORS:
            # A connection kept from earlier batches may have been ended by the server since;
            # the batch goes once more on a new one. Only a batch whose every message has an id
            # goes again: had the first try committed, the second stores nothing twice (its
            # messages come back as duplicates, and the first commit's notify woke the workers).
            if not reused or not _replayable(batch):
                raise
        return await self._write_once(batch)

    async def _connect(self) -> asyncpg.Connection:
        """The inbox's connection, opened (or renewed) when needed.

        A connection the server closed (a restart) is noticed as soon as its socket closes, so
        it is replaced before a batch is written on it; like the pool's, it is renewed after
        `POOL_RECYCLE_SECONDS`, so a server-side limit never hits it.
        """
        connection = self._connection
        if connection is not None and (
            connection.is_closed() or time.monotonic() - self._opened_at > POOL_RECYCLE_SECONDS
        ):
            self._drop()
        if self._connection is None:
            self._connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_SECONDS)
            self._opened_at = time.monotonic()
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None

    async def _write_once(self, batch: Sequence[PendingMessage]) -> list[bool]:
        fresh = _first_copies(batch)
        connection = await self._connect()
        try:
            row = await self._execute(connection, batch, fresh)
        except _CONNECTION_ERRORS:
            self._drop()
            raise
        except Exception as error:
            raise MessageRefused(error) from error
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown, so it is not used again.
            self._drop()
            raise
        new_keys = set(row["new_keys"] or ())
        kept = {
            position
            for position in fresh
            if batch[position].message.dedup_key is None
            or batch[position].message.dedup_key in new_keys
        }
        return [position in kept for position in range(len(batch))]

    async def _execute(
        self, connection: asyncpg.Connection, batch: Sequence[PendingMessage], fresh: list[int]
    ) -> asyncpg.Record:
        messages = [batch[position].message for position in fresh]
        return await connection.fetchrow(
            _WRITE_BATCH,
            [message.conversation_key for message in messages],
            [message.dedup_key for message in messages],
            [message.text for message in messages],
            [message.is_attachment for message in messages],
            [batch[position].now for position in fresh],
            [message.site_id for message in messages],
            [message.client_name for message in messages],
            [message.phone for message in messages],
            [message.dialog_id for message in messages],
            [message.token for message in messages],
            [batch[position].debounce for position in fresh],
            [batch[position].max_wait for position in fresh],
            self._channel,
            timeout=BATCH_TIMEOUT_SECONDS,
        )

    async def close(self) -> None:
        """Finish the batches already queued and close the connection."""
        await super().close()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.close(), CONNECT_TIMEOUT_SECONDS)
            self._connection = None


def _first_copies(batch: Sequence[PendingMessage]) -> list[int]:
    """Positions of the messages to insert: a message id sent twice within the batch is a
    duplicate of its first copy, whatever the first turns out to be (one statement cannot
    tell them apart)."""
    seen: set[str] = set()
    fresh: list[int] = []
    for position, item in enumerate(batch):
        dedup = item.message.dedup_key
        if dedup is None or dedup not in seen:
            if dedup is not None:
                seen.add(dedup)
            fresh.append(position)
    return fresh


def _replayable(batch: Sequence[PendingMessage]) -> bool:
    """Whether writing the batch twice stores each message once: every message has an id."""
    return all(item.message.dedup_key is not None for item in batch)
