"""A local stand-in for TalkMe's custom-bot API, for tests, demos and ``talkme-consultant
simulate``.

It serves ``POST /customBot/send``, ``/customBot/simulateTyping`` and ``/customBot/finish`` both at
the root and under ``/json/v1.0`` (and the account API's ``chat/*`` methods, see
``talkme/account_simulator.py``), so either ``http://HOST:PORT`` or ``http://HOST:PORT/json/v1.0``
works as ``TALKME_API_URL``. Answers have TalkMe's shapes: ``{"success": true, "result": {...}}``,
and for application errors HTTP 200 with ``{"success": false, "error": {"code", "descr"}}``:

==========  ===========================================================
code        meaning
==========  ===========================================================
401         no ``X-Token`` header
403         token not known (only when the state restricts tokens)
400         body is not JSON, or not the shape the method takes
500         injected ``success_false`` fault
==========  ===========================================================

:class:`SimulatorState` records every call in arrival order (including failed ones, with their
outcome), keeps a transcript per token (visitor lines, bot texts, typing, finish) and injects
faults: ``state.fail_next(n, mode, method=None)`` makes the next ``n`` matching calls fail with

* ``"http500"``, ``"http429"``, ``"http400"`` — that HTTP status with an error envelope;
* ``"success_false"`` — HTTP 200, ``success: false``;
* ``"timeout"`` — no answer until the caller gives up (or ``delay`` seconds pass, or the
  simulator stops); the caller sees its own timeout;
* ``"drop"`` — the connection is closed without any answer.

Faults apply before validation, as network trouble would, and a faulted call is never delivered:
it is recorded with its outcome but not added to the transcript.

Waiting is event-driven: :meth:`SimulatorState.wait_for` re-checks a predicate each time a call
is recorded, so tests never sleep-poll. The state may be shared with a server running in another
thread; waiters are woken on their own event loop.

Out-of-process control (the service under test in one process, the simulator in another):

* ``GET /_sim/calls?method=&token=&since=&delivered=&min_count=&timeout=`` — the recorded calls
  as a JSON list; with ``min_count`` it first waits (up to ``timeout`` seconds, default 5) until
  that many match, then answers with whatever matches.
* ``POST /_sim/reset`` — forget calls, transcripts and pending faults.
* ``POST /_sim/faults`` ``{"count": 1, "mode": "http500", "method": null, "delay": null}``;
  ``GET /_sim/faults`` lists pending faults; ``DELETE /_sim/faults`` clears them.
* ``GET /_sim/transcripts?token=`` — transcripts by token.

:class:`RemoteSimulator` wraps those endpoints; :func:`running_simulator` serves the app with
uvicorn inside the current event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar, get_args

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.types import Message, Receive, Scope, Send

from talkme_consultant.helpers.serving import serve_app
from talkme_consultant.talkme.account_simulator import (
    AccountSimulator,
    account_api_router,
    account_control_router,
)
from talkme_consultant.talkme.calls import (
    METHOD_FINISH,
    METHOD_SEND,
    METHOD_SIMULATE_TYPING,
)

__all__ = [
    "API_PREFIX",
    "ERROR_BAD_BODY",
    "ERROR_NO_TOKEN",
    "ERROR_SIMULATED",
    "ERROR_UNKNOWN_TOKEN",
    "FAULT_MODES",
    "METHODS",
    "FaultMode",
    "RemoteSimulator",
    "RunningSimulator",
    "SimCall",
    "SimulatorState",
    "SimulatorTimeout",
    "TranscriptEntry",
    "canonical_method",
    "create_simulator_app",
    "running_simulator",
]

API_PREFIX = "/json/v1.0"
METHODS: tuple[str, ...] = (METHOD_SEND, METHOD_SIMULATE_TYPING, METHOD_FINISH)

FaultMode = Literal["http500", "http429", "http400", "success_false", "timeout", "drop"]
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)

ERROR_NO_TOKEN = 401
ERROR_UNKNOWN_TOKEN = 403
ERROR_BAD_BODY = 400
ERROR_SIMULATED = 500

DEFAULT_TIMEOUT_FAULT_DELAY = 30.0
"""How long a ``"timeout"`` fault withholds the answer if the caller never hangs up."""

Outcome = Literal[
    "ok", "rejected", "http500", "http429", "http400", "success_false", "timeout", "drop"
]
Role = Literal["visitor", "bot", "typing", "finish"]

_T = TypeVar("_T")
_DROP_KEY = "talkme_simulator.drop"


def canonical_method(method: str) -> str:
    """``"send"``, ``"/customBot/send"`` or ``"customBot/send"`` → ``"customBot/send"``."""
    name = method.strip("/")
    if name.startswith(API_PREFIX.strip("/") + "/"):
        name = name[len(API_PREFIX.strip("/")) + 1 :]
    for known in METHODS:
        if name in (known, known.split("/", 1)[1]):
            return known
    raise ValueError(f"unknown TalkMe method {method!r}; expected one of {', '.join(METHODS)}")


@dataclass(frozen=True, slots=True)
class SimCall:
    """One request the simulator received, whatever became of it."""

    seq: int
    method: str
    token: str | None
    body: Any
    at: float
    outcome: Outcome
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """True when the call succeeded, i.e. the visitor would have seen its effect."""
        return self.outcome == "ok"

    @property
    def text(self) -> str | None:
        """The text of a ``customBot/send`` body, if any."""
        if self.method != METHOD_SEND or not isinstance(self.body, dict):
            return None
        content = self.body.get("content")
        text = content.get("text") if isinstance(content, dict) else None
        return text if isinstance(text, str) else None

    @property
    def code(self) -> str | None:
        """The code of a ``customBot/finish`` body, if any."""
        if self.method != METHOD_FINISH or not isinstance(self.body, dict):
            return None
        code = self.body.get("code")
        return code if isinstance(code, str) else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``/_sim/calls`` item shape)."""
        return {
            "seq": self.seq,
            "method": self.method,
            "token": self.token,
            "body": self.body,
            "at": self.at,
            "outcome": self.outcome,
            "delivered": self.delivered,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimCall:
        """The inverse of :meth:`to_json`."""
        return cls(
            seq=int(data["seq"]),
            method=str(data["method"]),
            token=data.get("token"),
            body=data.get("body"),
            at=float(data["at"]),
            outcome=data["outcome"],
            error=data.get("error"),
        )


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    """One line of a dialogue as the visitor would experience it."""

    role: Role
    text: str
    at: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"role": self.role, "text": self.text, "at": self.at}


@dataclass(slots=True)
class _Fault:
    mode: FaultMode
    remaining: int
    method: str | None
    delay: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "remaining": self.remaining,
            "method": self.method,
            "delay": self.delay,
        }


@dataclass(slots=True)
class _Decision:
    """What the HTTP layer must do with a recorded call."""

    call: SimCall
    fault: _Fault | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error_code: int | None = None


class SimulatorTimeout(TimeoutError):
    """A wait on the simulator ran out of time; the message says what was awaited."""


class _Waiters:
    """Events to set whenever something is recorded, each on the loop that awaits it."""

    def __init__(self) -> None:
        self._entries: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()

    def add(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._entries.add(entry)
        return entry

    def discard(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._entries.discard(entry)

    def wake_all(self) -> None:
        with self._lock:
            entries = list(self._entries)
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, event in entries:
            if loop is current:
                event.set()
            else:
                # asyncio.Event is not thread-safe: set it from its own loop.
                with contextlib.suppress(RuntimeError):  # that loop has closed
                    loop.call_soon_threadsafe(event.set)


class SimulatorState:
    """Everything the simulator remembers, and the knobs tests turn.

    ``known_tokens``: when given, only those tokens (plus any added with
    :meth:`register_token`) are accepted; otherwise any non-empty token is. ``timeout_delay``:
    the default for how long a ``"timeout"`` fault withholds its answer.
    """

    def __init__(
        self,
        *,
        known_tokens: Iterable[str] | None = None,
        timeout_delay: float = DEFAULT_TIMEOUT_FAULT_DELAY,
    ) -> None:
        self.known_tokens: set[str] | None = set(known_tokens) if known_tokens is not None else None
        self.timeout_delay = timeout_delay
        self._lock = threading.Lock()
        self._calls: list[SimCall] = []
        self._transcripts: dict[str, list[TranscriptEntry]] = {}
        self._faults: list[_Fault] = []
        self._seq = itertools.count(1)
        self._changed = _Waiters()
        self._released = _Waiters()
        # The account API (operators, client cards, history); see talkme/account_simulator.py.
        self.account = AccountSimulator()

    # --- inspection ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[SimCall]:
        """All recorded calls, oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest call, 0 if none; pass it as ``since``."""
        with self._lock:
            return self._calls[-1].seq if self._calls else 0

    def calls_matching(
        self,
        *,
        method: str | None = None,
        token: str | None = None,
        since: int = 0,
        delivered: bool | None = None,
    ) -> list[SimCall]:
        """Recorded calls filtered by method (short or full name), token, ``seq > since`` and
        whether they were delivered."""
        return _filter_calls(
            self.calls, method=method, token=token, since=since, delivered=delivered
        )

    def transcript(self, token: str) -> list[TranscriptEntry]:
        """The dialogue for ``token``: visitor lines and delivered bot actions, in order."""
        with self._lock:
            return list(self._transcripts.get(token, ()))

    def transcripts(self) -> dict[str, list[TranscriptEntry]]:
        """All dialogues by token."""
        with self._lock:
            return {token: list(entries) for token, entries in self._transcripts.items()}

    def pending_faults(self) -> list[dict[str, Any]]:
        """Faults still waiting to fire, in the order they will."""
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    # --- control ------------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        mode: FaultMode = "http500",
        *,
        method: str | None = None,
        delay: float | None = None,
    ) -> None:
        """Make the next ``n`` calls (of ``method`` only, if given) fail with ``mode``.

        Faults queue up in the order they were added; each call consumes the first one that
        matches it. ``delay`` overrides ``timeout_delay`` for a ``"timeout"`` fault.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        if mode not in FAULT_MODES:
            raise ValueError(
                f"unknown fault mode {mode!r}; expected one of {', '.join(FAULT_MODES)}"
            )
        if delay is not None and delay <= 0:
            raise ValueError("delay must be positive")
        canonical = canonical_method(method) if method is not None else None
        with self._lock:
            self._faults.append(_Fault(mode=mode, remaining=n, method=canonical, delay=delay))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget calls, transcripts and pending faults (registered tokens stay), and the
        account API's cards, dialogues and calls."""
        with self._lock:
            self._calls.clear()
            self._transcripts.clear()
            self._faults.clear()
            self._seq = itertools.count(1)
        self.account.reset()
        self._changed.wake_all()

    def register_token(self, token: str) -> None:
        """Issue ``token`` as TalkMe would for a new dialogue (matters with ``known_tokens``)."""
        with self._lock:
            if self.known_tokens is not None:
                self.known_tokens.add(token)

    def record_visitor(self, token: str, text: str) -> None:
        """Add a visitor's line to the transcript of ``token`` (the scripted visitor does)."""
        with self._lock:
            entry = TranscriptEntry(role="visitor", text=text, at=time.time())
            self._transcripts.setdefault(token, []).append(entry)
        self._changed.wake_all()

    def release_stalled(self) -> None:
        """Let every call held by a ``"timeout"`` fault finish now (used when shutting down)."""
        self._released.wake_all()
        self.account.release_stalled()

    # --- waiting ------------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[Sequence[SimCall]], _T | None],
        # A deadline parameter (not asyncio.timeout) so a timeout can say what was awaited.
        timeout: float,
        *,
        description: str = "a condition on the simulator's calls",
    ) -> _T:
        """Wait until ``predicate(calls)`` returns something truthy, and return it.

        The predicate is re-checked each time a call is recorded (and on reset); raises
        :class:`SimulatorTimeout` after ``timeout`` seconds.
        """
        entry = self._changed.add()
        _, changed = entry
        try:
            async with asyncio.timeout(timeout):
                while True:
                    # Clear before checking: a call recorded after the check sets it again.
                    changed.clear()
                    result = predicate(self.calls)
                    if result:
                        return result
                    await changed.wait()
        except TimeoutError:
            calls = ", ".join(f"{c.method}[{c.outcome}]" for c in self.calls[-10:]) or "none"
            raise SimulatorTimeout(
                f"timed out after {timeout:g}s waiting for {description}; latest calls: {calls}"
            ) from None
        finally:
            self._changed.discard(entry)

    async def wait_for_calls(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        token: str | None = None,
        since: int = 0,
        delivered: bool | None = None,
        timeout: float = 5.0,
    ) -> list[SimCall]:
        """Wait until at least ``count`` calls match the filters (see :meth:`calls_matching`)
        and return all that match."""
        if method is not None:
            method = canonical_method(method)

        def enough(calls: Sequence[SimCall]) -> list[SimCall] | None:
            found = _filter_calls(
                calls, method=method, token=token, since=since, delivered=delivered
            )
            return found if len(found) >= count else None

        what = f"{count} call(s)" + "".join(
            f" {name}={value!r}"
            for name, value in (
                ("method", method),
                ("token", "<given>" if token is not None else None),
                ("since", since or None),
                ("delivered", delivered),
            )
            if value is not None
        )
        return await self.wait_for(enough, timeout, description=what)

    # --- the HTTP layer's entry points ---------------------------------------------------------

    def _receive(self, method: str, token: str | None, raw_body: bytes) -> _Decision:
        body, body_error = _parse_json(raw_body)
        now = time.time()
        with self._lock:
            seq = next(self._seq)
            fault = self._take_fault(method)
            if fault is not None:
                call = SimCall(
                    seq, method, token, body, now, fault.mode, error=f"simulated {fault.mode}"
                )
                decision = _Decision(call=call, fault=fault)
            else:
                code, descr = self._check(method, token, body, body_error)
                if code is not None:
                    call = SimCall(seq, method, token, body, now, "rejected", error=descr)
                    decision = _Decision(call=call, error_code=code)
                else:
                    call = SimCall(seq, method, token, body, now, "ok")
                    decision = _Decision(call=call, result=self._deliver(call))
            self._calls.append(call)
        self._changed.wake_all()
        return decision

    def _take_fault(self, method: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.method is None or fault.method == method:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[index]
                return fault
        return None

    def _check(
        self, method: str, token: str | None, body: Any, body_error: str | None
    ) -> tuple[int | None, str | None]:
        if not token:
            return ERROR_NO_TOKEN, "X-Token header is missing"
        if self.known_tokens is not None and token not in self.known_tokens:
            return ERROR_UNKNOWN_TOKEN, "unknown token"
        if body_error is not None:
            return ERROR_BAD_BODY, body_error
        problem = _body_problem(method, body)
        if problem is not None:
            return ERROR_BAD_BODY, problem
        return None, None

    def _deliver(self, call: SimCall) -> dict[str, Any]:
        # Called under the lock with a validated call: update the dialogue, build the result.
        assert call.token is not None
        body: dict[str, Any] = call.body
        if call.method == METHOD_SEND:
            entry = TranscriptEntry("bot", body["content"]["text"], call.at)
            result: dict[str, Any] = {"id": call.seq}
        elif call.method == METHOD_SIMULATE_TYPING:
            entry = TranscriptEntry("typing", f"{body['ttl']:g}", call.at)
            result = {"ttl": body["ttl"]}
        else:
            entry = TranscriptEntry("finish", body["code"], call.at)
            result = {"code": body["code"]}
        self._transcripts.setdefault(call.token, []).append(entry)
        return result

    async def _stall(self, request: Request, delay: float) -> None:
        """Hold a call until its caller hangs up, ``delay`` passes or the simulator stops."""
        entry = self._released.add()
        waits = [
            asyncio.ensure_future(_wait_disconnect(request)),
            asyncio.ensure_future(entry[1].wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            self._released.discard(entry)


def _filter_calls(
    calls: Sequence[SimCall],
    *,
    method: str | None,
    token: str | None,
    since: int,
    delivered: bool | None,
) -> list[SimCall]:
    wanted = canonical_method(method) if method is not None else None
    return [
        call
        for call in calls
        if call.seq > since
        and (wanted is None or call.method == wanted)
        and (token is None or call.token == token)
        and (delivered is None or call.delivered == delivered)
    ]


def _parse_json(raw: bytes) -> tuple[Any, str | None]:
    if not raw:
        return None, "empty body; expected a JSON object"
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError) as exc:
        return raw.decode("utf-8", "replace"), f"body is not JSON: {exc}"


def _body_problem(method: str, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if method == METHOD_SEND:
        content = body.get("content")
        if not isinstance(content, dict):
            return 'expected {"content": {"text": "..."}}'
        text = content.get("text")
        if not isinstance(text, str) or not text.strip():
            return "content.text must be a non-empty string"
        return None
    if method == METHOD_SIMULATE_TYPING:
        ttl = body.get("ttl")
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
            return "ttl must be a positive number of seconds"
        return None
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        return "code must be a non-empty string"
    return None


async def _wait_disconnect(request: Request) -> None:
    # The body has been read, so the next ASGI message can only be the disconnect.
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _envelope_error(code: int, descr: str, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": code, "descr": descr}}, status_code=status
    )


class _DropFlag:
    """Set by an endpoint to ask the outer app layer to close the connection unanswered."""

    requested = False


# --- the app -------------------------------------------------------------------------------------


class _SimulatorApp(FastAPI):
    """FastAPI, plus the one thing ASGI cannot express: hanging up without an answer.

    Under uvicorn the ``send`` callable is bound to the connection's request cycle, whose
    transport we close. Elsewhere the drop degrades to aborting the response mid-way, which any
    ASGI server turns into a closed connection.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        flag = _DropFlag()
        scope[_DROP_KEY] = flag
        closed = False

        async def guarded_send(message: Message) -> None:
            nonlocal closed
            if not flag.requested:
                await send(message)
                return
            if closed:
                return
            closed = True
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if isinstance(transport, asyncio.BaseTransport):
                transport.close()
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1000")],
                }
            )
            raise ConnectionAbortedError("simulated dropped connection")

        await super().__call__(scope, receive, guarded_send)
        if closed:
            # Let the server notice the closed connection, so it does not complain that the
            # app returned without answering.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    while (await receive())["type"] != "http.disconnect":
                        pass


class FaultRequest(BaseModel):
    """Body of ``POST /_sim/faults``."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1)
    mode: FaultMode = "http500"
    method: str | None = None
    delay: float | None = Field(default=None, gt=0)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        return canonical_method(value) if value is not None else None


def create_simulator_app(state: SimulatorState | None = None) -> FastAPI:
    """Build the simulator app around ``state`` (a fresh one if omitted; see ``app.state.sim``)."""
    sim = state if state is not None else SimulatorState()
    app = _SimulatorApp(
        title="TalkMe simulator",
        description="A local stand-in for TalkMe's custom-bot API.",
        docs_url="/_sim/docs",
        redoc_url=None,
        openapi_url="/_sim/openapi.json",
    )
    app.state.sim = sim

    api = APIRouter()
    for method in METHODS:
        api.add_api_route(
            "/" + method, _method_endpoint(sim, method), methods=["POST"], name=method
        )
    app.include_router(api)
    app.include_router(api, prefix=API_PREFIX)
    account = account_api_router(sim.account)
    app.include_router(account)
    app.include_router(account, prefix=API_PREFIX)
    app.include_router(_control_router(sim), prefix="/_sim")
    app.include_router(account_control_router(sim.account), prefix="/_sim/account")
    return app


def _method_endpoint(sim: SimulatorState, method: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        decision = sim._receive(method, request.headers.get("x-token"), await request.body())
        fault = decision.fault
        if fault is None:
            if decision.error_code is not None:
                return _envelope_error(decision.error_code, decision.call.error or "error")
            return JSONResponse({"success": True, "result": decision.result})
        if fault.mode == "success_false":
            return _envelope_error(ERROR_SIMULATED, "simulated failure")
        if fault.mode in ("http500", "http429", "http400"):
            status = int(fault.mode.removeprefix("http"))
            response = _envelope_error(status, f"simulated HTTP {status}", status=status)
            if status == 429:
                response.headers["Retry-After"] = "1"
            return response
        if fault.mode == "timeout":
            await sim._stall(request, fault.delay or sim.timeout_delay)
            return _envelope_error(504, "simulated timeout", status=504)
        request.scope[_DROP_KEY].requested = True
        return Response(status_code=500)

    endpoint.__name__ = "sim_" + method.replace("/", "_")
    return endpoint


def _control_router(sim: SimulatorState) -> APIRouter:
    router = APIRouter(tags=["simulator control"])

    @router.get("/calls")
    async def list_calls(
        method: str | None = None,
        token: str | None = None,
        since: int = 0,
        delivered: bool | None = None,
        min_count: int | None = Query(default=None, ge=1),
        timeout: float = Query(default=5.0, gt=0, le=300),
    ) -> list[dict[str, Any]]:
        """Recorded calls; with ``min_count``, first wait until that many match."""
        if method is not None:
            try:
                method = canonical_method(method)
            except ValueError as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from exc
        if min_count is not None:
            with contextlib.suppress(SimulatorTimeout):
                await sim.wait_for_calls(
                    min_count,
                    method=method,
                    token=token,
                    since=since,
                    delivered=delivered,
                    timeout=timeout,
                )
        found = sim.calls_matching(method=method, token=token, since=since, delivered=delivered)
        return [call.to_json() for call in found]

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        """Forget calls, transcripts and faults."""
        sim.reset()
        return {"ok": True}

    @router.post("/faults")
    async def add_fault(fault: FaultRequest) -> list[dict[str, Any]]:
        """Queue a fault; answers with all pending faults."""
        sim.fail_next(fault.count, fault.mode, method=fault.method, delay=fault.delay)
        return sim.pending_faults()

    @router.get("/faults")
    async def list_faults() -> list[dict[str, Any]]:
        """Pending faults."""
        return sim.pending_faults()

    @router.delete("/faults")
    async def clear_faults() -> list[dict[str, Any]]:
        """Drop all pending faults."""
        sim.clear_faults()
        return sim.pending_faults()

    @router.get("/transcripts")
    async def transcripts(token: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Dialogues by token (only ``token``'s, if given)."""
        everything = sim.transcripts()
        if token is not None:
            everything = {token: everything.get(token, [])}
        return {key: [entry.to_json() for entry in entries] for key, entries in everything.items()}

    return router


# --- serving -------------------------------------------------------------------------------------


class RunningSimulator(NamedTuple):
    """A simulator being served: unpack as ``(url, state)``; ``api_url`` is for TALKME_API_URL."""

    url: str
    state: SimulatorState

    @property
    def api_url(self) -> str:
        """The base URL to configure as ``TALKME_API_URL``."""
        return self.url + API_PREFIX


@contextlib.asynccontextmanager
async def running_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    state: SimulatorState | None = None,
    log_level: str = "warning",
    http: Literal["auto", "h11", "httptools"] = "auto",
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator with uvicorn in the current event loop for the ``async with`` body.

    ``port=0`` picks a free port; a busy port raises ``OSError``. Yields ``(url, state)`` as a
    :class:`RunningSimulator`, whose ``api_url`` (``url`` + ``/json/v1.0``) is what the service
    needs as ``TALKME_API_URL``.
    """
    sim = state if state is not None else SimulatorState()
    app = create_simulator_app(sim)
    async with serve_app(app, host, port, log_level=log_level, http=http) as url:
        try:
            yield RunningSimulator(url, sim)
        finally:
            # Calls held by "timeout" faults would otherwise keep the server from stopping.
            sim.release_stalled()


# --- out-of-process control ------------------------------------------------------------------


class RemoteSimulator:
    """Control a simulator in another process through its ``/_sim/*`` endpoints."""

    def __init__(self, url: str, *, http: httpx.AsyncClient | None = None) -> None:
        self._url = url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=httpx.Timeout(10.0))

    async def aclose(self) -> None:
        """Close the HTTP pool if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def calls(
        self,
        *,
        method: str | None = None,
        token: str | None = None,
        since: int = 0,
        delivered: bool | None = None,
    ) -> list[SimCall]:
        """The recorded calls matching the filters."""
        return await self._get_calls(method, token, since, delivered, None, None)

    async def wait_for_calls(
        self,
        count: int = 1,
        *,
        method: str | None = None,
        token: str | None = None,
        since: int = 0,
        delivered: bool | None = None,
        timeout: float = 5.0,
    ) -> list[SimCall]:
        """Like :meth:`SimulatorState.wait_for_calls`, waiting inside the simulator."""
        found = await self._get_calls(method, token, since, delivered, count, timeout)
        if len(found) < count:
            raise SimulatorTimeout(
                f"timed out after {timeout:g}s waiting for {count} call(s); got {len(found)}"
            )
        return found

    async def reset(self) -> None:
        """Forget calls, transcripts and faults."""
        response = await self._http.post(f"{self._url}/_sim/reset")
        response.raise_for_status()

    async def fail_next(
        self,
        n: int = 1,
        mode: FaultMode = "http500",
        *,
        method: str | None = None,
        delay: float | None = None,
    ) -> None:
        """Queue a fault, as :meth:`SimulatorState.fail_next`."""
        body = {"count": n, "mode": mode, "method": method, "delay": delay}
        response = await self._http.post(f"{self._url}/_sim/faults", json=body)
        response.raise_for_status()

    async def transcript(self, token: str) -> list[TranscriptEntry]:
        """The dialogue for ``token``."""
        response = await self._http.get(f"{self._url}/_sim/transcripts", params={"token": token})
        response.raise_for_status()
        return [
            TranscriptEntry(role=item["role"], text=item["text"], at=item["at"])
            for item in response.json().get(token, [])
        ]

    async def _get_calls(
        self,
        method: str | None,
        token: str | None,
        since: int,
        delivered: bool | None,
        min_count: int | None,
        wait_seconds: float | None,
    ) -> list[SimCall]:
        params: dict[str, str | int | float] = {"since": since}
        if method is not None:
            params["method"] = method
        if token is not None:
            params["token"] = token
        if delivered is not None:
            params["delivered"] = "true" if delivered else "false"
        request_timeout = self._http.timeout
        if min_count is not None and wait_seconds is not None:
            params["min_count"] = min_count
            params["timeout"] = wait_seconds
            # The server holds the request for up to wait_seconds; give the answer time to come.
            request_timeout = httpx.Timeout(wait_seconds + 10.0)
        response = await self._http.get(
            f"{self._url}/_sim/calls", params=params, timeout=request_timeout
        )
        response.raise_for_status()
        return [SimCall.from_json(item) for item in response.json()]
