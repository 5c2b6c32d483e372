"""The daily model budget of a conversation: which day a turn counts against, and what is spent.

The day is the business's local calendar day (the profile's `timezone`, UTC without one), so the
budget renews at the business's midnight, not at the server's.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from talkme_consultant.store.models import Conversation


def local_day(timestamp: float, zone: tzinfo = UTC) -> str:
    """The calendar day (YYYY-MM-DD) of a UNIX time in `zone`."""
    return datetime.fromtimestamp(timestamp, zone).date().isoformat()


def spent_on(conversation: Conversation, day: str) -> int:
    """Model tokens the conversation has spent on `day` (nothing yet on a new day)."""
    if conversation.budget_day != day:
        return 0
    return int(conversation.budget_tokens or 0)
