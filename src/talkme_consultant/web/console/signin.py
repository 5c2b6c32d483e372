"""Signing in with the admin token, and out again."""

from __future__ import annotations

import hmac
import logging
import math
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from talkme_consultant.web.console.base import (
    SignedInWithCsrf,
    check_csrf,
    current_session,
    render,
)
from talkme_consultant.web.console.session import (
    SESSION_SECONDS,
    clear_cookie,
    new_session,
    set_cookie,
)
from talkme_consultant.web.deps import AdminTokenDep, ConsoleDep, StoreDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console", include_in_schema=False)

CONNECTION_PATH = "/console/connection"


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, state: ConsoleDep) -> Response:
    """The sign-in form; a signed-in owner goes straight to the overview."""
    session = await current_session(request)
    if session is not None and session.signed_in:
        return RedirectResponse("/console", status_code=303)
    fresh = session or new_session(signed_in=False)
    response = render(request, fresh, "login.html", {"error": None})
    set_cookie(response, request, fresh, state.key)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request, state: ConsoleDep, expected: AdminTokenDep, store: StoreDep
) -> Response:
    """Check the token; failures are counted per client address (uvicorn's, see
    TRUSTED_PROXIES) and for everyone together, and throttled with 429."""
    client = request.client.host if request.client else "unknown"
    now = time.monotonic()
    session = await current_session(request) or new_session(signed_in=False)
    wait = state.throttle.retry_after(client, now)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        response = render(
            request,
            session,
            "login.html",
            {
                "error": "Слишком много неудачных попыток входа. "
                f"Попробуйте снова через {minutes} мин."
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    await check_csrf(request, session)
    form = await request.form()
    supplied = form.get("token")
    if not isinstance(supplied, str) or not hmac.compare_digest(
        supplied.strip().encode(), expected.encode()
    ):
        state.throttle.failed(client, now)
        log.warning("console sign-in refused: wrong admin token")
        return render(
            request,
            session,
            "login.html",
            {"error": "Ключ не подошёл. Проверьте, что скопировали его целиком."},
            status_code=401,
        )
    state.throttle.succeeded(client)
    # A new session (and CSRF token) on sign-in: a token planted before cannot be reused.
    signed = new_session(signed_in=True)
    assert signed.sid is not None
    await store.console.start_session(signed.sid, time.time(), SESSION_SECONDS)
    if session.sid is not None:
        # Signing in again over a live session replaces it rather than leaving it behind.
        await store.console.end_session(session.sid)
    # Until TalkMe has sent a message, what the owner needs first is how to connect it.
    first_stop = "/console" if await store.browse.any_conversation() else CONNECTION_PATH
    redirect = RedirectResponse(first_stop, status_code=303)
    set_cookie(redirect, request, signed, state.key)
    return redirect


@router.post("/logout")
async def logout(request: Request, session: SignedInWithCsrf, store: StoreDep) -> RedirectResponse:
    """End the session in the store, for this browser and any copy of its cookie, and forget
    it in the browser."""
    assert session.sid is not None
    await store.console.end_session(session.sid)
    response = RedirectResponse("/console/login", status_code=303)
    clear_cookie(response, request)
    return response
