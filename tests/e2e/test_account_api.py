"""The account API at work, against the simulator over real HTTP: handoff only to someone who is
there, the call-back lead when nobody is, the client card, and operators' answers harvested."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from talkme_consultant.talkme.identity import search_id_key
from talkme_consultant.talkme.simulator import DEFAULT_ACCOUNT_KEY, RunningSimulator, SimCall
from talkme_consultant.talkme.visitor import Visitor
from tests.support.booking_model import booking_model
from tests.support.eventually import eventually
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.service import (
    RunningService,
    model_settings,
    running_service,
    service_settings,
)

TIMEOUT = 20.0
PERSON = "Позовите оператора, пожалуйста"
UNKNOWN = "Какой курс биткоина на бирже сегодня?"


def account_settings(data_dir: Path, sim: RunningSimulator, **overrides: Any) -> Any:
    """A service with the cabinet key: presence asked afresh each turn, harvest rounds fast.
    The account API is not named: it follows TALKME_API_URL to the simulator."""
    values: dict[str, Any] = {
        "talkme_account_api_key": DEFAULT_ACCOUNT_KEY,
        "operators_cache_seconds": 0,
        "operators_timeout_seconds": 1.0,
        "harvest_interval_seconds": 0.2,
        **overrides,
    }
    return service_settings(data_dir, sim, **values)


@pytest.fixture
async def service(data_dir: Path, sim: RunningSimulator) -> AsyncIterator[RunningService]:
    async with running_service(account_settings(data_dir, sim)) as running:
        yield running


async def finish_code(sim: RunningSimulator, visitor: Visitor, since: int = 0) -> str | None:
    [finish] = await sim.state.wait_for_calls(
        1, method="finish", token=visitor.token, since=since, timeout=TIMEOUT
    )
    return finish.code


async def sent_texts(sim: RunningSimulator, visitor: Visitor, count: int = 1) -> list[str]:
    calls: list[SimCall] = await sim.state.wait_for_calls(
        count, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
    )
    return [c.text for c in calls if c.text is not None]


async def test_with_an_operator_online_the_visitor_is_handed_over(
    service: RunningService, sim: RunningSimulator
) -> None:
    sim.state.account.set_operator(1, online=True)
    visitor = Visitor.new()

    await service.post_message(visitor, PERSON, 1)

    assert await finish_code(sim, visitor) == "OPERATOR_REQUEST"
    assert sim.state.account.calls("chat/operator/getList"), "presence was asked"


async def test_with_nobody_online_a_call_back_is_offered_and_the_phone_becomes_a_lead(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()

    await service.post_message(visitor, PERSON, 1)
    [offer] = await sent_texts(sim, visitor)
    assert offer.startswith("Сейчас, к сожалению, никого из администраторов нет в чате.")
    assert "номер телефона — администратор перезвонит вам " in offer
    assert sim.state.calls_matching(method="finish", token=visitor.token) == []

    before = sim.state.last_seq
    await service.post_message(visitor, "+7 916 123-45-67", 2)

    assert await finish_code(sim, visitor, since=before) == "OPERATORS_OFFLINE"
    texts = await sent_texts(sim, visitor, 2)
    assert texts[1].startswith("Спасибо, номер записан. Администратор перезвонит вам ")

    async def lead() -> dict[str, Any] | None:
        leads = (await service.admin_get("/admin/leads"))["leads"]
        return next((x for x in leads if x["conversation"] == visitor.client_id), None)

    recorded = await eventually(lead, what="the call-back lead")
    assert recorded["phone"] == "+79161234567"

    async def card_has_phone() -> bool:
        return sim.state.account.card(visitor.client_id).get("phone") == "+79161234567"

    await eventually(card_has_phone, what="the phone on the client card")
    events = await service.admin_get("/admin/events", params={"conversation": visitor.client_id})
    kinds = {e["kind"] for e in events["events"]}
    assert {"callback_offered", "callback_lead", "lead"} <= kinds
    assert "handoff" not in kinds


@pytest.mark.parametrize("mode", ["down", "slow"])
async def test_when_the_account_api_fails_or_stalls_the_bot_hands_over_as_before(
    service: RunningService, sim: RunningSimulator, mode: str
) -> None:
    sim.state.account.set_mode("down" if mode == "down" else "slow", delay=30)
    visitor = Visitor.new()

    await service.post_message(visitor, PERSON, 1)

    assert await finish_code(sim, visitor) == "OPERATOR_REQUEST"
    [call] = sim.state.account.calls("chat/operator/getList")
    assert call.outcome == mode


async def test_with_a_wrong_key_the_bot_hands_over_as_before_and_never_logs_the_key(
    data_dir: Path, sim: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-cabinet-key-7c1f"
    settings = account_settings(data_dir, sim, talkme_account_api_key=wrong)
    async with running_service(settings) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, PERSON, 1)

        assert await finish_code(sim, visitor) == "OPERATOR_REQUEST"

    calls = sim.state.account.calls("chat/operator/getList")
    assert calls and not any(c.key_ok for c in calls)
    assert wrong not in caplog.text


async def test_without_the_key_nothing_is_asked_of_the_account_api(
    data_dir: Path, sim: RunningSimulator
) -> None:
    async with running_service(service_settings(data_dir, sim)) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, PERSON, 1)

        assert await finish_code(sim, visitor) == "OPERATOR_REQUEST"
    assert sim.state.account.calls() == []


async def test_the_operator_sees_the_visitors_name_phone_and_interest_on_the_card(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = booking_model
    sim.state.account.set_operator(1, online=True)
    settings = account_settings(data_dir, sim, **model_settings(llm.base_url, llm_max_retries=0))
    async with running_service(settings) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, "Здравствуйте! Хочу записаться на маникюр", 1)
        await sent_texts(sim, visitor)
        await service.post_message(visitor, "Я Анна, мой номер 8 916 123-45-67", 2)
        assert await finish_code(sim, visitor) == "OPERATOR_REQUEST"

        async def card() -> dict[str, Any] | None:
            found = sim.state.account.card(visitor.client_id)
            return found if found.get("phone") else None

        shown = await eventually(card, what="the client card")
        assert (shown["name"], shown["phone"]) == ("Анна", "+79161234567")
        assert shown["customData"]["interest"] == "маникюр"
        assert shown["customData"]["summary"]
        sent = await service.admin_get("/admin/calls")
        methods = {c["method"] for c in sent["calls"]}
        assert "chat/client/setInfo" in methods


async def hand_over_unknown_question(
    service: RunningService, sim: RunningSimulator, visitor: Visitor
) -> None:
    """The visitor asks what the bot cannot answer; an operator is there to take it."""
    sim.state.account.set_operator(1, online=True)
    await service.post_message(visitor, UNKNOWN, 1)
    assert await finish_code(sim, visitor) == "OPERATOR_REQUEST"
    sim.state.account.add_message(visitor.client_id, "client", UNKNOWN)


async def test_the_operators_reply_is_stored_against_the_handed_over_question(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    await hand_over_unknown_question(service, sim, visitor)
    sim.state.account.add_message(visitor.client_id, "operator", "Мы не следим за курсами валют.")
    sim.state.account.add_message(visitor.client_id, "operator", "Чем ещё помочь?")
    sim.state.account.add_message(visitor.client_id, "client", "Спасибо")
    sim.state.account.add_message(visitor.client_id, "operator", "Пожалуйста!")

    async def harvested() -> list[dict[str, Any]]:
        answers: list[dict[str, Any]] = (
            await service.admin_get(
                "/admin/operator-answers", params={"conversation": visitor.client_id}
            )
        )["answers"]
        return answers

    [answer] = await eventually(harvested, what="the operator's answer")
    assert answer["question"] == UNKNOWN
    assert answer["answer"] == "Мы не следим за курсами валют.\nЧем ещё помочь?"
    assert answer["harvested_at"] >= answer["operator_at"]
    store = service.runtime.store.operator_answers
    [stored] = await store.operator_answers_for(visitor.client_id)
    assert stored.answer == answer["answer"]


async def test_an_answer_given_while_the_service_was_down_is_harvested_after_a_restart(
    data_dir: Path, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    slow_rounds = account_settings(data_dir, sim, harvest_interval_seconds=3600)
    async with running_service(slow_rounds) as first:
        await hand_over_unknown_question(first, sim, visitor)
        assert await first.admin_get("/admin/operator-answers") == {"answers": []}

    sim.state.account.add_message(visitor.client_id, "operator", "Курсами валют не занимаемся.")

    async with running_service(account_settings(data_dir, sim)) as second:

        async def harvested() -> list[dict[str, Any]]:
            answers: list[dict[str, Any]] = (await second.admin_get("/admin/operator-answers"))[
                "answers"
            ]
            return answers

        [answer] = await eventually(harvested, what="the answer given during the downtime")
        assert (answer["conversation"], answer["answer"]) == (
            visitor.client_id,
            "Курсами валют не занимаемся.",
        )
        cursor = await second.runtime.store.operator_answers.cursor("operator-answers")
        assert cursor is not None


async def test_a_booking_with_a_phone_while_nobody_is_online_ends_with_the_offline_code(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = booking_model
    settings = account_settings(data_dir, sim, **model_settings(llm.base_url, llm_max_retries=0))
    async with running_service(settings) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, "Здравствуйте! Хочу записаться на маникюр", 1)
        await sent_texts(sim, visitor)
        await service.post_message(visitor, "Я Анна, мой номер 8 916 123-45-67", 2)

        assert await finish_code(sim, visitor) == "OPERATORS_OFFLINE"
        texts = await sent_texts(sim, visitor, 2)
        assert texts[-1].startswith("Спасибо, номер записан. Администратор перезвонит вам ")
        leads = (await service.admin_get("/admin/leads"))["leads"]
        assert [x["phone"] for x in leads if x["conversation"] == visitor.client_id] == [
            "+79161234567"
        ]


async def test_a_card_update_that_fails_is_retried_and_never_holds_back_a_reply(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = booking_model
    # Replies give up after two attempts here; a card update keeps trying far longer.
    settings = account_settings(
        data_dir, sim, outbox_max_attempts=2, **model_settings(llm.base_url, llm_max_retries=0)
    )
    async with running_service(settings) as service:
        sim.state.account.set_mode("down")
        visitor = Visitor.new()
        await service.post_message(visitor, "Здравствуйте! Хочу записаться на маникюр", 1)
        await sent_texts(sim, visitor)
        await service.post_message(visitor, "Я Анна, мой номер 8 916 123-45-67", 2)
        assert await finish_code(sim, visitor) == "OPERATOR_REQUEST", "presence unknown"

        async def refused_four_times() -> bool:
            return len(sim.state.account.calls("chat/client/setInfo")) >= 4

        await eventually(refused_four_times, what="the card update failing and being retried")
        before = sim.state.last_seq
        await service.post_message(visitor, "И ещё: у вас есть парковка?", 3)
        await sim.state.wait_for_calls(
            1, method="send", token=visitor.token, since=before, timeout=TIMEOUT
        )
        sim.state.account.set_mode("ok")

        async def card_filled() -> bool:
            return sim.state.account.card(visitor.client_id).get("phone") == "+79161234567"

        await eventually(card_filled, what="the card update delivered once the API is back")


async def test_an_all_digit_client_id_is_named_to_the_account_api_as_a_client_id(
    service: RunningService, sim: RunningSimulator
) -> None:
    booker = Visitor.new(client_id="48213")
    await service.post_message(booker, PERSON, 1)
    await sent_texts(sim, booker)
    await service.post_message(booker, "+7 916 123-45-67", 2)

    async def card_has_phone() -> bool:
        return sim.state.account.card("48213").get("phone") == "+79161234567"

    await eventually(card_has_phone, what="the phone on the card of clientId 48213")
    asker = Visitor.new(client_id="48214")
    await hand_over_unknown_question(service, sim, asker)
    sim.state.account.add_message("48214", "operator", "Курсами валют не занимаемся.")

    async def harvested() -> list[dict[str, Any]]:
        found = await service.admin_get("/admin/operator-answers", params={"conversation": "48214"})
        answers: list[dict[str, Any]] = found["answers"]
        return answers

    await eventually(harvested, what="the operator's answer to clientId 48214")
    named = [
        call.body["client"]
        for call in sim.state.account.calls()
        if isinstance(call.body, dict) and "client" in call.body
    ]
    assert {"chat/client/setInfo", "chat/message/getClientMessageList"} <= {
        call.method for call in sim.state.account.calls()
    }
    assert [n for n in named if n.get("clientId") not in {"48213", "48214"}] == []
    assert [n for n in named if {"id", "searchId"} & n.keys()] == [], "never by their digits"
    assert sim.state.account.card(search_id_key(48213)) == {}
