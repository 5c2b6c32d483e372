"""How a draft becomes what a turn sends and records: the replies cut to TalkMe's message
length, the finish code, a handoff and its reason, a lead, and the reply's meta (the records
used and where they came from, the topic kept, a clarifying question's or a list's options)."""

from __future__ import annotations

from dataclasses import dataclass

from talkme_consultant.answer.base import Draft, Intent, TurnContext
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.dialog.choice import CLARIFY_META, LIST_META, TOPIC_META
from talkme_consultant.dialog.splitting import split_message
from talkme_consultant.helpers.kinds import EventKind, HandoffReason
from talkme_consultant.helpers.outcome import LeadInfo, TurnOutcome

# How much of the visitor's question a clarifying message's meta keeps.
_ASKED_CHARS = 500


@dataclass(frozen=True)
class FinishCodes:
    """TalkMe finish codes; an empty code switches that finish off."""

    operator: str = "OPERATOR_REQUEST"
    success: str = "SUCCESS"
    irrelevant: str = "IRRELEVANT_MESSAGE"
    offline: str = "OPERATORS_OFFLINE"


class ReplyWriter:
    """Writes a draft into the turn's outcome; the engine decides which draft that is."""

    def __init__(self, codes: FinishCodes, phrases: Phrases, max_message_chars: int) -> None:
        self._codes = codes
        self._phrases = phrases
        self._max_chars = max_message_chars

    def apply(self, draft: Draft, ctx: TurnContext, outcome: TurnOutcome) -> None:
        """Turn the draft's intent into replies, finish codes, handoffs and leads."""
        codes = self._codes
        outcome.meta = {
            "intent": draft.intent.value,
            "answerer": draft.answerer,
            "records": [hit.record_id for hit in draft.used_records],
            # Where each used record came from, so the owner can find it again.
            "citations": [
                {"id": hit.record_id, **hit.record.source.model_dump(exclude_none=True)}
                for hit in draft.used_records
            ],
            "confidence": round(draft.found[0].confidence, 3) if draft.found else None,
        }
        if draft.missing:
            outcome.meta["missing"] = list(draft.missing)
        topic = draft.topic or ctx.topic
        if topic is not None:
            # Kept with the reply, so the next message leans on it after a restart too.
            outcome.meta[TOPIC_META] = topic.model_dump(mode="json", exclude_defaults=True)
        if draft.intent is Intent.OPERATOR:
            self.hand_over(
                outcome, draft.text or self._phrases.handoff, HandoffReason.VISITOR_REQUEST
            )
            return
        if draft.intent is Intent.UNKNOWN:
            if draft.reason == HandoffReason.UNCLEAR_CHOICE:
                reason = HandoffReason.UNCLEAR_CHOICE
            elif draft.missing:
                reason = HandoffReason.NOT_IN_KNOWLEDGE
            else:
                reason = HandoffReason.LOW_CONFIDENCE
            self.hand_over(outcome, draft.text or self._phrases.unknown, reason)
            outcome.add_event(EventKind.UNANSWERED, question=ctx.text, reason=draft.reason)
            return
        if draft.intent is Intent.CLARIFY and draft.options:
            outcome.meta[CLARIFY_META] = {
                "options": [option.model_dump() for option in draft.options],
                "question": ctx.text[-_ASKED_CHARS:],
            }
            outcome.add_event(EventKind.CLARIFY, question=ctx.text, options=len(draft.options))
        if draft.intent is Intent.ANSWER and len(draft.listed) >= 2:
            outcome.meta[LIST_META] = {"options": [row.model_dump() for row in draft.listed]}
        if draft.intent is Intent.BOOKING and (draft.phone or ctx.phone):
            phone = draft.phone or ctx.phone or ""
            outcome.lead = LeadInfo(
                name=draft.visitor_name or ctx.visitor_name,
                phone=phone,
                interest=draft.interest,
                summary=_lead_summary(ctx, draft),
            )
            outcome.add_event(EventKind.LEAD, interest=draft.interest or "")
            self.hand_over(
                outcome, draft.text or self._phrases.lead_accepted, HandoffReason.BOOKING
            )
            return
        outcome.replies = split_message(draft.text, self._max_chars)
        if draft.intent is Intent.OFF_TOPIC and codes.irrelevant:
            outcome.finish_code = codes.irrelevant
        elif draft.intent is Intent.GOODBYE and codes.success:
            outcome.finish_code = codes.success

    def hand_over(self, outcome: TurnOutcome, text: str, reason: HandoffReason) -> None:
        """A person takes over: `text` is sent and TalkMe is told to pass the chat on."""
        outcome.replies = split_message(text, self._max_chars)
        outcome.handed_off = True
        outcome.finish_code = self._codes.operator or None
        outcome.add_event(EventKind.HANDOFF, reason=reason)


def _lead_summary(ctx: TurnContext, draft: Draft) -> str:
    lines = []
    if ctx.summary:
        lines.append(ctx.summary)
    lines.extend(f"{m.role}: {m.text}" for m in ctx.history[-6:])
    lines.append(f"visitor: {ctx.text}")
    if draft.interest:
        lines.append(f"interest: {draft.interest}")
    return "\n".join(lines)[-3000:]
