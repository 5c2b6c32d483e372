"""Questions put in groups of near-duplicates, the arithmetic in a worker thread.

With the knowledge base's embedder a question joins the group whose leader's vector is closest
(cosine ≥ `SAME_QUESTION_COSINE`); without one, the group whose leader shares most of its stems
(Jaccard ≥ `SAME_QUESTION_WORDS`). Matrix products over thousands of vectors, or stemming
thousands of texts, would hold the event loop for seconds: both run in `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from talkme_consultant.knowledge.grouping import group_by_vectors, group_by_words
from talkme_consultant.service.question_vectors import QuestionVectors

# Stems of questions kept between groupings (without an embedder); beyond this, start over.
MAX_CACHED_STEMS = 50_000


def _let_the_loop_run() -> None:
    """Give up the GIL for a moment. Grouping is mostly pure Python: without this the event
    loop's thread waits for the GIL at every step of a request while thousands of questions
    are grouped beside it."""
    time.sleep(0)


class QuestionGrouper:
    """Leader grouping of questions: each joins an earlier leader close enough, or leads."""

    def __init__(self, vectors: QuestionVectors | None) -> None:
        self._vectors = vectors
        self._stems: dict[str, frozenset[str]] = {}

    async def assign(
        self, known: Sequence[tuple[int, str]], questions: Sequence[tuple[int, str]]
    ) -> dict[int, int]:
        """The group of each of `questions` (id, text), in their order: one of the `known`
        groups (group id, its leader's text) or a new one, named by the id of its first
        question. Callers take turns: the stems cache is not shared between threads."""
        # The same words asked again are one text to compare: the first question asking them
        # stands for the rest.
        # Over thousands of questions these loops take tens of milliseconds: a worker thread
        # runs them, so the event loop goes on answering meanwhile.
        first_asking = await asyncio.to_thread(_first_asking, questions)
        texts = list(first_asking)
        leaders = await self._leaders([text for _, text in known], texts)
        return await asyncio.to_thread(_group_ids_of, known, questions, first_asking, leaders)

    async def _leaders(self, known: list[str], texts: list[str]) -> list[int]:
        """For each text, its leader's index among `known` then `texts`."""
        if self._vectors is not None:
            vectors = await self._vectors.vectors([*known, *texts])
            split = len(known)
            return await asyncio.to_thread(
                group_by_vectors, vectors[split:], known=vectors[:split], pause=_let_the_loop_run
            )
        if len(self._stems) > MAX_CACHED_STEMS:
            self._stems.clear()
        return await asyncio.to_thread(
            group_by_words, texts, stems_cache=self._stems, known=known, pause=_let_the_loop_run
        )


def _first_asking(questions: Sequence[tuple[int, str]]) -> dict[str, int]:
    """Each distinct text and the id of the first question asking it."""
    first: dict[str, int] = {}
    for question_id, text in questions:
        first.setdefault(text, question_id)
    return first


def _group_ids_of(
    known: Sequence[tuple[int, str]],
    questions: Sequence[tuple[int, str]],
    first_asking: dict[str, int],
    leaders: Sequence[int],
) -> dict[int, int]:
    """Each question's group id, from its text's leader among `known` then the new texts."""
    group_ids = [group_id for group_id, _ in known] + list(first_asking.values())
    group_of = {text: group_ids[leader] for text, leader in zip(first_asking, leaders, strict=True)}
    return {question_id: group_of[text] for question_id, text in questions}
