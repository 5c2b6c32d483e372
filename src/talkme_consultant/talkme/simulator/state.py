"""Everything the simulator remembers, and the knobs tests turn: :class:`SimulatorState`.

It records every call in arrival order (including failed ones, with their outcome), keeps a
transcript per token (visitor lines, bot texts, typing, finish), holds the queue of injected
faults and lets tests wait, event-driven, for the calls they expect. Faults apply before
validation, as network trouble would, and a faulted call is never delivered: it is recorded with
its outcome but not added to the transcript.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, Unpack

from starlette.requests import Request

from talkme_consultant.talkme.calls import METHOD_SEND, METHOD_SIMULATE_TYPING
from talkme_consultant.talkme.simulator.account import AccountSimulator
from talkme_consultant.talkme.simulator.faults import (
    DEFAULT_TIMEOUT_FAULT_DELAY,
    Fault,
    FaultMode,
    FaultOptions,
    FaultQueue,
)
from talkme_consultant.talkme.simulator.records import (
    ERROR_BAD_BODY,
    ERROR_NO_TOKEN,
    ERROR_UNKNOWN_TOKEN,
    CallFilter,
    CallFilters,
    SimCall,
    TranscriptEntry,
    canonical_method,
)
from talkme_consultant.talkme.simulator.waiting import SimulatorTimeout, Wakeups, hold_call

_T = TypeVar("_T")


@dataclass(slots=True)
class Decision:
    """What the HTTP layer must do with a recorded call: play ``fault``, answer ``error_code``
    with the call's error, or answer ``result``."""

    call: SimCall
    fault: Fault | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error_code: int | None = None


class SimulatorState:
    """Everything the simulator remembers, and the knobs tests turn.

    ``known_tokens``: when given, only those tokens (plus any added with
    :meth:`register_token`) are accepted; otherwise any non-empty token is. ``timeout_delay``:
    the default for how long a ``"timeout"`` fault withholds its answer.
    """

    def __init__(
        self,
        *,
        known_tokens: Iterable[str] | None = None,
        timeout_delay: float = DEFAULT_TIMEOUT_FAULT_DELAY,
    ) -> None:
        self.known_tokens: set[str] | None = set(known_tokens) if known_tokens is not None else None
        self.timeout_delay = timeout_delay
        self._lock = threading.Lock()
        self._calls: list[SimCall] = []
        self._transcripts: dict[str, list[TranscriptEntry]] = {}
        self._faults = FaultQueue()
        self._seq = itertools.count(1)
        self._changed = Wakeups()
        self._released = Wakeups()
        # The account API (operators, client cards, history); see account.py.
        self.account = AccountSimulator()

    # --- inspection ---------------------------------------------------------------------------

    @property
    def calls(self) -> list[SimCall]:
        """All recorded calls, oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest call, 0 if none; pass it as ``since``."""
        with self._lock:
            return self._calls[-1].seq if self._calls else 0

    def calls_matching(self, **filters: Unpack[CallFilters]) -> list[SimCall]:
        """Recorded calls filtered by method (short or full name), token, ``seq > since`` and
        whether they were delivered (see :class:`~.records.CallFilters`)."""
        return CallFilter.of(filters).select(self.calls)

    def transcript(self, token: str) -> list[TranscriptEntry]:
        """The dialogue for ``token``: visitor lines and delivered bot actions, in order."""
        with self._lock:
            return list(self._transcripts.get(token, ()))

    def transcripts(self) -> dict[str, list[TranscriptEntry]]:
        """All dialogues by token."""
        with self._lock:
            return {token: list(entries) for token, entries in self._transcripts.items()}

    def pending_faults(self) -> list[dict[str, Any]]:
        """Faults still waiting to fire, in the order they will."""
        with self._lock:
            return self._faults.to_json()

    # --- control ------------------------------------------------------------------------------

    def fail_next(
        self, n: int = 1, mode: FaultMode = "http500", **options: Unpack[FaultOptions]
    ) -> None:
        """Make the next ``n`` calls (of ``method`` only, if given) fail with ``mode``.

        Faults queue up in the order they were added; each call consumes the first one that
        matches it. ``delay`` overrides ``timeout_delay`` for a ``"timeout"`` fault (see
        :class:`~.faults.FaultOptions`).
        """
        fault = Fault.checked(n, mode, **options)
        with self._lock:
            self._faults.add(fault)

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget calls, transcripts and pending faults (registered tokens stay), and the
        account API's cards, dialogues and calls."""
        with self._lock:
            self._calls.clear()
            self._transcripts.clear()
            self._faults.clear()
            self._seq = itertools.count(1)
        self.account.reset()
        self._changed.wake_all()

    def register_token(self, token: str) -> None:
        """Issue ``token`` as TalkMe would for a new dialogue (matters with ``known_tokens``)."""
        with self._lock:
            if self.known_tokens is not None:
                self.known_tokens.add(token)

    def record_visitor(self, token: str, text: str) -> None:
        """Add a visitor's line to the transcript of ``token`` (the scripted visitor does)."""
        with self._lock:
            entry = TranscriptEntry(role="visitor", text=text, at=time.time())
            self._transcripts.setdefault(token, []).append(entry)
        self._changed.wake_all()

    def release_stalled(self) -> None:
        """Let every call held by a ``"timeout"`` fault finish now (used when shutting down)."""
        self._released.wake_all()
        self.account.release_stalled()

    # --- waiting ------------------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[Sequence[SimCall]], _T | None],
        # A deadline parameter (not asyncio.timeout) so a timeout can say what was awaited.
        timeout: float,
        *,
        description: str = "a condition on the simulator's calls",
    ) -> _T:
        """Wait until ``predicate(calls)`` returns something truthy, and return it.

        The predicate is re-checked each time a call is recorded (and on reset); raises
        :class:`SimulatorTimeout` after ``timeout`` seconds.
        """
        with self._changed.armed() as changed:
            try:
                async with asyncio.timeout(timeout):
                    while True:
                        # Clear before checking: a call recorded after the check sets it again.
                        changed.clear()
                        result = predicate(self.calls)
                        if result:
                            return result
                        await changed.wait()
            except TimeoutError:
                calls = ", ".join(f"{c.method}[{c.outcome}]" for c in self.calls[-10:]) or "none"
                raise SimulatorTimeout(
                    f"timed out after {timeout:g}s waiting for {description}; latest calls: {calls}"
                ) from None

    async def wait_for_calls(
        self, count: int = 1, *, timeout: float = 5.0, **filters: Unpack[CallFilters]
    ) -> list[SimCall]:
        """Wait until at least ``count`` calls match the filters (see :meth:`calls_matching`)
        and return all that match."""
        wanted = CallFilter.of(filters)
        if wanted.method is not None:
            # An unknown method fails now rather than after the whole timeout.
            wanted = wanted._replace(method=canonical_method(wanted.method))

        def enough(calls: Sequence[SimCall]) -> list[SimCall] | None:
            found = wanted.select(calls)
            return found if len(found) >= count else None

        what = f"{count} call(s)" + "".join(
            f" {name}={value!r}"
            for name, value in (
                ("method", wanted.method),
                ("token", "<given>" if wanted.token is not None else None),
                ("since", wanted.since or None),
                ("delivered", wanted.delivered),
            )
            if value is not None
        )
        return await self.wait_for(enough, timeout, description=what)

    # --- the HTTP layer's entry points (api.py) ------------------------------------------------

    def receive(self, method: str, token: str | None, body: Any, problem: str | None) -> Decision:
        """Record one ``customBot/*`` call and decide its fate: a queued fault first, then the
        token, then ``problem`` (what is wrong with the body, found by the caller)."""
        now = time.time()
        with self._lock:
            seq = next(self._seq)
            fault = self._faults.take(method)
            if fault is not None:
                call = SimCall(
                    seq, method, token, body, now, fault.mode, error=f"simulated {fault.mode}"
                )
                decision = Decision(call=call, fault=fault)
            else:
                code, descr = self._check(token, problem)
                if code is not None:
                    call = SimCall(seq, method, token, body, now, "rejected", error=descr)
                    decision = Decision(call=call, error_code=code)
                else:
                    call = SimCall(seq, method, token, body, now, "ok")
                    decision = Decision(call=call, result=self._deliver(call))
            self._calls.append(call)
        self._changed.wake_all()
        return decision

    async def stall(self, request: Request, delay: float | None) -> None:
        """Hold a call until its caller hangs up, ``delay`` (or ``timeout_delay``) passes or
        the simulator stops."""
        with self._released.armed() as released:
            await hold_call(request, released, delay or self.timeout_delay)

    def _check(self, token: str | None, problem: str | None) -> tuple[int | None, str | None]:
        if not token:
            return ERROR_NO_TOKEN, "X-Token header is missing"
        if self.known_tokens is not None and token not in self.known_tokens:
            return ERROR_UNKNOWN_TOKEN, "unknown token"
        if problem is not None:
            return ERROR_BAD_BODY, problem
        return None, None

    def _deliver(self, call: SimCall) -> dict[str, Any]:
        # Called under the lock with a validated call: update the dialogue, build the result.
        assert call.token is not None
        body: dict[str, Any] = call.body
        if call.method == METHOD_SEND:
            entry = TranscriptEntry("bot", body["content"]["text"], call.at)
            result: dict[str, Any] = {"id": call.seq}
        elif call.method == METHOD_SIMULATE_TYPING:
            entry = TranscriptEntry("typing", f"{body['ttl']:g}", call.at)
            result = {"ttl": body["ttl"]}
        else:
            entry = TranscriptEntry("finish", body["code"], call.at)
            result = {"code": body["code"]}
        self._transcripts.setdefault(call.token, []).append(entry)
        return result
