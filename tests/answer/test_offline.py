"""The offline answerer: a real FAQ bot without a model — small talk, answers, handoffs."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from talkme_consultant.answer.attributes import Attribute
from talkme_consultant.answer.base import (
    ClarifyOption,
    DialogueTopic,
    HistoryMessage,
    Intent,
    TurnContext,
)
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.answer.rendering import render_record
from talkme_consultant.answer.tables import row_line
from talkme_consultant.knowledge.records import OWNER_FAQ_SOURCE, Record, Source
from talkme_consultant.knowledge.search import Hit

PHRASES = Phrases()
THRESHOLD = 0.5

FAQ_KIDS = Record(
    text="Можно ли прийти с ребёнком?\nДа, детская стрижка до 12 лет стоит 700 ₽.",
    title="Можно ли прийти с ребёнком?",
    answer="Да, детская стрижка до 12 лет стоит 700 ₽.",
    source=Source(file="faq.csv", row=7),
)


def price_row(row: int, service: str, price: str, note: str = "") -> Record:
    fields = {"Услуга": service, "Цена, руб": price, "Длительность": "60 мин"}
    if note:
        fields["Описание"] = note
    return Record(
        text="\n".join(f"{k}: {v}" for k, v in fields.items()),
        title=service,
        answer=None,
        source=Source(file="prices.xlsx", sheet="Маникюр", row=row),
        fields=fields,
    )


CLASSIC = price_row(2, "Маникюр классический", "1500")
GEL = price_row(3, "Маникюр с покрытием гель-лак", "2900")
FRENCH = price_row(4, "Маникюр французский", "3200")
LONG_NOTE = (
    "Включает снятие старого покрытия, выравнивание, укрепление и дизайн на двух ногтях по "
    "желанию клиента."
)
DELUXE = price_row(5, "Маникюр люкс", "4500", LONG_NOTE)
OTHER_SHEET = Record(
    text="Услуга: Педикюр\nЦена, руб: 2500",
    title="Педикюр",
    source=Source(file="prices.xlsx", sheet="Педикюр", row=2),
    fields={"Услуга": "Педикюр", "Цена, руб": "2500"},
)
PROSE = Record(text="  Мы работаем с 2010 года.  ", source=Source(file="about.md", heading="О нас"))


def hit(record: Record, confidence: float) -> Hit:
    return Hit(record_id=record.record_id, record=record, score=confidence, confidence=confidence)


class FixedRetriever:
    """Returns the same preset hits for every query and records the queries."""

    def __init__(self, hits: Sequence[Hit] = ()) -> None:
        self.hits = list(hits)
        self.queries: list[tuple[str, int]] = []

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        self.queries.append((query, k))
        return self.hits[:k]


def answerer(*hits: Hit, phrases: Phrases = PHRASES) -> tuple[OfflineAnswerer, FixedRetriever]:
    retriever = FixedRetriever(hits)
    return OfflineAnswerer(retriever, phrases, threshold=THRESHOLD), retriever


def ctx(text: str) -> TurnContext:
    return TurnContext(conversation_key="visitor-1", text=text)


# -- small talk and requests --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "reply"),
    [
        ("Здравствуйте!", Intent.GREETING, PHRASES.greeting),
        ("Спасибо!", Intent.THANKS, PHRASES.thanks),
        ("До свидания", Intent.GOODBYE, PHRASES.goodbye),
        ("Спасибо, до свидания!", Intent.GOODBYE, PHRASES.goodbye),
    ],
)
async def test_small_talk_gets_its_phrase_without_a_search(
    text: str, intent: Intent, reply: str
) -> None:
    bot, retriever = answerer(hit(GEL, 0.99))
    draft = await bot.answer(ctx(text))
    assert (draft.intent, draft.text, draft.answerer) == (intent, reply, "offline")
    assert retriever.queries == []


@pytest.mark.parametrize(
    "text", ["Позовите оператора", "Здравствуйте, позовите администратора, сколько стоит маникюр?"]
)
async def test_a_request_for_a_person_wins_over_everything(text: str) -> None:
    bot, retriever = answerer(hit(GEL, 0.99))
    draft = await bot.answer(ctx(text))
    assert (draft.intent, draft.text, draft.reason) == (
        Intent.OPERATOR,
        PHRASES.handoff,
        "visitor_request",
    )
    assert retriever.queries == []


async def test_the_business_profile_phrases_are_used() -> None:
    custom = Phrases(greeting="Добро пожаловать в «Лаванду»!", handoff="Зову мастера.")
    bot, _ = answerer(phrases=custom)
    assert (await bot.answer(ctx("Привет"))).text == "Добро пожаловать в «Лаванду»!"
    assert (await bot.answer(ctx("Позовите оператора"))).text == "Зову мастера."


# -- answers from the knowledge base -------------------------------------------------------


async def test_a_confident_faq_hit_is_answered_with_its_answer() -> None:
    hits = [hit(FAQ_KIDS, 0.82), hit(GEL, 0.2)]
    bot, retriever = answerer(*hits)
    draft = await bot.answer(ctx("Можно прийти с ребёнком?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text == "Да, детская стрижка до 12 лет стоит 700 ₽."
    assert [h.record_id for h in draft.used_records] == [FAQ_KIDS.record_id]
    assert draft.found == hits
    assert retriever.queries == [("Можно прийти с ребёнком?", 8)]


async def test_a_greeting_with_a_question_is_answered_with_a_greeting_first() -> None:
    bot, retriever = answerer(hit(FAQ_KIDS, 0.9))
    draft = await bot.answer(ctx("Здравствуйте! Можно прийти с ребёнком?"))
    assert draft.intent is Intent.ANSWER
    assert draft.text == "Здравствуйте! Да, детская стрижка до 12 лет стоит 700 ₽."
    assert retriever.queries[0][0] == "Здравствуйте! Можно прийти с ребёнком?"


async def test_a_confident_table_row_is_quoted_as_a_readable_line() -> None:
    bot, _ = answerer(hit(GEL, 0.9), hit(CLASSIC, 0.4))
    draft = await bot.answer(ctx("Сколько стоит маникюр с гель-лаком?"))
    assert draft.text == "Маникюр с покрытием гель-лак — 2 900 ₽, 60 мин."
    assert draft.used_records == [hit(GEL, 0.9)]


@pytest.mark.parametrize("confidence", [0.0, 0.2, 0.49])
async def test_an_unconfident_answer_hands_over_with_the_reason(confidence: float) -> None:
    bot, _ = answerer(hit(FAQ_KIDS, confidence))
    draft = await bot.answer(ctx("Какой курс биткоина?"))
    assert (draft.intent, draft.text) == (Intent.UNKNOWN, PHRASES.unknown)
    assert draft.reason == f"low_confidence ({confidence:.2f})"
    assert draft.used_records == []
    assert [h.record_id for h in draft.found] == [FAQ_KIDS.record_id]


async def test_no_hits_at_all_hands_over() -> None:
    bot, _ = answerer()
    draft = await bot.answer(ctx("Что-то совсем непонятное"))
    assert (draft.intent, draft.reason) == (Intent.UNKNOWN, "low_confidence (none)")


async def test_the_threshold_itself_is_confident_enough() -> None:
    bot, _ = answerer(hit(FAQ_KIDS, THRESHOLD))
    assert (await bot.answer(ctx("С ребёнком можно?"))).intent is Intent.ANSWER


async def test_a_broad_question_lists_the_close_rows_of_one_table() -> None:
    hits = [
        hit(CLASSIC, 0.45),
        hit(GEL, 0.42),
        hit(OTHER_SHEET, 0.41),  # another sheet: not listed
        hit(FRENCH, 0.35),
        hit(FAQ_KIDS, 0.34),  # not a table row: not listed
        hit(DELUXE, 0.01),  # too weak to be what was asked: not listed
    ]
    bot, _ = answerer(*hits)
    draft = await bot.answer(ctx("Сколько стоит маникюр?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text.splitlines() == [
        "Вот что у нас есть:",
        "1) Маникюр классический — 1 500 ₽, 60 мин",
        "2) Маникюр с покрытием гель-лак — 2 900 ₽, 60 мин",
        "3) Маникюр французский — 3 200 ₽, 60 мин",
        "Напишите номер или название услуги — расскажу подробнее.",
    ]
    assert [h.record_id for h in draft.used_records] == [
        CLASSIC.record_id,
        GEL.record_id,
        FRENCH.record_id,
    ]
    assert draft.reason == "several close rows"


def owners_answer(question: str, answer: str) -> Record:
    return Record(
        text=f"Вопрос: {question}\nОтвет: {answer}",
        title=question,
        answer=answer,
        source=Source(file=OWNER_FAQ_SOURCE, row=1),
    )


MANICURES = [hit(CLASSIC, 0.15), hit(GEL, 0.14), hit(FRENCH, 0.1)]


@pytest.mark.parametrize(
    "first",
    [
        # «какие массажи есть и почем» finds the massages at 0.197.
        [],
        # The salon's «Делаете ли вы буккальный массаж?» first for «какие массажи есть и почем».
        [hit(owners_answer("Делаете ли вы маникюр с дизайном?", "Да, рисуем от руки."), 0.28)],
    ],
    ids=["rows alone", "past a weak owner's answer on one of them"],
)
async def test_a_visitor_asking_which_ones_there_are_gets_the_list_at_a_weaker_score(
    first: list[Hit],
) -> None:
    bot, _ = answerer(*first, *MANICURES)
    draft = await bot.answer(ctx("Какие маникюры есть и почём?"))
    assert draft.intent is Intent.ANSWER
    assert draft.used_records == MANICURES


async def test_a_confident_owners_answer_to_a_list_question_is_the_answer() -> None:
    lesson = owners_answer("Какие маникюры у вас есть?", "Классический, аппаратный и японский.")
    bot, _ = answerer(hit(lesson, 0.9), *MANICURES)
    draft = await bot.answer(ctx("Какие маникюры есть?"))
    assert draft.text == "Классический, аппаратный и японский."


async def test_a_broad_question_not_asking_for_the_list_needs_a_stronger_score() -> None:
    bot, _ = answerer(*MANICURES)
    draft = await bot.answer(ctx("Сколько стоит маникюр?"))
    assert draft.intent is Intent.UNKNOWN


async def test_a_broad_question_with_a_greeting_lists_the_rows_after_a_greeting() -> None:
    bot, _ = answerer(hit(CLASSIC, 0.45), hit(GEL, 0.42))
    draft = await bot.answer(ctx("Добрый день! Сколько стоит маникюр?"))
    assert draft.text.startswith("Здравствуйте! Вот что у нас есть:\n1) Маникюр классический")


async def test_a_confident_row_asked_for_by_what_sets_it_apart_is_answered_alone() -> None:
    bot, _ = answerer(hit(FRENCH, 0.95), hit(CLASSIC, 0.4), hit(GEL, 0.35))
    draft = await bot.answer(ctx("Сколько стоит французский маникюр?"))
    assert draft.text == "Маникюр французский — 3 200 ₽, 60 мин."
    assert draft.used_records == [hit(FRENCH, 0.95)]


async def test_a_confident_row_is_listed_with_its_kin_when_the_question_is_broad() -> None:
    bot, _ = answerer(hit(GEL, 0.9), hit(CLASSIC, 0.4), hit(FRENCH, 0.35))
    draft = await bot.answer(ctx("Какие виды маникюра у вас есть?"))
    assert [h.record_id for h in draft.used_records] == [
        GEL.record_id,
        CLASSIC.record_id,
        FRENCH.record_id,
    ]


async def test_the_fallback_without_the_question_lists_only_rows_close_to_an_unsure_best() -> None:
    bot, _ = answerer()
    hits = [hit(CLASSIC, 0.45), hit(GEL, 0.42), hit(DELUXE, 0.1)]
    draft = bot.draft_from_hits(hits)
    assert [h.record_id for h in draft.used_records] == [CLASSIC.record_id, GEL.record_id]


async def test_at_most_six_rows_are_listed() -> None:
    rows = [price_row(n, f"Маникюр вариант {n}", str(1000 + n)) for n in range(2, 10)]
    bot, _ = answerer(*(hit(r, 0.45 - n * 0.01) for n, r in enumerate(rows)))
    draft = await bot.answer(ctx("Сколько стоит маникюр?"))
    assert len(draft.used_records) == 6
    assert [line[:2] for line in draft.text.splitlines()[1:7]] == [
        "1)",
        "2)",
        "3)",
        "4)",
        "5)",
        "6)",
    ]
    assert "7)" not in draft.text


@pytest.mark.parametrize(
    "hits",
    [
        pytest.param([(CLASSIC, 0.45)], id="a single close row"),
        pytest.param([(CLASSIC, 0.19), (GEL, 0.18)], id="too weak to list"),
        pytest.param([(FAQ_KIDS, 0.45), (GEL, 0.44)], id="best is not a table row"),
    ],
)
async def test_no_list_without_several_close_rows_of_a_table(
    hits: list[tuple[Record, float]],
) -> None:
    bot, _ = answerer(*(hit(r, c) for r, c in hits))
    draft = await bot.answer(ctx("Сколько стоит маникюр?"))
    assert draft.intent is Intent.UNKNOWN


# -- rendering ---------------------------------------------------------------------------------


def test_render_record_prefers_the_faq_answer() -> None:
    assert render_record(FAQ_KIDS) == "Да, детская стрижка до 12 лет стоит 700 ₽."


def test_render_record_says_the_figures_then_the_description() -> None:
    assert render_record(DELUXE) == "Маникюр люкс — 4 500 ₽, 60 мин. " + LONG_NOTE


def test_render_record_of_prose_is_its_text() -> None:
    assert render_record(PROSE) == "Мы работаем с 2010 года."


def test_an_answer_equal_to_the_text_is_rendered_once() -> None:
    record = Record(text="Парковка бесплатная.", answer="Парковка бесплатная.", source=PROSE.source)
    assert render_record(record) == "Парковка бесплатная."


def test_a_row_without_a_title_is_named_by_its_first_value() -> None:
    record = Record(
        text="Услуга: Укладка\nЦена: 900",
        source=Source(file="p.csv", row=2),
        fields={"Услуга": "Укладка", "Цена": "900", "Примечание": ""},
    )
    assert row_line(record) == "Укладка — 900 ₽"


# -- summaries ---------------------------------------------------------------------------------


def messages(*pairs: tuple[str, str]) -> list[HistoryMessage]:
    return [HistoryMessage.model_validate({"role": r, "text": t}) for r, t in pairs]


async def test_the_offline_summary_keeps_the_visitors_own_questions() -> None:
    bot, _ = answerer()
    summary = await bot.summarize(
        "Раньше: спрашивала про стрижку",
        messages(
            ("visitor", "Сколько стоит маникюр?"), ("bot", "1500 ₽"), ("visitor", "А где вы?")
        ),
    )
    assert summary == (
        "Раньше: спрашивала про стрижку\n"
        "Посетитель спрашивал: Сколько стоит маникюр?\n"
        "Посетитель спрашивал: А где вы?"
    )


async def test_the_offline_summary_is_bounded() -> None:
    bot, _ = answerer()
    asked = [("visitor", f"вопрос {n} " + "x" * 600) for n in range(8)]
    summary = await bot.summarize("старое", messages(*asked))
    assert len(summary) <= 2000
    assert summary.endswith("вопрос 7 " + "x" * 600), "the newest questions are kept"
    assert "вопрос 2" not in summary, "only the last five questions"


# -- a new subject after one row -----------------------------------------------------------


class ByQuery:
    """Hits chosen by a word of the query: the first key found in it wins."""

    def __init__(self, hits: dict[str, list[Hit]]) -> None:
        self.hits = hits

    async def search(self, query: str, k: int = 5) -> list[Hit]:
        return next((found[:k] for word, found in self.hits.items() if word in query), [])


LEGS = price_row(10, "Шугаринг ног полностью", "3500")
ARMPITS = price_row(11, "Шугаринг подмышечных впадин", "1200")


def sugaring_turn(given: Record) -> TurnContext:
    topic = DialogueTopic(
        asked="шугаринг ног сколько стоит",
        records=[ClarifyOption(title=given.title or "", record_id=given.record_id)],
        attribute=Attribute.PRICE,
    )
    return TurnContext(conversation_key="visitor-1", text="а подмышки?", topic=topic)


async def test_another_zone_is_answered_by_its_row_not_by_the_row_given_again() -> None:
    # «шугаринг ног подмышки» finds the legs' row more confidently than «шугаринг подмышки»
    # finds the armpits'; the visitor named another zone, so the row not given yet is answered.
    retriever = ByQuery(
        {"ног подмышки": [hit(LEGS, 0.9), hit(ARMPITS, 0.3)], "подмышки": [hit(ARMPITS, 0.8)]}
    )
    draft = await OfflineAnswerer(retriever, PHRASES, threshold=THRESHOLD).answer(
        sugaring_turn(LEGS)
    )

    assert draft.used_records[0].record_id == ARMPITS.record_id
    assert "1 200" in draft.text


async def test_a_row_given_again_stays_when_no_other_reading_is_confident() -> None:
    retriever = ByQuery(
        {"ног подмышки": [hit(LEGS, 0.9), hit(ARMPITS, 0.3)], "подмышки": [hit(ARMPITS, 0.4)]}
    )
    draft = await OfflineAnswerer(retriever, PHRASES, threshold=THRESHOLD).answer(
        sugaring_turn(LEGS)
    )

    assert draft.used_records[0].record_id == LEGS.record_id


async def test_an_faq_answer_given_again_may_hold_the_other_variant_too() -> None:
    # «а в постамате?» after how long a pickup point keeps an order: the same FAQ answer says it.
    storage = Record(
        text="Сколько хранится заказ?\nВ пункте выдачи 5 дней, в постамате — 3 дня.",
        title="Сколько хранится заказ?",
        answer="В пункте выдачи 5 дней, в постамате — 3 дня.",
        source=Source(file="faq.csv", row=3),
    )
    lockers = Record(
        text="Доставляете в постаматы?\nДа, до 15 кг.",
        title="Доставляете в постаматы?",
        answer="Да, до 15 кг.",
        source=Source(file="faq.csv", row=4),
    )
    retriever = ByQuery(
        {"ног подмышки": [hit(storage, 0.9), hit(lockers, 0.3)], "подмышки": [hit(lockers, 0.8)]}
    )
    draft = await OfflineAnswerer(retriever, PHRASES, threshold=THRESHOLD).answer(
        sugaring_turn(storage)
    )

    assert draft.used_records[0].record_id == storage.record_id
