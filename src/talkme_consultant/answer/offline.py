"""The offline answerer: a real FAQ bot with no model and no key.

It answers small talk with fixed phrases, a question with the best knowledge record when
retrieval is confident, and hands over to a person otherwise.
"""

from __future__ import annotations

from talkme_consultant.answer.base import Draft, HistoryMessage, Intent, TurnContext
from talkme_consultant.answer.intents import read_small_talk
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.knowledge.records import Record
from talkme_consultant.knowledge.search import Hit, Retriever


def render_record(record: Record) -> str:
    """What the bot says for a record: the FAQ answer, or the record as readable lines."""
    if record.answer and record.answer.strip() and record.answer.strip() != record.text.strip():
        return record.answer.strip()
    return record.text.strip()


class OfflineAnswerer:
    """Answers from the knowledge base by retrieval alone."""

    name = "offline"

    def __init__(self, retriever: Retriever, phrases: Phrases, *, threshold: float) -> None:
        self._retriever = retriever
        self._phrases = phrases
        self._threshold = threshold

    async def answer(self, ctx: TurnContext) -> Draft:
        """One turn: small talk, a person, a confident record, or a handoff."""
        talk = read_small_talk(ctx.text)
        if talk.wants_person:
            return Draft(
                text=self._phrases.handoff,
                intent=Intent.OPERATOR,
                reason="visitor_request",
                answerer=self.name,
            )
        if not talk.question:
            if talk.goodbye:
                return Draft(text=self._phrases.goodbye, intent=Intent.GOODBYE, answerer=self.name)
            if talk.thanks:
                return Draft(text=self._phrases.thanks, intent=Intent.THANKS, answerer=self.name)
            if talk.greeting:
                return Draft(
                    text=self._phrases.greeting, intent=Intent.GREETING, answerer=self.name
                )
        hits = await self._retriever.search(ctx.text, k=5)
        return self.draft_from_hits(hits, greeting=talk.greeting)

    def draft_from_hits(self, hits: list[Hit], *, greeting: bool = False) -> Draft:
        """Answer with the best hit when it is confident enough, else hand over."""
        if not hits or hits[0].confidence < self._threshold:
            best = f"{hits[0].confidence:.2f}" if hits else "none"
            return Draft(
                text=self._phrases.unknown,
                intent=Intent.UNKNOWN,
                reason=f"low_confidence ({best})",
                found=hits,
                answerer=self.name,
            )
        text = render_record(hits[0].record)
        if greeting:
            text = f"Здравствуйте! {text}"
        return Draft(
            text=text,
            intent=Intent.ANSWER,
            used_records=[hits[0]],
            found=hits,
            answerer=self.name,
        )

    async def summarize(self, previous_summary: str | None, messages: list[HistoryMessage]) -> str:
        """Without a model the summary is the visitor's own recent questions, verbatim."""
        asked = [m.text for m in messages if m.role == "visitor"][-5:]
        parts = [previous_summary] if previous_summary else []
        parts.extend(f"Посетитель спрашивал: {text}" for text in asked)
        return "\n".join(parts)[-2000:]
