"""Serve an ASGI app with uvicorn inside the caller's event loop, for as long as a block runs.

The ``simulate --start-service`` demo hosts the service this way next to TalkMe's stand-in, tests
host the service and misbehaving peers, and the benches host the console. It knows nothing of
the app it serves, so any room may use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

__all__ = ["serve_app"]


class _Server(uvicorn.Server):
    """uvicorn that says when it is listening and leaves the process's signals alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_event = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.started_event.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The host program (pytest, the CLI) owns Ctrl-C; a hosted app must not swallow it.
        yield


@contextlib.asynccontextmanager
async def serve_app(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    log_level: str = "warning",
    http: Literal["auto", "h11", "httptools"] = "auto",
    forwarded_allow_ips: Sequence[str] = (),
) -> AsyncIterator[str]:
    """Serve an ASGI ``app`` with uvicorn in the current event loop; yields its root URL.

    ``forwarded_allow_ips`` are the proxies whose ``X-Forwarded-For`` / ``-Proto`` are believed;
    by default nobody's (uvicorn's own default believes the loopback, so anyone on this host
    could pose as any address). ``port=0`` picks a free port. The socket is bound here, before
    serving, so a busy port raises ``OSError`` to the caller instead of uvicorn exiting the
    process. The server stops when the ``async with`` body ends. Useful for any test that needs
    a real HTTP peer.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    actual_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level=log_level,
        lifespan="off",
        access_log=False,
        http=http,
        timeout_graceful_shutdown=2,
        forwarded_allow_ips=list(forwarded_allow_ips),
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name=f"uvicorn:{actual_port}")
    started = asyncio.create_task(server.started_event.wait())
    try:
        await asyncio.wait({serving, started}, return_when=asyncio.FIRST_COMPLETED)
        if not server.started_event.is_set():
            # serve() has ended without listening; its exception (if any) says why.
            error = None if serving.cancelled() else serving.exception()
            raise RuntimeError("the server stopped before it started") from error
        display_host = f"[{host}]" if ":" in host else host
        yield f"http://{display_host}:{actual_port}"
    finally:
        started.cancel()
        server.should_exit = True
        if not serving.done():
            await serving
        sock.close()
