"""What a booking dialogue asks of a calendar, as values and one protocol.

The dialog room books through `Calendar` without knowing which system keeps the calendar; the
YCLIENTS client (`booking/yclients.py`) implements it, and another system can later. It lives
below both rooms because the dialog and the booking room are siblings that import nothing of
each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

ANY_MASTER = 0
"""The staff id that means «any free master», as YCLIENTS takes it."""


@dataclass(frozen=True)
class CalendarService:
    """A service the calendar books, with its price range in roubles and length in minutes."""

    id: int
    title: str
    price_min: float | None = None
    price_max: float | None = None
    minutes: int | None = None


@dataclass(frozen=True)
class Master:
    """A master (staff member) who can be booked."""

    id: int
    name: str
    specialization: str = ""


@dataclass(frozen=True)
class BookingRequest:
    """One appointment to check or make; `api_id` is ours, so a retried turn can be recognised."""

    service_id: int
    staff_id: int
    at: datetime
    phone: str
    fullname: str
    api_id: str
    comment: str = ""


@dataclass(frozen=True)
class BookingMade:
    """The calendar's record of a made appointment."""

    record_id: int
    record_hash: str | None = None


class CalendarFailure(StrEnum):
    """Why a calendar call did not succeed, in the terms the dialogue acts on."""

    UNAVAILABLE = "unavailable"  # down, slow, or not asked while its breaker is open
    UNAUTHORIZED = "unauthorized"  # a token the calendar refuses
    SLOT_TAKEN = "slot_taken"  # the time was taken by someone else meanwhile
    REJECTED = "rejected"  # the calendar refused the request for another reason


class CalendarError(Exception):
    """A calendar call that did not succeed; its message never holds a token."""

    def __init__(self, failure: CalendarFailure, detail: str) -> None:
        super().__init__(f"{failure.value}: {detail}")
        self.failure = failure


class Calendar(Protocol):
    """The online-booking calendar of one business (one company / branch)."""

    async def services(self) -> list[CalendarService]:
        """The services that can be booked online."""
        ...

    async def masters(self, service_id: int) -> list[Master]:
        """The masters who can be booked for the service."""
        ...

    async def dates(self, service_id: int, staff_id: int) -> list[date]:
        """The days that still have free times for the service (and master)."""
        ...

    async def times(self, service_id: int, staff_id: int, day: date) -> list[datetime]:
        """The free start times of the day, in the business's time zone, earliest first."""
        ...

    async def check(self, request: BookingRequest) -> None:
        """Whether the appointment can be made; raises `CalendarError` when it cannot."""
        ...

    async def record(self, request: BookingRequest) -> BookingMade:
        """Make the appointment; raises `CalendarError` when it cannot be made."""
        ...


@dataclass(frozen=True)
class PriorBooking:
    """A booking the ledger already holds under an `api_id`: what was being booked (`details`,
    as the dialogue wrote them) and whether it was made (`record_id`; None: the turn that began
    it ended before the calendar's answer was kept)."""

    details: str
    record_id: int | None


class BookingLedger(Protocol):
    """Where a booking's intent and record id are kept outside the turn, so a turn retried after
    a crash never makes a second record."""

    async def find(self, api_id: str) -> PriorBooking | None:
        """The booking kept under `api_id`, if any."""
        ...

    async def begin(self, api_id: str, conversation_key: str, details: str) -> PriorBooking | None:
        """Keep the intent before `book_record`; the booking already kept under `api_id`, if any."""
        ...

    async def made(self, api_id: str, record_id: int) -> None:
        """Keep the calendar's record id of the booking."""
        ...
