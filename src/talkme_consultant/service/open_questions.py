"""Open questions grouped by meaning, and the owner's actions on a group.

A group is identified by its first question's id (its leader). Groups are formed when they are
read, from the questions of one status: near-duplicates by the knowledge base's embedder, or by
shared words when there is none. The result is kept until a question of that status changes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from talkme_consultant.knowledge.grouping import group_by_vectors, group_by_words
from talkme_consultant.service.clock import now
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import Lessons, clean_field
from talkme_consultant.store.lessons import FaqEntry
from talkme_consultant.store.questions import MarkOutcome, QuestionRepository, QuestionRow

GroupStatus = Literal["open", "answered", "linked", "dismissed"]
"""open: waiting for the owner; answered: by an owner's answer; linked: to an existing record;
dismissed: set aside (spam, off-topic)."""
QuestionKind = Literal["not_known", "unclear", "wrong"]
"""not_known: handed over for not knowing; unclear: a clarification the visitor did not
resolve; wrong: the owner marked the bot's answer wrong."""
EXAMPLES_PER_GROUP = 5
# Stems of questions kept between groupings (without an embedder); beyond this, start over.
MAX_CACHED_STEMS = 50_000


@dataclass(frozen=True)
class QuestionGroup:
    """Near-identical questions: the first one names the group, the newest are its examples."""

    id: int
    status: GroupStatus
    question: str
    count: int
    last_asked_at: float
    kinds: dict[str, int]
    examples: list[QuestionRow]  # the store's rows: one visitor's question each
    question_ids: list[int] = field(repr=False)
    wordings: list[str] = field(repr=False)
    resolution: str | None = None


@dataclass(frozen=True)
class GroupPage:
    """One page of groups, most asked first."""

    status: GroupStatus
    total_groups: int
    total_questions: int
    groups: list[QuestionGroup]


class GroupNotFound(LookupError):
    """No group with this id among the questions of the status asked for."""


class OpenQuestions:
    """Collects, groups and resolves the questions the bot could not answer."""

    def __init__(
        self, repository: QuestionRepository, lessons: Lessons, knowledge: KnowledgeBase
    ) -> None:
        self._repository = repository
        self._lessons = lessons
        self._knowledge = knowledge
        self._vectors = knowledge.question_vectors
        self._stems: dict[str, frozenset[str]] = {}
        self._grouped: dict[str, tuple[tuple[int, int], list[QuestionGroup]]] = {}
        self._lock = asyncio.Lock()

    async def page(
        self, status: GroupStatus = "open", limit: int = 20, offset: int = 0
    ) -> GroupPage:
        """Groups `offset`…`offset+limit` of `status`, most asked first (then most recent)."""
        groups = await self.groups(status)
        return GroupPage(
            status=status,
            total_groups=len(groups),
            total_questions=sum(g.count for g in groups),
            groups=groups[offset : offset + limit],
        )

    async def groups(self, status: GroupStatus = "open") -> list[QuestionGroup]:
        """Every group of `status`, most asked first; new unanswered questions are picked up."""
        await self._repository.collect()
        async with self._lock:
            fingerprint = await self._repository.fingerprint(status)
            cached = self._grouped.get(status)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
            groups = await self._group(status, await self._repository.rows(status))
            self._grouped[status] = (fingerprint, groups)
            return groups

    async def group(self, group_id: int, status: GroupStatus = "open") -> QuestionGroup:
        """One group by id; `GroupNotFound` when no group of `status` has that id."""
        for found in await self.groups(status):
            if found.id == group_id:
                return found
        raise GroupNotFound(f"no {status} question group with id {group_id}")

    async def answer(self, group_id: int, answer: str, question: str | None = None) -> FaqEntry:
        """Write the answer to a group: a new owner's answer whose question is `question` (or
        the group's first one), the group's other wordings as its phrasings."""
        found = await self.group(group_id)
        title = clean_field(question, "question", 1000) if question else found.question
        return await self._lessons.add_answer(
            title, answer, phrasings=found.wordings, resolve=found.question_ids
        )

    async def link(self, group_id: int, record_id: str) -> int:
        """Point a group to the record that already answers it: its wordings become phrasings
        of that record. Returns how many phrasings were new."""
        found = await self.group(group_id)
        return await self._lessons.teach(record_id, found.wordings, resolve=found.question_ids)

    async def dismiss(self, group_id: int) -> int:
        """Set a group aside; returns how many questions it held."""
        found = await self.group(group_id)
        return await self._repository.dismiss(found.question_ids, now=now())

    async def mark_wrong(self, message_id: int) -> MarkOutcome:
        """The owner marks a bot message as a wrong answer: its question becomes open."""
        return await self._repository.mark_wrong(message_id, now=now())

    async def _group(self, status: GroupStatus, rows: list[QuestionRow]) -> list[QuestionGroup]:
        # The same words asked again are one text to embed and group: the first row asking it
        # stands for the rest.
        first_row: dict[str, int] = {}
        for position, row in enumerate(rows):
            first_row.setdefault(row.question, position)
        texts = list(first_row)
        if self._vectors is not None:
            leaders = group_by_vectors(await self._vectors.vectors(texts))
        else:
            if len(self._stems) > MAX_CACHED_STEMS:
                self._stems.clear()
            leaders = group_by_words(texts, stems_cache=self._stems)
        leader_of_text = {
            text: first_row[texts[leader]] for text, leader in zip(texts, leaders, strict=True)
        }
        members: dict[int, list[QuestionRow]] = {}
        for row in rows:
            members.setdefault(leader_of_text[row.question], []).append(row)
        groups = [_group_of(status, rows[leader], found) for leader, found in members.items()]
        groups.sort(key=lambda g: (-g.count, -g.last_asked_at, g.id))
        return groups


def _group_of(status: GroupStatus, leader: QuestionRow, rows: list[QuestionRow]) -> QuestionGroup:
    newest = sorted(rows, key=lambda r: (r.asked_at, r.id), reverse=True)
    wordings: dict[str, str] = {}
    for row in rows:
        wordings.setdefault(" ".join(row.question.lower().split()), row.question)
    return QuestionGroup(
        id=leader.id,
        status=status,
        question=leader.question,
        count=len(rows),
        last_asked_at=newest[0].asked_at,
        kinds=dict(Counter(row.kind for row in rows)),
        examples=newest[:EXAMPLES_PER_GROUP],
        question_ids=[row.id for row in rows],
        wordings=list(wordings.values()),
        resolution=leader.resolution,
    )
