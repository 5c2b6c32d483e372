"""The console names the bot's decisions in the owner's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from talkme_consultant.answer.base import Intent
from talkme_consultant.helpers.kinds import EventKind, HandoffReason
from talkme_consultant.web.console.wording import (
    EVENTS,
    HANDOFF_REASONS,
    INTENTS,
    confidence_band,
    confidence_words,
    event_words,
    register,
)


def filters() -> dict[str, Callable[..., Any]]:
    registered: dict[str, Callable[..., Any]] = {}
    register(registered)
    return registered


def test_every_intent_and_handoff_reason_has_russian_words() -> None:
    assert set(Intent) <= set(INTENTS)
    assert set(HandoffReason) <= set(HANDOFF_REASONS)
    for words in [*INTENTS.values(), *HANDOFF_REASONS.values()]:
        assert any("а" <= letter <= "я" for letter in words), words


def test_codes_read_as_words_and_an_unknown_code_reads_as_a_general_phrase() -> None:
    say = filters()
    assert say["intent"]("clarify") == "уточняющий вопрос"
    assert say["answerer"]("offline") == "бот по базе знаний, без модели"
    assert say["handoff"]("low_confidence") == "нет уверенного ответа в базе"
    assert say["role"]("operator") == "Оператор"
    assert say["source"]("owner-faq") == "ваши ответы в консоли"
    assert say["handoff"]("a_reason_of_a_newer_version") == "другая причина"
    assert say["intent"]("an_intent_of_a_newer_version") == "другое"
    assert say["intent"](None) == "—"


def test_every_event_kind_reads_as_a_sentence_with_its_reason_or_question() -> None:
    assert set(EventKind) <= set(EVENTS)
    assert event_words("handoff", {"reason": "low_confidence"}) == (
        "передан человеку: нет уверенного ответа в базе"
    )
    assert event_words("unanswered", {"question": "Курс биткоина?", "reason": "x"}) == (
        "вопрос без ответа — в открытых вопросах: «Курс биткоина?»"
    )
    assert event_words("turn_error", {"error": "ReadTimeout: upstream"}) == (
        "сбой при ответе, бот попробовал ещё раз"
    )
    assert event_words("an_event_of_a_newer_version", {"x": 1}) == "служебная отметка"


def test_confidence_reads_as_a_word_beside_the_threshold_it_is_measured_against() -> None:
    assert confidence_band(0.72, 0.5) == "уверенно"
    assert confidence_band(0.6, 0.5) == "уверенно"
    assert confidence_band(0.55, 0.5) == "на грани"
    assert confidence_band(0.4, 0.5) == "на грани"
    assert confidence_band(0.39, 0.5) == "не уверен"
    assert confidence_words(0.4, 0.5) == "на грани: 0,40 при пороге ответа 0,50"
    assert confidence_words(None, 0.5) == "—"
    assert filters()["decimal"](0.724) == "0,72"
