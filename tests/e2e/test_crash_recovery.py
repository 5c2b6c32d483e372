"""`kill -9` at the worst moments loses nothing: the service is a real process here."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.talkme.simulator import RunningSimulator, running_simulator
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body
from tests.support.service import ADMIN_TOKEN

CLI = Path(sys.executable).with_name("talkme-consultant")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServiceProcess:
    """`talkme-consultant serve` in its own process, so it can be killed like in production."""

    def __init__(self, data_dir: Path, sim: RunningSimulator, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "KNOWLEDGE_DIR": str(SAMPLE_KNOWLEDGE_DIR),
            "TALKME_API_URL": sim.api_url,
            "TALKME_TEST_MODE": "false",
            "WEBHOOK_SECRET": "off",
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "OUTBOX_BACKOFF_BASE_SECONDS": "0.05",
            "OUTBOX_BACKOFF_MAX_SECONDS": "0.3",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(CLI), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def start(self) -> None:
        self.process = self.spawn()
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                if self.process.poll() is not None:
                    raise RuntimeError(f"service exited with {self.process.returncode}")
                try:
                    response = await http.get(self.url + "/webhook/talkme/health")
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("service did not become healthy in 60 s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with running_simulator() as simulator:
        yield simulator


@pytest.fixture
def processes() -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    for process in started:
        process.stop()


async def test_a_message_acknowledged_just_before_kill_9_is_answered_after_restart(
    data_dir: Path, sim: RunningSimulator, processes: list[ServiceProcess]
) -> None:
    # The debounce holds the turn back, so the kill lands between the 200 and the answer.
    service = ServiceProcess(data_dir, sim, DEBOUNCE_SECONDS="1.5")
    processes.append(service)
    await service.start()
    visitor = Visitor.new()
    async with httpx.AsyncClient() as http:
        response = await http.post(
            service.url + "/webhook/talkme",
            json=build_webhook_body(visitor, "Сколько стоит маникюр с покрытием гель-лак?", 1),
        )
    assert response.status_code == 200
    service.kill()
    assert sim.state.calls_matching(token=visitor.token) == []

    restarted = ServiceProcess(data_dir, sim, DEBOUNCE_SECONDS="1.5")
    processes.append(restarted)
    await restarted.start()
    sends = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=20
    )
    assert "Маникюр с покрытием гель-лак" in (sends[0].text or "")
    await asyncio.sleep(0.5)
    assert len(sim.state.calls_matching(method="send", token=visitor.token)) == 1


async def test_calls_that_had_not_reached_talkme_are_sent_after_kill_9(
    data_dir: Path, sim: RunningSimulator, processes: list[ServiceProcess]
) -> None:
    service = ServiceProcess(data_dir, sim, DEBOUNCE_SECONDS="0")
    processes.append(service)
    await service.start()
    sim.state.fail_next(1000, "http500", method="send")
    visitor = Visitor.new()
    async with httpx.AsyncClient() as http:
        response = await http.post(
            service.url + "/webhook/talkme", json=build_webhook_body(visitor, "Здравствуйте!", 7)
        )
    assert response.status_code == 200
    # The reply exists and is being retried: TalkMe is failing every send.
    await sim.state.wait_for_calls(2, method="send", token=visitor.token, timeout=20)
    service.kill()
    sim.state.clear_faults()

    restarted = ServiceProcess(data_dir, sim, DEBOUNCE_SECONDS="0")
    processes.append(restarted)
    await restarted.start()
    sends = await sim.state.wait_for_calls(
        1, method="send", token=visitor.token, delivered=True, timeout=20
    )
    assert "Здравствуйте" in (sends[0].text or "")
