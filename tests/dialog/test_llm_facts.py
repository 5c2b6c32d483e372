"""With a language model, the model gets the facts the offline answerer quotes, and its
clarifying question and its lists work like the offline ones.

The real engine, knowledge base and `LLMAnswerer` over the shipped salon; the model is the
scripted OpenAI-compatible server over real HTTP. Each spec checks what the model received.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from tests.answer.llm_helpers import between, reply_payload
from tests.support.openai_server import RecordedRequest, Reply, ScriptedOpenAIServer
from tests.support.openai_server import scripted_openai_server as openai_server
from tests.support.service import model_settings

from talkme_consultant.answer.basics_wording import day_name
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.dialog.local import LocalDialogue
from talkme_consultant.helpers.kinds import EventKind
from talkme_consultant.helpers.outcome import TurnEvent
from talkme_consultant.service.runtime import Runtime

RECORD = re.compile(r'<record id="(R\d+)">\n(.*?)</record>', re.DOTALL)
SERVICE = re.compile(r"^Услуга: (.+)$", re.MULTILINE)
PRICE_LINE = re.compile(r"^(R\d+): (.+ — .+)$", re.MULTILINE)

Answer = Callable[[RecordedRequest], Reply]


class Model:
    """The scripted model: searches for the visitor's own words; replies come from `answer`."""

    def __init__(self, server: ScriptedOpenAIServer) -> None:
        self.server = server
        self.answer: Answer | None = None
        server.handler = self._handle

    def _handle(self, request: RecordedRequest) -> Reply:
        if request.schema_name == "search_queries":
            return Reply.json({"queries": [between(request.user, "visitor_message").strip()]})
        assert request.schema_name == "consultant_reply", "only queries and replies are expected"
        assert self.answer is not None, "a reply was asked for in a turn that needs none"
        return self.answer(request)

    @property
    def replies_asked(self) -> list[RecordedRequest]:
        """The reply requests so far."""
        return self.server.chat_requests("consultant_reply")


@pytest.fixture
async def llm_runtime(data_dir: Path) -> AsyncIterator[tuple[Runtime, Model]]:
    """The sample salon with the scripted model as its consultant."""
    async with openai_server(strict=False) as server:
        settings = Settings(
            data_dir=data_dir,
            knowledge_dir=SAMPLE_KNOWLEDGE_DIR,
            admin_token="unused-admin-token-24-chars",
            **model_settings(server.base_url, llm_max_retries=0, llm_timeout_seconds=10),
        )
        runtime = await Runtime.open(settings)
        try:
            yield runtime, Model(server)
        finally:
            await runtime.close()


def records_in(request: RecordedRequest) -> dict[str, str]:
    """The records shown to the model: id → text."""
    return dict(RECORD.findall(request.user))


def answer_with(text: str, **fields: object) -> Answer:
    return lambda _request: Reply.json(reply_payload(text, **fields))


async def test_the_profiles_answer_for_the_day_asked_reaches_the_model(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    question = "до скольки работаете в воскресенье в сокольниках"
    expected = ProfileBasics(runtime.profile).reply(question)
    assert expected is not None and "18:00" in expected
    model.answer = answer_with(f"В воскресенье в Сокольниках: {expected}", used_record_ids=[])

    outcome = await LocalDialogue(runtime.engine, "visitor").say(question)

    [request] = model.replies_asked
    assert between(request.user, "profile_answer").strip().endswith(expected)
    today = day_name(ProfileBasics(runtime.profile).today())
    assert f"Сегодня {today}." in request.system
    assert runtime.profile.facts_text() in request.system, "the whole profile is there too"
    assert outcome.replies == [f"В воскресенье в Сокольниках: {expected}"]
    assert not any(event.kind == "guard" for event in outcome.events), "profile values are grounded"


async def test_a_question_the_profile_does_not_answer_gets_no_profile_block(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    model.answer = answer_with("Маникюр с покрытием гель-лак — 2 900 ₽.")

    await LocalDialogue(runtime.engine, "visitor").say("Сколько стоит маникюр с гель-лаком?")

    [request] = model.replies_asked
    assert "<profile_answer>" not in request.user


async def test_price_rows_reach_the_model_in_plain_words_and_its_list_can_be_chosen_from(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    shown: list[tuple[str, str]] = []

    def list_two(request: RecordedRequest) -> Reply:
        rows = PRICE_LINE.findall(between(request.user, "price_list"))
        shown.extend(rows[:2])
        lines = "\n".join(f"{number}) {line}" for number, (_, line) in enumerate(shown, 1))
        return Reply.json(
            reply_payload(
                f"Вот наши варианты:\n{lines}\nКакой вам подходит?",
                used_record_ids=[record_id for record_id, _ in shown],
            )
        )

    model.answer = list_two
    dialogue = LocalDialogue(runtime.engine, "visitor")

    listing = await dialogue.say("Сколько стоит маникюр?")

    [request] = model.replies_asked
    price_list = between(request.user, "price_list")
    assert "Маникюр без покрытия — 1 800 ₽, 60 мин" in price_list
    assert "Маникюр с покрытием гель-лак — 2 900 ₽, 100 мин" in price_list
    assert "Так и называй: Маникюр без покрытия — 1 800 ₽, 60 мин" in request.user
    assert not listing.handed_off and not any(event.kind == "guard" for event in listing.events)
    names = [line.split(" — ")[0] for _, line in shown]
    assert [row["title"] for row in listing.meta["listed"]["options"]] == names

    chosen = await dialogue.say("второе")

    assert "\n".join(chosen.replies).startswith(f"{names[1]} — ")
    assert TurnEvent(EventKind.LIST_CHOICE, {"option": 2}) in chosen.events
    assert len(model.replies_asked) == 1, "the chosen row is answered without the model"


async def test_a_price_the_model_invents_is_caught_and_the_offline_list_is_sent(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    model.answer = answer_with("Маникюр без покрытия стоит 1 500 ₽.")

    outcome = await LocalDialogue(runtime.engine, "visitor").say("Сколько стоит маникюр?")

    reply = "\n".join(outcome.replies)
    assert [event.kind for event in outcome.events].count("guard") == 2
    assert "1 500 ₽" not in reply
    assert "Маникюр без покрытия — 1 800 ₽, 60 мин" in reply
    assert outcome.meta["listed"]["options"], "the fallback list can be chosen from as well"


def clarify_corrections(request: RecordedRequest) -> Reply:
    """The model asks which correction is meant, naming every correction record it was shown."""
    ids = [rid for rid, text in records_in(request).items() if "Коррекция" in text]
    assert len(ids) >= 2, "several corrections were shown"
    return Reply.json(
        reply_payload(
            "Уточните, пожалуйста, какая коррекция вас интересует?",
            used_record_ids=[],
            clarify=True,
            clarify_record_ids=ids,
        )
    )


async def test_the_models_clarifying_question_is_numbered_from_the_records_and_remembered(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    model.answer = clarify_corrections
    dialogue = LocalDialogue(runtime.engine, "visitor")

    asked = await dialogue.say("а сколько коррекция стоит")

    [request] = model.replies_asked
    shown = records_in(request)
    titles = [option["title"] for option in asked.meta["clarify"]["options"]]
    services = [SERVICE.search(text) for text in shown.values() if "Коррекция" in text]
    assert titles == [match.group(1) for match in services if match][: len(titles)]
    assert 2 <= len(titles) <= 4
    reply = "\n".join(asked.replies)
    assert reply.startswith("Уточните, пожалуйста, что вас интересует:\n1) ")
    assert asked.meta["intent"] == "clarify" and not asked.handed_off

    chosen = await dialogue.say("2")

    assert "\n".join(chosen.replies).startswith(f"{titles[1]} — ")
    assert TurnEvent(EventKind.CLARIFY_CHOICE, {"option": 2}) in chosen.events
    assert len(model.replies_asked) == 1, "the choice is answered without the model"


async def test_a_second_clarifying_question_from_the_model_is_handed_over(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    model.answer = clarify_corrections
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say("а сколько коррекция стоит")

    outcome = await dialogue.say("коррекция, а какая лучше?")

    assert outcome.handed_off
    assert TurnEvent(EventKind.HANDOFF, {"reason": "unclear_choice"}) in outcome.events


async def test_a_clarify_flag_with_fewer_than_two_known_records_is_an_ordinary_answer(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    model.answer = answer_with(
        "Уточните, пожалуйста, о какой услуге речь?",
        used_record_ids=[],
        clarify=True,
        clarify_record_ids=["R1", "R99"],
    )

    outcome = await LocalDialogue(runtime.engine, "visitor").say("а сколько коррекция стоит")

    assert outcome.meta["intent"] == "answer"
    assert "clarify" not in outcome.meta
    assert outcome.replies == ["Уточните, пожалуйста, о какой услуге речь?"]
