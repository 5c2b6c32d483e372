"""What one conversation may cost, end to end: webhook → scripted model (real HTTP) → TalkMe.

The visitor's text of a turn reaches the model cut to MAX_TURN_CHARS (its end kept), earlier
dialogue is cut to HISTORY_TOKEN_BUDGET, and once a conversation has spent
CONVERSATION_DAILY_TOKENS the visitor is handed to an operator without another model call.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

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

TIMEOUT = 30.0
MAX_TURN_CHARS = 2000
VISITOR_MESSAGE = re.compile(r"<visitor_message>\n(.*?)\n</visitor_message>", re.DOTALL)
ANSWER = "Маникюр с покрытием гель-лак стоит 2900 ₽."
# What the scripted model reports per turn: the search queries and the reply.
QUERY_TOKENS = (100, 20)
REPLY_TOKENS = (400, 60)
TURN_TOKENS = sum(QUERY_TOKENS) + sum(REPLY_TOKENS)


def scripted_model(request: RecordedRequest) -> Reply:
    """Queries for the price list, then the price; every turn costs TURN_TOKENS."""
    if request.schema_name == "search_queries":
        return Reply.json(
            {"queries": ["маникюр гель-лак цена"]},
            prompt_tokens=QUERY_TOKENS[0],
            completion_tokens=QUERY_TOKENS[1],
        )
    if request.schema_name == "consultant_reply":
        return Reply.json(
            reply_payload(ANSWER), prompt_tokens=REPLY_TOKENS[0], completion_tokens=REPLY_TOKENS[1]
        )
    return Reply.text("Посетитель спрашивал о маникюре.")


def visitor_message(request: RecordedRequest) -> str:
    """The visitor's text of the turn as the model received it."""
    found = VISITOR_MESSAGE.search(request.user)
    assert found, "the request carries the visitor's message"
    return found.group(1)


def request_chars(request: RecordedRequest) -> int:
    """Characters of every message of a model request."""
    return sum(len(str(m.get("content") or "")) for m in request.messages)


def replies_for(llm: ScriptedOpenAIServer, marker: str) -> list[RecordedRequest]:
    return [r for r in llm.chat_requests("consultant_reply") if marker in r.user]


@pytest.fixture
def llm(llm: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    """The scripted model, answering with `scripted_model`."""
    llm.handler = scripted_model
    return llm


@asynccontextmanager
async def start(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer, **overrides: object
) -> AsyncIterator[RunningService]:
    settings = service_settings(
        data_dir,
        sim,
        **model_settings(
            llm.base_url,
            llm_max_retries=1,
            llm_timeout_seconds=5,
            max_turn_chars=MAX_TURN_CHARS,
            **overrides,
        ),
    )
    async with running_service(settings) as running:
        yield running


@pytest.fixture
async def service(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> AsyncIterator[RunningService]:
    async with start(data_dir, sim, llm, history_token_budget=200) as running:
        yield running


async def answered(sim: RunningSimulator, visitor: Visitor, count: int = 1) -> None:
    await sim.state.wait_for_calls(count, method="send", token=visitor.token, timeout=TIMEOUT)


async def test_a_long_burst_reaches_the_model_cut_to_its_end(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    # A debounce window long enough for the whole burst to become one turn.
    async with start(data_dir, sim, llm, debounce_seconds=2.0) as service:
        # What a plain question costs: the prompt, the records and the question.
        plain = Visitor.new()
        await service.post_message(plain, "Сколько стоит маникюр?", 1)
        await answered(sim, plain)
        [baseline] = replies_for(llm, "Сколько стоит маникюр?")

        flooder = Visitor.new()
        for number in range(1, 31):
            await service.post_message(flooder, f"ФЛУД{number:02d} " + "бла " * 250, number)
        question = "Так сколько стоит маникюр с гель-лаком?"
        await service.post_message(flooder, question, 31)

        async def remembered() -> list[str]:
            dialogue = await service.admin_get(f"/admin/conversations/{flooder.client_id}")
            texts = [m["text"] for m in dialogue["messages"] if m["role"] == "visitor"]
            return texts if texts and texts[-1].endswith(question) else []

        visitor_texts = await eventually(remembered, what="the whole burst is answered")

    flood = replies_for(llm, "ФЛУД")
    assert any(visitor_message(r).endswith(question) for r in flood), "the question survives"
    sent = [visitor_message(r) for r in [*flood, *llm.chat_requests("search_queries")[1:]]]
    assert all(len(text) <= MAX_TURN_CHARS for text in sent)
    assert all(text.startswith(("ФЛУД", "Так", "…")) for text in sent), "a cut is marked"
    assert any(text.startswith("…") for text in sent), "the burst was longer than the cap"
    for request in flood:
        assert request_chars(request) <= request_chars(baseline) + MAX_TURN_CHARS
    assert all(len(text) <= MAX_TURN_CHARS for text in visitor_texts)
    assert any(text.startswith("…") for text in visitor_texts), "the memory keeps the cut text"


async def test_history_after_a_huge_message_is_trimmed_to_the_token_budget(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    visitor = Visitor.new()
    huge = "ОГРОМНОЕ " + "очень длинный рассказ о моих ногтях " * 50  # ~1800 chars, ~600 tokens
    await service.post_message(visitor, huge, 1)
    await answered(sim, visitor)
    await service.post_message(visitor, "А по времени?", 2)
    await answered(sim, visitor, 2)

    [first, second] = llm.chat_requests("consultant_reply")
    assert "ОГРОМНОЕ" in visitor_message(first)
    assert "ОГРОМНОЕ" not in second.user, "the huge message is left out of the history"
    assert ANSWER in second.user, "the newest message, the bot's answer, is kept"
    assert visitor_message(second) == "А по времени?"
    # The follow-up brings the topic's records instead, so the request is not simply smaller.
    assert request_chars(second) < request_chars(first) + MAX_TURN_CHARS
    queries = llm.chat_requests("search_queries")[-1]
    assert "ОГРОМНОЕ" not in queries.user


async def test_a_spent_daily_budget_hands_over_without_calling_the_model(
    data_dir: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    day_before = datetime.now(ZoneInfo("Europe/Moscow")).date().isoformat()
    async with start(data_dir, sim, llm, conversation_daily_tokens=TURN_TOKENS - 1) as service:
        visitor = Visitor.new()
        await service.post_message(visitor, "Сколько стоит маникюр с гель-лаком?", 1)
        await answered(sim, visitor)
        [first] = sim.state.calls_matching(method="send", token=visitor.token)
        assert first.text == ANSWER

        async def budget_counted() -> tuple[str | None, int]:
            conversation = await service.runtime.store.conversations.get(visitor.client_id)
            assert conversation is not None and conversation.budget_tokens > 0
            return conversation.budget_day, conversation.budget_tokens

        budget_day, spent = await eventually(budget_counted, what="the turn's tokens are counted")
        day_after = datetime.now(ZoneInfo("Europe/Moscow")).date().isoformat()
        assert budget_day in {day_before, day_after}, "the salon's own (Moscow) day"
        assert spent == TURN_TOKENS

        model_calls = len(llm.requests)
        await service.post_message(visitor, "А педикюр сколько стоит?", 2)
        [finish] = await sim.state.wait_for_calls(
            1, method="finish", token=visitor.token, timeout=TIMEOUT
        )
        assert finish.code == "OPERATOR_REQUEST"
        sends = sim.state.calls_matching(method="send", token=visitor.token)
        assert sends[-1].text == service.runtime.profile.messages.handoff
        assert len(llm.requests) == model_calls, "no model call once the budget is spent"

        events = await service.admin_get(
            "/admin/events", params={"kind": "handoff", "conversation": visitor.client_id}
        )
        assert [e["data"]["reason"] for e in events["events"]] == ["budget"]
        stats = await service.admin_get("/webhook/talkme/stats")
        assert stats["handoffs_by_reason"].get("budget") == 1

        # Another conversation has a budget of its own.
        other = Visitor.new()
        await service.post_message(other, "Сколько стоит маникюр с гель-лаком?", 1)
        await answered(sim, other)
        [reply] = sim.state.calls_matching(method="send", token=other.token)
        assert reply.text == ANSWER
