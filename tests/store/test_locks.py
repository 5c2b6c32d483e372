"""Locks that span processes: a second holder waits until the first lets go, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from talkme_consultant.store.database import create_engine
from talkme_consultant.store.locks import LOCK_KNOWLEDGE, LOCK_MIGRATIONS, exclusive
from tests.support.eventually import eventually
from tests.support.postgres import throwaway_database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with throwaway_database(migrated=False) as url:
        yield url


async def second_waits_for_first(first: AsyncEngine, second: AsyncEngine) -> None:
    """While `first` holds the lock, `second` does not get it; once released, it does."""
    order: list[str] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with exclusive(first, LOCK_KNOWLEDGE):
            order.append("first in")
            await release.wait()
            order.append("first out")

    async def wait_turn() -> None:
        async with exclusive(second, LOCK_KNOWLEDGE):
            order.append("second in")

    async def first_in() -> bool:
        return order == ["first in"]

    holder = asyncio.create_task(hold())
    await eventually(first_in, what="the first holder")
    waiter = asyncio.create_task(wait_turn())
    # Something that must not happen can only be given a while to happen anyway.
    done, _ = await asyncio.wait({waiter}, timeout=0.5)
    assert not done and order == ["first in"]
    release.set()
    await asyncio.gather(holder, waiter)
    assert order == ["first in", "first out", "second in"]


async def test_two_processes_on_one_sqlite_file_take_turns(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
    first, second = create_engine(url), create_engine(url)
    try:
        await second_waits_for_first(first, second)
    finally:
        await first.dispose()
        await second.dispose()


async def test_two_processes_on_one_postgresql_database_take_turns(postgres_url: str) -> None:
    first, second = create_engine(postgres_url), create_engine(postgres_url)
    try:
        await second_waits_for_first(first, second)
    finally:
        await first.dispose()
        await second.dispose()


async def test_different_locks_do_not_wait_for_each_other(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    held: list[str] = []
    try:
        async with (
            exclusive(engine, LOCK_KNOWLEDGE),
            asyncio.timeout(5),
            exclusive(engine, LOCK_MIGRATIONS),
        ):
            held.append("both")
    finally:
        await engine.dispose()
    assert held == ["both"]
