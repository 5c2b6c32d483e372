"""Dialect-aware INSERT … ON CONFLICT, the same statement shape on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """An `insert()` of the session's dialect, which has `on_conflict_do_*`."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def lock_row(session: AsyncSession, statement: Any) -> Any:
    """Run a SELECT that locks its rows on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()
