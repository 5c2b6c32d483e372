"""A running turn keeps its lease, and stops as soon as the lease is no longer its own.

A real SQLite store holds the lease; the "turn" is a coroutine that takes longer than the lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.service.clock import now
from talkme_consultant.service.heartbeat import Heartbeat, LeaseLost
from talkme_consultant.store.store import Store
from tests.store.store_spec import accept, incoming
from tests.support.eventually import eventually

# Long enough that a busy machine's scheduling delays stay well inside one renewal period.
LEASE = 1.5
KEY = "visitor-1"
OWNER = "box:0a1b2c"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        assert await accept(opened, incoming(KEY), now() - 10)
        assert await opened.conversations.claim(KEY, OWNER, now=now(), lease_seconds=LEASE)
        yield opened
    finally:
        await opened.close()


def heartbeat(store: Store) -> Heartbeat:
    return Heartbeat(lambda: store.conversations.extend_lease(KEY, OWNER, now() + LEASE), LEASE)


async def test_a_turn_longer_than_the_lease_keeps_it(store: Store) -> None:
    async def slow_turn() -> str:
        # The turn outlasts its lease several times over; nobody may take the conversation.
        deadline = now() + 3 * LEASE
        while now() < deadline:
            taken = await store.conversations.claim(KEY, "other:9f8e7d", now=now(), lease_seconds=1)
            assert taken is None
            await asyncio.sleep(LEASE / 4)
        return "answered"

    assert await heartbeat(store).run(slow_turn()) == "answered"
    conversation = await store.conversations.get(KEY)
    assert conversation is not None
    assert conversation.lease_owner == OWNER


async def test_a_turn_whose_lease_is_taken_stops_at_once(store: Store) -> None:
    stopped = asyncio.Event()

    async def endless_turn() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    running = asyncio.create_task(heartbeat(store).run(endless_turn()))
    # A restart of the same installation frees the lease; another worker may claim it now.
    assert await store.conversations.release_installation("box", except_owner="box:new") == 1

    async def turn_stopped() -> bool:
        return stopped.is_set()

    await eventually(turn_stopped, what="the turn is cancelled", timeout=5 * LEASE + 5)
    with pytest.raises(LeaseLost):
        await running


async def test_a_turn_that_is_committing_is_left_to_finish(store: Store) -> None:
    keeper = heartbeat(store)
    committed = asyncio.Event()
    lease_gone = asyncio.Event()

    async def committing_turn() -> str:
        keeper.mark_committing()
        await store.conversations.release_installation("box", except_owner="box:new")
        lease_gone.set()
        # The commit checks the lease itself; the heartbeat must not cut it short.
        await eventually(lambda: _is_lost(keeper), what="the heartbeat notices")
        committed.set()
        return "commit refused cleanly"

    assert await keeper.run(committing_turn()) == "commit refused cleanly"
    assert lease_gone.is_set() and committed.is_set()


async def _is_lost(keeper: Heartbeat) -> bool:
    return keeper.lost


async def test_cancelling_the_worker_is_not_mistaken_for_a_lost_lease(store: Store) -> None:
    started = asyncio.Event()

    async def endless_turn() -> None:
        started.set()
        await asyncio.Event().wait()

    running = asyncio.create_task(heartbeat(store).run(endless_turn()))
    await started.wait()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
