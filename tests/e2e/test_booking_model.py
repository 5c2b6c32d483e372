"""Booking with a language model over real HTTP: the model books only through its tools
(`test_booking_tools.py`). A wish to book it hears without calling them goes to the booking
dialogue (the same code and checks as without a model), and a reply that claims a booking no
`book_record` made is replaced by the guard."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from talkme_consultant.booking.standin import RunningStandIn
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.answer.llm_helpers import reply_payload
from tests.support.chat import say
from tests.support.openai_server import RecordedRequest, Reply, ScriptedOpenAIServer
from tests.support.service import model_settings, running_service, service_settings

# Words the booking dialogue does not read as a request; the model does.
UNHEARD = "А завтра в 16:00 получится на мужскую стрижку попасть?"


def scripted(reply: str, **flags: object) -> Callable[[RecordedRequest], Reply]:
    def handle(request: RecordedRequest) -> Reply:
        if request.schema_name == "search_queries":
            return Reply.json({"queries": ["мужская стрижка"]})
        if request.schema_name == "consultant_reply":
            return Reply.json(reply_payload(reply, **flags))
        return Reply.text("Посетитель хочет на стрижку.")

    return handle


async def test_a_wish_the_model_hears_is_booked_by_the_booking_dialogue(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, calendar: RunningStandIn
) -> None:
    llm.handler = scripted("Вы записаны на завтра в 16:00!", wants_booking=True)
    settings = service_settings(
        data_dir, sim, **model_settings(llm.base_url, llm_max_retries=0), **calendar.settings()
    )
    async with running_service(settings) as service:
        visitor = Visitor.new()
        ask = await say(service, sim, visitor, UNHEARD, 1)
        assert ask == "Отлично! Как вас зовут и по какому номеру телефона с вами связаться?"
        assert calendar.state.records == []

        confirmation = await say(service, sim, visitor, "Иван, +7 926 111-22-33", 2)

        assert confirmation.startswith("Иван, вы записаны: «Мужская модельная стрижка», завтра")
        assert "16:00" in confirmation
        assert len(calendar.state.records) == 1


async def test_a_model_reply_claiming_a_booking_is_replaced_by_the_guard(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, calendar: RunningStandIn
) -> None:
    llm.handler = scripted(
        "Мужская модельная стрижка стоит 2300 ₽. Я записала вас на завтра в 16:00."
    )
    settings = service_settings(
        data_dir, sim, **model_settings(llm.base_url, llm_max_retries=0), **calendar.settings()
    )
    async with running_service(settings) as service:
        visitor = Visitor.new()

        reply = await say(service, sim, visitor, "Сколько стоит мужская стрижка?", 1)

        assert "записала" not in reply and "записаны" not in reply
        assert calendar.state.records == []
        guarded = [r for r in llm.requests if "записывает только календарь" in str(r.messages)]
        assert guarded, "the model was told its claim is untrue"
