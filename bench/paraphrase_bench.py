"""Do taught answers serve new wordings? The owner answers questions the knowledge cannot, and
visitors then ask them in other words.

For each base (the salon, the clinic, the shop) it teaches the owner's answers of
bench/data/lesson_paraphrases.jsonl the way the console does (`Lessons.add_answer` with the
question as first asked), then asks every paraphrase in a fresh dialogue (other words, other
word order, typos, very short, long, colloquial) and counts how many get the owner's answer.
It also asks bench/data/lesson_bystanders.jsonl, questions the knowledge answers that share a
word with a taught one, the base's answer cases, and the questions its knowledge cannot answer
(tests/answer_eval/<base>/unanswerable_*.jsonl), before and after teaching: a short new record
must not steal unrelated questions, nor answer what nobody taught. Prints figures and asserts
nothing:

    .venv/bin/python bench/paraphrase_bench.py
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path

from talkme_consultant.config import SAMPLE_DIR, Settings
from talkme_consultant.service.answer_eval import (
    AnswerCase,
    evaluate_answers,
    load_answer_cases,
)
from talkme_consultant.service.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
SETS = ROOT / "tests" / "answer_eval"
BASES = {
    "salon": (SAMPLE_DIR / "knowledge", SAMPLE_DIR / "profile.yaml", SAMPLE_DIR / "answers.jsonl"),
    "clinic": (
        SETS / "clinic" / "knowledge",
        SETS / "clinic" / "profile.yaml",
        SETS / "clinic" / "answers.jsonl",
    ),
    "shop": (
        SETS / "shop" / "knowledge",
        SETS / "shop" / "profile.yaml",
        SETS / "shop" / "answers.jsonl",
    ),
}


def _lines(name: str) -> list[dict[str, object]]:
    text = (DATA / name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def run(base: str) -> Counter[str]:
    knowledge, profile, answers = BASES[base]
    taught = [item for item in _lines("lesson_paraphrases.jsonl") if item["base"] == base]
    bystanders = [
        AnswerCase(question=str(item["question"]), expect_any=list(item["expect_any"]))  # type: ignore[call-overload]
        for item in _lines("lesson_bystanders.jsonl")
        if item["base"] == base
    ]
    paraphrases = [
        AnswerCase(question=text, expect_all=[str(item["answer"])])
        for item in taught
        for text in item["paraphrases"]  # type: ignore[attr-defined]
    ]
    cases = load_answer_cases(answers)
    unanswerable = [
        case
        for name in ("unanswerable_check.jsonl", "unanswerable_fit.jsonl")
        for case in load_answer_cases(SETS / base / name)
    ]
    totals: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="paraphrase-bench-") as folder:
        settings = Settings(
            data_dir=Path(folder),
            knowledge_dir=knowledge,
            profile_path=profile,
            admin_token="bench-admin-token-24-chars-long",
        )
        runtime = await Runtime.open(settings)
        try:
            before_cases = await evaluate_answers(runtime.engine, cases)
            before_by = await evaluate_answers(runtime.engine, bystanders)
            before_unanswerable = await evaluate_answers(runtime.engine, unanswerable)
            for item in taught:
                await runtime.lessons.add_answer(str(item["taught"]), str(item["answer"]))
            await runtime.knowledge.wait_idle()
            served = await evaluate_answers(runtime.engine, paraphrases)
            after_by = await evaluate_answers(runtime.engine, bystanders)
            after_cases = await evaluate_answers(runtime.engine, cases)
            after_unanswerable = await evaluate_answers(runtime.engine, unanswerable)
        finally:
            await runtime.close()
    print(f"{base}: {len(taught)} owner's answers taught")
    print(f"  paraphrases served   {served.summary()}")
    for miss in served.misses:
        print(f"    not served ({miss.kind}): {miss.question!r}")
    print(f"  bystanders before    {before_by.summary()}")
    print(f"  bystanders after     {after_by.summary()}")
    print(f"  answer cases before  {before_cases.summary()}")
    print(f"  answer cases after   {after_cases.summary()}")
    missed_before = {m.question for m in before_cases.misses}
    for miss in after_cases.misses:
        if miss.question not in missed_before:
            print(f"    lost once taught ({miss.kind}): {miss.question!r}")
    print(f"  no answer before     {before_unanswerable.summary()}")
    print(f"  no answer after      {after_unanswerable.summary()}")
    for miss in after_unanswerable.misses:
        if miss.question not in {m.question for m in before_unanswerable.misses}:
            print(f"    guessed once taught: {miss.question!r}")
    totals["paraphrases"] += served.total
    totals["served"] += served.counts["right"]
    return totals


def main() -> None:
    totals: Counter[str] = Counter()
    for base in BASES:
        totals += asyncio.run(run(base))
    share = totals["served"] / totals["paraphrases"] if totals["paraphrases"] else 0.0
    print(f"all: {totals['served']}/{totals['paraphrases']} paraphrases served ({share:.0%})")


if __name__ == "__main__":
    main()
