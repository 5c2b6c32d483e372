"""Retrieval evaluation: question/expected-text cases, Recall@k and MRR, and the misses to read."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from talkme_consultant.helpers.jsonl import json_objects
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.knowledge.search import Hit, Retriever
from talkme_consultant.knowledge.text import clean_display


class CaseFileError(ValueError):
    """A case file line is not a valid case; the message names the file and line."""


@dataclass(frozen=True)
class Case:
    """One evaluation question and a piece of text the right record must contain."""

    question: str
    expected: str


@dataclass(frozen=True)
class Miss:
    """A case whose expected text was not in the first hit, with what came back instead."""

    question: str
    expected: str
    rank: int | None  # 1-based rank of the right record within the top k, None if absent
    top_texts: list[str]


@dataclass
class EvalReport:
    """Metrics over a case set; `misses` lists every case not answered by the first hit."""

    total: int
    recall_at_1: float
    recall_at_5: float
    mrr_at_10: float
    misses: list[Miss] = field(default_factory=list)
    # Per case, the first hit's confidence and whether it was right: what a threshold is
    # calibrated on (`knowledge/calibration.py`).
    first_hits: list[tuple[float, bool]] = field(default_factory=list)

    def summary(self) -> str:
        """One line with the figures, for CLI and benchmark output."""
        return (
            f"n={self.total} R@1={self.recall_at_1:.3f} R@5={self.recall_at_5:.3f} "
            f"MRR@10={self.mrr_at_10:.3f}"
        )


def _fold(text: str) -> str:
    return " ".join(clean_display(text).lower().replace("ё", "е").split())


def is_match(expected: str, record: Record) -> bool:
    """Whether `expected` (folded: case, ё, whitespace) occurs in the record's text."""
    return _fold(expected) in _fold(record.text)


def load_cases(path: Path) -> list[Case]:
    """Read JSONL cases `{"question": ..., "expected": ...}`; blank lines are skipped.

    Raises `CaseFileError` naming the file and line of the first bad line.
    """
    cases: list[Case] = []
    for where, item in json_objects(path, CaseFileError):
        question, expected = item.get("question"), item.get("expected")
        if not isinstance(question, str) or not question.strip():
            raise CaseFileError(f"{where}: 'question' must be text")
        if not isinstance(expected, str) or not expected.strip():
            raise CaseFileError(f"{where}: 'expected' must be text")
        cases.append(Case(question=question.strip(), expected=expected.strip()))
    return cases


async def evaluate(retriever: Retriever, cases: Sequence[Case], k: int = 10) -> EvalReport:
    """Search every case and score where the first record containing `expected` ranks."""
    at1 = at5 = 0
    reciprocal = 0.0
    misses: list[Miss] = []
    first_hits: list[tuple[float, bool]] = []
    for case in cases:
        hits = await retriever.search(case.question, k=max(k, 10))
        rank = first_correct_rank(hits[:k], case.expected)
        if hits:
            first_hits.append((hits[0].confidence, rank == 1))
        if rank == 1:
            at1 += 1
        if rank is not None and rank <= 5:
            at5 += 1
        if rank is not None and rank <= 10:
            reciprocal += 1.0 / rank
        if rank != 1:
            misses.append(
                Miss(case.question, case.expected, rank, [hit.record.text for hit in hits[:3]])
            )
    total = len(cases)
    return EvalReport(
        total=total,
        recall_at_1=at1 / total if total else 0.0,
        recall_at_5=at5 / total if total else 0.0,
        mrr_at_10=reciprocal / total if total else 0.0,
        misses=misses,
        first_hits=first_hits,
    )


def first_correct_rank(hits: Sequence[Hit], expected: str) -> int | None:
    """1-based rank of the first hit whose record contains `expected`, or None."""
    for rank, hit in enumerate(hits, start=1):
        if is_match(expected, hit.record):
            return rank
    return None


def qa_record(question: str, answer: str, file: str, row: int) -> Record:
    """A record shaped like a loaded FAQ spreadsheet row (Question/Answer columns)."""
    fields = {"Вопрос": question, "Ответ": answer}
    text = f"Вопрос: {question}\nОтвет: {answer}"
    return Record(
        text=text,
        title=question,
        answer=answer,
        source=Source(file=file, row=row),
        fields=fields,
    )


def faq_csv_to_records_and_cases(
    path: Path,
    question_column: str = "Question",
    answer_column: str = "Answer",
) -> tuple[list[Record], list[Case]]:
    """Turn a question/answer CSV with paraphrases (like faq_school.csv) into an eval set.

    The knowledge base gets one record per distinct answer, titled with its first question; every
    other question becomes a case whose expected text is that answer.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    grouped: dict[str, list[str]] = {}
    for row in rows:
        answer = (row.get(answer_column) or "").strip()
        question = (row.get(question_column) or "").strip()
        if answer and question:
            grouped.setdefault(answer, []).append(question)
    records: list[Record] = []
    cases: list[Case] = []
    for number, (answer, questions) in enumerate(grouped.items(), start=2):
        records.append(qa_record(questions[0], answer, path.name, number))
        cases.extend(Case(question=q, expected=answer) for q in questions[1:])
    return records, cases
