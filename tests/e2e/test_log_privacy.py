"""At LOG_LEVEL=DEBUG a whole conversation leaves no secret and no personal value in the logs.

`talkme-consultant serve` runs as a real process with everything a production install has: a
webhook secret in the URL TalkMe calls, an admin token, an account API key (its calls carry the
phone to the client card), a model key (the scripted OpenAI-compatible server; OPENAI_LOG=debug
turns the SDK's own request logging on), and the simulator in real mode, so every reply carries
the dialogue's token. The visitor writes a phone number, an e-mail address and a card number.
Then a table is dropped under the running service so a turn fails inside SQL that carries the
token. Then the owner reads the console, whose pages and downloads show the phone whole. The
whole captured log is searched afterwards.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from talkme_consultant.talkme.simulator import RunningSimulator
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body
from tests.support.booking_model import booking_model
from tests.support.console_client import signed_in_at
from tests.support.eventually import eventually
from tests.support.openai_server import ScriptedOpenAIServer
from tests.support.processes import ServiceProcess

TIMEOUT = 30.0

WEBHOOK_SECRET = "whsec-Q7v2LmN9xK4pR8tB"
ADMIN_TOKEN = "adm-Z3kP9wQ1rT6yU8iO2pL5"
MODEL_KEY = "sk-live-H8jK2mN4bV6cX1zA9sD3"
ACCOUNT_KEY = "acct-T5gH1jK8lM3nB7vC2xZ4"
PHONE_TYPED = "8 916 123-45-67"
PHONE_IN_PROFILE = "+7 (916) 123-45-67"
EMAIL = "anna.petrova@example.ru"
CARD = "2200 7012 3456 7896"


@pytest.fixture
def llm(llm: ScriptedOpenAIServer) -> ScriptedOpenAIServer:
    """The scripted model, answering with `booking_model`."""
    llm.handler = booking_model
    return llm


@pytest.fixture
async def service(
    data_dir: Path, tmp_path: Path, sim: RunningSimulator, llm: ScriptedOpenAIServer
) -> AsyncIterator[ServiceProcess]:
    """`serve` at LOG_LEVEL=DEBUG, everything it writes captured in one file."""
    sim.state.account.key = ACCOUNT_KEY
    running = ServiceProcess(
        data_dir,
        sim.api_url,
        tmp_path / "service.log",
        LOG_LEVEL="DEBUG",
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        ADMIN_TOKEN=ADMIN_TOKEN,
        OPENAI_API_KEY=MODEL_KEY,
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_LOG="debug",
        TALKME_ACCOUNT_API_KEY=ACCOUNT_KEY,
        LLM_MODEL="scripted-model",
        LLM_MAX_RETRIES="0",
        DEBOUNCE_SECONDS="0",
    )
    try:
        await running.start()
        yield running
    finally:
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
        ACCOUNT_KEY,
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
    service: ServiceProcess, sim: RunningSimulator, data_dir: Path
) -> None:
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
        await eventually(
            lambda: _card_has_phone(sim, visitor),
            timeout=TIMEOUT,
            what="the phone on the client card (the account API used with its key)",
        )

        # A store error in the middle of a turn: the typing call's INSERT carries the token.
        drop_table(data_dir / "talkme.sqlite3", "outbox")
        third = build_webhook_body(visitor, f"И ещё: перезвоните на {PHONE_TYPED}", 3)
        assert (await http.post(webhook, json=third)).status_code == 200
        await eventually(
            lambda: _contains(service, "turn error in conversation"),
            timeout=TIMEOUT,
            what="the failed turn in the log",
        )
        await _read_the_console_as_the_owner(service, visitor)
    service.stop()

    log = service.log_text()
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


async def _read_the_console_as_the_owner(service: ServiceProcess, visitor: Visitor) -> None:
    """The owner's console shows the phone whole (pages and downloads); the log must not."""
    key = visitor.client_id
    async with signed_in_at(service.url, ADMIN_TOKEN) as console:
        transcript = await console.get(f"/console/conversations/{key}")
        assert 'href="tel:+79161234567"' in transcript.text and PHONE_TYPED in transcript.text
        for path in (
            "/console/conversations",
            "/console/leads",
            "/console/questions",
            "/console/conversations/export.csv",
            "/console/conversations/export.xlsx",
            "/console/leads/export.csv",
            "/console/leads/export.xlsx",
        ):
            assert (await console.get(path)).status_code == 200, path


async def _card_has_phone(sim: RunningSimulator, visitor: Visitor) -> bool:
    return sim.state.account.card(visitor.client_id).get("phone") == "+79161234567"


async def _contains(service: ServiceProcess, text: str) -> bool:
    return text in service.log_text()
