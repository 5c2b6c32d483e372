"""Throwaway PostgreSQL databases for tests: one per use, migrated, dropped afterwards.

The server is found at TALKME_TEST_POSTGRES_URL, else at 127.0.0.1:5432 as `postgres` or `root`
(trust auth). When none answers, tests that need it are skipped on a developer's machine, but
fail in CI (`CI` set) or with TALKME_REQUIRE_POSTGRES=1: the PostgreSQL promises must really run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from talkme_consultant.store.database import migrate

CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    "postgresql://root@127.0.0.1:5432/test",
)


def postgres_required() -> bool:
    """True where an unreachable server is a failure rather than a skip."""
    return bool(os.environ.get("CI")) or os.environ.get("TALKME_REQUIRE_POSTGRES") == "1"


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


def admin_url_or_skip() -> str:
    """A URL of a reachable server's maintenance database; skips (or fails in CI) otherwise."""
    admin, problems = asyncio.run(_admin_url())
    if admin is None:
        reason = "PostgreSQL is not reachable: " + "; ".join(problems)
        if postgres_required():
            pytest.fail(reason)
        pytest.skip(reason + " (set TALKME_TEST_POSTGRES_URL; CI=1 makes this a failure)")
    return admin


@contextlib.contextmanager
def throwaway_database(*, migrated: bool = True) -> Iterator[str]:
    """A new database (`talkme_test_<pid>_<random>`) as an asyncpg SQLAlchemy URL; dropped after.

    Parallel runs and earlier runs never meet, because every use gets its own name.
    """
    admin = admin_url_or_skip()
    name = f"talkme_test_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    # Durability across a power cut is not under test; waiting for fsync on every commit is.
    asyncio.run(_admin(admin, f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
        rendered = url.render_as_string(hide_password=False)
        if migrated:
            asyncio.run(migrate(rendered))
        yield rendered
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
