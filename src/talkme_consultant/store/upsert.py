"""Dialect differences in one place: INSERT … ON CONFLICT, row locks, greatest/least, text ends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, func
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


def last_chars(session: AsyncSession, column: Any, count: int) -> Any:
    """SQL: the last `count` characters of a text column (SQLite `substr(x, -n)`, PG `right`)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(column, -count, type_=Text)
    return func.right(column, count, type_=Text)
