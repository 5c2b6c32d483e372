"""The owner's lessons: own answers (an FAQ kept in the store) and phrasings taught for records.

Each change is committed with a new knowledge version and the index is rebuilt in the
background at once, so a lesson is served within seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.knowledge.evaluation import is_match
from talkme_consultant.knowledge.records import Record
from talkme_consultant.service.clock import now
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.store.lessons import MAX_WORDING_CHARS, FaqEntry, LessonsRepository

MAX_QUESTION_CHARS = MAX_WORDING_CHARS
MAX_ANSWER_CHARS = 4000
# How many of a group's wordings become phrasings of the record that answers them.
MAX_PHRASINGS_PER_LESSON = 20
# Hits searched for the record that contains an expected text (`kb teach` with "expected").
_EXPECTED_SEARCH = 50


class LessonError(ValueError):
    """A lesson that cannot be taught; the message says why in plain words."""


class UnknownRecord(LessonError):
    """No served record has the id given."""


def clean_field(value: str, name: str, limit: int) -> str:
    """`value` cleaned and trimmed, or a `LessonError` naming the field when empty or too long."""
    text = clean_text(value).strip()
    if not text:
        raise LessonError(f"{name} is empty")
    if len(text) > limit:
        raise LessonError(f"{name} is longer than {limit} characters")
    return text


class Lessons:
    """What the owner teaches, over the store and the live knowledge base."""

    def __init__(self, repository: LessonsRepository, knowledge: KnowledgeBase) -> None:
        self._repository = repository
        self._knowledge = knowledge

    async def add_answer(
        self,
        question: str,
        answer: str,
        *,
        phrasings: Sequence[str] = (),
        resolve: Sequence[int] = (),
    ) -> FaqEntry:
        """Store an owner's answer (with other wordings of its question) and serve it."""
        question = clean_field(question, "question", MAX_QUESTION_CHARS)
        answer = clean_field(answer, "answer", MAX_ANSWER_CHARS)
        wordings = _wordings(phrasings)
        saved = await self._repository.add_faq(
            question, answer, now=now(), phrasings=wordings, resolve=resolve
        )
        self._knowledge.request_refresh()
        assert saved.faq is not None
        return saved.faq

    async def edit_answer(self, faq_id: int, question: str, answer: str) -> FaqEntry | None:
        """Change an owner's answer; None when there is none under `faq_id`."""
        question = clean_field(question, "question", MAX_QUESTION_CHARS)
        answer = clean_field(answer, "answer", MAX_ANSWER_CHARS)
        saved = await self._repository.update_faq(faq_id, question, answer, now=now())
        if saved.faq is None:
            return None
        self._knowledge.request_refresh()
        return saved.faq

    async def delete_answer(self, faq_id: int) -> FaqEntry | None:
        """Remove an owner's answer (the questions it answered are open again)."""
        saved = await self._repository.delete_faq(faq_id, now=now())
        if saved is None:
            return None
        self._knowledge.request_refresh()
        return saved.faq

    async def teach(
        self, record_id: str, phrasings: Sequence[str], *, resolve: Sequence[int] = ()
    ) -> int:
        """Make visitors' wordings extra phrasings of a served record; returns how many were
        new. `UnknownRecord` when the knowledge base serves no record with that id."""
        if self._knowledge.record(record_id) is None:
            raise UnknownRecord(f"no record with id {record_id!r} in the knowledge base")
        saved = await self._repository.add_phrasings(
            record_id, _wordings(phrasings), now=now(), resolve=resolve
        )
        self._knowledge.request_refresh()
        return saved.added

    async def forget_phrasing(self, phrasing_id: int) -> bool:
        """Remove one taught phrasing; False when there is none by that id."""
        version = await self._repository.delete_phrasing(phrasing_id, now=now())
        if version is None:
            return False
        self._knowledge.request_refresh()
        return True

    async def record_containing(self, expected: str, question: str) -> Record | None:
        """The served record whose text contains `expected` (as `eval retrieval` matches it):
        the one the question ranks highest, else the first in the knowledge base."""
        for hit in await self._knowledge.search(question, _EXPECTED_SEARCH):
            if is_match(expected, hit.record):
                return hit.record
        return next((r for r in self._knowledge.records() if is_match(expected, r)), None)


def _wordings(phrasings: Sequence[str]) -> list[str]:
    cleaned = (clean_text(p).strip()[:MAX_QUESTION_CHARS] for p in phrasings)
    return [p for p in cleaned if p][:MAX_PHRASINGS_PER_LESSON]
