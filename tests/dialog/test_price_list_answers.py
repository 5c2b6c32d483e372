"""Price questions answered from the shipped salon price list, with no model, like a person would.

The engine runs over the real sample knowledge base (store, index and embeddings), the way
`talkme-consultant chat` and the webhook path use it.
"""

from __future__ import annotations

import re

import pytest

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.dialog.engine import TurnInput
from talkme_consultant.dialog.guard import check_grounding
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.knowledge.loaders import load_file
from talkme_consultant.service.runtime import Runtime

# "1) Маникюр без покрытия — 1 800 ₽, 60 мин"
LIST_LINE = re.compile(
    r"^\d\) (?P<name>.+) — (?P<price>\d{1,3}(?: \d{3})*) ₽, (?P<minutes>\d+) мин$"
)


async def ask(runtime: Runtime, text: str) -> tuple[str, TurnOutcome]:
    outcome = await runtime.engine.run_turn(
        TurnInput(conversation_key="visitor", texts=[text], attachments_only=False)
    )
    assert outcome.finish_code is None, f"{text!r} was handed over: {outcome.events}"
    return "\n".join(outcome.replies), outcome


def listed(reply: str) -> dict[str, tuple[str, str]]:
    """Name → (price, minutes) of every list line of a reply."""
    rows = {}
    for line in reply.splitlines():
        if match := LIST_LINE.match(line):
            rows[match["name"]] = (match["price"], match["minutes"])
    return rows


def assert_grounded(reply: str) -> None:
    """Every figure of the reply is grounded by the price-list rows it names, and by them only."""
    rows = [
        r for r in load_file(SAMPLE_KNOWLEDGE_DIR / "prices.xlsx") if r.title and r.title in reply
    ]
    assert rows, reply
    assert check_grounding(reply, [row.text for row in rows]) == []


async def test_how_much_is_a_manicure_lists_the_manicures_with_prices(runtime: Runtime) -> None:
    reply, _ = await ask(runtime, "Сколько стоит маникюр?")

    rows = listed(reply)
    assert len(rows) >= 3, reply
    assert len(rows) <= 6
    assert rows["Маникюр без покрытия"] == ("1 800", "60")
    assert rows["Маникюр с покрытием гель-лак"] == ("2 900", "100")
    assert all("маникюр" in name.lower() for name in rows), "only manicures are listed"
    assert "Категория" not in reply and "Цена, руб." not in reply
    assert reply.endswith("Напишите номер или название услуги — расскажу подробнее.")
    assert_grounded(reply)


async def test_a_specific_service_is_answered_alone_with_its_description(
    runtime: Runtime,
) -> None:
    reply, _ = await ask(runtime, "Сколько стоит маникюр с покрытием гель-лак?")

    assert reply.startswith("Маникюр с покрытием гель-лак — 2 900 ₽, 100 мин. ")
    assert "Снятие покрытия, сделанного в нашем салоне, входит в стоимость." in reply
    assert "1) " not in reply
    assert_grounded(reply)


@pytest.mark.parametrize("question", ["какие виды массажа", "Какие виды массажа у вас есть?"])
async def test_what_kinds_of_massage_lists_the_massages(runtime: Runtime, question: str) -> None:
    reply, _ = await ask(runtime, question)

    rows = listed(reply)
    assert len(rows) >= 3, reply
    assert rows["Массаж спины"] == ("2 800", "30")
    assert all("массаж" in name.lower() for name in rows)
    assert_grounded(reply)


async def test_a_haircut_for_men_is_not_answered_with_the_list_of_haircuts(
    runtime: Runtime,
) -> None:
    reply, _ = await ask(runtime, "сколько стоит мужская стрижка")
    assert reply.startswith("Мужская модельная стрижка — 2 300 ₽, 50 мин.")
    assert_grounded(reply)
