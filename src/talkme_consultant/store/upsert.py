"""Dialect differences in one place: INSERT … ON CONFLICT, row locks, greatest/least, text ends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# The hot path's Core statements run on plain connections, everything else on sessions.
Bind = AsyncSession | AsyncConnection


def dialect_name(bind: Bind) -> str:
    """ "sqlite" or "postgresql"."""
    if isinstance(bind, AsyncConnection):
        return bind.dialect.name
    return bind.get_bind().dialect.name


def insert_for(bind: Bind, table: Any) -> Any:
    """An `insert()` of the bind's dialect, which has `on_conflict_do_*`."""
    if dialect_name(bind) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def lock_row(session: AsyncSession, statement: Any) -> Any:
    """Run a SELECT that locks its rows on PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


def greatest(session: AsyncSession, *values: Any) -> Any:
    """SQL max of the values (SQLite's scalar `max`, PostgreSQL's `greatest`)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.max(*values)
    return func.greatest(*values)


def least(session: AsyncSession, *values: Any) -> Any:
    """SQL min of the values (SQLite's scalar `min`, PostgreSQL's `least`)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.min(*values)
    return func.least(*values)


def last_chars(bind: Bind | str, column: Any, count: Any) -> Any:
    """SQL: the last `count` characters of a text column (SQLite `substr(x, -n)`, PG `right`);
    `bind` may be the dialect's name."""
    if (bind if isinstance(bind, str) else dialect_name(bind)) == "sqlite":
        return func.substr(column, -count, type_=Text)
    return func.right(column, count, type_=Text)
