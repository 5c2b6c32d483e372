"""What the owner's figures count, one SQL expression each.

The overview's tiles, its daily chart and the conversation list's filters the chart links to
all build their counts from these expressions over `conversations`, so a tile, its bars and the
list behind them cannot disagree: «передано человеку» is always the conversations that have a
handoff event, whichever page counts them.
"""

from __future__ import annotations

from sqlalchemy import exists
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.store.models import Conversation, Event, Lead


def had_event(kind: EventKind) -> ColumnElement[bool]:
    """The conversation recorded an event of `kind` (an alias, so the check never correlates
    with an events table the outer query joins)."""
    other = aliased(Event)
    return exists().where(other.conversation_key == Conversation.key, other.kind == kind)


def handed_over() -> ColumnElement[bool]:
    """The conversation was handed to a person at least once."""
    return had_event(EventKind.HANDOFF)


def clarified() -> ColumnElement[bool]:
    """The bot asked a clarifying question in the conversation at least once."""
    return had_event(EventKind.CLARIFY)


def with_lead() -> ColumnElement[bool]:
    """The conversation left a lead (a phone number to call back)."""
    return exists().where(Lead.conversation_key == Conversation.key)


def started_since(since: float) -> ColumnElement[bool]:
    """The conversation started at or after `since`: a period's figures count these."""
    return Conversation.created_at >= since
