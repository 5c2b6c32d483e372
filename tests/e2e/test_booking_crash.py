"""`kill -9` while the calendar is making the record: the retried turn makes no second one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from talkme_consultant.booking.standin import RunningStandIn
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.support.eventually import eventually
from tests.support.processes import ServiceProcess

AT_ONCE = "Запишите меня на мужскую стрижку завтра в 16:00, Иван, +7 926 111-22-33"


@pytest.fixture
def processes() -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        process.stop()


def spawn(
    data_dir: Path,
    sim: RunningSimulator,
    calendar: RunningStandIn,
    processes: list[ServiceProcess],
    name: str,
) -> ServiceProcess:
    env = {key.upper(): str(value) for key, value in calendar.settings().items()}
    process = ServiceProcess(
        data_dir, sim.api_url, data_dir.parent / f"{name}.log", DEBOUNCE_SECONDS="0", **env
    )
    processes.append(process)
    return process


async def test_a_turn_retried_after_kill_9_makes_exactly_one_record(
    data_dir: Path,
    sim: RunningSimulator,
    calendar: RunningStandIn,
    processes: list[ServiceProcess],
) -> None:
    calendar.state.record_delay = 60.0  # the record is made; its answer never reaches the turn
    service = spawn(data_dir, sim, calendar, processes, "first")
    await service.start()
    visitor = Visitor.new()
    assert await service.post_message(visitor, AT_ONCE, 1) == 200

    async def recorded() -> bool:
        return len(calendar.state.records) == 1

    await eventually(recorded, what="the record in the calendar")
    service.kill()
    calendar.state.record_delay = 0.0

    restarted = spawn(data_dir, sim, calendar, processes, "restarted")
    await restarted.start()
    sends = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=30
    )

    assert (sends[0].text or "").startswith("Похоже, запись уже создана")
    assert len(calendar.state.records) == 1
    finishes = await sim.state.wait_for_calls(
        1, method="finish", token=visitor.token, delivered=True, timeout=30
    )
    assert [c.code for c in finishes] == ["OPERATOR_REQUEST"]
