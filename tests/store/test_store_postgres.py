"""The store specification (`store_spec.StoreSpec`) against PostgreSQL, the multi-instance store.

Each run migrates its own throwaway database once (`tests/support/postgres.py`), empties it before
every test and drops it at the end. In CI an unreachable server fails these tests instead of
skipping them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from talkme_consultant.store.database import asyncpg_dsn, create_engine
from talkme_consultant.store.models import Base
from talkme_consultant.store.notifications import INBOX_CHANNEL
from talkme_consultant.store.store import Store
from tests.store.forgetting_spec import ForgettingSpec
from tests.store.store_spec import T0, StoreSpec, accept, incoming
from tests.support.eventually import eventually
from tests.support.postgres import throwaway_database


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database of this run; dropped afterwards."""
    with throwaway_database() as url:
        yield url


@pytest.fixture
def store_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Store]:
    """The run's database, emptied for this test (DELETE: TRUNCATE costs ~0.5 s a test)."""
    opened = Store(create_engine(postgres_url))
    async with opened.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())
    try:
        yield opened
    finally:
        await opened.close()


class TestStoreOnPostgres(StoreSpec, ForgettingSpec):
    """Every store behaviour on PostgreSQL (the dialect-specific upserts and row locks)."""


class TestInboxOnPostgres:
    """What only the PostgreSQL inbox does: wake other processes, and outlive its connection."""

    async def test_a_stored_message_wakes_listeners_and_a_duplicate_does_not(
        self, store: Store, postgres_url: str
    ) -> None:
        heard: list[str] = []
        listener = await asyncpg.connect(asyncpg_dsn(postgres_url))
        await listener.add_listener(INBOX_CHANNEL, lambda *_args: heard.append("stored"))
        try:
            assert await accept(store, incoming("visitor-1", 1), T0)
            await eventually(lambda: _count(heard, 1), what="a wake-up for the stored message")
            assert await accept(store, incoming("visitor-1", 1), T0 + 1) is False
            assert await accept(store, incoming("visitor-2", 1), T0 + 2)
            # Notifications arrive in commit order: had the duplicate notified, there would be
            # three by the time the second stored message's one arrives.
            await eventually(lambda: _count(heard, 2), what="a wake-up for the second message")
            assert len(heard) == 2
        finally:
            await listener.close()

    async def test_a_database_restart_costs_no_webhook(
        self, store: Store, postgres_url: str
    ) -> None:
        # The server's goodbye can reach the inbox before its socket closes, so the connection
        # looks open until the next batch starts on it; that batch must go on a new connection.
        # A cut right after each of twenty messages meets that moment in about one in four.
        for number in range(1, 21):
            assert await accept(store, incoming("visitor-1", number), T0 + number)
            await _end_every_connection(postgres_url)
        assert await accept(store, incoming("visitor-1", 21), T0 + 21)
        assert len(await store.conversations.pending_messages("visitor-1")) == 21


async def _count(items: list[str], expected: int) -> bool:
    return len(items) >= expected


async def _end_every_connection(postgres_url: str) -> None:
    """What a database restart does to every connection of the service."""
    admin = await asyncpg.connect(asyncpg_dsn(postgres_url))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
