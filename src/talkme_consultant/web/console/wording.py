"""What the bot decided and did, in the owner's words: intents, answerers, handoff reasons,
events, finish codes, message authors, record sources and how sure the bot was, in Russian.

The store keeps the codes (`Intent`, `HandoffReason`, `EventKind`, the answerer's name); the
console shows these phrases, so no internal code reaches a page. A code this version does not
know (written by a newer one) reads as a general phrase, never as the code itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from talkme_consultant.answer.base import Intent
from talkme_consultant.config import Settings
from talkme_consultant.helpers.kinds import EventKind, HandoffReason, MessageRole
from talkme_consultant.knowledge.records import OWNER_FAQ_SOURCE

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
EVENTS: dict[str, str] = {
    EventKind.HANDOFF: "передан человеку",
    EventKind.UNANSWERED: "вопрос без ответа — в открытых вопросах",
    EventKind.LEAD: "оставлен телефон (лид)",
    EventKind.GUARD: "проверка фактов остановила ответ модели",
    EventKind.LLM_OUTAGE: "языковая модель не ответила, бот ответил без неё",
    EventKind.BUDGET: "дневной лимит модели исчерпан",
    EventKind.TURN_ERROR: "сбой при ответе, бот попробовал ещё раз",
    EventKind.TURN_FAILED: "бот не смог ответить из-за сбоя",
    EventKind.CALLBACK_OFFERED: "операторов нет в сети: предложен обратный звонок",
    EventKind.CALLBACK_LEAD: "посетитель оставил телефон для обратного звонка",
    EventKind.CLARIFY: "бот задал уточняющий вопрос",
    EventKind.CLARIFY_CHOICE: "посетитель выбрал вариант из уточнения",
    EventKind.LIST_CHOICE: "посетитель выбрал строку из списка",
    EventKind.ANSWER_MARKED_WRONG: "вы отметили ответ как неверный",
    EventKind.BOOKING: "шаг записи на приём",
}
ROLES: dict[str, str] = {
    MessageRole.VISITOR: "Посетитель",
    MessageRole.BOT: "Бот",
    MessageRole.OPERATOR: "Оператор",
}
# Where a record came from when it is not a file the owner named.
OWNER_ANSWERS = "ваши ответы в консоли"

# How close to the answer threshold a confidence counts as «на грани», either side of it.
CONFIDENCE_MARGIN = 0.1
CONFIDENT = "уверенно"
BORDERLINE = "на грани"
NOT_CONFIDENT = "не уверен"


def confidence_band(confidence: float, threshold: float) -> str:
    """How sure the bot was, in a word, against the threshold it answers from: «уверенно»
    well above it, «на грани» within `CONFIDENCE_MARGIN` of it, «не уверен» well below."""
    if confidence >= threshold + CONFIDENCE_MARGIN:
        return CONFIDENT
    if confidence >= threshold - CONFIDENCE_MARGIN:
        return BORDERLINE
    return NOT_CONFIDENT


def decimal(value: float, digits: int = 2) -> str:
    """A fraction as Russian writes it: «0,45»."""
    return f"{value:.{digits}f}".replace(".", ",")


def confidence_words(confidence: float | None, threshold: float) -> str:
    """«на грани: 0,45 при пороге ответа 0,50» (a dash when nothing was found)."""
    if confidence is None:
        return "—"
    band = confidence_band(confidence, threshold)
    return f"{band}: {decimal(confidence)} при пороге ответа {decimal(threshold)}"


def event_words(kind: str, data: Mapping[str, Any]) -> str:
    """An event as a sentence: what happened and, where it says more, why or about what."""
    words = EVENTS.get(kind, "служебная отметка")
    if kind in (EventKind.HANDOFF, EventKind.CALLBACK_OFFERED, EventKind.CALLBACK_LEAD):
        reason = data.get("reason")
        if reason:
            return f"{words}: {handoff_words(reason)}"
    if kind in (EventKind.UNANSWERED, EventKind.CLARIFY) and data.get("question"):
        return f"{words}: «{data['question']}»"
    if kind == EventKind.LEAD and data.get("interest"):
        return f"{words}: {data['interest']}"
    if kind == EventKind.GUARD and data.get("problems"):
        return f"{words}. {data['problems']}"
    if kind in (EventKind.CLARIFY_CHOICE, EventKind.LIST_CHOICE) and data.get("option"):
        return f"{words}: № {data['option']}"
    return words


def finish_codes(settings: Settings) -> dict[str, str]:
    """What each finish code the bot sends TalkMe means, under this installation's names."""
    return {
        settings.finish_code_operator: "передан оператору",
        settings.finish_code_success: "вопрос решён",
        settings.finish_code_irrelevant: "сообщение не по делу",
        settings.finish_code_offline: "операторов нет в сети: ждёт обратного звонка",
    }


def source_name(file: object) -> str:
    """A record's source as the owner knows it: her answers, or the file's name."""
    return OWNER_ANSWERS if file == OWNER_FAQ_SOURCE else str(file or "—")


def _words(table: dict[str, str], unknown: str) -> Callable[[object], str]:
    def say(code: object) -> str:
        if code is None or code == "":
            return "—"
        return table.get(str(code), unknown)

    return say


handoff_words = _words(HANDOFF_REASONS, "другая причина")


def register(filters: MutableMapping[str, Callable[..., Any]]) -> None:
    """Add the wording filters to a Jinja environment's filters: `intent`, `answerer`,
    `handoff`, `role`, `event`, `source`, `confidence` (with the threshold beside it) and
    `decimal` (a fraction with a comma)."""
    filters["intent"] = _words(INTENTS, "другое")
    filters["answerer"] = _words(ANSWERERS, "другой способ ответа")
    filters["handoff"] = handoff_words
    filters["role"] = _words(ROLES, "Другой участник")
    filters["event"] = lambda event: event_words(event.kind, event.data)
    filters["source"] = source_name
    filters["confidence"] = confidence_words
    filters["decimal"] = decimal
