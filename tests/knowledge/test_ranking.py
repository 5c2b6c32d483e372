"""Ranking on messy chat questions: politeness does not steer the search, twins are shown once."""

from __future__ import annotations

import pytest
from knowledge_fakes import BagOfStemsEmbedder

from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.knowledge.evaluation import qa_record
from talkme_consultant.knowledge.index import build_index
from talkme_consultant.knowledge.query import strip_pleasantries
from talkme_consultant.knowledge.records import Source
from talkme_consultant.knowledge.representations import content_key
from talkme_consultant.knowledge.text import tokenize

PARKING = qa_record(
    "Есть ли парковка?", "Да, бесплатная парковка во дворе, въезд с улицы Ленина.", "faq.csv", 2
)
BIRTHDAY = qa_record(
    "Есть ли скидка в день рождения?",
    "Скидка 10 % за три дня до и после дня рождения.",
    "faq.csv",
    3,
)
HOURS = qa_record("Когда вы работаете?", "Ежедневно с 10:00 до 21:00 без выходных.", "faq.csv", 4)


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("Добрый день! Подскажите пожалуйста, сколько стоит стрижка?", "сколько стоит стрижка?"),
        ("а у вас есть парковка?", "есть парковка?"),
        ("кератин сколько стоит у вас", "кератин сколько стоит"),
        ("Сколько стоит, подскажите, маникюр?", "Сколько стоит, маникюр?"),
        ("скажите, а как до вас добраться", "как до вас добраться"),
        ("Хотела бы узнать цену на маникюр, спасибо", "цену на маникюр"),
        (
            "Здравствуйте! Есть ли рассрочка? И сколько длится курс?",
            "Есть ли рассрочка? сколько длится курс?",
        ),
        (
            "Мы зарегистрировались онлайн. Нас все равно примут?",
            "Мы зарегистрировались онлайн. Нас все равно примут?",
        ),
        ("добрый вечер, до скольки работаете вечером", "до скольки работаете вечером"),
    ],
)
def test_greetings_and_filler_leave_the_question_words(message: str, question: str) -> None:
    assert strip_pleasantries(message) == question


@pytest.mark.parametrize("message", ["Здравствуйте!", "подскажите пожалуйста", "Спасибо!", "а"])
def test_a_message_of_only_politeness_is_never_stripped_to_nothing(message: str) -> None:
    assert strip_pleasantries(message) == message


async def test_a_greeting_does_not_match_records_by_its_words() -> None:
    # «Добрый день» shares «день» with the birthday discount; only the question may choose.
    index = await build_index([BIRTHDAY, PARKING, HOURS], None, MemoryEmbeddingCache())

    greeted = await index.search("Добрый день! А у вас есть парковка?", k=3)
    bare = await index.search("есть парковка?", k=3)

    assert greeted[0].record_id == PARKING.record_id
    assert [(h.record_id, h.score) for h in greeted] == [(h.record_id, h.score) for h in bare]


async def test_the_meaning_side_embeds_the_question_without_the_greeting(
    bag_embedder: BagOfStemsEmbedder,
) -> None:
    index = await build_index([BIRTHDAY, PARKING, HOURS], bag_embedder, MemoryEmbeddingCache())

    await index.search("Здравствуйте! Подскажите, пожалуйста, а у вас есть парковка?", k=1)

    assert bag_embedder.queries == ["есть парковка?"]


async def test_the_same_answer_from_two_files_is_shown_once(
    bag_embedder: BagOfStemsEmbedder,
) -> None:
    twin = PARKING.model_copy(update={"source": Source(file="old_faq.xlsx", row=7)})
    once = await build_index([PARKING, BIRTHDAY, HOURS], bag_embedder, MemoryEmbeddingCache())
    twice = await build_index(
        [PARKING, twin, BIRTHDAY, HOURS], bag_embedder, MemoryEmbeddingCache()
    )

    hits = await twice.search("где оставить машину, есть парковка?", k=3)
    single = await once.search("где оставить машину, есть парковка?", k=3)

    assert [content_key(h.record) for h in hits] == [content_key(h.record) for h in single]
    assert len({content_key(h.record) for h in hits}) == 3
    # The twin does not eat the winner's lead, so the answer is about as sure as with one copy
    # (only BM25's document frequencies move with the extra row).
    query = "где оставить машину, есть парковка?"
    lead_twice = twice.rank(query, twice.embed_query(query), 2)[0].features
    lead_once = once.rank(query, once.embed_query(query), 2)[0].features
    assert (
        lead_twice.dense_margin == pytest.approx(lead_once.dense_margin)
        and lead_once.dense_margin > 0
    )
    assert hits[0].confidence == pytest.approx(single[0].confidence, rel=0.2)


async def test_one_answer_under_two_phrasings_is_one_hit_the_closer_phrasing(
    bag_embedder: BagOfStemsEmbedder,
) -> None:
    answer = "Да, бесплатная парковка во дворе, въезд с улицы Ленина."
    by_car = qa_record("Можно ли приехать на машине?", answer, "faq.csv", 5)
    records = [PARKING, by_car, BIRTHDAY, HOURS]
    index = await build_index(records, bag_embedder, MemoryEmbeddingCache())

    hits = await index.search("можно приехать на машине?", k=3)

    assert hits[0].record_id == by_car.record_id
    assert PARKING.record_id not in [h.record_id for h in hits]


def test_content_key_ignores_case_punctuation_and_yo_but_not_words() -> None:
    a = qa_record("Где вы?", "Мы находимся на ул. Пушкина, д. 5 — второй этаж.", "a.csv", 2)
    b = qa_record("Адрес", "мы  находимся на ул Пушкина д 5, второй ЭТАЖ", "b.xlsx", 9)
    c = qa_record("Адрес", "Мы находимся на ул. Пушкина, д. 7 — второй этаж.", "b.xlsx", 10)

    assert content_key(a) == content_key(b)
    assert content_key(a) != content_key(c)


def test_short_answers_under_different_questions_stay_apart() -> None:
    # «Да.» answers many questions; the question is what tells them apart.
    card = qa_record("Можно оплатить картой?", "Да.", "faq.csv", 2)
    kids = qa_record("Стрижёте детей?", "Да.", "faq.csv", 3)

    assert content_key(card) != content_key(kids)


def test_is_there_is_not_a_search_word() -> None:
    # «Есть ли у вас ...» opens half the FAQ questions; matching on it ranks them all alike.
    assert tokenize("Есть ли у вас парковка?") == tokenize("парковка")
