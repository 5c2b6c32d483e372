"""A YCLIENTS stand-in for tests, benches and `simulate`: the online-booking wire of `wire.py`
with its own calendar, a time that gets taken at the last moment, and faults.

Production code never imports it (an import-linter contract says so). The calendar is the shipped
salon's: a few services of its price list, four masters, free times every hour from 10:00 to
19:00 for two weeks in the business's time zone, some of them busy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from talkme_consultant.booking import wire
from talkme_consultant.helpers.serving import serve_app

API_PREFIX = "/api/v1"
PARTNER_TOKEN = "standin-partner-token"
USER_TOKEN = "standin-user-token"
COMPANY_ID = 4242

Fault = Literal["none", "down", "slow", "unauthorized"]


@dataclass(frozen=True)
class StandInService:
    """A service of the stand-in's calendar and the masters who do it."""

    id: int
    title: str
    price: int
    minutes: int
    masters: tuple[int, ...]


@dataclass(frozen=True)
class StandInMaster:
    """A master of the stand-in's calendar."""

    id: int
    name: str
    specialization: str


SALON_MASTERS = (
    StandInMaster(11, "Ольга", "мастер маникюра"),
    StandInMaster(12, "Марина", "мастер маникюра и педикюра"),
    StandInMaster(21, "Алексей", "барбер"),
    StandInMaster(22, "Светлана", "парикмахер"),
)
SALON_SERVICES = (
    StandInService(101, "Маникюр без покрытия", 1800, 60, (11, 12)),
    StandInService(102, "Маникюр с покрытием гель-лак", 2900, 100, (11, 12)),
    StandInService(103, "Японский маникюр", 2200, 60, (11,)),
    StandInService(104, "Педикюр с покрытием гель-лак", 4000, 110, (12,)),
    StandInService(201, "Мужская модельная стрижка", 2300, 50, (21,)),
    StandInService(202, "Женская стрижка, короткие волосы", 2800, 60, (22,)),
    StandInService(203, "Женская стрижка, длинные волосы", 3800, 90, (22,)),
)


@dataclass
class StandInState:
    """The stand-in's calendar, records and faults; tests change it directly."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    services: tuple[StandInService, ...] = SALON_SERVICES
    masters: tuple[StandInMaster, ...] = SALON_MASTERS
    days: int = 14
    opens: int = 10
    last_start: int = 19
    # (master id, start) pairs already taken.
    busy: set[tuple[int, datetime]] = field(default_factory=set)
    records: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fault: Fault = "none"
    slow_seconds: float = 10.0
    # Starts someone else takes just before our book_check (the «time taken at the last moment»).
    taken_on_check: set[datetime] = field(default_factory=set)
    # Seconds book_record waits after making the record before it answers (a crash in between).
    record_delay: float = 0.0
    partner_token: str = PARTNER_TOKEN
    user_token: str | None = None

    def today(self) -> date:
        """The calendar's today, in its time zone."""
        return datetime.now(self.zone).date()

    def masters_of(self, service_id: int) -> list[StandInMaster]:
        """The masters who do the service (all masters for an unknown id)."""
        service = next((s for s in self.services if s.id == service_id), None)
        ids = service.masters if service else tuple(m.id for m in self.masters)
        return [m for m in self.masters if m.id in ids]

    def free_times(self, service_id: int, staff_id: int, day: date) -> list[datetime]:
        """Free starts of the day for the service and master (0: any of its masters)."""
        if not 0 <= (day - self.today()).days < self.days:
            return []
        masters = [m.id for m in self.masters_of(service_id) if staff_id in (0, m.id)]
        now = datetime.now(self.zone)
        starts = []
        for hour in range(self.opens, self.last_start + 1):
            start = datetime.combine(day, time(hour), tzinfo=self.zone)
            if start <= now:
                continue
            if any((master, start) not in self.busy for master in masters):
                starts.append(start)
        return starts

    def free_master(self, service_id: int, staff_id: int, start: datetime) -> int | None:
        """The master who would take the appointment, or None when the time is not free."""
        for master in self.masters_of(service_id):
            if (
                staff_id in (0, master.id)
                and (master.id, start) not in self.busy
                and start in self.free_times(service_id, master.id, start.date())
            ):
                return master.id
        return None


def _answer(data: Any, status: int = 200, meta: Any = None) -> JSONResponse:
    body = {"success": 200 <= status < 300, "data": data, "meta": meta if meta is not None else []}
    return JSONResponse(body, status_code=status)


def _error(status: int, message: str, code: int | None = None) -> JSONResponse:
    meta: dict[str, Any] = {"message": message}
    if code is not None:
        meta["errors"] = {"code": code}
    return _answer(None, status, meta)


def create_standin_app(state: StandInState) -> FastAPI:
    """The stand-in's app: ``/api/v1/book_*`` in YCLIENTS' shapes."""
    app = FastAPI(title="YCLIENTS stand-in")

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Any:
        state.calls.append(f"{request.method} {request.url.path}")
        if state.fault == "down":
            return _error(503, "Service Unavailable")
        if state.fault == "slow":
            await asyncio.sleep(state.slow_seconds)
        expected = wire.authorization(state.partner_token, state.user_token)
        if state.fault == "unauthorized" or request.headers.get("authorization") != expected:
            return _error(401, "Authentication needed")
        return await call_next(request)

    @app.get(API_PREFIX + "/book_services/{company_id}")
    async def book_services(company_id: int) -> JSONResponse:
        if company_id != COMPANY_ID:
            return _error(404, "Company not found")
        services = [
            {
                "id": s.id,
                "title": s.title,
                "price_min": s.price,
                "price_max": s.price,
                "seance_length": s.minutes * 60,
                "active": 1,
            }
            for s in state.services
        ]
        return _answer({"events": [], "services": services, "category": []})

    @app.get(API_PREFIX + "/book_staff/{company_id}")
    async def book_staff(company_id: int, request: Request) -> JSONResponse:
        service_id = int(request.query_params.get("service_ids[]", "0"))
        masters = state.masters_of(service_id) if service_id else list(state.masters)
        return _answer(
            [
                {"id": m.id, "name": m.name, "specialization": m.specialization, "bookable": True}
                for m in masters
            ]
        )

    @app.get(API_PREFIX + "/book_dates/{company_id}")
    async def book_dates(company_id: int, request: Request) -> JSONResponse:
        service_id = int(request.query_params.get("service_ids[]", "0"))
        staff_id = int(request.query_params.get("staff_id", "0"))
        today = state.today()
        days = [today + timedelta(days=n) for n in range(state.days)]
        free = [d.isoformat() for d in days if state.free_times(service_id, staff_id, d)]
        return _answer({"booking_dates": free, "booking_days": {}, "working_dates": free})

    @app.get(API_PREFIX + "/book_times/{company_id}/{staff_id}/{day}")
    async def book_times(
        company_id: int, staff_id: int, day: date, request: Request
    ) -> JSONResponse:
        service_id = int(request.query_params.get("service_ids[]", "0"))
        times = state.free_times(service_id, staff_id, day)
        length = next((s.minutes * 60 for s in state.services if s.id == service_id), 3600)
        return _answer(
            [
                {
                    "time": t.strftime("%H:%M"),
                    "seance_length": length,
                    "sum_length": length,
                    "datetime": t.isoformat(),
                }
                for t in times
            ]
        )

    @app.post(API_PREFIX + "/book_check/{company_id}")
    async def book_check(company_id: int, body: wire.BookCheckBody) -> JSONResponse:
        for appointment in body.appointments:
            start = datetime.fromisoformat(appointment.datetime)
            if start in state.taken_on_check:
                state.taken_on_check.discard(start)
                for master in state.masters_of(appointment.services[0]):
                    state.busy.add((master.id, start))
            for service_id in appointment.services:
                if state.free_master(service_id, appointment.staff_id, start) is None:
                    return _error(422, "Время недоступно для записи", code=433)
        return _answer(None, 201)

    @app.post(API_PREFIX + "/book_record/{company_id}")
    async def book_record(company_id: int, body: wire.BookRecordBody) -> JSONResponse:
        made = []
        for appointment in body.appointments:
            start = datetime.fromisoformat(appointment.datetime)
            service_id = appointment.services[0]
            master = state.free_master(service_id, appointment.staff_id, start)
            if master is None:
                return _error(422, "Время недоступно для записи", code=433)
            state.busy.add((master, start))
            record_id = 900_000 + len(state.records) + 1
            state.records.append(
                {
                    "record_id": record_id,
                    "service_id": service_id,
                    "staff_id": master,
                    "datetime": start.isoformat(),
                    "phone": body.phone,
                    "fullname": body.fullname,
                    "api_id": body.api_id,
                    "comment": body.comment,
                }
            )
            made.append({"id": appointment.id, "record_id": record_id, "record_hash": "h"})
        if state.record_delay:
            await asyncio.sleep(state.record_delay)
        return _answer(made, 201)

    return app


@dataclass(frozen=True)
class RunningStandIn:
    """A served stand-in: its root URL and state."""

    url: str
    state: StandInState

    @property
    def api_url(self) -> str:
        """The base URL to configure as ``YCLIENTS_API_URL``."""
        return self.url + API_PREFIX

    def settings(self) -> dict[str, Any]:
        """The settings that point the service at this stand-in."""
        values: dict[str, Any] = {
            "yclients_api_url": self.api_url,
            "yclients_partner_token": self.state.partner_token,
            "yclients_company_id": COMPANY_ID,
        }
        if self.state.user_token:
            values["yclients_user_token"] = self.state.user_token
        return values


@contextlib.asynccontextmanager
async def running_standin(state: StandInState | None = None) -> AsyncIterator[RunningStandIn]:
    """Serve the stand-in in the current event loop for the ``async with`` body."""
    calendar = state if state is not None else StandInState()
    async with serve_app(create_standin_app(calendar)) as url:
        yield RunningStandIn(url, calendar)
