"""Puts the console into the app: its routers, static files, headers and sign-in redirect."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from talkme_consultant.web.console import (
    connection,
    conversations,
    knowledge,
    leads,
    overview,
    owner_faq_page,
    phrasings,
    questions,
    settings_page,
    signin,
)
from talkme_consultant.web.console.base import SignInRequired, sign_in_answer
from talkme_consultant.web.console.headers import ConsoleSecurityHeaders
from talkme_consultant.web.console.state import STATIC_DIR


def install_console(app: FastAPI) -> None:
    """Mount the console at /console; `GET /` leads there."""
    app.add_middleware(ConsoleSecurityHeaders)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    for module in (
        signin,
        overview,
        conversations,
        owner_faq_page,
        phrasings,
        knowledge,
        leads,
        questions,
        settings_page,
        connection,
    ):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console", status_code=307)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, _: SignInRequired) -> Response:
        return sign_in_answer(request)
