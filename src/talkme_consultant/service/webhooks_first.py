"""Webhooks before turns, where one process both acknowledges webhooks and runs turns.

TalkMe waits for a webhook's acknowledgement; a visitor does not notice an answer a few
milliseconds later. In the all-in-one layout both share one event loop, and at a few hundred
webhooks a second eight turns interleaving their steps with the acknowledgements made each
acknowledgement wait behind all of them. So while webhooks keep arriving, a turn starts only
when no other turn is running: under a burst, turns go one at a time (an answer is CPU work on
the same cores anyway). A pause of `QUIET_SECONDS` without a webhook lets every waiting turn
start, so at an ordinary pace (a few webhooks a second) turns run side by side as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterator

# How long after the last stored webhook turns are still held back.
QUIET_SECONDS = 0.05
# How many turns run side by side meanwhile: two, so that while one composes its answer on the
# event loop another's query embedding can use the second core.
BURST_TURNS = 2


class WebhooksFirst:
    """Counts webhooks being stored and turns running; turns wait in line behind webhooks."""

    def __init__(self) -> None:
        self._storing = 0
        self._turns = 0
        self._last_stored = -QUIET_SECONDS
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
            self._last_stored = asyncio.get_running_loop().time()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Around one turn: enters when no other turn runs, or once webhooks have paused."""
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
        """Seconds until webhooks count as paused; 0 or less once they have."""
        if self._storing:
            return QUIET_SECONDS
        return self._last_stored + QUIET_SECONDS - asyncio.get_running_loop().time()

    def _hand_on(self) -> None:
        # No turn runs: the first in line goes (counted in here, so nobody overtakes it).
        while self._turns < BURST_TURNS and self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                self._turns += 1
                waiter.set_result(None)
