"""What a question asks about a service, and that one fact said from a price-list row: the row's
own figures, which the grounding guard finds in it."""

from __future__ import annotations

import pytest

from talkme_consultant.answer.attributes import (
    Attribute,
    attribute_lines,
    attribute_sentence,
    attributes_asked,
)
from talkme_consultant.dialog.guard import check_grounding
from talkme_consultant.knowledge.records import Record, Source


def row(fields: dict[str, str], title: str, number: int = 2) -> Record:
    text = "\n".join(f"{column}: {value}" for column, value in fields.items())
    return Record(
        text=text, title=title, source=Source(file="prices.xlsx", row=number), fields=fields
    )


PEDICURE = row(
    {
        "Категория": "Педикюр",
        "Услуга": "Педикюр с покрытием гель-лак",
        "Цена, руб.": "4000",
        "Длительность, мин": "110",
        "Описание": "Полный аппаратный педикюр и однотонное покрытие ногтей.",
    },
    "Педикюр с покрытием гель-лак",
)
EXPRESS = row(
    {
        "Категория": "Педикюр",
        "Услуга": "Экспресс-педикюр",
        "Цена, руб.": "2500",
        "Длительность, мин": "60",
        "Описание": "Обработка пальцев и кутикулы с покрытием, без обработки стоп.",
    },
    "Экспресс-педикюр",
    3,
)
# The clinic's price list: no duration, a short note column that says what is included.
IMPLANT = row(
    {
        "Раздел": "Имплантация",
        "Услуга": "Имплант Straumann под ключ",
        "Цена, руб.": "89000",
        "Примечание": "Имплант, абатмент и циркониевая коронка.",
    },
    "Имплант Straumann под ключ",
)


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("а сколько длится?", [Attribute.DURATION]),
        ("а сколько по времени?", [Attribute.DURATION]),
        ("долго её делают?", [Attribute.DURATION]),
        ("а цена какая?", [Attribute.PRICE]),
        ("Почём?", [Attribute.PRICE]),
        ("а по деньгам сколько это?", [Attribute.PRICE]),
        ("а что входит?", [Attribute.INCLUDED]),
        ("а что это такое?", [Attribute.INCLUDED]),
        ("сколько стоит и сколько длится", [Attribute.PRICE, Attribute.DURATION]),
        ("а педикюр?", []),
        ("а сколько держится?", []),  # how long the effect lasts: no column says it
    ],
)
def test_the_attributes_a_message_asks(text: str, asked: list[Attribute]) -> None:
    assert attributes_asked(text) == asked


def test_one_row_answers_the_attribute_asked_with_its_own_figure() -> None:
    said = {
        attribute: attribute_sentence(PEDICURE, attribute)
        for attribute in (Attribute.DURATION, Attribute.PRICE, Attribute.INCLUDED)
    }

    assert said == {
        Attribute.DURATION: "Педикюр с покрытием гель-лак длится 110 мин.",
        Attribute.PRICE: "Педикюр с покрытием гель-лак стоит 4 000 ₽.",
        Attribute.INCLUDED: (
            "«Педикюр с покрытием гель-лак»: полный аппаратный педикюр и однотонное покрытие "
            "ногтей."
        ),
    }
    for sentence in said.values():
        assert sentence is not None
        assert not list(check_grounding(sentence, [PEDICURE.text]))


def test_a_row_without_the_column_says_nothing_and_a_note_says_what_is_included() -> None:
    assert attribute_sentence(IMPLANT, Attribute.DURATION) is None
    assert attribute_sentence(IMPLANT, Attribute.INCLUDED) == (
        "«Имплант Straumann под ключ»: имплант, абатмент и циркониевая коронка."
    )
    assert (
        attribute_sentence(IMPLANT, Attribute.PRICE) == "Имплант Straumann под ключ стоит 89 000 ₽."
    )


def test_listed_rows_answer_in_the_order_they_were_numbered() -> None:
    assert attribute_lines([PEDICURE, EXPRESS], Attribute.DURATION) == (
        "По времени:\n1) Педикюр с покрытием гель-лак — 110 мин\n2) Экспресс-педикюр — 60 мин\n"
        "Напишите номер или название услуги — расскажу подробнее."
    )
    assert attribute_lines([PEDICURE, IMPLANT], Attribute.DURATION) is None
    assert attribute_lines([PEDICURE, EXPRESS], Attribute.INCLUDED) is None
