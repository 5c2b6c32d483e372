"""The booking ledger kept in memory, for specs and benches that run the booking dialogue
without a store (`helpers.calendar.BookingLedger`)."""

from __future__ import annotations

from talkme_consultant.helpers.calendar import PriorBooking


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
