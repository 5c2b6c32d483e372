"""Web and worker processes on one PostgreSQL: kills and a cut database lose and repeat nothing.

Every process here is a real `talkme-consultant` process on a throwaway database; TalkMe is the
simulator, the answerer the offline one, and the sender retries what was refused as TalkMe does.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from talkme_consultant.store.database import MIGRATIONS_DIR, asyncpg_dsn
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor
from tests.e2e.scale_out_support import (
    TalkMeSender,
    copy_embeddings,
    message_text,
    read_answers,
    sender_http,
    talkme_repeats,
    unfinished_work,
    via_proxy,
)
from tests.support.eventually import eventually
from tests.support.postgres import throwaway_database
from tests.support.processes import CLI, ServiceProcess, WorkerProcess
from tests.support.tcp_proxy import running_tcp_proxy

# The outbox dispatcher's calls in flight per process: the most a killed worker can resend.
DISPATCH_CONCURRENCY = 16
CUT_SECONDS = 5.0

Process = ServiceProcess | WorkerProcess


@pytest.fixture
def postgres_url(sample_store_template: Path) -> Iterator[str]:
    """A migrated throwaway database whose embedding cache already holds the sample's."""
    with throwaway_database() as url:
        asyncio.run(copy_embeddings(sample_store_template / "talkme.sqlite3", url))
        yield url


@pytest.fixture
def started() -> Iterator[list[Process]]:
    processes: list[Process] = []
    yield processes
    for process in processes:
        process.stop()


def web(
    tmp_path: Path, sim: RunningSimulator, started: list[Process], name: str, url: str
) -> ServiceProcess:
    process = ServiceProcess(
        tmp_path / name,
        sim.api_url,
        tmp_path / f"{name}.log",
        args=["--no-workers"],
        **settings(name, url),
    )
    started.append(process)
    return process


def worker(
    tmp_path: Path, sim: RunningSimulator, started: list[Process], name: str, url: str
) -> WorkerProcess:
    process = WorkerProcess(
        tmp_path / name, sim.api_url, tmp_path / f"{name}.log", **settings(name, url)
    )
    started.append(process)
    return process


def settings(name: str, url: str) -> dict[str, str]:
    # Every process its own INSTANCE_ID: a restart under the same one frees its leases at once.
    return {
        "DATABASE_URL": url,
        "INSTANCE_ID": name,
        "DEBOUNCE_SECONDS": "0",
        "LEASE_SECONDS": "10",
        "WORKERS": "4",
        "DB_POOL_SIZE": "4",
        # TalkMe here is an in-process simulator sharing the test's busy event loop; a call it
        # answers late must be tried again, never given up on (that is not under test here).
        "OUTBOX_MAX_ATTEMPTS": "1000",
    }


async def test_two_web_and_two_worker_processes_answer_every_message_once_through_kill_9(
    postgres_url: str, sim: RunningSimulator, tmp_path: Path, started: list[Process]
) -> None:
    conversations, messages_each = 200, 10
    webs = [web(tmp_path, sim, started, f"web-{n}", postgres_url) for n in "ab"]
    workers = [worker(tmp_path, sim, started, f"worker-{n}", postgres_url) for n in "ab"]
    await asyncio.gather(*(process.start() for process in [*webs, *workers]))
    visitors = [Visitor.new() for _ in range(conversations)]
    halfway = asyncio.Event()
    in_flight_at_kill: tuple[int, int] = (0, 0)

    async with sender_http() as http:
        sender = TalkMeSender(webs, http)

        async def conversation(index: int) -> None:
            for number in range(messages_each):
                await sender.deliver(
                    visitors[index], message_text(index, number), number + 1, index + number
                )
                if sender.acknowledged >= conversations * messages_each // 2:
                    halfway.set()

        async def kill_and_restart() -> None:
            nonlocal in_flight_at_kill
            await halfway.wait()
            in_flight_at_kill = await unfinished_work(postgres_url)
            workers[0].kill()
            webs[0].kill()
            await asyncio.gather(workers[0].start(), webs[0].start())

        await asyncio.gather(kill_and_restart(), *(conversation(i) for i in range(conversations)))

    async def settled() -> bool:
        return await unfinished_work(postgres_url) == (0, 0)

    await eventually(settled, timeout=180, interval=0.5, what="every message answered")
    answers = await read_answers(postgres_url)
    assert answers.failed_calls == 0
    assert answers.inbound == conversations * messages_each
    for index, visitor in enumerate(visitors):
        # Each message taken by exactly one committed turn, in the order it was sent.
        assert answers.visitor_numbers[visitor.token] == list(range(messages_each)), index
    repeats = sum(
        talkme_repeats(sim.state, v.token, answers.stored_calls[v.token]) for v in visitors
    )
    print(
        f"\nwork in flight at the kill (messages, calls): {in_flight_at_kill}; "
        f"refused and sent again: {dict(sender.refused)}; calls TalkMe got twice: {repeats}"
    )
    assert in_flight_at_kill != (0, 0), "the kill landed when nothing was in flight"
    assert repeats <= DISPATCH_CONCURRENCY


async def test_a_cut_database_gets_503s_and_the_pools_heal_without_a_restart(
    postgres_url: str, sim: RunningSimulator, tmp_path: Path, started: list[Process]
) -> None:
    server = make_url(postgres_url)
    async with running_tcp_proxy(server.host or "127.0.0.1", server.port or 5432) as proxy:
        proxied = via_proxy(postgres_url, proxy.port)
        service = web(tmp_path, sim, started, "web", proxied)
        background = worker(tmp_path, sim, started, "worker", proxied)
        await asyncio.gather(service.start(), background.start())
        visitors = [Visitor.new() for _ in range(30)]
        sent = [0] * len(visitors)
        async with sender_http() as http:
            sender = TalkMeSender([service], http)

            async def send_next(index: int) -> None:
                await sender.deliver(
                    visitors[index], message_text(index, sent[index]), sent[index] + 1, 0
                )
                sent[index] += 1

            for _ in range(3):
                await asyncio.gather(*(send_next(i) for i in range(len(visitors))))

            # Turns are running on what was just accepted when the line goes down.
            proxy.cut()
            during: list[int | None] = []
            cut_at = time.monotonic()
            index = 0
            while time.monotonic() - cut_at < CUT_SECONDS:
                number = sent[index]
                during.append(
                    await sender.post_once(
                        service, visitors[index], message_text(index, number), number + 1
                    )
                )
                index = (index + 1) % len(visitors)
            proxy.restore()
            # Never a 200 for a message the store could not take: TalkMe keeps it and retries.
            assert during and set(during) == {503}, during

            for _ in range(3):
                await asyncio.gather(*(send_next(i) for i in range(len(visitors))))

        async def settled() -> bool:
            return await unfinished_work(postgres_url) == (0, 0)

        await eventually(settled, timeout=120, interval=0.5, what="every message answered")
    answers = await read_answers(postgres_url)
    for index, visitor in enumerate(visitors):
        assert answers.visitor_numbers[visitor.token] == list(range(sent[index])), index
        talkme_repeats(sim.state, visitor.token, answers.stored_calls[visitor.token])
    # The same processes served before and after: their pools reconnected by themselves.
    assert service.process is not None and service.process.poll() is None
    assert background.process is not None and background.process.poll() is None
    assert "database is locked" not in service.log_text()


def test_instances_starting_together_migrate_the_schema_once(tmp_path: Path) -> None:
    with throwaway_database(migrated=False) as url:
        environment = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(tmp_path)}
        upgrades = [
            subprocess.Popen(
                [str(CLI), "db", "upgrade"],
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = [upgrade.communicate(timeout=120)[0] for upgrade in upgrades]
        assert [upgrade.returncode for upgrade in upgrades] == [0, 0, 0], outputs
        versions = asyncio.run(schema_versions(url))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert versions == [ScriptDirectory.from_config(config).get_current_head()]


async def schema_versions(url: str) -> list[str]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return [row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")]
    finally:
        await connection.close()
