"""Time our own code adds to a booking turn, the calendar's own time excluded.

The booking dialogue (`dialog/booking.py`) runs with the YCLIENTS client against the project's
stand-in over real HTTP. Two turns are timed: the first message of a dialogue that offers free
times («есть окошко на мужскую стрижку завтра вечером?»), and everything in one message that is
booked at once («Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33»). The
time spent inside calendar calls (client + HTTP + stand-in) is measured around each call and
subtracted; the ledger is kept in memory. Prints figures; asserts nothing.

    .venv/bin/python bench/booking_turn_bench.py [--turns 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.booking import MemoryLedger

from talkme_consultant.booking.standin import COMPANY_ID, PARTNER_TOKEN, running_standin
from talkme_consultant.booking.yclients import YclientsClient
from talkme_consultant.dialog.booking import BookingInput, BookingOptions, BookingTurns
from talkme_consultant.helpers.calendar import (
    BookingMade,
    BookingRequest,
    CalendarService,
    Master,
)

OFFER = "Есть окошко на мужскую стрижку завтра вечером?"
AT_ONCE = "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33"


class TimedCalendar:
    """The YCLIENTS client with the time spent in its calls added up."""

    def __init__(self, inner: YclientsClient) -> None:
        self.inner = inner
        self.spent = 0.0
        self.calls = 0

    async def _timed(self, call: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call
        finally:
            self.spent += time.perf_counter() - started
            self.calls += 1

    async def services(self) -> list[CalendarService]:
        result: list[CalendarService] = await self._timed(self.inner.services())
        return result

    async def masters(self, service_id: int) -> list[Master]:
        result: list[Master] = await self._timed(self.inner.masters(service_id))
        return result

    async def dates(self, service_id: int, staff_id: int) -> list[date]:
        result: list[date] = await self._timed(self.inner.dates(service_id, staff_id))
        return result

    async def times(self, service_id: int, staff_id: int, day: date) -> list[datetime]:
        result: list[datetime] = await self._timed(self.inner.times(service_id, staff_id, day))
        return result

    async def check(self, request: BookingRequest) -> None:
        await self._timed(self.inner.check(request))

    async def record(self, request: BookingRequest) -> BookingMade:
        result: BookingMade = await self._timed(self.inner.record(request))
        return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main(turns: int) -> None:
    zone = ZoneInfo("Europe/Moscow")
    async with running_standin() as standin:
        client = YclientsClient(
            base_url=standin.api_url, company_id=COMPANY_ID, partner_token=PARTNER_TOKEN, zone=zone
        )
        calendar = TimedCalendar(client)
        dialogue = BookingTurns(calendar, MemoryLedger(), BookingOptions(zone=zone))
        for label, text, expect in (
            ("offer free times", OFFER, "Свободное время"),
            ("book at once", AT_ONCE, "вы записаны"),
        ):
            own: list[float] = []
            total: list[float] = []
            calls = 0
            for n in range(turns + 10):
                standin.state.busy.clear()
                calendar.spent, calendar.calls = 0.0, 0
                given = BookingInput(f"bench-{label}-{n}", text, None, None, None)
                started = time.perf_counter()
                outcome = await dialogue.turn(given)
                elapsed = time.perf_counter() - started
                assert outcome is not None and expect in outcome.replies[0], outcome
                if n >= 10:  # the first turns warm the connection pool and the regexes
                    own.append((elapsed - calendar.spent) * 1000)
                    total.append(elapsed * 1000)
                    calls = calendar.calls
            print(
                f"{label:>17}: own p50 {statistics.median(own):.2f} ms, "
                f"p95 {percentile(own, 0.95):.2f} ms; with the stand-in "
                f"p50 {statistics.median(total):.1f} ms; {calls} calendar calls"
            )
        await client.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="50 turns each")
    arguments = parser.parse_args()
    asyncio.run(main(50 if arguments.quick else arguments.turns))
