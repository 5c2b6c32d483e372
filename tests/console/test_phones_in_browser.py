"""The owner calls a visitor back from where she reads: on a desktop and on a phone screen, the
conversation list, the transcript and the leads show the visitor's number whole, as a `tel:`
link to the number in one form; and she downloads both pages' lists for her spreadsheet (Debian
Chromium, against a running service whose conversations came through the TalkMe simulator)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.async_api import Browser, Locator, Page, expect

from tests.console.conftest import Seeded
from tests.support.browser import WatchedPage
from tests.support.service import ADMIN_TOKEN

pytestmark = pytest.mark.asyncio(loop_scope="module")

# The booker's number: in TalkMe's profile «+7 916 123-45-67», typed «8 916 123-45-67».
TEL = "tel:+79161234567"
SHOWN = "+7 916 123-45-67"
TYPED = "8 916 123-45-67"
SCREENS = [pytest.param(1280, 900, id="desktop"), pytest.param(390, 844, id="phone")]


async def within_screen(link: Locator, width: int) -> bool:
    """The link is shown and fits the screen's width: no sideways scrolling to reach it."""
    box = await link.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize(("width", "height"), SCREENS)
async def test_the_visitor_s_phone_is_whole_and_a_link_to_call_wherever_it_appears(
    seeded: Seeded, browser: Browser, width: int, height: int
) -> None:
    watched = await WatchedPage.open(browser, viewport={"width": width, "height": height})
    page = watched.page
    await watched.sign_in(seeded.service.url, ADMIN_TOKEN)

    await page.goto(seeded.service.url + "/console/conversations")
    row = page.get_by_test_id("conversation-row").filter(has_text="Анна")
    listed = row.get_by_test_id("phone-link")
    await expect(listed).to_have_text(SHOWN)
    await expect(listed).to_have_attribute("href", TEL)
    assert await within_screen(listed, width)
    assert "*" not in await page.locator("table.list").inner_text(), "nothing masked"

    await page.goto(f"{seeded.service.url}/console/conversations/{seeded.booker.client_id}")
    header = page.get_by_test_id("conversation-phone").get_by_test_id("phone-link")
    await expect(header).to_have_text(SHOWN)
    await expect(header).to_have_attribute("href", TEL)
    assert await within_screen(header, width)
    typed = page.get_by_test_id("transcript").get_by_test_id("phone-link").first
    await expect(typed).to_have_text(TYPED)
    await expect(typed).to_have_attribute("href", TEL)

    await page.goto(seeded.service.url + "/console/leads")
    lead = page.get_by_test_id("lead-row").get_by_test_id("phone-link").first
    await expect(lead).to_have_text(SHOWN)
    await expect(lead).to_have_attribute("href", TEL)
    assert watched.errors == []


async def download(page: Page, test_id: str) -> tuple[str, bytes]:
    """Click a download link; the file's suggested name and its bytes."""
    async with page.expect_download() as started:
        await page.get_by_test_id(test_id).click()
    done = await started.value
    path = await done.path()
    return done.suggested_filename, path.read_bytes()


@pytest.mark.parametrize(("width", "height"), SCREENS)
async def test_the_lists_download_as_xlsx_and_csv_from_their_pages(
    seeded: Seeded, browser: Browser, width: int, height: int
) -> None:
    watched = await WatchedPage.open(
        browser, viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = watched.page
    await watched.sign_in(seeded.service.url, ADMIN_TOKEN)
    for path, name in (("/console/conversations", "conversations"), ("/console/leads", "leads")):
        await page.goto(seeded.service.url + path)
        for test_id in ("export-xlsx", "export-csv"):
            assert await within_screen(page.get_by_test_id(test_id), width), test_id
        xlsx_name, xlsx = await download(page, "export-xlsx")
        csv_name, csv = await download(page, "export-csv")
        assert (xlsx_name, csv_name) == (f"{name}.xlsx", f"{name}.csv")
        sheet = load_workbook(io.BytesIO(xlsx)).worksheets[0]
        assert SHOWN in [cell.value for cell in sheet["E" if name == "conversations" else "C"]]
        assert csv.decode("utf-8-sig").splitlines()[0].startswith('"')
        assert ";" in csv.decode("utf-8-sig").splitlines()[0]
    assert watched.errors == []
