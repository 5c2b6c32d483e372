"""A choice after a price list, through the real engine and the shipped salon base, no model.

«Сколько стоит маникюр?» gets a numbered list of the manicures; the rows are kept in the
message's meta, so «второе», «2» or the words of one row are answered from that row.
"""

from __future__ import annotations

import re

import pytest

from talkme_consultant.dialog.local import LocalDialogue
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnEvent, TurnOutcome
from talkme_consultant.service.runtime import Runtime

BROAD = "Сколько стоит маникюр?"
LINE = re.compile(r"^(?P<number>\d)\) (?P<name>.+?) — ")


def listed_names(outcome: TurnOutcome) -> list[str]:
    """The row names of a list reply, in the order shown."""
    reply = "\n".join(outcome.replies)
    return [m["name"] for line in reply.splitlines() if (m := LINE.match(line))]


async def test_a_list_keeps_its_rows_in_the_order_shown(runtime: Runtime) -> None:
    outcome = await LocalDialogue(runtime.engine, "visitor").say(BROAD)

    names = listed_names(outcome)
    assert len(names) >= 3
    assert [row["title"] for row in outcome.meta["listed"]["options"]] == names
    assert outcome.meta["intent"] == "answer"
    assert "clarify" not in outcome.meta, "a list is an answer, not a clarifying question"


@pytest.mark.parametrize(("choice", "number"), [("второе", 2), ("2", 2), ("давайте третий", 3)])
async def test_a_number_after_the_list_is_answered_from_that_row(
    runtime: Runtime, choice: str, number: int
) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    names = listed_names(await dialogue.say(BROAD))

    outcome = await dialogue.say(choice)

    reply = "\n".join(outcome.replies)
    assert not outcome.handed_off, outcome.events
    assert reply.startswith(f"{names[number - 1]} — "), reply
    assert TurnEvent(EventKind.LIST_CHOICE, {"option": number}) in outcome.events
    assert outcome.meta["records"] == [outcome_row_id(dialogue, number)]


def outcome_row_id(dialogue: LocalDialogue, number: int) -> str:
    """The record id of the listed row `number` of the dialogue's list message."""
    listing = next(m for m in dialogue.memory if m.meta and "listed" in m.meta)
    assert listing.meta is not None
    record_id: str = listing.meta["listed"]["options"][number - 1]["record_id"]
    return record_id


async def test_the_words_of_one_row_choose_it(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    assert "Японский маникюр" in listed_names(await dialogue.say(BROAD))

    outcome = await dialogue.say("японский сколько длится?")

    reply = "\n".join(outcome.replies)
    assert reply.startswith("Японский маникюр — 2 200 ₽, 60 мин."), reply
    assert any(event.kind == "list_choice" for event in outcome.events)


async def test_a_new_question_after_the_list_is_answered_as_usual(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say(BROAD)

    outcome = await dialogue.say("а педикюр с покрытием?")

    reply = "\n".join(outcome.replies)
    assert reply.startswith("Педикюр с покрытием гель-лак — 4 000 ₽"), reply
    assert not any(event.kind == "list_choice" for event in outcome.events)


async def test_a_list_is_not_a_clarifying_question_so_one_may_follow_it(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say(BROAD)

    # Asked on its own words: «а сколько коррекция стоит» would lean on the manicures and
    # mean the nails' correction (see test_followups_engine.py).
    asked = await dialogue.say("сколько стоит коррекция")
    assert asked.meta["intent"] == "clarify", asked.replies

    unclear = await dialogue.say("сколько стоит коррекция")
    assert TurnEvent(EventKind.HANDOFF, {"reason": "unclear_choice"}) in unclear.events, (
        "one question in a row"
    )


async def test_the_choice_is_read_only_right_after_the_list(runtime: Runtime) -> None:
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say(BROAD)
    await dialogue.say("а парковка у вас есть?")

    outcome = await dialogue.say("второе")

    assert not any(event.kind == "list_choice" for event in outcome.events)
