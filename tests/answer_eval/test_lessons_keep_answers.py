"""Teaching the owner's answer to one question leaves the files' answers to others in place."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from talkme_consultant.config import Settings
from talkme_consultant.service.answer_eval import AnswerCase, AnswerReport, evaluate_answers
from talkme_consultant.service.runtime import Runtime

CLINIC = Path(__file__).parent / "clinic"
TAUGHT = "Сколько стоит снятие брекетов?"
TAUGHT_ANSWER = "Снятие брекетов с одной челюсти вместе с полировкой зубов стоит 6000 рублей."
ROWS_QUESTION = "брекеты сколько стоят"
# The braces' own row in the clinic's price list.
BRACES_PRICE = "38000"


async def taught_and_asked(
    data_dir: Path, phrasings: Sequence[str], cases: list[AnswerCase]
) -> AnswerReport:
    """The clinic with the owner's answer to `TAUGHT` (and `phrasings` linked to it), asked
    `cases`."""
    runtime = await Runtime.open(
        Settings(
            data_dir=data_dir,
            knowledge_dir=CLINIC / "knowledge",
            profile_path=CLINIC / "profile.yaml",
            admin_token="unused-admin-token-24-chars",
            openai_api_key=None,
        )
    )
    try:
        await runtime.lessons.add_answer(TAUGHT, TAUGHT_ANSWER, phrasings=phrasings)
        await runtime.knowledge.wait_idle()
        return await evaluate_answers(runtime.engine, cases)
    finally:
        await runtime.close()


async def test_a_taught_question_about_another_thing_does_not_take_a_rows_question(
    data_dir: Path,
) -> None:
    report = await taught_and_asked(
        data_dir,
        (),
        [
            AnswerCase(question=ROWS_QUESTION, expect_all=[BRACES_PRICE]),
            AnswerCase(question="почем снятие брекетов", expect_all=[TAUGHT_ANSWER]),
        ],
    )

    assert report.counts["right"] == 2, report.misses


async def test_a_wording_the_owner_linked_keeps_the_owners_answer(data_dir: Path) -> None:
    report = await taught_and_asked(
        data_dir,
        [ROWS_QUESTION],
        [AnswerCase(question=ROWS_QUESTION, expect_all=[TAUGHT_ANSWER])],
    )

    assert report.counts["right"] == 1, report.misses
