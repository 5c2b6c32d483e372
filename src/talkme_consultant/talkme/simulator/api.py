"""The fake ``customBot/*`` API: the routes, the body checks, and how injected faults are played.

Answers have TalkMe's shapes: ``{"success": true, "result": {...}}``, and for application errors
HTTP 200 with ``{"success": false, "error": {"code", "descr"}}`` (the codes are the ``ERROR_*``
constants of ``records.py``). What a call leads to is decided by the state
(:meth:`~.state.SimulatorState.receive`); this module reads the request and writes the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from talkme_consultant.talkme.calls import METHOD_SEND, METHOD_SIMULATE_TYPING
from talkme_consultant.talkme.simulator.faults import Fault
from talkme_consultant.talkme.simulator.hangup import hang_up
from talkme_consultant.talkme.simulator.records import ERROR_SIMULATED, METHODS
from talkme_consultant.talkme.simulator.state import SimulatorState


def api_router(sim: SimulatorState) -> APIRouter:
    """``POST /customBot/send``, ``/customBot/simulateTyping`` and ``/customBot/finish``, to mount
    at the root and under ``/json/v1.0``."""
    router = APIRouter()
    for method in METHODS:
        router.add_api_route(
            "/" + method, _method_endpoint(sim, method), methods=["POST"], name=method
        )
    return router


def _method_endpoint(sim: SimulatorState, method: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        body, problem = _read_body(method, await request.body())
        decision = sim.receive(method, request.headers.get("x-token"), body, problem)
        if decision.fault is not None:
            return await _play_fault(sim, request, decision.fault)
        if decision.error_code is not None:
            return _envelope_error(decision.error_code, decision.call.error or "error")
        return JSONResponse({"success": True, "result": decision.result})

    endpoint.__name__ = "sim_" + method.replace("/", "_")
    return endpoint


async def _play_fault(sim: SimulatorState, request: Request, fault: Fault) -> Response:
    if fault.mode == "success_false":
        return _envelope_error(ERROR_SIMULATED, "simulated failure")
    if fault.mode in ("http500", "http429", "http400"):
        status = int(fault.mode.removeprefix("http"))
        response = _envelope_error(status, f"simulated HTTP {status}", status=status)
        if status == 429:
            response.headers["Retry-After"] = "1"
        return response
    if fault.mode == "timeout":
        await sim.stall(request, fault.delay)
        return _envelope_error(504, "simulated timeout", status=504)
    hang_up(request)
    return Response(status_code=500)


def _read_body(method: str, raw: bytes) -> tuple[Any, str | None]:
    """The body as JSON (its text when it is not) and what is wrong with it, if anything."""
    if not raw:
        return None, "empty body; expected a JSON object"
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return raw.decode("utf-8", "replace"), f"body is not JSON: {exc}"
    return body, _body_problem(method, body)


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


def _envelope_error(code: int, descr: str, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": code, "descr": descr}}, status_code=status
    )
