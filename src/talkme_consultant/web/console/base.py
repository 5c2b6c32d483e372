"""What every console page shares: the sign-in and CSRF checks, and rendering."""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from datetime import datetime, tzinfo
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from talkme_consultant.web.console.session import (
    COOKIE_NAME,
    CSRF_FIELD,
    CSRF_HEADER,
    ConsoleSession,
    decode,
)
from talkme_consultant.web.deps import web_state
from talkme_consultant.web.webhook_access import WebhookAccess, webhook_access

LOGIN_PATH = "/console/login"
# A model outage within this many seconds shows a banner on every page.
OUTAGE_BANNER_SECONDS = 24 * 3600


class SignInRequired(Exception):
    """The request has no signed-in session: the browser is sent to the sign-in page."""


async def current_session(request: Request) -> ConsoleSession | None:
    """The session from the cookie, signed in or not; None without a valid cookie. A signed-in
    session counts only while the store keeps it: signed out on any device or process, the
    cookie (and every copy of it) is an anonymous session again."""
    state = web_state(request)
    session = decode(request.cookies.get(COOKIE_NAME), state.console.key)
    if session is None or session.sid is None:
        return session
    if await state.runtime.store.console.session_alive(session.sid, time.time()):
        return session
    return session.model_copy(update={"sid": None})


async def signed_in_session(request: Request) -> ConsoleSession | None:
    """The session when the cookie is a signed-in one the store still keeps; None otherwise.

    The one check of a console session: the routes' dependency and the early check of
    web/body_gate.py, which looks before a request's body is read, both use it.
    """
    session = await current_session(request)
    return session if session is not None and session.signed_in else None


async def signed_in(request: Request) -> ConsoleSession:
    """FastAPI dependency: the signed-in session, or off to the sign-in page."""
    session = await signed_in_session(request)
    if session is None:
        raise SignInRequired
    return session


def sign_in_answer(request: Request) -> Response:
    """What a request without a signed-in session gets: a page request is sent to sign-in, an
    htmx request is told to load it, anything else is a 401."""
    if request.headers.get("hx-request"):
        # htmx swaps responses into the page; this header makes it load the sign-in page.
        return Response(status_code=401, headers={"HX-Redirect": LOGIN_PATH})
    if request.method == "GET":
        return RedirectResponse(LOGIN_PATH, status_code=303)
    return Response(
        "Нужно войти в консоль заново.", status_code=401, media_type="text/plain; charset=utf-8"
    )


async def check_csrf(request: Request, session: ConsoleSession) -> None:
    """403 unless the request carries the session's CSRF token (header or form field)."""
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        value = (await request.form()).get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not supplied or not hmac.compare_digest(supplied.encode(), session.csrf.encode()):
        raise HTTPException(
            status_code=403,
            detail="Форма устарела или пришла не из консоли: обновите страницу и повторите.",
        )


async def signed_in_with_csrf(request: Request) -> ConsoleSession:
    """FastAPI dependency for every state-changing console request."""
    session = await signed_in(request)
    await check_csrf(request, session)
    return session


# What a page route takes: the signed-in session; a state-changing route also checks CSRF.
SignedIn = Annotated[ConsoleSession, Depends(signed_in)]
SignedInWithCsrf = Annotated[ConsoleSession, Depends(signed_in_with_csrf)]


def pagination(total: int, page: int, size: int) -> dict[str, int]:
    """What a paged list's template needs: the total, this page and how many pages there are."""
    return {"total": total, "page": page, "pages": max(1, math.ceil(total / size))}


def local_time(value: float | None, zone: tzinfo) -> str:
    """A UNIX time as the business reads it: «29.11.2026 14:05»."""
    if value is None:
        return "—"
    return datetime.fromtimestamp(value, zone).strftime("%d.%m.%Y %H:%M")


def render(
    request: Request,
    session: ConsoleSession | None,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    page: str | None = None,
) -> HTMLResponse:
    """Render a console template with what every page needs (CSRF token, nav, banners)."""
    state = web_state(request)
    runtime = state.runtime
    zone = runtime.profile.zone()
    settings = runtime.settings
    last_outage = runtime.metrics.last_llm_outage
    banners: list[str] = []
    if session is not None and session.signed_in:
        if settings.talkme_test_mode:
            banners.append(
                "Тестовый режим: ответы не уходят в TalkMe, они только записываются "
                "(его выключают в настройках сервера)."
            )
        if not settings.talkme_test_mode and webhook_access(settings) is WebhookAccess.OPEN:
            banners.append(
                "Адрес, на который TalkMe присылает сообщения, не защищён секретом: любой, "
                "кто его знает, может писать от имени посетителей."
            )
        if last_outage is not None and time.time() - last_outage < OUTAGE_BANNER_SECONDS:
            banners.append(
                "Языковая модель недавно была недоступна — бот отвечал по базе знаний без неё. "
                f"Последний сбой: {local_time(last_outage, zone)}."
            )
    response: HTMLResponse = state.console.templates.TemplateResponse(
        request,
        template,
        {
            "csrf": session.csrf if session else "",
            "signed_in": bool(session and session.signed_in),
            "page": page,
            "banners": banners,
            "business": runtime.profile.name,
            "when": lambda value: local_time(value, zone),
            **context,
        },
        status_code=status_code,
    )
    return response


async def render_in_thread(
    request: Request,
    session: ConsoleSession | None,
    template: str,
    context: dict[str, Any],
    *,
    page: str | None = None,
) -> HTMLResponse:
    """`render` in a worker thread, for a page long enough to hold the event loop (and with it
    the webhook and the health check) for tens of milliseconds while it is drawn."""
    return await asyncio.to_thread(render, request, session, template, context, page=page)
