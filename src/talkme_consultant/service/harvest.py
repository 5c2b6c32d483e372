"""Reading operators' answers to the questions the bot handed over.

Two ways, both ending in the store's `operator_answers`:

* right after a handoff, each waiting question's dialogue is read
  (`chat/message/getClientMessageList`), least recently checked first, a few per round;
* a periodic sweep reads every dialogue's messages (`chat/message/getList`) in windows of at most
  14 days from a cursor kept in the store, so what operators answered while the service was down
  is found after a restart, and the sweep resumes where it stopped.

The answer to a question is the operator's first message after the handoff and the operator
messages that follow it before the visitor writes again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.store.operator_answers import OperatorAnswerRepository, WaitingQuestion
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.account_wire import MAX_RANGE, ChatMessage
from talkme_consultant.talkme.client import TalkMeError

log = logging.getLogger(__name__)

SWEEP_CURSOR = "operator-answers"
# TalkMe writes times to the second; a message in the handoff's own second still counts.
_CLOCK_SLACK = timedelta(seconds=1)


@dataclass(frozen=True)
class HarvestSettings:
    """How the harvest runs."""

    interval_seconds: float = 60.0
    # Questions older than this are no longer waited for.
    max_wait: timedelta = timedelta(days=7)
    # Dialogues read one by one per round; the sweep covers the rest.
    per_round: int = 20
    # Windows the sweep reads per round, each at most TalkMe's 14 days.
    windows_per_round: int = 4
    # Waiting questions matched against one window's messages.
    sweep_limit: int = 1000
    history_limit: int = 200


@dataclass(frozen=True)
class RoundReport:
    """What one round did, for logs and tests."""

    answers: int
    checked: int
    swept_to: datetime | None


class OperatorAnswerHarvester:
    """Finds operators' answers to handed-over questions and stores them."""

    def __init__(
        self,
        store: OperatorAnswerRepository,
        account: AccountClient,
        settings: HarvestSettings,
        *,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._account = account
        self._settings = settings
        self._wall = wall

    async def run(self) -> None:
        """A round at once, then one every `interval_seconds`, until cancelled."""
        while True:
            try:
                await self.run_round()
            except asyncio.CancelledError:
                raise
            except TalkMeError as error:
                log.warning("operator answers could not be read this round: %s", error)
            except Exception as error:
                # The type only: database errors quote their parameters (visitors' words).
                log.error("operator answer round failed: %s", type(error).__name__)
            await asyncio.sleep(self._settings.interval_seconds)

    async def run_round(self) -> RoundReport:
        """Expire old questions, read the waiting dialogues, then sweep from the cursor."""
        moment = self._wall()
        since = (moment - self._settings.max_wait).timestamp()
        await self._store.expire(before=since)
        answers, checked = await self._read_waiting(since)
        swept_to, swept = await self._sweep(since)
        return RoundReport(answers=answers + swept, checked=checked, swept_to=swept_to)

    async def _read_waiting(self, since: float) -> tuple[int, int]:
        waiting = await self._store.waiting(since=since, limit=self._settings.per_round)
        answers = 0
        unanswered: list[int] = []
        for question in waiting:
            messages = await self._account.client_messages(
                question.conversation_key, limit=self._settings.history_limit, order="desc"
            )
            if await self._store_answer(question, messages):
                answers += 1
            else:
                unanswered.append(question.id)
        await self._store.mark_checked(unanswered, self._wall().timestamp())
        return answers, len(waiting)

    async def _sweep(self, since: float) -> tuple[datetime | None, int]:
        """Read windows of every dialogue's messages from the cursor up to now."""
        position = await self._store.cursor(SWEEP_CURSOR)
        if position is None:
            oldest = await self._store.oldest_waiting_at()
            position = oldest if oldest is not None else self._wall().timestamp()
            await self._store.move_cursor(SWEEP_CURSOR, position, self._wall().timestamp())
        if await self._store.oldest_waiting_at() is None:
            # Nothing waits for an answer: nothing to read, and nothing left behind either.
            moment = self._wall().replace(microsecond=0)
            await self._store.move_cursor(SWEEP_CURSOR, moment.timestamp(), moment.timestamp())
            return moment, 0
        start = datetime.fromtimestamp(max(position, since), UTC).replace(microsecond=0)
        answers = 0
        stop: datetime | None = None
        for _ in range(self._settings.windows_per_round):
            now = self._wall().replace(microsecond=0)
            if start >= now:
                break
            stop = min(start + MAX_RANGE, now)
            clients = await self._account.messages(start, stop)
            by_key = {c.conversation_key: c.messages for c in clients if c.conversation_key}
            if by_key:
                waiting = await self._store.waiting(since=since, limit=self._settings.sweep_limit)
                for question in waiting:
                    messages = by_key.get(question.conversation_key)
                    if messages and await self._store_answer(question, messages):
                        answers += 1
            # Only a window read whole moves the cursor; a failure reads it again next round.
            await self._store.move_cursor(SWEEP_CURSOR, stop.timestamp(), now.timestamp())
            start = stop
        return stop, answers

    async def _store_answer(
        self, question: WaitingQuestion, messages: Sequence[ChatMessage]
    ) -> bool:
        found = operator_answer(question, messages)
        if found is None:
            return False
        text, at = found
        return await self._store.record_answer(question, text, at, self._wall().timestamp())


def operator_answer(
    question: WaitingQuestion, messages: Sequence[ChatMessage]
) -> tuple[str, float] | None:
    """The operator's answer to `question` in a dialogue, with its time; None if none yet."""
    after = datetime.fromtimestamp(question.handed_over_at, UTC) - _CLOCK_SLACK
    ordered = sorted(
        (m for m in messages if m.date_time_utc >= after),
        key=lambda m: (m.date_time_utc, str(m.id)),
    )
    lines: list[str] = []
    first_at: datetime | None = None
    for message in ordered:
        if message.by_operator and message.text.strip():
            lines.append(clean_text(message.text).strip())
            first_at = first_at or message.date_time_utc
        elif message.by_client and lines:
            break
    if not lines or first_at is None:
        return None
    return "\n".join(lines), first_at.timestamp()
