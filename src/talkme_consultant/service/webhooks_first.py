"""Webhooks before turns, where one process both acknowledges webhooks and runs turns.

TalkMe waits for a webhook's acknowledgement; a visitor does not notice an answer a few
milliseconds later. In the all-in-one layout both share one event loop, and at a few hundred
webhooks a second eight turns interleaving their steps with the acknowledgements made each
acknowledgement wait behind all of them. So during a burst of webhooks (`BURST_WEBHOOKS` stored
within `BURST_WINDOW_SECONDS`, about two hundred a second) at most `BURST_TURNS` turns run
and the others wait in line. With the offline answerer an answer is CPU work on the same cores
anyway; with a model, whose turns mostly wait for it, the turns held back start once the burst
is over (the gate opens as soon as the rate falls below it). Below that rate turns run side by
side as before: ten visitors writing at the same moment are no flood.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterator

# A burst: this many webhooks stored or being stored within the window.
BURST_WEBHOOKS = 20
BURST_WINDOW_SECONDS = 0.1
# How many turns run side by side during a burst: two, so that while one composes its answer on
# the event loop another's query embedding can use the second core.
BURST_TURNS = 2


class WebhooksFirst:
    """Counts webhooks being stored and turns running; turns wait in line behind a burst."""

    def __init__(self, *, burst_webhooks: int = BURST_WEBHOOKS) -> None:
        self._burst_webhooks = burst_webhooks
        self._storing = 0
        # When the latest webhooks were stored, as many as make a burst.
        self._stored: deque[float] = deque(maxlen=burst_webhooks)
        self._turns = 0
        # Turns waiting, first come first served: a worker that has just ended a turn must not
        # overtake them with its next one, or a few fast conversations would starve the rest.
        self._waiting: deque[asyncio.Future[None]] = deque()

    @contextlib.contextmanager
    def storing(self) -> Iterator[None]:
        """Around storing one webhook's message."""
        self._storing += 1
        try:
            yield
        finally:
            self._storing -= 1
            self._stored.append(asyncio.get_running_loop().time())

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Around one turn: enters at once unless a burst of webhooks holds it in line."""
        if self._quiet_in() <= 0 or (self._turns < BURST_TURNS and not self._waiting):
            self._turns += 1
        else:
            await self._wait_in_line()
        try:
            yield
        finally:
            self._turns -= 1
            self._hand_on()

    async def _wait_in_line(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            while True:
                quiet_in = self._quiet_in()
                if quiet_in <= 0:
                    self._waiting.remove(waiter)
                    self._turns += 1
                    return
                # Handed the turn when the running one ends, or free to go once webhooks pause.
                await asyncio.wait([waiter], timeout=quiet_in)
                if waiter.done():
                    return  # the ending turn counted this one in
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                # Handed the turn just as it was cancelled: hand it on.
                self._turns -= 1
                self._hand_on()
            else:
                with contextlib.suppress(ValueError):
                    self._waiting.remove(waiter)
            raise

    def _quiet_in(self) -> float:
        """Seconds until webhooks stop coming as a burst; 0 or less when they do not."""
        if self._storing >= self._burst_webhooks:
            return BURST_WINDOW_SECONDS
        needed = self._burst_webhooks - self._storing
        if len(self._stored) < needed:
            return 0.0
        # The burst lasts until the oldest of the webhooks that make it leaves the window.
        oldest = self._stored[-needed]
        return oldest + BURST_WINDOW_SECONDS - asyncio.get_running_loop().time()

    def _hand_on(self) -> None:
        # Room for a turn: the first in line goes (counted in here, so nobody overtakes it).
        while self._turns < BURST_TURNS and self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._turns += 1
                waiter.set_result(None)
