"""The daily model budget of a conversation: which day a turn counts against, and what is spent.

The day is the business's local calendar day (the profile's `timezone`, UTC without one), so the
budget renews at the business's midnight, not at the server's. A conversation keeps one count
and the day it was kept for; the turn worker reads what is spent before the model is called and
the store adds the turn's tokens when it commits, both through `spent_on`, so a count kept for
another day is never read as today's nor added to.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def local_day(timestamp: float, zone: tzinfo = UTC) -> str:
    """The calendar day (YYYY-MM-DD) of a UNIX time in `zone`."""
    return datetime.fromtimestamp(timestamp, zone).date().isoformat()


def spent_on(day: str, counted_day: str | None, counted_tokens: int | None) -> int:
    """Model tokens spent on `day`, from a count of `counted_tokens` kept for `counted_day`
    (nothing yet on a new day)."""
    if counted_day != day:
        return 0
    return int(counted_tokens or 0)
