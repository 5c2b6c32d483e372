"""The YCLIENTS online-booking client: the `Calendar` of one company, over the wire of `wire.py`.

What it promises the dialogue:
* every call is bounded by a timeout;
* reads and ``book_check`` are retried once on a 5xx and on nothing else (a timeout has already
  cost the visitor its full wait); ``book_record`` is never retried (a 5xx may still have made
  the record);
* a calendar that failed `failures_to_open` calls in a row (a call: its attempts together) is not
  asked again for a cooldown (`breaker.py`), so a dead calendar costs a visitor one timeout once,
  not on every turn;
* failures are `CalendarError`s in the dialogue's terms; no token is ever in a message or a log
  line (only the method and the HTTP status are).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, tzinfo
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from talkme_consultant.booking import wire
from talkme_consultant.booking.breaker import CircuitBreaker
from talkme_consultant.config import Settings
from talkme_consultant.helpers.calendar import (
    BookingMade,
    BookingRequest,
    CalendarError,
    CalendarFailure,
    CalendarService,
    Master,
)

log = logging.getLogger(__name__)

_ATTEMPTS = 2  # a read or book_check: the first try and one more after a 5xx
_M = TypeVar("_M", bound=BaseModel)


class YclientsClient:
    """A `Calendar` over YCLIENTS' online-booking methods for one company."""

    def __init__(
        self,
        *,
        base_url: str,
        company_id: int,
        partner_token: str,
        user_token: str | None = None,
        timeout: float = 4.0,
        breaker: CircuitBreaker | None = None,
        zone: tzinfo | None = None,
    ) -> None:
        self._company_id = company_id
        self._zone = zone
        self._breaker = breaker or CircuitBreaker(failures_to_open=2, cooldown=60.0)
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(timeout),
            headers={
                "Authorization": wire.authorization(partner_token, user_token),
                "Accept": wire.ACCEPT,
                "Content-Type": "application/json",
            },
        )

    @classmethod
    def from_settings(cls, settings: Settings, zone: tzinfo | None = None) -> YclientsClient:
        """The client the settings describe (`settings.booking_enabled` must be true)."""
        partner = settings.yclients_partner_token
        if partner is None or settings.yclients_company_id is None:
            raise ValueError("YCLIENTS_PARTNER_TOKEN and YCLIENTS_COMPANY_ID are required")
        user = settings.yclients_user_token
        return cls(
            base_url=settings.yclients_api_url,
            company_id=settings.yclients_company_id,
            partner_token=partner.get_secret_value().strip(),
            user_token=user.get_secret_value().strip() if user else None,
            timeout=settings.yclients_timeout_seconds,
            breaker=CircuitBreaker(
                settings.yclients_failures_to_open, settings.yclients_cooldown_seconds
            ),
            zone=zone,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def services(self) -> list[CalendarService]:
        data = await self._get(wire.BOOK_SERVICES, f"{wire.BOOK_SERVICES}/{self._company_id}")
        parsed = _parse(wire.BookServicesData, data, wire.BOOK_SERVICES)
        return [
            CalendarService(
                id=item.id,
                title=item.title,
                price_min=item.price_min,
                price_max=item.price_max,
                minutes=item.seance_length // 60 if item.seance_length else None,
            )
            for item in parsed.services
            if item.active is None or bool(item.active)
        ]

    async def masters(self, service_id: int) -> list[Master]:
        data = await self._get(
            wire.BOOK_STAFF,
            f"{wire.BOOK_STAFF}/{self._company_id}",
            params={"service_ids[]": service_id},
        )
        staff = [_parse(wire.BookStaff, item, wire.BOOK_STAFF) for item in _listed(data)]
        return [
            Master(id=item.id, name=item.name, specialization=item.specialization or "")
            for item in staff
            if item.bookable
        ]

    async def dates(self, service_id: int, staff_id: int) -> list[date]:
        data = await self._get(
            wire.BOOK_DATES,
            f"{wire.BOOK_DATES}/{self._company_id}",
            params={"service_ids[]": service_id, "staff_id": staff_id},
        )
        parsed = _parse(wire.BookDatesData, data, wire.BOOK_DATES)
        days: list[date] = []
        for text in parsed.booking_dates:
            try:
                days.append(date.fromisoformat(text[:10]))
            except ValueError:
                log.warning("yclients %s: a date that cannot be read was skipped", wire.BOOK_DATES)
        return sorted(days)

    async def times(self, service_id: int, staff_id: int, day: date) -> list[datetime]:
        data = await self._get(
            wire.BOOK_TIMES,
            f"{wire.BOOK_TIMES}/{self._company_id}/{staff_id}/{day.isoformat()}",
            params={"service_ids[]": service_id},
        )
        found: list[datetime] = []
        for item in _listed(data):
            slot = _parse(wire.BookTime, item, wire.BOOK_TIMES)
            try:
                moment = datetime.fromisoformat(slot.datetime)
            except ValueError:
                log.warning("yclients %s: a time that cannot be read was skipped", wire.BOOK_TIMES)
                continue
            if moment.tzinfo is None and self._zone is not None:
                moment = moment.replace(tzinfo=self._zone)
            found.append(moment)
        return sorted(found)

    async def check(self, request: BookingRequest) -> None:
        body = wire.BookCheckBody(appointments=[_appointment(request)])
        await self._post(wire.BOOK_CHECK, body)

    async def record(self, request: BookingRequest) -> BookingMade:
        body = wire.BookRecordBody(
            phone=request.phone,
            fullname=request.fullname,
            comment=request.comment,
            api_id=request.api_id,
            appointments=[_appointment(request)],
        )
        data = await self._post(wire.BOOK_RECORD, body)
        made = [_parse(wire.BookRecordResult, item, wire.BOOK_RECORD) for item in _listed(data)]
        if not made:
            raise CalendarError(CalendarFailure.REJECTED, f"{wire.BOOK_RECORD}: no record in reply")
        return BookingMade(record_id=made[0].record_id, record_hash=made[0].record_hash)

    async def _get(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._attempts(method, "GET", path, _ATTEMPTS, params=params)

    async def _post(self, method: str, body: BaseModel) -> Any:
        path = f"{method}/{self._company_id}"
        # book_check changes nothing and may be retried; book_record is sent once.
        attempts = _ATTEMPTS if method == wire.BOOK_CHECK else 1
        payload = body.model_dump(mode="json", exclude_none=True)
        return await self._attempts(method, "POST", path, attempts, json=payload)

    async def _attempts(
        self, method: str, verb: str, path: str, attempts: int, **kwargs: Any
    ) -> Any:
        """One call: retried on a 5xx only; a call that gets no answer opens the breaker."""
        if not self._breaker.allow():
            raise CalendarError(CalendarFailure.UNAVAILABLE, f"{method}: calendar paused")
        for attempt in range(1, attempts + 1):
            try:
                data = await self._call(method, verb, path, **kwargs)
            except _ServerError:
                if attempt < attempts:
                    continue
                self._breaker.failed()
                raise
            except CalendarError as error:
                if error.failure is CalendarFailure.UNAVAILABLE:
                    self._breaker.failed()  # a timeout or a network error: not retried
                else:
                    self._breaker.succeeded()  # it answered, if only to refuse
                raise
            self._breaker.succeeded()
            return data
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _call(self, method: str, verb: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(verb, path, **kwargs)
        except httpx.HTTPError as error:
            log.warning("yclients %s failed: %s", method, type(error).__name__)
            raise CalendarError(
                CalendarFailure.UNAVAILABLE, f"{method}: {type(error).__name__}"
            ) from None
        if response.status_code >= 500:
            log.warning("yclients %s answered HTTP %s", method, response.status_code)
            raise _ServerError(
                CalendarFailure.UNAVAILABLE, f"{method}: HTTP {response.status_code}"
            )
        if response.status_code in (401, 403):
            log.error("yclients %s refused the tokens (HTTP %s)", method, response.status_code)
            raise CalendarError(
                CalendarFailure.UNAUTHORIZED, f"{method}: HTTP {response.status_code}"
            )
        try:
            envelope = wire.Envelope.model_validate(response.json())
        except (ValueError, ValidationError):
            raise CalendarError(
                CalendarFailure.REJECTED, f"{method}: HTTP {response.status_code}, unreadable"
            ) from None
        if response.status_code >= 400 or not envelope.success:
            code = wire.error_code(envelope.meta)
            failure = (
                CalendarFailure.SLOT_TAKEN
                if code in wire.SLOT_TAKEN_CODES
                else CalendarFailure.REJECTED
            )
            raise CalendarError(failure, f"{method}: HTTP {response.status_code}, code {code}")
        return envelope.data


class _ServerError(CalendarError):
    """A 5xx answer: the one failure worth another attempt."""


def _appointment(request: BookingRequest) -> wire.Appointment:
    return wire.Appointment(
        id=1,
        services=[request.service_id],
        staff_id=request.staff_id,
        datetime=request.at.isoformat(),
    )


def _listed(data: Any) -> list[Any]:
    return data if isinstance(data, list) else []


def _parse(model: type[_M], data: Any, method: str) -> _M:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError:
        raise CalendarError(CalendarFailure.REJECTED, f"{method}: unexpected answer") from None
