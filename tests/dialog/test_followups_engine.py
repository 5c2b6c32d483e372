"""Follow-up questions through the real engine and the shipped salon base, no model.

The second message of each dialogue only makes sense after the first (issue 20): it is read
against the topic the first reply keeps in its meta.
"""

from __future__ import annotations

import pytest

from talkme_consultant.answer.base import DialogueTopic
from talkme_consultant.dialog.local import LocalDialogue
from talkme_consultant.service.runtime import Runtime


def reply_of(outcome_replies: list[str]) -> str:
    return "\n".join(outcome_replies)


def folded(text: str) -> str:
    """Without spaces: «1 500 ₽» and «1500 рублей» both hold «1500»."""
    return "".join(text.split())


@pytest.mark.parametrize(
    ("first", "second", "expected", "not_expected"),
    [
        ("Сколько стоит педикюр с покрытием?", "а сколько длится?", "110 мин", "К сожалению"),
        ("Где филиал в Сокольниках?", "а до скольки он работает в воскресенье?", "18:00", "20:00"),
        ("Сколько держится ламинирование ресниц?", "а цена какая?", "3000", "Лаванда"),
        ("сколько стоит педикюр?", "а сколько по времени?", "75 мин", "Передаю"),
        ("телефон на тверской какой", "а в сокольниках?", "000-56-78", "000-12-34"),
        ("сколько стоит женская стрижка", "а детская?", "1500", "2800"),
    ],
)
async def test_the_second_message_is_read_against_the_first(
    runtime: Runtime, first: str, second: str, expected: str, not_expected: str
) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say(first)

    outcome = await dialogue.say(second)

    reply = folded(reply_of(outcome.replies))
    assert not outcome.handed_off, reply
    assert folded(expected) in reply
    assert folded(not_expected) not in reply


async def test_the_duration_comes_from_the_row_already_answered(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    first = await dialogue.say("Сколько стоит педикюр с покрытием?")

    outcome = await dialogue.say("а сколько длится?")

    assert outcome.replies == ["Педикюр с покрытием гель-лак длится 110 мин."]
    assert outcome.meta["records"] == first.meta["records"]
    # Said from the row itself, not found by a search: no retrieval confidence to show.
    assert outcome.meta["confidence"] is None


async def test_every_reply_keeps_the_topic_in_its_meta(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    answered = await dialogue.say("Сколько стоит педикюр с покрытием?")
    thanked = await dialogue.say("спасибо")

    topic = DialogueTopic.model_validate(answered.meta["topic"])
    assert topic.attribute == "price"
    assert [record.title for record in topic.records] == ["Педикюр с покрытием гель-лак"]
    assert topic.asked == "Сколько стоит педикюр с покрытием?"
    # Small talk keeps what the dialogue is about.
    assert thanked.meta["topic"] == answered.meta["topic"]
    after = await dialogue.say("а по времени сколько?")
    assert "110 мин" in reply_of(after.replies)


async def test_a_listed_rows_duration_and_then_a_choice_of_one(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say("сколько стоит педикюр?")
    durations = await dialogue.say("а сколько по времени?")
    lines = reply_of(durations.replies).splitlines()
    assert lines[0] == "По времени:"
    second = lines[2].removeprefix("2) ").split(" — ")[0]

    chosen = await dialogue.say("второй")

    assert reply_of(chosen.replies).startswith(f"{second} — ")


async def test_a_message_complete_on_its_own_is_not_bent_to_the_topic(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say("Сколько стоит педикюр с покрытием?")

    outcome = await dialogue.say("сколько стоит мужская стрижка?")

    assert reply_of(outcome.replies).startswith("Мужская модельная стрижка — 2 300 ₽")
