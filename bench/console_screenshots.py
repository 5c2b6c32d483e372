"""Screenshots of every console page for the README, into docs/screenshots/ (PNG).

    .venv/bin/python bench/console_screenshots.py

Not a benchmark (bench/run_all.py skips it). A throwaway store is seeded with the console
bench's synthetic month (300 conversations), then the real app (offline answerer, the local
embedder, as a real install has it, and the sample knowledge base) answers two real webhooks, so
one transcript shows a real answer with its price and citations.
Debian's Chromium (/usr/bin/chromium, driven by Playwright, never downloaded) signs in through
the form and photographs every page twice, on a desktop's 1280x900 (`name.png`) and on a phone's
390x844 (`name-phone.png`): the sign-in form, the overview, the conversations, a transcript, open
questions (once more with the record search of its first group), the knowledge base, the leads,
the settings, the playground's answer and the connection page. The connection page is
photographed whole with its two checks pressed, as the owner would reach it through an HTTPS
proxy at bot.salon.example (the requests carry that proxy's headers). Last, a newer price list
that disagrees with the sample's is uploaded, and the knowledge page's conflict is photographed
on both screens.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, Route, async_playwright

from console_bench import ADMIN_TOKEN, seed
from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.helpers.serving import serve_app
from talkme_consultant.store.store import Store
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from talkme_consultant.web.app import create_app

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
# A made-up secret and public address, so the connection page shows what the owner would see.
WEBHOOK_SECRET = "3f9c2a7e5b1d4c8a"
PUBLIC_HOST = "bot.salon.example"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def talk(url: str) -> str:
    """Two real conversations through the webhook; returns the first visitor's key."""
    olga = Visitor.new(name="Ольга")
    igor = Visitor.new(name="Игорь")
    async with httpx.AsyncClient(timeout=30) as http:
        for visitor, text in (
            (olga, "Сколько стоит маникюр с покрытием?"),
            (igor, "Какой курс биткоина сегодня?"),
        ):
            body = build_webhook_body(visitor, text, 1)
            secret = {"X-Webhook-Secret": WEBHOOK_SECRET}
            (await http.post(webhook_url(url), json=body, headers=secret)).raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = (
                await http.get(
                    url + "/webhook/talkme/stats",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                )
            ).json()
            if stats["messages_pending"] == 0:
                break
            await asyncio.sleep(0.2)
    return olga.client_id


async def shoot(page: Page, name: str) -> None:
    await page.screenshot(path=str(OUT / f"{name}.png"))
    print("wrote", OUT / f"{name}.png")


async def through_the_proxy(route: Route) -> None:
    """What an HTTPS proxy at PUBLIC_HOST would forward."""
    headers = {**route.request.headers, "host": PUBLIC_HOST, "x-forwarded-proto": "https"}
    # Chromium keeps its own Host on a continued request; Playwright's fetch sends ours.
    await route.fulfill(response=await route.fetch(headers=headers))


async def shoot_connection(page: Page, url: str, name: str) -> None:
    """The connection page, whole, with both checks answered."""
    await page.route(url + "/console/connection**", through_the_proxy)
    await page.goto(url + "/console/connection")
    for check in ("account", "model"):
        await page.get_by_test_id(f"{check}-check-button").click()
        await page.get_by_test_id(f"{check}-check-result").wait_for()
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print("wrote", OUT / f"{name}.png")


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Each page on both screens: the desktop's picture is `name.png`, the phone's `name-phone.png`.
SCREENS = (("", DESKTOP), ("-phone", PHONE))


async def signed_in_page(
    browser: Browser, url: str, viewport: dict[str, int], login_shot: str | None = None
) -> Page:
    """A fresh page at `viewport`, signed in through the form (photographed as `login_shot`)."""
    context = await browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
    )
    page = await context.new_page()
    await page.goto(url + "/console/login")
    if login_shot is not None:
        await shoot(page, login_shot)
    await page.get_by_test_id("login-token").fill(ADMIN_TOKEN)
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("nav-overview").wait_for()
    return page


async def photograph_pages(page: Page, url: str, transcript_key: str, suffix: str) -> None:
    """Every console page on one screen, the connection page last (its requests go through
    the proxy from then on)."""
    # A week on a phone's narrow chart, a month on a desktop's.
    await page.goto(url + ("/console?period=7" if suffix else "/console?period=30"))
    await page.locator("#daily-chart canvas").wait_for()
    await shoot(page, f"overview{suffix}")
    for name, path in (
        ("conversations", "/console/conversations"),
        ("transcript", f"/console/conversations/{transcript_key}"),
        ("questions", "/console/questions"),
        ("knowledge", "/console/knowledge"),
        ("leads", "/console/leads"),
        ("settings", "/console/settings"),
    ):
        await page.goto(url + path)
        await shoot(page, f"{name}{suffix}")
    await page.goto(url + "/console/questions")
    first = page.get_by_test_id("question-group").first
    await first.get_by_test_id("question-link-search").fill("Можно ли оплатить картой?")
    await first.get_by_test_id("question-link-hit").first.wait_for()
    await first.scroll_into_view_if_needed()
    await shoot(page, f"questions-link{suffix}")
    await page.goto(url + "/console/knowledge/playground")
    await page.get_by_test_id("playground-input").fill("Сколько стоит маникюр с покрытием?")
    await page.get_by_test_id("playground-submit").click()
    await page.get_by_test_id("playground-reply").wait_for()
    await page.get_by_test_id("playground-reply").scroll_into_view_if_needed()
    await shoot(page, f"playground{suffix}")
    await shoot_connection(page, url, f"connection{suffix}")


async def photograph(url: str, transcript_key: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        for suffix, viewport in SCREENS:
            page = await signed_in_page(browser, url, viewport, f"login{suffix}")
            await photograph_pages(page, url, transcript_key, suffix)
            await page.context.close()
        await browser.close()


# A newer price for a service the sample's prices.xlsx lists at 1800.
CONFLICTING_PRICES = "Услуга;Цена, руб.\nКамуфляж седины для мужчин;1500\n".encode()


async def photograph_conflict(url: str) -> None:
    """Upload a price list that disagrees with the sample, wait for it to be served and
    photograph the knowledge page's conflict on a desktop and a phone."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(timeout=60) as http:
        files = [("files", ("прайс-2026.csv", CONFLICTING_PRICES, "text/csv"))]
        upload = await http.post(url + "/files/upload", files=files, headers=admin)
        upload.raise_for_status()
        version = upload.json()["version"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = (await http.get(url + "/knowledge-base/status", headers=admin)).json()
            if status["version"] >= version and not status["rebuilding"]:
                break
            await asyncio.sleep(0.2)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        for suffix, viewport in SCREENS:
            page = await signed_in_page(browser, url, viewport)
            await page.goto(url + "/console/knowledge#conflicts")
            await page.get_by_test_id("kb-conflict").first.scroll_into_view_if_needed()
            await shoot(page, f"knowledge-conflicts{suffix}")
            await page.context.close()
        await browser.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder) / "data",
            knowledge_dir=SAMPLE_KNOWLEDGE_DIR,
            admin_token=ADMIN_TOKEN,
            talkme_test_mode=True,
            webhook_secret=WEBHOOK_SECRET,
            trusted_proxies="127.0.0.1",
            log_level="WARNING",
        )
        store = await Store.open(settings.resolved_database_url)
        await seed(store, 300, time.time())
        await store.close()
        app = create_app(settings)
        async with (
            app.router.lifespan_context(app),
            serve_app(app, "127.0.0.1", 0, forwarded_allow_ips=settings.trusted_proxy_list) as url,
        ):
            key = await talk(url)
            await photograph(url, key)
            await photograph_conflict(url)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
