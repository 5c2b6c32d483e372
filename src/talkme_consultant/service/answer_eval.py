"""Conversation-level evaluation: visitor questions through the real dialog engine, replies checked.

A case file is JSONL; each line is one fresh dialogue: a `question`, or several visitor messages
(`turns`). The last reply is checked against substrings (`expect_any` / `expect_all`, and none of
`expect_none`) or a kind (`expect`: "handoff" or "clarify"); a message written as an object
(`{"say": …, "expect_all": …}`) has its own reply checked too. Every case ends in one verdict,
decided by its first judged reply that fails: right, wrong (answered, but not with what was
expected, or answered where a person was expected), clarify (asked the visitor to choose instead,
without the expected facts), or handoff (handed to a person instead of answering).

A question the knowledge does not answer at all (`expect`: "no_answer") is judged honest when
the bot handed it over or said what it has no word of, and guessed otherwise.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from talkme_consultant.dialog.local import LocalDialogue, TurnEngine
from talkme_consultant.helpers.jsonl import json_objects
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnOutcome

Verdict = Literal["right", "wrong", "clarify", "handoff", "honest", "guessed"]
VERDICTS: tuple[Verdict, ...] = ("right", "wrong", "clarify", "handoff", "honest", "guessed")
# The verdicts of questions the knowledge holds no answer for.
NO_ANSWER_VERDICTS: tuple[Verdict, ...] = ("honest", "guessed")
# The verdicts of a reply that did what was expected of it.
PASSED: tuple[Verdict, ...] = ("right", "honest")
ReplyKind = Literal["answer", "clarify", "handoff"]


class AnswerCaseFileError(ValueError):
    """A case file line is not a valid case; the message names the file and the line."""


class Expectation(BaseModel):
    """What one reply must be: texts it holds (`expect_any` / `expect_all`, and none of
    `expect_none`) or a kind (`expect`). Every field empty means the reply is not judged."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    expect_any: list[str] = []
    expect_all: list[str] = []
    # Texts the reply must not hold: «а телефон в Сокольниках?» is not answered by both phones.
    expect_none: list[str] = []
    expect: Literal["handoff", "clarify", "no_answer"] | None = None

    @field_validator("expect_any", "expect_all", "expect_none", mode="before")
    @classmethod
    def _one_text_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("expect_any", "expect_all", "expect_none")
    @classmethod
    def _no_blank_texts(cls, value: list[str]) -> list[str]:
        if any(not text.strip() for text in value):
            raise ValueError("expected texts must not be blank")
        return value

    @model_validator(mode="after")
    def _texts_or_a_kind(self) -> Self:
        if self.has_texts and self.expect is not None:
            raise ValueError(
                "give 'expect_any'/'expect_all' texts or 'expect' (handoff, clarify or "
                "no_answer), one of them"
            )
        if self.expect_none and not self.has_texts:
            raise ValueError("'expect_none' refines expected texts: give 'expect_any'/'expect_all'")
        return self

    @property
    def has_texts(self) -> bool:
        """Whether the reply is judged by texts it must hold."""
        return bool(self.expect_any or self.expect_all)

    @property
    def judged(self) -> bool:
        """Whether anything is expected of the reply."""
        return self.has_texts or self.expect is not None

    def expected_only(self) -> Expectation:
        """The expectation alone, without the fields of a case or a turn."""
        return Expectation(
            expect_any=self.expect_any,
            expect_all=self.expect_all,
            expect_none=self.expect_none,
            expect=self.expect,
        )

    def expectation(self) -> str:
        """What is expected, in words, for reports."""
        if self.expect is not None:
            return self.expect
        parts = []
        if self.expect_any:
            parts.append("any of " + " | ".join(self.expect_any))
        if self.expect_all:
            parts.append("all of " + " & ".join(self.expect_all))
        if self.expect_none:
            parts.append("none of " + " | ".join(self.expect_none))
        return "; ".join(parts)


class Turn(Expectation):
    """One visitor message of a dialogue, with what its reply must be (or nothing)."""

    say: str


class AnswerCase(Expectation):
    """One line of an answer case file: a question, or a dialogue of several messages.

    The case's own expectation is on the last reply; a message written as an object
    (`{"say": …, "expect_all": …}`) carries an expectation on its own reply instead, so a
    dialogue may be judged on every reply. The last reply is always judged, once.
    """

    question: str | None = None
    turns: list[str | Turn] | None = None
    note: str = ""

    @model_validator(mode="after")
    def _one_question_and_one_expectation(self) -> Self:
        if (self.question is None) == (self.turns is None):
            raise ValueError("give either 'question' or 'turns', not both or neither")
        if not all(turn.strip() for turn in self.visitor_turns):
            raise ValueError("visitor messages must not be blank")
        if not self.visitor_turns:
            raise ValueError("'turns' must hold at least one message")
        last = self.turns[-1] if self.turns else None
        last_judged = isinstance(last, Turn) and last.judged
        if self.judged and last_judged:
            raise ValueError("the last message's reply is judged twice: by the case and by itself")
        if not (self.judged or last_judged):
            raise ValueError(
                "give 'expect_any'/'expect_all' texts or 'expect' (handoff, clarify or "
                "no_answer), one of them"
            )
        return self

    @property
    def visitor_turns(self) -> list[str]:
        """The visitor's messages in order (a single question is a one-turn dialogue)."""
        if self.turns is not None:
            return [turn.say if isinstance(turn, Turn) else turn for turn in self.turns]
        return [self.question or ""]

    def judged_turns(self) -> dict[int, Expectation]:
        """The index of every message whose reply is judged, with what it must be."""
        judged: dict[int, Expectation] = {}
        for index, turn in enumerate(self.turns or []):
            if isinstance(turn, Turn) and turn.judged:
                judged[index] = turn.expected_only()
        if self.judged:
            judged[len(self.visitor_turns) - 1] = self.expected_only()
        return judged


def load_answer_cases(path: Path) -> list[AnswerCase]:
    """Read a JSONL case file; blank lines are skipped.

    Raises `AnswerCaseFileError` naming the file and line of the first bad line, and why.
    """
    cases: list[AnswerCase] = []
    for where, item in json_objects(path, AnswerCaseFileError):
        try:
            cases.append(AnswerCase.model_validate(item))
        except ValidationError as exc:
            raise AnswerCaseFileError(f"{where}: {_describe(exc)}") from exc
    if not cases:
        raise AnswerCaseFileError(f"{path.name}: no cases")
    return cases


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        place = ".".join(str(part) for part in item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{place}: {message}" if place else message)
    return "; ".join(problems)


# Spaces of every kind (nbsp, thin, narrow nbsp) and hyphens/dashes of every kind fold to nothing
# and "-": "1 800 ₽" matches "1800", "гель‑лак" (non-breaking hyphen) matches "гель-лак".
_SPACES = re.compile(r"\s+")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})


def fold(text: str) -> str:
    """Text as compared: lower case, ё as е, every dash as "-", no whitespace at all."""
    folded = text.lower().replace("ё", "е").replace("\u00ad", "").translate(_DASHES)
    return _SPACES.sub("", folded)


def contains(reply: str, expected: str) -> bool:
    """Whether `expected` occurs in `reply`, ignoring case, ё/е, dash kinds and whitespace."""
    return fold(expected) in fold(reply)


_OPTION_LINE = re.compile(r"^\s*(?:\d{1,2}[.)]|[•\-—*])\s+\S", re.MULTILINE)
_CHOOSE_WORDS = re.compile(
    r"уточните|выберите|какой|какая|какую|какое|какие|что именно|номер варианта|напишите номер",
    re.IGNORECASE,
)


def asks_to_choose(reply: str) -> bool:
    """Whether a reply asks the visitor to choose: two or more options and a question.

    The question must be outside the options: a list of FAQ questions ("• Больно ли лечить?")
    offered without asking anything is an answer, not a clarifying question.
    """
    lines = reply.splitlines()
    options = [line for line in lines if _OPTION_LINE.match(line)]
    if len(options) < 2:
        return False
    rest = "\n".join(line for line in lines if not _OPTION_LINE.match(line))
    return "?" in rest or bool(_CHOOSE_WORDS.search(rest))


def reply_kind(outcome: TurnOutcome) -> ReplyKind:
    """What the turn did: handed over, asked the visitor to choose, or answered."""
    if outcome.handed_off:
        return "handoff"
    if outcome.meta.get("intent") == "clarify" or outcome.events_of(EventKind.CLARIFY):
        return "clarify"
    if asks_to_choose("\n".join(outcome.replies)):
        return "clarify"
    return "answer"


def admits_missing(outcome: TurnOutcome) -> bool:
    """Whether the turn said that the knowledge holds nothing on what was asked (a handoff, or
    a reply naming what is not there before offering anything near it)."""
    return outcome.handed_off or bool(outcome.meta.get("missing"))


def judge(case: Expectation, kind: ReplyKind, reply: str, *, admitted: bool = False) -> Verdict:
    """The verdict on one reply, given what its turn did and said, and whether it admitted
    that the knowledge holds nothing on the question (`admits_missing`)."""
    if case.expect == "no_answer":
        return "honest" if admitted or kind == "handoff" else "guessed"
    if case.expect is not None:
        if kind == case.expect:
            return "right"
        return "wrong" if kind == "answer" else kind
    if kind == "handoff":
        return "handoff"
    any_ok = not case.expect_any or any(contains(reply, text) for text in case.expect_any)
    all_ok = all(contains(reply, text) for text in case.expect_all)
    none_ok = not any(contains(reply, text) for text in case.expect_none)
    if any_ok and all_ok and none_ok:
        # A list of the manicures with their prices that ends "Какой вам подходит?" still told
        # the visitor what was asked.
        return "right"
    return "clarify" if kind == "clarify" else "wrong"


@dataclass(frozen=True)
class CaseResult:
    """One case and what the bot did with it."""

    question: str  # the visitor message whose reply was judged (earlier ones are in `turns`)
    expected: str
    got: str
    kind: ReplyKind
    verdict: Verdict
    turns: list[str] = field(default_factory=list)


@dataclass
class AnswerReport:
    """Counts per verdict over a case set; `misses` lists every case not judged right (or
    honest, for a question the knowledge cannot answer)."""

    total: int
    counts: dict[str, int]
    misses: list[CaseResult] = field(default_factory=list)

    def share(self, verdict: Verdict) -> float:
        """Fraction of the cases with this verdict (0 for an empty set)."""
        return self.counts.get(verdict, 0) / self.total if self.total else 0.0

    def summary(self) -> str:
        """One line with the figures, for the CLI and the README; honest / guessed appear when
        the set holds questions the knowledge cannot answer."""
        shown = [
            verdict
            for verdict in VERDICTS
            if verdict not in NO_ANSWER_VERDICTS or self.counts.get(verdict, 0)
        ]
        parts = [
            f"{verdict} {self.counts.get(verdict, 0)} ({self.share(verdict):.0%})"
            for verdict in shown
        ]
        return f"{self.total} cases: " + ", ".join(parts)


async def play_dialogue(engine: TurnEngine, turns: Sequence[str], key: str) -> list[TurnOutcome]:
    """Play the visitor's messages as one fresh dialogue; return every turn's outcome."""
    if not turns:  # the case model guarantees a turn; this keeps the type honest
        raise ValueError("a dialogue needs at least one visitor message")
    dialogue = LocalDialogue(engine, key)
    return [await dialogue.say(text) for text in turns]


async def run_dialogue(engine: TurnEngine, turns: Sequence[str], key: str) -> TurnOutcome:
    """Play the visitor's messages as one fresh dialogue; return the last turn's outcome."""
    return (await play_dialogue(engine, turns, key))[-1]


def judge_dialogue(case: AnswerCase, outcomes: Sequence[TurnOutcome]) -> CaseResult:
    """The case's verdict: its first judged reply that is not right (or honest), in the
    dialogue's order, else its last judged reply, which passed like every other."""
    turns = case.visitor_turns
    result: CaseResult | None = None
    for index, expected in sorted(case.judged_turns().items()):
        outcome = outcomes[index]
        reply = "\n\n".join(outcome.replies)
        kind = reply_kind(outcome)
        result = CaseResult(
            question=turns[index],
            expected=expected.expectation(),
            got=reply,
            kind=kind,
            verdict=judge(expected, kind, reply, admitted=admits_missing(outcome)),
            turns=list(turns[:index]),
        )
        if result.verdict not in PASSED:
            return result
    if result is None:  # the case model guarantees a judged reply; this keeps the type honest
        raise ValueError("a case needs at least one judged reply")
    return result


async def evaluate_answers(engine: TurnEngine, cases: Sequence[AnswerCase]) -> AnswerReport:
    """Run every case in its own fresh dialogue and judge its replies (see `judge_dialogue`)."""
    counts: Counter[str] = Counter()
    misses: list[CaseResult] = []
    for number, case in enumerate(cases, start=1):
        outcomes = await play_dialogue(engine, case.visitor_turns, key=f"answer-eval-{number}")
        result = judge_dialogue(case, outcomes)
        counts[result.verdict] += 1
        if result.verdict not in PASSED:
            misses.append(result)
    return AnswerReport(
        total=len(cases), counts={v: counts.get(v, 0) for v in VERDICTS}, misses=misses
    )
