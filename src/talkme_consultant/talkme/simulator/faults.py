"""The faults tests inject: what each mode means and the queue they wait in until a call fires one.

``fail_next(n, mode, method=None)`` makes the next ``n`` matching calls fail with

* ``"http500"``, ``"http429"``, ``"http400"`` — that HTTP status with an error envelope;
* ``"success_false"`` — HTTP 200, ``success: false``;
* ``"timeout"`` — no answer until the caller gives up (or ``delay`` seconds pass, or the
  simulator stops); the caller sees its own timeout;
* ``"drop"`` — the connection is closed without any answer.

How each is played on the wire is the fake API's business (``api.py``, ``hangup.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict, get_args

from talkme_consultant.talkme.simulator.records import canonical_method

FaultMode = Literal["http500", "http429", "http400", "success_false", "timeout", "drop"]
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)

DEFAULT_TIMEOUT_FAULT_DELAY = 30.0
"""How long a ``"timeout"`` fault withholds the answer if the caller never hangs up."""


class FaultOptions(TypedDict, total=False):
    """``fail_next``'s keyword arguments, declared once for the state and the remote client.

    * ``method`` — only calls of this method (short or full name) fail; any call when left out;
    * ``delay`` — how long a ``"timeout"`` fault holds its call, instead of the state's
      ``timeout_delay``.
    """

    method: str | None
    delay: float | None


@dataclass(slots=True)
class Fault:
    """A queued fault: ``mode`` for the next ``remaining`` calls of ``method`` (any if None)."""

    mode: FaultMode
    remaining: int
    method: str | None
    delay: float | None

    @classmethod
    def checked(
        cls, n: int, mode: FaultMode, *, method: str | None = None, delay: float | None = None
    ) -> Fault:
        """A fault from a caller's arguments; ``ValueError`` names the first one that is wrong
        (and, as keywords, :class:`FaultOptions` that are misspelt get a ``TypeError``)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        if mode not in FAULT_MODES:
            raise ValueError(
                f"unknown fault mode {mode!r}; expected one of {', '.join(FAULT_MODES)}"
            )
        if delay is not None and delay <= 0:
            raise ValueError("delay must be positive")
        canonical = canonical_method(method) if method is not None else None
        return cls(mode=mode, remaining=n, method=canonical, delay=delay)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``/_sim/faults`` item shape: the fields by name)."""
        return asdict(self)


class FaultQueue:
    """Pending faults in the order they were added.

    Not locked by itself: :class:`~.state.SimulatorState` calls it under its own lock, so that
    taking a fault and recording the call it fired on are one step.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue ``fault`` behind the ones already waiting."""
        self._faults.append(fault)

    def take(self, method: str) -> Fault | None:
        """Spend one use of the first fault that matches ``method``; None when none does."""
        for index, fault in enumerate(self._faults):
            if fault.method is None or fault.method == method:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[index]
                return fault
        return None

    def clear(self) -> None:
        """Drop every pending fault."""
        self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        """Faults still waiting to fire, in the order they will."""
        return [fault.to_json() for fault in self._faults]
