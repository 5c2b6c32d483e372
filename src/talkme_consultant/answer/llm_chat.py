"""Calls to an OpenAI-compatible chat endpoint: bounded retries, structured output, fallbacks.

Why retries live here and not in the SDK: the caller builds the client with `max_retries=0` so
that every attempt is ours to count, log and bound; after the last one the turn falls back to the
offline answerer instead of keeping a visitor waiting.

Structured output, in order of preference:

1. JSON-schema mode (`response_format={"type": "json_schema", ...}`).
2. When the server rejects `response_format` (HTTP 400/422) or ignores it (the answer is not
   JSON), the same request without it, with "answer only with JSON of this shape" added to the
   instructions; the JSON is dug out of the text (code fences and prose stripped). The answerer
   remembers that the server lacks schema mode, so later turns go straight to this.
3. If the output still cannot be read or validated, ONE repair request that sends the error back.
   If that fails too, `MalformedOutput` (an `AnswererUnavailable`).

A reply request may also offer function-calling `tools` (`offering_tools`, driven by
`llm_tools.py`); a 400/422 to it is `ToolsRejected`, and the final reply is read with the same
parse-and-repair rules (`read`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from pydantic import BaseModel

from talkme_consultant.answer.base import AnswererUnavailable
from talkme_consultant.answer.llm_schema import OutputError, OutputSpec, parse_output
from talkme_consultant.answer.prompts import JSON_FALLBACK, JSON_REPAIR, PromptLoader

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# 408 request timeout, 409 conflict (OpenAI's "try again"), 429 rate limit; 5xx: server trouble.
_RETRYABLE_STATUS = frozenset({408, 409, 429})
# Statuses with which servers without schema mode reject `response_format`.
_SCHEMA_REJECTED_STATUS = frozenset({400, 422})
_MAX_RETRY_AFTER_SECONDS = 30.0


class MalformedOutput(AnswererUnavailable):
    """The model answered, but not with readable structured output, even after one repair."""


class _SchemaRejected(Exception):
    """The server answered 400/422 to a request with `response_format`."""


class ToolsRejected(Exception):
    """The server answered 400/422 to a request offering `tools` (it may also have meant the
    `response_format` sent beside them: the caller tells the two apart)."""


@dataclass
class UsageMeter:
    """Tokens and calls of one turn, summed over all its requests (retries included)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    def add(self, completion: ChatCompletion) -> None:
        """Count one answered request."""
        if completion.usage is not None:
            self.prompt_tokens += completion.usage.prompt_tokens
            self.completion_tokens += completion.usage.completion_tokens


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failed request."""

    max_retries: int = 2  # retries after the first attempt
    backoff_seconds: float = 0.5  # first delay; doubles each retry, with jitter
    max_backoff_seconds: float = 8.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (0-based)."""
        delay = min(self.backoff_seconds * 2.0**retry, self.max_backoff_seconds)
        delay *= random.uniform(0.5, 1.0)  # jitter, so parallel turns do not retry in lockstep
        if retry_after is not None:
            delay = max(delay, min(retry_after, _MAX_RETRY_AFTER_SECONDS))
        return delay


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _describe(exc: Exception) -> str:
    # Our own words only: SDK messages may quote the response body or the URL.
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    return type(exc).__name__


class StructuredChat:
    """One model on one OpenAI-compatible server, with retries and structured-output fallbacks."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        prompts: PromptLoader,
        *,
        retry: RetryPolicy | None = None,
        temperature: float | None = None,
    ) -> None:
        """`client` should be built with `max_retries=0`: retries are counted here."""
        self.client = client
        self.model = model
        self.prompts = prompts
        self.retry = retry or RetryPolicy()
        self.temperature = temperature
        # None: not known yet; False: the server rejected or ignored it once, use the fallback.
        self.schema_mode: bool | None = None

    async def text(self, messages: Sequence[ChatCompletionMessageParam], meter: UsageMeter) -> str:
        """A plain-text completion."""
        completion = await self._complete(messages, meter)
        return _content(completion) or ""

    async def structured(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        spec: OutputSpec[T],
        meter: UsageMeter,
    ) -> T:
        """A completion parsed into `spec.model`.

        Raises `MalformedOutput` when the output stays unreadable, `AnswererUnavailable` on outage.
        """
        if self.schema_mode is not False:
            try:
                completion = await self._complete(
                    messages, meter, response_format=spec.response_format()
                )
            except _SchemaRejected:
                log.info("LLM server rejected response_format; using the JSON-in-text fallback")
            else:
                content = _content(completion)
                try:
                    result = parse_output(content, spec)
                except OutputError as exc:
                    if not exc.not_json:
                        # Schema mode works but the shape is off: repair within schema mode.
                        return await self._repair(messages, content, exc, spec, meter, schema=True)
                    log.info("LLM server ignored response_format; using the JSON-in-text fallback")
                else:
                    self.schema_mode = True
                    return result
        return await self._text_mode(messages, spec, meter)

    async def offering_tools(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        spec: OutputSpec[T],
        meter: UsageMeter,
        tools: list[dict[str, Any]],
        *,
        last: bool,
    ) -> ChatCompletion:
        """One completion that offers `tools` (`last`: offered but not to be called, so the
        model gives its final reply). `response_format` goes along unless the server is known
        to lack schema mode; then `messages` must already hold the JSON instruction
        (`with_json_instruction`). Raises `ToolsRejected` on 400/422."""
        return await self._complete(
            messages,
            meter,
            response_format=spec.response_format() if self.schema_mode is not False else None,
            tools=tools,
            tool_choice="none" if last else "auto",
        )

    async def read(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        completion: ChatCompletion,
        spec: OutputSpec[T],
        meter: UsageMeter,
        tools: list[dict[str, Any]],
    ) -> T:
        """The final reply of `offering_tools`, parsed into `spec.model`, with one repair
        request when it cannot be read (`MalformedOutput` after that)."""
        content = _content(completion)
        schema = self.schema_mode is not False
        try:
            result = parse_output(content, spec)
        except OutputError as exc:
            return await self._repair(
                messages, content, exc, spec, meter, schema=schema, tools=tools
            )
        if schema:
            self.schema_mode = True
        return result

    async def _text_mode(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        spec: OutputSpec[T],
        meter: UsageMeter,
    ) -> T:
        instructed = self.with_json_instruction(messages, spec)
        completion = await self._complete(instructed, meter)
        # The request went through without response_format, so the earlier 400 (or the ignored
        # schema) was about schema mode: remember it for later turns.
        self.schema_mode = False
        content = _content(completion)
        try:
            return parse_output(content, spec)
        except OutputError as exc:
            return await self._repair(instructed, content, exc, spec, meter, schema=False)

    async def _repair(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        content: str | None,
        error: OutputError,
        spec: OutputSpec[T],
        meter: UsageMeter,
        *,
        schema: bool,
        tools: list[dict[str, Any]] | None = None,
    ) -> T:
        """One request that sends the error back; `tools` (not to be called) when the
        conversation holds tool calls, which some servers refuse to read without them."""
        log.info(
            "LLM output unreadable (%s); one repair attempt",
            "not JSON" if error.not_json else "wrong shape",
        )
        repair: list[ChatCompletionMessageParam] = [
            *messages,
            {"role": "assistant", "content": content or ""},
            {"role": "user", "content": self.prompts.render(JSON_REPAIR, error=str(error))},
        ]
        try:
            completion = await self._complete(
                repair,
                meter,
                response_format=spec.response_format() if schema else None,
                tools=tools,
                tool_choice="none" if tools is not None else None,
            )
            return parse_output(_content(completion), spec)
        except (OutputError, _SchemaRejected, ToolsRejected) as exc:
            raise MalformedOutput(
                f"LLM output for {spec.name} unreadable after one repair: {exc}"
            ) from None

    def json_instruction(self, spec: OutputSpec[T]) -> str:
        """The "answer only with JSON of this shape" text used without schema mode."""
        return self.prompts.render(
            JSON_FALLBACK,
            schema=json.dumps(spec.schema, ensure_ascii=False, indent=2),
            example=json.dumps(spec.example, ensure_ascii=False),
        )

    def with_json_instruction(
        self, messages: Sequence[ChatCompletionMessageParam], spec: OutputSpec[T]
    ) -> list[ChatCompletionMessageParam]:
        """`messages` with the JSON instruction added to the system message (no schema mode)."""
        instruction = self.json_instruction(spec)
        result = list(messages)
        first = result[0] if result else None
        if first is not None and first["role"] == "system" and isinstance(first["content"], str):
            result[0] = {"role": "system", "content": f"{first['content']}\n\n{instruction}"}
        else:
            result.insert(0, {"role": "system", "content": instruction})
        return result

    async def _complete(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        meter: UsageMeter,
        *,
        response_format: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
    ) -> ChatCompletion:
        """One completion with bounded retries; raises `AnswererUnavailable` when they run out."""
        extra: dict[str, Any] = {}
        if response_format is not None:
            extra["response_format"] = response_format
        if tools is not None:
            extra["tools"] = tools
            extra["tool_choice"] = tool_choice or "auto"
        if self.temperature is not None:
            extra["temperature"] = self.temperature
        attempts = self.retry.max_retries + 1
        for attempt in range(attempts):
            retry_after: float | None = None
            meter.requests += 1
            try:
                completion: ChatCompletion = await self.client.chat.completions.create(
                    model=self.model, messages=list(messages), **extra
                )
            except openai.APIConnectionError as exc:  # includes timeouts
                reason = _describe(exc)
            except (json.JSONDecodeError, openai.APIResponseValidationError):
                reason = "malformed response body"  # a proxy's error page, a truncated body
            except openai.APIStatusError as exc:
                status = exc.status_code
                if tools is not None and status in _SCHEMA_REJECTED_STATUS:
                    raise ToolsRejected from None
                if response_format is not None and status in _SCHEMA_REJECTED_STATUS:
                    raise _SchemaRejected from None
                if status not in _RETRYABLE_STATUS and status < 500:
                    # 401, 403, 404, 400 without response_format: retrying will not help.
                    raise AnswererUnavailable(f"LLM request rejected: {_describe(exc)}") from None
                reason = _describe(exc)
                retry_after = _retry_after(exc)
            else:
                meter.add(completion)
                return completion
            if attempt + 1 < attempts:
                delay = self.retry.delay(attempt, retry_after)
                log.warning(
                    "LLM request failed (%s), retry %d/%d in %.2fs",
                    reason,
                    attempt + 1,
                    self.retry.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)
        raise AnswererUnavailable(f"LLM unavailable after {attempts} attempts: last error {reason}")


def _content(completion: ChatCompletion) -> str | None:
    if not completion.choices:
        return None
    return completion.choices[0].message.content
