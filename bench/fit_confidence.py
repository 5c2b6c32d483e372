"""Fit the confidence model (`knowledge/confidence.py`) and check it on bases it never saw.

Prints figures and the constants; asserts nothing. Run from the repository root:

    PYTHONPATH=src .venv/bin/python bench/fit_confidence.py          # fit, report, print constants
    PYTHONPATH=src .venv/bin/python bench/fit_confidence.py --check  # exit 1 if code is stale

Every knowledge base below is in the repository, so the constants are reproduced up to the
embedding engine's rounding (see `CHECK_TOLERANCE`):

- school:  tests/knowledge/data/faq_school.csv (a public admissions FAQ with paraphrases, the
           DeepPavlov FAQ set) plus faq_school_messy.jsonl
- support: tests/knowledge/data/support_kb.csv with support_messy.jsonl
- salon:   the sample salon (src/talkme_consultant/sample) with cases.jsonl and answers.jsonl
- clinic:  tests/answer_eval/clinic (a dental clinic) with its answers.jsonl
- shop:    tests/answer_eval/shop (an electronics shop's support FAQ) with its answers.jsonl

For each question the first two hits become samples labelled "contains the expected answer".
Questions no record answers (off_topic.txt asked of every base, the answer cases that expect a
handoff, and each base's unanswerable_fit.jsonl: questions on the business's own topic that its
knowledge does not answer, such as a neighbour of a listed service) are negatives on both hits
and weigh `NEGATIVE_WEIGHT`, because answering them costs more than handing a real question to a
person. Cases the profile answers (no record holds the
expected text) are left out. The fit is an L2-regularised logistic regression on standardised
features (Newton's method, deterministic). Leave-one-base-out refits show how it does on a base
it was not fitted on: at the answer threshold, how many in-base questions are answered
(coverage), how many answered ones are right (precision), and how many off-topic ones are
answered.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.knowledge.confidence import (
    CONFIDENCE_THRESHOLD,
    DENSE_MODEL,
    KEYWORD_MODEL,
    Features,
    LogisticModel,
)
from talkme_consultant.knowledge.embedders import Embedder, LocalE5Embedder
from talkme_consultant.knowledge.evaluation import (
    faq_csv_to_records_and_cases,
    load_cases,
    qa_record,
)
from talkme_consultant.knowledge.index import KnowledgeIndex, build_index
from talkme_consultant.knowledge.loaders import load_file
from talkme_consultant.knowledge.records import Record
from talkme_consultant.service.answer_eval import contains, load_answer_cases

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "knowledge" / "data"
SAMPLE = ROOT / "src" / "talkme_consultant" / "sample"
ANSWER_SETS = ROOT / "tests" / "answer_eval"

NEGATIVE_WEIGHT = 2.0
L2 = 1.0
# `--check` passes while the code's constants and a refit answer the same first hits, all but
# this share. The embedding engine rounds a little differently from one processor to another
# (the same code fits bias -28.1 on one machine and -27.1 on another, along a valley where the
# bias and the cosine's weight trade off), so equal constants to the third decimal cannot be
# asked of every machine; equal decisions can.
CHECK_TOLERANCE = 0.01
# Also tried, and left out because leave-one-base-out figures did not move (held out, all: 0.74
# answered, 0.92 right either way): the cosine minus the candidates' mean cosine, agreement of
# the keyword and meaning winners, the query's coverage and the fused score.
DENSE_FEATURES = ("dense", "dense_margin", "keyword", "matched", "margin", "missing")
KEYWORD_FEATURES = ("keyword", "coverage", "matched", "margin", "missing")
# Questions each base cannot answer, used to fit; the *_check.jsonl beside them are only ever
# reported (`eval answers`), never fitted on.
UNANSWERABLE = "unanswerable_fit.jsonl"


@dataclass(frozen=True)
class Question:
    """A question asked of a base: the texts a right record holds (any / all), or none."""

    text: str
    any_of: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.any_of or self.all_of)

    def answered_by(self, record: Record) -> bool:
        if not self.answerable:
            return False
        text = record.text
        return (not self.any_of or any(contains(text, e) for e in self.any_of)) and all(
            contains(text, e) for e in self.all_of
        )


@dataclass
class Base:
    name: str
    records: list[Record]
    questions: list[Question]


def _folder_records(folder: Path) -> list[Record]:
    return [
        record
        for path in sorted(folder.iterdir())
        if path.suffix != ".jsonl"
        for record in load_file(path)
    ]


def _answer_questions(path: Path) -> list[Question]:
    questions = []
    if not path.exists():
        return []
    for case in load_answer_cases(path):
        if case.turns is not None or case.expect == "clarify":
            continue
        questions.append(
            Question(case.visitor_turns[-1], tuple(case.expect_any), tuple(case.expect_all))
        )
    return questions


def bases() -> list[Base]:
    """The knowledge bases and their questions, answerable ones first."""
    school, school_cases = faq_csv_to_records_and_cases(DATA / "faq_school.csv")
    school_cases += load_cases(DATA / "faq_school_messy.jsonl")
    with (DATA / "support_kb.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[1:]
    support = [qa_record(q, a, "support_kb.csv", n) for n, (q, a) in enumerate(rows, start=2)]
    salon_questions = [
        Question(c.question, (c.expected,))
        for c in load_cases(SAMPLE / "knowledge" / "cases.jsonl")
    ]
    salon_questions += _answer_questions(SAMPLE / "answers.jsonl")
    support_questions = [
        Question(c.question, (c.expected,)) for c in load_cases(DATA / "support_messy.jsonl")
    ]
    return [
        Base("school", school, [Question(c.question, (c.expected,)) for c in school_cases]),
        Base("support", support, support_questions + _unanswerable("support")),
        Base(
            "salon",
            _folder_records(SAMPLE / "knowledge"),
            salon_questions + _unanswerable("salon"),
        ),
        Base(
            "clinic",
            _folder_records(ANSWER_SETS / "clinic" / "knowledge"),
            _answer_questions(ANSWER_SETS / "clinic" / "answers.jsonl") + _unanswerable("clinic"),
        ),
        Base(
            "shop",
            _folder_records(ANSWER_SETS / "shop" / "knowledge"),
            _answer_questions(ANSWER_SETS / "shop" / "answers.jsonl") + _unanswerable("shop"),
        ),
    ]


def _unanswerable(base: str) -> list[Question]:
    return _answer_questions(ANSWER_SETS / base / UNANSWERABLE)


@dataclass
class Samples:
    """Feature rows of one base: per question its first two hits."""

    base: str
    features: list[Features]
    labels: np.ndarray
    weights: np.ndarray
    question: np.ndarray  # which question a row belongs to
    first: np.ndarray  # whether the row is the question's first hit
    in_base: np.ndarray  # whether the question has an answer in the base


async def collect(base: Base, off_topic: Sequence[str], embedder: Embedder | None) -> Samples:
    """Rank every question of a base and keep its first two hits' features and labels."""
    index: KnowledgeIndex = await build_index(base.records, embedder, MemoryEmbeddingCache())
    questions = [
        q for q in base.questions if not q.answerable or any(map(q.answered_by, base.records))
    ]
    questions += [Question(text) for text in off_topic]
    rows: list[Features] = []
    labels, weights, owner, first, in_base = [], [], [], [], []
    for number, question in enumerate(questions):
        vector = index.embed_query(question.text)
        for position, ranked in enumerate(index.rank(question.text, vector, 2)):
            rows.append(ranked.features)
            labels.append(float(question.answered_by(index.records[ranked.index])))
            weights.append(1.0 if question.answerable else NEGATIVE_WEIGHT)
            owner.append(number)
            first.append(position == 0)
            in_base.append(question.answerable)
    return Samples(
        base.name,
        rows,
        np.asarray(labels),
        np.asarray(weights),
        np.asarray(owner),
        np.asarray(first),
        np.asarray(in_base),
    )


def matrix(rows: Sequence[Features], names: Sequence[str]) -> np.ndarray:
    return np.asarray([[getattr(f, n) for n in names] for f in rows], dtype=np.float64)


def fit(samples: Sequence[Samples], names: Sequence[str]) -> LogisticModel:
    """L2-regularised logistic regression on standardised features, by Newton's method."""
    x = np.concatenate([matrix(s.features, names) for s in samples])
    y = np.concatenate([s.labels for s in samples])
    w = np.concatenate([s.weights for s in samples])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], L2)
    penalty[0] = 0.0  # the bias is not shrunk
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ beta)))
        gradient = z.T @ (w * (p - y)) + penalty * beta
        hessian = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    weights = beta[1:] / scale
    bias = beta[0] - float(weights @ mean)
    values = {name: round(float(v), 3) for name, v in zip(names, weights, strict=True)}
    return LogisticModel(bias=round(float(bias), 3), **values)


@dataclass(frozen=True)
class Score:
    in_base: int
    answered: int
    right: int
    off_topic: int
    off_answered: int

    def line(self) -> str:
        coverage = self.answered / self.in_base if self.in_base else 0.0
        precision = self.right / self.answered if self.answered else 1.0
        off = self.off_answered / self.off_topic if self.off_topic else 0.0
        return (
            f"answers {coverage:.2f} of {self.in_base} in-base questions, right {precision:.2f} "
            f"of those; answers {off:.2f} of {self.off_topic} with no answer"
        )


def score(model: LogisticModel, s: Samples, threshold: float = CONFIDENCE_THRESHOLD) -> Score:
    """What answering the first hit at `threshold` would do on one base."""
    confident = np.asarray([model.confidence(f) >= threshold for f in first_hits([s])], dtype=bool)
    labels, in_base = s.labels[s.first], s.in_base[s.first]
    return Score(
        in_base=int(in_base.sum()),
        answered=int((confident & in_base).sum()),
        right=int((confident & (labels == 1)).sum()),
        off_topic=int((~in_base).sum()),
        off_answered=int((confident & ~in_base).sum()),
    )


def total(scores: Sequence[Score]) -> Score:
    return Score(*(sum(getattr(s, f.name) for s in scores) for f in fields(Score)))


def disagreement(samples: Sequence[Samples], one: LogisticModel, other: LogisticModel) -> float:
    """The share of first hits one model answers at the threshold and the other does not."""
    decided = [
        (one.confidence(f) >= CONFIDENCE_THRESHOLD, other.confidence(f) >= CONFIDENCE_THRESHOLD)
        for f in first_hits(samples)
    ]
    return sum(a != b for a, b in decided) / len(decided) if decided else 0.0


def largest_difference(
    samples: Sequence[Samples], one: LogisticModel, other: LogisticModel
) -> float:
    """The largest difference of the two models' confidence on a first hit (the answerer also
    reads confidence at floors below the threshold)."""
    return max(
        (abs(one.confidence(f) - other.confidence(f)) for f in first_hits(samples)), default=0.0
    )


def first_hits(samples: Sequence[Samples]) -> list[Features]:
    """The features of each question's first hit, base after base."""
    return [f for s in samples for f, is_first in zip(s.features, s.first, strict=True) if is_first]


def code(name: str, model: LogisticModel) -> str:
    parts = [
        f"{f.name}={getattr(model, f.name)!r}" for f in fields(model) if getattr(model, f.name)
    ]
    return f"{name} = LogisticModel({', '.join(parts)})"


def report(
    title: str, samples: list[Samples], names: Sequence[str], current: LogisticModel
) -> LogisticModel:
    print(f"{title} (features: {', '.join(names)})")
    held_out = []
    for s in samples:
        model = fit([o for o in samples if o is not s], names)
        held_out.append(score(model, s))
        print(f"  held out {s.base:8s} {held_out[-1].line()}")
    print(f"  held out, all    {total(held_out).line()}")
    final = fit(samples, names)
    print(f"  fitted on all    {total([score(final, s) for s in samples]).line()}")
    print(f"  constants now    {total([score(current, s) for s in samples]).line()}")
    return final


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the code's constants are stale"
    )
    args = parser.parse_args()
    off_topic = [q for q in (DATA / "off_topic.txt").read_text("utf-8").splitlines() if q.strip()]
    embedder = LocalE5Embedder()
    dense, keyword = [], []
    for base in bases():
        dense.append(await collect(base, off_topic, embedder))
        keyword.append(await collect(base, off_topic, None))
    dense_model = report("Hybrid index", dense, DENSE_FEATURES, DENSE_MODEL)
    keyword_model = report("Keyword-only index", keyword, KEYWORD_FEATURES, KEYWORD_MODEL)
    print(code("DENSE_MODEL", dense_model))
    print(code("KEYWORD_MODEL", keyword_model))
    stale = False
    for name, samples, refit, current in (
        ("DENSE_MODEL", dense, dense_model, DENSE_MODEL),
        ("KEYWORD_MODEL", keyword, keyword_model, KEYWORD_MODEL),
    ):
        share = disagreement(samples, refit, current)
        print(
            f"{name}: the code and this fit decide differently on {share:.1%} of the first hits; "
            f"their confidence differs by at most {largest_difference(samples, refit, current):.3f}"
        )
        stale = stale or share > CHECK_TOLERANCE
    if args.check and stale:
        print(f"the constants in knowledge/confidence.py are stale (over {CHECK_TOLERANCE:.0%})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
