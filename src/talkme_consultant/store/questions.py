"""Open questions in the store: collected from the turns' `unanswered` events, or marked by the
owner as answered wrongly, each with a status the owner's actions move and the group of
near-duplicates it was put in (`group_id`, the id of the group's first question).

The grouping itself is the service's (`service/open_questions.py`); the store keeps it, finds the
questions not grouped yet, and reads a page of groups with SQL aggregates."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import ColumnElement, bindparam, func, select, update

from talkme_consultant.helpers.kinds import EventKind, HandoffReason, MessageRole
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import DialogMessage, Event, OpenQuestion
from talkme_consultant.store.upsert import insert_for

_CHUNK = 500
# Long lists are read and written this many rows at a time: thousands of rows at once would
# hold the event loop, or SQLite's write lock, for tens of milliseconds.
_PAGE = 2000
# Rows read per query when thousands are read in a row: turning each page into rows holds the
# event loop, and a short page lets a webhook or a health check in between.
_READ_PAGE = 500


@dataclass(frozen=True, slots=True)
class QuestionRow:
    """One open question as the grouping and the owner's views need it."""

    id: int
    conversation_key: str
    question: str
    kind: str
    asked_at: float
    bot_answer: str | None
    resolution: str | None
    group_id: int | None = None


# Rows read by the thousand are tuples of plain values, which Python's garbage collector stops
# tracking: kept as objects, they made it walk the whole heap (~100 ms) during a regrouping.


class Ungrouped(NamedTuple):
    """A question not put in a group yet."""

    id: int
    question: str
    status: str


class OpenText(NamedTuple):
    """An open question's words and the group it is in, as a regrouping reads them."""

    id: int
    question: str
    group_id: int | None


@dataclass(frozen=True)
class GroupCount:
    """A group of one status as a page lists it: how many of its questions have that status and
    when the newest of them was asked."""

    group_id: int
    count: int
    last_asked_at: float


_ROW_COLUMNS = (
    OpenQuestion.id,
    OpenQuestion.conversation_key,
    OpenQuestion.question,
    OpenQuestion.kind,
    OpenQuestion.asked_at,
    OpenQuestion.bot_answer,
    OpenQuestion.resolution,
    OpenQuestion.group_id,
)


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
                select(*_ROW_COLUMNS).where(OpenQuestion.status == status).order_by(OpenQuestion.id)
            )
            return [QuestionRow(*row) for row in result]

    async def newest_open(self, limit: int) -> list[OpenText]:
        """The newest `limit` open questions, oldest first, read a page at a time."""
        found: list[OpenText] = []
        below: int | None = None
        while len(found) < limit:
            take = min(_READ_PAGE, limit - len(found))
            query = select(OpenQuestion.id, OpenQuestion.question, OpenQuestion.group_id).where(
                OpenQuestion.status == "open"
            )
            if below is not None:
                query = query.where(OpenQuestion.id < below)
            async with self._sessions.read() as session:
                result = await session.execute(query.order_by(OpenQuestion.id.desc()).limit(take))
                page = [OpenText(*row) for row in result]
            found.extend(page)
            if len(page) < take:
                break
            below = page[-1].id
        found.reverse()
        return found

    async def ungrouped(self, limit: int) -> list[Ungrouped]:
        """Up to `limit` questions not put in a group yet, oldest first."""
        async with self._sessions.read() as session:
            result = await session.execute(
                select(OpenQuestion.id, OpenQuestion.question, OpenQuestion.status)
                .where(OpenQuestion.group_id.is_(None))
                .order_by(OpenQuestion.id)
                .limit(limit)
            )
            return [Ungrouped(*row) for row in result]

    async def leaders(self, status: str) -> list[tuple[int, str]]:
        """Each group with questions of `status`, as (group id, its first such question), the
        question a new one is compared with."""
        first = (
            select(func.min(OpenQuestion.id))
            .where(OpenQuestion.status == status, OpenQuestion.group_id.is_not(None))
            .group_by(OpenQuestion.group_id)
        )
        async with self._sessions.read() as session:
            result = await session.execute(
                select(OpenQuestion.group_id, OpenQuestion.question)
                .where(OpenQuestion.id.in_(first))
                .order_by(OpenQuestion.id)
            )
            return [(group_id, text) for group_id, text in result if group_id is not None]

    async def join_groups(self, groups: Mapping[int, int]) -> None:
        """Put questions (id → group id) in their groups, each only while it is in none: when
        processes group at once, the first to write wins."""
        await self._set_groups(groups, OpenQuestion.group_id.is_(None))

    async def regroup(self, groups: Mapping[int, int]) -> None:
        """Move open questions (id → group id) to new groups, whatever group they were in; a
        question resolved meanwhile stays where it was."""
        await self._set_groups(groups, OpenQuestion.status == "open")

    async def _set_groups(self, groups: Mapping[int, int], condition: ColumnElement[bool]) -> None:
        # One statement for many rows (asyncpg counts none of them), one transaction a chunk:
        # the write lock is never held for long.
        statement = (
            update(OpenQuestion.__table__)  # type: ignore[arg-type]
            .where(OpenQuestion.id == bindparam("row"), condition)
            .values(group_id=bindparam("group"))
        )
        items = [{"row": row, "group": group} for row, group in groups.items()]
        for start in range(0, len(items), _PAGE):
            async with self._sessions.write() as session:
                await session.execute(statement, items[start : start + _PAGE])

    async def count(self, status: str) -> int:
        """How many questions have `status`: every count of open questions the owner sees."""
        async with self._sessions.read() as session:
            found = await session.scalar(
                select(func.count()).select_from(OpenQuestion).where(OpenQuestion.status == status)
            )
            return int(found or 0)

    async def group_totals(self, status: str) -> tuple[int, int]:
        """How many groups have questions of `status`, and how many such questions they hold."""
        async with self._sessions.read() as session:
            row = (
                await session.execute(
                    select(func.count(func.distinct(OpenQuestion.group_id)), func.count()).where(
                        OpenQuestion.status == status, OpenQuestion.group_id.is_not(None)
                    )
                )
            ).one()
            return int(row[0]), int(row[1])

    async def group_counts(self, status: str, limit: int, offset: int) -> list[GroupCount]:
        """Groups `offset`…`offset+limit` of `status`: most asked first, then most recently
        asked, then oldest."""
        count = func.count().label("count")
        last = func.max(OpenQuestion.asked_at).label("last")
        async with self._sessions.read() as session:
            result = await session.execute(
                select(OpenQuestion.group_id, count, last)
                .where(OpenQuestion.status == status, OpenQuestion.group_id.is_not(None))
                .group_by(OpenQuestion.group_id)
                .order_by(count.desc(), last.desc(), OpenQuestion.group_id)
                .limit(limit)
                .offset(offset)
            )
            return [GroupCount(g, int(n), float(at)) for g, n, at in result if g is not None]

    async def members(self, status: str, group_ids: Sequence[int]) -> list[QuestionRow]:
        """The questions of `status` in the groups `group_ids`, oldest first."""
        if not group_ids:
            return []
        async with self._sessions.read() as session:
            # Sorted here: ORDER BY id made SQLite walk every row of the status in id order
            # instead of looking up the groups in their index.
            # Streamed a page at a time: a first page's groups can hold thousands of questions,
            # and turning them all into rows at once would hold the event loop meanwhile.
            result = await session.stream(
                select(*_ROW_COLUMNS).where(
                    OpenQuestion.status == status, OpenQuestion.group_id.in_(list(group_ids))
                )
            )
            rows: list[QuestionRow] = []
            async for page in result.partitions(_READ_PAGE):
                rows.extend(QuestionRow(*row) for row in page)
            rows.sort(key=lambda row: row.id)
            return rows

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
