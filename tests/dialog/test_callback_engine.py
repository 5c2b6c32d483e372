"""Nobody online: the engine offers a call-back instead of a handoff, and takes the phone number.

Presence is an input to the turn (`TurnInput.operators`); the runs here use the sample salon's
engine (offline answerer), so the visitor's words go the same way they go in production.
"""

from __future__ import annotations

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.callback import CALLBACK_META, OperatorsNow
from talkme_consultant.dialog.engine import TurnInput
from talkme_consultant.dialog.memory import MemoryMessage
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnEvent, TurnOutcome
from talkme_consultant.service.runtime import Runtime

NOBODY = OperatorsNow(online=False, callback_time="завтра после 9:00")
SOMEONE = OperatorsNow(online=True, callback_time="завтра после 9:00")


async def turn(
    runtime: Runtime,
    text: str,
    operators: OperatorsNow | None,
    memory: list[MemoryMessage] | None = None,
) -> TurnOutcome:
    return await runtime.engine.run_turn(
        TurnInput(
            conversation_key="visitor-1",
            texts=[text],
            attachments_only=False,
            memory=memory or [],
            operators=operators,
        )
    )


def kinds(outcome: TurnOutcome) -> list[str]:
    return [event.kind for event in outcome.events]


async def test_with_an_operator_online_the_visitor_is_handed_over_as_always(
    runtime: Runtime,
) -> None:
    outcome = await turn(runtime, "Позовите оператора, пожалуйста", SOMEONE)

    assert outcome.handed_off
    assert outcome.finish_code == "OPERATOR_REQUEST"


async def test_unknown_presence_hands_over_as_always(runtime: Runtime) -> None:
    outcome = await turn(runtime, "Позовите оператора, пожалуйста", None)

    assert outcome.handed_off
    assert outcome.finish_code == "OPERATOR_REQUEST"


async def test_with_nobody_online_the_bot_offers_a_call_back_and_says_when(
    runtime: Runtime,
) -> None:
    outcome = await turn(runtime, "Позовите оператора, пожалуйста", NOBODY)

    assert not outcome.handed_off
    assert outcome.finish_code is None, "the bot stays to take the phone number"
    assert outcome.replies == [
        "Сейчас, к сожалению, никого из администраторов нет в чате. Оставьте, пожалуйста, "
        "номер телефона — администратор перезвонит вам завтра после 9:00."
    ]
    assert outcome.meta[CALLBACK_META]["reason"] == "visitor_request"
    assert "handoff" not in kinds(outcome)
    assert TurnEvent(EventKind.CALLBACK_OFFERED, {"reason": "visitor_request"}) in outcome.events


async def test_a_phone_after_the_offer_is_a_lead_that_ends_with_the_offline_code(
    runtime: Runtime,
) -> None:
    offered = await turn(runtime, "Делаете ли вы татуаж бровей пудровым методом?", NOBODY)
    memory = [
        MemoryMessage(1, HistoryMessage(role="visitor", text=offered.visitor_text)),
        MemoryMessage(2, HistoryMessage(role="bot", text=offered.replies[0]), offered.meta),
    ]

    outcome = await turn(runtime, "+7 916 123-45-67", NOBODY, memory)

    assert outcome.lead is not None
    assert outcome.lead.phone == "+79161234567"
    assert outcome.lead.interest == "Делаете ли вы татуаж бровей пудровым методом?"
    assert outcome.finish_code == "OPERATORS_OFFLINE"
    assert not outcome.handed_off
    assert outcome.replies == [
        "Спасибо, номер записан. Администратор перезвонит вам завтра после 9:00."
    ]


async def test_a_new_question_after_the_offer_is_answered_as_usual(runtime: Runtime) -> None:
    offered = await turn(runtime, "Позовите оператора", NOBODY)
    memory = [MemoryMessage(2, HistoryMessage(role="bot", text=offered.replies[0]), offered.meta)]

    outcome = await turn(runtime, "Сколько стоит маникюр с покрытием гель-лак?", NOBODY, memory)

    assert outcome.lead is None
    assert "2 900 ₽" in "\n".join(outcome.replies)


async def test_a_question_without_an_answer_is_offered_a_call_back_with_the_reason_said(
    runtime: Runtime,
) -> None:
    outcome = await turn(runtime, "Какой курс биткоина на бирже сегодня?", NOBODY)

    assert outcome.replies == [
        "Точного ответа на этот вопрос у меня нет, а администраторов сейчас, к сожалению, нет "
        "в чате. Оставьте, пожалуйста, номер телефона — администратор перезвонит вам завтра "
        "после 9:00."
    ]
    assert "unanswered" in kinds(outcome), "the open question is still recorded"


async def test_a_phone_given_with_the_request_for_a_person_is_taken_at_once(
    runtime: Runtime,
) -> None:
    outcome = await turn(runtime, "Позовите администратора, мой номер 8 916 123-45-67", NOBODY)

    assert outcome.lead is not None
    assert outcome.lead.phone == "+79161234567"
    assert outcome.finish_code == "OPERATORS_OFFLINE"
    assert outcome.replies == [
        "Спасибо, номер записан. Администратор перезвонит вам завтра после 9:00."
    ]
