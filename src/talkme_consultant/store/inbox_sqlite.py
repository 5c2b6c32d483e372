"""Group commit for webhook messages on SQLite.

Concurrent webhooks are gathered into batches; each batch is one transaction on a dedicated
connection in a dedicated thread, with prepared SQL — one thread hop and one commit for many
messages instead of a dozen hops each. Every caller still gets its answer only after the commit
that holds its message, so an acknowledged message is never lost. A batch that fails is written
again one message per transaction, so a message the store refuses fails alone and never takes
its neighbours down with it. Same behaviour as `InboxRepository` (its PostgreSQL counterpart),
which the store specs check on both.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from talkme_consultant.store.database import (
    SQLITE_BUSY_PAUSE_SECONDS,
    SQLITE_BUSY_RETRIES,
    SQLITE_BUSY_TIMEOUT_MS,
    is_sqlite_busy,
)
from talkme_consultant.store.gate import WriteGate
from talkme_consultant.store.inbox import IncomingMessage

MAX_BATCH = 256

_INSERT_MESSAGE = """
INSERT INTO inbound_messages (conversation_key, dedup_key, text, is_attachment, received_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
"""

# Mirrors InboxRepository.accept: a new webhook hands the dialogue back to the bot and pushes the
# turn back by the debounce window, never past max_wait after the first waiting message.
_UPSERT_CONVERSATION = """
INSERT INTO conversations (
    key, site_id, client_name, phone, dialog_id, token, state, messages_count, created_at,
    last_activity, due_at, first_pending_at, summarized_upto, prompt_tokens, completion_tokens,
    cost
) VALUES (
    :key, :site_id, :client_name, :phone, :dialog_id, :token, 'bot', 1, :now,
    :now, :now + :debounce, :now, 0, 0, 0, 0
)
ON CONFLICT (key) DO UPDATE SET
    token = excluded.token,
    client_name = coalesce(excluded.client_name, conversations.client_name),
    phone = coalesce(excluded.phone, conversations.phone),
    site_id = coalesce(excluded.site_id, conversations.site_id),
    dialog_id = coalesce(excluded.dialog_id, conversations.dialog_id),
    state = 'bot',
    messages_count = conversations.messages_count + 1,
    last_activity = :now,
    first_pending_at = coalesce(conversations.first_pending_at, :now),
    due_at = min(:now + :debounce, coalesce(conversations.first_pending_at, :now) + :max_wait)
"""


class _Refused(Exception):
    """The store refused one message of a batch (the cause is `error`)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Pending:
    message: IncomingMessage
    now: float
    debounce: float
    max_wait: float
    answer: asyncio.Future[bool]


class BatchedSqliteInbox:
    """`accept()` like `InboxRepository`, with concurrent calls committed together."""

    def __init__(self, database: Path, gate: WriteGate) -> None:
        self._database = database
        self._gate = gate
        # One thread owns the connection, so it is only ever used from that thread.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        self._connection: sqlite3.Connection | None = None
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def accept(
        self, message: IncomingMessage, *, now: float, debounce: float, max_wait: float
    ) -> bool:
        """Store the message and schedule its conversation; False when it is a duplicate."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(message, now, debounce, max_wait, answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await answer

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                async with self._gate.hold(urgent=True):
                    results = await loop.run_in_executor(self._thread, self._write, batch)
            except Exception as error:
                for item in batch:
                    if not item.answer.done():
                        item.answer.set_exception(error)
                continue
            for item, outcome in zip(batch, results, strict=True):
                if item.answer.done():
                    continue
                if isinstance(outcome, BaseException):
                    item.answer.set_exception(outcome)
                else:
                    item.answer.set_result(outcome)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._database, isolation_level=None, timeout=10)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            self._connection = connection
        return self._connection

    def _write(self, batch: list[_Pending]) -> list[bool | Exception]:
        """One transaction for the batch; if a message in it is refused, one per message.

        Only a refused message triggers the fallback: when the database itself fails (locked,
        disk full) every message would fail again, so the error goes to the whole batch.
        """
        connection = self._connect()
        try:
            return list(self._write_together(connection, batch))
        except _Refused as refused:
            if len(batch) == 1:
                return [refused.error]
        # Each message now commits on its own, so each caller gets its own outcome: one that was
        # stored must never hear of a later message's failure (it would be sent again).
        outcomes: list[bool | Exception] = []
        for item in batch:
            try:
                outcomes.extend(self._write_together(connection, [item]))
            except _Refused as refused:
                outcomes.append(refused.error)
            except Exception as error:
                outcomes.append(error)
        return outcomes

    def _write_together(self, connection: sqlite3.Connection, batch: list[_Pending]) -> list[bool]:
        results: list[bool] = []
        _begin_immediate(connection)
        try:
            for item in batch:
                try:
                    results.append(self._write_one(connection, item))
                except Exception as error:
                    raise _Refused(error) from error
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return results

    @staticmethod
    def _write_one(connection: sqlite3.Connection, item: _Pending) -> bool:
        message = item.message
        row = connection.execute(
            _INSERT_MESSAGE,
            (
                message.conversation_key,
                message.dedup_key,
                message.text,
                message.is_attachment,
                item.now,
            ),
        ).fetchone()
        if row is None:
            return False
        connection.execute(
            _UPSERT_CONVERSATION,
            {
                "key": message.conversation_key,
                "site_id": message.site_id,
                "client_name": message.client_name,
                "phone": message.phone,
                "dialog_id": message.dialog_id,
                "token": message.token,
                "now": item.now,
                "debounce": item.debounce,
                "max_wait": item.max_wait,
            },
        )
        return True

    async def close(self) -> None:
        """Finish pending batches and close the connection."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)

        def shut() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown(wait=True)


def _begin_immediate(connection: sqlite3.Connection) -> None:
    """Take SQLite's write lock. Another process (a worker) may hold it past the busy timeout;
    then BEGIN is tried again after a pause, on this writer thread (nothing is written yet)."""
    pause = SQLITE_BUSY_PAUSE_SECONDS
    retries = 0
    while True:
        try:
            connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            retries += 1
            if not is_sqlite_busy(error) or retries > SQLITE_BUSY_RETRIES:
                raise
        time.sleep(pause)
        pause *= 2
