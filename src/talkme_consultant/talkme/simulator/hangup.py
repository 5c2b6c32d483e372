"""The one fault ASGI cannot express: hanging up without an answer (the ``"drop"`` mode).

An endpoint calls :func:`hang_up`; :class:`HangUpApp`, the simulator's FastAPI, then closes the
connection instead of sending the response.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

_DROP_KEY = "talkme_simulator.drop"


class _DropFlag:
    """Set by an endpoint to ask the outer app layer to close the connection unanswered."""

    requested = False


def hang_up(request: Request) -> None:
    """Close this request's connection instead of answering it (served by :class:`HangUpApp`)."""
    flag: _DropFlag = request.scope[_DROP_KEY]
    flag.requested = True


class HangUpApp(FastAPI):
    """FastAPI, plus the one thing ASGI cannot express: hanging up without an answer.

    Under uvicorn the ``send`` callable is bound to the connection's request cycle, whose
    transport we close. Elsewhere the drop degrades to aborting the response mid-way, which any
    ASGI server turns into a closed connection.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        flag = _DropFlag()
        scope[_DROP_KEY] = flag
        closed = False

        async def guarded_send(message: Message) -> None:
            nonlocal closed
            if not flag.requested:
                await send(message)
                return
            if closed:
                return
            closed = True
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if isinstance(transport, asyncio.BaseTransport):
                transport.close()
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1000")],
                }
            )
            raise ConnectionAbortedError("simulated dropped connection")

        await super().__call__(scope, receive, guarded_send)
        if closed:
            # Let the server notice the closed connection, so it does not complain that the
            # app returned without answering.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    while (await receive())["type"] != "http.disconnect":
                        pass
