"""Reading the visitor's answer to a clarifying question: a number, an ordinal, or words."""

from __future__ import annotations

import pytest

from talkme_consultant.answer.base import ClarifyOption
from talkme_consultant.dialog.choice import listed_options, pending_options, read_choice

OPTIONS = ["Как монетизировать канал?", "Как продвигать канал?", "Сколько стоит реклама?"]


@pytest.mark.parametrize(
    ("reply", "index"),
    [
        ("2", 1),
        ("2)", 1),
        ("второе", 1),
        ("вторым", 1),
        ("Второй вариант, пожалуйста", 1),
        ("давайте 3", 2),
        ("первый", 0),
        ("последний", 2),
        ("про монетизацию", 0),
        ("рекламу", 2),
        ("продвижение канала", 1),
    ],
)
def test_a_number_an_ordinal_or_an_options_words_choose_that_option(reply: str, index: int) -> None:
    assert read_choice(reply, OPTIONS) == index


@pytest.mark.parametrize(
    "reply",
    [
        "5",  # there is no fifth option
        "1 или 2",  # two choices are none
        "2 человека придут",  # a number inside a sentence
        "канал",  # every option is about the channel
        "не знаю",
        "а парковка у вас есть?",  # a new question
        "монетизация и продвижение",  # two options at once
        "",
    ],
)
def test_a_reply_that_names_no_single_option_chooses_none(reply: str) -> None:
    assert read_choice(reply, OPTIONS) is None


def test_words_naming_one_option_whole_choose_it_over_one_that_only_contains_them() -> None:
    options = ["Коррекция наращённых ногтей", "Коррекция бровей", "Архитектура бровей (коррекция)"]

    assert read_choice("коррекция бровей", options) == 1
    assert read_choice("брови", options) is None


def test_words_that_mostly_ask_something_else_are_a_new_question() -> None:
    assert read_choice("а реклама в вашем салоне на тверской бывает по субботам", OPTIONS) is None


def test_pending_options_come_only_from_a_clarifying_messages_meta() -> None:
    option = ClarifyOption(title="Как продвигать канал?", record_id="abc")
    meta = {"intent": "clarify", "clarify": {"options": [option.model_dump()], "question": "?"}}

    assert pending_options(meta) == [option]
    assert pending_options({**meta, "intent": "answer"}) == []
    assert pending_options({"intent": "clarify", "clarify": {"options": [{"x": 1}]}}) == []
    assert pending_options({"intent": "clarify", "clarify": "broken"}) == []
    assert pending_options(None) == []


MANICURES = [
    "Маникюр с покрытием гель-лак",
    "Маникюр без покрытия",
    "Японский маникюр",
    "Мужской маникюр",
    "Детский маникюр (до 12 лет)",
    "Маникюр французский",
]


@pytest.mark.parametrize(
    ("reply", "index"),
    [
        ("второе", 1),
        ("2", 1),
        ("пятый", 4),
        ("6", 5),
        ("японский", 2),
        ("а японский?", 2),
        ("японский маникюр сколько длится?", 2),
        ("мужской, пожалуйста", 3),
    ],
)
def test_after_a_list_a_number_or_the_words_of_one_row_choose_it(reply: str, index: int) -> None:
    assert read_choice(reply, MANICURES, every_word=True) == index


@pytest.mark.parametrize(
    "reply",
    [
        "а педикюр японский есть?",  # a word that names no row: a new question
        "мужской стрижки у вас нет?",
        "в пятницу работаете?",  # «пятница» is not «пятый»
        "7",  # the list has six rows
        "маникюр",  # every row is a manicure
    ],
)
def test_after_a_list_a_reply_with_other_words_is_a_new_question(reply: str) -> None:
    assert read_choice(reply, MANICURES, every_word=True) is None


def test_listed_rows_come_only_from_an_answers_meta() -> None:
    row = ClarifyOption(title="Японский маникюр", record_id="abc")
    meta = {"intent": "answer", "listed": {"options": [row.model_dump()]}}

    assert listed_options(meta) == [row]
    assert listed_options({**meta, "intent": "clarify"}) == []
    assert listed_options({"intent": "answer", "listed": {"options": "broken"}}) == []
    assert listed_options({"intent": "answer"}) == []
    assert pending_options(meta) == [], "a list is not a clarifying question"
