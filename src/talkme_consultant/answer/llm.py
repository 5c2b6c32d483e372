"""The language-model answerer: search queries → knowledge search → a grounded, structured reply.

Per turn:

(a) the model turns the visitor's message, read in the light of the dialogue, into 1–3 search
    queries (structured output);
(b) the knowledge base is searched for each query; hits are merged by record, best first, and the
    best `max_hits` are shown to the model as R1, R2, … (short ids are easier for a model to copy
    than hashes; they are mapped back to `Hit.record_id`);
(c) the model writes the reply from those records and the business profile, with flags for the
    dialog engine (person wanted, booking, off-topic, not found, closing, clarify, ...); when the
    turn has tools (`TurnContext.tools`: the booking tools, with a calendar) it may call them
    first (`llm_tools.py`), and the reply may quote their results.

The model gets the same facts the offline answerer quotes: the whole profile (and which day it is
for the business), the profile's own answer to this question when `answer/basics.py` understands
it (the hours of the day asked, the branch's phone, ...), and every price-list row in the words
`answer/tables.py` uses ("Маникюр — 1 800 ₽, 60 мин"), with the rows a broad price question is
about listed apart. A clarifying question is a flag with record ids: the options are the records'
own titles, numbered by code exactly as the offline answerer numbers them, so the engine keeps
them and reads the next message as a choice. A reply that lists rows by name is remembered the
same way, so «второе» after it is understood.

The dialogue's topic (`DialogueTopic`: the last question, the records answered, the attribute
and the branch) reaches both steps in a `<topic>` block, with the message as `answer/followup.py`
completes it («а сколько длится?» → «сколько длится педикюр с покрытием»); that completion is
searched too, and the rows the message asks about are shown to the model whatever its queries
found, so the reply can quote them and the guard finds its figures in them.

Visitor text, history, summary and records only ever reach the model in the user message, between
delimiters that the text cannot close (see `prompts.data`); the system message holds only what the
owner wrote. A reply that repeats the instructions word for word loses those sentences.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from openai.types.chat import ChatCompletionMessageParam

from talkme_consultant.answer.attributes import Attribute
from talkme_consultant.answer.base import (
    AnswererUnavailable,
    DialogueTopic,
    Draft,
    HistoryMessage,
    Intent,
    TurnContext,
    Usage,
)
from talkme_consultant.answer.basics_wording import day_name
from talkme_consultant.answer.clarifying import clarify_text
from talkme_consultant.answer.followup import Reading, read_message, topic_after
from talkme_consultant.answer.leak import strip_leaks
from talkme_consultant.answer.llm_chat import (
    MalformedOutput,
    RetryPolicy,
    StructuredChat,
    UsageMeter,
)
from talkme_consultant.answer.llm_output import (
    clarify_options,
    figures_line,
    listed_rows,
    reply_intent,
    shortened,
    shown_ids,
    strip_record_refs,
    used_records,
    visitor_phone,
)
from talkme_consultant.answer.llm_schema import QUERIES_SPEC, REPLY_SPEC
from talkme_consultant.answer.llm_tools import ToolReplies
from talkme_consultant.answer.profile_basics import ProfileBasics
from talkme_consultant.answer.prompts import (
    QUERIES,
    QUERIES_INPUT,
    REPLY_INPUT,
    SUMMARY,
    SUMMARY_INPUT,
    SYSTEM,
    PromptLoader,
)
from talkme_consultant.answer.spoken_rows import known_hit
from talkme_consultant.answer.tables import broad_rows
from talkme_consultant.knowledge.coverage import absent_from_all
from talkme_consultant.knowledge.search import Hit, RecordLookup, Retriever
from talkme_consultant.profile import BusinessProfile

if TYPE_CHECKING:
    import openai

    from talkme_consultant.config import Settings

log = logging.getLogger(__name__)

MAX_SUMMARY_CHARS = 2000
MAX_NAME_CHARS = 60
MAX_INTEREST_CHARS = 200
# The best row of a broad price question must be this confident for the rows to be listed apart
# (the offline answerer's floor for its own lists).
BROAD_FLOOR = 0.2
# What an attribute is called in the `<topic>` block.
_ATTRIBUTE_WORDS = {
    Attribute.PRICE: "цена",
    Attribute.DURATION: "длительность",
    Attribute.INCLUDED: "что входит в услугу",
}
# A clarifying question replaces an answer, a "not found" or small talk; never a handoff, a
# booking, a goodbye or a refusal.
_MAY_CLARIFY = frozenset({Intent.ANSWER, Intent.UNKNOWN, Intent.GREETING, Intent.THANKS})


def model_client(settings: Settings) -> openai.AsyncOpenAI:
    """The client of the configured model, without retries of its own: the answerer's are
    bounded and counted (RetryPolicy), and the console's check makes one attempt. Raises
    ValueError without OPENAI_API_KEY."""
    import openai  # imported here so the offline path never pays for the SDK

    if not settings.llm_enabled or settings.openai_api_key is None:
        raise ValueError("OPENAI_API_KEY is not set")
    return openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_seconds,
        max_retries=0,
    )


# The previous question is named in the topic only when it is a question, not a story.
MAX_TOPIC_QUESTION_CHARS = 300


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
        basics: ProfileBasics | None = None,
        records: RecordLookup | None = None,
    ) -> None:
        """`client` should be built with `max_retries=0` (see `from_settings`); `basics` answers
        profile questions for the prompt (its clock decides which day "today" is); `records`
        finds the rows a follow-up asks about by id."""
        self.model = model
        self.retriever = retriever
        self.profile = profile
        self.basics = basics or ProfileBasics(profile)
        self.prompts = prompts
        self.max_hits = max_hits
        self.hits_per_query = hits_per_query
        self.max_history = max_history
        self.records = records
        self.chat = StructuredChat(client, model, prompts, retry=retry, temperature=temperature)
        self.tool_replies = ToolReplies(self.chat)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        retriever: Retriever,
        profile: BusinessProfile,
        records: RecordLookup | None = None,
    ) -> LLMAnswerer:
        """Build the answerer and its client from settings (raises ValueError without a key)."""
        return cls(
            model_client(settings),
            settings.llm_model,
            retriever,
            profile,
            PromptLoader(settings.prompts_dir),
            retry=RetryPolicy(max_retries=settings.llm_max_retries),
            records=records,
        )

    @property
    def schema_mode(self) -> bool | None:
        """Whether the server supports JSON-schema mode: None until the first structured call."""
        return self.chat.schema_mode

    @property
    def tools_supported(self) -> bool | None:
        """Whether the server takes `tools`: None until a turn offered them."""
        return self.tool_replies.supported

    # --- the turn ------------------------------------------------------------------------------

    async def answer(self, ctx: TurnContext) -> Draft:
        """Produce the draft for one turn; raises `AnswererUnavailable` on outage."""
        started = time.perf_counter()
        meter = UsageMeter()
        reading = read_message(ctx.text, ctx.topic, self.basics)
        dialogue = self._dialogue(ctx, reading)
        queries = await self._queries(ctx, dialogue, meter)
        if reading.leaned:
            # The completion is searched whatever the model wrote: a weak rewrite of «а
            # сколько длится?» must not lose the service it is about.
            queries = [*queries, *reading.readings[:2]]
        hits = _with_rows(await self._search(queries), reading, self.records, self.max_hits)
        shown = {f"R{number}": hit for number, hit in enumerate(hits, start=1)}
        profile_answer = self.basics.answer(reading.basics) if reading.basics else None
        system = self.prompts.render(
            SYSTEM,
            profile=self.profile,
            facts=self.profile.facts_text(),
            today=day_name(self.basics.today()),
            guard_feedback=ctx.guard_feedback,
            booking_tools=self.tool_replies.offered(ctx.tools),
        )
        user = self.prompts.render(
            REPLY_INPUT,
            records=[(record_id, hit.record) for record_id, hit in shown.items()],
            figures={record_id: figures_line(hit) for record_id, hit in shown.items()},
            price_list=_price_list(shown, ctx.text),
            profile_answer=profile_answer,
            unspoken=[] if profile_answer else absent_from_all(hits),
            message=ctx.text,
            **dialogue,
        )
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        output, tool_results = await self.tool_replies.structured(
            messages, REPLY_SPEC, meter, ctx.tools
        )
        text, leaked = strip_leaks(
            strip_record_refs(output.reply),
            secret=[
                system,
                self.prompts.render(QUERIES, profile=self.profile),
                self.chat.json_instruction(REPLY_SPEC),
            ],
            public=[
                self.profile.facts_text(),
                profile_answer or "",
                *(hit.record.text for hit in hits),
                *(figures_line(hit) for hit in hits),
                *tool_results,
            ],
        )
        if leaked:
            log.warning("LLM reply repeated the instructions; those sentences were dropped")
        if not text:
            text = self.profile.messages.off_topic
        intent, reason = reply_intent(output)
        if leaked:
            reason = f"{reason}; instructions removed from the reply".lstrip("; ")
        used = used_records(output, shown)
        options = clarify_options(output, shown) if intent in _MAY_CLARIFY else []
        if options:
            # The numbered list is ours, built from the records' titles: the engine stores these
            # options and reads «второе» against exactly what the visitor saw.
            intent, reason = Intent.CLARIFY, "the model asks which record is meant"
            text = clarify_text(options)
            if output.greeting:
                text = f"Здравствуйте! {text}"
            used = [shown[record_id] for record_id in shown_ids(output.clarify_record_ids, shown)]
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
        draft = Draft(
            text=text,
            intent=intent,
            reason=reason,
            used_records=used,
            found=hits,
            options=options,
            listed=listed_rows(text, list(shown.values())) if intent is Intent.ANSWER else [],
            phone=visitor_phone(ctx.text, output.phone),
            visitor_name=shortened(output.visitor_name, MAX_NAME_CHARS),
            interest=shortened(output.interest, MAX_INTEREST_CHARS),
            usage=Usage(
                model=self.model,
                prompt_tokens=meter.prompt_tokens,
                completion_tokens=meter.completion_tokens,
                latency_ms=latency_ms,
            ),
            answerer=self.name,
        )
        return draft.model_copy(update={"topic": topic_after(ctx.topic, reading, draft)})

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

    def _dialogue(self, ctx: TurnContext, reading: Reading) -> dict[str, object]:
        return {
            "summary": ctx.summary,
            "history": ctx.history[-self.max_history :] if self.max_history else [],
            "known_name": ctx.visitor_name,
            "known_phone": ctx.phone,
            "topic": _topic_lines(ctx.topic, reading, self.profile),
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


def _price_list(shown: dict[str, Hit], question: str) -> list[tuple[str, str]]:
    """The rows a broad price question is about («сколько стоит маникюр»), as (id, line)."""
    ids = {hit.record_id: record_id for record_id, hit in shown.items()}
    rows = broad_rows(list(shown.values()), question, floor=BROAD_FLOOR)
    return [(ids[hit.record_id], line) for hit in rows if (line := figures_line(hit))]


def _topic_lines(
    topic: DialogueTopic | None, reading: Reading, profile: BusinessProfile
) -> list[str]:
    """What the dialogue is about, in words for the `<topic>` block (none in a new one)."""
    if topic is None:
        return []
    lines = []
    # A long story is no topic: the history's token budget already decided whether the
    # model sees it, and the topic must not bring it back.
    if topic.asked and len(topic.asked) <= MAX_TOPIC_QUESTION_CHARS:
        lines.append(f"Предыдущий вопрос посетителя: «{topic.asked}»")
    if topic.records:
        titles = ", ".join(f"«{record.title}»" for record in topic.records)
        shown = "Ответ был списком из" if topic.listed else "Ответ был по записи"
        lines.append(f"{shown}: {titles}")
    if topic.attribute is not None:
        lines.append(f"Спрашивали: {_ATTRIBUTE_WORDS[topic.attribute]}")
    branch = next((b for b in profile.branches if b.id == topic.branch), None)
    if branch is not None:
        lines.append(f"Филиал, о котором шла речь: {branch.name}")
    if reading.leaned:
        lines.append(f"Последнее сообщение, дополненное по разговору: «{reading.text}»")
    return lines


def _with_rows(
    hits: list[Hit], reading: Reading, records: RecordLookup | None, max_hits: int
) -> list[Hit]:
    """The hits with the rows a follow-up asks about first, found by id: «а сколько
    длится?» is answered from the row already given, whatever the search found."""
    if records is None or not reading.rows:
        return hits
    rows = [hit for option in reading.rows if (hit := known_hit(records, option)) is not None]
    known = {hit.record_id for hit in rows}
    others = [hit for hit in hits if hit.record_id not in known]
    return [*rows, *others][: max(max_hits, len(rows))]
