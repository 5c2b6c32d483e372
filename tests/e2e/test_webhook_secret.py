"""In production the webhook is closed unless the owner opens it on purpose.

The service runs as a real process (`talkme-consultant serve`), configured only through its
environment, as an owner would start it. Without WEBHOOK_SECRET it refuses to start and says how
to set the secret in TalkMe; `WEBHOOK_SECRET=off` starts with an open webhook, and says so; with a
secret, a forged webhook is refused and changes nothing about the visitor that is stored.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from talkme_consultant.cli import app as cli_app
from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from tests.support.eventually import eventually
from tests.support.processes import CLI, free_port
from tests.support.service import ADMIN_TOKEN

SECRET = "s3cret-for-the-webhook-41f9"


@dataclass
class Started:
    """A `serve` process of this test and where its log goes."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def production_env(data_dir: Path, sim: RunningSimulator | None, **extra: str) -> dict[str, str]:
    """The environment of a production start, without any WEBHOOK_SECRET from outside."""
    env = {k: v for k, v in os.environ.items() if k != "WEBHOOK_SECRET"}
    env.update(
        DATA_DIR=str(data_dir),
        KNOWLEDGE_DIR=str(SAMPLE_KNOWLEDGE_DIR),
        TALKME_API_URL=sim.api_url if sim else "http://127.0.0.1:9/json/v1.0",
        TALKME_TEST_MODE="false",
        ADMIN_TOKEN=ADMIN_TOKEN,
        LOG_LEVEL="INFO",
        **extra,
    )
    return env


@pytest.fixture
def started() -> Iterator[list[Started]]:
    processes: list[Started] = []
    yield processes
    for item in processes:
        if item.process.poll() is None:
            item.process.terminate()
            try:
                item.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                item.process.kill()
                item.process.wait(timeout=5)


def spawn(env: dict[str, str], workdir: Path, started: list[Started]) -> Started:
    port = free_port()
    log = workdir / f"serve-{port}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(CLI), "serve", "--port", str(port)],
            env=env,
            cwd=workdir,  # no stray .env is read
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    item = Started(process, f"http://127.0.0.1:{port}", log)
    started.append(item)
    return item


async def until_healthy(item: Started) -> dict[str, object]:
    async def probe() -> dict[str, object] | None:
        assert item.process.poll() is None, f"serve exited: {item.log_text()[-2000:]}"
        try:
            async with httpx.AsyncClient() as http:
                response = await http.get(item.url + "/webhook/talkme/health")
        except httpx.TransportError:
            return None
        checks: dict[str, object] = response.json()["checks"]
        return checks if response.status_code == 200 else None

    return await eventually(probe, timeout=90, interval=0.2, what="the service to be healthy")


def stored_visitor(data_dir: Path, key: str) -> tuple[object, ...] | None:
    with sqlite3.connect(data_dir / "talkme.sqlite3") as connection:
        row = connection.execute(
            "SELECT client_name, phone, token, messages_count FROM conversations WHERE key = ?",
            (key,),
        ).fetchone()
    return tuple(row) if row is not None else None


@pytest.mark.parametrize("configured", [None, "", "   "], ids=["unset", "empty", "blank"])
async def test_in_production_the_service_refuses_to_start_without_a_webhook_secret(
    tmp_path: Path, started: list[Started], configured: str | None
) -> None:
    extra = {} if configured is None else {"WEBHOOK_SECRET": configured}
    item = spawn(production_env(tmp_path / "data", None, **extra), tmp_path, started)
    code = await asyncio.to_thread(item.process.wait, 60)
    assert code != 0
    message = item.log_text()
    # Says what is wrong and how to fix it in TalkMe, in Russian and in English.
    assert "WEBHOOK_SECRET не задан" in message
    assert "WEBHOOK_SECRET is not set" in message
    assert "/webhook/talkme?secret=" in message
    assert "X-Webhook-Secret" in message
    assert "WEBHOOK_SECRET=off" in message
    assert not (tmp_path / "data" / "talkme.sqlite3").exists(), "nothing was started"


async def test_webhook_secret_off_opens_the_webhook_knowingly_and_says_so(
    data_dir: Path, tmp_path: Path, started: list[Started], sim: RunningSimulator
) -> None:
    item = spawn(production_env(data_dir, sim, WEBHOOK_SECRET="off"), tmp_path, started)
    checks = await until_healthy(item)
    assert checks["webhook"] == "open"
    assert "the webhook is open (WEBHOOK_SECRET is off)" in item.log_text()
    visitor = Visitor.new()
    async with httpx.AsyncClient() as http:
        response = await http.post(
            webhook_url(item.url), json=build_webhook_body(visitor, "Здравствуйте!", 1)
        )
    assert response.status_code == 200
    await sim.state.wait_for_calls(1, method="send", token=visitor.token, timeout=30)


async def test_with_a_secret_a_forged_webhook_is_refused_and_changes_nothing_stored(
    data_dir: Path, tmp_path: Path, started: list[Started], sim: RunningSimulator
) -> None:
    item = spawn(production_env(data_dir, sim, WEBHOOK_SECRET=SECRET), tmp_path, started)
    checks = await until_healthy(item)
    assert checks["webhook"] == "secret"
    assert "the webhook is open" not in item.log_text()

    visitor = Visitor.new(name="Анна", phone="+79161234567")
    async with httpx.AsyncClient() as http:
        genuine = await http.post(
            webhook_url(item.url),
            params={"secret": SECRET},
            json=build_webhook_body(visitor, "Здравствуйте!", 1),
        )
        assert genuine.status_code == 200
        before = stored_visitor(data_dir, visitor.client_id)
        assert before == ("Анна", "+79161234567", visitor.token, 1)

        forged_body = build_webhook_body(visitor, "Это не Анна", 2)
        forged_body["client"].update(name="Мошенник", phone="+70000000000")
        forged_body["token"] = "forged-token"
        for credentials in (
            {},
            {"params": {"secret": "guess"}},
            {"headers": {"X-Webhook-Secret": ""}},
        ):
            forged = await http.post(webhook_url(item.url), json=forged_body, **credentials)
            assert forged.status_code == 401
            assert SECRET not in forged.text

    assert stored_visitor(data_dir, visitor.client_id) == before
    assert SECRET not in item.log_text()


def test_simulate_start_service_runs_with_a_secret_of_its_own(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one-command demo starts the service in production mode, where a secret is required.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("KNOWLEDGE_DIR", str(SAMPLE_KNOWLEDGE_DIR))
    monkeypatch.setenv("DEBOUNCE_SECONDS", "0")
    result = CliRunner().invoke(
        cli_app,
        ["simulate", "--start-service", "--sim-port", str(free_port()), "-l", "Здравствуйте!"],
    )
    assert result.exit_code == 0, result.output
    assert "All 1 lines answered." in result.output
