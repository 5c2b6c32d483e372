"""Waiting without sleep-polling: wake-ups that cross threads, and holding a call unanswered.

The simulator's state may be shared with a server running in another thread, so whoever records
a call wakes each waiter on the waiter's own event loop (:class:`Wakeups`). Both of the
simulator's slow answers, a ``"timeout"`` fault of the ``customBot/*`` API and the account API in
``slow`` mode, hold their call with :func:`hold_call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from starlette.requests import Request


class SimulatorTimeout(TimeoutError):
    """A wait on the simulator ran out of time; the message says what was awaited."""


class Wakeups:
    """Events to set whenever something happens, each on the loop that awaits it."""

    def __init__(self) -> None:
        self._entries: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def armed(self) -> Iterator[asyncio.Event]:
        """An event of the running loop that :meth:`wake_all` sets, for the ``with`` body."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._entries.add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._entries.discard(entry)

    def wake_all(self) -> None:
        """Set every armed event; safe to call from any thread, with or without a loop."""
        with self._lock:
            entries = list(self._entries)
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, event in entries:
            if loop is current:
                event.set()
            else:
                # asyncio.Event is not thread-safe: set it from its own loop.
                with contextlib.suppress(RuntimeError):  # that loop has closed
                    loop.call_soon_threadsafe(event.set)


async def hold_call(request: Request, released: asyncio.Event, delay: float) -> None:
    """Hold a call unanswered until its caller hangs up, ``released`` is set or ``delay``
    seconds pass, whichever comes first."""
    waits = [
        asyncio.ensure_future(_hung_up(request)),
        asyncio.ensure_future(released.wait()),
    ]
    try:
        await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
        # Reap them, so no task outlives the call; a cancellation of this call still propagates.
        await asyncio.gather(*waits, return_exceptions=True)


async def _hung_up(request: Request) -> None:
    # The body has been read, so the next ASGI message can only be the disconnect.
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
