"""The booking ledger kept in memory, for specs and benches that run the booking dialogue
without a store (`helpers.calendar.BookingLedger`), and a time in the stand-in calendar."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from talkme_consultant.booking.standin import RunningStandIn
from talkme_consultant.helpers.calendar import PriorBooking


def tomorrow_at(calendar: RunningStandIn, hour: int) -> datetime:
    """Tomorrow at `hour` o'clock in the stand-in calendar's time zone."""
    day = calendar.state.today() + timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=calendar.state.zone)


class MemoryLedger:
    """The booking ledger in memory: an intent before `book_record`, its record id after."""

    def __init__(self) -> None:
        self.rows: dict[str, PriorBooking] = {}

    async def find(self, api_id: str) -> PriorBooking | None:
        return self.rows.get(api_id)

    async def begin(self, api_id: str, conversation_key: str, details: str) -> PriorBooking | None:
        prior = self.rows.get(api_id)
        if prior is None:
            self.rows[api_id] = PriorBooking(details=details, record_id=None)
        return prior

    async def made(self, api_id: str, record_id: int) -> None:
        self.rows[api_id] = PriorBooking(details=self.rows[api_id].details, record_id=record_id)
