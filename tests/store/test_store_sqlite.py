"""The store specification (`store_spec.StoreSpec`) against SQLite, the embedded default."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.store.store import Store
from tests.store.store_spec import StoreSpec


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A freshly migrated SQLite file (WAL, BEGIN IMMEDIATE: the production tuning)."""
    opened = await Store.open(store_url)
    try:
        yield opened
    finally:
        await opened.close()


class TestStoreOnSqlite(StoreSpec):
    """Every store behaviour on SQLite."""
