"""What the dialogue's memory says at the start of a turn: the messages kept, and what our last
message left open (a clarifying question's options, a listed set of rows, a call-back offer) or
what the dialogue was about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from talkme_consultant.answer.base import ClarifyOption, DialogueTopic, HistoryMessage
from talkme_consultant.dialog.callback import OpenOffer, open_offer
from talkme_consultant.dialog.choice import CLARIFY_META, listed_options, pending_options, topic_of
from talkme_consultant.helpers.kinds import EventKind, MessageRole
from talkme_consultant.helpers.outcome import TurnOutcome


@dataclass(frozen=True)
class MemoryMessage:
    """A remembered message with its store id (the summary boundary is an id) and, for the
    bot's messages, the turn's meta (a clarifying question keeps its options there)."""

    id: int
    message: HistoryMessage
    meta: Mapping[str, Any] | None = None


def offer_open(memory: Sequence[MemoryMessage]) -> OpenOffer | None:
    """Our call-back offer when it is the last message of the dialogue."""
    if not memory or memory[-1].message.role != MessageRole.BOT:
        return None
    return open_offer(memory[-1].meta)


def pending_clarification(memory: Sequence[MemoryMessage]) -> list[ClarifyOption]:
    """The options of our clarifying question when it is the last message of the dialogue."""
    if not memory or memory[-1].message.role != MessageRole.BOT:
        return []
    return pending_options(memory[-1].meta)


def last_topic(memory: Sequence[MemoryMessage]) -> DialogueTopic | None:
    """What the dialogue was about after its last bot message that kept a topic."""
    for message in reversed(memory):
        if message.message.role == MessageRole.BOT and (topic := topic_of(message.meta)):
            return topic
    return None


def pending_list(memory: Sequence[MemoryMessage]) -> list[ClarifyOption]:
    """The rows our last message listed, when it is the last message of the dialogue."""
    if not memory or memory[-1].message.role != MessageRole.BOT:
        return []
    return listed_options(memory[-1].meta)


def note_first_question(outcome: TurnOutcome, memory: Sequence[MemoryMessage]) -> None:
    """Name the question the clarification was about in the `unanswered` event: that is what
    the owner has to answer, not the visitor's unclear reply to the options."""
    meta = memory[-1].meta if memory else None
    clarify = meta.get(CLARIFY_META) if meta else None
    asked = clarify.get("question") if isinstance(clarify, Mapping) else None
    if not isinstance(asked, str) or not asked.strip():
        return
    for data in outcome.events_of(EventKind.UNANSWERED):
        data["asked"] = asked
