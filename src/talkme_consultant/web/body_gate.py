"""Who may send a body, and how large: decided from the headers, before a byte of it is read.

FastAPI reads a route's body (JSON, a form, a multipart upload spooled to disk) before the route's
dependencies run, so the admin token and the console's session used to be checked only after the
body had been read whole: 30 MB of JSON to `POST /admin/owner-faq` without a token grew the
server's memory by about 90 MB before its 401. This plain ASGI middleware stands in front of every
route and looks at nothing but the request's headers:

- **Credentials first.** A request that carries a body needs them, except at the two public
  doors: the TalkMe webhook (its route checks its secret and its 64 KiB limit, also before
  reading) and the console's sign-in form (how a session is got). Under `/console` that is a
  signed-in session cookie, anywhere else the admin token — checked by the very functions the
  routes use (`console.base.signed_in_session`, `auth.bearer_matches`), which still check
  them. Without them the answer is the one the route would give (the console's sign-in answer,
  the admin API's 401), at once. Deny by default: a new route that takes a body is covered
  without anyone remembering to list it. A request without a body is left to its route (a
  console page sends a browser to sign-in, which a 401 here would not).
- **Then the size.** Every body is limited: MAX_REQUEST_BYTES, which sits above
  UPLOAD_MAX_REQUEST_BYTES so an upload meets its own limit, naming it, first; the sign-in form
  to `SIGN_IN_MAX_BYTES`. A declared length over the limit is answered 413 at once; a body sent
  without one (chunked) is counted as the route reads it and ends in 413 where it crosses.

`CloseAfterEarlyAnswer` (`early_answers.py`), outside this one, then closes the connection instead
of reading the rest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from talkme_consultant.talkme.payloads import WEBHOOK_PATH
from talkme_consultant.web.auth import ADMIN_TOKEN_REQUIRED, BEARER_CHALLENGE, bearer_matches
from talkme_consultant.web.console.base import LOGIN_PATH, sign_in_answer, signed_in_session
from talkme_consultant.web.deps import web_state
from talkme_consultant.web.schemas import ErrorAnswer

CONSOLE_PREFIX = "/console"
# The sign-in form is a CSRF token and the admin token: a few hundred bytes.
SIGN_IN_MAX_BYTES = 16 * 1024


class Credentials(enum.Enum):
    """What a request must show before its body is read."""

    NONE = "none"
    SESSION = "session"
    """A signed-in console session."""
    TOKEN = "token"
    """The admin token."""


@dataclass(frozen=True)
class Door:
    """How requests to one part of the app are let in: credentials, body limit, the 413's words."""

    credentials: Credentials
    limit: int
    too_large: str

    async def admits(self, request: Request) -> bool:
        """True when the request shows the credentials this door asks for (its body unread)."""
        if self.credentials is Credentials.SESSION:
            return await signed_in_session(request) is not None
        if self.credentials is Credentials.TOKEN:
            expected = web_state(request).admin_token
            return bearer_matches(request.headers.get("authorization", ""), expected)
        return True

    def refusal(self, request: Request) -> Response:
        """The answer to a request without the credentials: what its route would answer."""
        if self.credentials is Credentials.SESSION:
            return sign_in_answer(request)
        return _error(401, ADMIN_TOKEN_REQUIRED, BEARER_CHALLENGE)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The app's error shape (as its exception handler writes it)."""
    return JSONResponse(
        ErrorAnswer(error=message).model_dump(mode="json"), status_code=status, headers=headers
    )


def _route_path(scope: Scope) -> str:
    """The path the router matches: behind a proxy's `--root-path`, without that prefix."""
    path = str(scope["path"])
    root = str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _declared(scope: Scope) -> tuple[bool, int | None]:
    """Whether the request carries a body, and its declared length (None when sent chunked)."""
    length: int | None = None
    chunked = False
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.strip().isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return chunked or bool(length), length


def _counted(receive: Receive, door: Door) -> Receive:
    """`receive`, counting the body's bytes: past the door's limit, the route's read ends in 413
    (the app's exception handler answers it; FastAPI passes an HTTPException from a body read)."""
    received = 0

    async def counting() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > door.limit:
            raise HTTPException(status_code=413, detail=door.too_large)
        return message

    return counting


class BodyGate:
    """ASGI middleware: credentials and the body's size, checked before the body is read."""

    def __init__(self, app: ASGIApp, *, max_request_bytes: int) -> None:
        self.app = app
        limit = max_request_bytes
        api_too_large = f"request body is larger than {limit} bytes (MAX_REQUEST_BYTES)"
        self.webhook = Door(Credentials.NONE, limit, api_too_large)
        self.sign_in = Door(
            Credentials.NONE,
            SIGN_IN_MAX_BYTES,
            f"Форма входа больше {SIGN_IN_MAX_BYTES} байт — такую сервис не принимает.",
        )
        self.console = Door(
            Credentials.SESSION,
            limit,
            f"Запрос больше {limit} байт (MAX_REQUEST_BYTES) — такой сервис не принимает. "
            "Загрузите файлы по частям.",
        )
        self.admin = Door(Credentials.TOKEN, limit, api_too_large)

    def door(self, path: str) -> Door:
        """The door a request to `path` comes in by: the public ones by their exact path, the
        console by its prefix, the admin API everywhere else."""
        if path == WEBHOOK_PATH:
            return self.webhook
        if path == LOGIN_PATH:
            return self.sign_in
        if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"):
            return self.console
        return self.admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse from the headers alone, or pass the request on with its body counted."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body, declared = _declared(scope)
        if not has_body:
            await self.app(scope, receive, send)
            return
        door = self.door(_route_path(scope))
        request = Request(scope)  # its headers and cookies only: it is given no way to read
        if not await door.admits(request):
            await door.refusal(request)(scope, receive, send)
            return
        if declared is not None and declared > door.limit:
            await _error(413, door.too_large)(scope, receive, send)
            return
        await self.app(scope, _counted(receive, door), send)
