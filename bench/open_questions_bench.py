"""Open questions benchmark: grouping 5,000 open questions by meaning, and reading a page.

Seeds a temporary SQLite store with `unanswered` events (as turns record them), collects them,
and times the grouping the owner's console triggers. Question vectors are cached (memory, then
the store), so only the first grouping ever embeds; the figures that matter are the ones with
the cache warm. Prints figures and asserts nothing:

    .venv/bin/python bench/open_questions_bench.py              # 5,000 questions, local e5
    .venv/bin/python bench/open_questions_bench.py --quick      # 1,000 questions
    .venv/bin/python bench/open_questions_bench.py --embedder none   # the keyword fallback
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from talkme_consultant.knowledge.embedders import Embedder, LocalE5Embedder
from talkme_consultant.knowledge.grouping import group_by_vectors
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import Lessons
from talkme_consultant.service.open_questions import OpenQuestions
from talkme_consultant.store.store import Store

TOPICS = [
    "с собакой",
    "с ребёнком",
    "с коляской",
    "без записи",
    "в воскресенье вечером",
    "оплатить биткоином",
    "сделать татуировку",
    "пирсинг ушей",
    "детскую стрижку машинкой",
    "наращивание волос капсульное",
    "массаж спины",
    "обертывание шоколадом",
    "лазерную эпиляцию",
    "подарочный сертификат на 3000",
    "рассрочку на абонемент",
    "оформить возврат денег",
    "прийти вдвоём с подругой",
    "сделать макияж на свадьбу выездной",
    "окрашивание хной",
    "ботокс для волос",
    "кератиновое выпрямление",
    "снять чужое наращивание ресниц",
    "коррекцию бровей нитью",
    "педикюр для диабетиков",
    "стрижку бороды",
]
FORMS = [
    "Можно ли {t}?",
    "а {t} можно?",
    "подскажите, {t} у вас возможно?",
    "Здравствуйте! Хотела узнать про {t}",
    "{t} — делаете?",
    "скажите пожалуйста а {t} реально?",
    "добрый день, интересует {t}",
    "{t} есть?",
]
TAILS = ["", " спасибо", " ответьте срочно", " пожалуйста", " и сколько это стоит"]


def wordings(distinct: int, seed: int = 7) -> list[str]:
    """`distinct` different questions over the topics, in several wordings and tails."""
    all_forms = [
        form.format(t=topic) + tail for topic in TOPICS for form in FORMS for tail in TAILS
    ]
    random.Random(seed).shuffle(all_forms)
    return all_forms[:distinct]


async def seed(store: Store, count: int, distinct: int) -> None:
    """`count` unanswered events, each asking one of the distinct wordings."""
    texts = wordings(distinct)
    rng = random.Random(11)
    for n in range(count):
        await store.conversations.record_event(
            f"visitor-{n % 900}",
            "unanswered",
            {"question": rng.choice(texts), "reason": "low_confidence"},
            1_700_000_000.0 + n,
        )


async def run(count: int, distinct: int, embedder: Embedder | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        try:
            await seed(store, count, distinct)
            started = time.perf_counter()
            collected = await store.questions.collect()
            print(f"collect {collected} unanswered events: {time.perf_counter() - started:.3f} s")

            def questions() -> OpenQuestions:
                knowledge = KnowledgeBase(store.knowledge, store.embedding_cache, embedder)
                return OpenQuestions(store.questions, Lessons(store.lessons, knowledge), knowledge)

            started = time.perf_counter()
            page = await questions().page(limit=20)
            print(
                f"first grouping (embeds {distinct} distinct wordings): "
                f"{time.perf_counter() - started:.2f} s"
            )
            print(f"  {page.total_questions} questions in {page.total_groups} groups")
            print(f"  top groups: {[(g.question, g.count) for g in page.groups[:3]]}")

            fresh = questions()  # a restarted service: vectors come from the store's cache
            started = time.perf_counter()
            await fresh.page(limit=20)
            cold = time.perf_counter() - started
            print(f"grouping {count} questions, vectors read from the store: {cold:.3f} s")

            await store.conversations.record_event(
                "visitor-new", "unanswered", {"question": "Можно ли с собакой?"}, 1.8e9
            )
            started = time.perf_counter()
            await fresh.page(limit=20)
            warm = time.perf_counter() - started
            print(f"regrouping after one new question, vectors in memory: {warm:.3f} s")

            started = time.perf_counter()
            await fresh.page(limit=20, offset=20)
            print(f"next page, nothing changed: {time.perf_counter() - started:.3f} s")
        finally:
            await store.close()
    worst = np.random.default_rng(3).standard_normal((count, 384)).astype(np.float32)
    worst /= np.linalg.norm(worst, axis=1, keepdims=True)
    started = time.perf_counter()
    groups = len(set(group_by_vectors(worst)))
    print(
        f"worst case, {count} questions all different ({groups} groups), grouping alone: "
        f"{time.perf_counter() - started:.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=5000)
    parser.add_argument("--distinct", type=int, default=1000, help="Different wordings.")
    parser.add_argument("--embedder", choices=["local", "none"], default="local")
    parser.add_argument("--quick", action="store_true", help="1,000 questions, 300 wordings.")
    args = parser.parse_args()
    count, distinct = (1000, 300) if args.quick else (args.questions, args.distinct)
    embedder = LocalE5Embedder() if args.embedder == "local" else None
    print(f"open questions: {count} questions, {distinct} wordings, embedder={args.embedder}")
    asyncio.run(run(count, distinct, embedder))


if __name__ == "__main__":
    main()
