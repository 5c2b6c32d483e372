"""Debian's Chromium driven by Playwright, for specs of the owner's console.

Playwright never downloads a browser here: it launches /usr/bin/chromium with flags that keep it
off the network. Without Chromium the specs skip, except in CI, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; fail in CI."""
    if CHROMIUM.exists():
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium for the duration of the block."""
    require_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class WatchedPage:
    """A page that remembers every console error and uncaught exception it saw."""

    page: Page
    errors: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, browser: Browser, **context_options: object) -> WatchedPage:
        """A new page in a fresh context (its own cookies)."""
        context = await browser.new_context(**context_options)  # type: ignore[arg-type]
        page = await context.new_page()
        watched = cls(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                watched.errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: watched.errors.append(str(error)))
        return watched

    async def sign_in(self, base_url: str, token: str) -> None:
        """Sign in through the form, as the owner would."""
        await self.page.goto(base_url + "/console")
        await self.page.get_by_test_id("login-token").fill(token)
        await self.page.get_by_test_id("login-submit").click()
        await self.page.get_by_test_id("nav-overview").wait_for()
