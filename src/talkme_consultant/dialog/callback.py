"""When nobody is there to take the dialogue: offer a call-back instead of a handoff.

Whether an operator is online is an input to the turn (`OperatorsNow`): the service asks TalkMe's
account API before the turn and passes the answer in, with the call-back time read from the
profile's hours. Unknown presence (no account key, the API failing or slow) is `None`, and the
bot hands over as it always has.

The offer lives in the bot message's meta (`CALLBACK_META`) in the dialogue memory, so a phone
number sent after a restart, or to another instance, is still read as the answer to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from talkme_consultant.helpers.kinds import HandoffReason

# The key under which a bot message's meta keeps an open call-back offer.
CALLBACK_META = "callback"
# Used when the profile's hours say nothing about when the business opens.
WORKING_HOURS = "в рабочее время"
_QUESTION_CHARS = 500

_NOBODY = "Сейчас, к сожалению, никого из администраторов нет в чате."
_INTROS: dict[str, str] = {
    HandoffReason.LOW_CONFIDENCE: (
        "Точного ответа на этот вопрос у меня нет, а администраторов сейчас, к сожалению, "
        "нет в чате."
    ),
    HandoffReason.ATTACHMENT: (
        "Я не умею открывать файлы и фотографии, а администраторов сейчас, к сожалению, нет в чате."
    ),
}
_INTROS[HandoffReason.UNCLEAR_CHOICE] = _INTROS[HandoffReason.LOW_CONFIDENCE]


@dataclass(frozen=True)
class OperatorsNow:
    """Whether an operator can take the dialogue now, and when a call-back can be promised
    («сегодня после 10:00», «завтра после 9:00»; None: the profile gives no hours)."""

    online: bool
    callback_time: str | None = None


def offer_text(reason: str, callback_time: str | None) -> str:
    """The visitor is told nobody is there, and asked for a phone number for a call-back."""
    intro = _INTROS.get(reason, _NOBODY)
    when = callback_time or WORKING_HOURS
    return f"{intro} Оставьте, пожалуйста, номер телефона — администратор перезвонит вам {when}."


def accepted_text(callback_time: str | None) -> str:
    """The phone number came: thank the visitor and say when they will be called."""
    when = callback_time or WORKING_HOURS
    return f"Спасибо, номер записан. Администратор перезвонит вам {when}."


def offer_meta(question: str, reason: str, callback_time: str | None) -> dict[str, Any]:
    """What the offering message remembers: the question behind it and what was promised."""
    return {
        "question": question[-_QUESTION_CHARS:],
        "reason": reason,
        "when": callback_time,
    }


@dataclass(frozen=True)
class OpenOffer:
    """A call-back offer the visitor has not answered yet."""

    question: str
    reason: str
    callback_time: str | None


def open_offer(meta: Mapping[str, Any] | None) -> OpenOffer | None:
    """The offer kept in a bot message's meta, if it holds one."""
    if not meta:
        return None
    value = meta.get(CALLBACK_META)
    if not isinstance(value, Mapping):
        return None
    question = value.get("question")
    reason = value.get("reason")
    when = value.get("when")
    return OpenOffer(
        question=question if isinstance(question, str) else "",
        reason=reason if isinstance(reason, str) else "",
        callback_time=when if isinstance(when, str) else None,
    )
