"""A circuit breaker: a calendar that keeps failing is not asked again for a while.

A visitor should wait for a dead calendar at most once: after `failures_to_open` failures in a
row the breaker opens and every call fails at once for `cooldown` seconds; then one call is let
through, and its success closes the breaker again.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    """Counts failures in a row and says whether a call may go out now."""

    def __init__(
        self,
        failures_to_open: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failures_to_open = failures_to_open
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        """True while calls are refused without being made."""
        if self._opened_at is None:
            return False
        return self._clock() - self._opened_at < self._cooldown

    def allow(self) -> bool:
        """Whether a call may be made now (after the cooldown one trial call is let through)."""
        return not self.is_open

    def succeeded(self) -> None:
        """A call got an answer: the calendar is alive."""
        self._failures = 0
        self._opened_at = None

    def failed(self) -> None:
        """A call got no usable answer (network, timeout, 5xx)."""
        self._failures += 1
        if self._failures >= self._failures_to_open:
            self._opened_at = self._clock()
