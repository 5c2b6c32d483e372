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

from talkme_consultant.dialog.splitting import split_message
from talkme_consultant.helpers.kinds import EventKind, HandoffReason
from talkme_consultant.helpers.outcome import LeadInfo, TurnOutcome
from talkme_consultant.helpers.phones import extract_phones

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
_INTROS[HandoffReason.NOT_IN_KNOWLEDGE] = _INTROS[HandoffReason.LOW_CONFIDENCE]


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


@dataclass(frozen=True)
class CallbackTurns:
    """What a turn becomes when nobody is there to take the dialogue over: a phone number
    answering our offer is a lead, and a handoff is an offer (or a lead, when the number is
    already here). A lead ends the bot's part with the offline finish code."""

    max_message_chars: int
    offline_code: str | None  # None: the offline finish is switched off

    def take_number(
        self, visitor_text: str, visitor_name: str | None, offer: OpenOffer
    ) -> TurnOutcome | None:
        """The visitor answers our offer with a phone number: the lead (None: no number)."""
        phones = extract_phones(visitor_text)
        if not phones:
            return None
        outcome = TurnOutcome(visitor_text=visitor_text, replies=[])
        outcome.phone = phones[0]
        outcome.meta = {"intent": "callback", "answerer": "none"}
        outcome.lead = LeadInfo(
            name=visitor_name,
            phone=phones[0],
            interest=offer.question[:200] or None,
            summary=_callback_summary(offer, visitor_text),
        )
        outcome.add_event(EventKind.LEAD, interest=offer.question[:200])
        outcome.add_event(EventKind.CALLBACK_LEAD, reason=offer.reason)
        self._finish(outcome, accepted_text(offer.callback_time))
        return outcome

    def replace_handoff(
        self, outcome: TurnOutcome, operators: OperatorsNow, visitor_name: str | None
    ) -> None:
        """Turn a handoff into a call-back: offer it, or — a phone is already here — take it."""
        handoffs = outcome.events_of(EventKind.HANDOFF)
        reason = str(handoffs[-1].get("reason", "")) if handoffs else ""
        outcome.events = [event for event in outcome.events if event.kind != EventKind.HANDOFF]
        phones = extract_phones(outcome.visitor_text)
        if outcome.lead is None and phones:
            # «Позовите администратора, мой номер …»: no need to ask for it again.
            offer = OpenOffer(outcome.visitor_text, reason, operators.callback_time)
            outcome.phone = phones[0]
            outcome.lead = LeadInfo(
                name=outcome.visitor_name or visitor_name,
                phone=phones[0],
                interest=None,
                summary=_callback_summary(offer, outcome.visitor_text),
            )
            outcome.add_event(EventKind.LEAD, interest="")
        if outcome.lead is not None:
            outcome.add_event(EventKind.CALLBACK_LEAD, reason=reason)
            self._finish(outcome, accepted_text(operators.callback_time))
            return
        outcome.handed_off = False
        outcome.finish_code = None
        outcome.replies = split_message(
            offer_text(reason, operators.callback_time), self.max_message_chars
        )
        outcome.meta[CALLBACK_META] = offer_meta(
            outcome.visitor_text, reason, operators.callback_time
        )
        outcome.add_event(EventKind.CALLBACK_OFFERED, reason=reason)

    def _finish(self, outcome: TurnOutcome, text: str) -> None:
        outcome.replies = split_message(text, self.max_message_chars)
        outcome.handed_off = False
        outcome.finish_code = self.offline_code


def _callback_summary(offer: OpenOffer, visitor_text: str) -> str:
    lines = ["Администраторов не было в чате; посетитель оставил телефон для обратного звонка."]
    if offer.question:
        lines.append(f"Вопрос: {offer.question}")
    if offer.callback_time:
        lines.append(f"Обещано перезвонить {offer.callback_time}.")
    lines.append(f"visitor: {visitor_text}")
    return "\n".join(lines)[-3000:]
