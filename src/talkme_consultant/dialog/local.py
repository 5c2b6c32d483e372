"""A dialogue kept in this process: what `chat` and `eval answers` use instead of the store.

It remembers the same things a stored conversation does — the messages with their meta (a
pending clarifying question lives there), the rolling summary, the visitor's name and phone — so a
dialogue played here behaves like one through TalkMe.
"""

from __future__ import annotations

import itertools
from typing import Protocol

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.engine import TurnInput
from talkme_consultant.dialog.memory import MemoryMessage
from talkme_consultant.helpers.kinds import MessageRole
from talkme_consultant.helpers.outcome import TurnOutcome


class TurnEngine(Protocol):
    """Anything that runs a turn: the dialog engine, or a stand-in in tests."""

    async def run_turn(self, turn: TurnInput) -> TurnOutcome:
        """Decide the replies and actions for one visitor turn."""
        ...


class LocalDialogue:
    """One visitor's dialogue with `engine`, remembered in memory between turns."""

    def __init__(self, engine: TurnEngine, key: str) -> None:
        self._engine = engine
        self._key = key
        self._ids = itertools.count(1)
        self.memory: list[MemoryMessage] = []
        self.summary: str | None = None
        self.visitor_name: str | None = None
        self.phone: str | None = None

    async def say(self, text: str) -> TurnOutcome:
        """Run the visitor's message as one turn and remember both sides."""
        outcome = await self._engine.run_turn(
            TurnInput(
                conversation_key=self._key,
                texts=[text],
                attachments_only=False,
                memory=list(self.memory),
                summary=self.summary,
                visitor_name=self.visitor_name,
                phone=self.phone,
            )
        )
        self.memory.append(
            MemoryMessage(next(self._ids), HistoryMessage(role=MessageRole.VISITOR, text=text))
        )
        if outcome.replies:
            reply = outcome.reply_text
            self.memory.append(
                MemoryMessage(
                    next(self._ids), HistoryMessage(role=MessageRole.BOT, text=reply), outcome.meta
                )
            )
        if outcome.summary is not None and outcome.summarized_upto is not None:
            self.summary = outcome.summary
            self.memory = [m for m in self.memory if m.id > outcome.summarized_upto]
        self.visitor_name = outcome.visitor_name or self.visitor_name
        self.phone = outcome.phone or self.phone
        return outcome
