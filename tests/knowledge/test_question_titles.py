"""An FAQ row is also found by its question alone: visitors ask in the question's words."""

from __future__ import annotations

from pathlib import Path

import pytest
from knowledge_fakes import ConceptEmbedder

from talkme_consultant.knowledge import index as index_module
from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.knowledge.evaluation import qa_record
from talkme_consultant.knowledge.loaders import load_file
from talkme_consultant.knowledge.records import OWNER_FAQ_SOURCE, Record, Source
from talkme_consultant.knowledge.representations import question_title

CONCEPTS = {
    "парол": "password",
    "смен": "change",
    "поменя": "change",
    "заб": "forget",
    "почт": "email",
    "профил": "profile",
    "настройк": "settings",
    "безопасн": "security",
    "кнопк": "button",
    "нажм": "button",
    "письм": "email",
}
RECORDS = [
    qa_record(
        "Как сменить пароль?",
        "Откройте профиль, настройки безопасности, нажмите кнопку: придёт письмо на почту.",
        "faq.csv",
        2,
    ),
    qa_record("Забыли почту?", "Если забыли пароль или почту, смените их в профиле.", "faq.csv", 3),
    qa_record("Есть ли кнопка выхода?", "Да, внизу профиля.", "faq.csv", 4),
]


async def _first_title(query: str) -> str | None:
    index = await index_module.build_index(
        RECORDS, ConceptEmbedder(CONCEPTS), MemoryEmbeddingCache()
    )
    return index.search_blocking(query, 2)[0].record.title


async def test_a_visitor_asking_in_the_questions_words_finds_that_row() -> None:
    # The other row's answer speaks of the password and of changing it too, in a shorter text.
    assert await _first_title("как поменять пароль") == "Как сменить пароль?"


async def test_without_the_questions_own_cosine_the_shorter_answer_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The case above is one the question's own cosine decides, not the answers' words.
    monkeypatch.setattr(index_module, "TITLE_WEIGHT", 0.0)
    assert await _first_title("как поменять пароль") == "Забыли почту?"


async def test_the_question_alone_does_not_outweigh_what_the_visitor_asked() -> None:
    assert await _first_title("пароль поменять не могу, забыл") == "Забыли почту?"


def _record(title: str, answer: str, **fields: str) -> Record:
    return Record(
        text=f"{title}\n{answer}",
        title=title,
        answer=answer,
        source=Source(file="knowledge.xlsx", row=2),
        fields=fields,
    )


def test_an_faq_rows_question_is_its_question_title() -> None:
    record = qa_record("Работаете в праздники", "Да, кроме 1 января.", "faq.csv", 2)
    assert question_title(record) == "Работаете в праздники"


def test_a_price_rows_service_name_is_not_a_question() -> None:
    row = _record("Маникюр", "Маникюр — 1500 руб.", Услуга="Маникюр", Цена="1500", Время="60")
    assert question_title(row) is None


def test_a_two_column_price_lists_rows_are_not_questions(tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("Услуга;Цена, руб.\nМаникюр;1500\nПедикюр;2200\n", encoding="utf-8")
    rows = load_file(prices)
    assert [r.title for r in rows] == ["Маникюр", "Педикюр"]
    assert [question_title(r) for r in rows] == [None, None]


def test_an_faq_sheet_with_a_category_column_is_searched_by_its_questions(tmp_path: Path) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text(
        "Категория;Вопрос;Ответ\nОплата;Можно оплатить картой;Да, любой картой.\n",
        encoding="utf-8",
    )
    assert [question_title(r) for r in load_file(faq)] == ["Можно оплатить картой"]


def test_a_heading_asks_a_question_only_when_it_ends_with_a_question_mark() -> None:
    assert question_title(_record("Как нас найти?", "От метро пять минут.")) == "Как нас найти?"
    assert question_title(_record("Как нас найти", "От метро пять минут.")) is None


def test_an_owners_taught_question_is_a_question_title() -> None:
    lesson = Record(
        text="брекеты сколько стоят\nОт 120 000 рублей.",
        title="брекеты сколько стоят",
        answer="От 120 000 рублей.",
        source=Source(file=OWNER_FAQ_SOURCE),
    )
    assert question_title(lesson) == "брекеты сколько стоят"


def test_a_question_without_an_answer_is_not_searched_by_alone() -> None:
    assert question_title(_record("Как нас найти?", "")) is None
