"""Open questions are grouped as they come and the groups are kept in the store: a new question
joins the group it is a near-duplicate of or starts its own, a restarted service reads the
same groups, and only the owner's «Перегруппировать» groups everything again."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from talkme_consultant.knowledge.embedders import Embedder
from talkme_consultant.service import open_questions, question_grouping
from talkme_consultant.service.knowledge_base import KnowledgeBase
from talkme_consultant.service.lessons import Lessons
from talkme_consultant.service.open_questions import GroupPage, OpenQuestions
from talkme_consultant.store.store import Store
from tests.knowledge.knowledge_fakes import ConceptEmbedder

T0 = 1_800_000_000.0
# A "meaning" model that knows «тату» and «татуировка» are one thing, as e5 does.
MEANING = {
    "тат": "tattoo",
    "татуировк": "tattoo",
    "собак": "dog",
    "псом": "dog",
    "парковк": "parking",
}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
    yield opened
    await opened.close()


class Service:
    """One running service's open questions over the store (a restart makes a new one)."""

    def __init__(self, store: Store, embedder: Embedder | None = None) -> None:
        self.knowledge = KnowledgeBase(store.knowledge, store.embedding_cache, embedder)
        self.questions = OpenQuestions(
            store.questions, Lessons(store.lessons, self.knowledge), self.knowledge
        )

    async def close(self) -> None:
        await self.questions.close()
        await self.knowledge.close()


@pytest.fixture
async def services(store: Store) -> AsyncIterator[list[Service]]:
    """Services made by a test, closed after it."""
    made: list[Service] = []
    yield made
    for service in made:
        await service.close()


@pytest.fixture
def start(store: Store, services: list[Service]) -> Any:
    def started(embedder: Embedder | None = None) -> OpenQuestions:
        service = Service(store, embedder)
        services.append(service)
        return service.questions

    return started


class Visitors:
    """Visitors asking what the bot cannot answer, one second apart."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._asked = 0

    async def ask(self, *questions: str) -> None:
        for question in questions:
            await self._store.conversations.record_event(
                f"visitor-{self._asked}",
                "unanswered",
                {"question": question, "reason": "low_confidence"},
                T0 + self._asked,
            )
            self._asked += 1


@pytest.fixture
def visitors(store: Store) -> Visitors:
    return Visitors(store)


def shown(page: GroupPage) -> list[tuple[str, int]]:
    """Each group on the page as the owner reads it: its question and how often it was asked."""
    return [(group.question, group.count) for group in page.groups]


async def test_a_new_question_joins_its_near_duplicates_and_an_unrelated_one_starts_a_group(
    start: Any, visitors: Visitors
) -> None:
    questions = start()
    await visitors.ask("Можно ли прийти с собакой?", "Есть парковка?")
    first = await questions.page()

    await visitors.ask("а с собакой к вам можно?", "Делаете татуировки?")
    later = await questions.page()

    assert shown(later) == [
        ("Можно ли прийти с собакой?", 2),
        ("Делаете татуировки?", 1),
        ("Есть парковка?", 1),
    ]
    [dogs_before] = [g for g in first.groups if "собакой" in g.question]
    [dogs] = [g for g in later.groups if g.count == 2]
    assert dogs.id == dogs_before.id, "the group keeps its id: the id of its first question"
    assert [w.text for w in dogs.wordings] == [
        "Можно ли прийти с собакой?",
        "а с собакой к вам можно?",
    ]


async def test_with_an_embedder_a_paraphrase_joins_the_closest_group(
    start: Any, visitors: Visitors
) -> None:
    questions = start(ConceptEmbedder(MEANING))
    await visitors.ask("Делаете татуировки?", "Пускаете с псом?")
    await questions.page()
    await visitors.ask("тату делаете?", "а с собакой можно?", "Есть парковка?")

    assert shown(await questions.page()) == [
        ("Пускаете с псом?", 2),
        ("Делаете татуировки?", 2),
        ("Есть парковка?", 1),
    ], "most asked first, then most recently asked"


async def test_groups_survive_a_restart_and_change_only_when_the_owner_regroups(
    start: Any, visitors: Visitors
) -> None:
    await visitors.ask("Делаете татуировки?", "тату делаете?", "Есть парковка?")
    before = await start().page()  # no embedder: «тату» and «татуировки» share no stem
    assert shown(before) == [
        ("Есть парковка?", 1),
        ("тату делаете?", 1),
        ("Делаете татуировки?", 1),
    ]

    restarted = start(ConceptEmbedder(MEANING))  # the same store, now with a meaning model
    assert await restarted.page() == before, "the stored groups are read, not made again"

    done = await restarted.regroup()
    assert (done.questions, done.groups, done.capped) == (3, 2, False)
    after = await restarted.page()
    assert shown(after) == [("Делаете татуировки?", 2), ("Есть парковка?", 1)]
    assert await start().page() == after, "a regrouping is kept for every process"


async def test_regrouping_takes_the_newest_open_questions_and_leaves_older_ones_be(
    start: Any, visitors: Visitors, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(open_questions, "REGROUP_LIMIT", 2)
    await visitors.ask("Делаете татуировки?", "тату делаете?", "набьёте тату?")
    assert len((await start().page()).groups) == 3, "no shared stems, three groups"

    restarted = start(ConceptEmbedder(MEANING))
    done = await restarted.regroup()

    assert (done.questions, done.groups, done.capped) == (2, 1, True)
    assert shown(await restarted.page()) == [("тату делаете?", 2), ("Делаете татуировки?", 1)]


async def test_the_counts_of_a_page_are_those_of_its_groups(start: Any, visitors: Visitors) -> None:
    topics = [f"Можно ли {n}-{n}?" for n in range(25)]
    await visitors.ask(*topics, "Можно ли 3-3?", "Можно ли 3-3?", "Можно ли 7-7?")
    questions = start()

    pages = [await questions.page(limit=10, offset=offset) for offset in (0, 10, 20)]

    assert [len(page.groups) for page in pages] == [10, 10, 5]
    groups = [group for page in pages for group in page.groups]
    assert all(page.total_groups == 25 == len(groups) for page in pages)
    assert all(page.total_questions == 28 == sum(g.count for g in groups) for page in pages)
    assert shown(pages[0])[:2] == [("Можно ли 3-3?", 3), ("Можно ли 7-7?", 2)]
    assert len({g.id for g in groups}) == 25


async def test_a_partly_resolved_group_keeps_its_id_in_both_lists(
    store: Store, start: Any, visitors: Visitors
) -> None:
    await visitors.ask("Можно ли прийти с собакой?", "а с собакой к вам можно?", "собаку можно?")
    questions = start()
    [group] = (await questions.page()).groups
    # The owner resolves only the wordings shown to them; a third came meanwhile.
    await store.questions.dismiss(group.question_ids[:2], now=T0 + 10)

    [rest] = (await questions.page()).groups
    [dismissed] = (await questions.page("dismissed")).groups
    assert (rest.id, rest.count, rest.question) == (group.id, 1, "собаку можно?")
    assert (dismissed.id, dismissed.count) == (group.id, 2)
    await visitors.ask("с собакой пустите?")
    assert shown(await questions.page()) == [("собаку можно?", 2)], (
        "a new question is compared with the group's first open question"
    )


async def test_questions_stored_before_groups_were_kept_are_grouped_on_first_use(
    store: Store, start: Any, visitors: Visitors
) -> None:
    await visitors.ask("Можно ли прийти с собакой?", "а с собакой к вам можно?", "Есть парковка?")
    await store.questions.collect()
    ids = [row.id for row in await store.questions.rows("open")]
    await store.questions.dismiss(ids[1:], now=T0 + 10)  # resolved before this version

    questions = start()
    assert shown(await questions.page()) == [("Можно ли прийти с собакой?", 1)]
    dismissed = await questions.page("dismissed")
    assert shown(dismissed) == [("Есть парковка?", 1), ("а с собакой к вам можно?", 1)]


async def test_processes_grouping_at_once_put_every_question_in_one_group(
    start: Any, visitors: Visitors
) -> None:
    await visitors.ask(*(f"Можно ли {n % 30}-{n % 30}?" for n in range(120)))
    first, second = start(), start()

    pages = await asyncio.gather(first.page(limit=100), second.page(limit=100))

    for page in pages:
        assert page.total_questions == 120
        assert sum(group.count for group in page.groups) == 120
    assert pages[0] == pages[1]


@pytest.fixture
def grouping_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether each grouping ran on the event loop's thread."""
    on_loop: list[bool] = []
    loop_thread = threading.get_ident()
    for name in ("group_by_vectors", "group_by_words"):
        real = getattr(question_grouping, name)

        def recorded(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            on_loop.append(threading.get_ident() == loop_thread)
            return _real(*args, **kwargs)

        monkeypatch.setattr(question_grouping, name, recorded)
    yield on_loop


async def test_grouping_runs_off_the_event_loop(
    start: Any, visitors: Visitors, grouping_threads: list[bool]
) -> None:
    await visitors.ask("Делаете татуировки?", "тату делаете?")
    await start().page()
    await start(ConceptEmbedder(MEANING)).regroup()
    assert grouping_threads == [False, False]


async def test_questions_reopened_by_a_deleted_answer_join_the_open_group_they_repeat(
    store: Store, start: Any, visitors: Visitors
) -> None:
    questions = start()
    await visitors.ask("Делаете татуировки?")
    [group] = (await questions.page()).groups
    saved = await store.lessons.add_faq(
        group.question, "Нет.", now=T0 + 10, resolve=group.question_ids
    )
    assert saved.faq is not None
    await visitors.ask("Делаете татуировки?")  # asked again before the answer was served
    await questions.page()

    await store.lessons.delete_faq(saved.faq.id, now=T0 + 20)

    assert shown(await questions.page()) == [("Делаете татуировки?", 2)]
