"""A clarifying question and the visitor's answer to it, through the real engine and sample base.

«а сколько коррекция стоит» fits the correction of nails, of brows and of lashes alike in the
shipped salon price list: the bot asks which one, and the next message is read as the choice.
"""

from __future__ import annotations

import itertools

import pytest

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.engine import TurnInput
from talkme_consultant.dialog.memory import MemoryMessage
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnEvent, TurnOutcome
from talkme_consultant.service.runtime import Runtime

AMBIGUOUS = "а сколько коррекция стоит"


class Dialogue:
    """One visitor's turns with the memory the store would keep (texts and the bot's meta)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._memory: list[MemoryMessage] = []
        self._ids = itertools.count(1)

    async def say(self, text: str) -> TurnOutcome:
        outcome = await self._runtime.engine.run_turn(
            TurnInput(
                conversation_key="visitor",
                texts=[text],
                attachments_only=False,
                memory=list(self._memory),
            )
        )
        self._memory.append(
            MemoryMessage(next(self._ids), HistoryMessage(role="visitor", text=text))
        )
        reply = "\n\n".join(outcome.replies)
        self._memory.append(
            MemoryMessage(next(self._ids), HistoryMessage(role="bot", text=reply), outcome.meta)
        )
        return outcome


def options_in(outcome: TurnOutcome) -> list[str]:
    return [option["title"] for option in outcome.meta["clarify"]["options"]]


async def test_a_question_that_fits_several_services_gets_one_numbered_clarifying_question(
    runtime: Runtime,
) -> None:
    outcome = await Dialogue(runtime).say(AMBIGUOUS)

    reply = "\n".join(outcome.replies)
    assert not outcome.handed_off and outcome.finish_code is None
    assert outcome.meta["intent"] == "clarify"
    assert (
        TurnEvent(EventKind.CLARIFY, {"question": AMBIGUOUS, "options": len(options_in(outcome))})
        in outcome.events
    )
    titles = options_in(outcome)
    assert 2 <= len(titles) <= 4
    assert {"Коррекция наращённых ногтей", "Коррекция бровей"} <= set(titles)
    assert reply.startswith("Уточните, пожалуйста, что вас интересует:\n")
    for number, title in enumerate(titles, 1):
        assert f"\n{number}) {title}" in reply


async def test_the_number_of_an_option_is_answered_with_that_record(runtime: Runtime) -> None:
    dialogue = Dialogue(runtime)
    titles = options_in(await dialogue.say(AMBIGUOUS))

    outcome = await dialogue.say("2")

    reply = "\n".join(outcome.replies)
    assert outcome.meta["intent"] == "answer"
    assert reply.startswith(f"{titles[1]} — ")
    assert TurnEvent(EventKind.CLARIFY_CHOICE, {"option": 2}) in outcome.events


@pytest.mark.parametrize("choice", ["второе", "вторым", "коррекция бровей"])
async def test_an_ordinal_or_the_options_own_words_choose_it(runtime: Runtime, choice: str) -> None:
    dialogue = Dialogue(runtime)
    titles = options_in(await dialogue.say(AMBIGUOUS))
    assert titles[1] == "Коррекция бровей"

    outcome = await dialogue.say(choice)

    assert "\n".join(outcome.replies).startswith("Коррекция бровей — ")


async def test_a_new_question_instead_of_a_choice_is_answered_as_usual(runtime: Runtime) -> None:
    dialogue = Dialogue(runtime)
    await dialogue.say(AMBIGUOUS)

    outcome = await dialogue.say("а свадебная прическа сколько стоит?")

    reply = "\n".join(outcome.replies)
    assert outcome.meta["intent"] == "answer"
    assert "Свадебная причёска" in reply
    assert not any(event.kind == "clarify_choice" for event in outcome.events)


async def test_a_reply_that_is_still_unclear_is_handed_to_a_person_not_asked_again(
    runtime: Runtime,
) -> None:
    dialogue = Dialogue(runtime)
    await dialogue.say(AMBIGUOUS)

    outcome = await dialogue.say("не знаю, а какая лучше")

    assert outcome.handed_off
    assert outcome.finish_code == "OPERATOR_REQUEST"
    assert TurnEvent(EventKind.HANDOFF, {"reason": "unclear_choice"}) in outcome.events
    [unanswered] = [event.data for event in outcome.events if event.kind == "unanswered"]
    assert unanswered["asked"] == AMBIGUOUS, "the owner is shown the question that was asked"
    assert unanswered["question"] == "не знаю, а какая лучше"


async def test_a_second_ambiguous_question_in_a_row_is_handed_over_instead(
    runtime: Runtime,
) -> None:
    dialogue = Dialogue(runtime)
    await dialogue.say(AMBIGUOUS)

    outcome = await dialogue.say(AMBIGUOUS)

    assert outcome.handed_off
    assert outcome.meta["intent"] == "unknown"
    assert TurnEvent(EventKind.HANDOFF, {"reason": "unclear_choice"}) in outcome.events


async def test_after_an_answer_the_same_question_may_be_clarified_again(runtime: Runtime) -> None:
    dialogue = Dialogue(runtime)
    await dialogue.say(AMBIGUOUS)
    await dialogue.say("1")

    outcome = await dialogue.say(AMBIGUOUS)

    assert outcome.meta["intent"] == "clarify"
