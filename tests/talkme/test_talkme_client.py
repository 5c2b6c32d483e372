"""The TalkMe wire client against the simulator over real HTTP: requests, results, failures."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from talkme_testdata import TOKEN, free_port

from talkme_consultant.config import Settings
from talkme_consultant.helpers.serving import serve_app
from talkme_consultant.talkme.client import TalkMeClient, TalkMeError
from talkme_consultant.talkme.simulator import FaultMode, RunningSimulator

# --- what goes over the wire -----------------------------------------------------------------


async def test_send_text_posts_the_text_with_the_token_header(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    result = await client.send_text(TOKEN, "Маникюр стоит 1500 ₽")

    assert result.method == "customBot/send"
    assert result.status == 200
    assert result.result == {"id": 1}
    [call] = sim.state.calls
    assert (call.method, call.token) == ("customBot/send", TOKEN)
    assert call.body == {"content": {"text": "Маникюр стоит 1500 ₽"}}


async def test_simulate_typing_posts_the_ttl(sim: RunningSimulator, client: TalkMeClient) -> None:
    await client.simulate_typing(TOKEN, 5)
    [call] = sim.state.calls
    assert (call.method, call.body) == ("customBot/simulateTyping", {"ttl": 5})


async def test_finish_posts_the_code(sim: RunningSimulator, client: TalkMeClient) -> None:
    result = await client.finish(TOKEN, "OPERATOR_REQUEST")
    [call] = sim.state.calls
    assert (call.method, call.body) == ("customBot/finish", {"code": "OPERATOR_REQUEST"})
    assert result.result == {"code": "OPERATOR_REQUEST"}


async def test_call_posts_any_method_and_body(sim: RunningSimulator, client: TalkMeClient) -> None:
    await client.call("/customBot/send/", TOKEN, {"content": {"text": "Привет"}})
    assert sim.state.calls[0].method == "customBot/send"


@pytest.mark.parametrize("suffix", ["", "/", "/json/v1.0/"])
async def test_the_base_url_may_be_the_root_or_the_api_prefix_with_or_without_slash(
    sim: RunningSimulator, suffix: str
) -> None:
    async with TalkMeClient(sim.url + suffix) as talkme:
        await talkme.send_text(TOKEN, "Привет")
    assert sim.state.calls[0].delivered


async def test_the_client_sends_each_call_once_and_never_retries(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.fail_next(1, "http500")
    with pytest.raises(TalkMeError):
        await client.send_text(TOKEN, "Привет")
    assert len(sim.state.calls) == 1


async def test_a_shared_http_pool_is_left_open_for_its_owner(sim: RunningSimulator) -> None:
    async with httpx.AsyncClient() as pool:
        async with TalkMeClient(sim.api_url, http=pool) as talkme:
            await talkme.send_text(TOKEN, "Привет")
        assert not pool.is_closed
        await TalkMeClient(sim.api_url, http=pool).send_text(TOKEN, "Ещё раз")
    assert len(sim.state.calls) == 2


def test_from_settings_uses_the_api_url_and_timeout() -> None:
    settings = Settings(talkme_api_url="http://127.0.0.1:8100/json/v1.0/", talkme_timeout_seconds=3)
    talkme = TalkMeClient.from_settings(settings)
    assert talkme.base_url == "http://127.0.0.1:8100/json/v1.0"


def test_the_account_api_follows_the_talkme_api_url_unless_set_itself() -> None:
    proxy = "http://127.0.0.1:8100/json/v1.0"
    assert Settings().account_api_url == "https://lcab.talk-me.ru/json/v1.0"
    assert Settings(talkme_api_url=proxy + "/").account_api_url == proxy
    own = Settings(talkme_api_url=proxy, talkme_account_api_url="http://10.0.0.5/json/v1.0/")
    assert own.account_api_url == "http://10.0.0.5/json/v1.0"


# --- how failures are classified -------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "retryable", "status", "code"),
    [
        ("http500", True, 500, 500),
        ("http429", True, 429, 429),
        ("success_false", True, 200, 500),
        ("timeout", True, None, None),
        ("drop", True, None, None),
        ("http400", False, 400, 400),
    ],
)
async def test_each_failure_is_classified_as_retryable_or_permanent(
    sim: RunningSimulator,
    client: TalkMeClient,
    mode: FaultMode,
    retryable: bool,
    status: int | None,
    code: int | None,
) -> None:
    sim.state.fail_next(1, mode)

    with pytest.raises(TalkMeError) as caught:
        await client.send_text(TOKEN, "Привет")

    error = caught.value
    assert (error.retryable, error.status, error.code) == (retryable, status, code)
    assert error.method == "customBot/send"
    assert error.descr
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert TOKEN not in error.descr


async def test_a_timeout_says_so(sim: RunningSimulator, client: TalkMeClient) -> None:
    sim.state.fail_next(1, "timeout")
    with pytest.raises(TalkMeError, match="timed out"):
        await client.finish(TOKEN, "SUCCESS")


async def test_a_dropped_connection_is_a_network_error(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.fail_next(1, "drop")
    with pytest.raises(TalkMeError, match="network error"):
        await client.send_text(TOKEN, "Привет")


async def test_429_carries_retry_after(sim: RunningSimulator, client: TalkMeClient) -> None:
    sim.state.fail_next(1, "http429")
    with pytest.raises(TalkMeError) as caught:
        await client.send_text(TOKEN, "Привет")
    assert caught.value.retry_after == 1.0


async def test_success_false_carries_talkmes_code_and_description(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    with pytest.raises(TalkMeError) as caught:
        await client.call("customBot/send", TOKEN, {"content": {"text": ""}})
    error = caught.value
    assert (error.retryable, error.status, error.code) == (True, 200, 400)
    assert "content.text" in error.descr


async def test_an_unknown_path_is_permanent(sim: RunningSimulator) -> None:
    async with TalkMeClient(sim.url + "/wrong/prefix") as talkme:
        with pytest.raises(TalkMeError) as caught:
            await talkme.send_text(TOKEN, "Привет")
    assert (caught.value.retryable, caught.value.status) == (False, 404)


async def test_nobody_listening_is_a_retryable_network_error() -> None:
    async with TalkMeClient(f"http://127.0.0.1:{free_port()}", timeout=2) as talkme:
        with pytest.raises(TalkMeError) as caught:
            await talkme.send_text(TOKEN, "Привет")
    assert caught.value.retryable
    assert caught.value.status is None
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("bad_token", ["", "with\nnewline", "пароль", " padded "])
async def test_a_token_that_cannot_be_a_header_is_permanent_and_not_echoed(
    sim: RunningSimulator, client: TalkMeClient, bad_token: str
) -> None:
    with pytest.raises(TalkMeError) as caught:
        await client.send_text(bad_token, "Привет")
    assert not caught.value.retryable
    assert sim.state.calls == []
    if bad_token:
        assert bad_token not in str(caught.value)


def test_a_talkme_error_survives_pickling() -> None:
    error = TalkMeError(True, 503, 7, "busy", method="customBot/send", retry_after=2.0)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.retryable, copy.status, copy.code, copy.descr) == (True, 503, 7, "busy")
    assert (copy.method, copy.retry_after, str(copy)) == ("customBot/send", 2.0, str(error))


# --- answers the simulator does not give: a hand-written peer ---------------------------------


def misbehaving_talkme() -> FastAPI:
    """A peer that echoes the token back in various ways, as a careless server might."""
    app = FastAPI()

    @app.post("/echo-envelope/customBot/send")
    async def echo_envelope(request: Request) -> JSONResponse:
        token = request.headers["x-token"]
        error = {"code": 17, "descr": f"token {token} has expired"}
        return JSONResponse({"success": False, "error": error})

    @app.post("/echo-403/customBot/send")
    async def echo_403(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"forbidden for {request.headers['x-token']}", status_code=403)

    @app.post("/echo-html/customBot/send")
    async def echo_html(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"<html>maintenance {request.headers['x-token']}</html>")

    @app.post("/bare-500/customBot/send")
    async def bare_500() -> PlainTextResponse:
        return PlainTextResponse("Internal Server Error", status_code=502)

    return app


@pytest.mark.parametrize(
    ("prefix", "retryable", "status", "code"),
    [
        ("/echo-envelope", True, 200, 17),
        ("/echo-403", False, 403, None),
        ("/echo-html", True, 200, None),
        ("/bare-500", True, 502, None),
    ],
)
async def test_a_token_echoed_by_the_server_is_masked_in_the_error(
    prefix: str, retryable: bool, status: int, code: int | None
) -> None:
    async with (
        serve_app(misbehaving_talkme()) as url,
        TalkMeClient(url + prefix) as talkme,
    ):
        with pytest.raises(TalkMeError) as caught:
            await talkme.send_text(TOKEN, "Привет")

    error = caught.value
    assert (error.retryable, error.status, error.code) == (retryable, status, code)
    assert TOKEN not in str(error)
    assert TOKEN not in error.descr


async def test_a_success_answer_returns_talkmes_result_value() -> None:
    app = FastAPI()

    @app.post("/customBot/send")
    async def send() -> dict[str, Any]:
        return {"success": True, "result": {"messageId": 991}}

    async with serve_app(app) as url, TalkMeClient(url) as talkme:
        result = await talkme.send_text(TOKEN, "Привет")
    assert result.result == {"messageId": 991}
