"""A turn that failed: counted, retried after a growing delay, and after the last attempt the
visitor is handed to a person with the profile's handoff words, so no message waits forever."""

from __future__ import annotations

import logging

from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.service.clock import now
from talkme_consultant.service.turn_parts import TurnParts
from talkme_consultant.service.turn_records import where
from talkme_consultant.store.models import Conversation
from talkme_consultant.store.turn_writes import TurnResult

log = logging.getLogger(__name__)


class TurnFailures:
    """Counts a turn's failed attempts and gives up on the last one with a handoff."""

    def __init__(self, parts: TurnParts) -> None:
        self._parts = parts
        self._conversations = parts.conversations
        self._settings = parts.settings
        self._owner = parts.owner

    async def start_failed(self, key: str, error: Exception) -> bool:
        """The reads of a turn's start failed, and the claim was rolled back with them: claim
        alone and count the failure like any turn's, so a fault that lasts (a row that cannot
        be read) ends in a handover after the last attempt instead of an endless retry."""
        conversation = await self._conversations.claim(
            key, self._owner, now=now(), lease_seconds=self._settings.lease_seconds
        )
        if conversation is None:
            return False
        return await self.failed(conversation, error)

    async def failed(self, conversation: Conversation, error: Exception) -> bool:
        """Count a failed attempt; retry later, or give up after the last one."""
        key = conversation.key
        # The type only: an exception's text may quote the visitor or the model.
        reason = type(error).__name__
        log.error("turn error in conversation %s: %s at %s", key, reason, where(error))
        attempts = await self._conversations.record_failed_attempt(key, self._owner)
        if attempts is None:
            return False
        await self._conversations.record_event(
            key, EventKind.TURN_ERROR, {"error": reason, "attempt": attempts}, now()
        )
        if attempts >= self._settings.max_attempts:
            return await self.give_up_or_retry(conversation, reason, attempts)
        await self._conversations.release(
            key, self._owner, retry_at=now() + self._settings.retry_delay(attempts)
        )
        return False

    async def give_up_or_retry(
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
                where(error),
            )
        await self._conversations.release(
            conversation.key,
            self._owner,
            retry_at=now() + self._settings.retry_delay(attempts),
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
        outcome = self._parts.engine_provider().hand_over_after_failure(
            [clean_text(text) for text in pending.texts], reason
        )
        result = self._parts.result_of(outcome, pending.ids, conversation)
        if not await self._conversations.finish_turn(key, self._owner, result, now=now()):
            return False
        log.error("turn in conversation %s failed for good (%s); handed to a person", key, reason)
        await self._parts.committed(outcome)
        return True
