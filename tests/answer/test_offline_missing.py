"""The offline answerer says what the knowledge does not hold instead of a neighbour's answer."""

from __future__ import annotations

import pytest
from tests.answer.test_offline import CLASSIC, FRENCH, GEL, PHRASES, answerer, ctx

from talkme_consultant.answer.base import Intent
from talkme_consultant.answer.refusals import says_no
from talkme_consultant.knowledge.records import OWNER_FAQ_SOURCE, Record, Source
from talkme_consultant.knowledge.search import Hit

INJECTIONS = Record(
    text="Делаете ли вы уколы красоты?\nНет, инъекционные процедуры в салоне не проводятся.",
    title="Делаете ли вы уколы красоты?",
    answer="Нет, инъекционные процедуры в салоне не проводятся.",
    source=Source(file="faq.csv", row=9),
)
TATTOO = Record(
    text="Вопрос: Делаете ли вы татуировки?\nОтвет: Татуировки мы не делаем.",
    title="Делаете ли вы татуировки?",
    answer="Татуировки мы не делаем.",
    source=Source(file=OWNER_FAQ_SOURCE, row=1),
)


def found(record: Record, confidence: float, missing: list[str] | None = None) -> Hit:
    return Hit(
        record_id=record.record_id,
        record=record,
        score=confidence,
        confidence=confidence,
        missing=missing or [],
    )


async def test_a_refusal_about_something_else_is_not_given_as_the_answer() -> None:
    bot, _ = answerer(found(INJECTIONS, 0.8, ["лазерную", "эпиляцию"]))

    draft = await bot.answer(ctx("Делаете лазерную эпиляцию?"))

    assert draft.intent is Intent.UNKNOWN
    assert draft.text == PHRASES.unknown
    assert draft.missing == ["лазерную", "эпиляцию"]


async def test_a_refusal_about_what_was_asked_is_the_answer() -> None:
    bot, _ = answerer(found(INJECTIONS, 0.8))

    draft = await bot.answer(ctx("Уколы красоты делаете?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text.startswith("Нет, инъекционные")


async def test_a_refusal_missing_one_word_of_several_still_answers_what_was_asked() -> None:
    bot, _ = answerer(found(INJECTIONS, 0.8, ["ботоксом"]))

    draft = await bot.answer(ctx("Уколы красоты ботоксом в салоне делаете?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text.startswith("Нет, инъекционные")


async def test_an_owners_refusal_answers_its_kin_with_other_words_around_it() -> None:
    refusal = Record(
        text="Вопрос: Принимаете возвраты с Озона?\nОтвет: Нет, товары с Озона возвращают в Озон.",
        title="Принимаете возвраты с Озона?",
        answer="Нет, товары с Озона возвращают в Озон.",
        source=Source(file=OWNER_FAQ_SOURCE, row=2),
    )
    bot, _ = answerer(found(refusal, 0.8, ["наушники", "магазин"]))

    draft = await bot.answer(ctx("Купила наушники на Озоне, в ваш магазин можно сдать?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text.startswith("Нет, товары с Озона")


async def test_a_price_row_of_another_service_is_offered_after_saying_what_is_missing() -> None:
    bot, _ = answerer(found(FRENCH, 0.8, ["педикюр"]), found(GEL, 0.7, ["педикюр"]))

    draft = await bot.answer(ctx("Сколько стоит французский педикюр?"))

    assert draft.text.startswith("«французский педикюр» в нашем прайсе не нашлось.")
    assert "Маникюр французский — 3 200 ₽" in draft.text
    assert "передам ваш вопрос администратору" in draft.text
    assert draft.missing == ["педикюр"]
    assert [option.title for option in draft.listed] == [FRENCH.title, GEL.title]


async def test_a_list_of_neighbours_starts_with_what_is_not_there() -> None:
    bot, _ = answerer(
        found(CLASSIC, 0.45, ["детей"]), found(GEL, 0.44, ["детей"]), found(FRENCH, 0.4, ["детей"])
    )

    draft = await bot.answer(ctx("сколько стоит маникюр для детей"))

    assert draft.text.startswith("«маникюр для детей» в нашем прайсе не нашлось.")
    assert "1) Маникюр классический — 1 500 ₽" in draft.text
    assert draft.missing == ["детей"]


async def test_a_list_of_rows_that_speak_of_every_word_is_a_plain_list() -> None:
    bot, _ = answerer(found(CLASSIC, 0.45), found(GEL, 0.44), found(FRENCH, 0.4))

    draft = await bot.answer(ctx("сколько стоит маникюр"))

    assert draft.text.startswith("Вот что у нас есть:")
    assert draft.missing == []


async def test_a_handoff_names_the_words_nothing_was_found_for() -> None:
    bot, _ = answerer(found(INJECTIONS, 0.1, ["вакансии"]))

    draft = await bot.answer(ctx("Есть ли у вас вакансии?"))

    assert draft.intent is Intent.UNKNOWN
    assert draft.missing == ["вакансии"]


async def test_an_owners_answer_far_ahead_of_the_rest_is_answered_below_the_threshold() -> None:
    bot, _ = answerer(found(TATTOO, 0.39), found(GEL, 0.01))

    draft = await bot.answer(ctx("а тату бьёте?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text == "Татуировки мы не делаем."


CLOAKROOM = Record(
    text="Вопрос: Есть ли у вас гардероб?\nОтвет: Да, верхнюю одежду можно оставить в гардеробе.",
    title="Есть ли у вас гардероб?",
    answer="Да, верхнюю одежду можно оставить в гардеробе.",
    source=Source(file=OWNER_FAQ_SOURCE, row=2),
)


RENT = Record(
    text="Вопрос: Сдаёте ли вы кабинет в аренду?\nОтвет: Кабинеты в аренду не сдаём.",
    title="Сдаёте ли вы кабинет в аренду?",
    answer="Кабинеты в аренду не сдаём: в них работают наши мастера.",
    source=Source(file=OWNER_FAQ_SOURCE, row=3),
)


async def test_a_refusal_without_a_no_is_not_given_for_a_thing_it_does_not_name() -> None:
    bot, _ = answerer(found(RENT, 0.72, ["кресло"]), found(GEL, 0.001, ["кресло"]))

    draft = await bot.answer(ctx("Можно ли у вас арендовать кресло?"))

    assert draft.intent is Intent.UNKNOWN
    assert draft.missing == ["кресло"]


async def test_a_refusal_without_a_no_answers_what_it_names() -> None:
    bot, _ = answerer(found(RENT, 0.72), found(GEL, 0.001, ["кабинет"]))

    draft = await bot.answer(ctx("Можно ли у вас арендовать кабинет?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text == RENT.answer


async def test_an_owners_answer_naming_all_asked_far_ahead_serves_a_low_score() -> None:
    bot, _ = answerer(found(CLOAKROOM, 0.045), found(GEL, 0.003, ["гордероб"]))

    draft = await bot.answer(ctx("есть ли у вас гордероб?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text == CLOAKROOM.answer


@pytest.mark.parametrize(
    ("runner_up", "intent"),
    [
        # As «можно влажить в заказ откритку?» finds the owner's answer at 0.37, the next at 0.10.
        (0.10, Intent.ANSWER),
        (0.13, Intent.UNKNOWN),
    ],
)
async def test_an_owners_answer_leads_alone_while_its_runner_up_is_at_most_0_3_of_it(
    runner_up: float, intent: Intent
) -> None:
    bot, _ = answerer(found(CLOAKROOM, 0.37), found(GEL, runner_up, ["гордероб"]))

    draft = await bot.answer(ctx("есть ли у вас гордероб?"))

    assert draft.intent is intent


async def test_an_owners_answer_missing_a_word_needs_more_than_a_low_score() -> None:
    bot, _ = answerer(found(CLOAKROOM, 0.045, ["куртку"]), found(GEL, 0.003, ["куртку"]))

    draft = await bot.answer(ctx("куда деть куртку, гардероб есть?"))

    assert draft.intent is Intent.UNKNOWN


async def test_an_owners_answer_far_ahead_serves_words_no_record_speaks_of() -> None:
    bot, _ = answerer(found(CLOAKROOM, 0.06, ["куртку"]), found(GEL, 0.01, ["куртку"]))

    draft = await bot.answer(ctx("куда деть куртку, гардероб есть?"))

    assert draft.intent is Intent.ANSWER
    assert draft.text == CLOAKROOM.answer


async def test_an_owners_answer_far_ahead_speaking_of_nothing_asked_is_handed_over() -> None:
    bot, _ = answerer(
        found(TATTOO, 0.3, ["пирсинг", "ушей"]), found(GEL, 0.01, ["пирсинг", "ушей"])
    )

    draft = await bot.answer(ctx("Делаете ли вы пирсинг ушей?"))

    assert draft.intent is Intent.UNKNOWN
    assert draft.missing == ["пирсинг", "ушей"]


async def test_an_owners_answer_far_ahead_of_one_speaking_of_another_word_is_answered() -> None:
    bot, _ = answerer(found(CLOAKROOM, 0.06, ["маникюр"]), found(GEL, 0.01))

    draft = await bot.answer(ctx("куда деть куртку на время маникюра"))

    assert draft.intent is Intent.ANSWER
    assert draft.text == CLOAKROOM.answer


async def test_an_owners_answer_near_a_record_speaking_of_another_word_is_handed_over() -> None:
    bot, _ = answerer(found(CLOAKROOM, 0.06, ["маникюр"]), found(GEL, 0.03))

    draft = await bot.answer(ctx("куда деть куртку на время маникюра"))

    assert draft.intent is Intent.UNKNOWN


async def test_an_owners_answer_in_a_crowded_field_below_the_threshold_is_handed_over() -> None:
    bot, _ = answerer(found(TATTOO, 0.39), found(GEL, 0.3))

    draft = await bot.answer(ctx("а тату бьёте?"))

    assert draft.intent is Intent.UNKNOWN


NO_GEL = ["гель"]


@pytest.mark.parametrize(
    ("question", "hits", "intent"),
    [
        # The only record speaking of all that is asked, far ahead: «шугаринг подмышек почем»
        # finds its row at 0.23, the next at 0.02.
        (
            "маникюр гель почем",
            [found(GEL, 0.23), found(CLASSIC, 0.02, NO_GEL), found(FRENCH, 0.01, NO_GEL)],
            Intent.ANSWER,
        ),
        # Another record speaks of all asked too.
        ("маникюр гель почем", [found(GEL, 0.23), found(CLASSIC, 0.02)], Intent.UNKNOWN),
        # Below the floor.
        ("маникюр гель почем", [found(GEL, 0.1), found(CLASSIC, 0.01, NO_GEL)], Intent.UNKNOWN),
        # The runner-up over a quarter of it.
        (
            "маникюр гель почем",
            [found(GEL, 0.23), found(CLASSIC, 0.064, NO_GEL), found(FRENCH, 0.01, NO_GEL)],
            Intent.UNKNOWN,
        ),
        # One word asked, at a low score, may be a word in passing the record happens to use.
        ("гель", [found(GEL, 0.39), found(CLASSIC, 0.01, NO_GEL)], Intent.UNKNOWN),
        # «элайнеры почем»: the aligners' row just below the threshold, every other record far
        # behind and silent on aligners.
        ("гель почем", [found(GEL, 0.45), found(CLASSIC, 0.004, NO_GEL)], Intent.ANSWER),
        # Another record names the one word too.
        ("гель почем", [found(GEL, 0.45), found(CLASSIC, 0.004)], Intent.UNKNOWN),
    ],
)
async def test_a_file_record_far_ahead_is_answered_alone_in_naming_what_is_asked_from_its_floor(
    question: str, hits: list[Hit], intent: Intent
) -> None:
    bot, _ = answerer(*hits)

    draft = await bot.answer(ctx(question))

    assert draft.intent is intent
    if intent is Intent.ANSWER:
        assert draft.used_records[0].record_id == GEL.record_id


def faq(title: str, answer: str, row: int) -> Record:
    return Record(
        text=f"{title}\n{answer}",
        title=title,
        answer=answer,
        source=Source(file="faq.csv", row=row),
    )


async def test_options_none_of_which_covers_the_question_are_not_offered_as_a_choice() -> None:
    hair = faq("Ботокс для волос", "Ботокс для волос стоит 3 000 ₽.", 2)
    lashes = faq("Наращивание ресниц", "Наращивание ресниц стоит 3 300 ₽.", 3)
    bot, _ = answerer(found(hair, 0.45, ["ресниц"]), found(lashes, 0.4, ["ботокс"]))

    draft = await bot.answer(ctx("ботокс для ресниц делаете?"))

    assert draft.intent is Intent.UNKNOWN
    assert draft.missing == ["ресниц"]


async def test_options_that_each_cover_the_question_are_a_choice() -> None:
    hair = faq("Ботокс для волос", "Ботокс для волос стоит 3 000 ₽.", 2)
    lashes = faq("Ботокс для ресниц", "Ботокс для ресниц стоит 2 500 ₽.", 3)
    bot, _ = answerer(found(hair, 0.45), found(lashes, 0.4))

    draft = await bot.answer(ctx("ботокс делаете?"))

    assert draft.intent is Intent.CLARIFY


SEASON_TICKETS = faq(
    "Есть ли у вас абонементы?",
    "Да, есть абонементы на маникюр со скидкой 10%. Полный список — в прайс-листе.",
    11,
)
TICKET = Record(
    text="Название: Абонемент «5 маникюров»\nЦена, руб.: 13050",
    title="Абонемент «5 маникюров»",
    source=Source(file="prices.xlsx", sheet="Абонементы", row=2),
    fields={"Название": "Абонемент «5 маникюров»", "Цена, руб.": "13050"},
)


async def test_a_price_asked_is_answered_by_the_row_holding_it_not_by_an_faq_without_it() -> None:
    bot, _ = answerer(found(SEASON_TICKETS, 0.91), found(TICKET, 0.36))

    draft = await bot.answer(ctx("абонемент на маникюр сколько стоит"))

    assert draft.intent is Intent.ANSWER
    assert draft.used_records[0].record_id == TICKET.record_id
    assert "13 050" in draft.text


async def test_a_row_holding_the_price_but_missing_a_word_asked_does_not_take_over() -> None:
    bot, _ = answerer(found(SEASON_TICKETS, 0.91), found(TICKET, 0.36, ["педикюр"]))

    draft = await bot.answer(ctx("абонемент на педикюр сколько стоит"))

    assert draft.used_records[0].record_id == SEASON_TICKETS.record_id


async def test_a_question_asking_no_figure_keeps_the_best_record() -> None:
    bot, _ = answerer(found(SEASON_TICKETS, 0.91), found(TICKET, 0.36))

    draft = await bot.answer(ctx("абонементы на маникюр есть?"))

    assert draft.used_records[0].record_id == SEASON_TICKETS.record_id


@pytest.mark.parametrize(
    "answer",
    [
        "Нет, инъекционные процедуры в салоне не проводятся.",
        "К сожалению, такой услуги пока нет.",
        "Татуировки мы не делаем, но делаем перманентный макияж.",
        "Кабинеты в аренду не сдаём: в них работают наши мастера.",
        "Ремонтом техники мы не занимаемся.",
        "Амальгамные пломбы у нас не ставятся.",
    ],
)
def test_an_answer_that_refuses_says_no(answer: str) -> None:
    assert says_no(faq_answer(answer))


@pytest.mark.parametrize(
    "answer",
    [
        "Да, ограничений нет.",
        "Предоплата не требуется, оплата на месте.",
        "Мы не только стрижём, но и красим.",
        "Мы не просто стрижём: подбираем форму под лицо.",
        "Не переживайте, вернём деньги за 3 дня.",
        "Если не успеем закончить, перенесём визит.",
        "Запишитесь не позднее чем за день.",
        "Это не совсем так: мастер подскажет.",
        "Бронь держим 15 минут.\nЕсли не придёте, отменяем её.",
    ],
)
def test_an_answer_that_does_not_refuse_does_not_say_no(answer: str) -> None:
    assert not says_no(faq_answer(answer))


def faq_answer(answer: str) -> Record:
    return Record(
        text=f"Вопрос?\n{answer}", title="Вопрос?", answer=answer, source=Source(file="faq.csv")
    )
