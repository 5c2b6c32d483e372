"""On a phone's screen a long message wraps, but never inside a price: «2 800 ₽» stays on one
line, not «2» at the end of one line and «800 ₽» at the start of the next (Debian Chromium,
against a running service whose conversations came through the TalkMe simulator)."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from talkme_consultant.talkme.visitor import Visitor
from tests.console.conftest import Seeded, replies_to
from tests.support.browser import WatchedPage
from tests.support.service import ADMIN_TOKEN

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHONE = {"width": 390, "height": 844}
SERVICES = [
    "маникюр",
    "педикюр с покрытием",
    "стрижка",
    "окрашивание в один тон",
    "брови",
    "укладка на длинные волосы",
    "массаж",
    "комплекс",
    "пилинг",
    "ресницы",
    "маска",
    "чистка лица",
]
PRICES = [
    "2 800 ₽",
    "1 500 руб.",
    "12 000 ₽",
    "3 200 руб.",
    "900 р.",
    "4 750 ₽",
    "15 000 руб.",
    "1 100 ₽",
    "6 300 р.",
    "2 450 ₽",
    "10 500 руб.",
    "7 800 ₽",
]
# Each price at another place on its line: at a phone's width some would wrap inside.
LONG_MESSAGE = (
    "Здравствуйте! Мне в другом салоне назвали такие цены: "
    + ", ".join(f"{service} — {price}" for service, price in zip(SERVICES, PRICES, strict=True))
    + ". У вас так же?"
)

# For every price in the element's text: how many lines it is drawn on.
LINES_OF_PRICES = r"""element => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const price = /\d{1,3}(?:[ \u00a0]\d{3})*[ \u00a0](?:₽|руб\.|р\.)/g;
    for (const match of node.textContent.matchAll(price)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
      found.push([match[0], tops.size]);
    }
  }
  return found;
}"""


async def test_a_price_in_a_long_message_is_on_one_line_on_a_phone(
    seeded: Seeded, browser: Browser
) -> None:
    visitor = Visitor.new(name="Вера")
    (await seeded.service.post_message(visitor, LONG_MESSAGE, 1)).raise_for_status()
    await replies_to(seeded.sim, visitor, 1)
    watched = await WatchedPage.open(browser, viewport=PHONE, is_mobile=True)
    page = watched.page
    await watched.sign_in(seeded.service.url, ADMIN_TOKEN)
    await page.goto(f"{seeded.service.url}/console/conversations/{visitor.client_id}")
    message = page.get_by_test_id("message-visitor").first.locator(".text")
    shown = await message.inner_text()
    assert "2\u00a0800\u00a0₽" in shown and "1\u00a0500\u00a0руб." in shown
    assert "900\u00a0р." in shown

    lines = await message.evaluate(LINES_OF_PRICES)
    assert len(lines) == len(PRICES), lines
    assert all(count == 1 for _, count in lines), f"a price broke across lines: {lines}"
    box = await message.bounding_box()
    assert box is not None and box["height"] > 100, "the message does wrap on a phone"
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], "the transcript reads without sideways scrolling"
    assert watched.errors == []
