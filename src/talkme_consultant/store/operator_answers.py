"""Questions handed to an operator, the operators' answers to them, and sync cursors.

A handoff stores its question (`ConversationRepository.finish_turn`); the service later reads the
dialogue in TalkMe and stores the operator's reply here against that question. Other rooms read
the answers through `operator_answers_for(conversation_key)`, `operator_answers_in(keys)` and
`list_answers()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import HandedOverQuestion, OperatorAnswer, SyncCursor
from talkme_consultant.store.upsert import insert_for

WAITING = "waiting"
ANSWERED = "answered"
EXPIRED = "expired"


@dataclass(frozen=True)
class WaitingQuestion:
    """A handed-over question whose answer has not been read yet."""

    id: int
    conversation_key: str
    question: str
    handed_over_at: float


class OperatorAnswerRepository:
    """Reads and writes handed-over questions, operator answers and sync cursors."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def waiting(
        self, *, since: float, limit: int, keys: Sequence[str] | None = None
    ) -> list[WaitingQuestion]:
        """Questions still waiting, handed over at `since` or later; the least recently checked
        first, so every one gets its turn however many wait. `keys` narrows to conversations."""
        async with self._sessions.read() as session:
            query = (
                select(HandedOverQuestion)
                .where(HandedOverQuestion.status == WAITING)
                .where(HandedOverQuestion.handed_over_at >= since)
                .order_by(func.coalesce(HandedOverQuestion.checked_at, 0.0), HandedOverQuestion.id)
                .limit(limit)
            )
            if keys is not None:
                query = query.where(HandedOverQuestion.conversation_key.in_(list(keys)))
            rows = (await session.execute(query)).scalars()
            return [
                WaitingQuestion(row.id, row.conversation_key, row.question, row.handed_over_at)
                for row in rows
            ]

    async def oldest_waiting_at(self) -> float | None:
        """When the oldest waiting question was handed over (None: nothing waits)."""
        async with self._sessions.read() as session:
            value = await session.scalar(
                select(func.min(HandedOverQuestion.handed_over_at)).where(
                    HandedOverQuestion.status == WAITING
                )
            )
            return float(value) if value is not None else None

    async def mark_checked(self, ids: Sequence[int], now: float) -> None:
        """These questions were looked up and no answer was there yet."""
        if not ids:
            return
        async with self._sessions.write() as session:
            await session.execute(
                update(HandedOverQuestion)
                .where(HandedOverQuestion.id.in_(list(ids)))
                .values(checked_at=now)
            )

    async def expire(self, before: float) -> int:
        """Stop waiting for answers to questions handed over before `before`."""
        async with self._sessions.write() as session:
            result = await session.execute(
                update(HandedOverQuestion)
                .where(HandedOverQuestion.status == WAITING)
                .where(HandedOverQuestion.handed_over_at < before)
                .values(status=EXPIRED)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def record_answer(
        self, question: WaitingQuestion, answer: str, operator_at: float, now: float
    ) -> bool:
        """Store the operator's answer to `question` once; False when it was already stored
        or the question is gone (the visitor was forgotten meanwhile)."""
        async with self._sessions.write() as session:
            marked = await session.execute(
                update(HandedOverQuestion)
                .where(HandedOverQuestion.id == question.id)
                .where(HandedOverQuestion.status == WAITING)
                .values(status=ANSWERED, checked_at=now)
            )
            if not marked.rowcount:  # type: ignore[attr-defined]
                return False
            row = insert_for(session, OperatorAnswer).values(
                conversation_key=question.conversation_key,
                question_id=question.id,
                question=question.question,
                answer=answer,
                operator_at=operator_at,
                harvested_at=now,
            )
            await session.execute(row.on_conflict_do_nothing(index_elements=["question_id"]))
            return True

    async def operator_answers_for(self, conversation_key: str) -> list[OperatorAnswer]:
        """The operator answers stored for one conversation, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(OperatorAnswer)
                .where(OperatorAnswer.conversation_key == conversation_key)
                .order_by(OperatorAnswer.id)
            )
            return list(rows.scalars())

    async def operator_answers_in(self, conversation_keys: Sequence[str]) -> list[OperatorAnswer]:
        """The operator answers stored for any of these conversations, oldest first."""
        if not conversation_keys:
            return []
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(OperatorAnswer)
                .where(OperatorAnswer.conversation_key.in_(list(conversation_keys)))
                .order_by(OperatorAnswer.id)
            )
            return list(rows.scalars())

    async def list_answers(self, *, limit: int = 100) -> list[OperatorAnswer]:
        """The newest operator answers first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(OperatorAnswer).order_by(OperatorAnswer.id.desc()).limit(limit)
            )
            return list(rows.scalars())

    async def cursor(self, name: str) -> float | None:
        """Where the periodic reading `name` stopped (UNIX seconds), None before its first run."""
        async with self._sessions.read() as session:
            value = await session.scalar(select(SyncCursor.position).where(SyncCursor.name == name))
            return float(value) if value is not None else None

    async def move_cursor(self, name: str, position: float, now: float) -> None:
        """Remember that `name` has read everything up to `position`."""
        async with self._sessions.write() as session:
            row = insert_for(session, SyncCursor).values(
                name=name, position=position, updated_at=now
            )
            await session.execute(
                row.on_conflict_do_update(
                    index_elements=["name"], set_={"position": position, "updated_at": now}
                )
            )
