"""The TalkMe simulator: answer shapes, recording, transcripts, fault injection and waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from talkme_testdata import TOKEN

from talkme_consultant.talkme.client import TalkMeClient, TalkMeError
from talkme_consultant.talkme.simulator import (
    RemoteSimulator,
    RunningSimulator,
    SimCall,
    SimulatorState,
    SimulatorTimeout,
    create_simulator_app,
    running_simulator,
)

OTHER_TOKEN = "tm-other-0123456789abcdef0123"


@pytest.fixture
async def http(sim: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client for the simulator, for requests the TalkMe client would never make."""
    async with httpx.AsyncClient(base_url=sim.url, timeout=5) as raw:
        yield raw


# --- answer shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/json/v1.0"])
@pytest.mark.parametrize(
    ("method", "body", "result"),
    [
        ("customBot/send", {"content": {"text": "Привет"}}, {"id": 1}),
        ("customBot/simulateTyping", {"ttl": 3}, {"ttl": 3}),
        ("customBot/finish", {"code": "SUCCESS"}, {"code": "SUCCESS"}),
    ],
)
async def test_each_method_answers_success_at_the_root_and_under_the_api_prefix(
    http: httpx.AsyncClient, prefix: str, method: str, body: dict[str, object], result: object
) -> None:
    response = await http.post(f"{prefix}/{method}", json=body, headers={"X-Token": TOKEN})
    assert response.status_code == 200
    assert response.json() == {"success": True, "result": result}


async def test_a_missing_token_is_an_application_error_with_http_200(
    sim: RunningSimulator, http: httpx.AsyncClient
) -> None:
    response = await http.post("/customBot/send", json={"content": {"text": "Привет"}})
    assert response.status_code == 200
    assert response.json() == {
        "success": False,
        "error": {"code": 401, "descr": "X-Token header is missing"},
    }
    assert sim.state.calls[0].outcome == "rejected"


async def test_an_unknown_token_is_rejected_when_tokens_are_restricted() -> None:
    state = SimulatorState(known_tokens={TOKEN})
    async with running_simulator(state=state) as sim, TalkMeClient(sim.api_url) as talkme:
        await talkme.send_text(TOKEN, "Привет")
        with pytest.raises(TalkMeError) as caught:
            await talkme.send_text(OTHER_TOKEN, "Привет")
        assert (caught.value.code, caught.value.descr) == (403, "unknown token")

        state.register_token(OTHER_TOKEN)
        await talkme.send_text(OTHER_TOKEN, "Теперь можно")


@pytest.mark.parametrize(
    ("method", "content"),
    [
        ("customBot/send", b"not json"),
        ("customBot/send", b""),
        ("customBot/send", b'["a list"]'),
        ("customBot/send", b'{"text": "no content wrapper"}'),
        ("customBot/send", b'{"content": {"text": "   "}}'),
        ("customBot/simulateTyping", b'{"ttl": "5"}'),
        ("customBot/simulateTyping", b'{"ttl": 0}'),
        ("customBot/simulateTyping", b'{"ttl": true}'),
        ("customBot/finish", b'{"code": ""}'),
        ("customBot/finish", b"{}"),
    ],
)
async def test_a_bad_body_is_an_application_error_with_code_400(
    sim: RunningSimulator, http: httpx.AsyncClient, method: str, content: bytes
) -> None:
    response = await http.post(f"/{method}", content=content, headers={"X-Token": TOKEN})
    assert response.status_code == 200
    answer = response.json()
    assert answer["success"] is False
    assert answer["error"]["code"] == 400
    assert sim.state.transcript(TOKEN) == []


# --- recording and transcripts ---------------------------------------------------------------


async def test_every_call_is_recorded_in_order_with_token_body_and_time(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    before = time.time()
    await client.simulate_typing(TOKEN, 2)
    await client.send_text(TOKEN, "Здравствуйте!")
    await client.finish(TOKEN, "SUCCESS")

    calls = sim.state.calls
    assert [call.seq for call in calls] == [1, 2, 3]
    assert [call.method for call in calls] == [
        "customBot/simulateTyping",
        "customBot/send",
        "customBot/finish",
    ]
    assert all(call.token == TOKEN and call.delivered for call in calls)
    assert all(before <= call.at <= time.time() for call in calls)
    assert calls[1].text == "Здравствуйте!"
    assert calls[2].code == "SUCCESS"
    assert sim.state.last_seq == 3


async def test_each_token_has_its_own_transcript_including_visitor_lines(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.record_visitor(TOKEN, "Сколько стоит маникюр?")
    await client.simulate_typing(TOKEN, 2)
    await client.send_text(TOKEN, "1500 ₽")
    await client.send_text(OTHER_TOKEN, "Другой диалог")
    await client.finish(TOKEN, "SUCCESS")

    transcript = [(entry.role, entry.text) for entry in sim.state.transcript(TOKEN)]
    assert transcript == [
        ("visitor", "Сколько стоит маникюр?"),
        ("typing", "2"),
        ("bot", "1500 ₽"),
        ("finish", "SUCCESS"),
    ]
    assert [entry.text for entry in sim.state.transcript(OTHER_TOKEN)] == ["Другой диалог"]
    assert set(sim.state.transcripts()) == {TOKEN, OTHER_TOKEN}


async def test_calls_can_be_filtered(sim: RunningSimulator, client: TalkMeClient) -> None:
    await client.send_text(TOKEN, "один")
    await client.send_text(OTHER_TOKEN, "два")
    await client.finish(TOKEN, "SUCCESS")
    sim.state.fail_next(1, "http500")
    with pytest.raises(TalkMeError):
        await client.send_text(TOKEN, "три")

    state = sim.state
    assert [c.text for c in state.calls_matching(method="send", token=TOKEN)] == ["один", "три"]
    assert [c.seq for c in state.calls_matching(since=2)] == [3, 4]
    assert [c.seq for c in state.calls_matching(delivered=False)] == [4]
    with pytest.raises(ValueError, match="unknown TalkMe method"):
        state.calls_matching(method="customBot/unknown")


async def test_reset_forgets_calls_transcripts_and_faults(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    await client.send_text(TOKEN, "Привет")
    sim.state.fail_next(3, "drop")
    sim.state.reset()

    assert sim.state.calls == []
    assert sim.state.transcripts() == {}
    assert sim.state.pending_faults() == []
    await client.send_text(TOKEN, "Снова")
    assert sim.state.calls[0].seq == 1


# --- fault injection -------------------------------------------------------------------------


async def test_a_fault_fails_exactly_the_next_n_calls(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.fail_next(2, "success_false")

    for _ in range(2):
        with pytest.raises(TalkMeError):
            await client.send_text(TOKEN, "Привет")
    await client.send_text(TOKEN, "Привет")

    assert [call.outcome for call in sim.state.calls] == ["success_false", "success_false", "ok"]


async def test_a_fault_can_be_restricted_to_one_method(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.fail_next(1, "http500", method="finish")

    await client.send_text(TOKEN, "Передаю оператору")
    with pytest.raises(TalkMeError):
        await client.finish(TOKEN, "OPERATOR_REQUEST")
    await client.finish(TOKEN, "OPERATOR_REQUEST")

    assert [(c.method, c.outcome) for c in sim.state.calls] == [
        ("customBot/send", "ok"),
        ("customBot/finish", "http500"),
        ("customBot/finish", "ok"),
    ]


async def test_faults_fire_in_the_order_they_were_queued(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.fail_next(1, "http429")
    sim.state.fail_next(1, "drop")
    for _ in range(2):
        with pytest.raises(TalkMeError):
            await client.send_text(TOKEN, "Привет")
    assert [call.outcome for call in sim.state.calls] == ["http429", "drop"]


async def test_a_faulted_call_is_recorded_but_never_reaches_the_transcript(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.fail_next(1, "timeout")
    with pytest.raises(TalkMeError):
        await client.send_text(TOKEN, "Не дойдёт")

    [call] = sim.state.calls
    assert (call.outcome, call.delivered, call.text) == ("timeout", False, "Не дойдёт")
    assert sim.state.transcript(TOKEN) == []


async def test_a_timed_out_call_is_let_go_when_its_caller_hangs_up() -> None:
    # A long hold would keep the server from stopping if it outlived its caller.
    state = SimulatorState(timeout_delay=60)
    started = time.monotonic()
    async with (
        running_simulator(state=state) as sim,
        TalkMeClient(sim.api_url, timeout=0.2) as talkme,
    ):
        state.fail_next(1, "timeout")
        with pytest.raises(TalkMeError, match="timed out"):
            await talkme.send_text(TOKEN, "Привет")
        await talkme.send_text(TOKEN, "Следующий проходит")
    assert time.monotonic() - started < 10


async def test_stopping_the_simulator_releases_calls_it_still_holds() -> None:
    state = SimulatorState(timeout_delay=60)
    started = time.monotonic()
    async with (
        running_simulator(state=state) as sim,
        TalkMeClient(sim.api_url, timeout=60) as talkme,
    ):
        state.fail_next(1, "timeout")
        pending = asyncio.create_task(talkme.send_text(TOKEN, "Привет"))
        await state.wait_for_calls(1)
    with pytest.raises(TalkMeError):
        await pending
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("http_impl", ["h11", "httptools"])
async def test_drop_closes_the_connection_under_either_uvicorn_protocol(http_impl: str) -> None:
    async with (
        running_simulator(http=http_impl) as sim,  # type: ignore[arg-type]
        TalkMeClient(sim.api_url, timeout=2) as talkme,
    ):
        sim.state.fail_next(1, "drop")
        with pytest.raises(TalkMeError, match="RemoteProtocolError"):
            await talkme.send_text(TOKEN, "Привет")
        await talkme.send_text(TOKEN, "The next connection works")


def test_fail_next_rejects_nonsense() -> None:
    state = SimulatorState()
    with pytest.raises(ValueError, match="at least 1"):
        state.fail_next(0)
    with pytest.raises(ValueError, match="unknown fault mode"):
        state.fail_next(1, "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown TalkMe method"):
        state.fail_next(1, method="customBot/sendMail")


# --- waiting ---------------------------------------------------------------------------------


async def test_wait_for_calls_returns_once_enough_matching_calls_arrive(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    waiting = asyncio.create_task(sim.state.wait_for_calls(2, method="send", token=TOKEN))
    await client.send_text(OTHER_TOKEN, "не тот диалог")
    await client.finish(TOKEN, "не тот метод")
    await client.send_text(TOKEN, "первое")
    assert not waiting.done()
    await client.send_text(TOKEN, "второе")

    calls = await waiting
    assert [call.text for call in calls] == ["первое", "второе"]


async def test_wait_for_calls_returns_at_once_if_they_already_happened(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    await client.send_text(TOKEN, "уже было")
    calls = await sim.state.wait_for_calls(1, timeout=0.01)
    assert calls[0].text == "уже было"


async def test_wait_for_calls_counts_only_calls_after_since(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    await client.send_text(TOKEN, "старое")
    mark = sim.state.last_seq
    waiting = asyncio.create_task(sim.state.wait_for_calls(1, since=mark))
    await client.send_text(TOKEN, "новое")
    assert [call.text for call in await waiting] == ["новое"]


async def test_wait_for_calls_can_wait_for_deliveries_only(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    sim.state.fail_next(1, "http500")
    waiting = asyncio.create_task(sim.state.wait_for_calls(1, delivered=True))
    with pytest.raises(TalkMeError):
        await client.send_text(TOKEN, "сбой")
    await client.send_text(TOKEN, "повтор")
    assert [call.text for call in await waiting] == ["повтор"]


async def test_wait_for_calls_times_out_saying_what_it_waited_for(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    await client.send_text(TOKEN, "Привет")
    with pytest.raises(SimulatorTimeout) as caught:
        await sim.state.wait_for_calls(1, method="finish", timeout=0.05)
    message = str(caught.value)
    assert "method='customBot/finish'" in message
    assert "customBot/send[ok]" in message
    assert isinstance(caught.value, TimeoutError)


async def test_wait_for_returns_what_the_predicate_found(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    def first_finish(calls: Sequence[SimCall]) -> str | None:
        return next((call.code for call in calls if call.code), None)

    waiting = asyncio.create_task(sim.state.wait_for(first_finish, timeout=5))
    await client.send_text(TOKEN, "Передаю оператору")
    await client.finish(TOKEN, "OPERATOR_REQUEST")
    assert await waiting == "OPERATOR_REQUEST"


async def test_wait_for_wakes_a_waiter_on_another_event_loop() -> None:
    # The state may be shared with a server on another thread; waiters must still wake.
    state = SimulatorState()
    checked_once = asyncio.Event()

    def any_call(calls: Sequence[SimCall]) -> list[SimCall] | None:
        checked_once.set()  # the waiter registers before its first check
        return list(calls) or None

    waiting = asyncio.create_task(state.wait_for(any_call, timeout=5))
    await checked_once.wait()

    def serve_one_call() -> None:
        async def in_thread() -> None:
            async with running_simulator(state=state) as sim, TalkMeClient(sim.api_url) as talkme:
                await talkme.send_text(TOKEN, "из другого потока")

        asyncio.run(in_thread())

    await asyncio.to_thread(serve_one_call)
    assert [call.text for call in await waiting] == ["из другого потока"]


# --- out-of-process control ------------------------------------------------------------------


async def test_sim_calls_lists_recorded_calls_as_json(
    sim: RunningSimulator, client: TalkMeClient, http: httpx.AsyncClient
) -> None:
    await client.send_text(TOKEN, "Привет")
    await client.finish(OTHER_TOKEN, "SUCCESS")

    everything = (await http.get("/_sim/calls")).json()
    assert [(c["seq"], c["method"], c["outcome"]) for c in everything] == [
        (1, "customBot/send", "ok"),
        (2, "customBot/finish", "ok"),
    ]
    assert everything[0]["body"] == {"content": {"text": "Привет"}}
    assert everything[0]["token"] == TOKEN
    filtered = (await http.get("/_sim/calls", params={"method": "finish"})).json()
    assert [c["token"] for c in filtered] == [OTHER_TOKEN]
    assert (await http.get("/_sim/calls", params={"method": "nope"})).status_code == 400


async def test_sim_calls_can_long_poll_for_a_count(
    sim: RunningSimulator, client: TalkMeClient, http: httpx.AsyncClient
) -> None:
    polling = asyncio.create_task(
        http.get("/_sim/calls", params={"min_count": 1, "method": "send", "timeout": 5})
    )
    await client.send_text(TOKEN, "Привет")
    response = await polling
    assert [c["body"]["content"]["text"] for c in response.json()] == ["Привет"]


async def test_sim_calls_answers_with_what_it_has_when_the_long_poll_times_out(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/_sim/calls", params={"min_count": 1, "timeout": 0.05})
    assert (response.status_code, response.json()) == (200, [])


async def test_sim_faults_and_reset_control_the_simulator(
    sim: RunningSimulator, client: TalkMeClient, http: httpx.AsyncClient
) -> None:
    response = await http.post("/_sim/faults", json={"count": 2, "mode": "drop", "method": "send"})
    assert response.json() == [
        {"mode": "drop", "remaining": 2, "method": "customBot/send", "delay": None}
    ]
    assert (await http.post("/_sim/faults", json={"mode": "explode"})).status_code == 422

    with pytest.raises(TalkMeError):
        await client.send_text(TOKEN, "Привет")
    assert (await http.get("/_sim/faults")).json()[0]["remaining"] == 1
    assert (await http.delete("/_sim/faults")).json() == []

    await client.send_text(TOKEN, "Привет")
    transcripts = (await http.get("/_sim/transcripts", params={"token": TOKEN})).json()
    assert [entry["text"] for entry in transcripts[TOKEN]] == ["Привет"]

    assert (await http.post("/_sim/reset")).json() == {"ok": True}
    assert (await http.get("/_sim/calls")).json() == []


async def test_remote_simulator_drives_a_simulator_over_http(
    sim: RunningSimulator, client: TalkMeClient
) -> None:
    remote = RemoteSimulator(sim.url)
    try:
        await remote.fail_next(1, "http500", method="finish")
        waiting = asyncio.create_task(remote.wait_for_calls(2, token=TOKEN, timeout=5))
        await client.send_text(TOKEN, "Привет")
        with pytest.raises(TalkMeError):
            await client.finish(TOKEN, "SUCCESS")

        calls = await waiting
        assert [(c.method, c.outcome) for c in calls] == [
            ("customBot/send", "ok"),
            ("customBot/finish", "http500"),
        ]
        assert [c.seq for c in await remote.calls(delivered=False)] == [2]
        assert [e.text for e in await remote.transcript(TOKEN)] == ["Привет"]
        with pytest.raises(SimulatorTimeout):
            await remote.wait_for_calls(5, timeout=0.05)
        await remote.reset()
        assert await remote.calls() == []
    finally:
        await remote.aclose()


def test_the_app_factory_builds_independent_apps() -> None:
    first, second = create_simulator_app(), create_simulator_app()
    assert first.state.sim is not second.state.sim


async def test_a_busy_port_raises_instead_of_exiting(sim: RunningSimulator) -> None:
    port = int(sim.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        async with running_simulator(port=port):
            pass
