"""The YCLIENTS client over real HTTP against the project's stand-in of the documented wire."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from talkme_consultant.booking.breaker import CircuitBreaker
from talkme_consultant.booking.standin import (
    COMPANY_ID,
    PARTNER_TOKEN,
    RunningStandIn,
    running_standin,
)
from talkme_consultant.booking.yclients import YclientsClient
from talkme_consultant.helpers.calendar import (
    ANY_MASTER,
    BookingRequest,
    CalendarError,
    CalendarFailure,
)


@pytest.fixture
async def standin() -> AsyncIterator[RunningStandIn]:
    async with running_standin() as running:
        yield running


def client_for(
    standin: RunningStandIn, *, token: str = PARTNER_TOKEN, timeout: float = 2.0
) -> YclientsClient:
    return YclientsClient(
        base_url=standin.api_url,
        company_id=COMPANY_ID,
        partner_token=token,
        timeout=timeout,
        breaker=CircuitBreaker(failures_to_open=1, cooldown=60.0),
        zone=standin.state.zone,
    )


def request_at(when: datetime, staff_id: int = ANY_MASTER) -> BookingRequest:
    return BookingRequest(
        service_id=102,
        staff_id=staff_id,
        at=when,
        phone="+79261112233",
        fullname="Анна",
        api_id="conv-1:1",
    )


async def test_reads_services_masters_dates_and_free_times(standin: RunningStandIn) -> None:
    async with client_for(standin) as client:
        services = await client.services()
        assert [s.title for s in services][:2] == [
            "Маникюр без покрытия",
            "Маникюр с покрытием гель-лак",
        ]
        assert services[1].price_min == 2900 and services[1].minutes == 100
        masters = await client.masters(102)
        assert [m.name for m in masters] == ["Ольга", "Марина"]
        tomorrow = standin.state.today() + timedelta(days=1)
        assert tomorrow in await client.dates(102, ANY_MASTER)
        times = await client.times(102, 11, tomorrow)
        assert times[0].hour == 10 and times[0].tzinfo is not None


async def test_checks_and_records_with_our_api_id(standin: RunningStandIn) -> None:
    async with client_for(standin) as client:
        tomorrow = standin.state.today() + timedelta(days=1)
        start = (await client.times(102, 11, tomorrow))[0]
        await client.check(request_at(start, 11))
        made = await client.record(request_at(start, 11))
        assert made.record_id == standin.state.records[0]["record_id"]
        assert standin.state.records[0]["api_id"] == "conv-1:1"
        assert start not in await client.times(102, 11, tomorrow)


async def test_a_time_taken_meanwhile_is_slot_taken(standin: RunningStandIn) -> None:
    async with client_for(standin) as client:
        tomorrow = standin.state.today() + timedelta(days=1)
        start = (await client.times(102, ANY_MASTER, tomorrow))[0]
        standin.state.taken_on_check.add(start)
        with pytest.raises(CalendarError) as caught:
            await client.check(request_at(start))
        assert caught.value.failure is CalendarFailure.SLOT_TAKEN


async def test_a_refused_token_is_unauthorized_and_never_shown(
    standin: RunningStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(standin, token="wrong-secret-token-xyz") as client:
        with pytest.raises(CalendarError) as caught:
            await client.services()
    assert caught.value.failure is CalendarFailure.UNAUTHORIZED
    assert "wrong-secret-token-xyz" not in str(caught.value)
    assert "wrong-secret-token-xyz" not in caplog.text


async def test_a_dead_calendar_is_retried_once_then_not_asked_for_a_while(
    standin: RunningStandIn,
) -> None:
    standin.state.fault = "down"
    async with client_for(standin) as client:
        with pytest.raises(CalendarError) as caught:
            await client.services()
        assert caught.value.failure is CalendarFailure.UNAVAILABLE
        assert len(standin.state.calls) == 2  # the first try and one retry on the 5xx
        with pytest.raises(CalendarError):
            await client.services()
        assert len(standin.state.calls) == 2  # the breaker is open: nothing was sent


async def test_a_slow_calendar_costs_one_timeout(standin: RunningStandIn) -> None:
    standin.state.fault = "slow"
    standin.state.slow_seconds = 5.0
    async with client_for(standin, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(CalendarError):
            await client.services()
        with pytest.raises(CalendarError):
            await client.services()
        assert time.monotonic() - started < 1.0, "one timeout, not retried, then paused"
        assert len(standin.state.calls) == 1


async def test_book_record_is_never_retried(standin: RunningStandIn) -> None:
    async with client_for(standin) as client:
        tomorrow = standin.state.today() + timedelta(days=1)
        start = (await client.times(102, 11, tomorrow))[0]
        standin.state.fault = "down"
        standin.state.calls.clear()
        with pytest.raises(CalendarError):
            await client.record(request_at(start, 11))
        assert standin.state.calls == [f"POST /api/v1/book_record/{COMPANY_ID}"]
