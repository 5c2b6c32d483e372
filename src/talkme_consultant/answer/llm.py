"""The language-model answerer: search queries → knowledge search → a grounded, structured reply.

Per turn:

(a) the model turns the visitor's message, read in the light of the dialogue, into 1–3 search
    queries (structured output);
(b) the knowledge base is searched for each query; hits are merged by record, best first, and the
    best `max_hits` are shown to the model as R1, R2, … (short ids are easier for a model to copy
    than hashes; they are mapped back to `Hit.record_id`);
(c) the model writes the reply from those records and the business profile, with flags for the
    dialog engine (person wanted, booking, off-topic, not found, closing, ...).

Visitor text, history, summary and records only ever reach the model in the user message, between
delimiters that the text cannot close (see `prompts.data`); the system message holds only what the
owner wrote. A reply that repeats the instructions word for word loses those sentences.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openai.types.chat import ChatCompletionMessageParam

from talkme_consultant.answer.base import (
    AnswererUnavailable,
    Draft,
    HistoryMessage,
    Intent,
    TurnContext,
    Usage,
)
from talkme_consultant.answer.leak import strip_leaks
from talkme_consultant.answer.llm_chat import (
    MalformedOutput,
    RetryPolicy,
    StructuredChat,
    UsageMeter,
)
from talkme_consultant.answer.llm_schema import QUERIES_SPEC, REPLY_SPEC, ReplyOutput
from talkme_consultant.answer.prompts import (
    QUERIES,
    QUERIES_INPUT,
    REPLY_INPUT,
    SUMMARY,
    SUMMARY_INPUT,
    SYSTEM,
    PromptLoader,
)
from talkme_consultant.helpers.phones import extract_phones, normalize_phone
from talkme_consultant.knowledge.search import Hit, Retriever
from talkme_consultant.profile import BusinessProfile

if TYPE_CHECKING:
    import openai

    from talkme_consultant.config import Settings

log = logging.getLogger(__name__)

MAX_SUMMARY_CHARS = 2000
MAX_NAME_CHARS = 60
MAX_INTEREST_CHARS = 200


class LLMAnswerer:
    """Answers from the knowledge base with an OpenAI-compatible model (see module docstring)."""

    name = "llm"

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        retriever: Retriever,
        profile: BusinessProfile,
        prompts: PromptLoader,
        *,
        retry: RetryPolicy | None = None,
        max_hits: int = 6,
        hits_per_query: int = 5,
        max_history: int = 12,
        temperature: float | None = None,
    ) -> None:
        """`client` should be built with `max_retries=0` (see `from_settings`)."""
        self.model = model
        self.retriever = retriever
        self.profile = profile
        self.prompts = prompts
        self.max_hits = max_hits
        self.hits_per_query = hits_per_query
        self.max_history = max_history
        self.chat = StructuredChat(client, model, prompts, retry=retry, temperature=temperature)

    @classmethod
    def from_settings(
        cls, settings: Settings, retriever: Retriever, profile: BusinessProfile
    ) -> LLMAnswerer:
        """Build the answerer and its client from settings (raises ValueError without a key)."""
        import openai  # imported here so the offline path never pays for the SDK

        if not settings.llm_enabled or settings.openai_api_key is None:
            raise ValueError("OPENAI_API_KEY is not set")
        client = openai.AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout_seconds,
            max_retries=0,  # retries are ours, bounded and counted (RetryPolicy)
        )
        return cls(
            client,
            settings.llm_model,
            retriever,
            profile,
            PromptLoader(settings.prompts_dir),
            retry=RetryPolicy(max_retries=settings.llm_max_retries),
        )

    @property
    def schema_mode(self) -> bool | None:
        """Whether the server supports JSON-schema mode: None until the first structured call."""
        return self.chat.schema_mode

    # --- the turn ------------------------------------------------------------------------------

    async def answer(self, ctx: TurnContext) -> Draft:
        """Produce the draft for one turn; raises `AnswererUnavailable` on outage."""
        started = time.perf_counter()
        meter = UsageMeter()
        dialogue = self._dialogue(ctx)
        queries = await self._queries(ctx, dialogue, meter)
        hits = await self._search(queries)
        shown = {f"R{number}": hit for number, hit in enumerate(hits, start=1)}
        system = self.prompts.render(
            SYSTEM,
            profile=self.profile,
            facts=self.profile.facts_text(),
            guard_feedback=ctx.guard_feedback,
        )
        user = self.prompts.render(
            REPLY_INPUT,
            records=[(record_id, hit.record) for record_id, hit in shown.items()],
            message=ctx.text,
            **dialogue,
        )
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        output = await self.chat.structured(messages, REPLY_SPEC, meter)
        text, leaked = strip_leaks(
            _strip_record_refs(output.reply),
            secret=[
                system,
                self.prompts.render(QUERIES, profile=self.profile),
                self.chat.json_instruction(REPLY_SPEC),
            ],
            public=[self.profile.facts_text(), *(hit.record.text for hit in hits)],
        )
        if leaked:
            log.warning("LLM reply repeated the instructions; those sentences were dropped")
        if not text:
            text = self.profile.messages.off_topic
        intent, reason = _intent(output)
        if leaked:
            reason = f"{reason}; instructions removed from the reply".lstrip("; ")
        used = _used_records(output, shown)
        latency_ms = (time.perf_counter() - started) * 1000
        log.info(
            "LLM turn: intent=%s hits=%d used=%d tokens=%d+%d requests=%d %.0fms",
            intent,
            len(hits),
            len(used),
            meter.prompt_tokens,
            meter.completion_tokens,
            meter.requests,
            latency_ms,
        )
        return Draft(
            text=text,
            intent=intent,
            reason=reason,
            used_records=used,
            found=hits,
            phone=_visitor_phone(ctx.text, output.phone),
            visitor_name=_short(output.visitor_name, MAX_NAME_CHARS),
            interest=_short(output.interest, MAX_INTEREST_CHARS),
            usage=Usage(
                model=self.model,
                prompt_tokens=meter.prompt_tokens,
                completion_tokens=meter.completion_tokens,
                latency_ms=latency_ms,
            ),
            answerer=self.name,
        )

    async def summarize(
        self,
        previous_summary: str | None,
        messages: list[HistoryMessage],
        *,
        usage: Usage | None = None,
    ) -> str:
        """Fold older messages into a rolling summary (names, phone, questions and answers kept).

        The tokens it spends are added to `usage`: a summary is paid for like any model call.
        """
        started = time.perf_counter()
        meter = UsageMeter()
        prompt: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self.prompts.render(SUMMARY, profile=self.profile)},
            {
                "role": "user",
                "content": self.prompts.render(
                    SUMMARY_INPUT, previous_summary=previous_summary, messages=messages
                ),
            },
        ]
        summary = (await self.chat.text(prompt, meter)).strip()
        if usage is not None:
            usage.model = self.model
            usage.prompt_tokens += meter.prompt_tokens
            usage.completion_tokens += meter.completion_tokens
            usage.latency_ms += (time.perf_counter() - started) * 1000
        if not summary:
            raise AnswererUnavailable("LLM returned an empty summary")
        return summary[:MAX_SUMMARY_CHARS]

    # --- steps ---------------------------------------------------------------------------------

    def _dialogue(self, ctx: TurnContext) -> dict[str, object]:
        return {
            "summary": ctx.summary,
            "history": ctx.history[-self.max_history :] if self.max_history else [],
            "known_name": ctx.visitor_name,
            "known_phone": ctx.phone,
        }

    async def _queries(
        self, ctx: TurnContext, dialogue: dict[str, object], meter: UsageMeter
    ) -> list[str]:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self.prompts.render(QUERIES, profile=self.profile)},
            {
                "role": "user",
                "content": self.prompts.render(QUERIES_INPUT, message=ctx.text, **dialogue),
            },
        ]
        try:
            result = await self.chat.structured(messages, QUERIES_SPEC, meter)
        except MalformedOutput:
            # Searching for the message itself is worse than a good rewrite but far better than
            # giving up the turn.
            log.warning("LLM query rewrite unreadable; searching for the message itself")
            return [" ".join(ctx.text.split())[:300]]
        return result.queries

    async def _search(self, queries: Sequence[str]) -> list[Hit]:
        results = await asyncio.gather(
            *(self.retriever.search(query, k=self.hits_per_query) for query in queries)
        )
        best: dict[str, Hit] = {}
        for hits in results:
            for hit in hits:
                known = best.get(hit.record_id)
                if known is None or (hit.confidence, hit.score) > (known.confidence, known.score):
                    best[hit.record_id] = hit
        ranked = sorted(best.values(), key=lambda hit: (hit.confidence, hit.score), reverse=True)
        return ranked[: self.max_hits]


# --- mapping the model's output to a draft ------------------------------------------------------


def _intent(output: ReplyOutput) -> tuple[Intent, str]:
    """The draft's intent from the model's flags, most consequential first."""
    if output.wants_person:
        return Intent.OPERATOR, "the visitor needs a person"
    if output.wants_booking:
        return Intent.BOOKING, "the visitor wants to book"
    if output.closing:
        return Intent.GOODBYE, "the visitor is closing the conversation"
    if output.off_topic:
        return Intent.OFF_TOPIC, "the message is not about the business"
    if output.not_found:
        return Intent.UNKNOWN, "the records do not answer the question"
    if output.greeting and not output.used_record_ids:
        return Intent.GREETING, ""
    if output.thanks and not output.used_record_ids:
        return Intent.THANKS, ""
    return Intent.ANSWER, ""


def _used_records(output: ReplyOutput, shown: dict[str, Hit]) -> list[Hit]:
    used: list[Hit] = []
    for record_id in output.used_record_ids:
        hit = shown.get(record_id)
        if hit is not None and hit not in used:
            used.append(hit)
    return used


def _visitor_phone(visitor_text: str, model_phone: str | None) -> str | None:
    """The phone the visitor wrote: parsed by code; the model's reading only if the text has it."""
    found = extract_phones(visitor_text)
    if found:
        return found[0]
    if model_phone is None:
        return None
    phone = normalize_phone(model_phone)
    digits = "".join(ch for ch in visitor_text if ch.isdigit())
    # The model may assemble a number the visitor split oddly; never one the visitor did not write.
    if phone is not None and phone[-10:] in digits:
        return phone
    return None


# "(R1)", "[R1, R2]", "R3": the prompt's record ids mean nothing to a visitor.
_RECORD_REFS = re.compile(r"\s*[\[(]\s*R\d+(?:\s*[,;]\s*R\d+)*\s*[\])]|\bR\d+\b\s?")


def _strip_record_refs(reply: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", _RECORD_REFS.sub("", reply)).strip().lstrip(":;, ")


def _short(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value[:limit] or None
