"""Lessons benchmark: the business's own scores before and after the owner teaches a batch.

For the salon (the sample) and the clinic control base it measures retrieval on the case file
(`eval retrieval`; the clinic has none) and the answers on the answer cases (`eval answers`),
then teaches a batch of lessons the way the owner's console does — questions the bot hands
over, pointed to the record that answers them or answered by the owner — and measures again.
A lesson must never lower a score. Prints figures and asserts nothing:

    .venv/bin/python bench/lessons_bench.py
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

from talkme_consultant.config import SAMPLE_DIR, Settings
from talkme_consultant.knowledge.evaluation import evaluate, is_match, load_cases
from talkme_consultant.service.answer_eval import evaluate_answers, load_answer_cases
from talkme_consultant.service.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]
CLINIC = ROOT / "tests" / "answer_eval" / "clinic"


@dataclass(frozen=True)
class Base:
    """A knowledge base with its profile, case files and the lessons taught to it."""

    name: str
    knowledge: Path
    profile: Path
    answers: Path
    cases: Path | None
    # (visitor's question, a text of the record that answers it) → a phrasing of that record
    links: list[tuple[str, str]]
    # (question, the owner's answer) → an owner's answer
    answers_written: list[tuple[str, str]]


SALON = Base(
    name="salon",
    knowledge=SAMPLE_DIR / "knowledge",
    profile=SAMPLE_DIR / "profile.yaml",
    answers=SAMPLE_DIR / "answers.jsonl",
    cases=SAMPLE_DIR / "knowledge" / "cases.jsonl",
    links=[
        ("принимаете биткоин?", "Оплатить услуги можно"),
        ("а криптой заплатить можно", "Оплатить услуги можно"),
        ("реснички нарастить почём", "Наращивание ресниц (классика)"),
        ("сколько стоит покрасить корни и длину в один цвет", "Окрашивание в один тон"),
        ("ногти с гелем сколько", "Маникюр с покрытием гель-лак"),
    ],
    answers_written=[
        ("Делаете ли вы татуировки?", "Татуировки мы не делаем."),
        ("Есть ли у вас детская комната?", "Детской комнаты в салоне нет."),
        (
            "Есть ли у вас Wi-Fi для гостей?",
            "Да, Wi-Fi бесплатный, пароль подскажет администратор.",
        ),
    ],
)
CLINIC_BASE = Base(
    name="clinic",
    knowledge=CLINIC / "knowledge",
    profile=CLINIC / "profile.yaml",
    answers=CLINIC / "answers.jsonl",
    cases=None,
    links=[
        ("а уколы делаете чтоб не больно было", "местной анестезией"),
        ("можно полечиться под газом?", "седацией"),
        ("по qr коду заплатить можно?", "по QR-коду"),
    ],
    answers_written=[
        ("Есть ли у вас велопарковка?", "Да, у входа в клинику стоит велопарковка."),
        ("Лечите ли вы собак?", "Нет, мы лечим только людей: обратитесь в ветклинику."),
    ],
)


async def scores(runtime: Runtime, base: Base) -> str:
    """The base's figures in one line."""
    parts = []
    if base.cases is not None:
        report = await evaluate(runtime.knowledge, load_cases(base.cases))
        parts.append(f"retrieval {report.summary()}")
    answers = await evaluate_answers(runtime.engine, load_answer_cases(base.answers))
    parts.append(f"answers {answers.summary()}")
    return "; ".join(parts)


async def link(runtime: Runtime, base: Base) -> list[tuple[str, str]]:
    """Point each handed-over wording to the record that answers it (a phrasing)."""
    taught: list[tuple[str, str]] = []
    for question, expected in base.links:
        record = await runtime.lessons.record_containing(expected, question)
        if record is None:
            print(f"  no record contains {expected!r}")
            continue
        await runtime.lessons.teach(record.record_id, [question])
        taught.append((question, expected))
    await runtime.knowledge.wait_idle()
    return taught


async def write_answers(runtime: Runtime, base: Base) -> list[tuple[str, str]]:
    """Answer each question the knowledge base has nothing on (an owner's answer)."""
    for question, answer in base.answers_written:
        await runtime.lessons.add_answer(question, answer)
    await runtime.knowledge.wait_idle()
    return list(base.answers_written)


async def found_first(runtime: Runtime, lessons: list[tuple[str, str]]) -> str:
    """How many taught questions now find their record first, and which do not."""
    missed = []
    for question, expected in lessons:
        hits = await runtime.knowledge.search(question, 1)
        if not (hits and is_match(expected, hits[0].record)):
            missed.append(question)
    line = f"{len(lessons) - len(missed)}/{len(lessons)} taught questions find their record first"
    return line + (f" (not: {missed})" if missed else "")


async def run(base: Base) -> None:
    with tempfile.TemporaryDirectory(prefix="lessons-bench-") as folder:
        settings = Settings(
            data_dir=Path(folder),
            knowledge_dir=base.knowledge,
            profile_path=base.profile,
            admin_token="bench-admin-token-24-chars-long",
        )
        runtime = await Runtime.open(settings)
        try:
            print(f"{base.name} before:            {await scores(runtime, base)}")
            linked = await link(runtime, base)
            print(f"{base.name} + {len(linked)} linked wordings: {await scores(runtime, base)}")
            print(f"  {await found_first(runtime, linked)}")
            written = await write_answers(runtime, base)
            print(f"{base.name} + {len(written)} owner's answers:  {await scores(runtime, base)}")
            print(f"  {await found_first(runtime, linked + written)}")
        finally:
            await runtime.close()


def main() -> None:
    for base in (SALON, CLINIC_BASE):
        asyncio.run(run(base))


if __name__ == "__main__":
    main()
