"""At LOG_LEVEL=DEBUG a whole conversation leaves no secret and no personal value in the logs.

`talkme-consultant serve` runs as a real process with everything a production install has: a
webhook secret in the URL TalkMe calls, an admin token, a model key (the scripted
OpenAI-compatible server; OPENAI_LOG=debug turns the SDK's own request logging on), and the
simulator in real mode, so every reply carries the dialogue's token. The visitor writes a phone
number, an e-mail address and a card number. Then a table is dropped under the running service so
a turn fails inside SQL that carries the token. The whole captured log is searched afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body
from tests.support.booking_model import booking_model
from tests.support.eventually import eventually
from tests.support.openai_server import ScriptedOpenAIServer

CLI = Path(sys.executable).with_name("talkme-consultant")
TIMEOUT = 30.0

WEBHOOK_SECRET = "whsec-Q7v2LmN9xK4pR8tB"
ADMIN_TOKEN = "adm-Z3kP9wQ1rT6yU8iO2pL5"
MODEL_KEY = "sk-live-H8jK2mN4bV6cX1zA9sD3"
PHONE_TYPED = "8 916 123-45-67"
PHONE_IN_PROFILE = "+7 (916) 123-45-67"
EMAIL = "anna.petrova@example.ru"
CARD = "2200 7012 3456 7896"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def llm(llm: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    """The scripted model, answering with `booking_model`."""
    llm.handler = booking_model
    return llm


class DebugService:
    """`talkme-consultant serve` at LOG_LEVEL=DEBUG with stdout and stderr captured in a file."""

    def __init__(self, data_dir: Path, log: Path, sim: RunningSimulator, llm_url: str) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = log
        self.env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "KNOWLEDGE_DIR": str(SAMPLE_KNOWLEDGE_DIR),
            "PORT": self.url.rsplit(":", 1)[1],
            "LOG_LEVEL": "DEBUG",
            "TALKME_API_URL": sim.api_url,
            "TALKME_TEST_MODE": "false",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "OPENAI_API_KEY": MODEL_KEY,
            "OPENAI_BASE_URL": llm_url,
            "OPENAI_LOG": "debug",
            "LLM_MODEL": "scripted-model",
            "LLM_MAX_RETRIES": "0",
            "DEBOUNCE_SECONDS": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [str(CLI), "serve"], env=self.env, stdout=sink, stderr=subprocess.STDOUT
            )

    async def healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"service exited with {self.process.returncode}")
        try:
            async with httpx.AsyncClient() as http:
                response = await http.get(self.url + "/webhook/talkme/health")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def service(
    data_dir: Path, tmp_path: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> Iterator[DebugService]:
    running = DebugService(data_dir, tmp_path / "service.log", sim, llm.base_url)
    running.start()
    yield running
    running.stop()


def drop_table(database: Path, table: str) -> None:
    with sqlite3.connect(database, timeout=10) as connection:
        connection.execute(f"DROP TABLE {table}")


def forbidden(visitor: Visitor) -> list[str]:
    """Every secret and personal value, as written and as bare digits."""
    return [
        visitor.token,
        WEBHOOK_SECRET,
        ADMIN_TOKEN,
        MODEL_KEY,
        PHONE_TYPED,
        PHONE_IN_PROFILE,
        "916 123-45-67",
        "9161234567",
        "123-45-67",
        EMAIL,
        "anna.petrova",
        CARD,
        CARD.replace(" ", ""),
        "7012 3456",
    ]


async def test_a_whole_conversation_at_debug_leaves_no_secret_or_personal_value_in_the_log(
    service: DebugService, sim: RunningSimulator, data_dir: Path
) -> None:
    await eventually(service.healthy, timeout=90, what="the service answering /health")
    visitor = Visitor.new(name="Анна", phone=PHONE_IN_PROFILE)
    webhook = f"{service.url}/webhook/talkme?secret={WEBHOOK_SECRET}"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async with httpx.AsyncClient(timeout=10) as http:
        for number, text in enumerate(
            (
                f"Здравствуйте! Хочу на маникюр, оплачу картой {CARD}",
                f"Я Анна, мой телефон {PHONE_TYPED}, почта {EMAIL}",
            ),
            start=1,
        ):
            response = await http.post(webhook, json=build_webhook_body(visitor, text, number))
            assert response.status_code == 200, response.text
            await sim.state.wait_for_calls(
                number, method="send", token=visitor.token, delivered=True, timeout=TIMEOUT
            )
        wrong = await http.post(
            f"{service.url}/webhook/talkme?secret=wrong-{WEBHOOK_SECRET}",
            json=build_webhook_body(visitor, "чужой", 99),
        )
        assert wrong.status_code == 401
        leads = (await http.get(service.url + "/admin/leads", headers=admin)).json()
        assert "+79161234567" in [lead["phone"] for lead in leads["leads"]]
        assert (await http.get(service.url + "/admin/calls", headers=admin)).status_code == 200

        # A store error in the middle of a turn: the typing call's INSERT carries the token.
        drop_table(data_dir / "talkme.sqlite3", "outbox")
        third = build_webhook_body(visitor, f"И ещё: перезвоните на {PHONE_TYPED}", 3)
        assert (await http.post(webhook, json=third)).status_code == 200
        await eventually(
            lambda: _contains(service, "turn error in conversation"),
            timeout=TIMEOUT,
            what="the failed turn in the log",
        )
    service.stop()

    log = service.text()
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(e["level"] == "debug" for e in entries), "the log really is at DEBUG"
    assert "/webhook/talkme?secret=*** HTTP/1.1" in log, "request lines are logged, redacted"
    assert "SQL parameters hidden" in log, "the store error was logged without its values"
    ours = ("talkme_consultant", "uvicorn")
    chatty = [
        entry
        for entry in entries
        if entry["level"] in ("debug", "info") and entry["logger"].split(".")[0] not in ours
    ]
    assert chatty == [], "libraries (the model SDK's HTTP client included) stay at WARNING"
    leaked = [value for value in forbidden(visitor) if value in log]
    assert leaked == [], f"found in the log: {leaked}"


async def _contains(service: DebugService, text: str) -> bool:
    return text in service.text()
