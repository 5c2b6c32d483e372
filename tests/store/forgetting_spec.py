"""The store specification of forgetting a visitor's words in the owner's lessons (issue 18).

An owner's answer is stored under the first visitor's exact question and the group's other
wordings become taught phrasings; forgetting a visitor takes their words out of both, in the
same commit. Mixed into the store specification of each backend (`test_store_*.py`).
"""

from __future__ import annotations

from sqlalchemy import insert

from talkme_consultant.store.forgotten_words import PLACEHOLDER_QUESTION
from talkme_consultant.store.models import DialogMessage
from talkme_consultant.store.store import Store
from tests.store.store_spec import T0

DOG = "Можно с собакой?"
DOG_AGAIN = "а с  собакой МОЖНО?"
CAT = "А с котом можно?"
ANSWER = "Да, с маленькой."


class ForgettingSpec:
    """What forgetting a visitor does to the owner's lessons."""

    async def _asks(self, store: Store, key: str, question: str, at: float) -> None:
        """The visitor writes `question`, the bot hands over for not knowing."""
        async with store.engine.begin() as connection:
            await connection.execute(
                insert(DialogMessage).values(
                    conversation_key=key, role="visitor", text=question, created_at=at
                )
            )
        await store.conversations.record_event(
            key, "unanswered", {"question": question, "reason": "low_confidence"}, at
        )

    async def _answered(self, store: Store, asked: list[tuple[str, str]]) -> int:
        """Each (visitor, question) asked, then answered as one group; the owner's answer's id."""
        for n, (key, question) in enumerate(asked):
            await self._asks(store, key, question, T0 + n)
        await store.questions.collect()
        rows = await store.questions.rows("open")
        saved = await store.lessons.add_faq(
            rows[0].question,
            ANSWER,
            now=T0 + 10,
            phrasings=[row.question for row in rows],
            resolve=[row.id for row in rows],
        )
        assert saved.faq is not None
        return saved.faq.id

    async def _lessons(self, store: Store) -> tuple[list[str], list[str]]:
        """(every owner's answer's question, every phrasing's text)."""
        questions = [faq.question for faq in await store.lessons.list_faq()]
        return questions, [p.text for p in await store.lessons.list_phrasings()]

    async def test_a_forgotten_visitors_question_gives_way_to_another_visitors_wording(
        self, store: Store
    ) -> None:
        await self._answered(store, [("v1", DOG), ("v2", DOG_AGAIN), ("v3", CAT)])
        await store.lessons.add_phrasings("file-record", ["можно  с СОБАКОЙ?"], now=T0 + 11)
        assert await self._lessons(store) == ([DOG], [DOG_AGAIN, CAT, "можно  с СОБАКОЙ?"])
        version = (await store.knowledge.state()).version

        assert await store.conversations.delete("v1", now=T0 + 20)

        [faq] = await store.lessons.list_faq()
        assert (faq.question, faq.answer) == (DOG_AGAIN, ANSWER)
        assert await self._lessons(store) == ([DOG_AGAIN], [CAT]), (
            "another visitor's wording is the question now, and no longer a phrasing; a "
            "phrasing of v1's words in other case and spacing is gone"
        )
        [cat] = await store.lessons.list_phrasings()
        assert cat.record_id == faq.record_id, "the phrasings follow the answer's record"
        assert faq.updated_at == T0 + 20
        assert (await store.knowledge.state()).version == version + 1
        snapshot = await store.knowledge.load_snapshot()
        assert snapshot.phrasings == {faq.record_id: [CAT]}
        assert [r.answer for r in snapshot.records] == [ANSWER], "the answer is still served"
        assert {r.conversation_key for r in await store.questions.rows("answered")} == {
            "v2",
            "v3",
        }

        assert await store.conversations.delete("v2", now=T0 + 21)
        assert await self._lessons(store) == ([CAT], [])

        assert await store.conversations.delete("v3", now=T0 + 22)
        assert await self._lessons(store) == ([PLACEHOLDER_QUESTION], [])
        [faq] = await store.lessons.list_faq()
        assert faq.answer == ANSWER
        [owner] = (await store.knowledge.load_snapshot()).records
        assert (owner.title, owner.answer) == (PLACEHOLDER_QUESTION, ANSWER)
        assert await store.questions.rows("answered") == []

    async def test_a_wording_another_visitor_also_asked_stays_until_they_are_forgotten_too(
        self, store: Store
    ) -> None:
        await self._answered(store, [("v1", DOG), ("v2", DOG.upper())])
        for n, key in enumerate(("v1", "v2")):
            await self._asks(store, key, CAT, T0 + 30 + n)
        await store.questions.collect()
        cats = [r.id for r in await store.questions.rows("open")]
        await store.lessons.add_phrasings("file-record", [CAT], now=T0 + 40, resolve=cats)
        await store.lessons.add_phrasings("other-record", [CAT.lower()], now=T0 + 40)
        version = (await store.knowledge.state()).version

        assert await store.conversations.delete("v1", now=T0 + 50)

        assert await self._lessons(store) == ([DOG], [CAT]), (
            "v2 asked the same, and the same lessons answered v2; a phrasing of another "
            "record that answered only v1 is gone"
        )
        assert (await store.knowledge.state()).version == version + 1
        assert await store.conversations.delete("v2", now=T0 + 51)
        assert await self._lessons(store) == ([PLACEHOLDER_QUESTION], [])

    async def test_forgetting_a_visitor_whose_words_no_lesson_holds_keeps_the_version(
        self, store: Store
    ) -> None:
        await self._answered(store, [("v1", DOG)])
        await self._asks(store, "v2", CAT, T0 + 30)
        await store.lessons.add_phrasings("file-record", ["где парковаться"], now=T0 + 40)
        version = (await store.knowledge.state()).version

        assert await store.conversations.delete("v2", now=T0 + 50)

        assert await self._lessons(store) == ([DOG], ["где парковаться"])
        assert (await store.knowledge.state()).version == version

    async def test_forgetting_every_visitor_keeps_only_the_owners_own_words(
        self, store: Store
    ) -> None:
        await self._answered(store, [("v1", DOG), ("v2", DOG_AGAIN)])
        await store.lessons.add_faq("Есть парковка?", "Нет.", now=T0 + 40)
        await store.lessons.add_phrasings("file-record", ["где парковаться"], now=T0 + 40)

        await store.conversations.delete_all(now=T0 + 50)

        assert await self._lessons(store) == (
            [PLACEHOLDER_QUESTION, "Есть парковка?"],
            ["где парковаться"],
        )
