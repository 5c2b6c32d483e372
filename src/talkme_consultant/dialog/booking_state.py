"""Where a booking dialogue stands, kept in the bot message's meta (`BOOKING_META`) in the
dialogue memory: a reply after a restart, or on another instance, continues it the same way."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from talkme_consultant.dialog.when import Wish

BOOKING_META = "booking"


class BookingStep(StrEnum):
    """What the bot's last booking message asked."""

    SERVICE = "service"  # which service (open, or a numbered question among `service_options`)
    TIME = "time"  # which of the `offered` times
    CONTACT = "contact"  # the name and / or phone for the chosen time
    LEAD = "lead"  # no calendar to book in: the name and phone for the administrator
    BOOKED = "booked"  # done: `record_id` is the calendar's record
    HANDED_OVER = "handed_over"  # a lead was kept and a person takes over


class ServiceOption(BaseModel):
    """A calendar service offered in a clarifying question."""

    id: int
    title: str


class BookingState(BaseModel):
    """The booking so far; every field is what the visitor said or chose."""

    step: BookingStep
    service_id: int | None = None
    service: str = ""  # the calendar's title, or the visitor's own words without a calendar
    service_options: list[ServiceOption] = Field(default_factory=list)
    staff_id: int = 0
    master: str = ""
    wish_days: list[date] = Field(default_factory=list)
    wish_earliest: time | None = None
    wish_latest: time | None = None
    wish_exact: time | None = None
    wish_label: str = ""
    offered: list[datetime] = Field(default_factory=list)
    chosen: datetime | None = None
    name: str | None = None
    phone: str | None = None
    record_id: int | None = None

    @property
    def wish(self) -> Wish:
        """The wished time as a `Wish`."""
        return Wish(
            days=tuple(self.wish_days),
            earliest=self.wish_earliest,
            latest=self.wish_latest,
            exact=self.wish_exact,
            label=self.wish_label,
        )

    def with_wish(self, wish: Wish) -> BookingState:
        """A copy with a new wished time; times offered for the old one are forgotten."""
        return self.model_copy(
            update={
                "wish_days": list(wish.days),
                "wish_earliest": wish.earliest,
                "wish_latest": wish.latest,
                "wish_exact": wish.exact,
                "wish_label": wish.label,
                "offered": [],
                "chosen": None,
            }
        )

    @property
    def is_open(self) -> bool:
        """True while the dialogue waits for the visitor's answer."""
        return self.step not in (BookingStep.BOOKED, BookingStep.HANDED_OVER)


def pending_booking(meta: Mapping[str, Any] | None) -> BookingState | None:
    """The open booking a bot message's meta keeps, if any (bad or finished meta: None)."""
    if not meta:
        return None
    value = meta.get(BOOKING_META)
    if not isinstance(value, Mapping):
        return None
    try:
        state = BookingState.model_validate(value)
    except ValidationError:
        return None
    return state if state.is_open else None
