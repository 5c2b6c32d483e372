"""Lessons from a file (`kb teach`): each line teaches one question to the record answering it.

A line names the record by id (`record_id`) or by a text the record contains (`expected`, as
in retrieval case files). Each line is checked and taught on its own: a bad line is reported by
number and changes nothing, the good ones are kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from talkme_consultant.service.lessons import MAX_QUESTION_CHARS, LessonError, Lessons


class LessonLine(BaseModel):
    """One line of a lessons file."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    record_id: str | None = Field(default=None, min_length=1, max_length=32)
    expected: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one_target(self) -> LessonLine:
        if (self.record_id is None) == (self.expected is None):
            raise ValueError('give exactly one of "record_id" and "expected"')
        return self


@dataclass(frozen=True)
class ParsedLine:
    """A line read from the file: its lesson, or why it is not one."""

    line: int
    lesson: LessonLine | None
    error: str | None


@dataclass(frozen=True)
class LineResult:
    """What teaching one line did."""

    line: int
    ok: bool
    message: str


def read_lessons(content: bytes) -> list[ParsedLine]:
    """Every non-blank line, numbered from 1, parsed into a lesson or an error."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [ParsedLine(1, None, f"the file is not UTF-8 text ({error.reason})")]
    parsed: list[ParsedLine] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError as error:
            parsed.append(ParsedLine(number, None, f"not a JSON object: {error}"))
            continue
        try:
            parsed.append(ParsedLine(number, LessonLine.model_validate(data), None))
        except ValidationError as error:
            parsed.append(ParsedLine(number, None, _problems(error)))
    return parsed


async def teach_lessons(lessons: Lessons, lines: Sequence[ParsedLine]) -> list[LineResult]:
    """Teach each good line; report each line's outcome in file order."""
    results: list[LineResult] = []
    for parsed in lines:
        lesson = parsed.lesson
        if lesson is None:
            results.append(LineResult(parsed.line, False, parsed.error or "unreadable"))
            continue
        results.append(await _teach_one(lessons, parsed.line, lesson))
    return results


async def _teach_one(lessons: Lessons, line: int, lesson: LessonLine) -> LineResult:
    record_id = lesson.record_id
    if lesson.expected is not None:
        record = await lessons.record_containing(lesson.expected, lesson.question)
        if record is None:
            return LineResult(line, False, f"no record contains {lesson.expected!r}")
        record_id = record.record_id
    assert record_id is not None
    try:
        added = await lessons.teach(record_id, [lesson.question])
    except LessonError as error:
        return LineResult(line, False, str(error))
    if not added:
        return LineResult(line, True, f"record {record_id} already knows this wording")
    return LineResult(line, True, f"taught to record {record_id}")


def _problems(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in problem["loc"])
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
