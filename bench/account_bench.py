"""What the account API costs a turn and a harvest round, against the simulator over HTTP.

Prints: the presence check before a turn when it asks TalkMe (cold) and when the cached answer
serves it; the wait a turn sees when the API stalls (bounded by OPERATORS_TIMEOUT_SECONDS); and
one harvest round over N waiting questions (each dialogue read, then the sweep).

    .venv/bin/python bench/account_bench.py [--quick] [--questions 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from talkme_consultant.config import SAMPLE_PROFILE_PATH
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.profile import load_profile
from talkme_consultant.service.availability import OperatorPresence
from talkme_consultant.service.harvest import HarvestSettings, OperatorAnswerHarvester
from talkme_consultant.store.inbox import IncomingMessage
from talkme_consultant.store.store import Store
from talkme_consultant.store.turn_writes import TurnResult
from talkme_consultant.talkme.account import AccountClient
from talkme_consultant.talkme.client import TalkMeClient
from talkme_consultant.talkme.simulator import (
    DEFAULT_ACCOUNT_KEY,
    RunningSimulator,
    running_simulator,
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def presence_figures(sim: RunningSimulator, account: AccountClient, rounds: int) -> None:
    profile = load_profile(SAMPLE_PROFILE_PATH)
    cold: list[float] = []
    for _ in range(rounds):
        fresh = OperatorPresence(account, lambda: profile, cache_seconds=0, timeout_seconds=3)
        started = time.perf_counter()
        await fresh.now()
        cold.append(time.perf_counter() - started)
    cached_presence = OperatorPresence(
        account, lambda: profile, cache_seconds=30, timeout_seconds=3
    )
    await cached_presence.now()
    cached: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        await cached_presence.now()
        cached.append(time.perf_counter() - started)
    print(f"presence, asked of TalkMe: p50 {ms(statistics.median(cold))}, max {ms(max(cold))}")
    print(f"presence, cached:          p50 {ms(statistics.median(cached))}")
    sim.state.account.set_mode("slow", delay=30)
    stalled = OperatorPresence(account, lambda: profile, cache_seconds=30, timeout_seconds=3)
    started = time.perf_counter()
    await stalled.now()
    print(f"presence, API stalled (bound 3 s): {ms(time.perf_counter() - started)}")
    sim.state.account.set_mode("ok")


async def harvest_figures(sim: RunningSimulator, account: AccountClient, questions: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            now = time.time()
            for number in range(questions):
                key = f"bench-{number}"
                message = IncomingMessage(
                    conversation_key=key,
                    dedup_key=f"bench:{key}",
                    text="Вопрос без ответа",
                    is_attachment=False,
                    token=f"token-{key}",
                    site_id="bench",
                    client_name=None,
                    phone=None,
                    dialog_id=None,
                )
                await store.inbox.accept(message, now=now - 60, debounce=0, max_wait=0)
                await store.conversations.claim(key, "bench", now=now - 30, lease_seconds=60)
                ids = [m.id for m in await store.conversations.pending_messages(key)]
                result = TurnResult(
                    consumed_ids=ids,
                    outcome=TurnOutcome(
                        visitor_text="Вопрос без ответа",
                        replies=["Передаю администратору"],
                        handed_off=True,
                    ),
                    handed_over_question="Вопрос без ответа",
                )
                await store.conversations.finish_turn(key, "bench", result, now=now - 30)
                sim.state.account.add_message(key, "operator", f"Ответ {number}")
            harvester = OperatorAnswerHarvester(
                store.operator_answers,
                account,
                HarvestSettings(per_round=questions),
                wall=lambda: datetime.now(UTC),
            )
            started = time.perf_counter()
            report = await harvester.run_round()
            took = time.perf_counter() - started
            print(
                f"harvest round, {questions} waiting dialogues read one by one: {ms(took)} "
                f"({report.answers} answers, {ms(took / max(1, questions))} per dialogue)"
            )
        finally:
            await store.close()


async def main(quick: bool, questions: int) -> None:
    async with running_simulator() as sim, TalkMeClient(sim.api_url, timeout=10) as client:
        account = AccountClient(client, DEFAULT_ACCOUNT_KEY)
        await presence_figures(sim, account, 20 if quick else 100)
        await harvest_figures(sim, account, min(questions, 50) if quick else questions)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and questions")
    parser.add_argument("--questions", type=int, default=200, help="waiting questions to harvest")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.quick, arguments.questions))
