"""Turn workers: pick due conversations, hold their lease, run the dialog engine, store the result.

One conversation is served by one worker at a time (the lease), its messages are answered in
arrival order (a turn consumes every waiting message, oldest first), and a burst within the
debounce window becomes one turn (the due time moves with each new message).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.callback import OperatorsNow
from talkme_consultant.dialog.engine import DialogEngine, TurnInput
from talkme_consultant.dialog.memory import MemoryMessage
from talkme_consultant.helpers.budget import local_day, spent_on
from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.helpers.kinds import EventKind, HandoffReason, MessageRole
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.service.client_card import card_update
from talkme_consultant.service.clock import now
from talkme_consultant.service.heartbeat import Heartbeat, LeaseLost
from talkme_consultant.service.wakeup import Wakeup
from talkme_consultant.service.webhooks_first import WebhooksFirst
from talkme_consultant.store.conversations import (
    ConversationRepository,
    RememberedMessage,
    TurnEnd,
    TurnPlan,
    TurnStart,
)
from talkme_consultant.store.models import Conversation
from talkme_consultant.store.turn_writes import PlannedCall, TurnResult
from talkme_consultant.talkme.calls import finish_call, send_call, typing_call

log = logging.getLogger(__name__)

# Stored messages of any other role are not the dialogue's.
_HISTORY_ROLES: set[str] = set(MessageRole)

# Handoffs whose question an operator's answer is worth keeping for: the bot did not know, or
# could not finish. A request for a person or a booking carries no question of its own.
QUESTION_HANDOFFS: set[str] = {
    HandoffReason.LOW_CONFIDENCE,
    HandoffReason.NOT_IN_KNOWLEDGE,
    HandoffReason.UNCLEAR_CHOICE,
    HandoffReason.BUDGET,
    HandoffReason.TURN_FAILED,
}


@dataclass(frozen=True)
class TurnSettings:
    """How turns are scheduled and what they send around the answer."""

    workers: int = 8
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    typing_ttl: int = 5
    retry_base_seconds: float = 2.0
    max_attempts: int = 3
    memory_messages: int = 40
    # A remembered message is read at most this long: dialogues stored before the turn's text was
    # capped may hold megabytes, and the model only ever sees a budget of history anyway.
    memory_message_chars: int = 8000
    max_turn_chars: int = 3000  # how much of the waiting messages' text a turn reads
    timezone: tzinfo = UTC  # the business's day, against which the daily budget counts

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next attempt of a turn that has failed `attempts` times."""
        return float(self.retry_base_seconds * 2.0 ** max(0, attempts - 1))


class TurnRunner:
    """Schedules and runs turns; `notify()` wakes it when a message has been stored."""

    def __init__(
        self,
        conversations: ConversationRepository,
        engine_provider: Callable[[], DialogEngine],
        settings: TurnSettings,
        *,
        owner: str,
        on_calls_queued: Callable[[], None],
        on_turn_done: Callable[[TurnOutcome], Awaitable[None]] | None = None,
        presence: Callable[[], Awaitable[OperatorsNow | None]] | None = None,
        account_calls: bool = False,
        webhooks_first: WebhooksFirst | None = None,
    ) -> None:
        """`presence` says before each turn whether an operator is online (None: unknown);
        with `account_calls`, turns update the visitor's TalkMe card and keep handed-over
        questions for the operator's answers to be read (both need the account API key);
        `webhooks_first`, where this process also acknowledges webhooks, holds turns back
        behind a burst of them."""
        self._webhooks_first = webhooks_first
        self._presence = presence
        self._account_calls = account_calls
        self._conversations = conversations
        self._engine_provider = engine_provider
        self._settings = settings
        self._on_calls_queued = on_calls_queued
        self._on_turn_done = on_turn_done
        self._owner = owner
        self._plan = TurnPlan(
            lease_seconds=settings.lease_seconds,
            max_attempts=settings.max_attempts,
            max_chars=settings.max_turn_chars,
            memory_messages=settings.memory_messages,
            memory_chars=settings.memory_message_chars,
            typing=[PlannedCall(*typing_call(settings.typing_ttl))],
        )
        self._wakeup = Wakeup()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._in_flight: set[str] = set()
        # Conversations whose turn just ended with nothing waiting (see `_note_end`), those a
        # look found due while they were in flight, and whether the scheduler's last look found
        # as many due as it may take: a worker wakes the scheduler only for these.
        self._quiet_ends: set[str] = set()
        self._due_in_flight: set[str] = set()
        self._full_look = False

    def notify(self) -> None:
        """A message was stored: look for due work now."""
        self._wakeup.set()

    async def run(self) -> None:
        """Run the scheduler and the worker pool until cancelled."""
        workers = [
            asyncio.create_task(self._worker(), name=f"turn-worker-{i}")
            for i in range(self._settings.workers)
        ]
        try:
            await self._schedule()
        finally:
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker

    async def _schedule(self) -> None:
        # One look per wake-up: a stored message, a finished turn, or the next due time (at the
        # latest `poll_seconds`, the safety net for wake-ups lost between processes).
        while True:
            delay = self._settings.poll_seconds
            try:
                limit = self._settings.workers * 4
                schedule = await self._conversations.schedule(now(), limit=limit)
                self._full_look = len(schedule.due) >= limit
                for key in schedule.due:
                    if key in self._in_flight:
                        # Due again while its turn is queued or ending: look once it is done.
                        self._due_in_flight.add(key)
                        continue
                    self._in_flight.add(key)
                    self._queue.put_nowait(key)
                if schedule.next_at is not None:
                    delay = min(delay, max(0.0, schedule.next_at - now()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("turn scheduler iteration failed")
            # Conversations due now are queued (a worker wakes this loop when one is done and
            # anything may be left: see `_worker`), so only a later due time sets the sleep; a
            # time already reached is looked at again after a short pause, not in a busy loop.
            await self._wakeup.wait(delay if delay > 0 else 0.01)

    def _note_end(self, key: str, ended: TurnEnd | None) -> None:
        """Remember a turn that left its conversation with nothing waiting: its worker need not
        wake the scheduler (a message stored later wakes it, or the safety poll finds it)."""
        if ended is not None and not ended.still_due:
            self._quiet_ends.add(key)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            try:
                if self._webhooks_first is None:
                    await self.run_conversation(key)
                else:
                    async with self._webhooks_first.turn():
                        await self.run_conversation(key)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Type and place only: database errors quote parameters (visitors' words, tokens).
                log.error(
                    "turn for conversation %s failed: %s at %s",
                    key,
                    type(error).__name__,
                    _where(error),
                )
            finally:
                self._in_flight.discard(key)
                self._queue.task_done()
                quiet = key in self._quiet_ends and key not in self._due_in_flight
                self._quiet_ends.discard(key)
                self._due_in_flight.discard(key)
                # Messages arrived during the turn (or it did not end cleanly), or the last look
                # may have left due conversations behind: look again right away.
                if not quiet or self._full_look:
                    self._wakeup.set()

    async def run_conversation(self, key: str) -> bool:
        """Claim the conversation and run one turn if it is due; False if not ours to run.

        A turn that fails is tried again later, with a growing delay; once it has failed
        `max_attempts` times the visitor is handed to a person instead, so every turn ends.
        """
        try:
            start = await self._conversations.begin_turn(key, self._owner, self._plan, now=now())
        except asyncio.CancelledError:
            raise
        except Exception as error:
            return await self._start_failed(key, error)
        if start is None:
            return False
        conversation = start.conversation
        if start.typing:
            # Queued with the claim, so only while we hold the conversation: a visitor
            # forgotten mid-turn does not get their token written back. Once per turn: a
            # retried attempt must not tell the visitor again that we type.
            self._on_calls_queued()
        heartbeat = Heartbeat(
            lambda: self._conversations.extend_lease(
                key, self._owner, now() + self._settings.lease_seconds
            ),
            self._settings.lease_seconds,
        )
        try:
            if conversation.turn_attempts >= self._settings.max_attempts:
                # An earlier give-up did not get stored; try it again, without the engine. It
                # is one quick commit that ends the lease itself, so no heartbeat runs beside it.
                return await self._give_up_or_retry(
                    conversation, "RetriesExhausted", conversation.turn_attempts
                )
            try:
                return await heartbeat.run(self._turn(start, heartbeat))
            except (LeaseLost, asyncio.CancelledError):
                raise
            except Exception as error:
                return await self._failed(conversation, error)
        except LeaseLost:
            log.warning("lease on conversation %s was lost; its turn was stopped", key)
            return False
        except asyncio.CancelledError:
            await asyncio.shield(self._conversations.release(key, self._owner))
            raise

    async def _start_failed(self, key: str, error: Exception) -> bool:
        """The reads of a turn's start failed, and the claim was rolled back with them: claim
        alone and count the failure like any turn's, so a fault that lasts (a row that cannot
        be read) ends in a handover after the last attempt instead of an endless retry."""
        conversation = await self._conversations.claim(
            key, self._owner, now=now(), lease_seconds=self._settings.lease_seconds
        )
        if conversation is None:
            return False
        return await self._failed(conversation, error)

    async def _failed(self, conversation: Conversation, error: Exception) -> bool:
        """Count a failed attempt; retry later, or give up after the last one."""
        key = conversation.key
        # The type only: an exception's text may quote the visitor or the model.
        reason = type(error).__name__
        log.error("turn error in conversation %s: %s at %s", key, reason, _where(error))
        attempts = await self._conversations.record_failed_attempt(key, self._owner)
        if attempts is None:
            return False
        await self._conversations.record_event(
            key, EventKind.TURN_ERROR, {"error": reason, "attempt": attempts}, now()
        )
        if attempts >= self._settings.max_attempts:
            return await self._give_up_or_retry(conversation, reason, attempts)
        await self._conversations.release(
            key, self._owner, retry_at=now() + self._settings.retry_delay(attempts)
        )
        return False

    async def _give_up_or_retry(
        self, conversation: Conversation, reason: str, attempts: int
    ) -> bool:
        """Hand over; when even that cannot be stored, try again later (the store is failing)."""
        try:
            return await self._give_up(conversation, reason)
        except Exception as error:
            log.error(
                "could not hand conversation %s over: %s at %s",
                conversation.key,
                type(error).__name__,
                _where(error),
            )
        await self._conversations.release(
            conversation.key, self._owner, retry_at=now() + self._settings.retry_delay(attempts)
        )
        return False

    async def _give_up(self, conversation: Conversation, reason: str) -> bool:
        """Hand the visitor to a person: the profile's handoff message, the operator finish
        code, the waiting messages consumed, and a `turn_failed` event for the owner."""
        key = conversation.key
        pending = await self._conversations.pending_turn(
            key, max_chars=self._settings.max_turn_chars
        )
        if not pending.ids:
            # Nothing is waiting any more (e.g. the conversation was reset): nothing to hand over.
            empty = TurnResult(consumed_ids=[])
            ended = await self._conversations.finish_turn(key, self._owner, empty, now=now())
            return ended is not None
        outcome = self._engine_provider().hand_over_after_failure(
            [clean_text(text) for text in pending.texts], reason
        )
        result = _to_result(outcome, pending.ids)
        if self._account_calls:
            _add_account_effects(result, conversation, outcome)
        if not await self._conversations.finish_turn(key, self._owner, result, now=now()):
            return False
        log.error("turn in conversation %s failed for good (%s); handed to a person", key, reason)
        self._on_calls_queued()
        if self._on_turn_done is not None:
            await self._on_turn_done(outcome)
        return True

    async def _turn(self, start: TurnStart, heartbeat: Heartbeat) -> bool:
        conversation, pending, history = start.conversation, start.pending, start.history
        key = conversation.key
        started = now()
        if not pending.ids:
            heartbeat.mark_committing()
            nothing = TurnResult(consumed_ids=[])
            ended = await self._conversations.finish_turn(key, self._owner, nothing, now=now())
            self._note_end(key, ended)
            return True
        day = local_day(started, self._settings.timezone)
        turn = TurnInput(
            conversation_key=key,
            texts=[clean_text(text) for text in pending.texts],
            attachments_only=pending.attachments_only,
            memory=_memory(history),
            summary=conversation.summary,
            visitor_name=conversation.visitor_name,
            phone=conversation.phone,
            tokens_spent_today=spent_on(day, conversation.budget_day, conversation.budget_tokens),
            operators=await self._presence() if self._presence is not None else None,
        )
        outcome = await self._engine_provider().run_turn(turn)
        result = _to_result(outcome, pending.ids)
        if self._account_calls:
            _add_account_effects(result, conversation, outcome)
        result.outcome.meta["latency_ms"] = round((now() - started) * 1000, 1)
        result.budget_day = day
        heartbeat.mark_committing()
        ended = await self._conversations.finish_turn(key, self._owner, result, now=now())
        if ended is None:
            raise LeaseLost
        self._note_end(key, ended)
        self._on_calls_queued()
        if self._on_turn_done is not None:
            await self._on_turn_done(outcome)
        return True


def _to_result(outcome: TurnOutcome, consumed: list[int]) -> TurnResult:
    """What the turn writes: its outcome with every text cleaned (models emit NUL and lone
    surrogates at times, and one such character would make the commit fail on every attempt),
    the meta the transcript shows, and the TalkMe calls that send it."""
    cleaned = outcome.cleaned()
    cleaned.meta = _with_outcome(cleaned)
    calls = [PlannedCall(*send_call(text)) for text in cleaned.replies]
    if cleaned.finish_code:
        calls.append(PlannedCall(*finish_call(cleaned.finish_code)))
    return TurnResult(consumed_ids=consumed, outcome=cleaned, calls=calls)


def _add_account_effects(
    result: TurnResult, conversation: Conversation, outcome: TurnOutcome
) -> None:
    """The account API's part of a turn: the visitor's card, and the question to harvest."""
    card = card_update(conversation, outcome)
    if card is not None:
        result.calls.append(card)
    reasons = {str(data.get("reason")) for data in outcome.events_of(EventKind.HANDOFF)}
    visitor_text = result.outcome.visitor_text
    if outcome.handed_off and reasons & QUESTION_HANDOFFS and visitor_text.strip():
        result.handed_over_question = visitor_text


def _with_outcome(outcome: TurnOutcome) -> dict[str, Any]:
    """The reply's meta plus what the owner's transcript shows beside it: the finish code, the
    handoff reason and the grounding guard's findings of this turn."""
    meta = dict(outcome.meta)
    meta["finish_code"] = outcome.finish_code
    for event in outcome.events:
        if event.kind == EventKind.HANDOFF:
            meta["handoff_reason"] = event.data.get("reason")
        elif event.kind == EventKind.GUARD:
            meta.setdefault("guard", []).append(event.data)
    return meta


def _memory(history: list[RememberedMessage]) -> list[MemoryMessage]:
    """The remembered dialogue as the engine reads it, a bot message with its meta."""
    return [
        MemoryMessage(
            m.id,
            HistoryMessage.model_validate({"role": m.role, "text": m.text}),
            _StoredMeta(m.meta) if m.role == MessageRole.BOT and m.meta else None,
        )
        for m in history
        if m.role in _HISTORY_ROLES
    ]


class _StoredMeta(Mapping[str, Any]):
    """A remembered bot message's meta, read from its JSON only when the engine looks at it:
    the engine mostly reads the last bot message's, and decoding all of a dialogue's (up to
    `memory_messages`) on every turn was a few percent of an answer's CPU. Unreadable meta
    reads as empty, which the engine takes as none."""

    __slots__ = ("_raw", "_value")

    def __init__(self, raw: str) -> None:
        self._raw = raw
        self._value: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._value is None:
            self._value = _stored_meta(self._raw) or {}
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def _stored_meta(raw: str | None) -> dict[str, Any] | None:
    """A remembered bot message's meta (JSON); None when absent or unreadable."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _where(error: BaseException) -> str:
    """Where the error was raised (file:line in function), for the log without its message:
    database errors quote the statement's parameters, which hold visitors' words and tokens."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"
