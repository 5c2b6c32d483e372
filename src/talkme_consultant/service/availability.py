"""Is anyone there to take the dialogue? Asked of TalkMe before each turn, briefly remembered.

The answer is an input to the turn (`dialog.callback.OperatorsNow`); the engine never calls out.
It is cached for `OPERATORS_CACHE_SECONDS` (one call serves every turn meanwhile) and waited for
at most `OPERATORS_TIMEOUT_SECONDS`. A failing or slow API gives `None`, remembered as long as a
real answer would be, and the bot hands over as it always has.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from talkme_consultant.answer.basics_wording import hours_on, is_closed, on_day
from talkme_consultant.dialog.callback import OperatorsNow
from talkme_consultant.profile import BusinessProfile
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.client import TalkMeError

log = logging.getLogger(__name__)

_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")


class OperatorPresence:
    """Asks the account API whether any operator is online, remembering the answer briefly."""

    def __init__(
        self,
        account: AccountClient,
        profile: Callable[[], BusinessProfile],
        *,
        cache_seconds: float,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._account = account
        self._profile = profile
        self._cache_seconds = cache_seconds
        self._timeout = timeout_seconds
        self._clock = clock
        self._wall = wall
        self._lock = asyncio.Lock()
        self._known: tuple[float, bool | None] | None = None

    async def now(self) -> OperatorsNow | None:
        """Whether an operator is online (with the call-back time); None when unknown."""
        online = await self._online()
        if online is None:
            return None
        return OperatorsNow(
            online=online, callback_time=callback_time(self._profile(), self._wall())
        )

    async def _online(self) -> bool | None:
        async with self._lock:  # one question at a time: concurrent turns share its answer
            if self._known is not None and self._clock() - self._known[0] < self._cache_seconds:
                return self._known[1]
            online: bool | None
            try:
                async with asyncio.timeout(self._timeout):
                    online = await self._account.anyone_online()
            except TalkMeError as error:
                log.warning("could not learn whether operators are online: %s", error)
                online = None
            except TimeoutError:
                log.warning(
                    "could not learn whether operators are online: no answer in %.1fs",
                    self._timeout,
                )
                online = None
            self._known = (self._clock(), online)
            return online


def callback_time(profile: BusinessProfile, moment: datetime) -> str | None:
    """When the business can call back, from the profile's hours, in words: «сегодня, до 21:00»
    while a branch is open, else «сегодня после 10:00», «завтра после 9:00», «в понедельник
    после 9:00»; None when the hours say nothing usable."""
    local = moment.astimezone(profile.zone())
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        spans = [span for b in profile.branches if (span := _span(hours_on(b, day.weekday())))]
        if not spans:
            continue
        minute = local.hour * 60 + local.minute
        if offset == 0:
            open_now = [close for start, close in spans if start <= minute < close]
            if open_now:
                return f"сегодня, до {_clock_text(max(open_now))}"
            later = [start for start, _ in spans if start > minute]
            if later:
                return f"сегодня после {_clock_text(min(later))}"
            continue
        return f"{_day_words(local.date(), day)} после {_clock_text(min(s for s, _ in spans))}"
    return None


def _span(hours: str | None) -> tuple[int, int] | None:
    """«с 9:00 до 21:00» → (540, 1260) minutes; None for a day off or unreadable hours."""
    if not hours or is_closed(hours):
        return None
    times = [int(h) * 60 + int(m) for h, m in _TIME.findall(hours)]
    if len(times) < 2 or times[1] <= times[0]:
        return None
    return times[0], times[1]


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _day_words(today: date, day: date) -> str:
    if day - today == timedelta(days=1):
        return "завтра"
    return on_day(day.weekday())
