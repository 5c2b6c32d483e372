"""The booking tools a model calls, with the YCLIENTS client against the stand-in over real HTTP
and the ledger in memory: the booking dialogue's own matching, wishes and checks, in words the
model can act on, never a token, and never a second record for one turn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from talkme_consultant.booking.standin import (
    COMPANY_ID,
    PARTNER_TOKEN,
    RunningStandIn,
)
from talkme_consultant.booking.yclients import YclientsClient
from talkme_consultant.dialog.booking import BookingInput, BookingOptions
from talkme_consultant.dialog.booking_tools import (
    FIND_FREE_TIMES,
    MAKE_BOOKING,
    TOOL_DEFINITIONS,
    BookingTools,
    model_is_booking,
)
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnOutcome
from tests.support.booking import MemoryLedger

ZONE = ZoneInfo("Europe/Moscow")
PHONE = "+7 926 111-22-33"
ADDRESS = "г. Москва, ул. Примерная, д. 1"


@pytest.fixture
async def client(calendar: RunningStandIn) -> AsyncIterator[YclientsClient]:
    async with YclientsClient(
        base_url=calendar.api_url,
        company_id=COMPANY_ID,
        partner_token=PARTNER_TOKEN,
        zone=ZONE,
        timeout=1.0,
    ) as made:
        yield made


def tools(
    client: YclientsClient,
    ledger: MemoryLedger | None = None,
    *,
    said: tuple[str, ...] = (f"Иван, {PHONE}",),
    position: int = 4,
) -> BookingTools:
    given = BookingInput("visitor-1", said[-1], None, None, None, position=position)
    options = BookingOptions(zone=ZONE, address=ADDRESS)
    today = datetime.now(ZONE).date()
    return BookingTools(client, ledger or MemoryLedger(), options, given, said, today)


async def call(box: BookingTools, function: str, /, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(await box.call(function, json.dumps(arguments)))
    return result


def tomorrow_at(calendar: RunningStandIn, hour: int) -> datetime:
    day = calendar.state.today() + timedelta(days=1)
    return datetime.combine(day, time(hour), tzinfo=calendar.state.zone)


def booking(at: datetime, **overrides: Any) -> dict[str, Any]:
    return {
        "service": "мужская стрижка",
        "datetime": at.isoformat(),
        "name": "Иван",
        "phone": PHONE,
        **overrides,
    }


def test_the_definitions_name_both_functions_with_their_required_fields() -> None:
    names = [tool["function"]["name"] for tool in TOOL_DEFINITIONS]
    assert names == [FIND_FREE_TIMES, MAKE_BOOKING]
    book = TOOL_DEFINITIONS[1]["function"]["parameters"]
    assert book["required"] == ["service", "datetime", "name", "phone"]


async def test_free_times_are_the_dialogues_five_nearest_to_the_wish(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    found = await call(
        tools(client), FIND_FREE_TIMES, service="мужская стрижка", when="завтра к 16:00"
    )

    assert found["service"] == "Мужская модельная стрижка"
    times = [datetime.fromisoformat(at["datetime"]) for at in found["times"]]
    assert len(times) == 5 and tomorrow_at(calendar, 16) in times
    assert all(at.date() == tomorrow_at(calendar, 16).date() for at in times)
    assert found["times"][0]["label"].startswith("завтра, ")


async def test_an_unknown_service_or_master_is_refused_with_what_there_is(
    client: YclientsClient,
) -> None:
    box = tools(client)

    unknown = await call(box, FIND_FREE_TIMES, service="наращивание ресниц")
    several = await call(box, FIND_FREE_TIMES, service="маникюр")
    master = await call(box, FIND_FREE_TIMES, service="японский маникюр", master="Светлана")

    assert unknown["ok"] is False and "«Японский маникюр»" in unknown["reason"]
    assert several["ok"] is False and "несколько услуг" in several["reason"]
    assert master["ok"] is False and "Мастера этой услуги: Ольга" in master["reason"]


async def test_a_free_time_is_booked_once_and_kept_in_the_ledger(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    ledger = MemoryLedger()
    box = tools(client, ledger)

    made = await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 16)))
    again = await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 17)))

    [record] = calendar.state.records
    assert made["ok"] is True and made["record_id"] == record["record_id"]
    assert again["record_id"] == record["record_id"], "one record per turn"
    assert record["phone"] == "+79261112233" and record["fullname"] == "Иван"
    assert made["address"] == ADDRESS and made["label"].endswith("16:00")
    [kept] = ledger.rows.values()
    assert kept.record_id == record["record_id"]
    assert box.booked is not None and box.booked.record_id == record["record_id"]


async def test_a_retried_turn_finds_its_booking_instead_of_making_a_second(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    ledger = MemoryLedger()
    first = await call(tools(client, ledger), MAKE_BOOKING, **booking(tomorrow_at(calendar, 16)))

    retried = tools(client, ledger)
    again = await call(retried, MAKE_BOOKING, **booking(tomorrow_at(calendar, 16)))

    assert len(calendar.state.records) == 1
    assert again["record_id"] == first["record_id"]
    assert retried.retried


async def test_a_phone_the_visitor_did_not_write_is_refused(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    box = tools(client, said=("Хочу на мужскую стрижку завтра",))

    foreign = await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 16)))
    broken = await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 16), phone="12"))

    assert foreign["ok"] is False and "посетитель не писал" in foreign["reason"]
    assert broken["ok"] is False and "не похож на номер" in broken["reason"]
    assert calendar.state.records == [] and box.booked is None


async def test_a_time_that_is_not_free_is_refused_with_that_days_free_times(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    noon = tomorrow_at(calendar, 12)
    calendar.state.busy.add((21, noon))

    refused = await call(tools(client), MAKE_BOOKING, **booking(noon))

    assert refused["ok"] is False and "не свободно; запись не сделана" in refused["reason"]
    assert tomorrow_at(calendar, 13).isoformat() in refused["reason"]
    assert calendar.state.records == []


async def test_a_time_taken_at_the_last_moment_books_nothing(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    calendar.state.taken_on_check.add(tomorrow_at(calendar, 16))
    box = tools(client)

    refused = await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 16)))

    assert refused["ok"] is False and "только что заняли" in refused["reason"]
    assert calendar.state.records == [] and box.booked is None
    assert [e.data["status"] for e in box.events] == ["slot_taken"]


async def test_a_calendar_that_is_down_is_told_in_words_without_a_token(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    calendar.state.fault = "unauthorized"
    box = tools(client)

    refused = await box.call(FIND_FREE_TIMES, json.dumps({"service": "мужская стрижка"}))

    assert "Календарь салона сейчас не отвечает" in refused
    assert PARTNER_TOKEN not in refused and PARTNER_TOKEN not in " ".join(box.facts)
    assert box.calendar_failed


async def test_arguments_the_model_got_wrong_are_told_not_raised(client: YclientsClient) -> None:
    box = tools(client)

    bad = json.loads(await box.call(MAKE_BOOKING, '{"service": "стрижка"}'))
    unknown = json.loads(await box.call("cancel_booking", "{}"))
    odd_time = await call(
        box, MAKE_BOOKING, **booking(tomorrow_at_noonish(), datetime="завтра в обед")
    )

    assert bad["ok"] is False and "Аргументы не подходят" in bad["reason"]
    assert unknown["ok"] is False
    assert odd_time["ok"] is False and "Время не прочитано" in odd_time["reason"]


def tomorrow_at_noonish() -> datetime:
    return datetime.now(ZONE) + timedelta(days=1)


async def test_a_made_record_is_kept_as_the_dialogue_keeps_one(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    box = tools(client)
    made = await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 16)))
    outcome = TurnOutcome(visitor_text="Иван", replies=["Сейчас уточню."])

    box.settle(outcome, keep_reply=False)

    assert outcome.lead is not None and outcome.lead.booked
    assert outcome.meta["booking"]["record_id"] == made["record_id"]
    assert outcome.meta["booking"]["step"] == "booked"
    [event] = outcome.events_of(EventKind.BOOKING)
    assert event["status"] == "booked" and event["record_id"] == made["record_id"]
    assert outcome.replies[0].startswith("Иван, вы записаны: «Мужская модельная стрижка», завтра")
    assert ADDRESS in outcome.replies[0]


async def test_a_turn_that_used_the_tools_without_booking_leaves_the_next_message_to_the_model(
    client: YclientsClient,
) -> None:
    box = tools(client)
    await call(box, FIND_FREE_TIMES, service="мужская стрижка", when="завтра")
    outcome = TurnOutcome(visitor_text="Есть время завтра?", replies=["Есть: 12:00, 13:00."])

    box.settle(outcome, keep_reply=True)

    assert model_is_booking(outcome.meta)
    assert outcome.replies == ["Есть: 12:00, 13:00."] and outcome.lead is None
    assert not model_is_booking({"intent": "answer"})


async def test_the_visitors_phone_never_reaches_the_log(
    calendar: RunningStandIn, client: YclientsClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    box = tools(client)

    await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 16)))
    await call(box, MAKE_BOOKING, **booking(tomorrow_at(calendar, 17), phone="+7 999 000-00-00"))

    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "booking tool make_booking: ok" in logged
    assert "926" not in logged and "999" not in logged
