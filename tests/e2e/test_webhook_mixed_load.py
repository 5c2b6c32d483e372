"""Bad webhooks never hurt good ones that arrive at the same moment, on SQLite and PostgreSQL.

Sixty webhooks are posted at once over real HTTP. A few carry values the store cannot hold (the
model refuses them with 422); a few are refused by the store itself, through a trigger installed
in the real database (the webhook answers 503 and stores nothing). Every other one is answered
200 and stored: on SQLite they share group commits with the refused ones.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from tests.store.test_store_postgres import postgres_url  # noqa: F401  (fixture)
from tests.support.service import RunningService, running_service, service_settings

TOTAL = 60
MARK = "store-refuses-this"

SQLITE_TRIGGER = f"""
CREATE TRIGGER refuse_marked BEFORE INSERT ON inbound_messages
WHEN NEW.text LIKE '%{MARK}%'
BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END
"""

POSTGRES_TRIGGER = [
    f"""
    CREATE OR REPLACE FUNCTION refuse_marked() RETURNS trigger AS $$
    BEGIN
        IF NEW.text LIKE '%{MARK}%' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS refuse_marked ON inbound_messages",
    """
    CREATE TRIGGER refuse_marked BEFORE INSERT ON inbound_messages
    FOR EACH ROW EXECUTE FUNCTION refuse_marked()
    """,
]


def _unstorable(kind: str, visitor: Visitor, number: int) -> tuple[dict[str, Any], str]:
    """A body the model must refuse, and the field it must name."""
    body = build_webhook_body(visitor, "Здравствуйте!", number)
    if kind == "dialogId":
        body["originalOnlineChatMessage"]["dialogId"] = 2**63
        return body, "originalOnlineChatMessage.dialogId"
    if kind == "nul-text":
        body["message"]["text"] = "При\x00вет"
        return body, "message.text"
    if kind == "nul-client":
        body["client"]["clientId"] = visitor.client_id + "\x00"
        return body, "client.clientId"
    body["client"]["clientId"] = "x" * 200
    return body, "client.clientId"


async def mixed_burst(service: RunningService) -> None:
    """Post TOTAL webhooks at once and check every answer and what was stored."""
    bad_kinds = {5: "dialogId", 17: "nul-text", 29: "nul-client", 41: "long-client"}
    store_refused = {11, 23, 47}
    visitors = [Visitor.new() for _ in range(TOTAL)]
    bodies: list[dict[str, Any]] = []
    expected_field: dict[int, str] = {}
    for number, visitor in enumerate(visitors):
        if number in bad_kinds:
            body, field = _unstorable(bad_kinds[number], visitor, number)
            expected_field[number] = field
        elif number in store_refused:
            body = build_webhook_body(visitor, f"Вопрос {number} {MARK}", number)
        else:
            body = build_webhook_body(visitor, f"Сколько стоит стрижка? ({number})", number)
        bodies.append(body)

    url = webhook_url(service.url)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=TOTAL)) as http:
        responses = await asyncio.gather(*(http.post(url, json=body) for body in bodies))

    stored_keys: list[str] = []
    for number, (visitor, response) in enumerate(zip(visitors, responses, strict=True)):
        answer = response.json()
        if number in bad_kinds:
            assert response.status_code == 422, (number, answer)
            assert expected_field[number] in {f["field"] for f in answer["fields"]}
        elif number in store_refused:
            assert response.status_code == 503, (number, answer)
            assert answer == {"success": False, "error": "could not store the message, retry"}
            assert response.headers["retry-after"] == "1"
        else:
            assert response.status_code == 200, (number, answer)
            assert answer == {"success": True, "duplicate": False}
            stored_keys.append(visitor.client_id)

    store = service.runtime.store
    assert len(stored_keys) == TOTAL - len(bad_kinds) - len(store_refused)
    for number, visitor in enumerate(visitors):
        pending = await store.conversations.pending_messages(visitor.client_id)
        if visitor.client_id in stored_keys:
            assert [m.text for m in pending] == [f"Сколько стоит стрижка? ({number})"]
        else:
            assert pending == [], f"refused webhook {number} was stored"
            assert await store.conversations.get(visitor.client_id) is None
    assert (await store.stats.totals()).messages_received == len(stored_keys)


async def run_with_trigger(
    settings_overrides: dict[str, Any],
    data_dir: Path,
    install_trigger: Callable[[], Awaitable[None]],
) -> None:
    # A long debounce keeps the turns from running: this test is about the webhook's answers.
    settings = service_settings(
        data_dir,
        None,
        debounce_seconds=600,
        debounce_question_seconds=600,
        **settings_overrides,
    )
    # Installed before the service starts, so no background write of its start-up competes.
    await install_trigger()
    async with running_service(settings) as service:
        await mixed_burst(service)


async def test_on_sqlite_good_webhooks_are_stored_and_answered_200_among_bad_ones(
    data_dir: Path,
) -> None:
    async def install() -> None:
        # The data dir is a copy of a migrated store, so the table is already there.
        connection = sqlite3.connect(data_dir / "talkme.sqlite3", timeout=30)
        try:
            with connection:
                connection.execute(SQLITE_TRIGGER)
        finally:
            connection.close()

    await run_with_trigger({}, data_dir, install)


async def test_on_postgres_good_webhooks_are_stored_and_answered_200_among_bad_ones(
    data_dir: Path,
    postgres_url: str,  # noqa: F811
) -> None:
    async def install() -> None:
        connection = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
        try:
            for statement in POSTGRES_TRIGGER:
                await connection.execute(statement)
        finally:
            await connection.close()

    # Keyword search only: embedding the sample knowledge base afresh is not under test.
    await run_with_trigger({"database_url": postgres_url, "embedder": "none"}, data_dir, install)
