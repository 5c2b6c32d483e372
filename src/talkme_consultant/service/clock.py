"""Wall-clock time as the store keeps it (UNIX seconds)."""

from __future__ import annotations

import time


def now() -> float:
    """Current UNIX time in seconds."""
    return time.time()
