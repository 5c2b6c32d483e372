"""Open questions in the store: collected from the turns' `unanswered` events, or marked by the
owner as answered wrongly, each with a status the owner's actions move."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from talkme_consultant.helpers.kinds import EventKind, HandoffReason, MessageRole
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import DialogMessage, Event, OpenQuestion
from talkme_consultant.store.upsert import insert_for

_CHUNK = 500


@dataclass(frozen=True)
class QuestionRow:
    """One open question as the grouping and the owner's views need it."""

    id: int
    conversation_key: str
    question: str
    kind: str
    asked_at: float
    bot_answer: str | None
    resolution: str | None


class MarkOutcome(enum.Enum):
    """What marking a bot message wrong did."""

    MARKED = "marked"
    NO_MESSAGE = "no_message"
    NOT_BOT = "not_bot"
    NO_QUESTION = "no_question"
    ALREADY = "already"  # this answer was marked before
    ASKED_ALREADY = "asked_already"  # its visitor message is a question already


class QuestionRepository:
    """Stores open questions and their statuses."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def collect(self) -> int:
        """Turn `unanswered` events recorded since the last call into open questions; returns
        how many were added. Safe to run from several processes at once (one row per event)."""
        # Every page's badge collects: a read finds that nothing is new without taking the
        # write lock the webhooks need.
        async with self._sessions.read() as session:
            last = await session.scalar(select(func.max(OpenQuestion.event_id)))
            newer = await session.scalar(
                select(Event.id)
                .where(Event.kind == EventKind.UNANSWERED, Event.id > (last or 0))
                .limit(1)
            )
        if newer is None:
            return 0
        async with self._sessions.write() as session:
            last = await session.scalar(select(func.max(OpenQuestion.event_id)))
            rows = await session.execute(
                select(Event.id, Event.conversation_key, Event.data, Event.created_at)
                .where(Event.kind == EventKind.UNANSWERED, Event.id > (last or 0))
                .order_by(Event.id)
            )
            values = []
            for event_id, key, data, created_at in rows:
                question, kind = _read_event(data)
                if not question or key is None:
                    continue
                values.append(
                    {
                        "conversation_key": key,
                        "question": question,
                        "kind": kind,
                        "asked_at": created_at,
                        "event_id": event_id,
                        "status": "open",
                    }
                )
            for start in range(0, len(values), _CHUNK):
                await session.execute(
                    insert_for(session, OpenQuestion).on_conflict_do_nothing(
                        index_elements=["event_id"]
                    ),
                    values[start : start + _CHUNK],
                )
            return len(values)

    async def rows(self, status: str) -> list[QuestionRow]:
        """Every question with `status`, oldest first."""
        async with self._sessions.read() as session:
            result = await session.execute(
                select(
                    OpenQuestion.id,
                    OpenQuestion.conversation_key,
                    OpenQuestion.question,
                    OpenQuestion.kind,
                    OpenQuestion.asked_at,
                    OpenQuestion.bot_answer,
                    OpenQuestion.resolution,
                )
                .where(OpenQuestion.status == status)
                .order_by(OpenQuestion.id)
            )
            return [QuestionRow(*row) for row in result]

    async def count(self, status: str) -> int:
        """How many questions have `status`: every count of open questions the owner sees."""
        async with self._sessions.read() as session:
            found = await session.scalar(
                select(func.count()).select_from(OpenQuestion).where(OpenQuestion.status == status)
            )
            return int(found or 0)

    async def fingerprint(self, status: str) -> tuple[int, int]:
        """(count, newest id) of the questions with `status`: it changes whenever they do."""
        async with self._sessions.read() as session:
            row = (
                await session.execute(
                    select(func.count(), func.max(OpenQuestion.id)).where(
                        OpenQuestion.status == status
                    )
                )
            ).one()
            return int(row[0]), int(row[1] or 0)

    async def mark_wrong(self, message_id: int, *, now: float) -> MarkOutcome:
        """The owner says a bot message answered wrongly: the visitor's message before it becomes
        an open question (kind `wrong`), with the bot's answer beside it.

        A visitor message is one question however it came to be one: when the turn that
        answered it already made it a question (handed over for not knowing, collected before
        this is called), or another of its answers was marked, nothing is added."""
        async with self._sessions.write() as session:
            message = await session.get(DialogMessage, message_id)
            if message is None:
                return MarkOutcome.NO_MESSAGE
            if message.role != MessageRole.BOT:
                return MarkOutcome.NOT_BOT
            asked = await session.scalar(
                select(DialogMessage)
                .where(
                    DialogMessage.conversation_key == message.conversation_key,
                    DialogMessage.id < message_id,
                    DialogMessage.role == MessageRole.VISITOR,
                )
                .order_by(DialogMessage.id.desc())
                .limit(1)
            )
            if asked is None or not asked.text.strip():
                return MarkOutcome.NO_QUESTION
            # A turn writes the visitor's words, its reply and its events with one time, so a
            # question made from this visitor message was asked between it and this answer.
            asked_before = await session.scalar(
                select(OpenQuestion.id)
                .where(
                    OpenQuestion.conversation_key == message.conversation_key,
                    OpenQuestion.asked_at >= asked.created_at,
                    OpenQuestion.asked_at <= message.created_at,
                    OpenQuestion.bot_message_id.is_distinct_from(message_id),
                )
                .limit(1)
            )
            if asked_before is not None:
                return MarkOutcome.ASKED_ALREADY
            result = await session.execute(
                insert_for(session, OpenQuestion)
                .values(
                    conversation_key=message.conversation_key,
                    question=asked.text.strip(),
                    kind="wrong",
                    asked_at=asked.created_at,
                    bot_message_id=message_id,
                    bot_answer=message.text,
                    status="open",
                )
                .on_conflict_do_nothing(index_elements=["bot_message_id"])
            )
            added = int(result.rowcount)  # type: ignore[attr-defined]
            return MarkOutcome.MARKED if added else MarkOutcome.ALREADY

    async def dismiss(self, ids: Sequence[int], *, now: float) -> int:
        """Set open questions aside (spam, off-topic); returns how many were open."""
        async with self._sessions.write() as session:
            result = await session.execute(
                update(OpenQuestion)
                .where(OpenQuestion.id.in_(list(ids)), OpenQuestion.status == "open")
                .values(status="dismissed", resolution=None, resolved_at=now)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]


def _read_event(data: str) -> tuple[str, str]:
    """The question and its kind from an `unanswered` event's data (empty when unreadable).

    For an unresolved clarification the visitor's first question (`asked`) is the one to answer;
    their unclear reply to the options says little on its own.
    """
    try:
        parsed = json.loads(data)
    except ValueError:
        return "", ""
    if not isinstance(parsed, dict):
        return "", ""
    unclear = parsed.get("reason") == HandoffReason.UNCLEAR_CHOICE
    question = parsed.get("asked") if unclear else None
    if not isinstance(question, str) or not question.strip():
        question = parsed.get("question")
    if not isinstance(question, str):
        return "", ""
    return question.strip(), "unclear" if unclear else "not_known"
