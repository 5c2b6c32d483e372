"""The account API (``chat/*``) of the TalkMe simulator: operators, client cards, message history.

Served by the simulator app (``running.py``) next to ``customBot/*``, at the root and
under ``/json/v1.0``, with TalkMe's shapes (:mod:`talkme_consultant.talkme.account_wire`). Every
call must carry the account key in ``X-Token``; a missing or wrong key gets HTTP 401 with
``{"success": false, "error": {"code": 401, "descr": …}}``.

Tests turn its knobs in process (``sim.state.account``) or over HTTP:

* ``POST /_sim/account/operators`` ``{"id": 1, "online": true}`` — an operator comes or goes;
* ``POST /_sim/account/messages`` ``{"client": KEY, "whoSend": "operator", "text": …}`` — a line
  in a client's dialogue (the simulator's operator answering, or the visitor writing);
  ``KEY`` is the client's key as the service keeps conversations (``identity.key_for_client``:
  the ``clientId``, or ``searchId:<searchId>``);
* ``GET /_sim/account/clients/{key}`` — the client's card and dialogue;
* ``POST /_sim/account/mode`` ``{"mode": "ok" | "down" | "slow", "delay": 30}`` — the API answers,
  fails with HTTP 503, or holds every answer ``delay`` seconds (or until the caller hangs up).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from talkme_consultant.talkme.account_wire import (
    MAX_RANGE,
    METHOD_CLIENT_MESSAGES,
    METHOD_CLIENT_SET_INFO,
    METHOD_MESSAGES,
    METHOD_OPERATORS,
    STATUS_ONLINE,
    Sender,
    format_time,
    parse_time,
)
from talkme_consultant.talkme.identity import client_reference, key_for_client
from talkme_consultant.talkme.simulator.waiting import hold_call

DEFAULT_ACCOUNT_KEY = "sim-account-key"
ERROR_BAD_KEY = 401
ERROR_BAD_BODY = 400
ERROR_DOWN = 503
STATUS_OFFLINE = 2

Mode = Literal["ok", "down", "slow"]


class AccountCall(BaseModel):
    """One account API request the simulator received."""

    method: str
    key_ok: bool
    body: Any
    outcome: Literal["ok", "rejected", "down", "slow"]


class AccountSimulator:
    """The account's state: operators, client cards and dialogues, and how the API behaves."""

    def __init__(self, key: str = DEFAULT_ACCOUNT_KEY) -> None:
        self.key = key
        self.mode: Mode = "ok"
        self.delay = 30.0
        self._lock = threading.Lock()
        self._operators: dict[int, dict[str, Any]] = {
            1: {"id": 1, "login": "admin", "name": "Администратор", "statusId": STATUS_OFFLINE}
        }
        self._cards: dict[str, dict[str, Any]] = {}
        self._history: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1000)
        self._calls: list[AccountCall] = []
        self._released = asyncio.Event()

    # --- knobs ----------------------------------------------------------------------------------

    def set_operator(self, operator_id: int, *, online: bool, name: str | None = None) -> None:
        """Bring an operator online or take them offline (added if unknown)."""
        with self._lock:
            operator = self._operators.setdefault(
                operator_id,
                {"id": operator_id, "login": f"op{operator_id}", "name": name or "Оператор"},
            )
            operator["statusId"] = STATUS_ONLINE if online else STATUS_OFFLINE

    def add_message(
        self, client: str, who: Sender, text: str, *, at: datetime | None = None
    ) -> dict[str, Any]:
        """Append a message to a client's dialogue; returns it as the API lists it."""
        moment = at or datetime.now(UTC)
        with self._lock:
            message = {
                "id": next(self._ids),
                "text": text,
                "whoSend": who,
                "messageType": "text",
                "dateTimeUTC": format_time(moment),
            }
            self._history.setdefault(client, []).append(message)
            return dict(message)

    def set_mode(self, mode: Mode, *, delay: float | None = None) -> None:
        """``ok``, ``down`` (HTTP 503) or ``slow`` (answers held ``delay`` seconds)."""
        self.mode = mode
        if delay is not None:
            self.delay = delay

    def reset(self) -> None:
        """Back to the start: every operator offline, no cards, dialogues or calls, API up."""
        with self._lock:
            for operator in self._operators.values():
                operator["statusId"] = STATUS_OFFLINE
            self._cards.clear()
            self._history.clear()
            self._calls.clear()
        self.mode = "ok"

    def release_stalled(self) -> None:
        """Let held answers go (the simulator is stopping)."""
        self._released.set()

    # --- inspection -----------------------------------------------------------------------------

    def card(self, client: str) -> dict[str, Any]:
        """The client's card as ``setInfo`` left it (empty when never written)."""
        with self._lock:
            card: dict[str, Any] = json.loads(json.dumps(self._cards.get(client, {})))
            return card

    def history(self, client: str) -> list[dict[str, Any]]:
        """The client's dialogue, oldest first."""
        with self._lock:
            return [dict(m) for m in self._history.get(client, [])]

    def calls(self, method: str | None = None) -> list[AccountCall]:
        """The requests received (of ``method`` only, if given), oldest first."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    # --- serving --------------------------------------------------------------------------------

    async def handle(self, method: str, request: Request) -> Response:
        """Answer one account API request as TalkMe would."""
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        key_ok = request.headers.get("x-token") == self.key
        mode = self.mode
        outcome: Literal["ok", "rejected", "down", "slow"] = "ok"
        if mode == "down":
            outcome = "down"
        elif mode == "slow":
            outcome = "slow"
        elif not key_ok:
            outcome = "rejected"
        with self._lock:
            self._calls.append(
                AccountCall(method=method, key_ok=key_ok, body=body, outcome=outcome)
            )
        if outcome == "down":
            return _error(ERROR_DOWN, "service unavailable", status=ERROR_DOWN)
        if outcome == "slow":
            await hold_call(request, self._released, self.delay)
            return _error(504, "simulated timeout", status=504)
        if outcome == "rejected":
            return _error(ERROR_BAD_KEY, "invalid or missing X-Token", status=ERROR_BAD_KEY)
        if not isinstance(body, dict):
            return _error(ERROR_BAD_BODY, "body must be a JSON object")
        try:
            result = self._answer(method, body)
        except (ValueError, ValidationError) as problem:
            return _error(ERROR_BAD_BODY, str(problem).splitlines()[0])
        return JSONResponse({"success": True, "result": result})

    def _answer(self, method: str, body: dict[str, Any]) -> Any:
        with self._lock:
            if method == METHOD_OPERATORS:
                return [dict(operator) for operator in self._operators.values()]
            if method == METHOD_CLIENT_SET_INFO:
                info = _SetInfo.model_validate(body).client
                key = info.key()
                card = self._cards.setdefault(key, {})
                fields = info.model_dump(
                    by_alias=True, exclude_none=True, exclude={"id", "client_id"}
                )
                custom = fields.pop("customData", None)
                card.update(fields)
                if custom:
                    card.setdefault("customData", {}).update(custom)
                return {"clientId": key}
            if method == METHOD_CLIENT_MESSAGES:
                request = _ClientMessagesRequest.model_validate(body)
                items = list(self._history.get(request.client.key(), []))
                if request.first_message_id is not None:
                    items = [m for m in items if m["id"] >= request.first_message_id]
                if request.order_direction == "desc":
                    items.reverse()
                return {"items": [dict(m) for m in items[: request.limit]]}
            if method == METHOD_MESSAGES:
                span = _MessagesRequest.model_validate(body).date_range
                start, stop = parse_time(span.start), parse_time(span.stop)
                if stop < start or stop - start > MAX_RANGE:
                    raise ValueError(f"dateRange must span at most {MAX_RANGE.days} days")
                found = []
                for key, messages in self._history.items():
                    inside = [
                        dict(m) for m in messages if start <= parse_time(m["dateTimeUTC"]) <= stop
                    ]
                    if inside:
                        found.append({**client_reference(key), "messages": inside})
                return found
        raise ValueError(f"unknown method {method}")


class _ClientRef(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: int | None = None
    client_id: str | None = Field(default=None, alias="clientId")
    search_id: int | None = Field(default=None, alias="searchId")
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    custom_data: dict[str, Any] | None = Field(default=None, alias="customData")

    def key(self) -> str:
        """The client's key as the service keys conversations: a ``clientId`` and a ``searchId``
        (or setInfo's ``id``) of the same digits are two clients, as they may be in TalkMe."""
        number = self.id if self.id is not None else self.search_id
        key = key_for_client(self.client_id, number, None)
        if key is None:
            raise ValueError("client needs id, clientId or searchId")
        return key


class _SetInfo(BaseModel):
    client: _ClientRef


class _ClientMessagesRequest(BaseModel):
    client: _ClientRef
    order_direction: Literal["asc", "desc"] = Field(default="asc", alias="orderDirection")
    limit: int = Field(default=100, ge=1, le=1000)
    first_message_id: int | None = Field(default=None, alias="firstMessageId")


class _Range(BaseModel):
    start: str
    stop: str


class _MessagesRequest(BaseModel):
    date_range: _Range = Field(alias="dateRange")


class _OperatorSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = 1
    online: bool


class _MessageLine(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    client: str = Field(min_length=1)
    who_send: Sender = Field(alias="whoSend")
    text: str


class _ModeSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode
    delay: float | None = Field(default=None, gt=0)


def _error(code: int, descr: str, *, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": code, "descr": descr}}, status_code=status
    )


def account_api_router(account: AccountSimulator) -> APIRouter:
    """The ``chat/*`` methods, to mount at the root and under ``/json/v1.0``."""
    router = APIRouter(tags=["account API"])
    for method in (
        METHOD_OPERATORS,
        METHOD_CLIENT_SET_INFO,
        METHOD_CLIENT_MESSAGES,
        METHOD_MESSAGES,
    ):
        router.add_api_route(
            "/" + method, _endpoint(account, method), methods=["POST"], name=method
        )
    return router


def _endpoint(account: AccountSimulator, method: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return await account.handle(method, request)

    endpoint.__name__ = "sim_" + method.replace("/", "_")
    return endpoint


def account_control_router(account: AccountSimulator) -> APIRouter:
    """``/_sim/account/*``: the knobs tests turn from another process."""
    router = APIRouter(tags=["simulator control"])

    @router.post("/operators")
    async def switch_operator(switch: _OperatorSwitch) -> dict[str, bool]:
        """Bring an operator online or offline."""
        account.set_operator(switch.id, online=switch.online)
        return {"ok": True}

    @router.post("/messages")
    async def add_message(line: _MessageLine) -> dict[str, Any]:
        """Append a line to a client's dialogue."""
        return account.add_message(line.client, line.who_send, line.text)

    @router.get("/clients/{key}")
    async def client(key: str) -> dict[str, Any]:
        """The client's card and dialogue."""
        return {"card": account.card(key), "messages": account.history(key)}

    @router.post("/mode")
    async def switch_mode(switch: _ModeSwitch) -> dict[str, str]:
        """Make the API answer, fail or stall."""
        account.set_mode(switch.mode, delay=switch.delay)
        return {"mode": account.mode}

    return router
