"""Records that disagree, as the owner meets them in a real browser on a desktop and a phone:
the knowledge page lists the conflict with the price the bot uses, the playground says its
answer had a rival, and one confirmed click deletes the older file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from tests.support.browser import WatchedPage, chromium
from tests.support.eventually import eventually
from tests.support.service import ADMIN_TOKEN, RunningService, running_service, service_settings

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
QUESTION = "Сколько стоит камуфляж седины для мужчин?"
# The sample's prices.xlsx says 1800 for this service.
NEW_PRICES = "Услуга;Цена, руб.\nКамуфляж седины для мужчин;1500\n".encode()
SCREENS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched


async def rebuilt(service: RunningService, files: int | None = None) -> dict[str, Any]:
    """The status once no rebuild runs and the served version is the stored one."""

    async def current() -> dict[str, Any] | None:
        now: dict[str, Any] = await service.admin_get("/knowledge-base/status")
        settled = not now["rebuilding"] and now["version"] == now["stored_version"]
        return now if settled and (files is None or now["files"] == files) else None

    return await eventually(current, timeout=60, what="the rebuilt index")


async def fits_the_screen(page: Page, width: int) -> None:
    """Nothing on the page makes the owner scroll sideways."""
    assert await page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("screen", SCREENS)
async def test_a_conflicting_price_is_shown_and_the_older_file_deleted_in_one_click(
    data_dir: Path, browser: Browser, screen: str
) -> None:
    viewport = SCREENS[screen]
    async with running_service(service_settings(data_dir, None)) as service:
        upload = await service.http.post(
            service.url + "/files/upload",
            files=[("files", ("прайс-2026.csv", NEW_PRICES, "text/csv"))],
            headers=ADMIN,
        )
        assert upload.status_code == 200, upload.text
        before = await rebuilt(service)

        watched = await WatchedPage.open(browser, viewport=viewport)
        page = watched.page
        await watched.sign_in(service.url, ADMIN_TOKEN)
        await page.goto(service.url + "/console/knowledge")

        conflict = page.get_by_test_id("kb-conflict")
        await expect(conflict).to_have_count(1)
        await expect(conflict.get_by_test_id("kb-conflict-subject")).to_have_text(
            "Камуфляж седины для мужчин"
        )
        await expect(conflict).to_contain_text("разная цена")
        used = conflict.get_by_test_id("kb-conflict-used")
        await expect(used).to_contain_text("бот отвечает так")
        await expect(used).to_contain_text("1 500 ₽")
        await expect(used).to_contain_text("прайс-2026.csv")
        rival = conflict.get_by_test_id("kb-conflict-rival")
        await expect(rival).to_contain_text("1 800 ₽")
        await expect(rival).to_contain_text("prices.xlsx")
        await expect(rival).to_contain_text("Удалит файл prices.xlsx целиком")
        delete = rival.get_by_test_id("kb-conflict-delete")
        await expect(delete).to_have_text("Удалить файл prices.xlsx")
        await delete.scroll_into_view_if_needed()
        box = await delete.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        await fits_the_screen(page, viewport["width"])
        await page.screenshot(path=str(data_dir / f"conflicts-{screen}.png"), full_page=True)

        await page.goto(service.url + "/console/knowledge/playground")
        await page.get_by_test_id("playground-input").fill(QUESTION)
        await page.get_by_test_id("playground-submit").click()
        await expect(page.get_by_test_id("playground-reply")).to_contain_text("1 500 ₽")
        await expect(page.get_by_test_id("playground-rival")).to_contain_text(
            "В базе есть другая цена: 1 800 ₽ в prices.xlsx — бот использует более новую"
        )
        await fits_the_screen(page, viewport["width"])

        asked: list[str] = []

        async def accept(dialog: Dialog) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        page.on("dialog", accept)
        await page.goto(service.url + "/console/knowledge")
        async with page.expect_navigation():
            await page.get_by_test_id("kb-conflict-delete").click()
        assert asked and "prices.xlsx целиком" in asked[0]
        await rebuilt(service, files=before["files"] - 1)
        await page.reload()
        await expect(page.get_by_test_id("kb-conflict")).to_have_count(0)
        await expect(page.get_by_test_id("kb-file").filter(has_text="prices.xlsx")).to_have_count(0)
        assert watched.errors == []
