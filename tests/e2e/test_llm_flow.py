"""The language-model consultant end to end: webhook → model (scripted, real HTTP) → TalkMe."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.answer.llm_helpers import reply_payload
from tests.support.eventually import eventually
from tests.support.openai_server import (
    RecordedRequest,
    Reply,
    ScriptedOpenAIServer,
)
from tests.support.service import RunningService, model_settings, running_service, service_settings

TIMEOUT = 20.0
PRICE_ROW = re.compile(r"Услуга: Маникюр с покрытием гель-лак\s+Цена, руб\.: (\d+)")
PLAIN_ROW = re.compile(r"^Так и называй: (.+)$", re.MULTILINE)
RECORD = re.compile(r'<record id="(R\d+)">\n(.*?)</record>', re.DOTALL)


def consultant_reply(text: str, **flags: object) -> Reply:
    return Reply.json(reply_payload(text, **flags), prompt_tokens=400, completion_tokens=60)


Model = Callable[[RecordedRequest], Reply]


def model(reply: Callable[[RecordedRequest], Reply]) -> Model:
    """A scripted model: search queries are the visitor's words; replies come from `reply`."""

    def handle(request: RecordedRequest) -> Reply:
        if request.schema_name == "search_queries":
            return Reply.json({"queries": ["маникюр гель-лак цена"]})
        if request.schema_name == "consultant_reply":
            return reply(request)
        return Reply.text("Посетитель спрашивал о маникюре.")

    return handle


@pytest.fixture
async def service(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> AsyncIterator[RunningService]:
    settings = service_settings(
        data_dir,
        sim,
        **model_settings(
            llm.base_url,
            llm_max_retries=1,
            llm_timeout_seconds=3,
            llm_prices="scripted-model=1000/2000",
        ),
    )
    async with running_service(settings) as running:
        yield running


async def test_the_model_answers_from_the_found_records_and_remembers_the_dialogue(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    def answer(request: RecordedRequest) -> Reply:
        price = PRICE_ROW.search(request.user)
        assert price, "the price-list row reaches the model"
        return consultant_reply(f"Маникюр с покрытием гель-лак стоит {price.group(1)} ₽.")

    llm.handler = model(answer)
    visitor = Visitor.new()
    await service.post_message(visitor, "Сколько стоит маникюр с гель-лаком?", 1)
    [send] = await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
    assert send.text == "Маникюр с покрытием гель-лак стоит 2900 ₽."

    await service.post_message(visitor, "А сколько это по времени?", 2)
    await sim.state.wait_for_calls(2, method="send", token=visitor.token, timeout=TIMEOUT)
    second_turn = llm.chat_requests("consultant_reply")[-1].user
    assert "Сколько стоит маникюр с гель-лаком?" in second_turn
    assert "Маникюр с покрытием гель-лак стоит 2900 ₽." in second_turn

    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["llm"]["prompt_tokens"] > 0
    assert stats["llm"]["estimated_cost"] > 0
    assert stats["llm"]["latency"]["p50_ms"] is not None
    session = next(s for s in stats["sessions"] if s["user_id"] == visitor.client_id)
    assert session["prompt_tokens"] == stats["llm"]["prompt_tokens"]


async def test_an_invented_price_is_never_sent(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    def answer(request: RecordedRequest) -> Reply:
        if "отклонён проверкой" in request.system:
            # The guard named the invented price in the prompt: the model corrects itself.
            return consultant_reply("Маникюр с покрытием гель-лак стоит 2900 ₽.")
        return consultant_reply("Маникюр с покрытием гель-лак стоит 1 700 ₽.")

    llm.handler = model(answer)
    visitor = Visitor.new()
    await service.post_message(visitor, "Сколько стоит маникюр с гель-лаком?", 1)
    [send] = await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
    assert send.text == "Маникюр с покрытием гель-лак стоит 2900 ₽."
    events = await service.admin_get("/admin/events", params={"kind": "guard"})
    assert any("1 700" in e["data"]["problems"] for e in events["events"])


async def test_a_model_that_keeps_inventing_falls_back_to_the_record_itself(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = model(lambda _: consultant_reply("Маникюр с гель-лаком всего за 1 рубль!"))
    visitor = Visitor.new()
    await service.post_message(visitor, "Сколько стоит маникюр с покрытием гель-лак?", 1)
    sends = await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
    assert "1 рубль" not in (sends[0].text or "")
    assert "Маникюр с покрытием гель-лак" in (sends[0].text or "")
    events = await service.admin_get("/admin/events", params={"kind": "guard"})
    assert any(e["data"].get("fallback") for e in events["events"])


async def test_a_visitor_who_books_and_leaves_a_phone_becomes_a_lead_for_the_operator(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = model(
        lambda _: consultant_reply(
            "Спасибо, Анна! Передаю ваш номер администратору — он перезвонит.",
            wants_booking=True,
            visitor_name="Анна",
            interest="маникюр с покрытием гель-лак",
        )
    )
    visitor = Visitor.new()
    await service.post_message(
        visitor, "Хочу записаться на маникюр, меня зовут Анна, телефон 8 916 123-45-67", 1
    )
    [finish] = await sim.state.wait_for_calls(
        1, method="finish", token=visitor.token, timeout=TIMEOUT
    )
    assert finish.code == "OPERATOR_REQUEST"
    leads = await service.admin_get("/admin/leads")
    [lead] = [x for x in leads["leads"] if x["conversation"] == visitor.client_id]
    assert lead["phone"] == "+79161234567"
    assert lead["name"] == "Анна"
    assert "записаться на маникюр" in lead["summary"]
    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["leads"] >= 1
    assert stats["handoffs_by_reason"].get("booking") == 1


async def test_when_the_model_is_down_the_offline_answerer_replies(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = lambda _: Reply.fail(503, "overloaded")
    visitor = Visitor.new()
    await service.post_message(visitor, "Сколько стоит маникюр с покрытием гель-лак?", 1)
    [send] = await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=TIMEOUT)
    assert "Маникюр с покрытием гель-лак" in (send.text or "")
    assert "503" not in (send.text or "") and "error" not in (send.text or "").lower()

    async def outage_seen() -> dict[str, Any] | None:
        health: dict[str, Any] = (
            await service.http.get(service.url + "/webhook/talkme/health")
        ).json()
        return health if health["checks"]["llm"]["outages"] else None

    health = await eventually(outage_seen, what="the outage to show in health")
    assert health["checks"]["llm"]["degraded"] is True
    events = await service.admin_get("/admin/events", params={"kind": "llm_outage"})
    assert events["events"], "the outage is recorded"


async def test_a_rows_number_after_the_models_list_is_answered_from_that_row(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    listed: list[str] = []

    def list_rows(request: RecordedRequest) -> Reply:
        # The price-list rows reach the model in plain words; it lists two of them as given.
        rows = [
            (record_id, row.group(1))
            for record_id, text in RECORD.findall(request.user)
            if (row := PLAIN_ROW.search(text))
        ]
        assert len(rows) >= 2, request.user
        listed[:] = [line for _, line in rows[:2]]
        lines = "\n".join(f"{number}) {row}" for number, row in enumerate(listed, 1))
        return consultant_reply(
            f"Вот что есть:\n{lines}\nКакой вам подходит?",
            used_record_ids=[record_id for record_id, _ in rows[:2]],
        )

    llm.handler = model(list_rows)
    visitor = Visitor.new()
    await service.post_message(visitor, "Сколько стоит маникюр?", 1)
    [listing] = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, timeout=TIMEOUT
    )
    assert f"2) {listed[1]}" in (listing.text or "")

    await service.post_message(visitor, "второе", 2)
    sends = await sim.state.wait_for_calls(2, method="send", token=visitor.token, timeout=TIMEOUT)

    name = listed[1].split(" — ")[0]
    assert (sends[1].text or "").startswith(f"{listed[1]}."), sends[1].text
    assert name in (sends[1].text or "")
    assert len(llm.chat_requests("consultant_reply")) == 1, "the choice needs no model call"
    events = await service.admin_get("/admin/events", params={"kind": "list_choice"})
    assert any(e["data"] == {"option": 2} for e in events["events"])
