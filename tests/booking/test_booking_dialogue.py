"""The booking dialogue turn by turn, with the YCLIENTS client against the stand-in over real
HTTP and the ledger in memory: wished days, busy times never offered, a question asked in the
middle, and a retried turn that already booked."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
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
from talkme_consultant.dialog.booking import BookingInput, BookingOptions, BookingTurns
from talkme_consultant.helpers.outcome import TurnOutcome
from tests.support.booking import MemoryLedger

ZONE = ZoneInfo("Europe/Moscow")


class Dialogue:
    """One visitor's booking dialogue, its memory kept as the engine keeps it."""

    def __init__(self, turns: BookingTurns) -> None:
        self.turns = turns
        self.meta: Mapping[str, Any] | None = None
        self.position = 0

    async def say(self, text: str) -> TurnOutcome | None:
        given = BookingInput("visitor-1", text, self.meta, None, None, position=self.position)
        outcome = await self.turns.turn(given)
        if outcome is not None:
            self.meta = outcome.meta
            self.position += 2
        return outcome


@pytest.fixture
async def client(calendar: RunningStandIn) -> AsyncIterator[YclientsClient]:
    async with YclientsClient(
        base_url=calendar.api_url, company_id=COMPANY_ID, partner_token=PARTNER_TOKEN, zone=ZONE
    ) as made:
        yield made


def offered(outcome: TurnOutcome | None) -> list[datetime]:
    assert outcome is not None
    return [datetime.fromisoformat(at) for at in outcome.meta["booking"]["offered"]]


async def test_next_tuesday_evening_offers_only_that_evening(client: YclientsClient) -> None:
    dialogue = Dialogue(BookingTurns(client, MemoryLedger(), BookingOptions(zone=ZONE)))
    times = offered(await dialogue.say("Хочу на маникюр с покрытием в следующий вторник вечером"))
    assert times and len(times) <= 5
    assert {at.weekday() for at in times} == {1}
    assert all(at.time() >= time(17) for at in times)


async def test_the_weekend_offers_saturday_and_sunday(client: YclientsClient) -> None:
    dialogue = Dialogue(BookingTurns(client, MemoryLedger(), BookingOptions(zone=ZONE)))
    times = offered(await dialogue.say("Запишите на японский маникюр на выходных"))
    assert times and {at.weekday() for at in times} <= {5, 6}


async def test_a_busy_time_is_never_offered(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    day = calendar.state.today() + timedelta(days=1)
    busy = datetime.combine(day, time(17), tzinfo=ZONE)
    calendar.state.busy.add((21, busy))  # Алексей, the only barber
    dialogue = Dialogue(BookingTurns(client, MemoryLedger(), BookingOptions(zone=ZONE)))
    times = offered(await dialogue.say("Есть окошко на мужскую стрижку завтра вечером?"))
    assert busy not in times and times


async def test_a_question_in_the_middle_is_left_to_the_knowledge_base(
    client: YclientsClient,
) -> None:
    dialogue = Dialogue(BookingTurns(client, MemoryLedger(), BookingOptions(zone=ZONE)))
    await dialogue.say("Есть окошко на мужскую стрижку завтра вечером?")
    assert await dialogue.say("А сколько она стоит?") is None


async def test_a_retried_turn_that_already_booked_confirms_without_a_second_record(
    calendar: RunningStandIn, client: YclientsClient
) -> None:
    ledger = MemoryLedger()
    turns = BookingTurns(client, ledger, BookingOptions(zone=ZONE))
    text = "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33"
    first = await turns.turn(BookingInput("visitor-2", text, None, None, None, position=4))

    again = await turns.turn(BookingInput("visitor-2", text, None, None, None, position=4))

    assert first is not None and again is not None
    assert again.replies == first.replies
    assert len(calendar.state.records) == 1
    assert again.events[-1].data["retried"] is True
