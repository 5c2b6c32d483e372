"""A running service with a few real conversations behind it, made through the TalkMe simulator."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from talkme_consultant.talkme.simulator import RunningSimulator, running_simulator
from talkme_consultant.talkme.visitor import Visitor
from tests.answer.llm_helpers import reply_payload
from tests.support.browser import chromium
from tests.support.openai_server import RecordedRequest, Reply, scripted_openai_server
from tests.support.service import (
    RunningService,
    model_settings,
    running_service,
    service_settings,
)

REPLY_TIMEOUT = 30.0
PRICE_QUESTION = "Сколько стоит маникюр с покрытием?"
UNKNOWN_QUESTION = "Какой курс биткоина на бирже сегодня?"


@dataclass
class Seeded:
    """The service, its TalkMe and the visitors who talked to it."""

    service: RunningService
    sim: RunningSimulator
    asker: Visitor  # asked a price and got an answer
    stranger: Visitor  # asked what the business does not know: handed over
    booker: Visitor  # left a phone number: a lead


async def replies_to(sim: RunningSimulator, visitor: Visitor, count: int) -> list[str]:
    """The texts of the first `count` delivered replies to `visitor`."""
    await sim.state.wait_for_calls(
        count, method="send", token=visitor.token, delivered=True, timeout=REPLY_TIMEOUT
    )
    calls = sim.state.calls_matching(token=visitor.token, method="send", delivered=True)
    return [c.text for c in calls if c.text is not None]


def booking_model(request: RecordedRequest) -> Reply:
    """A scripted model that takes the visitor's booking (only a model records leads)."""
    if request.schema_name == "search_queries":
        return Reply.json({"queries": ["запись на маникюр"]})
    if request.schema_name == "consultant_reply":
        payload = reply_payload(
            "Спасибо, Анна! Передаю ваш номер администратору — он перезвонит.",
            wants_booking=True,
            visitor_name="Анна",
            interest="маникюр",
        )
        return Reply.json(payload, prompt_tokens=400, completion_tokens=60)
    return Reply.text("Посетительница хочет записаться на маникюр.")


async def book_with_a_model(data_dir: Path, sim: RunningSimulator, booker: Visitor) -> None:
    """A conversation that ends in a lead, answered by the service with a (scripted) model."""
    async with scripted_openai_server(strict=False) as llm:
        llm.handler = booking_model
        settings = service_settings(data_dir, sim, **model_settings(llm.base_url))
        async with running_service(settings) as service:
            await service.post_message(
                booker, "Хочу записаться на маникюр, я Анна, телефон 8 916 123-45-67", 1
            )
            await sim.state.wait_for_calls(
                1, method="finish", token=booker.token, timeout=REPLY_TIMEOUT
            )


async def ask(service: RunningService, sim: RunningSimulator) -> tuple[Visitor, Visitor]:
    """Two conversations with the offline bot: an answered price and a handed-over question."""
    asker = Visitor.new(name="Ольга")
    stranger = Visitor.new(name="Игорь")
    await service.post_message(asker, PRICE_QUESTION, 1)
    await service.post_message(stranger, UNKNOWN_QUESTION, 1)
    await replies_to(sim, asker, 1)
    await sim.state.wait_for_calls(1, method="finish", token=stranger.token, timeout=REPLY_TIMEOUT)
    return asker, stranger


@pytest.fixture(scope="module")
def console_data_dir(sample_store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the warm sample store shared by one module's specs (they only add to it)."""
    target = tmp_path_factory.mktemp("console") / "data"
    shutil.copytree(sample_store_template, target)
    return target


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def seeded(console_data_dir: Path) -> AsyncIterator[Seeded]:
    """The service (offline answerer, sample knowledge) with three conversations in its store:
    a lead made earlier with a model, then an answer and a handoff."""
    booker = Visitor.new(name="Анна", phone="+7 916 123-45-67")
    async with running_simulator() as sim:
        await book_with_a_model(console_data_dir, sim, booker)
        async with running_service(service_settings(console_data_dir, sim)) as service:
            asker, stranger = await ask(service, sim)
            yield Seeded(service, sim, asker, stranger, booker)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium (skips without it, fails in CI)."""
    async with chromium() as launched:
        yield launched
