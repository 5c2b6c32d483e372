"""The scripted visitor and ``run_simulation`` against a small stand-in for our service.

The stand-in does what the real service does at the TalkMe boundary: it takes the webhook,
answers 200 at once, and replies later through the TalkMe API (here, the simulator).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import BackgroundTasks, FastAPI, HTTPException, Request
from rich.console import Console
from talkme_testdata import free_port

from talkme_consultant.helpers.serving import serve_app
from talkme_consultant.talkme.client import TalkMeClient
from talkme_consultant.talkme.payloads import SECRET_HEADER, WebhookPayload
from talkme_consultant.talkme.simulate_cli import (
    EXIT_NO_REPLY,
    EXIT_OK,
    EXIT_SETUP,
    run_simulation,
)
from talkme_consultant.talkme.simulator import RunningSimulator, SimulatorState
from talkme_consultant.talkme.visitor import (
    DEFAULT_SCRIPT,
    Visitor,
    build_webhook_body,
    play_script,
)

SECRET = "s3cret-webhook"


class EchoService:
    """Answers "Эхо: <text>"; on "оператор" also finishes with OPERATOR_REQUEST; on "молчи"
    answers nothing. Remembers every webhook it accepted."""

    def __init__(self, talkme_api_url: str, secret: str | None = None) -> None:
        self.talkme_api_url = talkme_api_url
        self.secret = secret
        self.received: list[WebhookPayload] = []
        self.secrets_seen: list[tuple[str | None, str | None]] = []

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhook/talkme")
        async def webhook(
            payload: WebhookPayload, request: Request, background: BackgroundTasks
        ) -> dict[str, bool]:
            header = request.headers.get(SECRET_HEADER)
            query = request.query_params.get("secret")
            self.secrets_seen.append((header, query))
            if self.secret is not None and self.secret not in (header, query):
                raise HTTPException(status_code=403, detail="wrong secret")
            self.received.append(payload)
            background.add_task(self.reply, payload)
            return {"ok": True}

        return app

    async def reply(self, payload: WebhookPayload) -> None:
        if "молчи" in payload.text:
            return
        async with TalkMeClient(self.talkme_api_url, timeout=5) as talkme:
            await talkme.simulate_typing(payload.token, 2)
            await talkme.send_text(payload.token, f"Эхо: {payload.text}")
            if "оператор" in payload.text.lower():
                await talkme.finish(payload.token, "OPERATOR_REQUEST")


@pytest.fixture
async def echo(sim: RunningSimulator) -> AsyncIterator[tuple[str, EchoService]]:
    """The echo service, served on a free port, replying to the simulator; yields (url, service)."""
    service = EchoService(sim.api_url, secret=SECRET)
    async with serve_app(service.app()) as url:
        yield url, service


# --- play_script -----------------------------------------------------------------------------


async def test_each_line_gets_the_bots_reply(
    sim: RunningSimulator, echo: tuple[str, EchoService]
) -> None:
    url, _ = echo
    exchanges = await play_script(
        url,
        sim.state,
        ["Здравствуйте!", "Сколько стоит маникюр?"],
        webhook_secret=SECRET,
        settle=0,
    )

    assert [exchange.replies for exchange in exchanges] == [
        ("Эхо: Здравствуйте!",),
        ("Эхо: Сколько стоит маникюр?",),
    ]
    assert all(exchange.ok and exchange.typing for exchange in exchanges)
    assert all(exchange.webhook_status == 200 for exchange in exchanges)
    assert all(exchange.seconds is not None for exchange in exchanges)


async def test_the_webhooks_are_real_talkme_bodies_with_increasing_message_ids(
    sim: RunningSimulator, echo: tuple[str, EchoService]
) -> None:
    url, service = echo
    visitor = Visitor.new(first_message_id=500)

    await play_script(
        url, sim.state, ["раз", "два", "три"], visitor=visitor, webhook_secret=SECRET, settle=0
    )

    assert [payload.message_id for payload in service.received] == ["500", "501", "502"]
    assert {payload.conversation_key for payload in service.received} == {visitor.client_id}
    assert {payload.token for payload in service.received} == {visitor.token}
    assert [
        payload.original_message.text for payload in service.received if payload.original_message
    ] == ["раз", "два", "три"]


async def test_the_secret_goes_in_the_header_or_in_the_query(
    sim: RunningSimulator, echo: tuple[str, EchoService]
) -> None:
    url, service = echo
    await play_script(url, sim.state, ["в заголовке"], webhook_secret=SECRET, settle=0)
    await play_script(
        url, sim.state, ["в адресе"], webhook_secret=SECRET, secret_in_query=True, settle=0
    )
    assert service.secrets_seen == [(SECRET, None), (None, SECRET)]


async def test_a_reply_followed_by_a_finish_is_one_exchange(
    sim: RunningSimulator, echo: tuple[str, EchoService]
) -> None:
    url, _ = echo
    [exchange] = await play_script(url, sim.state, ["Позовите оператора"], webhook_secret=SECRET)
    assert exchange.replies == ("Эхо: Позовите оператора",)
    assert exchange.finish_code == "OPERATOR_REQUEST"


async def test_the_dialogue_is_kept_in_the_simulators_transcript(
    sim: RunningSimulator, echo: tuple[str, EchoService]
) -> None:
    url, _ = echo
    visitor = Visitor.new()
    await play_script(url, sim.state, ["Привет"], visitor=visitor, webhook_secret=SECRET)
    roles = [(entry.role, entry.text) for entry in sim.state.transcript(visitor.token)]
    assert roles == [("visitor", "Привет"), ("typing", "2"), ("bot", "Эхо: Привет")]


async def test_no_reply_in_time_ends_the_script_with_an_error(
    sim: RunningSimulator, echo: tuple[str, EchoService]
) -> None:
    url, service = echo
    exchanges = await play_script(
        url, sim.state, ["молчи", "не дойдёт"], webhook_secret=SECRET, reply_timeout=0.2
    )
    [exchange] = exchanges
    assert not exchange.ok
    assert exchange.webhook_status == 200
    assert exchange.error == "no answer within 0.2s"
    assert len(service.received) == 1


async def test_a_refused_webhook_is_reported_with_its_status(
    sim: RunningSimulator, echo: tuple[str, EchoService]
) -> None:
    url, _ = echo
    [exchange] = await play_script(url, sim.state, ["Привет"], webhook_secret="wrong")
    assert exchange.webhook_status == 403
    assert exchange.error is not None and "HTTP 403" in exchange.error


async def test_an_unreachable_service_is_reported() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    [exchange] = await play_script(url, SimulatorState(), ["Привет"])
    assert exchange.webhook_status is None
    assert exchange.error is not None and "could not deliver" in exchange.error


def test_build_webhook_body_matches_the_captured_shape() -> None:
    visitor = Visitor.new(client_id="c" * 32, token="tok")
    body: dict[str, Any] = build_webhook_body(visitor, "Привет", 42)
    payload = WebhookPayload.model_validate(body)
    assert payload.conversation_key == "c" * 32
    assert payload.message_id == "42"
    assert set(body) == {"site", "client", "message", "originalOnlineChatMessage", "token"}
    assert set(body["client"]) == {"searchId", "login", "clientId", "name", "phone"}


def test_new_visitors_do_not_collide() -> None:
    first, second = Visitor.new(), Visitor.new()
    assert len(first.client_id) == 32
    assert first.client_id != second.client_id
    assert first.token != second.token


# --- run_simulation --------------------------------------------------------------------------


def recording_console() -> tuple[Console, io.StringIO]:
    output = io.StringIO()
    return Console(file=output, width=200, color_system=None), output


async def test_run_simulation_plays_the_default_script_and_prints_the_dialogue() -> None:
    sim_port = free_port()
    service = EchoService(f"http://127.0.0.1:{sim_port}/json/v1.0")
    console, output = recording_console()

    async with serve_app(service.app()) as service_url:
        code = await run_simulation(
            service_url, "127.0.0.1", sim_port, DEFAULT_SCRIPT, None, console
        )

    printed = output.getvalue()
    assert code == EXIT_OK
    assert f"TALKME_API_URL=http://127.0.0.1:{sim_port}/json/v1.0" in printed
    assert "Посетитель: Сколько стоит маникюр?" in printed
    assert "Бот: Эхо: Сколько стоит маникюр?" in printed
    assert "finish OPERATOR_REQUEST" in printed
    assert f"All {len(DEFAULT_SCRIPT)} lines answered." in printed


async def test_run_simulation_explains_a_missing_reply() -> None:
    sim_port = free_port()
    # The service replies to some other TalkMe, as a misconfigured TALKME_API_URL would.
    service = EchoService(f"http://127.0.0.1:{free_port()}/json/v1.0")
    console, output = recording_console()

    async with serve_app(service.app()) as service_url:
        code = await run_simulation(
            service_url, "127.0.0.1", sim_port, ["Привет"], None, console, reply_timeout=0.3
        )

    printed = output.getvalue()
    assert code == EXIT_NO_REPLY
    assert "no answer within 0.3s" in printed
    assert f"TALKME_API_URL=http://127.0.0.1:{sim_port}/json/v1.0" in printed
    assert "TALKME_TEST_MODE=false" in printed


async def test_run_simulation_explains_an_unreachable_service() -> None:
    console, output = recording_console()
    code = await run_simulation(
        f"http://127.0.0.1:{free_port()}", "127.0.0.1", 0, ["Привет"], None, console
    )
    assert code == EXIT_SETUP
    assert "is the service running at" in output.getvalue()


async def test_run_simulation_explains_a_refused_secret() -> None:
    sim_port = free_port()
    service = EchoService(f"http://127.0.0.1:{sim_port}/json/v1.0", secret=SECRET)
    console, output = recording_console()
    async with serve_app(service.app()) as service_url:
        code = await run_simulation(service_url, "127.0.0.1", sim_port, ["Привет"], "nope", console)
    assert code == EXIT_SETUP
    assert "WEBHOOK_SECRET" in output.getvalue()


async def test_run_simulation_explains_a_busy_port(sim: RunningSimulator) -> None:
    busy_port = int(sim.url.rsplit(":", 1)[1])
    console, output = recording_console()
    code = await run_simulation("http://127.0.0.1:1", "127.0.0.1", busy_port, [], None, console)
    assert code == EXIT_SETUP
    assert f"cannot listen on 127.0.0.1:{busy_port}" in output.getvalue()
