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
from dataclasses import dataclass
from datetime import UTC, tzinfo

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.engine import DialogEngine, MemoryMessage, TurnInput, TurnOutcome
from talkme_consultant.service.budget import local_day, spent_on
from talkme_consultant.service.clock import now
from talkme_consultant.service.wakeup import Wakeup
from talkme_consultant.store.conversations import (
    ConversationRepository,
    PlannedCall,
    PlannedEvent,
    PlannedLead,
    TurnResult,
)
from talkme_consultant.store.models import Conversation
from talkme_consultant.talkme.calls import finish_call, send_call, typing_call

log = logging.getLogger(__name__)

HISTORY_ROLES = {"visitor", "bot", "operator"}


@dataclass(frozen=True)
class TurnSettings:
    """How turns are scheduled and what they send around the answer."""

    workers: int = 8
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    typing_ttl: int = 5
    retry_after_error_seconds: float = 5.0
    memory_messages: int = 40
    # A remembered message is read at most this long: dialogues stored before the turn's text was
    # capped may hold megabytes, and the model only ever sees a budget of history anyway.
    memory_message_chars: int = 8000
    max_turn_chars: int = 3000  # how much of the waiting messages' text a turn reads
    timezone: tzinfo = UTC  # the business's day, against which the daily budget counts


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
    ) -> None:
        self._conversations = conversations
        self._engine_provider = engine_provider
        self._settings = settings
        self._on_calls_queued = on_calls_queued
        self._on_turn_done = on_turn_done
        self._owner = owner
        self._wakeup = Wakeup()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._in_flight: set[str] = set()
        self.turns_done = 0
        self.turn_errors = 0

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
        while True:
            try:
                keys = await self._conversations.due_keys(now(), limit=self._settings.workers * 4)
                for key in keys:
                    if key not in self._in_flight:
                        self._in_flight.add(key)
                        self._queue.put_nowait(key)
                next_due = await self._conversations.next_due_at()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("turn scheduler iteration failed")
                next_due = None
            delay = self._settings.poll_seconds
            if next_due is not None:
                delay = min(delay, max(0.0, next_due - now()))
            if delay > 0 or not self._queue.empty():
                await self._wakeup.wait(delay if delay > 0 else 0.05)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            try:
                await self.run_conversation(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("turn for conversation %s failed", key)
            finally:
                self._in_flight.discard(key)
                self._queue.task_done()
                # Messages may have arrived during the turn; look again right away.
                self._wakeup.set()

    async def run_conversation(self, key: str) -> bool:
        """Claim the conversation and run one turn if it is due; False if not ours to run."""
        conversation = await self._conversations.claim(
            key, self._owner, now=now(), lease_seconds=self._settings.lease_seconds
        )
        if conversation is None:
            return False
        try:
            await self._turn(conversation)
        except asyncio.CancelledError:
            await asyncio.shield(self._conversations.release(key, self._owner))
            raise
        except Exception as error:
            self.turn_errors += 1
            log.exception("turn error in conversation %s", key)
            await self._conversations.record_event(
                key, "turn_error", {"error": type(error).__name__}, now()
            )
            await self._conversations.release(
                key, self._owner, retry_at=now() + self._settings.retry_after_error_seconds
            )
            return False
        return True

    async def _turn(self, conversation: Conversation) -> None:
        key = conversation.key
        started = now()
        pending = await self._conversations.pending_turn(
            key, max_chars=self._settings.max_turn_chars
        )
        if not pending.ids:
            await self._conversations.finish_turn(
                key,
                self._owner,
                TurnResult(consumed_ids=[], visitor_text="", bot_text=None),
                now=now(),
            )
            return
        if not await self._conversations.enqueue_calls(
            key,
            self._owner,
            conversation.token,
            [PlannedCall(*typing_call(self._settings.typing_ttl))],
            now=now(),
        ):
            log.info("conversation %s was forgotten or taken over; its turn stops", key)
            return
        self._on_calls_queued()
        history = await self._conversations.history(
            key,
            after_id=conversation.summarized_upto,
            limit=self._settings.memory_messages,
            max_chars=self._settings.memory_message_chars,
        )
        day = local_day(started, self._settings.timezone)
        turn = TurnInput(
            conversation_key=key,
            texts=pending.texts,
            attachments_only=pending.attachments_only,
            memory=[
                MemoryMessage(m.id, HistoryMessage.model_validate({"role": m.role, "text": m.text}))
                for m in history
                if m.role in HISTORY_ROLES
            ],
            summary=conversation.summary,
            visitor_name=conversation.visitor_name,
            phone=conversation.phone,
            tokens_spent_today=spent_on(conversation, day),
        )
        outcome = await self._engine_provider().run_turn(turn)
        result = _to_result(outcome, pending.ids)
        result.budget_day = day
        if not await self._conversations.finish_turn(key, self._owner, result, now=now()):
            log.warning("lease on conversation %s was lost; its turn will run again", key)
            return
        self.turns_done += 1
        self._on_calls_queued()
        if self._on_turn_done is not None:
            await self._on_turn_done(outcome)


def _to_result(outcome: TurnOutcome, consumed: list[int]) -> TurnResult:
    calls = [PlannedCall(*send_call(text)) for text in outcome.replies]
    if outcome.finish_code:
        calls.append(PlannedCall(*finish_call(outcome.finish_code)))
    lead = outcome.lead
    return TurnResult(
        consumed_ids=consumed,
        visitor_text=outcome.visitor_text,
        bot_text="\n\n".join(outcome.replies) or None,
        calls=calls,
        events=[PlannedEvent(kind, data) for kind, data in outcome.events],
        lead=PlannedLead(lead.name, lead.phone, lead.interest, lead.summary) if lead else None,
        meta=outcome.meta,
        handed_off=outcome.handed_off,
        visitor_name=outcome.visitor_name,
        phone=outcome.phone,
        summary=outcome.summary,
        summarized_upto=outcome.summarized_upto,
        prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens,
        cost=outcome.cost,
    )
