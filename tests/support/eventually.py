"""Wait for a condition instead of sleeping: the one way tests wait for asynchronous effects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Call `probe` until it returns a truthy value (returned) or `timeout` passes (AssertionError).

    The timeout is generous on purpose: these machines are shared, and a busy machine must make a
    test slower, never red. A probe that raises AssertionError counts as "not yet", so probes can
    use plain asserts and the last failure is reported when time runs out.
    """
    deadline = time.monotonic() + timeout
    last_error: AssertionError | None = None
    while True:
        try:
            value = await probe()
        except AssertionError as error:
            last_error = error
        else:
            if value:
                return value
        if time.monotonic() >= deadline:
            detail = f": {last_error}" if last_error else ""
            raise AssertionError(f"{what} not reached within {timeout:.0f} s{detail}")
        await asyncio.sleep(interval)
