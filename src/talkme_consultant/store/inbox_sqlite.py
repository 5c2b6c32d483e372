"""Group commit for webhook messages on SQLite (see `store/group_commit.py`).

Each batch is one transaction on a dedicated connection in a dedicated thread, with prepared
SQL: one thread hop and one commit for many messages instead of a dozen hops each. Same
behaviour as `InboxRepository`, which the store specs check on every backend.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from talkme_consultant.store.database import (
    SQLITE_BUSY_PAUSE_SECONDS,
    SQLITE_BUSY_RETRIES,
    SQLITE_BUSY_TIMEOUT_MS,
    is_sqlite_busy,
)
from talkme_consultant.store.gate import WriteGate
from talkme_consultant.store.group_commit import (
    BOT_STATE,
    TAKE_MESSAGE_DETAILS,
    GroupCommitInbox,
    MessageRefused,
    PendingMessage,
)

# How often the writer looks for the write lock while another connection holds it.
LOCK_POLL_SECONDS = 0.0005

_INSERT_MESSAGE = """
INSERT INTO inbound_messages (conversation_key, dedup_key, text, is_attachment, received_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
"""

# Mirrors InboxRepository.accept: a new webhook hands the dialogue back to the bot and pushes the
# turn back by the debounce window, never past max_wait after the first waiting message.
_UPSERT_CONVERSATION = (
    """
INSERT INTO conversations (
    key, site_id, client_name, phone, dialog_id, token, state, messages_count, created_at,
    last_activity, due_at, first_pending_at, summarized_upto, prompt_tokens, completion_tokens,
    cost
) VALUES (
    :key, :site_id, :client_name, :phone, :dialog_id, :token, """
    + BOT_STATE
    + """, 1, :now,
    :now, :now + :debounce, :now, 0, 0, 0, 0
)
ON CONFLICT (key) DO UPDATE SET"""
    + TAKE_MESSAGE_DETAILS
    + """
    messages_count = conversations.messages_count + 1,
    last_activity = :now,
    first_pending_at = coalesce(conversations.first_pending_at, :now),
    due_at = min(:now + :debounce, coalesce(conversations.first_pending_at, :now) + :max_wait)
"""
)


class BatchedSqliteInbox(GroupCommitInbox):
    """The SQLite inbox: batches written by one thread on its own connection."""

    def __init__(self, database: Path, gate: WriteGate) -> None:
        super().__init__()
        self._database = database
        self._gate = gate
        # One thread owns the connection, so it is only ever used from that thread.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")
        self._connection: sqlite3.Connection | None = None

    async def write_together(self, batch: list[PendingMessage]) -> list[bool]:
        """The batch in one transaction, taken behind the in-process write gate."""
        async with self._gate.hold(urgent=True):
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._write_together, batch
            )

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self._database, isolation_level=None, timeout=10)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            # The write lock is waited for by `_begin_immediate`; reads in WAL never wait.
            connection.execute("PRAGMA busy_timeout=0")
            self._connection = connection
        return self._connection

    def _write_together(self, batch: list[PendingMessage]) -> list[bool]:
        connection = self._connect()
        results: list[bool] = []
        _begin_immediate(connection)
        try:
            for item in batch:
                try:
                    results.append(self._write_one(connection, item))
                except Exception as error:
                    raise MessageRefused(error) from error
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return results

    @staticmethod
    def _write_one(connection: sqlite3.Connection, item: PendingMessage) -> bool:
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
        await super().close()

        def shut() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown(wait=True)


def _begin_immediate(connection: sqlite3.Connection) -> None:
    """Take SQLite's write lock, looking for it every `LOCK_POLL_SECONDS`.

    SQLite's own busy handler sleeps in growing steps of up to 100 ms, so a webhook that found
    the lock held by a worker's short transaction waited far longer than the transaction took.
    The connection has no busy timeout; this loop waits as long as the handler would
    (`SQLITE_BUSY_TIMEOUT_MS`), then the begin is tried again after a doubling pause, up to
    `SQLITE_BUSY_RETRIES` times. Nothing is written before the lock is held.
    """
    pause = SQLITE_BUSY_PAUSE_SECONDS
    retries = 0
    while True:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if not is_sqlite_busy(error):
                    raise
                if time.monotonic() >= deadline:
                    break
            time.sleep(LOCK_POLL_SECONDS)
        retries += 1
        if retries > SQLITE_BUSY_RETRIES:
            raise sqlite3.OperationalError("database is locked")
        time.sleep(pause)
        pause *= 2
