"""Open questions grouped by meaning, and the owner's actions on a group.

A group is identified by its first question's id (its leader). Groups are formed when they are
read, from the questions of one status: near-duplicates by the knowledge base's embedder, or by
shared words when there is none. The result is kept until a question of that status changes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from talkme_consultant.helpers.cleaning import fold_wording
from talkme_consultant.knowledge.grouping import group_by_vectors, group_by_words
from talkme_consultant.service.clock import now
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import MAX_QUESTION_CHARS, Lessons, clean_field
from talkme_consultant.store.lessons import FaqEntry
from talkme_consultant.store.questions import MarkOutcome, QuestionRepository, QuestionRow

GroupStatus = Literal["open", "answered", "linked", "dismissed"]
"""open: waiting for the owner; answered: by an owner's answer; linked: to an existing record;
dismissed: set aside (spam, off-topic)."""
QuestionKind = Literal["not_known", "unclear", "wrong"]
"""not_known: handed over for not knowing; unclear: a clarification the visitor did not
resolve; wrong: the owner marked the bot's answer wrong."""
EXAMPLES_PER_GROUP = 5
# A visitor's question offered as the answer's title is cut to what fits an edit field.
EDITABLE_QUESTION_CHARS = 300
# Stems of questions kept between groupings (without an embedder); beyond this, start over.
MAX_CACHED_STEMS = 50_000


@dataclass(frozen=True)
class Wording:
    """One way a group's question was put, and the questions asked in it (oldest first)."""

    text: str
    question_ids: tuple[int, ...]

    @property
    def newest_id(self) -> int:
        """The newest question in this wording: the one a form names when it is ticked."""
        return self.question_ids[-1]


@dataclass(frozen=True)
class Chosen:
    """What an owner's action on a group takes: the wordings ticked and their questions."""

    wordings: list[str]
    question_ids: list[int]


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
    wordings: list[Wording] = field(repr=False)
    resolution: str | None = None

    def chosen(self, ticked: Sequence[int] | None) -> Chosen:
        """The wordings the owner ticked, named by their newest question's id as the page
        showed them, with the questions asked in them up to that id: a question asked after
        the page was drawn stays open, and a wording never shown is never taught.

        `None` takes every wording (the API's callers name none). `UnknownWording` when an id
        is not one the group shows, or none is ticked."""
        if ticked is None:
            return Chosen([w.text for w in self.wordings], list(self.question_ids))
        if not ticked:
            raise UnknownWording("no wording of the group is ticked")
        by_id: dict[int, Wording] = {}
        for wording in self.wordings:
            for question_id in wording.question_ids:
                by_id[question_id] = wording
        wordings: list[str] = []
        question_ids: list[int] = []
        for question_id in dict.fromkeys(ticked):
            found = by_id.get(question_id)
            if found is None:
                raise UnknownWording(f"question {question_id} is not in group {self.id}")
            if found.text in wordings:
                continue
            wordings.append(found.text)
            question_ids.extend(i for i in found.question_ids if i <= question_id)
        return Chosen(wordings, sorted(question_ids))


@dataclass(frozen=True)
class GroupPage:
    """One page of groups, most asked first."""

    status: GroupStatus
    total_groups: int
    total_questions: int
    groups: list[QuestionGroup]


class GroupNotFound(LookupError):
    """No group with this id among the questions of the status asked for."""


class UnknownWording(ValueError):
    """The wordings named are not the group's (the page is older than the group), or none."""


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

    async def answer(
        self,
        group_id: int,
        answer: str,
        question: str | None = None,
        ticked: Sequence[int] | None = None,
    ) -> tuple[FaqEntry, int]:
        """Write the answer to a group: a new owner's answer whose question is `question` (or
        the group's first one), the ticked wordings (see `QuestionGroup.chosen`) as its
        phrasings. Returns the answer and how many questions it resolved."""
        found = await self.group(group_id)
        chosen = found.chosen(ticked)
        title = (
            clean_field(question, "question", MAX_QUESTION_CHARS)
            if question
            else editable_question(found.question)
        )
        entry = await self._lessons.add_answer(
            title, answer, phrasings=chosen.wordings, resolve=chosen.question_ids
        )
        return entry, len(chosen.question_ids)

    async def link(
        self, group_id: int, record_id: str, ticked: Sequence[int] | None = None
    ) -> tuple[int, int]:
        """Point a group to the record that already answers it: the ticked wordings become
        phrasings of that record. Returns how many phrasings were new and how many questions
        were resolved."""
        found = await self.group(group_id)
        chosen = found.chosen(ticked)
        added = await self._lessons.teach(record_id, chosen.wordings, resolve=chosen.question_ids)
        return added, len(chosen.question_ids)

    async def dismiss(self, group_id: int) -> int:
        """Set a group aside; returns how many questions it held."""
        found = await self.group(group_id)
        return await self._repository.dismiss(found.question_ids, now=now())

    async def mark_wrong(self, message_id: int) -> MarkOutcome:
        """The owner marks a bot message as a wrong answer: its question becomes open, unless
        its visitor message is a question already (its turn's own is collected first)."""
        await self._repository.collect()
        return await self._repository.mark_wrong(message_id, now=now())

    async def open_count(self) -> int:
        """How many questions wait for the owner: the menu's badge, the overview's tile and the
        questions page's total all read this."""
        await self._repository.collect()
        return await self._repository.count("open")

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
    texts: dict[str, str] = {}
    ids: dict[str, list[int]] = {}
    for row in sorted(rows, key=lambda r: r.id):
        folded = fold_wording(row.question)
        texts.setdefault(folded, row.question)
        ids.setdefault(folded, []).append(row.id)
    return QuestionGroup(
        id=leader.id,
        status=status,
        question=leader.question,
        count=len(rows),
        last_asked_at=newest[0].asked_at,
        kinds=dict(Counter(row.kind for row in rows)),
        examples=newest[:EXAMPLES_PER_GROUP],
        question_ids=[row.id for row in rows],
        wordings=[Wording(texts[k], tuple(ids[k])) for k in texts],
        resolution=leader.resolution,
    )


def editable_question(question: str, limit: int = EDITABLE_QUESTION_CHARS) -> str:
    """A visitor's question as the title of an owner's answer: whitespace collapsed, and a
    long message cut at a word to something a person can read and edit."""
    text = " ".join(question.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] or text[: limit - 1]
    return cut.rstrip(" ,.;:—-") + "…"
