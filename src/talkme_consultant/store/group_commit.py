"""Group commit for webhook messages: concurrent `accept()` calls share one transaction.

At hundreds of webhooks a second, a transaction per message costs more than the message: a
pooled connection, a round trip per statement, a commit each, and the building of every
statement. Here concurrent webhooks queue, and whatever queued while the previous batch was
being written goes to the store together, in one transaction. Every caller still gets its answer
only after the commit that holds its message, so an acknowledged message is never lost.

A backend writes a batch in one transaction (`write_together`): True for a stored message, False
for a duplicate. When the store refuses a message of the batch, the backend raises
`MessageRefused` and the batch is written again one message per transaction, so a bad message
never takes its neighbours down with it. Any other error means the store itself failed (the
database is gone, the lock never came): it is the answer of every message not yet stored.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass

from talkme_consultant.helpers.kinds import ConversationState
from talkme_consultant.store.inbox import IncomingMessage

# Larger batches would only lengthen the transaction the first caller waits for.
MAX_BATCH = 256

# What a new message sets on its conversation, in both backends' upserts: TalkMe's latest token,
# any client detail it sent (one not sent keeps the earlier value), and the dialogue back with
# the bot (a new webhook means TalkMe gave it back).
BOT_STATE = f"'{ConversationState.BOT}'"
TAKE_MESSAGE_DETAILS = f"""
    token = excluded.token,
    client_name = coalesce(excluded.client_name, conversations.client_name),
    phone = coalesce(excluded.phone, conversations.phone),
    site_id = coalesce(excluded.site_id, conversations.site_id),
    dialog_id = coalesce(excluded.dialog_id, conversations.dialog_id),
    state = {BOT_STATE},"""

Outcome = bool | Exception


class MessageRefused(Exception):
    """The store refused a message of the batch (the cause is `error`); nothing was written."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class PendingMessage:
    """A message waiting for its batch, with the values its turn is scheduled by."""

    message: IncomingMessage
    now: float
    debounce: float
    max_wait: float
    answer: asyncio.Future[bool]


class GroupCommitInbox(ABC):
    """`accept()` like `InboxRepository`, with concurrent calls committed together."""

    def __init__(self) -> None:
        self._pending: list[PendingMessage] = []
        self._flusher: asyncio.Task[None] | None = None

    async def accept(
        self, message: IncomingMessage, *, now: float, debounce: float, max_wait: float
    ) -> bool:
        """Store the message and schedule its conversation; False when it is a duplicate."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append(PendingMessage(message, now, debounce, max_wait, answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await answer

    @abstractmethod
    async def write_together(self, batch: list[PendingMessage]) -> list[bool]:
        """The batch in one transaction: True for a stored message, False for a duplicate.

        Raises `MessageRefused` when the store refuses one of its messages, and any other error
        when the store itself fails; either way nothing of the batch is stored.
        """

    async def write_batch(self, batch: list[PendingMessage]) -> list[Outcome]:
        """Store the batch; one outcome per message, in order (see the module's docstring)."""
        try:
            return list(await self.write_together(batch))
        except MessageRefused as refused:
            if len(batch) == 1:
                return [refused.error]
        # Each message now commits on its own, so each caller gets its own outcome: one that was
        # stored must never hear of a later message's failure (it would be sent again).
        outcomes: list[Outcome] = []
        for position, item in enumerate(batch):
            try:
                outcomes.extend(await self.write_together([item]))
            except MessageRefused as refused:
                outcomes.append(refused.error)
            except Exception as error:
                # The store failed: the rest would only fail again, one by one.
                outcomes.extend(error for _ in batch[position:])
                break
        return outcomes

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                outcomes = await self.write_batch(batch)
            except Exception as error:
                for item in batch:
                    if not item.answer.done():
                        item.answer.set_exception(error)
                continue
            for item, outcome in zip(batch, outcomes, strict=True):
                if item.answer.done():
                    continue
                if isinstance(outcome, BaseException):
                    item.answer.set_exception(outcome)
                else:
                    item.answer.set_result(outcome)

    async def close(self) -> None:
        """Finish the batches already queued."""
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
