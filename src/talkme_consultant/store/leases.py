"""Leases: who holds a conversation (or an outbox call) while working on it, and for how long.

A process holds leases as `<installation>:<random>`. The random part means two processes never
mistake each other's leases for their own (a restart that overlaps its predecessor, or two
instances started from one configuration); the installation part lets a restarted process free
at once whatever its killed predecessors left behind.

A turn worker claims a due conversation, keeps its lease alive while the turn runs and gives it
back (`ConversationLeases`); every write of the turn first checks, under the row lock, that it
still holds it (`hold_lease`), so a turn whose lease was taken over writes nothing.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import ColumnElement, Float, String, bindparam, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import Conversation, OutboxCall, table_of

# `lease_owner` columns are String(64); the random suffix takes 13 of them.
OWNER_MAX_CHARS = 64
_SUFFIX_HEX = 6


def installation_name(instance_name: str) -> str:
    """The installation part of an owner, cut so that a whole owner fits its column."""
    return instance_name[: OWNER_MAX_CHARS - 1 - 2 * _SUFFIX_HEX]


def process_owner(instance_name: str) -> str:
    """A fresh owner for this process: `<installation>:<random>`."""
    return f"{installation_name(instance_name)}:{secrets.token_hex(_SUFFIX_HEX)}"


def held_by_installation(
    column: InstrumentedAttribute[str | None], instance_name: str, *, except_owner: str | None
) -> ColumnElement[bool]:
    """Rows leased by any process of this installation other than `except_owner` (and by the
    bare installation name, which owners were before they got a random part)."""
    name = installation_name(instance_name)
    condition = or_(column == name, column.startswith(f"{name}:", autoescape=True))
    if except_owner is not None:
        condition = condition & (column != except_owner)
    return condition


async def release_held(
    session: AsyncSession,
    table: type[Conversation] | type[OutboxCall],
    instance_name: str,
    except_owner: str,
    *only: ColumnElement[bool],
) -> int:
    """Free the leases on `table`'s rows (those matching `only`) that processes of this
    installation other than `except_owner` hold; returns how many were freed."""
    result = await session.execute(
        update(table)
        .where(
            held_by_installation(table.lease_owner, instance_name, except_owner=except_owner),
            *only,
        )
        .values(lease_owner=None, lease_until=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def lease_free(
    lease_until: InstrumentedAttribute[float | None] | ColumnElement[float | None],
    now: float | ColumnElement[float],
) -> ColumnElement[bool]:
    """Rows whose lease is not held at `now`: never taken, or run out."""
    return (lease_until.is_(None)) | (lease_until < now)


class LeaseNotHeld(Exception):
    """Raised inside a write to roll it back: another worker holds the conversation now."""


_CONVERSATIONS = table_of(Conversation)


# A turn's lease statements, built once with bound parameters (they run for every answer).
_LOCKED = select(
    _CONVERSATIONS.c.lease_owner, _CONVERSATIONS.c.budget_day, _CONVERSATIONS.c.budget_tokens
).where(_CONVERSATIONS.c.key == bindparam("p_key", type_=String))
# PostgreSQL locks the row; SQLite's BEGIN IMMEDIATE already holds the whole database.
_LOCKED_FOR_UPDATE = _LOCKED.with_for_update()
_NOW = bindparam("p_now", type_=Float)
_CLAIM = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.key == bindparam("p_key", type_=String))
    .where(_CONVERSATIONS.c.due_at <= _NOW)
    .where(lease_free(_CONVERSATIONS.c.lease_until, _NOW))
    .values(lease_owner=bindparam("p_owner", type_=String), lease_until=bindparam("p_until"))
    .returning(*_CONVERSATIONS.c)
)


async def hold_lease(connection: AsyncConnection, key: str, owner: str) -> Row[Any]:
    """Lock the conversation's row and return what a turn's end reads of it (its budget
    count); `LeaseNotHeld` (rolling the write back) when `owner` no longer holds its lease or
    it was forgotten."""
    locking: Any = _LOCKED_FOR_UPDATE if connection.dialect.name == "postgresql" else _LOCKED
    row = (await connection.execute(locking, {"p_key": key})).first()
    if row is None or row.lease_owner != owner:
        raise LeaseNotHeld
    return row


async def claim_in(
    connection: AsyncConnection, key: str, owner: str, *, now: float, lease_seconds: float
) -> Conversation | None:
    """Take the conversation's lease in `connection`'s transaction if it is due and free; the
    row (detached) or None."""
    values = {"p_key": key, "p_now": now, "p_owner": owner, "p_until": now + lease_seconds}
    row = (await connection.execute(_CLAIM, values)).first()
    return Conversation(**row._mapping) if row is not None else None


class ConversationLeases:
    """Taking, keeping and giving back a conversation's lease (one turn worker at a time)."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def claim(
        self, key: str, owner: str, *, now: float, lease_seconds: float
    ) -> Conversation | None:
        """Take the conversation's lease if it is due and free; the winner gets the row."""
        async with self._sessions.write_connection() as connection:
            return await claim_in(connection, key, owner, now=now, lease_seconds=lease_seconds)

    async def extend_lease(self, key: str, owner: str, until: float) -> bool:
        """Keep a long turn's lease alive; False when another worker has taken it over."""
        async with self._sessions.write_connection() as connection:
            columns = _CONVERSATIONS.c
            result = await connection.execute(
                update(_CONVERSATIONS)
                .where(columns.key == key, columns.lease_owner == owner)
                .values(lease_until=until)
            )
            return bool(result.rowcount)

    async def release(self, key: str, owner: str, *, retry_at: float | None = None) -> None:
        """Give the lease back without finishing the turn (e.g. after an unexpected error)."""
        async with self._sessions.write() as session:
            values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
            if retry_at is not None:
                values["due_at"] = retry_at
            await session.execute(
                update(Conversation)
                .where(Conversation.key == key, Conversation.lease_owner == owner)
                .values(**values)
            )

    async def release_installation(self, instance_name: str, *, except_owner: str) -> int:
        """Free every conversation lease held by earlier processes of this installation.

        They were killed or stopped (this process is their restart), so what they held is
        orphaned; should one still be running, it loses the lease and commits nothing.
        """
        async with self._sessions.write() as session:
            return await release_held(session, Conversation, instance_name, except_owner)
