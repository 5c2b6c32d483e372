"""A visitor's messages travel webhook → store → turn → TalkMe simulator, over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.talkme.simulator import RunningSimulator, SimCall, running_simulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.eventually import eventually
from tests.support.service import RunningService, running_service, service_settings

REPLY_TIMEOUT = 20.0


@pytest.fixture
async def service(data_dir: Path, sim: RunningSimulator) -> AsyncIterator[RunningService]:
    async with running_service(service_settings(data_dir, sim)) as running:
        yield running


async def replies_for(sim: RunningSimulator, visitor: Visitor, count: int = 1) -> list[SimCall]:
    """Wait for `count` delivered sends to this visitor and return every call made to them."""
    await sim.state.wait_for_calls(
        count, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    return sim.state.calls_matching(token=visitor.token, delivered=True)


async def visitor_turns(service: RunningService, visitor: Visitor) -> list[str]:
    """The visitor's turns as the transcript remembers them (a burst's messages joined)."""
    transcript = await service.admin_get(f"/admin/conversations/{visitor.client_id}")
    return [m["text"] for m in transcript["messages"] if m["role"] == "visitor"]


def texts(calls: list[SimCall]) -> list[str]:
    return [c.text for c in calls if c.text is not None]


async def test_greeting_gets_typing_then_a_greeting(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    response = await service.post_message(visitor, "Здравствуйте!", 1)
    assert response.status_code == 200
    assert response.json() == {"success": True, "duplicate": False}

    calls = await replies_for(sim, visitor)
    assert [c.method for c in calls][:2] == ["customBot/simulateTyping", "customBot/send"]
    assert "Здравствуйте" in texts(calls)[0]
    assert all(c.code is None for c in calls), "a greeting does not end the bot's part"


async def test_price_question_is_answered_from_the_price_list(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "Сколько стоит маникюр с покрытием гель-лак?", 10)

    reply = texts(await replies_for(sim, visitor))[0]
    assert "Маникюр с покрытием гель-лак" in reply
    assert "2 900 ₽" in reply


async def test_a_broad_price_question_gets_a_short_list_of_services_with_prices(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "Сколько стоит маникюр?", 11)

    calls = await replies_for(sim, visitor)
    reply = "\n".join(texts(calls))
    assert ") Маникюр без покрытия — 1 800 ₽, 60 мин" in reply
    assert ") Маникюр с покрытием гель-лак — 2 900 ₽, 100 мин" in reply
    assert "Напишите номер или название услуги — расскажу подробнее." in reply
    assert all(c.code is None for c in calls), "a list keeps the bot in the dialogue"


async def test_opening_hours_of_a_branch_come_from_the_profile(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "в воскресенье в Сокольниках до которого часу?", 15)

    calls = await replies_for(sim, visitor)
    assert texts(calls) == ["Филиал в Сокольниках в воскресенье работает с 10:00 до 18:00."]
    assert all(c.code is None for c in calls), "an answered question does not end the bot's part"


async def test_asking_for_a_person_hands_over_and_a_later_message_is_answered_again(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "Позовите оператора, пожалуйста", 20)
    await sim.state.wait_for_calls(1, method="finish", token=visitor.token, timeout=REPLY_TIMEOUT)
    calls = sim.state.calls_matching(token=visitor.token, delivered=True)
    assert [c.code for c in calls if c.code] == ["OPERATOR_REQUEST"]
    assert "администратор" in texts(calls)[0]

    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["handoffs_by_reason"] == {"visitor_request": 1}
    session = next(s for s in stats["sessions"] if s["user_id"] == visitor.client_id)
    assert session["state"] == "operator"

    # TalkMe sends a new webhook only when it has given the dialogue back to the bot.
    before = sim.state.last_seq
    await service.post_message(visitor, "Здравствуйте!", 21)
    await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, since=before, timeout=REPLY_TIMEOUT
    )
    stats = await service.admin_get("/webhook/talkme/stats")
    session = next(s for s in stats["sessions"] if s["user_id"] == visitor.client_id)
    assert session["state"] == "bot"


async def test_a_question_the_bot_cannot_answer_is_handed_over_with_the_reason(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "Какой курс биткоина на бирже сегодня?", 30)
    await sim.state.wait_for_calls(1, method="finish", token=visitor.token, timeout=REPLY_TIMEOUT)
    events = await service.admin_get("/admin/events", params={"conversation": visitor.client_id})
    kinds = {e["kind"]: e["data"] for e in events["events"]}
    # Nothing in the salon's knowledge speaks of bitcoin or exchanges: not merely unsure.
    assert kinds["handoff"] == {"reason": "not_in_knowledge"}
    assert kinds["unanswered"]["question"] == "Какой курс биткоина на бирже сегодня?"


async def test_a_repeated_message_id_is_acknowledged_and_answered_once(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitor = Visitor.new()
    first = await service.post_message(visitor, "Здравствуйте!", 40)
    second = await service.post_message(visitor, "Здравствуйте!", 40)
    assert first.json()["duplicate"] is False
    assert second.status_code == 200
    assert second.json()["duplicate"] is True

    await replies_for(sim, visitor)
    # Another visitor's turn finishing proves the service had time to (wrongly) answer twice.
    other = Visitor.new()
    await service.post_message(other, "Здравствуйте!", 1)
    await replies_for(sim, other)
    assert len(sim.state.calls_matching(method="send", token=visitor.token)) == 1
    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["messages_received"] == 2


async def test_an_attachment_is_handed_over(service: RunningService, sim: RunningSimulator) -> None:
    visitor = Visitor.new()
    await service.post_message(visitor, "https://download.me-talk.ru/files/abc/photo.jpg", 50)
    await sim.state.wait_for_calls(1, method="finish", token=visitor.token, timeout=REPLY_TIMEOUT)
    reply = texts(sim.state.calls_matching(token=visitor.token))[0]
    assert reply == service.runtime.profile.messages.attachment


async def test_replies_use_the_latest_token_of_the_conversation(
    data_dir: Path, sim: RunningSimulator
) -> None:
    settings = service_settings(data_dir, sim, debounce_seconds=0.6)
    async with running_service(settings) as service:
        visitor = Visitor.new()
        renewed = dataclasses.replace(visitor, token=visitor.token + "-renewed")
        await service.post_message(visitor, "Здравствуйте!", 1)
        await service.post_message(renewed, "Сколько стоит маникюр с покрытием гель-лак?", 2)
        await sim.state.wait_for_calls(1, method="send", token=renewed.token, timeout=10)
        assert sim.state.calls_matching(token=visitor.token) == []


async def test_a_burst_within_the_debounce_window_becomes_one_turn(
    data_dir: Path, sim: RunningSimulator
) -> None:
    settings = service_settings(data_dir, sim, debounce_seconds=0.8)
    async with running_service(settings) as service:
        visitor = Visitor.new()
        for number, text in enumerate(
            ["Здравствуйте", "подскажите", "сколько стоит маникюр с покрытием гель-лак?"], 1
        ):
            response = await service.post_message(visitor, text, number)
            assert response.status_code == 200
        await replies_for(sim, visitor)

        async def settled() -> bool:
            # Every message consumed and every call made: no second turn can follow.
            stats = await service.admin_get("/webhook/talkme/stats")
            return stats["messages_pending"] == 0 and stats["pending_calls"] == 0

        await eventually(settled, what="the conversation to settle")
        calls = sim.state.calls_matching(token=visitor.token)
        assert [c.method for c in calls].count("customBot/simulateTyping") == 1
        assert len(texts(calls)) == 1
        assert "Маникюр с покрытием гель-лак" in texts(calls)[0]
        assert await visitor_turns(service, visitor) == [
            "Здравствуйте\nподскажите\nсколько стоит маникюр с покрытием гель-лак?"
        ]


async def test_a_whole_question_goes_without_waiting_out_the_window(
    data_dir: Path, sim: RunningSimulator
) -> None:
    # The window is far longer than the wait for the reply: only the question's own short
    # wait can let the turn go in time.
    settings = service_settings(data_dir, sim, debounce_seconds=600, debounce_question_seconds=0.3)
    async with running_service(settings) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, "Здравствуйте", 1)
        await service.post_message(visitor, "сколько стоит маникюр с покрытием гель-лак?", 2)
        calls = await replies_for(sim, visitor)
        assert "Маникюр с покрытием гель-лак" in texts(calls)[0]
        assert await visitor_turns(service, visitor) == [
            "Здравствуйте\nсколько стоит маникюр с покрытием гель-лак?"
        ]


async def test_words_that_go_on_after_a_question_hold_its_turn_for_the_whole_window(
    data_dir: Path, sim: RunningSimulator
) -> None:
    window = 3.0
    settings = service_settings(data_dir, sim, debounce_seconds=window, debounce_question_seconds=1)
    async with running_service(settings) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, "Сколько стоит маникюр с покрытием гель-лак?", 1)
        await service.post_message(visitor, "и педикюр тоже", 2)
        added_at = time.monotonic()
        await replies_for(sim, visitor)
        # Stored within the question's short wait, the words that go on moved the turn to a
        # whole window after them: no reply can come sooner.
        assert time.monotonic() - added_at >= window - 0.1
        assert await visitor_turns(service, visitor) == [
            "Сколько стоит маникюр с покрытием гель-лак?\nи педикюр тоже"
        ]


async def test_concurrent_conversations_are_answered_in_order_one_turn_at_a_time(
    service: RunningService, sim: RunningSimulator
) -> None:
    visitors = [Visitor.new() for _ in range(12)]
    lines = ["Здравствуйте", "Сколько стоит педикюр?", "А где вы находитесь?", "Спасибо"]

    async def chat(visitor: Visitor) -> None:
        for number, line in enumerate(lines, 1):
            response = await service.post_message(visitor, line, number)
            assert response.status_code == 200

    await asyncio.gather(*(chat(v) for v in visitors))

    async def settled(visitor: Visitor) -> dict[str, object]:
        async def finished() -> dict[str, object] | None:
            transcript: dict[str, object] = await service.admin_get(
                f"/admin/conversations/{visitor.client_id}"
            )
            said = [m["text"] for m in transcript["messages"] if m["role"] == "visitor"]  # type: ignore[attr-defined]
            return transcript if "\n".join(said).count("\n") + 1 == len(lines) else None

        return await eventually(finished, what=f"conversation {visitor.client_id} to finish")

    for visitor in visitors:
        transcript = await settled(visitor)
        said = [m["text"] for m in transcript["messages"] if m["role"] == "visitor"]  # type: ignore[attr-defined]
        assert "\n".join(said).split("\n") == lines, "messages answered in arrival order"
        await sim.state.wait_for_calls(
            len(said), method="send", token=visitor.token, timeout=REPLY_TIMEOUT
        )
        methods = [c.method for c in sim.state.calls_matching(token=visitor.token)]
        # Every turn is typing, then its replies: two typings never follow each other, which
        # they would if two workers served the conversation at once.
        pairs = list(itertools.pairwise(methods))
        assert ("customBot/simulateTyping", "customBot/simulateTyping") not in pairs


async def test_a_reply_is_retried_after_server_errors_until_it_arrives(
    service: RunningService, sim: RunningSimulator
) -> None:
    sim.state.fail_next(2, "http500", method="send")
    sim.state.fail_next(1, "success_false", method="send")
    visitor = Visitor.new()
    await service.post_message(visitor, "Здравствуйте!", 1)
    await replies_for(sim, visitor)
    sends = sim.state.calls_matching(method="send", token=visitor.token)
    assert [c.outcome for c in sends][-1] == "ok"
    assert len(sends) == 4

    # The outbox marks the call sent once TalkMe's answer is back; give it that moment.
    async def sent_call() -> dict[str, object] | None:
        calls = await service.admin_get("/admin/calls", params={"status": "sent"})
        return next(
            (
                c
                for c in calls["calls"]
                if c["conversation"] == visitor.client_id and c["method"] == "customBot/send"
            ),
            None,
        )

    send = await eventually(sent_call, what="the send to be marked sent")
    assert send["attempts"] == 4


async def test_a_call_that_fails_for_good_is_recorded_and_counted(
    data_dir: Path, sim: RunningSimulator
) -> None:
    settings = service_settings(data_dir, sim, outbox_max_attempts=2)
    async with running_service(settings) as service:
        sim.state.fail_next(5, "http500", method="send")
        visitor = Visitor.new()
        await service.post_message(visitor, "Здравствуйте!", 1)
        await sim.state.wait_for_calls(2, method="send", token=visitor.token, timeout=10)

        async def counted() -> dict[str, int] | None:
            stats: dict[str, int] = await service.admin_get("/webhook/talkme/stats")
            return stats if stats["failed_calls"] else None

        stats = await eventually(counted, what="the failed call to be counted")
        assert stats["failed_calls"] == 1
        assert stats["errors"] >= 1
        failed = await service.admin_get("/admin/calls", params={"status": "failed"})
        assert "HTTP 500" in failed["calls"][0]["last_error"]
        assert visitor.token not in failed["calls"][0]["last_error"]


async def test_test_mode_sends_nothing_and_records_every_call(data_dir: Path) -> None:
    async with running_simulator() as sim:
        settings = service_settings(data_dir, None)
        assert settings.talkme_test_mode
        async with running_service(settings) as service:
            visitor = Visitor.new()
            await service.post_message(visitor, "Здравствуйте!", 1)

            async def two_recorded() -> dict[str, list[dict[str, str]]] | None:
                recorded: dict[str, list[dict[str, str]]] = await service.admin_get(
                    "/admin/calls", params={"status": "recorded"}
                )
                return recorded if len(recorded["calls"]) >= 2 else None

            recorded = await eventually(two_recorded, what="typing and reply to be recorded")
            assert {c["method"] for c in recorded["calls"]} == {
                "customBot/simulateTyping",
                "customBot/send",
            }
            assert sim.state.calls == []
