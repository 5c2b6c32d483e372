"""The connection page in a real browser, on a laptop and on a phone: the first stop after
sign-in, the webhook URL with its secret copied with one press, and «Проверить» asking TalkMe's
account API (the simulator) and a model (a scripted one) and saying what it found."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from talkme_consultant.talkme.simulator import (
    DEFAULT_ACCOUNT_KEY,
    RunningSimulator,
    running_simulator,
)
from tests.support.browser import WatchedPage
from tests.support.openai_server import RecordedRequest, Reply, scripted_openai_server
from tests.support.service import (
    ADMIN_TOKEN,
    RunningService,
    model_settings,
    running_service,
    service_settings,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "3f9c2a7e5b1d4c8a"
WRONG_KEY = "not-the-account-key"
SCREENS = [
    pytest.param({"width": 1280, "height": 900}, id="laptop"),
    pytest.param({"width": 390, "height": 844}, id="phone"),
]
CHECK_TIMEOUT = 15_000.0


def fresh_data_dir(template: Path, factory: pytest.TempPathFactory) -> Path:
    """A copy of the warm sample store: no conversation yet, knowledge already embedded."""
    target = factory.mktemp("connection") / "data"
    shutil.copytree(template, target)
    return target


def says_yes(_: RecordedRequest) -> Reply:
    """A model that answers the check's one-word question."""
    return Reply.text("да")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim() -> AsyncIterator[RunningSimulator]:
    """TalkMe's account API with two operators, one online."""
    async with running_simulator() as simulator:
        simulator.state.account.set_operator(1, online=True)
        simulator.state.account.set_operator(2, online=False)
        yield simulator


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def connected(
    sim: RunningSimulator,
    sample_store_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningService]:
    """A service with the right account key, a working model and a webhook secret."""
    async with scripted_openai_server(strict=False) as llm:
        llm.handler = says_yes
        settings = service_settings(
            fresh_data_dir(sample_store_template, tmp_path_factory),
            sim,
            webhook_secret=SECRET,
            talkme_account_api_key=DEFAULT_ACCOUNT_KEY,
            talkme_account_api_url=sim.api_url,
            **model_settings(llm.base_url),
        )
        async with running_service(settings) as service:
            yield service


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def misconfigured(
    sim: RunningSimulator,
    sample_store_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningService]:
    """A service with a wrong account key and no model."""
    settings = service_settings(
        fresh_data_dir(sample_store_template, tmp_path_factory),
        sim,
        webhook_secret=SECRET,
        talkme_account_api_key=WRONG_KEY,
        talkme_account_api_url=sim.api_url,
    )
    async with running_service(settings) as service:
        yield service


async def signed_in(browser: Browser, service: RunningService, screen: dict[str, int]) -> Page:
    """The owner signs in on `screen` (with the clipboard allowed) and lands on «Подключение»."""
    watched = await WatchedPage.open(
        browser, viewport=screen, permissions=["clipboard-read", "clipboard-write"]
    )
    await watched.sign_in(service.url, ADMIN_TOKEN)
    await watched.page.get_by_test_id("connection-webhook").wait_for()
    assert watched.page.url.endswith("/console/connection"), "TalkMe has not written yet"
    return watched.page


async def fits_the_screen(page: Page) -> None:
    """Nothing on the page makes it scroll sideways."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= await page.evaluate("window.innerWidth")


@pytest.mark.parametrize("screen", SCREENS)
async def test_the_owner_copies_the_webhook_url_and_both_checks_say_they_work(
    connected: RunningService, browser: Browser, screen: dict[str, int]
) -> None:
    page = await signed_in(browser, connected, screen)
    field = page.get_by_test_id("webhook-url")
    await expect(field).to_be_visible()
    expected = f"{connected.url}/webhook/talkme?secret={SECRET}"
    assert await field.input_value() == expected

    await page.get_by_test_id("webhook-copy").click()
    await expect(page.get_by_test_id("webhook-copied")).to_have_text(
        "Скопировано. Вставьте адрес в кабинете TalkMe."
    )
    assert await page.evaluate("navigator.clipboard.readText()") == expected

    await page.get_by_test_id("account-check-button").click()
    account = page.get_by_test_id("account-check-result")
    await expect(account).to_have_text(
        "Работает: TalkMe принял ключ. Операторов в аккаунте: 2, в сети сейчас: 1.",
        timeout=CHECK_TIMEOUT,
    )
    await page.get_by_test_id("model-check-button").click()
    await expect(page.get_by_test_id("model-check-result")).to_have_text(
        "Работает: модель «scripted-model» ответила.", timeout=CHECK_TIMEOUT
    )
    assert await page.get_by_test_id("finish-code").count() == 4
    assert DEFAULT_ACCOUNT_KEY not in await page.content()
    await fits_the_screen(page)


@pytest.mark.parametrize("screen", SCREENS)
async def test_a_wrong_account_key_and_a_missing_model_are_said_in_words(
    misconfigured: RunningService, browser: Browser, screen: dict[str, int]
) -> None:
    page = await signed_in(browser, misconfigured, screen)
    await page.get_by_test_id("account-check-button").click()
    account = page.get_by_test_id("account-check-result")
    await expect(account).to_contain_text(
        "TalkMe не принял ключ (код ответа 401): ключ неверный или его отозвали.",
        timeout=CHECK_TIMEOUT,
    )
    await page.get_by_test_id("model-check-button").click()
    await expect(page.get_by_test_id("model-check-result")).to_contain_text(
        "Языковая модель не подключена", timeout=CHECK_TIMEOUT
    )
    assert WRONG_KEY not in await page.content()
    await fits_the_screen(page)
