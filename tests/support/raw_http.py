"""HTTP over a raw socket, to see what a server answers before it has read a request's body.

A client that sends everything before it reads, like httpx, cannot see an early answer: the server
hangs up on the unread rest, which resets the connection. These clients write the request line
and headers themselves, then send the body only as far as the server lets them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

ANSWER_TIMEOUT = 30.0


class Streamed:
    """A request body of `total` bytes, produced block by block; counts what was handed out."""

    def __init__(self, total: int, head: bytes = b"", block: int = 64 * 1024) -> None:
        self.total, self.head, self.block, self.sent = total, head, block, 0

    def __iter__(self) -> Iterator[bytes]:
        if self.head:
            self.sent += len(self.head)
            yield self.head
        block = b"x" * self.block
        while self.sent < self.total:
            piece = block[: min(self.block, self.total - self.sent)]
            self.sent += len(piece)
            yield piece


@dataclass
class Answer:
    """A response as it came over the wire (header names in lower case)."""

    status: int
    headers: dict[str, str]
    body: bytes


async def _open(
    url: str, method: str, path: str, head: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, asyncio.Task[Answer]]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in head.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def read_answer() -> Answer:
        status_line = await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        content = await reader.readexactly(int(headers.get("content-length", "0")))
        return Answer(int(status_line.split()[1]), headers, content)

    return reader, writer, asyncio.create_task(read_answer())


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def send_until_answered(
    url: str, head: dict[str, str], body: Streamed, *, method: str = "POST", path: str
) -> Answer:
    """Send `body` the way a careful client does: keep sending while watching for an early
    answer, and stop sending as soon as one arrives."""
    _, writer, answered = await _open(url, method, path, head)
    try:
        for block in body:
            if answered.done():
                break
            writer.write(block)
            drained = asyncio.ensure_future(writer.drain())
            await asyncio.wait({drained, answered}, return_when=asyncio.FIRST_COMPLETED)
            if not drained.done():
                drained.cancel()
            elif drained.exception() is not None:
                break  # the server hung up; its answer is already on its way
        return await asyncio.wait_for(answered, timeout=ANSWER_TIMEOUT)
    finally:
        await _close(writer)


async def answer_before_the_body(
    url: str,
    head: dict[str, str],
    first: bytes,
    *,
    method: str = "POST",
    path: str,
    timeout: float = 10.0,
) -> Answer:
    """Declare a body in `head`, send only its `first` bytes, and wait for the answer.

    An answer can only come from a server that did not wait for the rest: no more is ever sent.
    Raises AssertionError when none comes within `timeout`.
    """
    _, writer, answered = await _open(url, method, path, head)
    try:
        writer.write(first)
        await writer.drain()
        try:
            return await asyncio.wait_for(answered, timeout=timeout)
        except TimeoutError:
            raise AssertionError(
                f"{method} {path}: no answer within {timeout:.0f} s without the rest of the body"
            ) from None
    finally:
        await _close(writer)
