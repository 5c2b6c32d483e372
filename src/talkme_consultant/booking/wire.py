"""YCLIENTS' online-booking wire, as the public documentation (developer.yclients.com, «Онлайн
запись») describes it; the client and the stand-in both speak it, so a change is a one-place fix.

Every call goes to ``{YCLIENTS_API_URL}/{method}/{company_id}[/...]`` with
``Authorization: Bearer <partner token>[, User <user token>]`` and
``Accept: application/vnd.yclients.v2+json``; every answer is wrapped as
``{"success": bool, "data": …, "meta": …}``. Answers are read leniently (unknown fields ignored,
numbers that arrive as strings accepted): only what the dialogue needs is required.
What could not be checked against a live account is listed in the README («Запись в YCLIENTS»).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ACCEPT = "application/vnd.yclients.v2+json"

BOOK_SERVICES = "book_services"
BOOK_STAFF = "book_staff"
BOOK_DATES = "book_dates"
BOOK_TIMES = "book_times"
BOOK_CHECK = "book_check"
BOOK_RECORD = "book_record"

# book_check / book_record answer 422 with one of these codes in `meta` when a chosen time is no
# longer free (documented: 433 «время недоступно», 436 «нет свободных сотрудников», 437
# «пересечение записей», 438 «услуга недоступна на это время»).
SLOT_TAKEN_CODES = frozenset({433, 436, 437, 438})


def authorization(partner_token: str, user_token: str | None) -> str:
    """The Authorization header: the partner's token, and the user's when there is one."""
    value = f"Bearer {partner_token}"
    return f"{value}, User {user_token}" if user_token else value


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Envelope(_Wire):
    """Every answer: ``success``, the ``data`` and ``meta`` (a message and a code on errors)."""

    success: bool
    data: Any = None
    meta: Any = None


class BookService(_Wire):
    """A service in ``book_services`` → ``data.services``."""

    id: int
    title: str
    price_min: float | None = None
    price_max: float | None = None
    seance_length: int | None = None  # seconds
    active: int | bool | None = None


class BookServicesData(_Wire):
    """``book_services``' data: the services (events and categories are not read)."""

    services: list[BookService] = Field(default_factory=list)


class BookStaff(_Wire):
    """A master in ``book_staff``'s data."""

    id: int
    name: str
    specialization: str | None = None
    bookable: bool = True


class BookDatesData(_Wire):
    """``book_dates``' data: the dates with free times, ``YYYY-MM-DD``."""

    booking_dates: list[str] = Field(default_factory=list)


class BookTime(_Wire):
    """A free time in ``book_times``' data: ``time`` «HH:MM» and the full ``datetime`` (ISO 8601
    with the branch's offset), ``seance_length`` in seconds."""

    time: str
    datetime: str
    seance_length: int | None = None


class Appointment(_Wire):
    """One appointment of ``book_check`` / ``book_record``: our own ``id`` within the request,
    the service ids, the master (0: any) and the start as ISO 8601."""

    id: int
    services: list[int]
    staff_id: int
    datetime: str


class BookCheckBody(_Wire):
    """``POST book_check/{company_id}``."""

    appointments: list[Appointment]


class BookRecordBody(_Wire):
    """``POST book_record/{company_id}``; ``api_id`` is our key of the booking."""

    phone: str
    fullname: str
    email: str = ""
    comment: str = ""
    api_id: str | None = None
    appointments: list[Appointment]


class BookRecordResult(_Wire):
    """One made appointment in ``book_record``'s data."""

    id: int
    record_id: int
    record_hash: str | None = None


def error_code(meta: Any) -> int | None:
    """The error code an error answer's ``meta`` (or its ``errors``) carries, if any."""
    if not isinstance(meta, dict):
        return None
    for holder in (meta, meta.get("errors")):
        if isinstance(holder, dict) and isinstance(holder.get("code"), int):
            return int(holder["code"])
    return None
