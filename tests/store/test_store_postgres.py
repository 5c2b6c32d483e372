"""The store specification (`store_spec.StoreSpec`) against PostgreSQL, the multi-instance store.

Each run migrates its own throwaway database once (`tests/support/postgres.py`), empties it before
every test and drops it at the end. In CI an unreachable server fails these tests instead of
skipping them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from talkme_consultant.store.database import create_engine
from talkme_consultant.store.models import Base
from talkme_consultant.store.notifications import INBOX_CHANNEL
from talkme_consultant.store.store import Store
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


class TestStoreOnPostgres(StoreSpec):
    """Every store behaviour on PostgreSQL (the dialect-specific upserts and row locks)."""


class TestInboxOnPostgres:
    """What only the PostgreSQL inbox does: wake other processes, and outlive its connection."""

    async def test_a_stored_message_wakes_listeners_and_a_duplicate_does_not(
        self, store: Store, postgres_url: str
    ) -> None:
        heard: list[str] = []
        listener = await asyncpg.connect(plain_url(postgres_url))
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

    async def test_the_inbox_reconnects_when_the_server_drops_its_connection(
        self, store: Store, postgres_url: str
    ) -> None:
        assert await accept(store, incoming("visitor-1", 1), T0)
        admin = await asyncpg.connect(plain_url(postgres_url))
        try:
            # What a database restart does to every connection of the service.
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()

        async def stored_again() -> bool:
            try:
                return await accept(store, incoming("visitor-1", 2), T0 + 1)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                raise AssertionError(f"not stored yet: {type(error).__name__}") from error

        assert await eventually(stored_again, what="a message stored after the cut")
        assert [m.text for m in await store.conversations.pending_messages("visitor-1")] == [
            "Здравствуйте",
            "Здравствуйте",
        ]


async def _count(items: list[str], expected: int) -> bool:
    return len(items) >= expected


def plain_url(url: str) -> str:
    """The URL as asyncpg takes it (no SQLAlchemy driver name)."""
    return url.replace("postgresql+asyncpg://", "postgresql://")
