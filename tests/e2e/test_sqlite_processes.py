"""A web process and a worker process on one SQLite file: both write, neither fails the other."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.e2e.scale_out_support import (
    TalkMeSender,
    message_text,
    read_answers,
    sender_http,
    talkme_repeats,
    unfinished_work,
)
from tests.support.eventually import eventually
from tests.support.processes import ServiceProcess, WorkerProcess


@pytest.fixture
def started() -> Iterator[list[ServiceProcess | WorkerProcess]]:
    processes: list[ServiceProcess | WorkerProcess] = []
    yield processes
    for process in processes:
        process.stop()


async def test_a_web_and_a_worker_process_share_a_sqlite_file(
    data_dir: Path,
    sim: RunningSimulator,
    started: list[ServiceProcess | WorkerProcess],
) -> None:
    common = {"DEBOUNCE_SECONDS": "0", "WORKERS": "4"}
    web = ServiceProcess(
        data_dir,
        sim.api_url,
        data_dir.parent / "web.log",
        args=["--no-workers"],
        INSTANCE_ID="web",
        **common,
    )
    worker = WorkerProcess(
        data_dir, sim.api_url, data_dir.parent / "worker.log", INSTANCE_ID="worker", **common
    )
    started += [web, worker]
    await asyncio.gather(web.start(), worker.start())
    visitors = [Visitor.new() for _ in range(40)]
    messages_each = 8

    async with sender_http() as http:
        sender = TalkMeSender([web], http)

        async def conversation(index: int) -> None:
            for number in range(messages_each):
                await sender.deliver(visitors[index], message_text(index, number), number + 1, 0)

        await asyncio.gather(*(conversation(i) for i in range(len(visitors))))

    url = f"sqlite+aiosqlite:///{data_dir / 'talkme.sqlite3'}"

    async def settled() -> bool:
        return await unfinished_work(url) == (0, 0)

    await eventually(settled, timeout=120, interval=0.5, what="every message answered")
    answers = await read_answers(url)
    for index, visitor in enumerate(visitors):
        assert answers.visitor_numbers[visitor.token] == list(range(messages_each)), index
        assert talkme_repeats(sim.state, visitor.token, answers.stored_calls[visitor.token]) == 0
    # Two processes wrote to one file all along: nobody was refused for it.
    assert sender.refused == {}
    for process in (web, worker):
        assert "database is locked" not in process.log_text()
