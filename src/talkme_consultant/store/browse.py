"""Finding conversations for the owner: filters, text search, pages, and one transcript."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy import Select, exists, func, or_, select

from talkme_consultant.helpers.kinds import EventKind, MessageRole
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.figures import (
    clarified,
    had_event,
    handed_over,
    started_since,
    with_lead,
)
from talkme_consultant.store.models import Conversation, DialogMessage, Event


@dataclass(frozen=True)
class ConversationFilter:
    """What the owner narrowed the list to; None means "any"."""

    since: float | None = None
    until: float | None = None
    # Started at or after this time: how the overview's figures count a period.
    started_since: float | None = None
    handed_over: bool | None = None
    lead: bool | None = None
    clarified: bool | None = None
    guard: bool | None = None
    answerer: str | None = None
    text: str | None = None
    # Conversations already found by their text (see `ConversationBrowser.find`).
    keys: tuple[str, ...] | None = None


@dataclass
class ConversationRow:
    """One line of the conversation list."""

    key: str
    visitor_name: str | None
    client_name: str | None
    phone: str | None
    state: str
    messages: int
    created_at: float
    last_activity: float
    handed_over: bool = False
    has_lead: bool = False
    clarified: bool = False
    guard: bool = False


@dataclass
class TranscriptMessage:
    """A remembered message with the bot's meta read out of JSON."""

    id: int
    role: str
    text: str
    created_at: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class TranscriptEvent:
    """An event of the conversation, with its data read out of JSON."""

    id: int
    kind: str
    data: dict[str, Any]
    created_at: float


# Above this many matching conversations the keys stay in the database (bind-parameter limits).
_MAX_KEYS = 10_000


def _case_variants(text: str) -> list[str]:
    """SQLite folds case for ASCII letters only, so Cyrillic is searched as typed, lower-case
    and capitalised (PostgreSQL's ILIKE folds it anyway)."""
    return list(dict.fromkeys([text, text.lower(), text.capitalize()]))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Any select over conversations: a count or a page of columns.
_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _filtered(query: _Query, chosen: ConversationFilter) -> _Query:
    if chosen.since is not None:
        query = query.where(Conversation.last_activity >= chosen.since)
    if chosen.until is not None:
        query = query.where(Conversation.last_activity < chosen.until)
    if chosen.started_since is not None:
        query = query.where(started_since(chosen.started_since))
    for wanted, condition in (
        (chosen.handed_over, handed_over()),
        (chosen.clarified, clarified()),
        (chosen.guard, had_event(EventKind.GUARD)),
        (chosen.lead, with_lead()),
    ):
        if wanted is not None:
            query = query.where(condition if wanted else ~condition)
    if chosen.answerer:
        # Only bot replies name an answerer; leaving `role` out lets the database look the
        # conversation's messages up by key instead of walking every bot reply.
        query = query.where(
            exists().where(
                DialogMessage.conversation_key == Conversation.key,
                DialogMessage.answerer == chosen.answerer,
            )
        )
    if chosen.keys is not None:
        query = query.where(Conversation.key.in_(chosen.keys))
    if chosen.text:
        # One pass over the messages (not a search per conversation).
        query = query.where(Conversation.key.in_(_text_matches(chosen.text)))
    return query


def _text_matches(text: str) -> Select[str]:
    """Keys of conversations with a message holding `text`."""
    patterns = [f"%{_escape_like(v)}%" for v in _case_variants(text)]
    return select(DialogMessage.conversation_key).where(
        or_(*[DialogMessage.text.ilike(p, escape="\\") for p in patterns])
    )


class ConversationBrowser:
    """Read-only queries behind the console's conversation pages."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def any_conversation(self) -> bool:
        """True once TalkMe (or anyone through the webhook) has started a conversation."""
        async with self._sessions.read() as session:
            return bool(await session.scalar(select(exists().select_from(Conversation))))

    async def count(self, chosen: ConversationFilter) -> int:
        """How many conversations match."""
        async with self._sessions.read() as session:
            query = _filtered(select(func.count()).select_from(Conversation), chosen)
            return int(await session.scalar(query) or 0)

    async def find(
        self, chosen: ConversationFilter, *, offset: int, limit: int
    ) -> tuple[int, list[ConversationRow]]:
        """How many match, and one page of them. A text search reads the messages once for
        both: the matching keys are looked up first and the rest is filtered by them."""
        if chosen.text:
            async with self._sessions.read() as session:
                found = await session.execute(_text_matches(chosen.text).distinct())
                keys = [key for (key,) in found]
            if len(keys) <= _MAX_KEYS:
                chosen = replace(chosen, text=None, keys=tuple(keys))
        return await self.count(chosen), await self.page(chosen, offset=offset, limit=limit)

    async def page(
        self, chosen: ConversationFilter, *, offset: int, limit: int
    ) -> list[ConversationRow]:
        """Matching conversations, most recently active first, with their markers."""
        columns = select(
            Conversation.key,
            Conversation.visitor_name,
            Conversation.client_name,
            Conversation.phone,
            Conversation.state,
            Conversation.messages_count,
            Conversation.created_at,
            Conversation.last_activity,
            handed_over(),
            with_lead(),
            clarified(),
            had_event(EventKind.GUARD),
        )
        query = _filtered(columns, chosen).order_by(
            Conversation.last_activity.desc(), Conversation.key
        )
        async with self._sessions.read() as session:
            rows = await session.execute(query.offset(offset).limit(limit))
            return [ConversationRow(*row) for row in rows]

    async def transcript(self, key: str, *, limit: int = 1000) -> list[TranscriptMessage]:
        """The remembered dialogue, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(
                    DialogMessage.id,
                    DialogMessage.role,
                    DialogMessage.text,
                    DialogMessage.created_at,
                    DialogMessage.meta,
                )
                .where(DialogMessage.conversation_key == key)
                .order_by(DialogMessage.id)
                .limit(limit)
            )
            return [
                TranscriptMessage(id, role, text, created_at, _object(meta))
                for id, role, text, created_at, meta in rows
            ]

    async def events(self, key: str) -> list[TranscriptEvent]:
        """The conversation's events, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(Event.id, Event.kind, Event.data, Event.created_at)
                .where(Event.conversation_key == key)
                .order_by(Event.id)
            )
            return [TranscriptEvent(id, kind, _object(data), at) for id, kind, data, at in rows]

    async def bot_message(self, key: str, message_id: int) -> bool:
        """True when `message_id` is a bot reply of conversation `key`."""
        async with self._sessions.read() as session:
            found = await session.scalar(
                select(DialogMessage.id).where(
                    DialogMessage.id == message_id,
                    DialogMessage.conversation_key == key,
                    DialogMessage.role == MessageRole.BOT,
                )
            )
            return found is not None

    async def events_of_kind(self, kind: EventKind, *, limit: int) -> list[TranscriptEvent]:
        """The newest events of one kind."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(Event.id, Event.kind, Event.data, Event.created_at, Event.conversation_key)
                .where(Event.kind == kind)
                .order_by(Event.id.desc())
                .limit(limit)
            )
            return [
                TranscriptEvent(id, kind_, {**_object(data), "conversation": key}, at)
                for id, kind_, data, at, key in rows
            ]


def _object(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
