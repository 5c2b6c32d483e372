"""What the bot decided, in the owner's words: intents, answerers and handoff reasons in Russian.

The store keeps the codes (`Intent`, `HandoffReason`, the answerer's name); the console shows
these phrases. A code this version does not know (written by a newer one) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from talkme_consultant.answer.base import Intent
from talkme_consultant.helpers.kinds import HandoffReason

INTENTS: dict[str, str] = {
    Intent.ANSWER: "ответ из базы знаний",
    Intent.GREETING: "приветствие",
    Intent.THANKS: "благодарность",
    Intent.GOODBYE: "прощание",
    Intent.OPERATOR: "просьба позвать человека",
    Intent.UNKNOWN: "ответа в базе нет",
    Intent.OFF_TOPIC: "вопрос не по теме",
    Intent.BOOKING: "запись",
    Intent.CLARIFY: "уточняющий вопрос",
    "callback": "обратный звонок",
    "turn_failed": "сбой при ответе",
}
ANSWERERS: dict[str, str] = {
    "llm": "языковая модель по базе знаний",
    "offline": "бот по базе знаний, без модели",
    "none": "никто: сработало правило",
    "booking": "запись в календарь",
}
HANDOFF_REASONS: dict[str, str] = {
    HandoffReason.VISITOR_REQUEST: "посетитель попросил человека",
    HandoffReason.LOW_CONFIDENCE: "нет уверенного ответа в базе",
    HandoffReason.NOT_IN_KNOWLEDGE: "нет ответа в базе: о спрошенном в ней ничего нет",
    HandoffReason.UNCLEAR_CHOICE: "ответ на уточняющий вопрос остался неясен",
    HandoffReason.BOOKING: "посетитель хочет записаться",
    HandoffReason.ATTACHMENT: "посетитель прислал файл",
    HandoffReason.BUDGET: "исчерпан дневной лимит модели",
    HandoffReason.TURN_FAILED: "бот не смог ответить из-за сбоя",
}


def _words(table: dict[str, str]) -> Callable[[object], str]:
    def say(code: object) -> str:
        if code is None or code == "":
            return "—"
        return table.get(str(code), str(code))

    return say


def register(filters: MutableMapping[str, Callable[..., Any]]) -> None:
    """Add the `intent`, `answerer` and `handoff` filters to a Jinja environment's filters."""
    filters["intent"] = _words(INTENTS)
    filters["answerer"] = _words(ANSWERERS)
    filters["handoff"] = _words(HANDOFF_REASONS)
