"""What the LLM answerer shows the model about the profile and price-list rows, and how it reads
the model's clarifying question and lists."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.answer.conftest import AnswererFactory
from tests.answer.llm_helpers import MemoryRetriever, between, queries, reply
from tests.support.openai_server import ScriptedOpenAIServer

from talkme_consultant.answer.base import Intent, TurnContext
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.knowledge.records import Record, Source
from talkme_consultant.profile import BusinessProfile


def row(number: int, name: str, price: str, minutes: str) -> Record:
    fields = {"Услуга": name, "Цена, руб.": price, "Длительность, мин": minutes}
    return Record(
        text="\n".join(f"{column}: {value}" for column, value in fields.items()),
        title=name,
        fields=fields,
        source=Source(file="prices.xlsx", sheet="Услуги", row=number),
    )


STYLING = row(2, "Укладка", "1500", "40")
EVENING = row(3, "Укладка вечерняя", "3500", "60")
BRAIDS = row(4, "Укладка с косами", "2800", "50")
ROWS = [STYLING, EVENING, BRAIDS]


def turn(text: str) -> TurnContext:
    return TurnContext(conversation_key="c1", text=text)


def sunday_basics(profile: BusinessProfile) -> ProfileBasics:
    return ProfileBasics(profile, now=lambda: datetime(2026, 11, 29, 12, tzinfo=UTC))


async def test_today_and_the_profiles_answer_for_today_reach_the_model(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory, profile: BusinessProfile
) -> None:
    llm_server.push(queries("часы работы"), reply("Сегодня с 10:00 до 18:00.", used_record_ids=[]))

    draft = await make_answerer(basics=sunday_basics(profile)).answer(turn("вы сегодня работаете?"))

    request = llm_server.requests[1]
    assert "Сегодня воскресенье." in request.system
    assert "с 10:00 до 18:00" in between(request.user, "profile_answer")
    assert draft.text == "Сегодня с 10:00 до 18:00."


async def test_every_price_row_is_shown_in_plain_words_and_a_broad_question_gets_the_rows(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(queries("укладка цена"), reply("Укладка — 1 500 ₽."))

    await make_answerer(retriever=MemoryRetriever(ROWS)).answer(turn("сколько стоит укладка?"))

    user = llm_server.requests[1].user
    assert "Так и называй: Укладка вечерняя — 3 500 ₽, 60 мин" in between(user, "records")
    price_list = between(user, "price_list").splitlines()
    assert "Укладка — 1 500 ₽, 40 мин" in "\n".join(price_list)
    assert sum(line.startswith("R") for line in price_list) == 3
    assert "<profile_answer>" not in user


async def test_rows_the_reply_names_are_listed_in_the_order_named(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    text = (
        "Есть варианты:\n1) Укладка с косами — 2 800 ₽\n2) Укладка — 1 500 ₽\n"
        "3) Укладка вечерняя — 3 500 ₽"
    )
    llm_server.push(queries("укладка"), reply(text, used_record_ids=["R1", "R2", "R3"]))

    draft = await make_answerer(retriever=MemoryRetriever(ROWS)).answer(turn("укладки"))

    # "Укладка" inside "Укладка с косами" is not a row of its own: it is named second.
    assert [option.title for option in draft.listed] == [
        "Укладка с косами",
        "Укладка",
        "Укладка вечерняя",
    ]


async def test_a_reply_about_one_row_lists_nothing(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(queries("укладка вечерняя"), reply("Укладка вечерняя — 3 500 ₽."))

    draft = await make_answerer(retriever=MemoryRetriever(ROWS)).answer(turn("вечерняя укладка"))

    assert draft.listed == []


async def test_the_clarify_flag_becomes_the_numbered_question_of_the_records_titles(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(
        queries("укладка"),
        reply(
            "Какую укладку?",
            used_record_ids=[],
            clarify=True,
            clarify_record_ids=["r2", "R3", "R2", "R9"],
            greeting=True,
        ),
    )

    draft = await make_answerer(retriever=MemoryRetriever(ROWS)).answer(turn("привет, укладка"))

    assert draft.intent is Intent.CLARIFY
    titles = [option.title for option in draft.options]
    assert len(titles) == 2, "a repeated id and an unknown one are dropped"
    assert draft.text == (
        f"Здравствуйте! Уточните, пожалуйста, что вас интересует:\n1) {titles[0]}\n"
        f"2) {titles[1]}\nНапишите номер варианта или ответьте своими словами."
    )
    assert [hit.record_id for hit in draft.used_records] == [o.record_id for o in draft.options]
    assert draft.listed == []


async def test_a_person_asked_for_wins_over_a_clarifying_question(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(
        queries("укладка"),
        reply(
            "Передаю администратору.",
            wants_person=True,
            clarify=True,
            clarify_record_ids=["R1", "R2"],
        ),
    )

    draft = await make_answerer(retriever=MemoryRetriever(ROWS)).answer(turn("позовите человека"))

    assert draft.intent is Intent.OPERATOR
    assert draft.options == []
