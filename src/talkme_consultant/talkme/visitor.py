"""A scripted visitor: plays lines against a running service as TalkMe would deliver them.

Each line becomes a real webhook body (see :func:`build_webhook_body`) POSTed to
``{service_url}/webhook/talkme``; the visitor then waits, on the simulator's recorded calls, for
the bot's answer to come back through the TalkMe API (a ``customBot/send`` or ``customBot/finish``
with the dialogue's token) before saying the next line, as a person would.

Webhook secret. TalkMe signs nothing and its cabinet only lets a business paste a URL, so the
service protects its webhook with a shared secret that it accepts in either place:

* the ``X-Webhook-Secret`` header (what this visitor sends by default), or
* a ``secret`` query parameter: ``https://bot.example.ru/webhook/talkme?secret=…`` — the form a
  business pastes into TalkMe (``secret_in_query=True`` here).

Message ids. TalkMe's ``originalOnlineChatMessage.id`` is what the service deduplicates on, so
a fresh :class:`Visitor` starts from a random id: replaying the script against a service that
remembers an earlier run still gets answers.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from talkme_consultant.talkme.calls import METHOD_FINISH, METHOD_SEND, METHOD_SIMULATE_TYPING
from talkme_consultant.talkme.payloads import SECRET_HEADER, SECRET_QUERY_PARAM, WEBHOOK_PATH
from talkme_consultant.talkme.simulator import SimCall, SimulatorState, SimulatorTimeout

__all__ = [
    "DEFAULT_SCRIPT",
    "Exchange",
    "Visitor",
    "build_webhook_body",
    "play_script",
    "webhook_url",
]


DEFAULT_SCRIPT: tuple[str, ...] = (
    "Здравствуйте!",
    "Сколько стоит маникюр?",
    "А где вы находитесь?",
    "Спасибо!",
    "Позовите оператора",
)

_ALPHANUMERIC = string.ascii_letters + string.digits
MAX_SETTLE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who the scripted visitor is, in TalkMe's terms. :meth:`new` makes a plausible one."""

    client_id: str
    token: str
    search_id: int
    login: str
    name: str
    phone: str | None
    site_id: str
    site_domain: str
    dialog_id: int
    first_message_id: int

    @classmethod
    def new(
        cls,
        *,
        client_id: str | None = None,
        token: str | None = None,
        name: str = "Посетитель из симулятора",
        phone: str | None = None,
        site_id: str | None = None,
        site_domain: str = "simulator",
        first_message_id: int | None = None,
    ) -> Visitor:
        """A visitor with random identifiers where none are given (32-character clientId, as
        TalkMe's; message ids starting at a random point, see the module notes)."""
        search_id = 10_000 + secrets.randbelow(90_000)
        return cls(
            client_id=client_id or "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32)),
            token=token or "sim-" + secrets.token_urlsafe(24),
            search_id=search_id,
            login=f"{search_id}_posetitel_simulator",
            name=name,
            phone=phone,
            site_id=site_id or secrets.token_hex(12),
            site_domain=site_domain,
            dialog_id=1_000 + secrets.randbelow(9_000_000),
            first_message_id=(
                first_message_id
                if first_message_id is not None
                else 1_000_000 + secrets.randbelow(1_000_000_000)
            ),
        )


def build_webhook_body(visitor: Visitor, text: str, message_id: int) -> dict[str, Any]:
    """The JSON TalkMe POSTs to the bot's webhook for one visitor message."""
    return {
        "site": {"id": visitor.site_id, "domain": visitor.site_domain},
        "client": {
            "searchId": visitor.search_id,
            "login": visitor.login,
            "clientId": visitor.client_id,
            "name": visitor.name,
            "phone": visitor.phone,
        },
        "message": {"text": text},
        "originalOnlineChatMessage": {
            "id": message_id,
            "text": text,
            "dialogId": visitor.dialog_id,
        },
        "token": visitor.token,
    }


def webhook_url(service_url: str) -> str:
    """``{service_url}/webhook/talkme``."""
    return service_url.rstrip("/") + WEBHOOK_PATH


@dataclass(frozen=True, slots=True)
class Exchange:
    """One line of the script and what the bot did about it."""

    line: str
    message_id: int
    webhook_status: int | None
    replies: tuple[str, ...] = ()
    finish_code: str | None = None
    typing: bool = False
    seconds: float | None = None
    """From posting the webhook to the bot's first answer."""
    error: str | None = None
    calls: tuple[SimCall, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        """True when the webhook was accepted and the bot answered in time."""
        return self.error is None and (bool(self.replies) or self.finish_code is not None)


async def play_script(
    service_url: str,
    sim_state: SimulatorState,
    lines: Iterable[str],
    *,
    visitor: Visitor | None = None,
    webhook_secret: str | None = None,
    secret_in_query: bool = False,
    reply_timeout: float = 30.0,
    settle: float = 0.5,
    stop_on_failure: bool = True,
    http: httpx.AsyncClient | None = None,
) -> list[Exchange]:
    """Say each line to the service and collect the bot's answers.

    For every line: POST the webhook, wait up to ``reply_timeout`` seconds for the first
    delivered ``send``/``finish`` with the visitor's token, then keep collecting until a
    ``finish`` arrives or a quiet window passes without another call (a reply is often followed
    by a finish when the bot hands over). The window is ``settle`` seconds, or as long as the
    first answer took when that was longer (at most ``MAX_SETTLE_SECONDS``). A webhook that
    fails or a reply that does not come ends the script (unless ``stop_on_failure`` is false);
    the failing exchange carries ``error``.
    """
    who = visitor if visitor is not None else Visitor.new()
    sim_state.register_token(who.token)
    url = webhook_url(service_url)
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    if webhook_secret is not None:
        if secret_in_query:
            params[SECRET_QUERY_PARAM] = webhook_secret
        else:
            headers[SECRET_HEADER] = webhook_secret

    owns_http = http is None
    client = http if http is not None else httpx.AsyncClient(timeout=httpx.Timeout(10.0))
    exchanges: list[Exchange] = []
    try:
        for index, line in enumerate(lines):
            message_id = who.first_message_id + index
            exchange = await _say(
                client,
                url,
                headers,
                params,
                sim_state,
                who,
                line,
                message_id,
                reply_timeout=reply_timeout,
                settle=settle,
            )
            exchanges.append(exchange)
            if exchange.error is not None and stop_on_failure:
                break
    finally:
        if owns_http:
            await client.aclose()
    return exchanges


async def _say(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    params: dict[str, str],
    sim_state: SimulatorState,
    who: Visitor,
    line: str,
    message_id: int,
    *,
    reply_timeout: float,
    settle: float,
) -> Exchange:
    since = sim_state.last_seq
    sim_state.record_visitor(who.token, line)
    started = time.monotonic()
    try:
        response = await client.post(
            url,
            json=build_webhook_body(who, line, message_id),
            headers=headers,
            params=params,
        )
    except httpx.HTTPError as exc:
        return Exchange(
            line,
            message_id,
            None,
            error=f"could not deliver the webhook to {url}: {type(exc).__name__}: {exc}",
        )
    if not response.is_success:
        return Exchange(
            line,
            message_id,
            response.status_code,
            error=f"the webhook answered HTTP {response.status_code}: {response.text[:300]}",
        )

    def answers(calls: Sequence[SimCall]) -> list[SimCall] | None:
        found = _answers_since(calls, who.token, since)
        return found or None

    try:
        found = await sim_state.wait_for(
            answers, reply_timeout, description=f"the bot's answer to {line!r}"
        )
    except SimulatorTimeout:
        return Exchange(
            line,
            message_id,
            response.status_code,
            typing=_typed_since(sim_state.calls, who.token, since),
            error=f"no answer within {reply_timeout:g}s",
        )
    seconds = time.monotonic() - started
    # Follow-ups (a finish after the reply) come about as quickly as the first answer did: on a
    # busy machine or a slow link every call is slower, so the quiet window grows with it.
    if settle > 0:
        settle = min(max(settle, seconds), MAX_SETTLE_SECONDS)

    while settle > 0 and not any(call.method == METHOD_FINISH for call in found):
        latest = found[-1].seq

        def more(calls: Sequence[SimCall], latest: int = latest) -> list[SimCall] | None:
            newer = _answers_since(calls, who.token, since)
            return newer if newer and newer[-1].seq > latest else None

        try:
            found = await sim_state.wait_for(more, settle, description="further answers")
        except SimulatorTimeout:
            break

    finish = next((call.code for call in found if call.method == METHOD_FINISH), None)
    return Exchange(
        line,
        message_id,
        response.status_code,
        replies=tuple(call.text for call in found if call.text is not None),
        finish_code=finish,
        typing=_typed_since(sim_state.calls, who.token, since),
        seconds=seconds,
        calls=tuple(found),
    )


def _answers_since(calls: Sequence[SimCall], token: str, since: int) -> list[SimCall]:
    return [
        call
        for call in calls
        if call.seq > since
        and call.token == token
        and call.delivered
        and call.method in (METHOD_SEND, METHOD_FINISH)
    ]


def _typed_since(calls: Sequence[SimCall], token: str, since: int) -> bool:
    return any(
        call.seq > since
        and call.token == token
        and call.delivered
        and call.method == METHOD_SIMULATE_TYPING
        for call in calls
    )
