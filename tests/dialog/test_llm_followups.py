"""With a language model, a follow-up leans on the dialogue's topic and its reply is still
checked by the grounding guard.

The real engine, knowledge base and `LLMAnswerer` over the shipped salon; the model is the
scripted OpenAI-compatible server over real HTTP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from tests.answer.llm_helpers import between, reply_payload
from tests.support.openai_server import RecordedRequest, Reply, ScriptedOpenAIServer
from tests.support.openai_server import scripted_openai_server as openai_server
from tests.support.service import model_settings

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR, Settings
from talkme_consultant.dialog.local import LocalDialogue
from talkme_consultant.service.runtime import Runtime

RECORD = re.compile(r'<record id="(R\d+)">\n(.*?)</record>', re.DOTALL)
PEDICURE = "Педикюр с покрытием гель-лак"


def pedicure_id(request: RecordedRequest) -> str:
    """The id under which the pedicure row was shown to the model."""
    return next(
        rid for rid, text in RECORD.findall(request.user) if f"Услуга: {PEDICURE}\n" in text
    )


class Model:
    """Searches for the visitor's own words and says what `replies` hold, one per reply asked."""

    def __init__(self, server: ScriptedOpenAIServer) -> None:
        self.server = server
        self.replies: Iterator[Callable[[RecordedRequest], Reply]] = iter(())
        server.handler = self._handle

    def _handle(self, request: RecordedRequest) -> Reply:
        if request.schema_name == "search_queries":
            return Reply.json({"queries": [between(request.user, "visitor_message").strip()]})
        return next(self.replies)(request)

    def asked(self, schema: str) -> list[RecordedRequest]:
        return self.server.chat_requests(schema)


def saying(text: str) -> Callable[[RecordedRequest], Reply]:
    """A reply citing the pedicure row."""
    return lambda request: Reply.json(reply_payload(text, used_record_ids=[pedicure_id(request)]))


@pytest.fixture
async def llm_runtime(data_dir: Path) -> AsyncIterator[tuple[Runtime, Model]]:
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


async def test_a_follow_up_reaches_the_model_with_its_topic_and_the_guard_still_checks_it(
    llm_runtime: tuple[Runtime, Model],
) -> None:
    runtime, model = llm_runtime
    model.replies = iter(
        [
            saying(f"{PEDICURE} — 4 000 ₽."),
            # The model gets the duration wrong, is told so, and corrects it.
            saying(f"{PEDICURE} длится 120 мин."),
            saying(f"{PEDICURE} длится 110 мин."),
        ]
    )
    dialogue = LocalDialogue(runtime.engine, "visitor")
    await dialogue.say("Сколько стоит педикюр с покрытием?")

    outcome = await dialogue.say("а сколько длится?")

    assert outcome.replies == [f"{PEDICURE} длится 110 мин."]
    guard = [event.data for event in outcome.events if event.kind == "guard"]
    assert len(guard) == 1 and "120" in str(guard[0]["problems"])
    rewrite = model.asked("search_queries")[-1]
    first, retry = model.asked("consultant_reply")[1:]
    for request in (rewrite, first, retry):
        assert "Ответ был по записи: «Педикюр с покрытием гель-лак»" in between(
            request.user, "topic"
        )
    assert "Так и называй: Педикюр с покрытием гель-лак — 4 000 ₽, 110 мин" in first.user
    # The guard's finding went back to the model with the same topic and rows.
    assert "# Исправление" in retry.system and "120" in retry.system
    assert outcome.meta["topic"]["attribute"] == "duration"
    assert [record["title"] for record in outcome.meta["topic"]["records"]] == [PEDICURE]
