"""The booking ledger: each booking's intent before `book_record` and its record id after.

Written in commits of their own, outside the turn's: the turn that makes a record may still
crash before its own commit, and the turn retried then must find what the calendar was asked.
Implements `helpers.calendar.BookingLedger`.
"""

from __future__ import annotations

import time

from sqlalchemy import select, update

from talkme_consultant.helpers.calendar import PriorBooking
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import BookingRow
from talkme_consultant.store.upsert import insert_for


class BookingRepository:
    """Bookings by our `api_id`."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def find(self, api_id: str) -> PriorBooking | None:
        """The booking kept under `api_id`, if any."""
        async with self._sessions.read() as session:
            row = await session.scalar(select(BookingRow).where(BookingRow.api_id == api_id))
        return PriorBooking(details=row.details, record_id=row.record_id) if row else None

    async def begin(self, api_id: str, conversation_key: str, details: str) -> PriorBooking | None:
        """Keep the intent; the booking already kept under `api_id`, if there was one."""
        async with self._sessions.write() as session:
            prior = await session.scalar(select(BookingRow).where(BookingRow.api_id == api_id))
            if prior is not None:
                return PriorBooking(details=prior.details, record_id=prior.record_id)
            await session.execute(
                insert_for(session, BookingRow)
                .values(
                    api_id=api_id,
                    conversation_key=conversation_key,
                    details=details,
                    created_at=time.time(),
                )
                .on_conflict_do_nothing(index_elements=["api_id"])
            )
        return None

    async def made(self, api_id: str, record_id: int) -> None:
        """Keep the calendar's record id."""
        async with self._sessions.write() as session:
            await session.execute(
                update(BookingRow).where(BookingRow.api_id == api_id).values(record_id=record_id)
            )

    async def record_ids(self, conversation_key: str) -> list[int]:
        """The records made for a conversation, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(BookingRow.record_id)
                .where(BookingRow.conversation_key == conversation_key)
                .where(BookingRow.record_id.is_not(None))
                .order_by(BookingRow.created_at)
            )
            return [int(value) for value in rows if value is not None]
