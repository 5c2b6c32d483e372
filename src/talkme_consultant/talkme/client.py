"""A thin, precise wire client for TalkMe's custom-bot API.

Every call is ``POST {base}/{method}`` with the dialogue's token in the ``X-Token`` header and a
JSON body; TalkMe answers ``{"success": true, "result": …}`` or
``{"success": false, "error": {"code": int, "descr": str}}``.

The client makes exactly one attempt per call. Retrying belongs to the durable outbox, which
owns backoff, attempt limits and what to do with a message that can never be delivered; the
client's job is to say precisely what happened:

* success → :class:`TalkMeResult`;
* anything else → :class:`TalkMeError` with ``retryable`` set:

  - retryable: network errors, timeouts, dropped connections, HTTP 5xx, 408 and 429, a 2xx
    answer we cannot read, and ``success: false`` — TalkMe's error codes are not documented,
    so an application error may well be temporary;
  - permanent: any other HTTP status (400, 401, 403, 404, redirects…) and a token that cannot
    be sent as a header at all.

A timeout or a dropped connection after the request was sent may still have been delivered;
TalkMe offers no idempotency key, so the caller must accept an occasional duplicate.

The token never appears in an exception message or a log line; see :func:`mask_token`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from talkme_consultant.talkme.calls import (
    METHOD_FINISH,
    METHOD_SEND,
    METHOD_SIMULATE_TYPING,
    BotCall,
    finish_call,
    send_call,
    typing_call,
)
from talkme_consultant.talkme.payloads import mask_token

if TYPE_CHECKING:
    from talkme_consultant.config import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT_SECONDS",
    "METHOD_FINISH",
    "METHOD_SEND",
    "METHOD_SIMULATE_TYPING",
    "TalkMeClient",
    "TalkMeError",
    "TalkMeResult",
]

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://lcab.talk-me.ru/json/v1.0"
DEFAULT_TIMEOUT_SECONDS = 10.0

# 408 and 429 say "not now", not "never"; every other 4xx means the request itself is wrong.
_RETRYABLE_4XX = frozenset({408, 429})
_SNIPPET_CHARS = 200


@dataclass(frozen=True, slots=True)
class TalkMeResult:
    """A successful call: the API method, the HTTP status and TalkMe's ``result`` value."""

    method: str
    status: int
    result: Any


class TalkMeError(Exception):
    """A call that did not succeed.

    ``retryable`` tells the outbox whether trying again later can help. ``status`` is the HTTP
    status (None when no answer arrived), ``code``/``descr`` come from TalkMe's error envelope
    when it sent one (``descr`` otherwise describes what went wrong), ``retry_after`` is the
    server's ``Retry-After`` in seconds when given. The message never contains the token.
    """

    def __init__(
        self,
        retryable: bool,
        status: int | None,
        code: int | None,
        descr: str,
        *,
        method: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retryable = retryable
        self.status = status
        self.code = code
        self.descr = descr
        self.method = method
        self.retry_after = retry_after
        super().__init__(self._describe())

    def _describe(self) -> str:
        kind = "retryable" if self.retryable else "permanent"
        parts = [f"TalkMe {self.method or 'call'} failed ({kind})"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        return ", ".join(parts) + f": {self.descr}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the exception picklable (multiprocessing, some log handlers) despite keyword args.
        return (
            _rebuild_error,
            (self.retryable, self.status, self.code, self.descr, self.method, self.retry_after),
        )


def _rebuild_error(
    retryable: bool,
    status: int | None,
    code: int | None,
    descr: str,
    method: str | None,
    retry_after: float | None,
) -> TalkMeError:
    return TalkMeError(retryable, status, code, descr, method=method, retry_after=retry_after)


class TalkMeClient:
    """Async client for ``customBot/*`` over an ``httpx.AsyncClient``.

    Pass ``http`` to share a connection pool (the caller then closes it); otherwise the client
    owns one and closes it in :meth:`aclose` / ``async with``. Every request carries an explicit
    timeout (``timeout`` seconds, or an ``httpx.Timeout``), whatever the pool's default.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=self._timeout)

    @classmethod
    def from_settings(cls, settings: Settings, *, http: httpx.AsyncClient | None = None) -> Self:
        """A client for ``TALKME_API_URL`` with ``TALKME_TIMEOUT_SECONDS``."""
        return cls(settings.talkme_api_url, http=http, timeout=settings.talkme_timeout_seconds)

    @property
    def base_url(self) -> str:
        """The API base URL, without a trailing slash."""
        return self._base_url

    async def aclose(self) -> None:
        """Close the HTTP pool if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def send_text(self, token: str, text: str) -> TalkMeResult:
        """Send a text message to the visitor of the dialogue ``token`` authorises."""
        return await self.make(token, send_call(text))

    async def simulate_typing(self, token: str, ttl: int) -> TalkMeResult:
        """Show the visitor "typing…" for ``ttl`` seconds."""
        return await self.make(token, typing_call(ttl))

    async def finish(self, token: str, code: str) -> TalkMeResult:
        """End the bot's part of the dialogue with a finish ``code`` the TalkMe scenario maps
        to an action (hand over to an operator, lead form…)."""
        return await self.make(token, finish_call(code))

    async def make(self, token: str, call: BotCall) -> TalkMeResult:
        """Make one prepared call (see :mod:`talkme_consultant.talkme.calls`)."""
        return await self.call(call.method, token, call.body)

    async def call(self, method: str, token: str, body: dict[str, Any]) -> TalkMeResult:
        """POST ``body`` to ``{base}/{method}`` with ``X-Token``; one attempt, no retries.

        Returns the result on ``success: true``; raises :class:`TalkMeError` otherwise.
        """
        method = method.strip("/")
        if not _is_header_safe(token):
            raise TalkMeError(
                False,
                None,
                None,
                f"token {mask_token(token)} is empty or not a valid HTTP header value",
                method=method,
            )
        url = f"{self._base_url}/{method}"
        try:
            response = await self._http.post(
                url,
                json=body,
                headers={"X-Token": token, "Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise TalkMeError(
                True, None, None, f"timed out ({type(exc).__name__})", method=method
            ) from exc
        except httpx.TransportError as exc:
            detail = _scrub(str(exc), token) or "no details"
            raise TalkMeError(
                True, None, None, f"network error ({type(exc).__name__}: {detail})", method=method
            ) from exc
        result = _interpret(method, token, response)
        logger.debug(
            "talkme %s token=%s -> HTTP %s ok", method, mask_token(token), response.status_code
        )
        return result


def _interpret(method: str, token: str, response: httpx.Response) -> TalkMeResult:
    status = response.status_code
    envelope = _json_object(response)
    code, descr = _error_fields(envelope, token)
    retry_after = _retry_after(response)

    if 200 <= status < 300:
        if envelope is None or not isinstance(envelope.get("success"), bool):
            snippet = _scrub(response.text[:_SNIPPET_CHARS], token)
            raise TalkMeError(True, status, None, f"unreadable answer: {snippet!r}", method=method)
        if envelope["success"]:
            return TalkMeResult(method=method, status=status, result=envelope.get("result"))
        raise TalkMeError(
            True, status, code, descr or "success: false without a description", method=method
        )

    retryable = status >= 500 or status in _RETRYABLE_4XX
    if not descr:
        snippet = _scrub(response.text[:_SNIPPET_CHARS], token).strip()
        descr = f"{response.reason_phrase or 'HTTP error'}" + (f": {snippet}" if snippet else "")
    raise TalkMeError(retryable, status, code, descr, method=method, retry_after=retry_after)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _error_fields(envelope: dict[str, Any] | None, token: str) -> tuple[int | None, str]:
    if envelope is None:
        return None, ""
    error = envelope.get("error")
    if not isinstance(error, dict):
        return None, ""
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    raw_descr = error.get("descr")
    descr = _scrub(str(raw_descr), token) if raw_descr is not None else ""
    return code, descr


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # An HTTP date; rare enough that the outbox's own backoff is good enough.
    return seconds if seconds >= 0 else None


def _scrub(text: str, token: str) -> str:
    # TalkMe (or a proxy) may echo the token back, e.g. "token … not found"; never pass it on.
    return text.replace(token, mask_token(token)) if token else text


def _is_header_safe(token: str) -> bool:
    return bool(token) and token.isascii() and token.isprintable() and token.strip() == token
