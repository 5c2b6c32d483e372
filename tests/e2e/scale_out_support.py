"""What the scale-out specs share: a PostgreSQL store with warm embeddings, a webhook sender that
retries as TalkMe does, and the checks that every message was answered once and in order."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from talkme_consultant.store.database import asyncpg_dsn
from talkme_consultant.talkme.calls import METHOD_FINISH, METHOD_SEND
from talkme_consultant.talkme.payloads import SECRET_HEADER
from talkme_consultant.talkme.simulator import SimulatorState
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from tests.support.processes import WEBHOOK_SECRET, ServiceProcess

QUESTIONS = (
    "Сколько стоит маникюр?",
    "А где вы находитесь?",
    "До скольки вы работаете в субботу?",
    "Есть ли у вас парковка?",
    "Сколько стоит стрижка?",
)
MARKER = re.compile(r"\[(\d+)/(\d+)\]")
REFUSED_STATUSES = {503}
SENDER_SLOTS = 16


def sender_http() -> httpx.AsyncClient:
    """An HTTP client with a connection for each of the sender's slots."""
    return httpx.AsyncClient(
        timeout=10,
        limits=httpx.Limits(max_connections=SENDER_SLOTS, max_keepalive_connections=SENDER_SLOTS),
    )


def via_proxy(url: str, port: int) -> str:
    """The same database reached through a local proxy port."""
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


async def copy_embeddings(sqlite_file: Path, url: str) -> int:
    """Seed the PostgreSQL embedding cache from a warm SQLite store, so the processes under test
    do not spend the run embedding the sample knowledge base (a cost no spec here is about)."""
    with sqlite3.connect(sqlite_file) as source:
        rows = source.execute("SELECT model, content_hash, vector FROM embedding_cache").fetchall()
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.executemany(
            "INSERT INTO embedding_cache (model, content_hash, vector) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            rows,
        )
    finally:
        await connection.close()
    return len(rows)


def message_text(conversation: int, number: int) -> str:
    """A visitor's question, marked so its place can be read back from the dialogue memory."""
    return f"{QUESTIONS[number % len(QUESTIONS)]} [{conversation}/{number}]"


@dataclass
class TalkMeSender:
    """POSTs webhooks as TalkMe does: what is refused (503) or cannot connect is sent again,
    to the next web process, until it is acknowledged with 200."""

    webs: Sequence[ServiceProcess]
    http: httpx.AsyncClient
    # Requests in flight at once. More would queue inside httpx's pool, whose bookkeeping grows
    # with the queue and then costs more CPU than the service under test.
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SENDER_SLOTS))
    acknowledged: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    async def post_once(
        self, web: ServiceProcess, visitor: Visitor, text: str, message_id: int
    ) -> int | None:
        """One attempt; the status, or None when the connection failed."""
        try:
            async with self.slots:
                response = await self.http.post(
                    webhook_url(web.url),
                    json=build_webhook_body(visitor, text, message_id),
                    headers={SECRET_HEADER: WEBHOOK_SECRET},
                )
        except httpx.TransportError:
            self.refused["connection"] += 1
            return None
        self.statuses[response.status_code] += 1
        return response.status_code

    async def deliver(self, visitor: Visitor, text: str, message_id: int, first: int) -> None:
        """Send until acknowledged; any answer other than 200 or a refusal fails the spec."""
        attempt = 0
        while True:
            web = self.webs[(first + attempt) % len(self.webs)]
            status = await self.post_once(web, visitor, text, message_id)
            if status == 200:
                self.acknowledged += 1
                return
            if status is not None:
                assert status in REFUSED_STATUSES, f"webhook answered {status}"
                self.refused[str(status)] += 1
            attempt += 1
            await asyncio.sleep(min(0.05 * 2**attempt, 1.0))


async def _fetch(url: str, statement: str) -> list[Any]:
    """Rows of one query, on a connection of its own (the store's URL, either database)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(statement))).all())
    finally:
        await engine.dispose()


async def unfinished_work(url: str) -> tuple[int, int]:
    """(messages not yet taken by a turn, calls not yet made)."""
    messages = await _fetch(url, "SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL")
    calls = await _fetch(
        url, "SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'recorded', 'failed')"
    )
    return int(messages[0][0]), int(calls[0][0])


@dataclass
class Answered:
    """What the store and TalkMe saw, per conversation token."""

    visitor_numbers: dict[str, list[int]]
    stored_calls: dict[str, list[tuple[str, str]]]
    inbound: int
    failed_calls: int


async def read_answers(url: str) -> Answered:
    """Per token: the numbers of the visitor's messages in the order the turns took them (from
    the dialogue memory), and the calls the outbox made, in order."""
    tokens = dict(await _fetch(url, "SELECT key, token FROM conversations"))
    visitor_rows = await _fetch(
        url,
        "SELECT conversation_key, text FROM dialog_messages WHERE role = 'visitor' ORDER BY id",
    )
    call_rows = await _fetch(
        url,
        "SELECT conversation_key, method, body FROM outbox"
        " WHERE status IN ('sent', 'recorded') ORDER BY id",
    )
    inbound = await _fetch(url, "SELECT count(*) FROM inbound_messages")
    failed = await _fetch(url, "SELECT count(*) FROM outbox WHERE status = 'failed'")
    numbers: dict[str, list[int]] = defaultdict(list)
    for key, message in visitor_rows:
        numbers[tokens[key]] += [int(n) for _, n in MARKER.findall(message)]
    calls: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, method, body in call_rows:
        if method in (METHOD_SEND, METHOD_FINISH):
            calls[tokens[key]].append((method, body))
    return Answered(dict(numbers), dict(calls), int(inbound[0][0]), int(failed[0][0]))


def talkme_repeats(state: SimulatorState, token: str, stored: list[tuple[str, str]]) -> int:
    """How many of TalkMe's delivered calls for `token` repeat the call just before them; apart
    from those, TalkMe saw exactly the outbox's calls, in order (asserted). A process killed
    while a call was on the wire sends it again after the restart (TalkMe has no idempotency
    key): that is the one repeat allowed, and it is counted."""
    seen = [
        (call.method, call.body)
        for call in state.calls_matching(token=token, delivered=True)
        if call.method in (METHOD_SEND, METHOD_FINISH)
    ]
    expected = [(method, json.loads(body)) for method, body in stored]
    matched = repeats = 0
    for item in seen:
        if matched < len(expected) and item == expected[matched]:
            matched += 1
        elif matched > 0 and item == expected[matched - 1]:
            repeats += 1
        else:
            raise AssertionError(f"TalkMe got a call the outbox did not make: {item}")
    assert matched == len(expected), f"{len(expected) - matched} call(s) never reached TalkMe"
    return repeats
