"""Lease owners and failed attempts in the store, on SQLite and on PostgreSQL.

A process holds leases as `<installation>:<random>`; on start it frees what earlier processes of
its installation held, and nothing else. Times are explicit UNIX seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.store.database import create_engine
from talkme_consultant.store.leases import OWNER_MAX_CHARS, process_owner
from talkme_consultant.store.models import Base
from talkme_consultant.store.store import Store
from tests.store.store_spec import LEASE, T0, accept, incoming, pending_ids, send, turn
from tests.store.test_store_postgres import postgres_url

__all__ = ["postgres_url"]  # the module-scoped fixture: one throwaway database per run

INSTALLATION = "box_1"
ME = f"{INSTALLATION}:me"
KEYS = ("earlier", "bare", "mine", "lookalike", "other")
OWNERS = {
    "earlier": f"{INSTALLATION}:0a1b2c",  # a killed earlier process of this installation
    "bare": INSTALLATION,  # held before owners had a random part
    "mine": ME,
    "lookalike": "boxa1:0a1b2c",  # "_" must not match any character
    "other": "other-box:0a1b2c",
}


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A freshly migrated SQLite file, or the run's PostgreSQL database emptied."""
    if store_url.startswith("sqlite"):
        opened = await Store.open(store_url)
    else:
        opened = Store(create_engine(store_url))
        async with opened.engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(table.delete())
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_restarted_process_frees_only_its_installations_earlier_leases(
    store: Store,
) -> None:
    for key in KEYS:
        assert await accept(store, incoming(key, token=f"token-{key}"), T0)
        claimed = await store.conversations.claim(key, OWNERS[key], now=T0 + 2, lease_seconds=LEASE)
        assert claimed is not None

    freed = await store.conversations.release_installation(INSTALLATION, except_owner=ME)

    assert freed == 2
    owners = {}
    for key in KEYS:
        conversation = await store.conversations.get(key)
        assert conversation is not None
        owners[key] = conversation.lease_owner
    assert owners == {**OWNERS, "earlier": None, "bare": None}
    # Freed at once: a restart after kill -9 need not wait for the lease to run out.
    assert sorted(await store.conversations.due_keys(T0 + 3, limit=10)) == ["bare", "earlier"]


async def test_a_restarted_process_frees_its_installations_earlier_outbox_leases(
    store: Store,
) -> None:
    for key in KEYS:
        assert await accept(store, incoming(key, token=f"token-{key}"), T0)
        assert await store.conversations.claim(key, "turn", now=T0 + 2, lease_seconds=LEASE)
        queued = await store.conversations.enqueue_calls(
            key, "turn", f"token-{key}", [send(key)], now=T0 + 2
        )
        assert queued
        [call] = await store.outbox.claim_ready(T0 + 2, LEASE, 1, owner=OWNERS[key])
        assert call.conversation_key == key

    freed = await store.outbox.release_installation(INSTALLATION, except_owner=ME)

    assert freed == 2
    ready = await store.outbox.claim_ready(T0 + 3, LEASE, 10, owner=ME)
    assert sorted(call.conversation_key for call in ready) == ["bare", "earlier"]


async def test_failed_attempts_are_counted_for_the_holder_and_reset_when_the_turn_ends(
    store: Store,
) -> None:
    assert await accept(store, incoming(), T0)
    assert await store.conversations.claim("visitor-1", "a", now=T0 + 2, lease_seconds=LEASE)
    assert await store.conversations.record_failed_attempt("visitor-1", "a") == 1
    assert await store.conversations.record_failed_attempt("visitor-1", "b") is None
    await store.conversations.release("visitor-1", "a", retry_at=T0 + 10)

    again = await store.conversations.claim("visitor-1", "b", now=T0 + 10, lease_seconds=LEASE)
    assert again is not None
    assert again.turn_attempts == 1, "the count survives the lease changing hands"
    assert await store.conversations.record_failed_attempt("visitor-1", "b") == 2

    ids = await pending_ids(store, "visitor-1")
    assert await store.conversations.finish_turn("visitor-1", "b", turn(ids), now=T0 + 11)
    finished = await store.conversations.get("visitor-1")
    assert finished is not None
    assert finished.turn_attempts == 0


def test_each_process_gets_its_own_owner_that_fits_the_column() -> None:
    first, second = process_owner("host-1a2b3c4d"), process_owner("host-1a2b3c4d")
    assert first != second
    assert first.startswith("host-1a2b3c4d:") and second.startswith("host-1a2b3c4d:")
    long = process_owner("h" * 200)
    assert len(long) <= OWNER_MAX_CHARS
