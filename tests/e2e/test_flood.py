"""A flood from one visitor over real HTTP: others are still answered, the flood stays cheap.

One visitor posts a thousand messages of five thousand characters as fast as the service takes
them; meanwhile another visitor asks a question. The other visitor must be answered while the
flood is still being taken in, every model request of the flood must carry at most
MAX_TURN_CHARS of its text, and every flooded message must be consumed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

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

FLOOD_MESSAGES = 1000
FLOOD_CHARS = 5000
SENDERS = 16  # concurrent webhook posts of the flood
MAX_TURN_CHARS = 2500
ANSWER = "Маникюр с покрытием гель-лак стоит 2900 ₽."
QUESTION = "Сколько стоит маникюр с гель-лаком?"
VISITOR_MESSAGE = re.compile(r"<visitor_message>\n(.*?)\n</visitor_message>", re.DOTALL)


def scripted_model(request: RecordedRequest) -> Reply:
    if request.schema_name == "search_queries":
        return Reply.json({"queries": ["маникюр гель-лак цена"]})
    if request.schema_name == "consultant_reply":
        return Reply.json(reply_payload(ANSWER))
    return Reply.text("Посетитель присылал много текста.")


def flood_text(number: int) -> str:
    # The number is at the end: the end of a flood is what reaches the model.
    tail = f" ФЛУД{number:04d}"
    return "ф" * (FLOOD_CHARS - len(tail)) + tail


@pytest.fixture
def llm(llm: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    """The scripted model, answering with `scripted_model`."""
    llm.handler = scripted_model
    return llm


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
            llm_timeout_seconds=10,
            max_turn_chars=MAX_TURN_CHARS,
            debounce_seconds=0.5,
        ),
    )
    async with running_service(settings) as running:
        yield running


async def test_a_flood_never_delays_another_visitor_and_reaches_the_model_capped(
    service: RunningService, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> None:
    flooder, other = Visitor.new(), Visitor.new()
    numbers = iter(range(1, FLOOD_MESSAGES + 1))
    posted = 0
    other_answered_after: int | None = None  # flood messages posted when the other got the reply
    started_other = asyncio.Event()

    async def sender() -> None:
        nonlocal posted
        for number in numbers:
            response = await service.post_message(flooder, flood_text(number), number)
            assert response.status_code == 200, response.text
            posted += 1
            if posted == FLOOD_MESSAGES // 10:
                started_other.set()

    async def other_visitor() -> None:
        nonlocal other_answered_after
        await started_other.wait()
        await service.post_message(other, QUESTION, 1)
        await sim.state.wait_for_calls(1, method="send", token=other.token, timeout=60)
        other_answered_after = posted

    await asyncio.gather(*(sender() for _ in range(SENDERS)), other_visitor())

    assert other_answered_after is not None
    assert other_answered_after < FLOOD_MESSAGES, (
        "the other visitor was answered while the flood was still arriving"
    )
    [reply] = sim.state.calls_matching(method="send", token=other.token)
    assert reply.text == ANSWER

    async def flood_consumed() -> bool:
        pending = await service.runtime.store.conversations.pending_turn(
            flooder.client_id, max_chars=1
        )
        return not pending.ids

    # Messages are consumed in the turn's final commit, after its model calls.
    await eventually(flood_consumed, timeout=120, what="every flooded message is consumed")

    flood_requests = [r for r in llm.requests if "ФЛУД" in r.user]
    for request in flood_requests:
        if request.schema_name is not None:  # the turn's own calls, not a summary
            found = VISITOR_MESSAGE.search(request.user)
            assert found, "a turn request carries the visitor's message"
            assert len(found.group(1)) <= MAX_TURN_CHARS
        assert len(request.user) < MAX_TURN_CHARS + 20_000, "records and prompt, not the flood"
    dialogue = await service.admin_get(f"/admin/conversations/{flooder.client_id}")
    remembered = [m["text"] for m in dialogue["messages"] if m["role"] == "visitor"]
    assert remembered and all(len(text) <= MAX_TURN_CHARS for text in remembered)
    last = re.search(r"ФЛУД\d{4}$", remembered[-1])
    assert last, "the memory holds the end of the flood"
    # Sixteen senders race, so the message stored last need not carry the highest number; the
    # model saw whichever one arrived last.
    assert any(last.group() in r.user for r in flood_requests)
