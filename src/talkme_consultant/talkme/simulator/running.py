"""The simulator as one app, and serving it with uvicorn inside the current event loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Literal, NamedTuple

from fastapi import FastAPI

from talkme_consultant.helpers.serving import serve_app
from talkme_consultant.talkme.simulator.account import account_api_router, account_control_router
from talkme_consultant.talkme.simulator.api import api_router
from talkme_consultant.talkme.simulator.control import control_router
from talkme_consultant.talkme.simulator.hangup import HangUpApp
from talkme_consultant.talkme.simulator.records import API_PREFIX
from talkme_consultant.talkme.simulator.state import SimulatorState


def create_simulator_app(state: SimulatorState | None = None) -> FastAPI:
    """Build the simulator app around ``state`` (a fresh one if omitted; see ``app.state.sim``)."""
    sim = state if state is not None else SimulatorState()
    app = HangUpApp(
        title="TalkMe simulator",
        description="A local stand-in for TalkMe's custom-bot API.",
        docs_url="/_sim/docs",
        redoc_url=None,
        openapi_url="/_sim/openapi.json",
    )
    app.state.sim = sim

    # Both at the root and under /json/v1.0, so either URL works as TALKME_API_URL.
    api = api_router(sim)
    app.include_router(api)
    app.include_router(api, prefix=API_PREFIX)
    account = account_api_router(sim.account)
    app.include_router(account)
    app.include_router(account, prefix=API_PREFIX)
    app.include_router(control_router(sim), prefix="/_sim")
    app.include_router(account_control_router(sim.account), prefix="/_sim/account")
    return app


class RunningSimulator(NamedTuple):
    """A simulator being served: unpack as ``(url, state)``; ``api_url`` is for TALKME_API_URL."""

    url: str
    state: SimulatorState

    @property
    def api_url(self) -> str:
        """The base URL to configure as ``TALKME_API_URL``."""
        return self.url + API_PREFIX


@contextlib.asynccontextmanager
async def running_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    state: SimulatorState | None = None,
    log_level: str = "warning",
    http: Literal["auto", "h11", "httptools"] = "auto",
) -> AsyncIterator[RunningSimulator]:
    """Serve the simulator with uvicorn in the current event loop for the ``async with`` body.

    ``port=0`` picks a free port; a busy port raises ``OSError``. Yields ``(url, state)`` as a
    :class:`RunningSimulator`, whose ``api_url`` (``url`` + ``/json/v1.0``) is what the service
    needs as ``TALKME_API_URL``.
    """
    sim = state if state is not None else SimulatorState()
    app = create_simulator_app(sim)
    async with serve_app(app, host, port, log_level=log_level, http=http) as url:
        try:
            yield RunningSimulator(url, sim)
        finally:
            # Calls held by "timeout" faults would otherwise keep the server from stopping.
            sim.release_stalled()
