"""Leases that hold: two processes on one database never answer the same messages twice.

Real `serve` processes share one SQLite file; the simulator plays TalkMe for real (calls are
delivered over HTTP) and the scripted model answers more slowly than LEASE_SECONDS, which is
exactly when a lease that is not renewed lets a second instance take the same turn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

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
from tests.support.processes import ServiceProcess

LEASE_SECONDS = 2.0
SLOW_MODEL_SECONDS = 5.0
ANSWER = "Маникюр с покрытием гель-лак стоит 2900 ₽."
TIMEOUT = 90.0


def consultant(reply_delay: float) -> Handler:
    def handle(request: RecordedRequest) -> Reply:
        if request.schema_name == "consultant_reply":
            return Reply(content=json.dumps(reply_payload(ANSWER)), delay=reply_delay)
        if request.schema_name == "search_queries":
            return Reply.json({"queries": ["маникюр гель-лак цена"]})
        return Reply.text("Посетитель спрашивал о маникюре.")

    return handle


@pytest.fixture
def processes() -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        process.stop()


def service(
    data_dir: Path,
    sim: RunningSimulator,
    llm: ScriptedOpenAIServer,
    processes: list[ServiceProcess],
    name: str,
    **env: str,
) -> ServiceProcess:
    process = ServiceProcess(
        data_dir,
        sim.api_url,
        data_dir.parent / f"{name}.log",
        DEBOUNCE_SECONDS="0",
        LEASE_SECONDS=str(LEASE_SECONDS),
        OPENAI_API_KEY="sk-test-not-a-real-key",
        OPENAI_BASE_URL=llm.base_url,
        LLM_MODEL="scripted-model",
        LLM_MAX_RETRIES="0",
        LLM_TIMEOUT_SECONDS="60",
        **env,
    )
    processes.append(process)
    return process


async def all_settled(process: ServiceProcess) -> bool:
    stats = await process.admin_get("/webhook/talkme/stats")
    return stats["messages_pending"] == 0 and stats["pending_calls"] == 0


async def test_two_instances_with_a_model_slower_than_the_lease_answer_each_message_once(
    data_dir: Path,
    sim: RunningSimulator,
    llm: ScriptedOpenAIServer,
    processes: list[ServiceProcess],
) -> None:
    llm.handler = consultant(reply_delay=SLOW_MODEL_SECONDS)
    first = service(data_dir, sim, llm, processes, "first", INSTANCE_ID="first")
    second = service(data_dir, sim, llm, processes, "second", INSTANCE_ID="second")
    await first.start()
    await second.start()

    visitors = [Visitor.new() for _ in range(4)]
    for number, visitor in enumerate(visitors):
        instance = (first, second)[number % 2]
        status = await instance.post_message(visitor, "Сколько стоит маникюр с гель-лаком?", 1)
        assert status == 200

    for visitor in visitors:
        await sim.state.wait_for_calls(
            1, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
        )
    await eventually(lambda: all_settled(first), what="every message answered", timeout=TIMEOUT)

    for visitor in visitors:
        sends = sim.state.calls_matching(method="send", token=visitor.token)
        assert [s.text for s in sends] == [ANSWER]
        assert len(sim.state.calls_matching(method="simulateTyping", token=visitor.token)) == 1
    # One model call per turn: no instance ever took over a turn that was still running.
    assert len(llm.chat_requests("consultant_reply")) == len(visitors)
    for process in (first, second):
        assert "was lost" not in process.log_text()


async def test_an_overlapping_restart_stops_the_old_turn_and_answers_once(
    data_dir: Path,
    sim: RunningSimulator,
    llm: ScriptedOpenAIServer,
    processes: list[ServiceProcess],
) -> None:
    # The old process's model call would take a minute; the restarted process's answers at once.
    calls = 0

    def first_slow(request: RecordedRequest) -> Reply:
        nonlocal calls
        if request.schema_name == "consultant_reply":
            calls += 1
            if calls == 1:
                return Reply(content=json.dumps(reply_payload(ANSWER)), delay=55)
        return consultant(reply_delay=0)(request)

    llm.handler = first_slow
    old = service(data_dir, sim, llm, processes, "old")
    await old.start()
    visitor = Visitor.new()
    assert await old.post_message(visitor, "Сколько стоит маникюр с гель-лаком?", 1) == 200

    async def model_is_thinking() -> bool:
        return len(llm.chat_requests("consultant_reply")) == 1

    await eventually(model_is_thinking, what="the old process's turn is waiting for the model")

    # Same installation (same data dir), new process: it frees the old one's leases at start.
    new = service(data_dir, sim, llm, processes, "new")
    await new.start()
    [send] = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
    )
    assert send.text == ANSWER

    async def old_turn_stopped() -> bool:
        return "was lost" in old.log_text()

    await eventually(old_turn_stopped, what="the old process notices and stops its turn")
    await eventually(lambda: all_settled(new), what="nothing left to do", timeout=TIMEOUT)
    assert len(sim.state.calls_matching(method="send", token=visitor.token)) == 1
    assert len(llm.chat_requests("consultant_reply")) == 2
