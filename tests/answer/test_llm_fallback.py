"""Servers without JSON-schema mode, unreadable output, and outages."""

from __future__ import annotations

import pytest
from tests.answer.conftest import AnswererFactory
from tests.answer.llm_helpers import queries, reply, reply_payload
from tests.support.openai_server import Reply, ScriptedOpenAIServer, scripted_openai_server

from talkme_consultant.answer.base import AnswererUnavailable, Intent, TurnContext
from talkme_consultant.answer.llm_chat import MalformedOutput, RetryPolicy


def turn(text: str = "Сколько стоит женская стрижка?") -> TurnContext:
    return TurnContext(conversation_key="c1", text=text)


# --- no JSON-schema mode ---------------------------------------------------------------------


async def test_a_server_without_schema_mode_gets_json_instructions_and_is_remembered(
    make_answerer: AnswererFactory,
) -> None:
    async with scripted_openai_server(json_schema_supported=False) as server:
        server.push(
            Reply.wrapped_json({"queries": ["стрижка женская цена"]}),
            Reply.wrapped_json(reply_payload()),
            Reply.text('{"queries": ["маникюр"]}'),
            Reply.json(reply_payload("Маникюр — 2 000 ₽.")),  # bare JSON is fine too
        )
        answerer = make_answerer(server)

        first = await answerer.answer(turn())
        second = await answerer.answer(turn("А маникюр?"))

    assert first.text == "Женская стрижка стоит 1 500 ₽." and first.intent is Intent.ANSWER
    assert second.text == "Маникюр — 2 000 ₽."
    assert answerer.schema_mode is False
    with_schema = [r for r in server.requests if r.response_format is not None]
    without = [r for r in server.requests if r.response_format is None]
    # only the very first request tried schema mode (and got 400); later ones went straight on
    assert with_schema == [server.requests[0]]
    assert len(without) == 4
    for request in without:
        assert "Отвечай ТОЛЬКО одним JSON-объектом" in request.system
    # the instruction names the fields of the shape it asks for
    assert '"used_record_ids"' in without[1].system


async def test_a_server_that_ignores_response_format_is_answered_through_the_fallback(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(
        Reply.text("Ищу: стрижка женская цена"),  # schema mode silently ignored
        queries("стрижка женская цена"),  # the JSON-instructed retry
        reply(),
    )
    answerer = make_answerer()

    draft = await answerer.answer(turn())

    assert draft.text == "Женская стрижка стоит 1 500 ₽."
    assert answerer.schema_mode is False
    assert llm_server.requests[1].response_format is None
    assert "Отвечай ТОЛЬКО одним JSON-объектом" in llm_server.requests[1].system


async def test_malformed_output_gets_one_repair_with_the_error(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(
        queries("стрижка"),
        Reply.json({"answer": "Стрижка — 1 500 ₽"}),  # valid JSON, wrong shape
        reply("Женская стрижка стоит 1 500 ₽."),
    )

    draft = await make_answerer().answer(turn())

    assert draft.text == "Женская стрижка стоит 1 500 ₽."
    repair = llm_server.requests[2]
    assert repair.schema_name == "consultant_reply"  # schema mode worked, so the repair keeps it
    bad_answer = '{"answer": "Стрижка — 1 500 ₽"}'
    assert repair.messages[-2] == {"role": "assistant", "content": bad_answer}
    assert "reply: Field required" in repair.messages[-1]["content"]


async def test_non_json_in_text_mode_is_repaired_once(make_answerer: AnswererFactory) -> None:
    async with scripted_openai_server(json_schema_supported=False) as server:
        server.push(
            queries("стрижка"),
            Reply.text("Стрижка стоит 1 500 ₽, приходите!"),  # prose, no JSON
            Reply.wrapped_json(reply_payload()),
        )
        draft = await make_answerer(server).answer(turn())

    assert draft.text == "Женская стрижка стоит 1 500 ₽."
    repair = server.requests[-1]
    assert "not a JSON object" in repair.messages[-1]["content"]


async def test_output_still_malformed_after_the_repair_makes_the_answerer_unavailable(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(queries("стрижка"), Reply.json({"reply": ""}), Reply.json({"reply": "  "}))

    with pytest.raises(AnswererUnavailable) as raised:
        await make_answerer().answer(turn())

    assert isinstance(raised.value, MalformedOutput)
    assert len(llm_server.requests) == 3  # no second repair


async def test_a_400_that_is_not_about_schema_mode_is_an_outage_and_not_remembered(
    make_answerer: AnswererFactory,
) -> None:
    async with scripted_openai_server() as server:
        server.push(
            Reply.fail(400, "context length exceeded"),
            Reply.fail(400, "context length exceeded"),
        )
        answerer = make_answerer(server)
        with pytest.raises(AnswererUnavailable, match="HTTP 400"):
            await answerer.answer(turn())

    assert answerer.schema_mode is None  # a later turn will try schema mode again
    assert len(server.requests) == 2


# --- outages -----------------------------------------------------------------------------------


async def test_server_errors_are_retried_a_bounded_number_of_times(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(*[Reply.fail(500)] * 3)

    with pytest.raises(AnswererUnavailable) as raised:
        await make_answerer(retry=RetryPolicy(max_retries=2, backoff_seconds=0)).answer(turn())

    assert len(llm_server.requests) == 3  # one attempt + two retries, then give up
    message = str(raised.value)
    assert "HTTP 500" in message
    assert "sk-test" not in message and "127.0.0.1" not in message


async def test_rate_limit_and_server_error_then_success(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(
        Reply.fail(429, headers={"retry-after": "0"}),
        Reply.fail(503),
        queries("стрижка"),
        reply(),
    )

    draft = await make_answerer().answer(turn())

    assert draft.intent is Intent.ANSWER
    assert len(llm_server.requests) == 4


async def test_timeouts_are_retried_then_reported(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(Reply.hang(10), Reply.hang(10))

    with pytest.raises(AnswererUnavailable, match="timeout"):
        await make_answerer(
            timeout=0.3, retry=RetryPolicy(max_retries=1, backoff_seconds=0)
        ).answer(turn())

    assert len(llm_server.requests) == 2


async def test_a_broken_response_body_is_retried(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(Reply.broken_body(), queries("стрижка"), reply())

    draft = await make_answerer().answer(turn())

    assert draft.text == "Женская стрижка стоит 1 500 ₽."
    assert len(llm_server.requests) == 3


async def test_an_unreachable_server_is_reported_as_a_connection_error(
    make_answerer: AnswererFactory,
) -> None:
    async with scripted_openai_server() as server:
        answerer = make_answerer(server, retry=RetryPolicy(max_retries=1, backoff_seconds=0))
    # the server is gone now

    with pytest.raises(AnswererUnavailable, match="connection error"):
        await answerer.answer(turn())


async def test_authentication_errors_are_not_retried(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(Reply.fail(401, "Incorrect API key provided: sk-test-***"))

    with pytest.raises(AnswererUnavailable) as raised:
        await make_answerer().answer(turn())

    assert len(llm_server.requests) == 1
    assert "HTTP 401" in str(raised.value)
    assert "sk-" not in str(raised.value)


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_retries=5, backoff_seconds=1.0, max_backoff_seconds=4.0)

    assert 0.5 <= policy.delay(0) <= 1.0
    assert 1.0 <= policy.delay(1) <= 2.0
    assert 2.0 <= policy.delay(5) <= 4.0
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=600.0) == 30.0  # a huge Retry-After is not waited out
