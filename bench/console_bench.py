"""Console benchmark: how fast each page of the owner's console answers on a big store.

    .venv/bin/python bench/console_bench.py          # 10,000 conversations, 20 requests a page
    .venv/bin/python bench/console_bench.py --quick  # 2,000 conversations, 5 requests a page
    .venv/bin/python bench/console_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/x

What runs: a throwaway store (SQLite in a temporary DATA_DIR, or the PostgreSQL database given,
which must be empty) is migrated and seeded in bulk with `--conversations` conversations spread
over the last 30 days, ten remembered messages each (half visitor, half bot, bot replies with the
meta a turn writes), the visitor messages also in the inbox, and events (handoffs, clarifying
questions, guard findings, unanswered questions) and leads on a share of them. Then the real app
(`create_app`, lifespan included, offline answerer, EMBEDDER=none, the sample knowledge base)
serves on a loopback port (uvicorn, as in the specs); this process signs in through the form
like a browser and GETs every console page `--requests` times, one at a time. It prints p50 and
p95 per page in milliseconds (the target is under 200 ms each). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.helpers.serving import serve_app
from talkme_consultant.store.models import Conversation, DialogMessage, Event, InboundMessage, Lead
from talkme_consultant.store.store import Store
from talkme_consultant.web.app import create_app

ADMIN_TOKEN = "bench-admin-token-24-chars-long"
MESSAGES_PER_CONVERSATION = 10
QUESTIONS = [
    "Сколько стоит стрижка?",
    "Есть ли парковка у салона?",
    "Как записаться на маникюр?",
    "Во сколько вы открываетесь в субботу?",
    "Делаете ли окрашивание в один тон?",
    "Какой курс биткоина сегодня?",
]
CHUNK = 5_000


async def seed(store: Store, conversations: int, now: float) -> None:
    """Bulk rows, as many turns would have written them."""
    rng = random.Random(7)
    convs: list[dict[str, Any]] = []
    dialog: list[dict[str, Any]] = []
    inbound: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    leads: list[dict[str, Any]] = []
    for number in range(conversations):
        key = f"bench-{number:06d}"
        start = now - rng.uniform(0, 30 * 86_400)
        roll = rng.random()
        convs.append(
            {
                "key": key,
                "site_id": "site",
                "client_name": f"Посетитель {number}",
                "phone": None,
                "token": f"token-{number}",
                "state": "operator" if roll < 0.2 else "bot",
                "messages_count": MESSAGES_PER_CONVERSATION // 2,
                "created_at": start,
                "last_activity": start + 600,
            }
        )
        for turn in range(MESSAGES_PER_CONVERSATION // 2):
            at = start + turn * 120
            question = rng.choice(QUESTIONS)
            inbound.append(
                {
                    "conversation_key": key,
                    "dedup_key": f"{key}:{turn}",
                    "text": question,
                    "received_at": at,
                    "processed_at": at + 1,
                }
            )
            # Every row of one bulk insert names the same columns.
            dialog.append(
                {
                    "conversation_key": key,
                    "role": "visitor",
                    "text": question,
                    "created_at": at,
                    "meta": None,
                    "intent": None,
                    "answerer": None,
                    "latency_ms": None,
                    "tokens": 0,
                    "cost": 0.0,
                }
            )
            intent = "unknown" if roll < 0.1 else "clarify" if roll < 0.2 else "answer"
            latency = rng.lognormvariate(6.5, 0.4)
            meta = {
                "intent": intent,
                "answerer": "offline",
                "records": ["abc123"],
                "citations": [{"id": "abc123", "file": "faq.csv", "row": 3}],
                "confidence": round(rng.random(), 3),
                "finish_code": None,
                "latency_ms": round(latency, 1),
            }
            dialog.append(
                {
                    "conversation_key": key,
                    "role": "bot",
                    "text": "Стрижка стоит 1 800 ₽. Записаться можно по телефону.",
                    "created_at": at + 1,
                    "meta": json.dumps(meta, ensure_ascii=False),
                    "intent": intent,
                    "answerer": "offline",
                    "latency_ms": latency,
                    "tokens": 0,
                    "cost": 0.0,
                }
            )
        if roll < 0.1:
            events.append(_event(key, "handoff", {"reason": "low_confidence"}, start))
            events.append(_event(key, "unanswered", {"question": QUESTIONS[-1]}, start))
        elif roll < 0.2:
            events.append(_event(key, "clarify", {"question": "стрижка", "options": 3}, start))
        if 0.2 <= roll < 0.25:
            events.append(_event(key, "guard", {"attempt": 1, "problems": "цена"}, start))
        if 0.25 <= roll < 0.3:
            events.append(_event(key, "handoff", {"reason": "booking"}, start))
            leads.append(
                {
                    "conversation_key": key,
                    "name": "Анна",
                    "phone": f"+7916{number:07d}",
                    "interest": "маникюр",
                    "summary": "хочет записаться",
                    "created_at": start,
                    "status": "new",
                }
            )
    async with store.engine.begin() as connection:
        for model, rows in (
            (Conversation, convs),
            (InboundMessage, inbound),
            (DialogMessage, dialog),
            (Event, events),
            (Lead, leads),
        ):
            for offset in range(0, len(rows), CHUNK):
                await connection.execute(insert(model), rows[offset : offset + CHUNK])
    print(
        f"seeded {len(convs)} conversations, {len(dialog)} messages, {len(inbound)} inbox rows, "
        f"{len(events)} events, {len(leads)} leads"
    )


def _event(key: str, kind: str, data: dict[str, Any], at: float) -> dict[str, Any]:
    return {
        "conversation_key": key,
        "kind": kind,
        "data": json.dumps(data, ensure_ascii=False),
        "created_at": at,
    }


async def measure(base: str, requests: int) -> None:
    """Sign in, then time every page."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        form = await client.get("/console/login")
        found = re.search(r'name="csrf-token" content="([^"]+)"', form.text)
        assert found
        signed = await client.post(
            "/console/login", data={"csrf": found.group(1), "token": ADMIN_TOKEN}
        )
        assert signed.status_code == 303, signed.text
        pages = [
            "/console?period=today",
            "/console?period=7",
            "/console?period=30",
            "/console/conversations",
            "/console/conversations?page=100",
            "/console/conversations?q=парковка",
            "/console/conversations?handed=yes&lead=no&clarified=no",
            "/console/conversations?guard=yes&answerer=offline",
            "/console/conversations/bench-000042",
            "/console/questions",
            "/console/knowledge",
            "/console/knowledge/records?q=стрижка",
            "/console/leads",
            "/console/settings",
            "/console/conversations/export.csv?handed=yes",
            "/console/conversations/export.xlsx?handed=yes",
        ]
        print(f"{'page':<58} {'p50 ms':>8} {'p95 ms':>8}")
        for page in pages:
            timings = []
            for _ in range(requests):
                started = time.perf_counter()
                response = await client.get(page)
                timings.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{page}: {response.status_code} {response.text[:200]}")
            timings.sort()
            p50 = statistics.median(timings)
            p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
            print(f"{page:<58} {p50:>8.1f} {p95:>8.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url", default=None, help="an empty database (default SQLite)")
    parser.add_argument("--quick", action="store_true", help="2,000 conversations, 5 requests")
    args = parser.parse_args()
    if args.quick:
        args.conversations, args.requests = 2_000, 5
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder) / "data",
            database_url=args.database_url,
            knowledge_dir=SAMPLE_KNOWLEDGE_DIR,
            admin_token=ADMIN_TOKEN,
            embedder="none",
            talkme_test_mode=True,
            log_level="WARNING",
        )
        store = await Store.open(settings.resolved_database_url)
        started = time.perf_counter()
        await seed(store, args.conversations, time.time())
        print(f"seeding took {time.perf_counter() - started:.1f} s")
        await store.close()
        app = create_app(settings)
        async with app.router.lifespan_context(app), serve_app(app, "127.0.0.1", 0) as url:
            await measure(url, args.requests)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
