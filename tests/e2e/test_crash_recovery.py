"""`kill -9` at the worst moments loses nothing: the service is a real process here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.eventually import eventually
from tests.support.processes import ServiceProcess


@pytest.fixture
def processes() -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        process.stop()


def spawn(
    data_dir: Path, sim: RunningSimulator, processes: list[ServiceProcess], name: str, **env: str
) -> ServiceProcess:
    process = ServiceProcess(data_dir, sim.api_url, data_dir.parent / f"{name}.log", **env)
    processes.append(process)
    return process


# The debounce holds even a whole question back, so a kill lands between the 200 and the answer.
HELD_BACK = {"DEBOUNCE_SECONDS": "1.5", "DEBOUNCE_QUESTION_SECONDS": "1.5"}


async def settled(process: ServiceProcess) -> bool:
    """Every message consumed and every call made."""
    stats = await process.admin_get("/webhook/talkme/stats")
    return stats["messages_pending"] == 0 and stats["pending_calls"] == 0


async def test_a_message_acknowledged_just_before_kill_9_is_answered_after_restart(
    data_dir: Path, sim: RunningSimulator, processes: list[ServiceProcess]
) -> None:
    service = spawn(data_dir, sim, processes, "first", **HELD_BACK)
    await service.start()
    visitor = Visitor.new()
    status = await service.post_message(visitor, "Сколько стоит маникюр с покрытием гель-лак?", 1)
    assert status == 200
    service.kill()
    assert sim.state.calls_matching(token=visitor.token) == []

    restarted = spawn(data_dir, sim, processes, "restarted", **HELD_BACK)
    await restarted.start()
    sends = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=20
    )
    assert "Маникюр с покрытием гель-лак" in (sends[0].text or "")
    await eventually(lambda: settled(restarted), what="the restarted service to settle")
    assert len(sim.state.calls_matching(method="send", token=visitor.token)) == 1


async def test_calls_that_had_not_reached_talkme_are_sent_after_kill_9(
    data_dir: Path, sim: RunningSimulator, processes: list[ServiceProcess]
) -> None:
    service = spawn(data_dir, sim, processes, "first", DEBOUNCE_SECONDS="0")
    await service.start()
    sim.state.fail_next(1000, "http500", method="send")
    visitor = Visitor.new()
    assert await service.post_message(visitor, "Здравствуйте!", 7) == 200
    # The reply exists and is being retried: TalkMe is failing every send.
    await sim.state.wait_for_calls(2, method="send", token=visitor.token, timeout=20)
    service.kill()
    sim.state.clear_faults()

    restarted = spawn(data_dir, sim, processes, "restarted", DEBOUNCE_SECONDS="0")
    await restarted.start()
    sends = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=20
    )
    assert "Здравствуйте" in (sends[0].text or "")
