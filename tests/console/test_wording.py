"""The console names the bot's decisions in the owner's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from talkme_consultant.answer.base import Intent
from talkme_consultant.helpers.kinds import HandoffReason
from talkme_consultant.web.console.wording import HANDOFF_REASONS, INTENTS, register


def filters() -> dict[str, Callable[..., Any]]:
    registered: dict[str, Callable[..., Any]] = {}
    register(registered)
    return registered


def test_every_intent_and_handoff_reason_has_russian_words() -> None:
    assert set(Intent) <= set(INTENTS)
    assert set(HandoffReason) <= set(HANDOFF_REASONS)
    for words in [*INTENTS.values(), *HANDOFF_REASONS.values()]:
        assert any("а" <= letter <= "я" for letter in words), words


def test_codes_read_as_words_and_an_unknown_code_is_shown_as_it_is() -> None:
    say = filters()
    assert say["intent"]("clarify") == "уточняющий вопрос"
    assert say["answerer"]("offline") == "бот по базе знаний, без модели"
    assert say["handoff"]("low_confidence") == "нет уверенного ответа в базе"
    assert say["handoff"]("a_reason_of_a_newer_version") == "a_reason_of_a_newer_version"
    assert say["intent"](None) == "—"
