"""The rolling summary of a long dialogue."""

from __future__ import annotations

import pytest
from tests.answer.conftest import AnswererFactory
from tests.answer.llm_helpers import between
from tests.support.openai_server import Reply, ScriptedOpenAIServer

from talkme_consultant.answer.base import AnswererUnavailable, HistoryMessage, Usage

MESSAGES = [
    HistoryMessage(role="visitor", text="Меня зовут Анна, сколько стоит окрашивание?"),
    HistoryMessage(role="bot", text="Окрашивание в один тон — от 3 000 до 4 500 ₽."),
    HistoryMessage(role="visitor", text="Мой телефон +7 916 123-45-67, перезвоните"),
]


async def test_summary_folds_new_messages_into_the_previous_summary(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    summary = "Анна (+79161234567) спросила про окрашивание: 3 000–4 500 ₽; просит перезвонить."
    llm_server.push(Reply.text(f"  {summary}\n"))

    result = await make_answerer().summarize("Посетительница интересуется окрашиванием.", MESSAGES)

    assert result == summary
    (request,) = llm_server.requests
    assert request.response_format is None  # plain text, no schema needed
    assert "Сохрани: имя посетителя, его телефон" in request.system
    assert "интересуется окрашиванием" in between(request.user, "previous_summary")
    sent = between(request.user, "messages")
    for message in MESSAGES:
        assert f'<message from="{message.role}">{message.text}</message>' in sent
    # the visitor's words go to the data block only
    assert "Меня зовут Анна" not in request.system


async def test_first_summary_has_no_previous_one(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(Reply.text("Анна спросила про окрашивание."))

    await make_answerer().summarize(None, MESSAGES)

    assert "сводки ещё нет" in between(llm_server.requests[0].user, "previous_summary")


async def test_an_empty_summary_is_an_error_not_a_lost_memory(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(Reply.text("   "))

    with pytest.raises(AnswererUnavailable):
        await make_answerer().summarize("Старая сводка.", MESSAGES)


async def test_summary_outage_is_retried_then_reported(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(*[Reply.fail(502)] * 3)

    with pytest.raises(AnswererUnavailable, match="after 3 attempts"):
        await make_answerer().summarize(None, MESSAGES)

    assert len(llm_server.requests) == 3


async def test_the_tokens_a_summary_spends_are_reported(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(
        Reply.text("Анна спросила про окрашивание.", prompt_tokens=321, completion_tokens=12)
    )
    answerer = make_answerer()
    usage = Usage(prompt_tokens=5)

    await answerer.summarize(None, MESSAGES, usage=usage)

    assert (usage.model, usage.prompt_tokens, usage.completion_tokens) == (answerer.model, 326, 12)
    assert usage.latency_ms > 0
