"""The owner's console from a plain HTTP client: the CSRF token a page carries, and a client
that went through the sign-in form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.support.service import ADMIN_TOKEN, RunningService


def csrf_of(page: str) -> str:
    """The CSRF token a console page carries."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "every console page carries its CSRF token"
    return found.group(1)


@asynccontextmanager
async def signed_in_client(service: RunningService) -> AsyncIterator[httpx.AsyncClient]:
    """A client that went through the sign-in form."""
    async with signed_in_at(service.url, ADMIN_TOKEN) as client:
        yield client


@asynccontextmanager
async def signed_in_at(url: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in, through the form, to the console of the service at `url`."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        form = await client.get("/console/login")
        answer = await client.post(
            "/console/login", data={"csrf": csrf_of(form.text), "token": token}
        )
        # Before TalkMe's first message the owner is sent to the connection page first.
        assert answer.status_code == 303
        assert answer.headers["location"] in {"/console", "/console/connection"}
        yield client
