"""The model books only through tools, over real HTTP: TalkMe's stand-in brings the visitor's
messages, the scripted model calls `find_free_times` and `make_booking` on the OpenAI wire, and
the YCLIENTS stand-in keeps the calendar. A reply may say «вы записаны» only after its
`make_booking` made a record in the same turn; a server without function calling books through
the booking dialogue, as before tools."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from talkme_consultant.booking.standin import RunningStandIn
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.answer.llm_helpers import reply_payload
from tests.support.booking import tomorrow_at
from tests.support.chat import say
from tests.support.console_client import signed_in_client
from tests.support.openai_server import RecordedRequest, Reply, ScriptedOpenAIServer, ToolCall
from tests.support.service import model_settings, running_service, service_settings

# Neither message is a booking request in the booking dialogue's words: the model takes them.
ASK = "А завтра в 16:00 получится на мужскую стрижку попасть?"
CONTACTS = "Иван, +7 926 111-22-33"
BOTH = f"{CONTACTS}. {ASK}"
# A booking request in the dialogue's words, yet the model began this booking: the model ends it.
BOOK_ME = f"Запишите меня, пожалуйста: {CONTACTS}"


def settings_for(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, calendar: RunningStandIn
) -> Any:
    return service_settings(
        data_dir, sim, **model_settings(llm.base_url, llm_max_retries=0), **calendar.settings()
    )


def visitor_message(request: RecordedRequest) -> str:
    return request.user.split("<visitor_message>")[-1].split("</visitor_message>")[0]


def at_four(times: list[dict[str, Any]]) -> dict[str, Any]:
    """The offered time the visitor wished: 16:00."""
    return next(at for at in times if at["label"].endswith("16:00"))


class BookingModel:
    """A scripted model that books with the tools: asks for free times, then books the wished
    one once the visitor has given a name and a phone, and says what the tools said."""

    def __init__(self, *, book_at: Callable[[list[dict[str, Any]]], str] | None = None) -> None:
        self.offered: list[dict[str, Any]] = []
        self.book_at = book_at or (lambda times: str(at_four(times)["datetime"]))
        self.results: list[Any] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.schema_name == "search_queries":
            return Reply.json({"queries": ["мужская стрижка"]})
        if request.schema_name != "consultant_reply":
            return Reply.text("Посетитель хочет на мужскую стрижку.")
        assert request.tools == ["find_free_times", "make_booking"]
        results = list(request.tool_results.values())
        self.results.extend(results)
        message = visitor_message(request)
        if not results and not self.offered:
            find = {"service": "мужская стрижка", "master": None, "when": "завтра в 16:00"}
            return Reply.calls(ToolCall("call_find", "find_free_times", find))
        book = {
            "service": "Мужская модельная стрижка",
            "master": None,
            "name": "Иван",
            "phone": "+7 926 111-22-33",
        }
        if results and "times" in results[-1]:
            self.offered = results[-1]["times"]
            if "Иван" not in message:
                label = at_four(self.offered)["label"]
                return Reply.json(
                    reply_payload(f"Да, свободно: {label}. Как вас зовут и ваш телефон?")
                )
        if not results or "times" in results[-1]:
            at = self.book_at(self.offered)
            return Reply.calls(ToolCall("call_book", "make_booking", {**book, "datetime": at}))
        made = results[-1]
        if made.get("ok"):
            text = (
                f"Иван, вы записаны: «{made['service']}», {made['label']}. "
                f"Номер записи {made['record_id']}."
            )
        else:
            # A model that does not listen: it claims the booking anyway.
            text = "Иван, вы записаны на завтра в 16:00!"
        return Reply.json(reply_payload(text))


async def test_the_model_finds_a_free_time_and_books_it(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, calendar: RunningStandIn
) -> None:
    model = BookingModel()
    llm.handler = model
    async with running_service(settings_for(data_dir, sim, llm, calendar)) as service:
        visitor = Visitor.new()

        offer = await say(service, sim, visitor, ASK, 1)

        assert offer.startswith("Да, свободно: завтра,") and "16:00" in offer
        assert calendar.state.records == []
        [found] = model.results
        assert found["service"] == "Мужская модельная стрижка"
        assert at_four(found["times"])["datetime"] == tomorrow_at(calendar, 16).isoformat()

        confirmation = await say(service, sim, visitor, BOOK_ME, 2)

        [record] = calendar.state.records
        assert record["datetime"] == tomorrow_at(calendar, 16).isoformat()
        assert record["fullname"] == "Иван" and record["phone"] == "+79261112233"
        assert record["api_id"].startswith("tmc-")
        assert confirmation == (
            f"Иван, вы записаны: «Мужская модельная стрижка», {at_four(found['times'])['label']}. "
            f"Номер записи {record['record_id']}."
        )
        # Kept as the booking dialogue keeps a booking: the lead «записан», the transcript's
        # record, the Overview's count.
        [lead] = await service.runtime.store.leads.page(offset=0, limit=20)
        assert lead.status == "booked"
        transcript = await service.admin_get(f"/admin/conversations/{visitor.client_id}")
        meta = json.loads(transcript["messages"][-1]["meta"])
        assert meta["booking"]["record_id"] == record["record_id"]
        assert meta["booking"]["service"] == "Мужская модельная стрижка"
        async with signed_in_client(service) as owner:
            page = (await owner.get(f"/console/conversations/{visitor.client_id}")).text
            overview = (await owner.get("/console")).text
        assert f"№ {record['record_id']}" in page
        assert 'data-testid="figure-bookings">1<' in overview


async def test_a_time_taken_at_the_last_moment_books_nothing_and_the_claim_is_refused(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, calendar: RunningStandIn
) -> None:
    calendar.state.taken_on_check.add(tomorrow_at(calendar, 16))
    model = BookingModel()
    llm.handler = model
    async with running_service(settings_for(data_dir, sim, llm, calendar)) as service:
        visitor = Visitor.new()

        reply = await say(service, sim, visitor, BOTH, 1)

        assert calendar.state.records == []
        refusals = [r for r in model.results if r.get("ok") is False]
        assert refusals and "только что заняли" in refusals[0]["reason"]
        assert "запись не сделана" in refusals[0]["reason"]
        assert "записаны" not in reply
        guarded = [r for r in llm.requests if "записывает только календарь" in r.system]
        assert guarded, "the model was told its claim is untrue"
        leads = await service.runtime.store.leads.page(offset=0, limit=20)
        assert all(lead.status != "booked" for lead in leads)


async def test_a_busy_time_is_refused_with_the_free_times_of_that_day(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, calendar: RunningStandIn
) -> None:
    noon = tomorrow_at(calendar, 12)
    calendar.state.busy.add((21, noon))  # Алексей, the only barber, is busy at noon
    model = BookingModel(book_at=lambda _: noon.isoformat())
    llm.handler = model
    async with running_service(settings_for(data_dir, sim, llm, calendar)) as service:
        visitor = Visitor.new()

        reply = await say(service, sim, visitor, BOTH, 1)

        assert calendar.state.records == []
        refusals = [r for r in model.results if r.get("ok") is False]
        assert refusals, "the model was told why"
        for refusal in refusals:  # the guard's second try is refused the same way
            assert "не свободно" in refusal["reason"]
            assert tomorrow_at(calendar, 13).isoformat() in refusal["reason"]
        assert "записаны" not in reply


async def test_a_server_without_function_calling_books_through_the_dialogue(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, calendar: RunningStandIn
) -> None:
    llm.tools_supported = False

    def handle(request: RecordedRequest) -> Reply:
        assert not request.tools, "a request with tools is refused before it gets here"
        if request.schema_name == "search_queries":
            return Reply.json({"queries": ["мужская стрижка"]})
        if request.schema_name == "consultant_reply":
            if "попасть" in visitor_message(request):
                return Reply.json(reply_payload("С удовольствием запишу вас!", wants_booking=True))
            return Reply.json(reply_payload("Пожалуйста! Будем рады вас видеть."))
        return Reply.text("Посетитель хочет на стрижку.")

    llm.handler = handle
    async with running_service(settings_for(data_dir, sim, llm, calendar)) as service:
        visitor = Visitor.new()

        ask = await say(service, sim, visitor, ASK, 1)

        assert ask == "Отлично! Как вас зовут и по какому номеру телефона с вами связаться?"
        assert len([r for r in llm.requests if r.tools]) == 1, "tools offered once and refused"
        confirmation = await say(service, sim, visitor, CONTACTS, 2)
        assert confirmation.startswith("Иван, вы записаны: «Мужская модельная стрижка», завтра")
        assert len(calendar.state.records) == 1

        thanks = await say(service, sim, visitor, "Спасибо большое!", 3)

        assert thanks == "Пожалуйста! Будем рады вас видеть."
        assert len([r for r in llm.requests if r.tools]) == 1, "the answerer remembers the refusal"
