""":class:`RemoteSimulator`: steer a simulator that runs in another process (``control.py``)."""

from __future__ import annotations

from typing import Unpack

import httpx

from talkme_consultant.talkme.simulator.faults import FaultMode, FaultOptions
from talkme_consultant.talkme.simulator.records import (
    CallFilter,
    CallFilters,
    SimCall,
    TranscriptEntry,
)
from talkme_consultant.talkme.simulator.waiting import SimulatorTimeout


class RemoteSimulator:
    """Control a simulator in another process through its ``/_sim/*`` endpoints."""

    def __init__(self, url: str, *, http: httpx.AsyncClient | None = None) -> None:
        self._url = url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=httpx.Timeout(10.0))

    async def aclose(self) -> None:
        """Close the HTTP pool if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def calls(self, **filters: Unpack[CallFilters]) -> list[SimCall]:
        """The recorded calls matching the filters (see :class:`~.records.CallFilters`)."""
        return await self._get_calls(filters, None, None)

    async def wait_for_calls(
        self, count: int = 1, *, timeout: float = 5.0, **filters: Unpack[CallFilters]
    ) -> list[SimCall]:
        """Like :meth:`SimulatorState.wait_for_calls`, waiting inside the simulator."""
        found = await self._get_calls(filters, count, timeout)
        if len(found) < count:
            raise SimulatorTimeout(
                f"timed out after {timeout:g}s waiting for {count} call(s); got {len(found)}"
            )
        return found

    async def reset(self) -> None:
        """Forget calls, transcripts and faults."""
        response = await self._http.post(f"{self._url}/_sim/reset")
        response.raise_for_status()

    async def fail_next(
        self, n: int = 1, mode: FaultMode = "http500", **options: Unpack[FaultOptions]
    ) -> None:
        """Queue a fault, as :meth:`SimulatorState.fail_next`; the simulator checks it."""
        # A misspelt option travels too, so the simulator refuses it (HTTP 422).
        body = {"count": n, "mode": mode, "method": None, "delay": None, **options}
        response = await self._http.post(f"{self._url}/_sim/faults", json=body)
        response.raise_for_status()

    async def transcript(self, token: str) -> list[TranscriptEntry]:
        """The dialogue for ``token``."""
        response = await self._http.get(f"{self._url}/_sim/transcripts", params={"token": token})
        response.raise_for_status()
        return [
            TranscriptEntry(role=item["role"], text=item["text"], at=item["at"])
            for item in response.json().get(token, [])
        ]

    async def _get_calls(
        self, filters: CallFilters, min_count: int | None, wait_seconds: float | None
    ) -> list[SimCall]:
        method, token, since, delivered = CallFilter.of(filters)
        params: dict[str, str | int | float] = {"since": since}
        if method is not None:
            params["method"] = method
        if token is not None:
            params["token"] = token
        if delivered is not None:
            params["delivered"] = "true" if delivered else "false"
        request_timeout = self._http.timeout
        if min_count is not None and wait_seconds is not None:
            params["min_count"] = min_count
            params["timeout"] = wait_seconds
            # The server holds the request for up to wait_seconds; give the answer time to come.
            request_timeout = httpx.Timeout(wait_seconds + 10.0)
        response = await self._http.get(
            f"{self._url}/_sim/calls", params=params, timeout=request_timeout
        )
        response.raise_for_status()
        return [SimCall.from_json(item) for item in response.json()]
