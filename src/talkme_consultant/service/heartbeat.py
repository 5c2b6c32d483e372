"""Keep a lease alive while work runs under it; stop the work when the lease is lost.

A lease has a fixed length so that a dead worker's conversation is taken over soon. A live worker
whose turn outlasts the lease (a slow model) must say so, or a second worker takes the same turn
and the visitor is answered twice. The heartbeat renews the lease every third of its length;
when a renewal finds the lease in other hands, the work is cancelled at once, before it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# Renew three times per lease: two renewals may fail (a busy database) before it runs out.
BEATS_PER_LEASE = 3


class LeaseLost(Exception):
    """Another worker holds the lease now; the work was stopped and committed nothing."""


class Heartbeat:
    """Runs work under a lease (see the module docstring)."""

    def __init__(self, renew: Callable[[], Awaitable[bool]], lease_seconds: float) -> None:
        """`renew` extends the lease and returns False when it is no longer ours."""
        self._renew = renew
        self._interval = lease_seconds / BEATS_PER_LEASE
        self.committing = False
        self.lost = False

    def mark_committing(self) -> None:
        """The work is writing its result; from here on the commit itself checks the lease
        (cancelling a commit half-way would only leave the caller unsure what happened)."""
        self.committing = True

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` while renewing the lease; raise LeaseLost if it was stopped for that."""
        task: asyncio.Task[T] = asyncio.ensure_future(work)
        beating = asyncio.create_task(self._beat(task))
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            cancelled_from_outside = current is not None and current.cancelling() > 0
            if self.lost and task.cancelled() and not cancelled_from_outside:
                raise LeaseLost from None
            raise
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    async def _beat(self, task: asyncio.Task[Any]) -> None:
        while not task.done():
            await asyncio.sleep(self._interval)
            try:
                held = await self._renew()
            except Exception as error:
                # The next beat may succeed; the lease has slack for two misses.
                log.warning("could not renew a lease: %s", type(error).__name__)
                continue
            if held:
                continue
            self.lost = True
            if not self.committing:
                task.cancel()
            return
