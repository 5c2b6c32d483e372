"""Wake-ups between processes: PostgreSQL LISTEN/NOTIFY.

The inbox sends one `NOTIFY` on `INBOX_CHANNEL` in the transaction of each batch of webhook
messages (`store/inbox_postgres.py`). PostgreSQL serialises the commits of notifying transactions
on one lock, which is why it is one notify per batch and not per message.

A worker process listens (`ChangeListener`) and wakes its turn scheduler within milliseconds.
While the listening connection is down (the database restarts, the network is cut), it reconnects
with a growing pause and wakes its loops once it listens again, since notifications sent in the
gap are lost. SQLite has no such channel: there, processes poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from talkme_consultant.store.database import CONNECT_TIMEOUT_SECONDS, asyncpg_dsn

log = logging.getLogger(__name__)

INBOX_CHANNEL = "talkme_inbox"
# A cut that closes no socket is only noticed by a query: one this often, answered this fast.
KEEPALIVE_SECONDS = 5.0
KEEPALIVE_TIMEOUT_SECONDS = 3.0
RECONNECT_FIRST_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 5.0


def supports_notifications(url: str) -> bool:
    """True when the database at `url` can carry wake-ups between processes."""
    return make_url(url).get_backend_name() == "postgresql"


class ChangeListener:
    """Listens on PostgreSQL channels and calls a handler per channel; survives lost connections."""

    def __init__(self, url: str, handlers: Mapping[str, Callable[[], None]]) -> None:
        self._dsn = asyncpg_dsn(url)
        self._handlers = dict(handlers)
        self.listening = asyncio.Event()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting whenever the connection is lost."""
        pause = RECONNECT_FIRST_SECONDS
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # The type only: connection errors may quote the server's address and user.
                log.warning("change listener lost its connection: %s", type(error).__name__)
            self.listening.clear()
            await asyncio.sleep(pause)
            pause = min(RECONNECT_MAX_SECONDS, pause * 2)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            for channel, handler in self._handlers.items():
                await connection.add_listener(channel, _callback(handler))
            self.listening.set()
            # Whatever was notified while nobody listened is found by looking now.
            self._wake_all()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), KEEPALIVE_SECONDS)
                if not lost.is_set():
                    await connection.fetchval("SELECT 1", timeout=KEEPALIVE_TIMEOUT_SECONDS)
            raise ConnectionError("listening connection closed")
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                connection.terminate()

    def _wake_all(self) -> None:
        for handler in self._handlers.values():
            handler()


def _callback(handler: Callable[[], None]) -> Callable[[object, int, str, str], None]:
    def on_notification(_connection: object, _pid: int, _channel: str, _payload: str) -> None:
        handler()

    return on_notification
