"""Turn workers: pick due conversations, hold their lease, run the dialog engine, store the result.

One conversation is served by one worker at a time (the lease), its messages are answered in
arrival order (a turn consumes every waiting message, oldest first), and a burst within the
debounce window becomes one turn (the due time moves with each new message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from talkme_consultant.dialog.callback import OperatorsNow
from talkme_consultant.dialog.engine import DialogEngine, TurnInput
from talkme_consultant.helpers.budget import local_day, spent_on
from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.service.clock import now
from talkme_consultant.service.heartbeat import Heartbeat, LeaseLost
from talkme_consultant.service.turn_failures import TurnFailures
from talkme_consultant.service.turn_parts import TurnParts
from talkme_consultant.service.turn_records import memory_of, where
from talkme_consultant.service.turn_settings import TurnSettings
from talkme_consultant.service.wakeup import Wakeup
from talkme_consultant.service.webhooks_first import WebhooksFirst
from talkme_consultant.store.conversations import (
    ConversationRepository,
    TurnEnd,
    TurnPlan,
    TurnStart,
)
from talkme_consultant.store.turn_writes import PlannedCall, TurnResult
from talkme_consultant.talkme.calls import typing_call

log = logging.getLogger(__name__)


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
        self._parts = TurnParts(
            conversations,
            engine_provider,
            settings,
            owner=owner,
            account_calls=account_calls,
            on_calls_queued=on_calls_queued,
            on_turn_done=on_turn_done,
        )
        self._conversations = conversations
        self._settings = settings
        self._owner = owner
        self._plan = TurnPlan(
            lease_seconds=settings.lease_seconds,
            max_attempts=settings.max_attempts,
            max_chars=settings.max_turn_chars,
            memory_messages=settings.memory_messages,
            memory_chars=settings.memory_message_chars,
            typing=[PlannedCall(*typing_call(settings.typing_ttl))],
        )
        self._failures = TurnFailures(self._parts)
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
                    where(error),
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
            return await self._failures.start_failed(key, error)
        if start is None:
            return False
        conversation = start.conversation
        if start.typing:
            # Queued with the claim, so only while we hold the conversation: a visitor
            # forgotten mid-turn does not get their token written back. Once per turn: a
            # retried attempt must not tell the visitor again that we type.
            self._parts.on_calls_queued()
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
                return await self._failures.give_up_or_retry(
                    conversation, "RetriesExhausted", conversation.turn_attempts
                )
            try:
                return await heartbeat.run(self._turn(start, heartbeat))
            except (LeaseLost, asyncio.CancelledError):
                raise
            except Exception as error:
                return await self._failures.failed(conversation, error)
        except LeaseLost:
            log.warning("lease on conversation %s was lost; its turn was stopped", key)
            return False
        except asyncio.CancelledError:
            await asyncio.shield(self._conversations.release(key, self._owner))
            raise

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
            memory=memory_of(history),
            summary=conversation.summary,
            visitor_name=conversation.visitor_name,
            phone=conversation.phone,
            tokens_spent_today=spent_on(day, conversation.budget_day, conversation.budget_tokens),
            operators=await self._presence() if self._presence is not None else None,
        )
        outcome = await self._parts.engine_provider().run_turn(turn)
        result = self._parts.result_of(outcome, pending.ids, conversation)
        result.outcome.meta["latency_ms"] = round((now() - started) * 1000, 1)
        result.budget_day = day
        heartbeat.mark_committing()
        ended = await self._conversations.finish_turn(key, self._owner, result, now=now())
        if ended is None:
            raise LeaseLost
        self._note_end(key, ended)
        await self._parts.committed(outcome)
        return True
