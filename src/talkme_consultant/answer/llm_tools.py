"""The reply request with function calling: the model may call the turn's tools, sees their
results and then gives its structured reply.

On the OpenAI wire: the request carries `tools`; an assistant message with `tool_calls` is
answered by one `role: "tool"` message per call (its `tool_call_id`), and the request is sent
again. The rounds are bounded (`MAX_ROUNDS`): the request after the last round still lists the
tools (a history with tool calls needs them) but with `tool_choice: "none"`, so the model must
answer. A round runs at most `MAX_CALLS` calls; the others are told they were not run, since
every call must get its answer.

A server that answers 400/422 to `tools` (many local servers have no function calling) gets the
request without them, and the answerer remembers it for later turns, as `StructuredChat`
remembers a server without schema mode. When schema mode is not known yet, the 400 may have
been about `response_format`: then only a request without tools that works in schema mode
proves the tools were the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeVar

from openai.types.chat import (
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
)
from pydantic import BaseModel

from talkme_consultant.answer.base import ReplyTools
from talkme_consultant.answer.llm_chat import StructuredChat, ToolsRejected, UsageMeter
from talkme_consultant.answer.llm_schema import OutputSpec

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

MAX_ROUNDS = 4  # tool rounds per reply: find times, book, perhaps once more each
MAX_CALLS = 3  # calls run in one round
NOT_RUN = "Не выполнено: за один раз можно не больше трёх вызовов."


class ToolReplies:
    """Reply requests that offer the turn's tools, for one model on one server."""

    def __init__(self, chat: StructuredChat, *, max_rounds: int = MAX_ROUNDS) -> None:
        self.chat = chat
        self.max_rounds = max_rounds
        # None: not known yet; False: the server rejected `tools`, offer none again.
        self.supported: bool | None = None

    def offered(self, tools: ReplyTools | None) -> bool:
        """Whether a request of this turn will offer the tools."""
        return tools is not None and self.supported is not False

    async def structured(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        spec: OutputSpec[T],
        meter: UsageMeter,
        tools: ReplyTools | None,
    ) -> tuple[T, list[str]]:
        """The structured reply and the results the tools gave (what the reply may quote)."""
        if tools is None or self.supported is False:
            return await self.chat.structured(messages, spec, meter), []
        schema_known = self.chat.schema_mode is not None
        talk = (
            list(messages)
            if self.chat.schema_mode is not False
            else self.chat.with_json_instruction(messages, spec)
        )
        results: list[str] = []
        definitions = tools.definitions()
        for round_number in range(self.max_rounds + 1):
            last = round_number == self.max_rounds
            try:
                completion = await self.chat.offering_tools(
                    talk, spec, meter, definitions, last=last
                )
            except ToolsRejected:
                return await self._without_tools(messages, spec, meter, schema_known), results
            self.supported = True
            message = completion.choices[0].message if completion.choices else None
            calls = _function_calls(message)
            if last or message is None or not calls:
                return await self.chat.read(talk, completion, spec, meter, definitions), results
            talk.append(_assistant_turn(message, calls))
            for number, call in enumerate(calls):
                if number < MAX_CALLS:
                    result = await tools.call(call.function.name, call.function.arguments)
                    results.append(result)
                else:
                    result = NOT_RUN
                talk.append({"role": "tool", "tool_call_id": call.id, "content": result})
        raise AssertionError("unreachable: the last round always returns")

    async def _without_tools(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        spec: OutputSpec[T],
        meter: UsageMeter,
        schema_known: bool,
    ) -> T:
        result = await self.chat.structured(messages, spec, meter)
        if schema_known or self.chat.schema_mode:
            # Schema mode was known, or has just worked without the tools: they were refused.
            log.info("LLM server rejected tools; booking goes through the booking dialogue")
            self.supported = False
        return result


def _function_calls(
    message: ChatCompletionMessage | None,
) -> list[ChatCompletionMessageFunctionToolCall]:
    if message is None or not message.tool_calls:
        return []
    return [
        call
        for call in message.tool_calls
        if isinstance(call, ChatCompletionMessageFunctionToolCall)
    ]


def _assistant_turn(
    message: ChatCompletionMessage, calls: Sequence[ChatCompletionMessageFunctionToolCall]
) -> ChatCompletionMessageParam:
    """The model's message with its calls, sent back so that the results answer them."""
    tool_calls: list[Any] = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments},
        }
        for call in calls
    ]
    return {"role": "assistant", "content": message.content, "tool_calls": tool_calls}
