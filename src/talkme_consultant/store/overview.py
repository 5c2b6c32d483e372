"""The owner's overview of a period, counted with SQL aggregates (fast on 100,000 messages)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from talkme_consultant.helpers.kinds import EventKind, MessageRole
from talkme_consultant.store.database import Sessions
from talkme_consultant.store.figures import clarified, handed_over, started_since, with_lead
from talkme_consultant.store.leads import LeadStatus
from talkme_consultant.store.models import (
    Conversation,
    DialogMessage,
    Event,
    InboundMessage,
    Lead,
)

# Bot replies whose intent means "answered from the knowledge base".
ANSWERED_INTENTS = ("answer",)


@dataclass
class DayCounts:
    """Conversations started on one day, by how they went (each counted once: handed over, else
    clarified, else answered by the bot alone)."""

    start: float
    answered: int = 0
    clarified: int = 0
    handed_over: int = 0
    leads: int = 0

    @property
    def total(self) -> int:
        """Every conversation started that day."""
        return self.answered + self.clarified + self.handed_over


@dataclass
class PeriodOverview:
    """Everything the overview page shows for one period.

    The conversation figures are the sums of the chart's days, counted with the expressions of
    `store/figures.py` that the conversation list filters with too.
    """

    visitor_messages: int = 0
    bot_replies: int = 0
    answered_replies: int = 0
    handoffs_by_reason: dict[str, int] = field(default_factory=dict)
    bookings: int = 0  # leads the bot booked into the calendar itself
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
    def conversations(self) -> int:
        """Conversations started in the period."""
        return sum(day.total for day in self.days)

    @property
    def answered(self) -> int:
        """Conversations of the period the bot answered alone, with no clarifying question."""
        return sum(day.answered for day in self.days)

    @property
    def clarified(self) -> int:
        """Conversations of the period with a clarifying question and no handoff."""
        return sum(day.clarified for day in self.days)

    @property
    def handed_over(self) -> int:
        """Conversations of the period handed to a person."""
        return sum(day.handed_over for day in self.days)

    @property
    def leads(self) -> int:
        """Conversations of the period that left a lead."""
        return sum(day.leads for day in self.days)


class OverviewRepository:
    """Aggregates for the console's overview."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def period(self, day_starts: Sequence[float]) -> PeriodOverview:
        """Figures for everything since the first of `day_starts` (ascending local midnights),
        which also split the chart."""
        view = PeriodOverview()
        if not day_starts:
            return view
        since = day_starts[0]
        async with self._sessions.read() as session:
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
            view.model_outages = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Event)
                    .where(Event.kind == EventKind.LLM_OUTAGE, Event.created_at >= since)
                )
                or 0
            )
            view.handoffs_by_reason = await _reasons(session, since)
            view.bookings = int(
                await session.scalar(
                    select(func.count())
                    .select_from(Lead)
                    .where(Lead.created_at >= since, Lead.status == LeadStatus.BOOKED)
                )
                or 0
            )
            view.days = await _days(session, day_starts)
        return view


async def _reasons(session: AsyncSession, since: float) -> dict[str, int]:
    """Why the period's handed-over conversations were handed over, one reason each (their
    latest handoff's), so the reasons add up to «передано человеку»."""
    latest = (
        select(func.max(Event.id))
        .join(Conversation, Conversation.key == Event.conversation_key)
        .where(Event.kind == EventKind.HANDOFF, started_since(since))
        .group_by(Event.conversation_key)
    )
    reasons: dict[str, int] = {}
    # A handoff's reason is inside its JSON data; grouping the distinct texts in SQL keeps the
    # rows read to a handful.
    for data, count in await session.execute(
        select(Event.data, func.count()).where(Event.id.in_(latest)).group_by(Event.data)
    ):
        reason = str(_json_object(data).get("reason", "unknown"))
        reasons[reason] = reasons.get(reason, 0) + int(count)
    return reasons


async def _days(session: AsyncSession, day_starts: Sequence[float]) -> list[DayCounts]:
    """Conversations per day of their start: handed over, else clarified, else answered."""
    days = [DayCounts(start=start) for start in day_starts]
    # Day boundaries come from the caller (the business's time zone, DST included), so the
    # bucketing is the same CASE on SQLite and PostgreSQL.
    bucket = case(
        *[
            (Conversation.created_at >= start, index)
            for index, start in reversed(list(enumerate(day_starts)))
        ],
        else_=-1,
    )
    handed = handed_over()

    def how_many(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = await session.execute(
        select(
            bucket,
            func.count(),
            how_many(handed),
            how_many(and_(clarified(), ~handed)),
            how_many(with_lead()),
        )
        .where(started_since(day_starts[0]))
        .group_by(bucket)
    )
    for index, total, handed_count, clarified_count, leads in rows:
        if 0 <= index < len(days):
            day = days[index]
            day.handed_over, day.clarified = int(handed_count), int(clarified_count)
            day.answered = int(total) - day.handed_over - day.clarified
            day.leads = int(leads)
    return days


def _json_object(data: str) -> dict[str, object]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
