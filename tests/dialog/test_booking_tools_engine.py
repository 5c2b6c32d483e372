"""The engine's rules for a model that books with tools, over a calendar kept in memory: a reply
may say «вы записаны» only after `make_booking` made a record in the same turn, a record made is
kept as the dialogue keeps one, the tools' times may be said, and a wish to book goes to the
booking dialogue only from a model that called no tool."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tests.dialog.test_engine import HAIRCUT, TinyRetriever
from tests.support.booking import MemoryLedger

from talkme_consultant.answer.base import Draft, HistoryMessage, Intent, TurnContext, Usage
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.dialog.booking import BookingOptions, BookingTurns
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions, TurnInput
from talkme_consultant.helpers.calendar import (
    BookingMade,
    BookingRequest,
    CalendarError,
    CalendarFailure,
    CalendarService,
    Master,
)
from talkme_consultant.helpers.kinds import EventKind

ZONE = ZoneInfo("Europe/Moscow")


def tomorrow() -> date:
    """Read when asked, as the engine reads «завтра»: a module constant went stale when the
    suite ran across midnight in Moscow."""
    return datetime.now(ZONE).date() + timedelta(days=1)


def at_four() -> datetime:
    return datetime.combine(tomorrow(), time(16), tzinfo=ZONE)


CONTACTS = "Иван, +7 926 111-22-33"


class MemoryCalendar:
    """One service, one master, free every hour tomorrow from 10:00 to 18:00."""

    def __init__(self) -> None:
        self.records: list[BookingRequest] = []
        self.taken: set[datetime] = set()

    async def services(self) -> list[CalendarService]:
        return [CalendarService(201, "Мужская модельная стрижка")]

    async def masters(self, service_id: int) -> list[Master]:
        return [Master(21, "Алексей")]

    async def dates(self, service_id: int, staff_id: int) -> list[date]:
        return [tomorrow()]

    async def times(self, service_id: int, staff_id: int, day: date) -> list[datetime]:
        starts = [datetime.combine(day, time(hour), tzinfo=ZONE) for hour in range(10, 19)]
        booked = {request.at for request in self.records}
        return [at for at in starts if day == tomorrow() and at not in booked]

    async def check(self, request: BookingRequest) -> None:
        if request.at in self.taken:
            raise CalendarError(CalendarFailure.SLOT_TAKEN, "433")

    async def record(self, request: BookingRequest) -> BookingMade:
        self.records.append(request)
        return BookingMade(900_000 + len(self.records))


Step = Callable[[TurnContext], Awaitable[Draft]]


class ToolModel:
    """An answerer whose every answer is a step that may call the turn's tools first."""

    name = "llm"

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.results: list[dict[str, object]] = []

    async def answer(self, ctx: TurnContext) -> Draft:
        return await self.steps.pop(0)(ctx)

    async def summarize(
        self,
        previous_summary: str | None,
        messages: list[HistoryMessage],
        *,
        usage: Usage | None = None,
    ) -> str:
        return "Краткое резюме"

    async def call(
        self, ctx: TurnContext, function: str, /, **arguments: object
    ) -> dict[str, object]:
        assert ctx.tools is not None, "the turn offers the booking tools"
        result: dict[str, object] = json.loads(
            await ctx.tools.call(function, json.dumps(arguments))
        )
        self.results.append(result)
        return result


def reply(text: str, intent: Intent = Intent.ANSWER) -> Draft:
    return Draft(text=text, intent=intent, answerer="llm")


def book(model: ToolModel, text: str) -> Step:
    async def step(ctx: TurnContext) -> Draft:
        await model.call(
            ctx,
            "make_booking",
            service="мужская стрижка",
            datetime=at_four().isoformat(),
            name="Иван",
            phone="+7 926 111-22-33",
        )
        return reply(text)

    return step


def engine(model: ToolModel, calendar: MemoryCalendar | None) -> DialogEngine:
    offline = OfflineAnswerer(TinyRetriever([HAIRCUT]), Phrases(), threshold=0.5)
    booking = BookingTurns(
        calendar, MemoryLedger(), BookingOptions(zone=ZONE, address="Тверская, 7")
    )
    return DialogEngine(model, offline, Phrases(), EngineOptions(), booking=booking)


def said(text: str) -> TurnInput:
    return TurnInput(conversation_key="visitor-1", texts=[text], attachments_only=False)


async def test_a_booking_made_by_the_tool_may_be_told_and_is_kept_as_the_dialogues() -> None:
    calendar = MemoryCalendar()
    model = ToolModel()
    model.steps.append(book(model, "Иван, вы записаны на завтра, 16:00."))

    outcome = await engine(model, calendar).run_turn(said(CONTACTS))

    assert outcome.replies == ["Иван, вы записаны на завтра, 16:00."]
    [request] = calendar.records
    assert request.at == at_four() and request.api_id.startswith("tmc-")
    assert outcome.meta["booking"]["record_id"] == 900_001
    assert outcome.lead is not None and outcome.lead.booked
    assert [e["status"] for e in outcome.events_of(EventKind.BOOKING)] == ["booked"]
    assert not outcome.handed_off


async def test_a_claim_after_a_refused_booking_is_sent_back_and_nothing_is_booked() -> None:
    calendar = MemoryCalendar()
    calendar.taken.add(at_four())
    model = ToolModel()
    model.steps += [
        book(model, "Иван, вы записаны на завтра, 16:00."),
        lambda ctx: _honest(ctx),
    ]

    outcome = await engine(model, calendar).run_turn(said(CONTACTS))

    assert calendar.records == []
    assert "только что заняли" in str(model.results[0]["reason"])
    [guard] = outcome.events_of(EventKind.GUARD)
    assert "записывает только календарь" in guard["problems"]
    assert outcome.replies == ["Это время заняли. Есть 17:00, подойдёт?"]
    assert outcome.lead is None


async def _honest(ctx: TurnContext) -> Draft:
    return reply("Это время заняли. Есть 17:00, подойдёт?")


async def test_the_times_the_tools_gave_may_be_said() -> None:
    model = ToolModel()

    async def find(ctx: TurnContext) -> Draft:
        await model.call(ctx, "find_free_times", service="мужская стрижка", when="завтра к 16")
        return reply("Завтра свободно в 15:00, 16:00 и 17:00.", Intent.BOOKING)

    model.steps.append(find)

    outcome = await engine(model, MemoryCalendar()).run_turn(said("А завтра к 16 можно?"))

    assert outcome.replies == ["Завтра свободно в 15:00, 16:00 и 17:00."]
    assert outcome.events_of(EventKind.GUARD) == [], "the tools' times are sources"
    assert not outcome.handed_off and outcome.meta["intent"] == "answer"
    assert outcome.meta["booking_tools"] is True, "the next message is the model's to finish"


async def test_a_wish_to_book_without_a_tool_call_goes_to_the_booking_dialogue() -> None:
    async def wish(ctx: TurnContext) -> Draft:
        return reply("С удовольствием запишу вас!", Intent.BOOKING)

    outcome = await engine(ToolModel(wish), MemoryCalendar()).run_turn(
        said("А на мужскую стрижку завтра к 16 можно попасть?")
    )

    assert outcome.meta["answerer"] == "booking"
    assert outcome.replies == [
        "Отлично! Как вас зовут и по какому номеру телефона с вами связаться?"
    ]


async def test_without_a_calendar_no_tools_are_offered() -> None:
    seen: list[TurnContext] = []

    async def look(ctx: TurnContext) -> Draft:
        seen.append(ctx)
        return reply("Подскажу по стрижкам.")

    await engine(ToolModel(look), None).run_turn(said("Какие у вас стрижки?"))

    assert seen[0].tools is None
