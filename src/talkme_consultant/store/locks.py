"""Locks that span processes: one instance at a time migrates the schema or builds the index.

On PostgreSQL a session advisory lock, held on one connection for the duration of the block (the
server frees it if the process dies). On a SQLite file an exclusive `flock` on a file beside the
database, which the kernel frees if the process dies. An in-memory SQLite database is private to
its process, so nothing is locked there.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from talkme_consultant.helpers.private_files import make_private_file

LOCK_MIGRATIONS = "migrations"
LOCK_KNOWLEDGE = "knowledge-build"
# A flock is tried without blocking, so that waiting stays cancellable (a thread blocked in
# flock could not be stopped at shutdown).
_FLOCK_POLL_SECONDS = 0.05


def advisory_key(name: str) -> int:
    """The signed 64-bit advisory-lock key of a lock name, the same in every process."""
    digest = hashlib.sha256(f"talkme-consultant:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def sqlite_lock_path(url: str, name: str) -> Path | None:
    """The lock file for `name` beside a SQLite database file; None for other databases."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    return Path(f"{database}.{name}.lock")


@contextlib.asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str) -> AsyncIterator[None]:
    """Hold the process-spanning lock `name` for the duration of the block (waits for it)."""
    if engine.dialect.name == "postgresql":
        async with _advisory(engine, advisory_key(name)):
            yield
        return
    path = sqlite_lock_path(engine.url.render_as_string(hide_password=False), name)
    if path is None:
        yield
        return
    async with file_lock(path):
        yield


@contextlib.asynccontextmanager
async def _advisory(engine: AsyncEngine, key: int) -> AsyncIterator[None]:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        await connection.commit()
        try:
            yield
        finally:
            try:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await connection.commit()
            except Exception:
                # The connection is broken (so the server has freed the lock), or the unlock
                # failed: never hand a connection that may still hold it back to the pool.
                await connection.invalidate()


@contextlib.asynccontextmanager
async def file_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive `flock` on `path` (created owner-only), polled so the wait can be cancelled."""
    make_private_file(path)
    descriptor = os.open(path, os.O_RDWR)
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(_FLOCK_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
