"""Counts on the console's pages agree with their words, as Russian wants."""

from __future__ import annotations

import pytest

from talkme_consultant.web.console.plurals import plural, plural_word
from talkme_consultant.web.console.state import build_console_state

QUESTION = ("вопрос", "вопроса", "вопросов")


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (0, "0 вопросов"),
        (1, "1 вопрос"),
        (2, "2 вопроса"),
        (4, "4 вопроса"),
        (5, "5 вопросов"),
        (11, "11 вопросов"),
        (12, "12 вопросов"),
        (14, "14 вопросов"),
        (21, "21 вопрос"),
        (22, "22 вопроса"),
        (93, "93 вопроса"),
        (101, "101 вопрос"),
        (111, "111 вопросов"),
        (112, "112 вопросов"),
        (1021, "1021 вопрос"),
    ],
)
def test_a_count_takes_the_form_its_last_digits_ask_for(count: int, said: str) -> None:
    assert plural(count, *QUESTION) == said


def test_the_word_alone_is_there_for_a_tile_whose_number_stands_apart() -> None:
    words = ("уточняющий вопрос", "уточняющих вопроса", "уточняющих вопросов")
    assert plural_word(1, *words) == "уточняющий вопрос"
    assert plural_word(3, *words) == "уточняющих вопроса"
    assert plural_word(25, *words) == "уточняющих вопросов"


def test_every_console_template_can_use_the_plural_filters() -> None:
    state = build_console_state("token", b"0" * 32)
    template = state.templates.env.from_string(
        '{{ n | plural("группа", "группы", "групп") }}; '
        '{{ n | plural_word("лид", "лида", "лидов") }}'
    )
    assert [template.render(n=n) for n in (1, 2, 5)] == [
        "1 группа; лид",
        "2 группы; лида",
        "5 групп; лидов",
    ]
