"""Leads as the owner works through them: newest first, with a status the owner sets."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import func, select, update

from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import Lead


class LeadStatus(StrEnum):
    """Where the owner is with a lead."""

    NEW = "new"
    BOOKED = "booked"  # the bot made the record in the calendar
    CALLED = "called"
    DONE = "done"


class LeadRepository:
    """Reading leads page by page and moving their status."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def count(self, status: LeadStatus | None = None) -> int:
        """How many leads (of one status)."""
        query = select(func.count()).select_from(Lead)
        if status is not None:
            query = query.where(Lead.status == status.value)
        async with self._sessions.read() as session:
            return int(await session.scalar(query) or 0)

    async def page(
        self, *, offset: int, limit: int, status: LeadStatus | None = None
    ) -> list[Lead]:
        """Leads, newest first."""
        query = select(Lead).order_by(Lead.created_at.desc(), Lead.id.desc())
        if status is not None:
            query = query.where(Lead.status == status.value)
        async with self._sessions.read() as session:
            rows = await session.execute(query.offset(offset).limit(limit))
            return list(rows.scalars())

    async def of_conversation(self, key: str) -> list[Lead]:
        """The leads a conversation produced."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(Lead).where(Lead.conversation_key == key).order_by(Lead.id)
            )
            return list(rows.scalars())

    async def set_status(self, lead_id: int, status: LeadStatus) -> bool:
        """Move a lead to `status`; False when there is no such lead."""
        async with self._sessions.write() as session:
            result = await session.execute(
                update(Lead).where(Lead.id == lead_id).values(status=status.value)
            )
            return bool(getattr(result, "rowcount", 0))
