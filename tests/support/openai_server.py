"""A scripted OpenAI-compatible chat server for tests, served over real HTTP.

The real `openai` SDK talks to it, so tests exercise the same requests, JSON and error handling
as production. A test decides what "the model" says: queue replies with `push(...)`, or set
`handler` to a function that looks at the request (to assert what reached the model, or to play
an obedient model that follows an injection). Every request is recorded. Faults: HTTP errors
(500, 429 ...), hanging (client timeouts), a broken response body, text-wrapped JSON, and a
"no JSON-schema mode" switch that answers 400 to `response_format`, as vLLM / llama.cpp builds
without grammar support do. Function calling: `Reply.calls(...)` answers with `tool_calls` as
OpenAI does (`finish_reason: "tool_calls"`, arguments as a JSON string), the next request's
`tool_results` are what the client answered them, and a "no tools" switch answers 400 to any
request that offers `tools`.

    async with scripted_openai_server() as server:
        server.push(Reply.json({"queries": ["стрижка цена"]}))
        client = server.client()
        ...
        assert len(server.requests) == 1

The server runs uvicorn in its own thread and event loop, so a test's loop never blocks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import openai
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent."""
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        return messages

    @property
    def response_format(self) -> dict[str, Any] | None:
        """The `response_format` sent, if any."""
        value: dict[str, Any] | None = self.body.get("response_format")
        return value

    @property
    def schema_name(self) -> str | None:
        """The JSON-schema name of `response_format` ("consultant_reply", ...), if any."""
        if not self.response_format:
            return None
        name: str | None = self.response_format.get("json_schema", {}).get("name")
        return name

    def texts(self, role: str) -> list[str]:
        """The text of every message with this role."""
        return [str(m.get("content") or "") for m in self.messages if m.get("role") == role]

    @property
    def tools(self) -> list[str]:
        """The names of the functions the request offers (`tools`), if any."""
        return [str(tool.get("function", {}).get("name")) for tool in self.body.get("tools") or []]

    @property
    def tool_choice(self) -> Any:
        """The `tool_choice` sent, if any."""
        return self.body.get("tool_choice")

    @property
    def tool_results(self) -> dict[str, Any]:
        """The results sent back for earlier calls, by call id, each read as JSON when it is."""
        results: dict[str, Any] = {}
        for message in self.messages:
            if message.get("role") == "tool":
                content = str(message.get("content") or "")
                try:
                    results[str(message.get("tool_call_id"))] = json.loads(content)
                except ValueError:
                    results[str(message.get("tool_call_id"))] = content
        return results

    @property
    def system(self) -> str:
        """All system-message text, joined."""
        return "\n".join(self.texts("system"))

    @property
    def user(self) -> str:
        """All user-message text, joined."""
        return "\n".join(self.texts("user"))


@dataclass(frozen=True)
class ToolCall:
    """One function call the scripted model makes; `arguments` are sent as a JSON string."""

    id: str
    name: str
    arguments: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        """The call as OpenAI sends it in `message.tool_calls`."""
        return {
            "id": self.id,
            "type": "function",
            "function": {
                "name": self.name,
                "arguments": json.dumps(self.arguments, ensure_ascii=False),
            },
        }


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    content: str | None = ""
    status: int = 200
    error: str = ""
    delay: float = 0.0  # seconds to wait before answering; longer than the client timeout = hang
    prompt_tokens: int = 100
    completion_tokens: int = 20
    raw_body: str | None = None  # sent as-is instead of a completion (a broken body)
    headers: dict[str, str] = field(default_factory=dict)
    tool_calls: tuple[ToolCall, ...] = ()

    @classmethod
    def calls(cls, *calls: ToolCall, **kwargs: Any) -> Reply:
        """An assistant message that calls functions instead of answering."""
        return cls(content=None, tool_calls=calls, **kwargs)

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Reply:
        """A completion whose content is `value` as JSON (what schema mode returns)."""
        return cls(content=json.dumps(value, ensure_ascii=False), **kwargs)

    @classmethod
    def text(cls, content: str, **kwargs: Any) -> Reply:
        """A completion with free text content."""
        return cls(content=content, **kwargs)

    @classmethod
    def wrapped_json(cls, value: Any, **kwargs: Any) -> Reply:
        """JSON inside prose and a ```json fence, as chatty models without schema mode answer."""
        body = json.dumps(value, ensure_ascii=False, indent=2)
        return cls(content=f"Конечно! Вот ответ:\n```json\n{body}\n```\nОбращайтесь!", **kwargs)

    @classmethod
    def fail(cls, status: int, error: str = "scripted failure", **kwargs: Any) -> Reply:
        """An HTTP error in OpenAI's error format (500, 429, 400 ...)."""
        return cls(content=None, status=status, error=error, **kwargs)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Reply:
        """No answer for `seconds` (the client is expected to time out first)."""
        return cls(delay=seconds, content="{}")

    @classmethod
    def broken_body(cls) -> Reply:
        """HTTP 200 with a body that is not JSON at all."""
        return cls(raw_body='{"id": "chatcmpl-x", "choices": [')


Handler = Callable[[RecordedRequest], Reply]


class ScriptedOpenAIServer:
    """The server; see the module docstring. Use `scripted_openai_server()` to run it."""

    def __init__(
        self,
        *,
        json_schema_supported: bool = True,
        tools_supported: bool = True,
        strict: bool = True,
    ) -> None:
        """`strict`: a request with nothing scripted for it fails the test at exit."""
        self.json_schema_supported = json_schema_supported
        self.tools_supported = tools_supported
        self.strict = strict
        self.handler: Handler | None = None
        self.requests: list[RecordedRequest] = []
        self.unscripted: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = self._build_app()

    # --- scripting -----------------------------------------------------------------------------

    def push(self, *replies: Reply) -> None:
        """Queue replies; they are used in order, before `handler`."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self, *, json_schema_supported: bool = True, tools_supported: bool = True) -> None:
        """Forget the script, the handler and the recorded requests; release hanging replies.

        Lets one running server serve many tests (starting uvicorn per test is the slow part).
        """
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.unscripted.clear()
        self.handler = None
        self.json_schema_supported = json_schema_supported
        self.tools_supported = tools_supported
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._renew_release)

    def _renew_release(self) -> None:
        # Runs in the server's loop: wake everything waiting now, start afresh for later replies.
        if self._release is not None:
            self._release.set()
        self._release = asyncio.Event()

    @property
    def pending(self) -> int:
        """Queued replies not used yet."""
        with self._lock:
            return len(self._queue)

    def chat_requests(self, schema_name: str) -> list[RecordedRequest]:
        """Requests that asked for this JSON schema (e.g. "consultant_reply")."""
        return [r for r in self.requests if r.schema_name == schema_name]

    # --- running -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The `base_url` for the SDK (ends with /v1)."""
        if self._socket is None:
            raise RuntimeError("the server is not running")
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}/v1"

    def client(self, *, timeout: float = 5.0) -> openai.AsyncOpenAI:
        """An SDK client for this server, without SDK retries (the answerer retries itself)."""
        return openai.AsyncOpenAI(
            api_key="sk-test-not-a-secret", base_url=self.base_url, timeout=timeout, max_retries=0
        )

    def start(self) -> None:
        """Serve on a free port of 127.0.0.1 in a background thread; returns when ready."""
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        server, sock = self._server, self._socket
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="scripted-openai", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the scripted OpenAI server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving; hanging replies are released at once."""
        self._stopping.set()
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()

    # --- the app -------------------------------------------------------------------------------

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.handler is not None:
            return self.handler(request)
        self.unscripted.append(request)
        return Reply.fail(500, "nothing scripted for this request")

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            body = await request.json()
            recorded = RecordedRequest(body=body, headers=dict(request.headers))
            with self._lock:
                self.requests.append(recorded)
            wants_schema = (body.get("response_format") or {}).get("type") == "json_schema"
            if wants_schema and not self.json_schema_supported:
                return _error(400, "response_format json_schema is not supported by this server")
            if body.get("tools") and not self.tools_supported:
                return _error(400, "tools are not supported by this server")
            reply = self._next_reply(recorded)
            await self._wait(reply.delay)
            if reply.raw_body is not None:
                return Response(reply.raw_body, media_type="application/json")
            if reply.status != 200:
                return _error(reply.status, reply.error, reply.headers)
            return JSONResponse(self._completion(body, reply), headers=reply.headers)

        return app

    async def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._release is None:
            # Created in the server's own loop; stop() sets it from the test's thread.
            self._loop, self._release = asyncio.get_running_loop(), asyncio.Event()
        if self._stopping.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), seconds)

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [call.wire() for call in reply.tool_calls]
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}},
        status_code=status,
        headers=headers,
    )


@asynccontextmanager
async def scripted_openai_server(
    *, json_schema_supported: bool = True, tools_supported: bool = True, strict: bool = True
) -> AsyncIterator[ScriptedOpenAIServer]:
    """Run a `ScriptedOpenAIServer` for the duration of the block.

    With `strict` (the default), leaving the block raises AssertionError if a request arrived
    with nothing scripted for it, so a test cannot pass on an unexpected extra model call.
    """
    server = ScriptedOpenAIServer(
        json_schema_supported=json_schema_supported, tools_supported=tools_supported, strict=strict
    )
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)
    if strict and server.unscripted:
        raise AssertionError(
            f"the scripted OpenAI server got {len(server.unscripted)} unscripted request(s)"
        )
