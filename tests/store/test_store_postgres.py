"""The store specification (`store_spec.StoreSpec`) against PostgreSQL, the multi-instance store.

Each run migrates its own throwaway database once (`tests/support/postgres.py`), empties it before
every test and drops it at the end. In CI an unreachable server fails these tests instead of
skipping them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from talkme_consultant.store.database import create_engine
from talkme_consultant.store.models import Base
from talkme_consultant.store.store import Store
from tests.store.store_spec import StoreSpec
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
