"""The owner's overview of a period, counted with SQL aggregates (fast on 100,000 messages)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, and_, case, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from talkme_consultant.helpers.kinds import EventKind, MessageRole
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.models import Conversation, DialogMessage, Event, InboundMessage, Lead

# Bot replies whose intent means "answered from the knowledge base".
ANSWERED_INTENTS = ("answer",)


@dataclass
class DayCounts:
    """Conversations started on one day, by how they went."""

    start: float
    answered: int = 0
    clarified: int = 0
    handed_over: int = 0


@dataclass
class PeriodOverview:
    """Everything the overview page shows for one period."""

    conversations: int = 0
    visitor_messages: int = 0
    bot_replies: int = 0
    answered_replies: int = 0
    clarifying_questions: int = 0
    handoffs_by_reason: dict[str, int] = field(default_factory=dict)
    leads: int = 0
    bookings: int = 0  # leads the bot booked into the calendar itself
    open_questions: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    tokens: int = 0
    cost: float = 0.0
    model_outages: int = 0
    days: list[DayCounts] = field(default_factory=list)

    @property
    def answered_share(self) -> float | None:
        """Share of bot replies answered from the knowledge base (None before any reply)."""
        return self.answered_replies / self.bot_replies if self.bot_replies else None

    @property
    def handoffs(self) -> int:
        """Every handoff of the period, whatever its reason."""
        return sum(self.handoffs_by_reason.values())


def _has_event(kind: EventKind) -> ColumnElement[bool]:
    # An alias, so the check never correlates with an events table the outer query joins.
    other = aliased(Event)
    return exists().where(other.conversation_key == Conversation.key, other.kind == kind)


class OverviewRepository:
    """Aggregates for the console's overview."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def period(self, since: float, day_starts: Sequence[float]) -> PeriodOverview:
        """Figures for everything after `since`; `day_starts` (ascending) splits the chart."""
        view = PeriodOverview()
        async with self._sessions.read() as session:
            view.conversations = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Conversation)
                    .where(Conversation.created_at >= since)
                )
                or 0
            )
            view.visitor_messages = int(
                await session.scalar(
                    select(func.count())
                    .select_from(InboundMessage)
                    .where(InboundMessage.received_at >= since)
                )
                or 0
            )
            bot = (DialogMessage.role == MessageRole.BOT, DialogMessage.created_at >= since)
            replies, answered, tokens, cost, timed = (
                await session.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.sum(
                                case((DialogMessage.intent.in_(ANSWERED_INTENTS), 1), else_=0)
                            ),
                            0,
                        ),
                        func.coalesce(func.sum(DialogMessage.tokens), 0),
                        func.coalesce(func.sum(DialogMessage.cost), 0.0),
                        func.count(DialogMessage.latency_ms),
                    ).where(*bot)
                )
            ).one()
            view.bot_replies, view.answered_replies = int(replies), int(answered)
            view.tokens, view.cost = int(tokens), float(cost)
            for fraction, name in ((0.5, "latency_p50_ms"), (0.95, "latency_p95_ms")):
                if timed:
                    # The k-th smallest latency: a sort the database does, no rows come back.
                    offset = min(int(timed) - 1, int(fraction * (int(timed) - 1) + 0.5))
                    value = await session.scalar(
                        select(DialogMessage.latency_ms)
                        .where(*bot, DialogMessage.latency_ms.is_not(None))
                        .order_by(DialogMessage.latency_ms)
                        .offset(offset)
                        .limit(1)
                    )
                    setattr(view, name, float(value) if value is not None else None)
            for kind, count in await session.execute(
                select(Event.kind, func.count())
                .where(
                    Event.created_at >= since,
                    Event.kind.in_((EventKind.CLARIFY, EventKind.UNANSWERED, EventKind.LLM_OUTAGE)),
                )
                .group_by(Event.kind)
            ):
                if kind == EventKind.CLARIFY:
                    view.clarifying_questions = int(count)
                elif kind == EventKind.UNANSWERED:
                    view.open_questions = int(count)
                else:
                    view.model_outages = int(count)
            # A handoff's reason is inside its JSON data; grouping the distinct texts in SQL
            # keeps the rows read to a handful.
            for data, count in await session.execute(
                select(Event.data, func.count())
                .where(Event.kind == EventKind.HANDOFF, Event.created_at >= since)
                .group_by(Event.data)
            ):
                reason = str(_json_object(data).get("reason", "unknown"))
                view.handoffs_by_reason[reason] = view.handoffs_by_reason.get(reason, 0) + int(
                    count
                )
            view.leads = int(
                await session.scalar(
                    select(func.count()).select_from(Lead).where(Lead.created_at >= since)
                )
                or 0
            )
            view.bookings = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Lead)
                    .where(Lead.created_at >= since, Lead.status == "booked")
                )
                or 0
            )
            view.days = await _days(session, day_starts)
        return view


async def _days(session: AsyncSession, day_starts: Sequence[float]) -> list[DayCounts]:
    """Conversations per day: handed over, else clarified, else answered."""
    days = [DayCounts(start=start) for start in day_starts]
    if not days:
        return days
    # Day boundaries come from the caller (the business's time zone, DST included), so the
    # bucketing is the same CASE on SQLite and PostgreSQL.
    bucket = case(
        *[
            (Conversation.created_at >= start, index)
            for index, start in reversed(list(enumerate(day_starts)))
        ],
        else_=-1,
    )
    since = Conversation.created_at >= day_starts[0]
    totals = await session.execute(select(bucket, func.count()).where(since).group_by(bucket))

    # Handoffs and clarifications are a small share of conversations: reached from their
    # events, they cost a lookup each instead of two for every conversation of the period.
    def reached_by(kind: EventKind) -> Select[int, int]:
        return (
            select(bucket, func.count(distinct(Conversation.key)))
            .join(Event, and_(Event.conversation_key == Conversation.key, Event.kind == kind))
            .where(since)
            .group_by(bucket)
        )

    handed = await session.execute(reached_by(EventKind.HANDOFF))
    clarified = await session.execute(
        reached_by(EventKind.CLARIFY).where(~_has_event(EventKind.HANDOFF))
    )
    for index, count in totals:
        if 0 <= index < len(days):
            days[index].answered += int(count)
    for rows, name in ((handed, "handed_over"), (clarified, "clarified")):
        for index, count in rows:
            if 0 <= index < len(days):
                setattr(days[index], name, int(count))
                days[index].answered -= int(count)
    return days


def _json_object(data: str) -> dict[str, object]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
