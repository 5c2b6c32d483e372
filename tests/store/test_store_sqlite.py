"""The store specification (`store_spec.StoreSpec`) against SQLite, the embedded default."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.store.store import Store
from tests.store.forgetting_spec import ForgettingSpec
from tests.store.store_spec import StoreSpec


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty store migrated once: copying it costs a tenth of running the migrations."""
    path = tmp_path_factory.mktemp("migrated") / "store.sqlite3"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _migrate(url: str) -> None:
    opened = await Store.open(url)
    await opened.close()


@pytest.fixture
def store_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A private copy of the migrated empty store (opening it still checks the schema)."""
    target = tmp_path / "store.sqlite3"
    shutil.copyfile(migrated_sqlite, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A fresh, migrated SQLite file (WAL, BEGIN IMMEDIATE: the production tuning)."""
    opened = await Store.open(store_url)
    try:
        yield opened
    finally:
        await opened.close()


class TestStoreOnSqlite(StoreSpec, ForgettingSpec):
    """Every store behaviour on SQLite."""
