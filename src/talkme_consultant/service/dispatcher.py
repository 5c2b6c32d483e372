"""Sends outbox calls to TalkMe: in order per conversation, retried with backoff and jitter."""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from talkme_consultant.helpers.kinds import CallStatus
from talkme_consultant.service.clock import now
from talkme_consultant.service.wakeup import Wakeup
from talkme_consultant.store.models import OutboxCall
from talkme_consultant.store.outbox import Claimed, ClaimRequest, OutboxRepository
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.account_wire import ACCOUNT_METHODS
from talkme_consultant.talkme.client import TalkMeClient, TalkMeError

log = logging.getLogger(__name__)

# A sender makes one call; it raises TalkMeError on failure. Test mode swaps in a recorder.
Sender = Callable[[str, str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter."""

    max_attempts: int = 8
    base_seconds: float = 0.5
    max_seconds: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        ceiling = min(self.max_seconds, self.base_seconds * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


def talkme_sender(client: TalkMeClient) -> Sender:
    """A sender that really calls TalkMe."""

    async def send(method: str, token: str, body: dict[str, Any]) -> None:
        await client.call(method, token, body)

    return send


def routed_sender(bot: Sender, account: AccountClient | None) -> Sender:
    """Account API calls go with the account key (their rows keep no token), the rest as they
    are. Without a key an account call fails for good, so it is never retried in vain."""

    async def send(method: str, token: str, body: dict[str, Any]) -> None:
        if method not in ACCOUNT_METHODS:
            await bot(method, token, body)
            return
        if account is None:
            raise TalkMeError(
                False, None, None, "TALKME_ACCOUNT_API_KEY is not configured", method=method
            )
        await account.call(method, body)

    return send


class OutboxDispatcher:
    """Background loop that drains the outbox; several instances may share one database."""

    def __init__(
        self,
        outbox: OutboxRepository,
        sender: Sender,
        policy: RetryPolicy,
        *,
        owner: str,
        done_status: CallStatus = CallStatus.SENT,
        concurrency: int = 16,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        lane_policies: Mapping[str, RetryPolicy] | None = None,
    ) -> None:
        """`lane_policies` overrides `policy` for the calls of a lane (see `store.outbox`)."""
        self._outbox = outbox
        self._sender = sender
        self._policy = policy
        self._lane_policies = dict(lane_policies or {})
        self._done_status = done_status
        self._request = ClaimRequest(lease_seconds, concurrency, owner)
        self._poll_seconds = poll_seconds
        self.wakeup = Wakeup()
        self.failures = 0
        # When the retries this dispatcher set are due (a heap): see `run`.
        self._retries: list[float] = []

    async def run(self) -> None:
        """Loop forever (until cancelled)."""
        while True:
            try:
                self._forget_retries_due(now())
                self.wakeup.clear()
                claimed = await self._outbox.claim(now(), self._request)
                while claimed.calls:
                    claimed = await self._deliver_all(claimed.calls)
                next_at = claimed.next_at
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox dispatcher iteration failed")
                next_at = None
            # A chain of claims made with marks ends without asking the store when the next
            # call can go: what it could learn is a retry set here, kept in `_retries`. Other
            # processes' retries and leases are theirs to keep; the poll is the safety net.
            if self._retries:
                next_at = min(next_at or math.inf, self._retries[0])
            delay = self._poll_seconds if next_at is None else max(0.0, next_at - now())
            await self.wakeup.wait(min(delay, self._poll_seconds))

    def _forget_retries_due(self, at: float) -> None:
        """Retries whose time has come are the claim's to find now."""
        while self._retries and self._retries[0] <= at:
            heapq.heappop(self._retries)

    async def _deliver_all(self, calls: list[OutboxCall]) -> Claimed:
        """Make the claimed calls at once; each is marked as soon as it is made, and the last
        one's mark claims the next calls in its transaction. The others' marks are committed
        first, so a call they freed (the next of their conversation) is in that claim."""
        batch = _Batch(len(calls))
        # Every call runs to its end even when another's mark fails: the last one's claim
        # leases calls, which must not be dropped (they would wait for their lease to run out).
        results = await asyncio.gather(
            *(self._deliver(call, batch) for call in calls), return_exceptions=True
        )
        claimed = Claimed([])
        for call, result in zip(calls, results, strict=True):
            if isinstance(result, Claimed):
                claimed = result
            elif isinstance(result, asyncio.CancelledError):
                raise result
            elif isinstance(result, BaseException):
                # The call stays leased and is made again once its lease runs out. Logged with
                # its traceback like any failed iteration (the engine hides SQL parameters).
                log.error(
                    "could not record the attempt of TalkMe %s for conversation %s",
                    call.method,
                    call.conversation_key,
                    exc_info=result,
                )
        return claimed

    async def _deliver(self, call: OutboxCall, batch: _Batch) -> Claimed | None:
        attempt = call.attempts + 1
        failed: tuple[str, bool, float | None] | None
        try:
            await self._sender(call.method, call.token, json.loads(call.body))
        except TalkMeError as error:
            failed = (str(error), error.retryable, error.retry_after)
        except Exception as error:
            # Anything unexpected is treated like a network error: retry, bounded.
            failed = (f"{type(error).__name__}", True, None)
        else:
            failed = None
        then_claim = await batch.last_to_end()
        if then_claim:
            # This claim sees every call queued so far: a wake-up for one of them is stale.
            self.wakeup.clear()
        try:
            if failed is None:
                return await self._outbox.mark_done(
                    call.id, self._done_status, now(), then_claim=self._claim_if(then_claim)
                )
            return await self._failed(call, attempt, *failed, then_claim=self._claim_if(then_claim))
        finally:
            batch.ended()

    def _claim_if(self, last: bool) -> ClaimRequest | None:
        return self._request if last else None

    async def _failed(
        self,
        call: OutboxCall,
        attempt: int,
        error: str,
        retryable: bool,
        retry_after: float | None,
        *,
        then_claim: ClaimRequest | None,
    ) -> Claimed | None:
        policy = self._lane_policies.get(call.lane, self._policy)
        if retryable and attempt < policy.max_attempts:
            delay = max(policy.delay(attempt), retry_after or 0.0)
            log.info(
                "TalkMe %s for conversation %s failed (attempt %d), retrying in %.1fs: %s",
                call.method,
                call.conversation_key,
                attempt,
                delay,
                error,
            )
            at = now()
            heapq.heappush(self._retries, at + delay)
            return await self._outbox.mark_retry(
                call.id, error, at + delay, now=at, then_claim=then_claim
            )
        self.failures += 1
        log.error(
            "TalkMe %s for conversation %s failed for good after %d attempt(s): %s",
            call.method,
            call.conversation_key,
            attempt,
            error,
        )
        return await self._outbox.mark_failed(call.id, error, now(), then_claim=then_claim)


class _Batch:
    """The calls of one claim being made: the last to be made waits until every other one has
    been marked, then claims the next calls with its own mark."""

    def __init__(self, size: int) -> None:
        self._unsent = size
        self._unmarked = size
        self._others_marked = asyncio.Event()

    async def last_to_end(self) -> bool:
        """Called once a call has been made: True for the batch's last one, after the others'
        marks are committed (or have failed)."""
        self._unsent -= 1
        if self._unsent > 0:
            return False
        if self._unmarked > 1:
            await self._others_marked.wait()
        return True

    def ended(self) -> None:
        """A call's mark is committed (or failed)."""
        self._unmarked -= 1
        if self._unmarked == 1:
            self._others_marked.set()
