"""A wake-up signal that a background loop can sleep on until work arrives or a time passes."""

from __future__ import annotations

import asyncio
import contextlib


class Wakeup:
    """Set by producers, awaited by one consumer loop."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        """Wake the loop now."""
        self._event.set()

    def clear(self) -> None:
        """Forget a wake-up the work about to be looked for covers: the look sees everything
        stored before it begins, and a wake-up after this call is kept."""
        self._event.clear()

    async def wait(self, seconds: float) -> None:
        """Sleep until woken or `seconds` have passed, then clear the signal."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()
