"""Every turn ends: broken model text is cleaned, and a turn that keeps failing is handed over.

The service runs over real HTTP with the simulator as TalkMe and the scripted OpenAI-compatible
server as the model. The turn that always fails is made to fail in the store itself: a SQLite
trigger refuses to remember one particular model reply, as a full disk or a constraint would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from talkme_consultant.profile import load_profile
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.answer.llm_helpers import reply_payload
from tests.support.eventually import eventually
from tests.support.openai_server import (
    Handler,
    RecordedRequest,
    Reply,
    ScriptedOpenAIServer,
)
from tests.support.service import RunningService, model_settings, running_service, service_settings

TIMEOUT = 30.0
MAX_ATTEMPTS = 3
RETRY_BASE = 0.3
REFUSED_REPLY = "Сейчас уточню у коллег и вернусь с ответом."


def model_saying(payload: dict[str, object]) -> Handler:
    """A scripted model whose consultant reply is `payload`, sent JSON-escaped (ASCII), so lone
    surrogates and NUL travel as `\\ud800` / `\\u0000` escapes, as a real server sends them."""

    def handle(request: RecordedRequest) -> Reply:
        if request.schema_name == "search_queries":
            return Reply.json({"queries": ["маникюр гель-лак цена"]})
        if request.schema_name == "consultant_reply":
            return Reply(content=json.dumps(payload), prompt_tokens=300, completion_tokens=40)
        return Reply.text("Посетитель спрашивал о маникюре.")

    return handle


def escaped_text_completion(text: str) -> Reply:
    """A plain-text completion sent JSON-escaped (ASCII), so a lone surrogate survives transit."""
    completion = {
        "id": "chatcmpl-summary",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted-model",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 200, "completion_tokens": 30, "total_tokens": 230},
    }
    return Reply(raw_body=json.dumps(completion))


def consultant_requests(llm: ScriptedOpenAIServer) -> int:
    return len(llm.chat_requests("consultant_reply"))


@pytest.fixture
async def service(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> AsyncIterator[RunningService]:
    refuse_one_reply(data_dir / "talkme.sqlite3", REFUSED_REPLY)
    settings = service_settings(
        data_dir,
        sim,
        **model_settings(
            llm.base_url,
            llm_max_retries=0,
            llm_timeout_seconds=5,
            turn_max_attempts=MAX_ATTEMPTS,
            turn_retry_base_seconds=RETRY_BASE,
        ),
    )
    async with running_service(settings) as running:
        yield running


def refuse_one_reply(database: Path, text: str) -> None:
    """Make the store refuse to remember a bot message with `text` (every time)."""
    with sqlite3.connect(database) as connection:
        # A trigger takes no parameters; `text` is the test's own constant, without quotes.
        assert "'" not in text
        connection.execute(
            "CREATE TRIGGER refuse_one_reply BEFORE INSERT ON dialog_messages "
            f"WHEN NEW.role = 'bot' AND instr(NEW.text, '{text}') > 0 "
            "BEGIN SELECT RAISE(ABORT, 'this reply cannot be stored'); END"
        )


async def test_a_model_reply_with_a_lone_surrogate_and_nul_reaches_the_visitor_cleaned_once(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = model_saying(
        reply_payload(
            "Маникюр\ud800 с покрытием\x00 гель-лак\x07 стоит 2900 ₽.",
            visitor_name="Ан\udc00на\x00",
        )
    )
    visitor = Visitor.new()
    response = await service.post_message(visitor, "Сколько стоит маникюр\x1b с гель-лаком?", 1)
    assert response.status_code == 200

    [send] = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
    )
    assert send.text == "Маникюр с покрытием гель-лак стоит 2900 ₽."
    assert consultant_requests(llm) == 1

    async def turn_stored() -> bool:
        conversation = await service.runtime.store.conversations.get(visitor.client_id)
        return conversation is not None and conversation.due_at is None

    await eventually(turn_stored, what="the turn is committed")
    conversation = await service.runtime.store.conversations.get(visitor.client_id)
    assert conversation is not None
    assert conversation.visitor_name == "Анна"
    assert conversation.turn_attempts == 0
    memory = await service.runtime.store.conversations.history(visitor.client_id)
    assert [(m.role, m.text) for m in memory] == [
        ("visitor", "Сколько стоит маникюр с гель-лаком?"),
        ("bot", "Маникюр с покрытием гель-лак стоит 2900 ₽."),
    ]
    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["turn_errors"] == 0
    assert stats["turns_failed"] == 0
    assert len(sim.state.calls_matching(method="send", token=visitor.token)) == 1


async def test_a_turn_that_always_fails_ends_in_one_handoff_after_the_last_attempt(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = model_saying(reply_payload(REFUSED_REPLY))
    visitor = Visitor.new()
    await service.post_message(visitor, "Какой маникюр посоветуете на завтра?", 1)

    [finish] = await sim.state.wait_for_calls(
        1, method="finish", token=visitor.token, delivered=True, timeout=TIMEOUT
    )
    assert finish.code == "OPERATOR_REQUEST"
    handoff = " ".join(load_profile(service.runtime.settings.profile_path).messages.handoff.split())
    sends = sim.state.calls_matching(method="send", token=visitor.token)
    assert [" ".join((s.text or "").split()) for s in sends] == [handoff]
    assert len(sim.state.calls_matching(method="simulateTyping", token=visitor.token)) == 1
    # One model call per attempt, and no attempt after the last.
    assert consultant_requests(llm) == MAX_ATTEMPTS

    events = await service.admin_get(
        "/admin/events", params={"conversation": visitor.client_id, "limit": 50}
    )
    by_kind: dict[str, list[dict[str, object]]] = {}
    for event in reversed(events["events"]):
        by_kind.setdefault(str(event["kind"]), []).append(event)
    [failed] = by_kind["turn_failed"]
    assert failed["data"] == {"error": "IntegrityError"}
    errors = by_kind["turn_error"]
    assert [e["data"] for e in errors] == [
        {"error": "IntegrityError", "attempt": attempt} for attempt in range(1, MAX_ATTEMPTS + 1)
    ]
    # The delay grows: at least the base after the first failure, twice it after the second.
    times = [float(str(e["created_at"])) for e in errors]
    assert times[1] - times[0] >= RETRY_BASE
    assert times[2] - times[1] >= 2 * RETRY_BASE
    assert [e["data"] for e in by_kind["handoff"]] == [{"reason": "turn_failed"}]

    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["turns_failed"] == 1
    assert stats["turn_errors"] == MAX_ATTEMPTS
    assert stats["messages_pending"] == 0
    assert stats["handoffs_by_reason"] == {"turn_failed": 1}
    metrics = (await service.http.get(service.url + "/metrics")).text
    assert 'talkme_turns_failed_total{error="IntegrityError"} 1.0' in metrics

    conversation = await service.runtime.store.conversations.get(visitor.client_id)
    assert conversation is not None
    assert (conversation.turn_attempts, conversation.state, conversation.due_at) == (
        0,
        "operator",
        None,
    )


async def test_after_a_failed_turn_the_next_message_is_answered_normally(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    llm.handler = model_saying(reply_payload(REFUSED_REPLY))
    visitor = Visitor.new()
    await service.post_message(visitor, "Какой маникюр посоветуете на завтра?", 1)
    await sim.state.wait_for_calls(
        1, method="finish", token=visitor.token, delivered=True, timeout=TIMEOUT
    )

    llm.handler = model_saying(reply_payload("Маникюр с покрытием гель-лак стоит 2900 ₽."))
    await service.post_message(visitor, "А сколько он стоит?", 2)
    sends = await sim.state.wait_for_calls(
        2, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
    )
    assert sends[-1].text == "Маникюр с покрытием гель-лак стоит 2900 ₽."
    # The new turn starts with a clean count: its typing indicator goes again.
    assert len(sim.state.calls_matching(method="simulateTyping", token=visitor.token)) == 2
    assert consultant_requests(llm) == MAX_ATTEMPTS + 1


async def test_a_summary_with_broken_characters_is_remembered_cleaned(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    answer = model_saying(reply_payload("Маникюр с покрытием гель-лак стоит 2900 ₽."))

    def handle(request: RecordedRequest) -> Reply:
        if request.schema_name is None:
            return escaped_text_completion("Посетитель\ud800 спрашивал\x00 о маникюре.")
        return answer(request)

    llm.handler = handle
    visitor = Visitor.new()
    # The dialogue grows long enough for older messages to be folded into a summary.
    for number in range(1, 11):
        await service.post_message(visitor, f"Вопрос номер {number} про маникюр", number)
        await sim.state.wait_for_calls(
            number, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
        )

    async def summarized() -> str | None:
        conversation = await service.runtime.store.conversations.get(visitor.client_id)
        return conversation.summary if conversation is not None else None

    assert await eventually(summarized, what="a summary") == "Посетитель спрашивал о маникюре."
    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["turn_errors"] == 0


async def test_a_turn_whose_dialogue_cannot_be_read_ends_in_one_handoff_after_the_last_attempt(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer, data_dir: Path
) -> None:
    llm.handler = model_saying(reply_payload("Добрый день! Чем помочь?"))
    visitor = Visitor.new()
    await service.post_message(visitor, "Здравствуйте", 1)
    await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
    )
    # A remembered message the store can no longer read (its text is not UTF-8): every start
    # of this visitor's next turn fails while reading the dialogue.
    with sqlite3.connect(data_dir / "talkme.sqlite3") as connection:
        connection.execute(
            "INSERT INTO dialog_messages (conversation_key, role, text, created_at, tokens, cost)"
            " VALUES (?, 'visitor', CAST(X'FFFE' AS TEXT), 0, 0, 0)",
            (visitor.client_id,),
        )
    await service.post_message(visitor, "А сколько стоит маникюр?", 2)

    [finish] = await sim.state.wait_for_calls(
        1, method="finish", token=visitor.token, delivered=True, timeout=TIMEOUT
    )
    assert finish.code == "OPERATOR_REQUEST"
    assert consultant_requests(llm) == 1, "the failing turns never reached the model"
    events = await service.admin_get(
        "/admin/events", params={"conversation": visitor.client_id, "limit": 50}
    )
    errors = [e for e in events["events"] if e["kind"] == "turn_error"]
    assert len(errors) == MAX_ATTEMPTS
    stats = await service.admin_get("/webhook/talkme/stats")
    assert stats["turns_failed"] == 1 and stats["messages_pending"] == 0
