"""One conversation turn: from the visitor's words to the replies, actions and memory updates.

The engine knows nothing about HTTP, TalkMe or the database: it takes a `TurnInput` and returns a
`TurnOutcome`; the service layer stores and sends what it decides. What the dialogue's memory
left open is read in `memory.py`, and the draft chosen is written into the outcome by
`replies.ReplyWriter`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from talkme_consultant.answer.base import (
    Answerer,
    AnswererUnavailable,
    ClarifyOption,
    Draft,
    Intent,
    TurnContext,
    Usage,
)
from talkme_consultant.answer.offline import OfflineAnswerer
from talkme_consultant.answer.phrases import Phrases
from talkme_consultant.dialog.booking import BookingInput, BookingTurns
from talkme_consultant.dialog.booking_claims import CLAIM_FEEDBACK, claims_booking
from talkme_consultant.dialog.booking_state import BOOKING_META
from talkme_consultant.dialog.booking_tools import BookingTools, model_is_booking, tools_for
from talkme_consultant.dialog.callback import CallbackTurns, OperatorsNow
from talkme_consultant.dialog.choice import read_choice
from talkme_consultant.dialog.costs import Price, add_draft_usage, add_usage
from talkme_consultant.dialog.guard import check_grounding, describe_problems
from talkme_consultant.dialog.honesty import describe_unacknowledged, unacknowledged
from talkme_consultant.dialog.limits import keep_end, oldest_within, trim_history
from talkme_consultant.dialog.memory import (
    MemoryMessage,
    last_topic,
    note_first_question,
    offer_open,
    pending_clarification,
    pending_list,
)
from talkme_consultant.dialog.replies import FinishCodes, ReplyWriter
from talkme_consultant.helpers.cleaning import clean_text
from talkme_consultant.helpers.kinds import EventKind, HandoffReason, MessageRole
from talkme_consultant.helpers.outcome import TurnOutcome
from talkme_consultant.helpers.phones import extract_phones

log = logging.getLogger(__name__)


@dataclass
class TurnInput:
    """What the service hands the engine for one turn."""

    conversation_key: str
    texts: Sequence[str]
    attachments_only: bool
    memory: Sequence[MemoryMessage] = ()
    summary: str | None = None
    visitor_name: str | None = None
    phone: str | None = None
    # Model tokens the conversation has spent on the business's current day (its daily budget).
    tokens_spent_today: int = 0
    # Whether an operator is online to take a handoff; None when unknown (hand over as usual).
    operators: OperatorsNow | None = None


@dataclass(frozen=True)
class EngineOptions:
    """Tunables of the engine."""

    finish_codes: FinishCodes = field(default_factory=FinishCodes)
    max_message_chars: int = 4000
    # The visitor's text of one turn is cut to its last `max_turn_chars` characters.
    max_turn_chars: int = 3000
    history_token_budget: int = 1500  # estimated tokens of history (and summary input) per call
    daily_tokens: int = 0  # model tokens a conversation may spend per day; 0 = unlimited
    recent_messages: int = 8  # kept verbatim for the answerer
    summarize_after: int = 16  # unsummarised messages that trigger a new summary
    profile_facts: str = ""  # text the guard accepts numbers, phones and links from
    prices: dict[str, Price] = field(default_factory=dict)


class DialogEngine:
    """Runs turns with a primary answerer and the offline answerer as its safety net."""

    def __init__(
        self,
        primary: Answerer,
        offline: OfflineAnswerer,
        phrases: Phrases,
        options: EngineOptions,
        *,
        booking: BookingTurns | None = None,
    ) -> None:
        self._primary = primary
        self._booking = booking
        self._offline = offline
        self._phrases = phrases
        self._options = options
        self._replies = ReplyWriter(options.finish_codes, phrases, options.max_message_chars)
        self._callbacks = CallbackTurns(
            options.max_message_chars, options.finish_codes.offline or None
        )

    async def run_turn(self, turn: TurnInput) -> TurnOutcome:
        """Decide the replies and actions for one (possibly merged) visitor turn.

        A handoff when no operator is online becomes a call-back offer; a phone number sent in
        answer to that offer becomes a lead and ends the bot's part with the offline code.
        """
        offer = offer_open(turn.memory)
        if offer is not None and not turn.attachments_only:
            visitor_text = keep_end(merge_texts(turn.texts), self._options.max_turn_chars)
            callback = self._callbacks.take_number(visitor_text, turn.visitor_name, offer)
            if callback is not None:
                return callback
        outcome = await self._booking_turn(turn) or await self._run_turn(turn)
        if _answerer_heard_booking(outcome):
            # A wish to book the booking dialogue's words missed: the dialogue books it.
            booked = await self._booking_turn(turn, force=True)
            if booked is not None:
                outcome = _with_spend_of(booked, outcome)
        operators = turn.operators
        if outcome.handed_off and operators is not None and not operators.online:
            self._callbacks.replace_handoff(outcome, operators, turn.visitor_name)
        return outcome

    async def _booking_turn(self, turn: TurnInput, *, force: bool = False) -> TurnOutcome | None:
        """A booking request, or the reply to the bot's booking question (`dialog/booking.py`);
        None for any other turn. It ends in a record, a question or a lead, never a call-back
        offer: the lead it keeps already holds the phone."""
        if self._booking is None or turn.attachments_only:
            return None
        text = keep_end(merge_texts(turn.texts), self._options.max_turn_chars)
        given = _booking_input(turn, text)
        model = self._primary is not self._offline
        if not force and model and model_is_booking(given.last_bot_meta):
            # The model is booking with its tools: «запишите, Иван, +7…» in reply is its to
            # finish, not a new dialogue that asks for the service again.
            return None
        return await self._booking.turn(given, force=force)

    async def _run_turn(self, turn: TurnInput) -> TurnOutcome:
        # A flood keeps only its end: that is what the visitor is asking now, and it is also
        # what the memory keeps, so later turns never carry the flood either.
        visitor_text = keep_end(merge_texts(turn.texts), self._options.max_turn_chars)
        outcome = TurnOutcome(visitor_text=visitor_text, replies=[])
        if turn.attachments_only:
            self._replies.hand_over(outcome, self._phrases.attachment, HandoffReason.ATTACHMENT)
            return outcome
        if self._budget_spent(turn):
            outcome.add_event(
                EventKind.BUDGET, spent=turn.tokens_spent_today, limit=self._options.daily_tokens
            )
            self._replies.hand_over(outcome, self._phrases.handoff, HandoffReason.BUDGET)
            return outcome

        phones = extract_phones(visitor_text)
        phone = phones[0] if phones else turn.phone
        await self._remember(turn, outcome)
        recent = trim_history(
            [m.message for m in turn.memory][-self._options.recent_messages :],
            self._options.history_token_budget,
        )
        tools = self._tools(turn, visitor_text)
        ctx = TurnContext(
            conversation_key=turn.conversation_key,
            text=visitor_text,
            history=recent,
            summary=outcome.summary if outcome.summary is not None else turn.summary,
            visitor_name=turn.visitor_name,
            phone=phone,
            topic=last_topic(turn.memory),
            tools=tools,
        )
        options = pending_clarification(turn.memory)
        listed = pending_list(turn.memory)
        if options:
            draft = await self._after_clarification(ctx, options, outcome)
        elif listed:
            draft = await self._after_list(ctx, listed, outcome)
        else:
            draft = await self._draft(ctx, outcome)
        add_draft_usage(outcome, draft, self._options.prices)
        outcome.visitor_name = draft.visitor_name or None
        outcome.phone = draft.phone or (phones[0] if phones else None)
        self._replies.apply(draft, ctx, outcome)
        if tools is not None:
            # A record the model made is kept as the dialogue keeps one; its reply is sent only
            # when it is the model's own, passed the checks and tells of the booking.
            told = draft.answerer != self._offline.name and claims_booking(draft.text)
            tools.settle(outcome, keep_reply=told and not outcome.handed_off)
        if draft.reason == HandoffReason.UNCLEAR_CHOICE:
            note_first_question(outcome, turn.memory)
        return outcome

    def _tools(self, turn: TurnInput, visitor_text: str) -> BookingTools | None:
        """The booking tools the model may call in this turn: with a model and a calendar."""
        if self._booking is None or self._primary is self._offline:
            return None
        # The visitor's own words only: a booking's phone must be one the visitor wrote.
        said = [m.message.text for m in turn.memory if m.message.role == MessageRole.VISITOR]
        return tools_for(self._booking, _booking_input(turn, visitor_text), [*said, visitor_text])

    async def _after_clarification(
        self, ctx: TurnContext, options: list[ClarifyOption], outcome: TurnOutcome
    ) -> Draft:
        """The visitor answers our clarifying question: the chosen record, a new question
        answered as usual, or — when it is still unclear — a person (never a second question)."""
        index = read_choice(ctx.text, [option.title for option in options])
        if index is not None:
            outcome.add_event(EventKind.CLARIFY_CHOICE, option=index + 1)
            return await self._offline.answer_choice(options[index], ctx.topic)
        draft = await self._draft(ctx, outcome)
        if draft.intent in (Intent.CLARIFY, Intent.UNKNOWN):
            return Draft(
                text=self._phrases.unknown,
                intent=Intent.UNKNOWN,
                reason=HandoffReason.UNCLEAR_CHOICE,
                found=draft.found,
                usage=draft.usage,
                answerer=draft.answerer,
            )
        return draft

    async def _after_list(
        self, ctx: TurnContext, listed: list[ClarifyOption], outcome: TurnOutcome
    ) -> Draft:
        """The visitor answers a list of rows: «второе», «2» or the words of one row is that
        row, answered from its record; anything else is a new question, answered as usual (the
        list asked nothing, so it does not count as a clarifying question)."""
        index = read_choice(ctx.text, [option.title for option in listed], every_word=True)
        if index is None:
            return await self._draft(ctx, outcome)
        outcome.add_event(EventKind.LIST_CHOICE, option=index + 1)
        return await self._offline.answer_choice(listed[index], ctx.topic)

    def _budget_spent(self, turn: TurnInput) -> bool:
        """True when the conversation's daily model budget is used up (only a model spends it)."""
        limit = self._options.daily_tokens
        return (
            bool(limit)
            and self._primary is not self._offline
            and (turn.tokens_spent_today >= limit)
        )

    async def _remember(self, turn: TurnInput, outcome: TurnOutcome) -> None:
        """Fold older messages into the rolling summary once the dialogue grows long."""
        memory = list(turn.memory)
        if len(memory) <= self._options.summarize_after:
            return
        older = memory[: -self._options.recent_messages]
        # The summary call is paid too: it reads at most the history budget. It folds the oldest
        # messages in order, so none is skipped; what does not fit waits for the next summary.
        folded = oldest_within([m.message for m in older], self._options.history_token_budget)
        usage = Usage()
        try:
            summary = await self._primary.summarize(turn.summary, folded, usage=usage)
        except AnswererUnavailable:
            summary = await self._offline.summarize(turn.summary, folded)
        add_usage(outcome, usage, self._options.prices)
        # The summary goes straight back to the model in this very turn: a lone surrogate in it
        # would make the request itself unencodable.
        outcome.summary = clean_text(summary)
        outcome.summarized_upto = older[len(folded) - 1].id

    async def _draft(self, ctx: TurnContext, outcome: TurnOutcome) -> Draft:
        """Ask the primary answerer; guard its numbers; fall back to offline when it fails."""
        if self._primary is self._offline:
            return await self._offline.answer(ctx)
        try:
            draft = _booking_by_tools(await self._primary.answer(ctx), ctx)
        except AnswererUnavailable as error:
            outcome.add_event(EventKind.LLM_OUTAGE, error=str(error))
            log.warning("answerer unavailable, using the offline answerer: %s", error)
            return await self._offline.answer(ctx)
        feedback = self._problems(draft, ctx)
        if not feedback:
            return draft
        outcome.add_event(EventKind.GUARD, attempt=1, problems=feedback)
        add_draft_usage(outcome, draft, self._options.prices)
        try:
            again = ctx.model_copy(update={"guard_feedback": feedback})
            retry = _booking_by_tools(await self._primary.answer(again), ctx)
        except AnswererUnavailable as error:
            outcome.add_event(EventKind.LLM_OUTAGE, error=str(error))
            return await self._offline.answer(ctx)
        feedback = self._problems(retry, ctx)
        if not feedback:
            return retry
        outcome.add_event(EventKind.GUARD, attempt=2, problems=feedback, fallback=True)
        add_draft_usage(outcome, retry, self._options.prices)
        fallback = self._offline.draft_from_hits(retry.found or draft.found, query=ctx.text)
        return fallback

    def _problems(self, draft: Draft, ctx: TurnContext) -> str:
        """What is wrong with a model's draft, as feedback for a second try ("" when nothing):
        values its sources do not hold (the booking tools' results are sources too), a
        neighbour presented as the answer to a thing no record mentions (a draft without
        records presents no neighbour), and a booking claimed that no record was made for."""
        if draft.intent is Intent.BOOKING and self._booking is not None:
            return ""  # the booking dialogue takes the turn: this reply is never sent
        tools = ctx.tools if isinstance(ctx.tools, BookingTools) else None
        facts = [self._options.profile_facts, *(tools.facts if tools else [])]
        problems = describe_problems(_ungrounded(draft, ctx.text, facts))
        unsaid: list[str] = []
        records = draft.found or draft.used_records
        if draft.intent is Intent.ANSWER and records:
            unsaid = unacknowledged(draft.text, records, self._options.profile_facts)
        # A model's «вы записаны» is true only after its `make_booking` made a record in this
        # very turn; otherwise only the booking dialogue books.
        booked = tools is not None and tools.booked is not None
        claim = CLAIM_FEEDBACK if claims_booking(draft.text) and not booked else ""
        parts = (problems, describe_unacknowledged(unsaid), claim)
        return " ".join(part for part in parts if part)

    def hand_over_after_failure(self, texts: Sequence[str], error: str) -> TurnOutcome:
        """The turn could not be completed: a person takes over, with the profile's handoff words.

        `error` names what went wrong (an exception type, never its text) for the owner's stats.
        """
        visitor_text = keep_end(merge_texts(texts), self._options.max_turn_chars)
        outcome = TurnOutcome(visitor_text=visitor_text, replies=[])
        outcome.meta = {"intent": "turn_failed", "answerer": "none"}
        self._replies.hand_over(outcome, self._phrases.handoff, HandoffReason.TURN_FAILED)
        outcome.add_event(EventKind.TURN_FAILED, error=error)
        return outcome


def _booking_input(turn: TurnInput, visitor_text: str) -> BookingInput:
    """The part of the turn the booking dialogue (and its tools) read."""
    last = turn.memory[-1] if turn.memory else None
    return BookingInput(
        conversation_key=turn.conversation_key,
        text=visitor_text,
        last_bot_meta=last.meta if last and last.message.role == MessageRole.BOT else None,
        visitor_name=turn.visitor_name,
        phone=turn.phone,
        # A turn retried after a crash has the same memory, so the position names the turn.
        position=len(turn.memory),
    )


def _answerer_heard_booking(outcome: TurnOutcome) -> bool:
    """True when an answerer, not the booking dialogue, decided the turn is a wish to book
    (and no booking tool already booked it)."""
    meta = outcome.meta
    return (
        meta.get("intent") == Intent.BOOKING.value
        and meta.get("answerer") != "booking"
        and BOOKING_META not in meta
    )


def _booking_by_tools(draft: Draft, ctx: TurnContext) -> Draft:
    """A model that called the booking tools in this turn is booking by itself: its wish to
    book is its reply, sent as an answer, not a turn for the booking dialogue. Without a call
    (or when the calendar failed) the wish goes to the dialogue as without tools."""
    tools = ctx.tools
    if (
        draft.intent is not Intent.BOOKING
        or not isinstance(tools, BookingTools)
        or not tools.used
        or tools.calendar_failed
    ):
        return draft
    return draft.model_copy(update={"intent": Intent.ANSWER, "reason": "booking through tools"})


def _with_spend_of(outcome: TurnOutcome, spent: TurnOutcome) -> TurnOutcome:
    """`outcome` carrying what `spent` cost and remembered (model tokens, the summary)."""
    outcome.prompt_tokens = spent.prompt_tokens
    outcome.completion_tokens = spent.completion_tokens
    outcome.cost = spent.cost
    outcome.model_latency_ms = spent.model_latency_ms
    outcome.summary = spent.summary
    outcome.summarized_upto = spent.summarized_upto
    return outcome


def _ungrounded(draft: Draft, visitor_text: str, facts: Sequence[str]) -> list[Any]:
    """The draft's prices, phones and numbers found in none of its records nor `facts` (the
    profile's, and what the booking tools returned in this turn)."""
    sources = [hit.record.text for hit in (draft.used_records or draft.found)]
    sources.extend(facts)
    # The visitor's own phone may be repeated back ("we will call you on …").
    return list(check_grounding(draft.text, sources, visitor_texts=[visitor_text]))


def merge_texts(texts: Sequence[str]) -> str:
    """The messages of one burst as one visitor text, a line each."""
    return "\n".join(t.strip() for t in texts if t.strip())
