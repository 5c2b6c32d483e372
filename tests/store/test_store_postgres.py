"""The store specification (`store_spec.StoreSpec`) against PostgreSQL, the multi-instance store.

Each run creates its own database (`talkme_test_<pid>_<random>`) next to the server's `test`
database, migrates it once, empties it before every test and drops it at the end, so parallel
runs and earlier runs never meet. The server is found at TALKME_TEST_POSTGRES_URL, else at
127.0.0.1:5432 as `postgres` or `root` (trust auth). When none answers the tests are skipped,
unless TALKME_REQUIRE_POSTGRES=1 (CI), where an unreachable server is a failure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from talkme_consultant.store.database import create_engine, migrate
from talkme_consultant.store.models import Base
from talkme_consultant.store.store import Store
from tests.store.store_spec import StoreSpec

CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)


async def _admin_url() -> tuple[str | None, list[str]]:
    """The first server URL that answers, and why the others did not."""
    configured = os.environ.get("TALKME_TEST_POSTGRES_URL")
    candidates = [configured] if configured else list(CANDIDATES)
    problems = []
    for url in candidates:
        plain = url.replace("postgresql+asyncpg://", "postgresql://")
        try:
            connection = await asyncpg.connect(plain, timeout=5)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            problems.append(f"{plain}: {type(error).__name__}: {error}")
            continue
        await connection.close()
        return plain, problems
    return None, problems


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database of this run; dropped afterwards."""
    admin, problems = asyncio.run(_admin_url())
    if admin is None:
        reason = "PostgreSQL is not reachable: " + "; ".join(problems)
        if os.environ.get("TALKME_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason + " (set TALKME_TEST_POSTGRES_URL, or TALKME_REQUIRE_POSTGRES=1)")
    name = f"talkme_test_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    # Durability across a power cut is not under test; waiting for fsync on every commit is.
    asyncio.run(_admin(admin, f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
        rendered = url.render_as_string(hide_password=False)
        asyncio.run(migrate(rendered))
        yield rendered
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
