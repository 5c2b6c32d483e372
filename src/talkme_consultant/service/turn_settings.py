"""How turns are scheduled and what they send around the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo


@dataclass(frozen=True)
class TurnSettings:
    """How turns are scheduled and what they send around the answer."""

    workers: int = 8
    lease_seconds: float = 60.0
    poll_seconds: float = 1.0
    typing_ttl: int = 5
    retry_base_seconds: float = 2.0
    max_attempts: int = 3
    memory_messages: int = 40
    # A remembered message is read at most this long: dialogues stored before the turn's text was
    # capped may hold megabytes, and the model only ever sees a budget of history anyway.
    memory_message_chars: int = 8000
    max_turn_chars: int = 3000  # how much of the waiting messages' text a turn reads
    timezone: tzinfo = UTC  # the business's day, against which the daily budget counts

    def retry_delay(self, attempts: int) -> float:
        """Seconds before the next attempt of a turn that has failed `attempts` times."""
        return float(self.retry_base_seconds * 2.0 ** max(0, attempts - 1))
