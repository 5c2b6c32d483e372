"""Function calling in the reply request: the tools are offered, their calls run and answered on
the OpenAI wire, the rounds are bounded, and a server that refuses `tools` is asked without them
from then on."""

from __future__ import annotations

import json
from typing import Any

from tests.answer.conftest import AnswererFactory
from tests.answer.llm_helpers import queries, reply
from tests.support.openai_server import Reply, ScriptedOpenAIServer, ToolCall

from talkme_consultant.answer.base import TurnContext
from talkme_consultant.answer.llm_tools import MAX_CALLS, MAX_ROUNDS

FIND = {
    "type": "function",
    "function": {
        "name": "find_free_times",
        "description": "Свободное время.",
        "parameters": {"type": "object", "properties": {"service": {"type": "string"}}},
    },
}


class RecordingTools:
    """Tools that answer every call with what was asked, and keep the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def definitions(self) -> list[dict[str, Any]]:
        return [FIND]

    async def call(self, name: str, arguments: str) -> str:
        self.calls.append((name, json.loads(arguments)))
        return json.dumps({"times": [{"label": "завтра, 5 декабря, 16:00"}]}, ensure_ascii=False)


def find(call_id: str = "call_1") -> ToolCall:
    return ToolCall(call_id, "find_free_times", {"service": "стрижка"})


def turn(tools: RecordingTools | None) -> TurnContext:
    return TurnContext(conversation_key="c1", text="Есть время на стрижку завтра?", tools=tools)


async def test_a_call_is_run_and_its_result_reaches_the_model_before_the_reply(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    tools = RecordingTools()
    llm_server.push(
        queries("стрижка"),
        Reply.calls(find()),
        reply("Завтра в 16:00 свободно.", used_record_ids=[]),
    )

    draft = await make_answerer().answer(turn(tools))

    assert tools.calls == [("find_free_times", {"service": "стрижка"})]
    first, second = llm_server.requests[1:]
    assert first.tools == ["find_free_times"] and first.tool_choice == "auto"
    assert first.schema_name == "consultant_reply", "the final reply keeps its schema"
    assert second.tool_results == {"call_1": {"times": [{"label": "завтра, 5 декабря, 16:00"}]}}
    [call] = next(m for m in second.messages if m["role"] == "assistant")["tool_calls"]
    assert call["function"]["name"] == "find_free_times"
    assert draft.text == "Завтра в 16:00 свободно."
    assert draft.usage is not None and draft.usage.prompt_tokens == 300  # three requests


async def test_the_rounds_are_bounded_and_the_last_request_asks_for_the_reply(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    tools = RecordingTools()
    llm_server.push(
        queries("стрижка"),
        *(Reply.calls(find(f"call_{n}")) for n in range(MAX_ROUNDS)),
        reply("Уточню у администратора.", used_record_ids=[]),
    )

    draft = await make_answerer().answer(turn(tools))

    assert len(tools.calls) == MAX_ROUNDS
    last = llm_server.requests[-1]
    assert last.tool_choice == "none", "the tools stay listed, but may not be called"
    assert draft.text == "Уточню у администратора."


async def test_a_round_runs_a_few_calls_and_tells_the_others_they_were_not_run(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    tools = RecordingTools()
    many = [find(f"call_{n}") for n in range(MAX_CALLS + 2)]
    llm_server.push(queries("стрижка"), Reply.calls(*many), reply("Готово.", used_record_ids=[]))

    await make_answerer().answer(turn(tools))

    assert len(tools.calls) == MAX_CALLS
    results = llm_server.requests[-1].tool_results
    assert len(results) == MAX_CALLS + 2, "every call gets its answer"
    assert "Не выполнено" in results[f"call_{MAX_CALLS + 1}"]


async def test_a_server_without_function_calling_is_asked_without_tools_from_then_on(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.tools_supported = False
    answerer = make_answerer()
    llm_server.push(queries("стрижка"), reply("Есть время."), queries("стрижка"), reply("Да."))

    first = await answerer.answer(turn(RecordingTools()))
    second = await answerer.answer(turn(RecordingTools()))

    assert (first.text, second.text) == ("Есть время.", "Да.")
    assert answerer.tools_supported is False
    offering = [r for r in llm_server.requests if r.tools]
    assert len(offering) == 1, "refused once, then never offered again"
    assert "find_free_times" not in llm_server.requests[-1].system


async def test_without_tools_the_request_offers_none_and_the_prompt_keeps_the_old_rule(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(queries("стрижка"), reply())

    await make_answerer().answer(turn(None))

    request = llm_server.requests[-1]
    assert request.tools == [] and "tools" not in request.body
    assert "Ты сам не записываешь" in request.system


async def test_with_tools_the_prompt_says_to_book_only_through_them(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(queries("стрижка"), reply())

    await make_answerer().answer(turn(RecordingTools()))

    system = llm_server.requests[-1].system
    assert "только через инструменты" in system and "make_booking" in system


async def test_an_unreadable_reply_after_tool_calls_is_repaired_with_the_tools_still_listed(
    llm_server: ScriptedOpenAIServer, make_answerer: AnswererFactory
) -> None:
    llm_server.push(
        queries("стрижка"),
        Reply.calls(find()),
        Reply.json({"text": "не тот формат"}),
        reply("Завтра в 16:00 свободно.", used_record_ids=[]),
    )

    draft = await make_answerer().answer(turn(RecordingTools()))

    repair = llm_server.requests[-1]
    assert repair.tools == ["find_free_times"] and repair.tool_choice == "none"
    assert "call_1" in repair.tool_results, "the repair keeps what the tools said"
    assert draft.text == "Завтра в 16:00 свободно."
