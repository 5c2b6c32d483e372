"""The dialog engine answers the basics from the profile, over the shipped sample knowledge base.

The real offline answerer runs over the real sample index (store, embeddings, search); the
clock is fixed so "today" is exact.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.dialog.engine import DialogEngine, EngineOptions, TurnInput
from talkme_consultant.dialog.guard import check_grounding
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.service.runtime import Runtime

# Sunday 29 November 2026, 12:00 in Moscow.
SUNDAY_NOON = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(runtime: Runtime) -> DialogEngine:
    profile = runtime.profile
    offline = OfflineAnswerer(
        runtime.knowledge,
        profile.messages,
        threshold=runtime.settings.confidence_threshold,
        basics=ProfileBasics(profile, now=lambda: SUNDAY_NOON),
    )
    options = EngineOptions(profile_facts=profile.facts_text())
    return DialogEngine(offline, offline, profile.messages, options)


async def turn(engine: DialogEngine, *texts: str) -> TurnOutcome:
    return await engine.run_turn(
        TurnInput(conversation_key="visitor-1", texts=list(texts), attachments_only=False)
    )


def answered_from_profile(outcome: TurnOutcome) -> str:
    assert not outcome.handed_off and outcome.finish_code is None, outcome.replies
    assert outcome.meta["intent"] == "answer" and outcome.meta["records"] == []
    [text] = outcome.replies
    return text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("в воскресенье в Сокольниках до которого часу?", ["Сокольниках", "до 18:00"]),
        ("А где вы находитесь?", ["Малый Вересковый переулок", "ул. Верхняя Кленовая"]),
        ("Во сколько открываетесь в субботу?", ["В субботу", "с 10:00 до 20:00"]),
        ("почта у вас какая?", ["hello@lavanda-salon.example"]),
        ("телефон", ["+7 (495) 000-12-34", "+7 (495) 000-56-78"]),
        ("есть парковка?", ["платная городская парковка", "на 4 машины"]),
        ("как до вас доехать от метро", ["метро Сокольники", "Пушкинская"]),
        ("вы работаете сегодня?", ["Сегодня воскресенье", "с 10:00 до 18:00"]),
    ],
)
async def test_the_basics_are_answered_from_the_profile_without_a_model(
    engine: DialogEngine, runtime: Runtime, question: str, expected: list[str]
) -> None:
    outcome = await turn(engine, question)
    text = answered_from_profile(outcome)
    for part in expected:
        assert part in text
    # The same check the engine makes on a model's reply: every value comes from the profile.
    assert check_grounding(text, [runtime.profile.facts_text()], visitor_texts=[question]) == []


async def test_a_burst_with_a_greeting_is_greeted_and_answered(engine: DialogEngine) -> None:
    outcome = await turn(engine, "Здравствуйте", "подскажите", "где вы находитесь?")
    text = answered_from_profile(outcome)
    assert text.startswith("Здравствуйте! Наши адреса:")


async def test_a_price_question_naming_a_branch_is_not_taken_for_the_basics(
    engine: DialogEngine,
) -> None:
    outcome = await turn(engine, "сколько стоит маникюр в Сокольниках")
    [text] = outcome.replies
    assert outcome.meta["records"] or outcome.handed_off
    assert "Верхняя Кленовая" not in text and "10:00" not in text
