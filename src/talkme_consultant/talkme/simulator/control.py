"""``/_sim/*``: the routes through which a test in another process watches and steers the simulator.

* ``GET /_sim/calls?method=&token=&since=&delivered=&min_count=&timeout=`` — the recorded calls
  as a JSON list; with ``min_count`` it first waits (up to ``timeout`` seconds, default 5) until
  that many match, then answers with whatever matches.
* ``POST /_sim/reset`` — forget calls, transcripts and pending faults.
* ``POST /_sim/faults`` ``{"count": 1, "mode": "http500", "method": null, "delay": null}``;
  ``GET /_sim/faults`` lists pending faults; ``DELETE /_sim/faults`` clears them.
* ``GET /_sim/transcripts?token=`` — transcripts by token.

:class:`~.client.RemoteSimulator` is their client.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from talkme_consultant.talkme.simulator.faults import FaultMode
from talkme_consultant.talkme.simulator.records import canonical_method
from talkme_consultant.talkme.simulator.state import SimulatorState
from talkme_consultant.talkme.simulator.waiting import SimulatorTimeout


class FaultRequest(BaseModel):
    """Body of ``POST /_sim/faults``."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1)
    mode: FaultMode = "http500"
    method: str | None = None
    delay: float | None = Field(default=None, gt=0)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        return canonical_method(value) if value is not None else None


def control_router(sim: SimulatorState) -> APIRouter:
    """The ``/_sim/*`` routes over ``sim``, to mount under ``/_sim``."""
    router = APIRouter(tags=["simulator control"])

    @router.get("/calls")
    async def list_calls(
        method: str | None = None,
        token: str | None = None,
        since: int = 0,
        delivered: bool | None = None,
        min_count: int | None = Query(default=None, ge=1),
        timeout: float = Query(default=5.0, gt=0, le=300),
    ) -> list[dict[str, Any]]:
        """Recorded calls; with ``min_count``, first wait until that many match."""
        if method is not None:
            try:
                method = canonical_method(method)
            except ValueError as exc:
                raise HTTPException(status_code=400, detail=str(exc)) from exc
        if min_count is not None:
            with contextlib.suppress(SimulatorTimeout):
                await sim.wait_for_calls(
                    min_count,
                    method=method,
                    token=token,
                    since=since,
                    delivered=delivered,
                    timeout=timeout,
                )
        found = sim.calls_matching(method=method, token=token, since=since, delivered=delivered)
        return [call.to_json() for call in found]

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        """Forget calls, transcripts and faults."""
        sim.reset()
        return {"ok": True}

    @router.post("/faults")
    async def add_fault(fault: FaultRequest) -> list[dict[str, Any]]:
        """Queue a fault; answers with all pending faults."""
        sim.fail_next(fault.count, fault.mode, method=fault.method, delay=fault.delay)
        return sim.pending_faults()

    @router.get("/faults")
    async def list_faults() -> list[dict[str, Any]]:
        """Pending faults."""
        return sim.pending_faults()

    @router.delete("/faults")
    async def clear_faults() -> list[dict[str, Any]]:
        """Drop all pending faults."""
        sim.clear_faults()
        return sim.pending_faults()

    @router.get("/transcripts")
    async def transcripts(token: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Dialogues by token (only ``token``'s, if given)."""
        everything = sim.transcripts()
        if token is not None:
            everything = {token: everything.get(token, [])}
        return {key: [entry.to_json() for entry in entries] for key, entries in everything.items()}

    return router
