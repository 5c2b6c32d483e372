"""Open questions grouped by meaning, and the owner's actions on a group.

A group is named by its first question's id (its leader), and every question keeps the group it
was put in (`open_questions.group_id`) whatever status the owner's actions give it later: each
status shows the same groups. Questions are grouped as they are collected, on a read: each new
one joins the group whose first open question is closest to it (`service/question_grouping.py`,
in a worker thread) or starts its own, and stays there. A page of groups is then counted in SQL.
Grouping every open question again is the owner's choice (`regroup`), e.g. after the embedder
changed or when groups look split.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from talkme_consultant.helpers.cleaning import fold_wording
from talkme_consultant.knowledge.embedders import EmbedderError
from talkme_consultant.service.clock import now
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import MAX_QUESTION_CHARS, Lessons, clean_field
from talkme_consultant.service.question_grouping import QuestionGrouper
from talkme_consultant.store.lessons import FaqEntry
from talkme_consultant.store.questions import MarkOutcome, QuestionRepository, QuestionRow

log = logging.getLogger(__name__)

GroupStatus = Literal["open", "answered", "linked", "dismissed"]
"""open: waiting for the owner; answered: by an owner's answer; linked: to an existing record;
dismissed: set aside (spam, off-topic)."""
QuestionKind = Literal["not_known", "unclear", "wrong"]
"""not_known: handed over for not knowing; unclear: a clarification the visitor did not
resolve; wrong: the owner marked the bot's answer wrong."""
EXAMPLES_PER_GROUP = 5
# A visitor's question offered as the answer's title is cut to what fits an edit field.
EDITABLE_QUESTION_CHARS = 300
# New questions are grouped this many at a time, each batch written before the next is read:
# a first grouping of a long backlog keeps what it did if the process stops.
GROUPING_BATCH = 2_000
# Regrouping takes the newest open questions up to this many (their vectors and products fit
# in a few hundred megabytes at most); older ones keep the groups they are in.
REGROUP_LIMIT = 20_000


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


@dataclass(frozen=True)
class Regrouped:
    """What a regrouping did: `questions` open questions in `groups` groups; `capped` when
    there were more than `REGROUP_LIMIT` and the older ones kept their groups."""

    questions: int
    groups: int
    capped: bool


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
        self._grouper = QuestionGrouper(knowledge.question_vectors)
        # One grouping at a time in this process; other processes may group at once, and the
        # store keeps whichever grouping of a question was written first.
        self._grouping = asyncio.Lock()
        self._regroup: asyncio.Task[Regrouped] | None = None
        self.last_regroup: Regrouped | None = None
        """What the last regrouping in this process did (None before one ended)."""

    @property
    def regrouping(self) -> bool:
        """Whether a regrouping is running in this process."""
        return self._regroup is not None and not self._regroup.done()

    async def page(
        self, status: GroupStatus = "open", limit: int = 20, offset: int = 0
    ) -> GroupPage:
        """Groups `offset`…`offset+limit` of `status`, most asked first (then most recent);
        new unanswered questions are picked up and grouped first."""
        await self._refresh()
        total_groups, total_questions = await self._repository.group_totals(status)
        counts = await self._repository.group_counts(status, limit, offset)
        rows = await self._repository.members(status, [c.group_id for c in counts])
        # A first page can hold thousands of questions: folding their wordings in a worker
        # thread keeps the event loop answering webhooks and health checks meanwhile.
        groups = await asyncio.to_thread(_groups_of, status, [c.group_id for c in counts], rows)
        return GroupPage(
            status=status,
            total_groups=total_groups,
            total_questions=total_questions,
            groups=groups,
        )

    async def group(self, group_id: int, status: GroupStatus = "open") -> QuestionGroup:
        """One group by id; `GroupNotFound` when no question of `status` is in it."""
        await self._refresh()
        members = await self._repository.members(status, [group_id])
        if not members:
            raise GroupNotFound(f"no {status} question group with id {group_id}")
        return _group_of(status, group_id, members)

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

    async def regroup(self) -> Regrouped:
        """Group the newest `REGROUP_LIMIT` open questions again from scratch, as if each came
        anew in the order asked, and store their new groups; waits until it is done."""
        return await asyncio.shield(self.start_regroup())

    def start_regroup(self) -> asyncio.Task[Regrouped]:
        """Start regrouping in the background, unless one is running; returns the one running.
        Its failure is logged."""
        if self._regroup is None or self._regroup.done():
            self._regroup = asyncio.create_task(self._regroup_open(), name="regroup-questions")
            self._regroup.add_done_callback(_log_failure)
        return self._regroup

    async def close(self) -> None:
        """Stop a regrouping still running: what it wrote stays, the rest keeps its groups."""
        if self._regroup is not None:
            self._regroup.cancel()
            await asyncio.gather(self._regroup, return_exceptions=True)

    async def _refresh(self) -> None:
        """Collect new unanswered questions and put every question without a group in one."""
        await self._repository.collect()
        if self.regrouping:
            # A page does not wait for a regrouping: it shows the groups stored, and what was
            # collected meanwhile is grouped when the regrouping ends.
            return
        async with self._grouping:
            try:
                await self._group_new()
            except EmbedderError:
                # A remote embedder failing: the groups stored are still shown, and the new
                # questions are grouped on a later read.
                log.warning("could not embed new open questions to group them", exc_info=True)

    async def _group_new(self) -> None:
        """Each question without a group joins the closest group of its status or starts one
        (hold `_grouping`). Rows stored before groups were kept are grouped here too."""
        while True:
            batch = await self._repository.ungrouped(GROUPING_BATCH)
            for status in dict.fromkeys(row.status for row in batch):
                questions = [(row.id, row.question) for row in batch if row.status == status]
                known = await self._repository.leaders(status)
                await self._repository.join_groups(await self._grouper.assign(known, questions))
            if len(batch) < GROUPING_BATCH:
                return

    async def _regroup_open(self) -> Regrouped:
        async with self._grouping:
            await self._repository.collect()
            rows = await self._repository.newest_open(REGROUP_LIMIT + 1)
            capped = len(rows) > REGROUP_LIMIT
            rows = rows[-REGROUP_LIMIT:]
            questions = await asyncio.to_thread(lambda: [(row.id, row.question) for row in rows])
            groups = await self._grouper.assign([], questions)
            moved = await asyncio.to_thread(
                lambda: {row.id: groups[row.id] for row in rows if row.group_id != groups[row.id]}
            )
            await self._repository.regroup(moved)
            await self._group_new()
        done = Regrouped(questions=len(rows), groups=len(set(groups.values())), capped=capped)
        self.last_regroup = done
        return done


def _log_failure(task: asyncio.Task[Regrouped]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("regrouping the open questions failed", exc_info=task.exception())


def _groups_of(
    status: GroupStatus, group_ids: Sequence[int], rows: Sequence[QuestionRow]
) -> list[QuestionGroup]:
    """The groups `group_ids`, in that order, from their questions of `status`."""
    members: dict[int, list[QuestionRow]] = {}
    for row in rows:
        if row.group_id is not None:
            members.setdefault(row.group_id, []).append(row)
    # A group resolved between the two reads is left out.
    return [_group_of(status, g, members[g]) for g in group_ids if g in members]


def _group_of(status: GroupStatus, group_id: int, rows: list[QuestionRow]) -> QuestionGroup:
    """The group from its questions of `status`, oldest first: the first one names it."""
    leader = rows[0]
    newest = sorted(rows, key=lambda r: (r.asked_at, r.id), reverse=True)
    texts: dict[str, str] = {}
    ids: dict[str, list[int]] = {}
    # A big group asks the same words many times: each is folded once.
    folded_of: dict[str, str] = {}
    for row in rows:
        folded = folded_of.get(row.question)
        if folded is None:
            folded = folded_of[row.question] = fold_wording(row.question)
        texts.setdefault(folded, row.question)
        ids.setdefault(folded, []).append(row.id)
    return QuestionGroup(
        id=group_id,
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
