"""A lesson saved by one process (the CLI, another instance) is served by every running one:
each knowledge base rebuilds when the store's version moves, not only on its own changes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import Lessons
from talkme_consultant.store.owner_records import OWNER_FAQ_SOURCE
from talkme_consultant.store.store import Store
from tests.support.eventually import eventually


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    await opened.close()


async def test_an_answer_saved_elsewhere_is_served_by_a_running_knowledge_base(
    store: Store,
) -> None:
    serving = KnowledgeBase(store.knowledge, MemoryEmbeddingCache(), None)
    await serving.refresh()
    watcher = asyncio.create_task(serving.watch(0.05))
    elsewhere = KnowledgeBase(store.knowledge, MemoryEmbeddingCache(), None)
    try:
        await Lessons(store.lessons, elsewhere).add_answer("Есть ли велопарковка?", "Есть.")

        async def served() -> bool:
            hits = await serving.search("велопарковка", 1)
            return bool(hits) and hits[0].record.source.file == OWNER_FAQ_SOURCE

        await eventually(served, timeout=10, what="the answer served by the other process")
        assert serving.version == await store.knowledge.stored_version()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await serving.close()
        await elsewhere.close()
