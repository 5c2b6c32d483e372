"""Case files, metrics and the FAQ-CSV helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkme_consultant.knowledge.evaluation import (
    Case,
    CaseFileError,
    evaluate,
    faq_csv_to_records_and_cases,
    is_match,
    load_cases,
)
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit


def _record(text: str) -> Record:
    return Record(text=text, source=Source(file="kb.md"))


class ScriptedRetriever:
    """Returns a fixed ranking per question."""

    def __init__(self, rankings: dict[str, list[str]]) -> None:
        self.rankings = rankings

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        return [
            Hit(record_id=str(i), record=_record(t), score=1.0 / (i + 1), confidence=0.5)
            for i, t in enumerate(self.rankings[query][:k])
        ]


async def test_metrics_on_a_tiny_fixture() -> None:
    retriever = ScriptedRetriever(
        {
            "a": ["Ответ А", "Ответ Б"],  # right at rank 1
            "b": ["Ответ А", "Ответ Б"],  # rank 2
            "c": ["x", "y", "z", "w", "v", "u", "Ответ В"],  # rank 7
            "d": ["x", "y"],  # absent
        }
    )
    cases = [Case("a", "ответ а"), Case("b", "Ответ  Б"), Case("c", "ОТВЕТ В"), Case("d", "нет")]

    report = await evaluate(retriever, cases, k=10)

    assert report.total == 4
    assert report.recall_at_1 == pytest.approx(0.25)
    assert report.recall_at_5 == pytest.approx(0.5)
    assert report.mrr_at_10 == pytest.approx((1 + 1 / 2 + 1 / 7) / 4)
    assert [m.question for m in report.misses] == ["b", "c", "d"]
    assert report.misses[0].rank == 2
    assert report.misses[2].rank is None
    assert report.misses[0].top_texts == ["Ответ А", "Ответ Б"]


def test_match_folds_case_yo_and_spaces() -> None:
    record = _record("Ёлка стоит\n1500  рублей")
    assert is_match("елка СТОИТ 1500 рублей", record)
    assert not is_match("ёлка стоит 2000", record)


def test_load_cases_and_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "cases.jsonl"
    good.write_text(
        '{"question": "сколько стоит?", "expected": "1500"}\n\n'
        '{"question": "где?", "expected": "Москва"}\n',
        encoding="utf-8",
    )
    assert load_cases(good) == [Case("сколько стоит?", "1500"), Case("где?", "Москва")]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "expected": "ok"}\n{"question": "нет ответа"}\n', "utf-8")
    with pytest.raises(CaseFileError, match=r"bad\.jsonl, line 2"):
        load_cases(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match="line 1"):
        load_cases(broken)


def test_faq_csv_helper(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        "Question,Answer,Class\n"
        "Как записаться?,По телефону.,1\n"
        "Где записаться?,По телефону.,1\n"
        "Как оплатить?,Картой.,2\n",
        encoding="utf-8",
    )

    records, cases = faq_csv_to_records_and_cases(path)

    assert [r.title for r in records] == ["Как записаться?", "Как оплатить?"]
    assert records[0].answer == "По телефону."
    assert records[0].text == "Вопрос: Как записаться?\nОтвет: По телефону."
    assert cases == [Case("Где записаться?", "По телефону.")]
