"""Booking in the chat over real HTTP: TalkMe's stand-in brings the visitor's messages, the
YCLIENTS stand-in keeps the calendar (issue 21's «Done when»)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from talkme_consultant.booking.standin import RunningStandIn
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.booking import tomorrow_at
from tests.support.chat import replies, say
from tests.support.console_client import signed_in_client
from tests.support.eventually import eventually
from tests.support.service import RunningService, running_service, service_settings

ADDRESS = "г. Москва, Малый Вересковый переулок, д. 7, стр. 1"


def booking_settings(data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn) -> Any:
    return service_settings(data_dir, sim, **calendar.settings(), yclients_timeout_seconds=1.0)


def finish_codes(sim: RunningSimulator, visitor: Visitor) -> list[str]:
    return [c.code for c in sim.state.calls_matching(token=visitor.token) if c.code]


async def leads_of(service: RunningService) -> list[Any]:
    return await service.runtime.store.leads.page(offset=0, limit=20)


async def test_booking_step_by_step(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn
) -> None:
    async with running_service(booking_settings(data_dir, sim, calendar)) as service:
        visitor = Visitor.new()
        question = await say(service, sim, visitor, "Хочу записаться на маникюр завтра", 1)
        assert question.startswith("Уточните, пожалуйста, на какую услугу вас записать:")
        assert "2) Маникюр с покрытием гель-лак" in question

        times = await say(service, sim, visitor, "2", 2)
        assert times.startswith("Свободное время на «Маникюр с покрытием гель-лак»:")
        assert times.count("\n") == 6, "five numbered times between the intro and the ask"
        second = times.splitlines()[2].removeprefix("2) ")

        ask = await say(service, sim, visitor, "давайте вторую", 3)
        assert ask == "Отлично! Как вас зовут и по какому номеру телефона с вами связаться?"

        confirmation = await say(service, sim, visitor, "Анна, +7 926 111-22-33", 4)

        assert confirmation.startswith(
            f"Анна, вы записаны: «Маникюр с покрытием гель-лак», {second}"
        )
        assert ADDRESS in confirmation
        [record] = calendar.state.records
        assert record["fullname"] == "Анна" and record["phone"] == "+79261112233"
        assert record["api_id"].startswith("tmc-")
        [lead] = await leads_of(service)
        assert lead.status == "booked"
        transcript = await service.admin_get(f"/admin/conversations/{visitor.client_id}")
        meta = json.loads(transcript["messages"][-1]["meta"])
        assert meta["booking"]["record_id"] == record["record_id"]
        async with signed_in_client(service) as owner:
            leads_page = (await owner.get("/console/leads")).text
            overview = (await owner.get("/console")).text
            settings_page = (await owner.get("/console/settings")).text
        assert "записан" in leads_page and "Маникюр с покрытием гель-лак" in leads_page
        assert 'data-testid="figure-bookings">1<' in overview
        assert "включена, компания" in settings_page


async def test_everything_in_one_message_books_at_once(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn
) -> None:
    async with running_service(booking_settings(data_dir, sim, calendar)) as service:
        visitor = Visitor.new()
        text = "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33"

        confirmation = await say(service, sim, visitor, text, 1)

        assert confirmation.startswith("Иван, вы записаны: «Мужская модельная стрижка», завтра")
        assert "16:00" in confirmation
        [record] = calendar.state.records
        assert record["datetime"] == tomorrow_at(calendar, 16).isoformat()


async def test_choosing_a_master(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn
) -> None:
    async with running_service(booking_settings(data_dir, sim, calendar)) as service:
        visitor = Visitor.new()
        times = await say(
            service, sim, visitor, "Хочу на японский маникюр к Ольге завтра вечером", 1
        )
        assert times.startswith("Свободное время на «Японский маникюр», мастер Ольга:")
        assert "1) завтра" in times and "17:00" in times

        await say(service, sim, visitor, "в 18:00", 2)
        confirmation = await say(service, sim, visitor, "Мария, 8 903 555-66-77", 3)

        assert "мастер Ольга" in confirmation and "18:00" in confirmation
        [record] = calendar.state.records
        assert record["staff_id"] == 11


async def test_a_time_taken_at_the_last_moment_is_never_confirmed(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn
) -> None:
    calendar.state.taken_on_check.add(tomorrow_at(calendar, 16))
    async with running_service(booking_settings(data_dir, sim, calendar)) as service:
        visitor = Visitor.new()
        text = "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33"

        apology = await say(service, sim, visitor, text, 1)

        assert apology.startswith("Извините, это время только что заняли. Вот другое свободное")
        assert "16:00" not in apology
        assert calendar.state.records == []
        confirmation = await say(service, sim, visitor, "1", 2)
        assert confirmation.startswith("Иван, вы записаны")
        assert len(calendar.state.records) == 1


@pytest.mark.parametrize("fault", ["down", "slow", "unauthorized"])
async def test_a_calendar_that_fails_leaves_a_lead_with_the_service_and_wished_time(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn, fault: str
) -> None:
    calendar.state.fault = fault  # type: ignore[assignment]
    async with running_service(booking_settings(data_dir, sim, calendar)) as service:
        visitor = Visitor.new()
        text = "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33"

        reply = await say(service, sim, visitor, text, 1)

        assert "вы записаны" not in reply
        assert reply.startswith("Спасибо, Иван! Передаю заявку на «мужскую стрижку» на завтра")
        [lead] = await leads_of(service)
        assert lead.interest.startswith("мужскую стрижку; завтра") and "16:00" in lead.interest
        assert lead.status == "new"
        await eventually(
            lambda: _async(finish_codes(sim, visitor) == ["OPERATOR_REQUEST"]),
            what="the usual handoff",
        )


async def test_without_yclients_a_booking_is_a_lead_with_the_wished_time(
    data_dir: Path, sim: RunningSimulator
) -> None:
    async with running_service(service_settings(data_dir, sim)) as service:
        visitor = Visitor.new()
        ask = await say(
            service, sim, visitor, "Хочу записаться на маникюр с покрытием в субботу", 1
        )
        assert ask.startswith("Оставьте, пожалуйста, имя и телефон — администратор подтвердит")
        assert "на субботу" in ask

        thanks = await say(service, sim, visitor, "Анна, +7 926 111-22-33", 2)

        assert thanks.startswith("Спасибо, Анна! Передаю заявку на «маникюр с покрытием»")
        [lead] = await leads_of(service)
        assert lead.interest.startswith("маникюр с покрытием; в субботу")


async def test_a_question_about_booking_is_still_answered_from_the_knowledge(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn
) -> None:
    async with running_service(booking_settings(data_dir, sim, calendar)) as service:
        visitor = Visitor.new()
        answer = await say(service, sim, visitor, "Как записаться на процедуру?", 1)
        # The FAQ's own answer to this very question.
        assert answer.startswith("Записаться можно по телефону филиала:")
        assert calendar.state.calls == []


async def test_the_dialogue_continues_after_a_restart(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn
) -> None:
    settings = booking_settings(data_dir, sim, calendar)
    visitor = Visitor.new()
    async with running_service(settings) as service:
        await say(service, sim, visitor, "Есть окошко на мужскую стрижку завтра вечером?", 1)

    async with running_service(settings) as restarted:
        await say(restarted, sim, visitor, "2", 2)
        confirmation = await say(restarted, sim, visitor, "Пётр, +7 916 000-11-22", 3)

        assert confirmation.startswith("Пётр, вы записаны: «Мужская модельная стрижка»")
        assert "18:00" in confirmation


async def test_a_turn_retried_after_a_crash_makes_one_record(
    data_dir: Path, sim: RunningSimulator, calendar: RunningStandIn
) -> None:
    settings = booking_settings(data_dir, sim, calendar)
    calendar.state.record_delay = 30.0  # the record is made, its answer never reaches the turn
    visitor = Visitor.new()
    text = "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33"
    async with running_service(settings) as service:
        await service.post_message(visitor, text, 1)
        await eventually(
            lambda: _async(len(calendar.state.records) == 1), what="the record in the calendar"
        )
    calendar.state.record_delay = 0.0

    async with running_service(settings) as restarted:
        reply = (await replies(sim, visitor, 1))[-1]

        assert reply.startswith("Похоже, запись уже создана")
        assert len(calendar.state.records) == 1
        [lead] = await leads_of(restarted)
        assert "мужская модельная стрижка" in (lead.interest or "").lower()


async def _async(value: bool) -> bool:
    return value
