"""An answer given before the request body was read never costs reading the rest of it.

The upload route answers 401 before reading the body, and 413 as soon as a limit is crossed. Left
alone, the HTTP server keeps the connection for the next request and goes on reading — and
discarding — the rest of the body, however large the client makes it. Here, before such an
answer goes out, a little of the remaining body is read (so a client that sent slightly too
much still gets a clean answer on a live connection); if more remains, the answer is marked
`Connection: close` and the server hangs up after it.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# How much of a refused body is read and dropped, at most, to keep the connection usable.
DRAIN_BYTES = 1024 * 1024
DRAIN_SECONDS = 1.0


def _expects_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
    return False


class CloseAfterEarlyAnswer:
    """ASGI middleware: `Connection: close` on a response sent while the request body is unread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Track whether the body has been received in full; mark an earlier answer."""
        if scope["type"] != "http" or not _expects_body(scope):
            await self.app(scope, receive, send)
            return
        body_read = False

        async def tracking_receive() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                body_read = True
            return message

        async def drain() -> None:
            drained = 0
            while not body_read and drained <= DRAIN_BYTES:
                message = await tracking_receive()
                drained += len(message.get("body", b""))

        async def marking_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not body_read:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(drain(), timeout=DRAIN_SECONDS)
            if message["type"] == "http.response.start" and not body_read:
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, tracking_receive, marking_send)
