"""Time our own code adds to an LLM turn, around the model and the query embedding.

A full dialog-engine turn (query rewrite, knowledge search over the sample knowledge base,
reply, grounding guard, splitting) runs against a scripted OpenAI-compatible server over real
HTTP that answers at once. The search index is keyword-only, so no embedding time is included.
What the model calls themselves cost on this path (SDK + HTTP + the scripted server) is
measured separately with identical bare calls and subtracted: the turn makes two model calls.
Prints figures; asserts nothing.

    .venv/bin/python bench/llm_turn_bench.py [--turns 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.answer.llm_helpers import reply_payload
from tests.support.openai_server import Reply, ScriptedOpenAIServer

from talkme_consultant.answer.llm import LLMAnswerer
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.prompts import PromptLoader
from talkme_consultant.config import (
    DEFAULT_PROMPTS_DIR,
    SAMPLE_KNOWLEDGE_DIR,
    SAMPLE_PROFILE_PATH,
)
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions, TurnInput
from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.knowledge.index import build_index
from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES, load_file
from talkme_consultant.profile import load_profile

REPLY = reply_payload("Маникюр с покрытием гель-лак стоит 2900 ₽, длится около 100 минут.")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def main(turns: int) -> None:
    records = [
        record
        for path in sorted(SAMPLE_KNOWLEDGE_DIR.iterdir())
        if path.suffix.lower() in SUPPORTED_SUFFIXES
        for record in load_file(path)
    ]
    index = await build_index(records, None, MemoryEmbeddingCache())
    profile = load_profile(SAMPLE_PROFILE_PATH)
    server = ScriptedOpenAIServer(strict=False)
    server.start()
    try:

        def handle(request: object) -> Reply:
            name = getattr(request, "schema_name", None)
            if name == "search_queries":
                return Reply.json({"queries": ["маникюр гель-лак цена"]})
            return Reply.json(REPLY)

        server.handler = handle  # type: ignore[assignment]
        client = server.client()
        llm = LLMAnswerer(client, "scripted", index, profile, PromptLoader(DEFAULT_PROMPTS_DIR))
        offline = OfflineAnswerer(index, profile.messages, threshold=0.5)
        engine = DialogEngine(
            llm, offline, profile.messages, EngineOptions(profile_facts=profile.facts_text())
        )
        bare: list[float] = []
        for _ in range(turns):
            started = time.perf_counter()
            await client.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "x"}]
            )
            bare.append((time.perf_counter() - started) * 1000)
        totals: list[float] = []
        for i in range(turns):
            started = time.perf_counter()
            await engine.run_turn(
                TurnInput(f"bench-{i}", ["Сколько стоит маникюр с гель-лаком?"], False)
            )
            totals.append((time.perf_counter() - started) * 1000)
    finally:
        server.stop()
    model = statistics.median(bare)
    ours = [t - 2 * model for t in totals]
    print(f"records          {len(records)} (sample knowledge base, keyword-only index)")
    print(f"turns            {turns}")
    print(f"bare model call  p50 {model:.2f} ms  p95 {percentile(bare, 0.95):.2f} ms")
    print(
        f"whole turn       p50 {statistics.median(totals):.2f} ms"
        f"  p95 {percentile(totals, 0.95):.2f} ms"
    )
    print(
        f"our code / turn  p50 {statistics.median(ours):.2f} ms"
        f"  p95 {percentile(ours, 0.95):.2f} ms"
        "  (whole turn minus two median bare model calls)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="30 turns")
    args = parser.parse_args()
    asyncio.run(main(30 if args.quick else args.turns))
